//! Bounded reassembly of fragmented frames.
//!
//! At most `max_reassemblies` messages are in progress at once, each at most
//! `max_message_size` bytes, each discarded `timeout` after its first fragment. A buffer is
//! taken when a message starts (sized to that message) and returned to a small pool when
//! it completes or is discarded; the pool keeps at most one buffer per slot. Nothing is
//! allocated for a node that never receives a fragment, and steady-state reassembly (the
//! same sizes again) does not allocate.
//!
//! A message is identified by its link, message id **and check** (the CRC-32 of the whole
//! frame every fragment carries), so fragments of two frames are never spliced together:
//! a fragment whose check differs from the pending message with the same id starts a new
//! message in its place (the sender reused the id, so the older message is stale), and a
//! rebuilt frame is handed on only if its CRC-32 matches the check.

use alloc::vec::Vec;
use core::time::Duration;

use super::link::Fragment;
use crate::{DropReason, Instant, LinkId};

#[derive(Debug)]
struct Slot {
    link: LinkId,
    msg_id: u16,
    check: u32,
    total: u16,
    count: u8,
    received: [u64; 4],
    received_count: u8,
    started: Instant,
    buf: Vec<u8>,
}

impl Slot {
    fn has(&self, index: u8) -> bool {
        self.received[usize::from(index / 64)] & (1 << (index % 64)) != 0
    }

    fn mark(&mut self, index: u8) {
        self.received[usize::from(index / 64)] |= 1 << (index % 64);
        self.received_count += 1;
    }
}

/// Rebuilds frames from fragments, per link and message id.
#[derive(Debug)]
pub struct Reassembler {
    /// Grown one at a time to the most messages in progress at once, at most `max`.
    slots: Vec<Option<Slot>>,
    free: Vec<Vec<u8>>,
    max: usize,
    max_message: usize,
    timeout: Duration,
}

/// What one fragment did.
#[derive(Debug, PartialEq, Eq)]
pub enum Reassembly {
    /// Stored; the message is not complete yet.
    Pending,
    /// The message is complete; hand the buffer back with [`Reassembler::recycle`].
    Complete(Vec<u8>),
    /// Stored, but an older incomplete message was evicted to make room, or replaced: it had
    /// the same message id on the same link but another frame's check.
    PendingEvicted,
}

impl Reassembler {
    /// A reassembler for `max` concurrent messages of at most `max_message` bytes (the
    /// fragment parser enforces that bound; buffers are sized to each message). Nothing is
    /// allocated until a fragmented message arrives.
    pub fn new(max: usize, max_message: usize, timeout: Duration) -> Self {
        Reassembler { slots: Vec::new(), free: Vec::new(), max, max_message, timeout }
    }

    /// Messages in progress.
    pub fn in_progress(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Adds one validated fragment received on `link` at `now`.
    ///
    /// Errors: `Duplicate` (this fragment was stored already), `InconsistentFragment` (same
    /// frame check but another length or count; or the rebuilt frame fails its check, and
    /// is discarded), `Oversized`.
    pub fn push(&mut self, now: Instant, link: LinkId, frag: Fragment<'_>) -> Result<Reassembly, DropReason> {
        let mut evicted = false;
        let found = self.find(link, frag.msg_id);
        if let Some(i) = found.filter(|i| self.slots[*i].as_ref().is_some_and(|s| s.check != frag.check)) {
            // Another frame under the same id: the pending one is stale; start over.
            self.release(i);
            evicted = true;
        }
        let idx = match found.filter(|_| !evicted) {
            Some(i) => {
                let slot = self.slots[i].as_ref().expect("found slot is occupied");
                if slot.total != frag.total_len || slot.count != frag.count {
                    return Err(DropReason::InconsistentFragment);
                }
                if slot.has(frag.index) {
                    return Err(DropReason::Duplicate);
                }
                i
            }
            None => {
                if usize::from(frag.total_len) > self.max_message {
                    return Err(DropReason::Oversized);
                }
                let i = match self.slots.iter().position(Option::is_none) {
                    Some(i) => i,
                    None if self.slots.len() < self.max => {
                        self.slots.reserve_exact(1);
                        self.slots.push(None);
                        self.slots.len() - 1
                    }
                    None => {
                        evicted = true;
                        let oldest = self.oldest().expect("reassembler has at least one slot");
                        self.release(oldest);
                        oldest
                    }
                };
                let mut buf = self.free.pop().unwrap_or_default();
                buf.clear();
                buf.resize(usize::from(frag.total_len), 0);
                self.slots[i] = Some(Slot {
                    link,
                    msg_id: frag.msg_id,
                    check: frag.check,
                    total: frag.total_len,
                    count: frag.count,
                    received: [0; 4],
                    received_count: 0,
                    started: now,
                    buf,
                });
                i
            }
        };
        let slot = self.slots[idx].as_mut().expect("slot just filled");
        let off = frag.offset();
        slot.buf[off..off + frag.chunk.len()].copy_from_slice(frag.chunk);
        slot.mark(frag.index);
        if slot.received_count == slot.count {
            let done = self.slots[idx].take().expect("slot is occupied");
            if super::link::frame_check(&done.buf) != done.check {
                self.recycle(done.buf);
                return Err(DropReason::InconsistentFragment);
            }
            return Ok(Reassembly::Complete(done.buf));
        }
        Ok(if evicted { Reassembly::PendingEvicted } else { Reassembly::Pending })
    }

    /// Returns a completed message's buffer for reuse.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        if self.free.len() < self.slots.len() {
            self.free.push(buf);
        }
    }

    /// Discards messages older than the timeout; returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        let mut n = 0;
        for i in 0..self.slots.len() {
            if let Some(s) = &self.slots[i] {
                if now >= s.started + self.timeout {
                    self.release(i);
                    n += 1;
                }
            }
        }
        n
    }

    /// Discards everything received on `link` (it went down).
    pub fn forget_link(&mut self, link: LinkId) {
        for i in 0..self.slots.len() {
            if self.slots[i].as_ref().is_some_and(|s| s.link == link) {
                self.release(i);
            }
        }
    }

    /// When the oldest message in progress times out.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.slots.iter().flatten().map(|s| s.started + self.timeout).min()
    }

    /// Bytes of buffer capacity held (in progress and free).
    pub fn bytes_held(&self) -> usize {
        self.slots.iter().flatten().map(|s| s.buf.capacity()).sum::<usize>()
            + self.free.iter().map(Vec::capacity).sum::<usize>()
    }

    fn find(&self, link: LinkId, msg_id: u16) -> Option<usize> {
        self.slots.iter().position(|s| s.as_ref().is_some_and(|s| s.link == link && s.msg_id == msg_id))
    }

    fn oldest(&self) -> Option<usize> {
        (0..self.slots.len()).filter(|i| self.slots[*i].is_some()).min_by_key(|i| {
            let s = self.slots[*i].as_ref().expect("filtered on is_some");
            (s.started, *i)
        })
    }

    fn release(&mut self, i: usize) {
        if let Some(s) = self.slots[i].take() {
            self.recycle(s.buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::link::{Fragmenter, LinkPdu};

    fn frame(len: usize) -> Vec<u8> {
        (0..len).map(|i| i as u8).collect()
    }

    fn fragments(frame: &[u8], mtu: usize, msg_id: u16) -> Vec<Vec<u8>> {
        let f = Fragmenter::new(frame, mtu).unwrap();
        (0..f.count())
            .map(|i| {
                let mut out = Vec::new();
                f.write_pdu(frame, msg_id, i, &mut out);
                out
            })
            .collect()
    }

    fn push(r: &mut Reassembler, now: u64, link: u32, pdu: &[u8]) -> Result<Reassembly, DropReason> {
        let LinkPdu::Fragment(f) = LinkPdu::new_checked(pdu, 2048).unwrap() else { panic!("whole") };
        r.push(Instant::from_millis(now), LinkId(link), f)
    }

    #[test]
    fn out_of_order_fragments_rebuild_the_frame() {
        let original = frame(100);
        let mut r = Reassembler::new(2, 2048, Duration::from_secs(1));
        let mut p = fragments(&original, 20, 1);
        p.reverse();
        let last = p.pop().unwrap();
        for pdu in &p {
            assert_eq!(push(&mut r, 0, 1, pdu), Ok(Reassembly::Pending));
        }
        assert_eq!(push(&mut r, 0, 1, &p[0]), Err(DropReason::Duplicate));
        let Ok(Reassembly::Complete(buf)) = push(&mut r, 0, 1, &last) else { panic!() };
        assert_eq!(buf, original);
        assert_eq!(r.in_progress(), 0);
        r.recycle(buf);
    }

    #[test]
    fn links_and_ids_are_kept_apart_and_conflicts_detected() {
        let mut r = Reassembler::new(4, 2048, Duration::from_secs(1));
        let a = fragments(&frame(40), 20, 1);
        let b = fragments(&frame(60), 20, 1);
        assert_eq!(push(&mut r, 0, 1, &a[0]), Ok(Reassembly::Pending));
        assert_eq!(push(&mut r, 0, 2, &b[0]), Ok(Reassembly::Pending));
        assert_eq!(r.in_progress(), 2);
        // The same check (same frame) with another length or count is inconsistent.
        let mut forged = a[1].clone();
        forged[6] += 1; // count 5 -> 6, the chunk length no longer matches: malformed
        assert!(LinkPdu::new_checked(&forged, 2048).is_err());
        let mut shorter = a[1][..11].to_vec();
        shorter[4] = 39; // total 40 -> 39 (still 5 chunks of 8), same check
        shorter.extend_from_slice(&a[1][11..]);
        assert_eq!(push(&mut r, 0, 1, &shorter), Err(DropReason::InconsistentFragment));
        assert_eq!(r.in_progress(), 2);
    }

    /// The fuzz finding `node_typed_inputs/crash-0f261a62…`: two frames of the same length
    /// under one message id on one link, the first missing a fragment, the second arriving
    /// in reverse. Only the second frame, whole and unmixed, may come out.
    #[test]
    fn fragments_of_two_frames_under_one_id_are_never_spliced() {
        let mut r = Reassembler::new(8, 2048, Duration::from_secs(2));
        let first: Vec<u8> = (0..100u8).collect();
        let second: Vec<u8> = (0..100u8).map(|b| b.wrapping_mul(7)).collect();
        let a = fragments(&first, 40, 255);
        let b = fragments(&second, 40, 255);
        assert_eq!(a.len(), 4);
        for pdu in &a[..3] {
            assert_eq!(push(&mut r, 0, 1, pdu), Ok(Reassembly::Pending));
        }
        let mut out = Vec::new();
        for (n, pdu) in b.iter().rev().enumerate() {
            match push(&mut r, 1, 1, pdu) {
                Ok(Reassembly::Complete(buf)) => out.push(buf),
                Ok(Reassembly::PendingEvicted) => assert_eq!(n, 0, "the stale message is replaced once"),
                other => assert_eq!(other, Ok(Reassembly::Pending)),
            }
        }
        assert_eq!(out, [second], "exactly the second frame");
        assert_eq!(r.in_progress(), 0);
        // The first frame's missing fragment now starts a message of its own, never completing
        // into anything else.
        assert_eq!(push(&mut r, 2, 1, &a[3]), Ok(Reassembly::Pending));
    }

    #[test]
    fn a_rebuilt_frame_failing_its_check_is_dropped() {
        let original = frame(50);
        let mut r = Reassembler::new(2, 2048, Duration::from_secs(1));
        let mut p = fragments(&original, 20, 9);
        let last = p.len() - 1;
        p[last][11] ^= 0x40; // a corrupted chunk under the right header
        for pdu in &p[..last] {
            assert_eq!(push(&mut r, 0, 1, pdu), Ok(Reassembly::Pending));
        }
        assert_eq!(push(&mut r, 0, 1, &p[last]), Err(DropReason::InconsistentFragment));
        assert_eq!(r.in_progress(), 0, "the broken message is discarded");
        assert!(r.bytes_held() >= 50, "its buffer went back to the pool");
    }

    #[test]
    fn bounded_by_slots_and_timeout() {
        let mut r = Reassembler::new(2, 2048, Duration::from_secs(1));
        assert_eq!(r.bytes_held(), 0, "no buffer before the first fragment");
        for (t, id) in [(0, 1), (10, 2)] {
            assert_eq!(push(&mut r, t, 1, &fragments(&frame(40), 20, id)[0]), Ok(Reassembly::Pending));
        }
        assert_eq!(push(&mut r, 20, 1, &fragments(&frame(40), 20, 3)[0]), Ok(Reassembly::PendingEvicted));
        assert_eq!(r.in_progress(), 2);
        assert_eq!(r.next_deadline(), Some(Instant::from_millis(1010)));
        assert_eq!(r.expire(Instant::from_millis(1010)), 1);
        assert_eq!(r.expire(Instant::from_millis(1020)), 1);
        assert_eq!(r.in_progress(), 0);
        let held = r.bytes_held();
        assert!(held >= 80, "two buffers returned to the pool");
        for (t, id) in [(2000, 4), (2010, 5)] {
            assert_eq!(push(&mut r, t, 1, &fragments(&frame(40), 20, id)[0]), Ok(Reassembly::Pending));
        }
        r.forget_link(LinkId(1));
        assert_eq!(r.in_progress(), 0);
        assert_eq!(r.bytes_held(), held, "buffers are recycled, not regrown");
    }
}
