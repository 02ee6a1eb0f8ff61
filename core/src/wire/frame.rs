//! The frame: header, body and authentication trailer.
//!
//! ```text
//!  0       1       2       3       4       5       6               8
//! +-------+-------+-------+-------+-------+-------+---------------+
//! |version| kind  | flags |  ttl  | hops  |authlen|   body_len    |
//! +-------+-------+-------+-------+-------+-------+---------------+
//! |                        origin (u64)                           |
//! +---------------------------------------------------------------+
//! |                      destination (u64)                        |
//! +-------------------------------+-------------------------------+
//! |          seq (u32)            |  body ... | auth ...          |
//! +-------------------------------+-------------------------------+
//! ```

use alloc::vec::Vec;

use zerocopy::network_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::{FRAME_HEADER_LEN, Kind, VERSION, flags};
use crate::{Destination, DropReason, NodeId, Priority};

/// The fixed frame header, in network byte order.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct FrameHeader {
    /// Protocol version, [`VERSION`].
    pub version: u8,
    /// Message kind, a [`Kind`].
    pub kind: u8,
    /// Priority and [`flags`].
    pub flags: u8,
    /// Hops the frame may still travel; decremented by each relay. Outside any signature.
    pub ttl: u8,
    /// Hops travelled so far; incremented by each relay. Outside any signature.
    pub hops: u8,
    /// Bytes of authentication trailer after the body.
    pub auth_len: u8,
    /// Bytes of body after the header.
    pub body_len: U16,
    /// The node that originated the frame.
    pub origin: U64,
    /// The destination node, or `u64::MAX` for broadcast.
    pub destination: U64,
    /// The origin's sequence number for this frame.
    pub seq: U32,
}

const _: () = assert!(core::mem::size_of::<FrameHeader>() == FRAME_HEADER_LEN);

impl FrameHeader {
    /// A header of this [`VERSION`] with no body, no authentication and no hops travelled yet.
    pub fn new(kind: Kind, priority: Priority, ttl: u8, origin: NodeId, dst: Destination, seq: u32) -> Self {
        FrameHeader {
            version: VERSION,
            kind: kind as u8,
            flags: priority as u8,
            ttl,
            hops: 0,
            auth_len: 0,
            body_len: U16::new(0),
            origin: U64::new(origin.0),
            destination: U64::new(dst.to_node_id().0),
            seq: U32::new(seq),
        }
    }

    /// The origin.
    pub fn origin(&self) -> NodeId {
        NodeId(self.origin.get())
    }

    /// The destination.
    pub fn destination(&self) -> Destination {
        Destination::from_node_id(NodeId(self.destination.get()))
    }

    /// The priority carried in the flags.
    pub fn priority(&self) -> Priority {
        Priority::from_bits(self.flags)
    }
}

/// A validated view of one frame. Only [`Frame::new_checked`] builds one.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    header: &'a FrameHeader,
    kind: Kind,
    body: &'a [u8],
    auth: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Validates `bytes` as one whole frame of at most `max_len` bytes.
    ///
    /// Checks, in order: the header is complete, the version is [`VERSION`], the kind is
    /// known, reserved flag bits are clear, the frame is not larger than `max_len`, the
    /// declared body and trailer lengths add up to the frame exactly, and origin and
    /// destination are not reserved. The body itself is validated by
    /// [`super::Message::parse`].
    pub fn new_checked(bytes: &'a [u8], max_len: usize) -> Result<Self, DropReason> {
        let (header, rest) = FrameHeader::ref_from_prefix(bytes).map_err(|_| DropReason::Truncated)?;
        if header.version != VERSION {
            return Err(DropReason::UnsupportedVersion);
        }
        let kind = Kind::from_u8(header.kind).ok_or(DropReason::UnknownKind)?;
        // FLOW marks reserved-flow data: meaningless (so reserved) on any other kind.
        if header.flags & flags::RESERVED != 0 || (header.flags & flags::FLOW != 0 && kind != Kind::GameData) {
            return Err(DropReason::ReservedBits);
        }
        if bytes.len() > max_len {
            return Err(DropReason::Oversized);
        }
        let body_len = usize::from(header.body_len.get());
        let auth_len = usize::from(header.auth_len);
        if rest.len() != body_len + auth_len {
            return Err(if rest.len() < body_len + auth_len {
                DropReason::Truncated
            } else {
                DropReason::LengthMismatch
            });
        }
        if !header.origin().is_unicast() {
            return Err(DropReason::InvalidOrigin);
        }
        if header.destination.get() == 0 {
            return Err(DropReason::InvalidDestination);
        }
        let (body, auth) = rest.split_at(body_len);
        Ok(Frame { header, kind, body, auth })
    }

    /// The header.
    pub fn header(&self) -> &'a FrameHeader {
        self.header
    }

    /// The message kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The body bytes (not yet interpreted).
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The authentication trailer.
    pub fn auth(&self) -> &'a [u8] {
        self.auth
    }

    /// The message id (origin, sequence number).
    pub fn message_id(&self) -> crate::MessageId {
        crate::MessageId { origin: self.header.origin(), seq: self.header.seq.get() }
    }
}

/// Writes a frame into `out` (cleared first): `header` with `body_len` set from the parts,
/// followed by every part of the body in order. Returns the frame length.
///
/// `out` keeps its capacity, so a reused buffer makes this allocation-free.
pub fn encode_frame(out: &mut Vec<u8>, header: &FrameHeader, body: &[&[u8]]) -> usize {
    let body_len: usize = body.iter().map(|p| p.len()).sum();
    let mut header = *header;
    header.body_len = U16::new(u16::try_from(body_len).unwrap_or(u16::MAX));
    out.clear();
    out.extend_from_slice(header.as_bytes());
    for part in body {
        out.extend_from_slice(part);
    }
    out.len()
}

/// Rewrites TTL and hop count of an encoded frame in place (relays do this; both fields are
/// outside any signature). `frame` must have passed [`Frame::new_checked`].
pub(crate) fn set_ttl_and_hops(frame: &mut [u8], ttl: u8, hops: u8) {
    if let Ok((header, _)) = FrameHeader::mut_from_prefix(frame) {
        header.ttl = ttl;
        header.hops = hops;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let h = FrameHeader::new(Kind::GameData, Priority::High, 5, NodeId(0x11), Destination::Broadcast, 9);
        let mut out = Vec::new();
        encode_frame(&mut out, &h, &[b"hi"]);
        out
    }

    #[test]
    fn round_trip() {
        let bytes = sample();
        assert_eq!(bytes.len(), FRAME_HEADER_LEN + 2);
        let f = Frame::new_checked(&bytes, 2048).unwrap();
        assert_eq!(f.kind(), Kind::GameData);
        assert_eq!(f.body(), b"hi");
        assert!(f.auth().is_empty());
        assert_eq!(f.header().origin(), NodeId(0x11));
        assert_eq!(f.header().destination(), Destination::Broadcast);
        assert_eq!(f.header().priority(), Priority::High);
        assert_eq!(f.header().seq.get(), 9);
    }

    #[test]
    fn each_defect_has_its_reason() {
        let good = sample();
        let check = |mutate: &dyn Fn(&mut Vec<u8>), want: DropReason| {
            let mut b = good.clone();
            mutate(&mut b);
            assert_eq!(Frame::new_checked(&b, 2048).unwrap_err(), want);
        };
        check(&|b| b.truncate(10), DropReason::Truncated);
        check(&|b| b[0] = 1, DropReason::UnsupportedVersion); // the version before FLOW
        check(&|b| b[0] = VERSION + 1, DropReason::UnsupportedVersion);
        check(&|b| b[1] = 99, DropReason::UnknownKind);
        check(&|b| b[2] = 0x80, DropReason::ReservedBits);
        check(&|b| b.push(0), DropReason::LengthMismatch);
        check(&|b| { b.pop(); }, DropReason::Truncated);
        check(&|b| b[8..16].fill(0), DropReason::InvalidOrigin);
        check(&|b| b[16..24].fill(0), DropReason::InvalidDestination);
        assert_eq!(Frame::new_checked(&good, 20).unwrap_err(), DropReason::Oversized);
        assert_eq!(Frame::new_checked(&[], 2048).unwrap_err(), DropReason::Truncated);
    }

    #[test]
    fn relay_rewrites_only_ttl_and_hops() {
        let mut b = sample();
        let before = b.clone();
        set_ttl_and_hops(&mut b, 4, 1);
        assert_eq!((b[3], b[4]), (4, 1));
        assert_eq!(b[..3], before[..3]);
        assert_eq!(b[5..], before[5..]);
    }
}
