//! Link PDUs: what one write on a link carries, and the fragmentation of large frames.
//!
//! ```text
//! whole frame:  | 0x00 | frame ...                                        |
//! fragment:     | 0x02 | msg_id u16 | total_len u16 | index u8 | count u8 | check u32 | chunk ... |
//! ```
//!
//! A frame of `total_len` bytes is split into `count` (2..=255) fragments. All fragments but
//! the last carry `chunk = ceil(total_len / count)` bytes; the last carries the rest. The
//! receiver recomputes `chunk` and checks each fragment's length exactly, so fragments may
//! arrive in any order and a duplicate is recognised by its index.
//!
//! Every fragment carries `check`, the CRC-32 (IEEE) of the whole frame. It binds the
//! fragments to one frame: the reassembler never mixes fragments whose checks differ (a
//! sender reusing a message id while an older message with it is pending starts a new
//! message), and it verifies the check over the rebuilt frame before handing it on. The
//! earlier fragment format without the check (control byte `0x01`) is no longer accepted:
//! it is dropped as an unknown link PDU.

use alloc::vec::Vec;

use zerocopy::network_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::{FRAGMENT_HEADER_LEN, MAX_FRAGMENTS};
use crate::DropReason;

/// Control byte of a link PDU carrying a whole frame.
pub const CTRL_WHOLE: u8 = 0x00;
/// Control byte of a link PDU carrying a fragment.
pub const CTRL_FRAGMENT: u8 = 0x02;

/// The fragment header, control byte included.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct FragmentHeader {
    /// [`CTRL_FRAGMENT`].
    pub ctrl: u8,
    /// Per-link message counter of the sender; all fragments of one frame share it.
    pub msg_id: U16,
    /// Length of the whole frame.
    pub total_len: U16,
    /// Index of this fragment, `0..count`.
    pub index: u8,
    /// Number of fragments, `2..=255`.
    pub count: u8,
    /// CRC-32 (IEEE) of the whole frame; the same in every fragment of it.
    pub check: U32,
}

const _: () = assert!(core::mem::size_of::<FragmentHeader>() == FRAGMENT_HEADER_LEN);

/// A validated fragment.
#[derive(Clone, Copy, Debug)]
pub struct Fragment<'a> {
    /// The sender's message counter.
    pub msg_id: u16,
    /// Length of the whole frame.
    pub total_len: u16,
    /// Index of this fragment.
    pub index: u8,
    /// Number of fragments.
    pub count: u8,
    /// CRC-32 (IEEE) of the whole frame.
    pub check: u32,
    /// The bytes of the frame this fragment carries.
    pub chunk: &'a [u8],
}

impl Fragment<'_> {
    /// Offset of this fragment's bytes in the whole frame.
    pub fn offset(&self) -> usize {
        usize::from(self.index) * chunk_len(usize::from(self.total_len), usize::from(self.count))
    }
}

fn chunk_len(total: usize, count: usize) -> usize {
    total.div_ceil(count)
}

/// One received link PDU, validated.
#[derive(Clone, Copy, Debug)]
pub enum LinkPdu<'a> {
    /// A whole frame.
    Whole(&'a [u8]),
    /// A fragment of a frame.
    Fragment(Fragment<'a>),
}

impl<'a> LinkPdu<'a> {
    /// Validates a PDU. Fragment checks: count in 2..=255, index below count, the total
    /// length at most `max_message`, every fragment non-empty, and this fragment's length
    /// exactly what `total_len` and `count` imply for its index.
    pub fn new_checked(bytes: &'a [u8], max_message: usize) -> Result<Self, DropReason> {
        match bytes.first() {
            None => Err(DropReason::Truncated),
            Some(&CTRL_WHOLE) => Ok(LinkPdu::Whole(&bytes[1..])),
            Some(&CTRL_FRAGMENT) => {
                let (h, chunk) =
                    FragmentHeader::ref_from_prefix(bytes).map_err(|_| DropReason::Truncated)?;
                let total = usize::from(h.total_len.get());
                let count = usize::from(h.count);
                if total > max_message {
                    return Err(DropReason::Oversized);
                }
                if count < 2 || h.index >= h.count || total < count {
                    return Err(DropReason::MalformedFragment);
                }
                let chunk_size = chunk_len(total, count);
                let offset = usize::from(h.index) * chunk_size;
                // Every fragment, the last included, must carry at least one byte.
                if chunk_size * (count - 1) >= total {
                    return Err(DropReason::MalformedFragment);
                }
                let expected = chunk_size.min(total - offset);
                if chunk.len() != expected {
                    return Err(DropReason::MalformedFragment);
                }
                Ok(LinkPdu::Fragment(Fragment {
                    msg_id: h.msg_id.get(),
                    total_len: h.total_len.get(),
                    index: h.index,
                    count: h.count,
                    check: h.check.get(),
                    chunk,
                }))
            }
            Some(_) => Err(DropReason::UnknownLinkPdu),
        }
    }
}

/// How one frame is cut into link PDUs for a given MTU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragmenter {
    total: usize,
    count: usize,
    chunk: usize,
    check: u32,
}

/// The `check` field of a fragment: CRC-32 (IEEE) of the whole frame.
pub fn frame_check(frame: &[u8]) -> u32 {
    crc32fast::hash(frame)
}

impl Fragmenter {
    /// Plans the PDUs of `frame` on a link of `mtu` bytes (the frame's check is computed
    /// here, once, when it needs fragments). Returns `None` if even 255 fragments cannot
    /// carry it (the caller validated sizes, so this only happens for an MTU below the BLE
    /// minimum).
    pub fn new(frame: &[u8], mtu: usize) -> Option<Self> {
        let frame_len = frame.len();
        if frame_len < mtu {
            return Some(Fragmenter { total: frame_len, count: 1, chunk: frame_len, check: 0 });
        }
        let max_chunk = mtu.checked_sub(FRAGMENT_HEADER_LEN).filter(|c| *c > 0)?;
        let count = frame_len.div_ceil(max_chunk);
        if count > MAX_FRAGMENTS || frame_len > usize::from(u16::MAX) {
            return None;
        }
        Some(Fragmenter { total: frame_len, count, chunk: chunk_len(frame_len, count), check: frame_check(frame) })
    }

    /// Number of PDUs (1 when the frame fits whole).
    pub fn count(&self) -> usize {
        self.count
    }

    /// Writes PDU `index` of `frame` (the frame this plan was made for) into `out`
    /// (cleared first).
    pub fn write_pdu(&self, frame: &[u8], msg_id: u16, index: usize, out: &mut Vec<u8>) {
        out.clear();
        if self.count == 1 {
            out.push(CTRL_WHOLE);
            out.extend_from_slice(frame);
            return;
        }
        let start = index * self.chunk;
        let end = (start + self.chunk).min(self.total);
        let header = FragmentHeader {
            ctrl: CTRL_FRAGMENT,
            msg_id: U16::new(msg_id),
            total_len: U16::new(self.total as u16),
            index: index as u8,
            count: self.count as u8,
            check: U32::new(self.check),
        };
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&frame[start..end]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn pdus(frame: &[u8], mtu: usize) -> Vec<Vec<u8>> {
        let f = Fragmenter::new(frame, mtu).unwrap();
        (0..f.count())
            .map(|i| {
                let mut out = Vec::new();
                f.write_pdu(frame, 7, i, &mut out);
                out
            })
            .collect()
    }

    #[test]
    fn small_frames_travel_whole() {
        let p = pdus(&[1, 2, 3], 20);
        assert_eq!(p, vec![vec![CTRL_WHOLE, 1, 2, 3]]);
        let LinkPdu::Whole(f) = LinkPdu::new_checked(&p[0], 100).unwrap() else { panic!() };
        assert_eq!(f, &[1, 2, 3]);
    }

    #[test]
    fn fragments_fit_the_mtu_and_cover_the_frame() {
        let frame: Vec<u8> = (0..100u8).collect();
        let p = pdus(&frame, 20);
        assert_eq!(p.len(), 12); // 100 bytes in chunks of at most 9
        let mut rebuilt = vec![0u8; 100];
        for pdu in &p {
            assert!(pdu.len() <= 20);
            let LinkPdu::Fragment(f) = LinkPdu::new_checked(pdu, 2048).unwrap() else { panic!() };
            assert_eq!((f.msg_id, f.total_len, f.count, f.check), (7, 100, 12, frame_check(&frame)));
            rebuilt[f.offset()..f.offset() + f.chunk.len()].copy_from_slice(f.chunk);
        }
        assert_eq!(rebuilt, frame);
    }

    #[test]
    fn exact_first_pdu_bytes() {
        let frame: Vec<u8> = (0..30u8).collect();
        let p = pdus(&frame, 20); // 30 bytes, 9 per chunk at most: 3 fragments of 8, one of 6
        // CRC-32 (IEEE) of the bytes 0..30, as Python's `zlib.crc32(bytes(range(30)))` gives it.
        let check = frame_check(&frame).to_be_bytes();
        assert_eq!(check, [0xc5, 0x66, 0x5f, 0x58]);
        assert_eq!(p[0][..11], [0x02, 0x00, 0x07, 0x00, 0x1e, 0x00, 0x04, check[0], check[1], check[2], check[3]]);
        assert_eq!(p[0][11..], frame[..8]);
        assert_eq!(p[3][11..], frame[24..]);
    }

    #[test]
    fn malformed_fragments_are_rejected() {
        let bad = |h: [u8; 7], body: &[u8], want| {
            let mut b = h.to_vec();
            b.extend_from_slice(&[0; 4]); // check
            b.extend_from_slice(body);
            assert_eq!(LinkPdu::new_checked(&b, 2048).unwrap_err(), want, "{h:?}");
        };
        bad([2, 0, 0, 0, 10, 0, 1], &[0; 10], DropReason::MalformedFragment); // count 1
        bad([2, 0, 0, 0, 10, 2, 2], &[0; 5], DropReason::MalformedFragment); // index >= count
        bad([2, 0, 0, 0, 10, 0, 2], &[0; 4], DropReason::MalformedFragment); // wrong length
        bad([2, 0, 0, 0, 1, 0, 2], &[0; 1], DropReason::MalformedFragment); // total < count
        bad([2, 0, 0, 0, 10, 0, 9], &[0; 2], DropReason::MalformedFragment); // empty last
        bad([2, 0, 0, 0xff, 0xff, 0, 2], &[0; 5], DropReason::Oversized);
        assert_eq!(LinkPdu::new_checked(&[2, 0], 2048).unwrap_err(), DropReason::Truncated);
        assert_eq!(LinkPdu::new_checked(&[2, 0, 0, 0, 10, 0, 2, 0, 0, 0], 2048).unwrap_err(), DropReason::Truncated);
        // The old fragment format without a check is not accepted.
        assert_eq!(LinkPdu::new_checked(&[1, 0, 0, 0, 10, 0, 2, 0, 1, 2, 3, 4], 2048).unwrap_err(), DropReason::UnknownLinkPdu);
        assert_eq!(LinkPdu::new_checked(&[], 2048).unwrap_err(), DropReason::Truncated);
        assert_eq!(LinkPdu::new_checked(&[9, 1], 2048).unwrap_err(), DropReason::UnknownLinkPdu);
    }
}
