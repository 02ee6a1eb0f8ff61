//! Relays waiting for their jitter to run out.
//!
//! Each accepted flooded frame that may travel further waits a seeded random delay. Copies of
//! it heard meanwhile are counted per neighbour, and the links they came from are
//! remembered: those neighbours have the frame already. A copy that came with at least the
//! TTL this node's relay would carry is also marked as *covering*: the neighbour that sent it
//! passed the frame on to its own neighbours with that TTL. When the delay ends the node
//! sends the frame only to the confirmed links that neither delivered a copy nor are covered
//! by such a neighbour (neighbour-coverage self-pruning, Lim & Kim 2001; the two-hop
//! knowledge comes from heartbeats, see `Node::run_relay`), and **suppresses** the relay when
//! no link is left.

use alloc::vec::Vec;

use smallvec::SmallVec;

use crate::{DropReason, Instant, LinkId, MessageId};

/// One frame waiting to be relayed.
#[derive(Debug)]
pub struct PendingRelay {
    /// The frame's id.
    pub id: MessageId,
    /// When the first copy arrived.
    pub received: Instant,
    /// When the jitter ends.
    pub due: Instant,
    /// Neighbours other than the first that sent a copy while waiting.
    pub copies: u8,
    /// Links that delivered a copy (the first included): do not send there. At most 8 are
    /// kept; a copy from a ninth neighbour is counted but not remembered (that neighbour then
    /// gets a redundant copy, never too few).
    pub heard_from: SmallVec<[LinkId; 8]>,
    /// Bit `k` set: the copy from `heard_from[k]` carried at least [`PendingRelay::ttl`], so
    /// that neighbour sent the frame on with a TTL no lower than this relay's.
    pub covering: u8,
    /// The TTL this relay goes out with.
    pub ttl: u8,
    /// The frame, TTL and hops already updated for the next hop.
    pub frame: Vec<u8>,
}

/// At most `capacity` pending relays. Slots and frame buffers are allocated when first
/// needed and recycled: the table grows (by a quarter) to the most relays ever pending at once
/// (never beyond the capacity); a buffer is allocated to the size of the frame that first
/// needs it and grows to the largest frame it carried, so a steady relay load allocates
/// nothing and buffers hold the traffic's frame sizes, not a fixed 256 bytes. A frame takes
/// the smallest free buffer it fits in (best fit).
#[derive(Debug)]
pub struct RelayTable {
    slots: Vec<Option<PendingRelay>>,
    capacity: usize,
    free: Vec<Vec<u8>>,
}

impl RelayTable {
    /// A table of `capacity` slots.
    pub fn new(capacity: usize) -> Self {
        RelayTable { slots: Vec::new(), capacity, free: Vec::new() }
    }

    /// Schedules `frame` (received at `received` on `from`, if any) for relay at `due` with
    /// TTL `ttl` (the received TTL less one; the first copy's sender counts as covering).
    /// Returns the stored copy, for the caller to update TTL and hop count in place.
    #[allow(clippy::too_many_arguments)]
    pub fn schedule(
        &mut self,
        id: MessageId,
        received: Instant,
        due: Instant,
        from: Option<LinkId>,
        ttl: u8,
        frame: &[u8],
    ) -> Result<&mut Vec<u8>, DropReason> {
        let i = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None if self.slots.len() < self.capacity => {
                if self.slots.len() == self.slots.capacity() {
                    let more = (self.slots.len() / 4).max(4).min(self.capacity - self.slots.len());
                    self.slots.reserve_exact(more);
                    // Room to keep a buffer for every slot.
                    self.free.reserve_exact(self.slots.capacity().saturating_sub(self.free.len()));
                }
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return Err(DropReason::RelayTableFull),
        };
        let slot = &mut self.slots[i];
        // The smallest recycled buffer the frame fits in if there is one (no growth), else any:
        // a small frame leaves the large buffers to large frames, so with frames of mixed
        // sizes the pool stops growing once it holds the most large frames ever pending.
        let fit = (0..self.free.len()).filter(|&i| self.free[i].capacity() >= frame.len()).min_by_key(|&i| self.free[i].capacity());
        let mut buf = match fit {
            Some(i) => self.free.swap_remove(i),
            None => self.free.pop().unwrap_or_else(|| Vec::with_capacity(frame.len())),
        };
        buf.clear();
        buf.extend_from_slice(frame);
        let mut heard_from = SmallVec::new();
        heard_from.extend(from);
        let covering = u8::from(from.is_some());
        let pending = slot.insert(PendingRelay { id, received, due, copies: 0, heard_from, covering, ttl, frame: buf });
        Ok(&mut pending.frame)
    }

    /// A copy of `id` carrying TTL `ttl` arrived on `link`. Only the first copy from each
    /// neighbour counts (a retransmission is not a second relayer). Returns whether a relay
    /// of it is pending.
    pub fn heard_copy(&mut self, id: &MessageId, link: LinkId, ttl: u8) -> bool {
        let Some(p) = self.slots.iter_mut().flatten().find(|p| p.id == *id) else { return false };
        if !p.heard_from.contains(&link) {
            p.copies = p.copies.saturating_add(1);
            if p.heard_from.len() < p.heard_from.inline_size() {
                if ttl >= p.ttl {
                    p.covering |= 1 << p.heard_from.len();
                }
                p.heard_from.push(link);
            }
        }
        true
    }

    /// Takes the pending relay of `id`, due or not.
    pub fn take(&mut self, id: &MessageId) -> Option<PendingRelay> {
        self.slots.iter_mut().find(|s| s.as_ref().is_some_and(|p| p.id == *id))?.take()
    }

    /// Takes the earliest relay due at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<PendingRelay> {
        let i = (0..self.slots.len())
            .filter(|i| self.slots[*i].as_ref().is_some_and(|p| p.due <= now))
            .min_by_key(|i| (self.slots[*i].as_ref().map(|p| p.due), *i))?;
        self.slots[i].take()
    }

    /// Returns a relayed frame's buffer for reuse.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        if self.free.len() < self.free.capacity() {
            self.free.push(buf);
        }
    }

    /// When the earliest relay is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.slots.iter().flatten().map(|p| p.due).min()
    }

    /// Relays pending.
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Whether none is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeId;

    fn id(seq: u32) -> MessageId {
        MessageId { origin: NodeId(5), seq }
    }

    #[test]
    fn grows_on_demand_and_recycles_buffers() {
        let mut t = RelayTable::new(32);
        assert_eq!((t.slots.capacity(), t.free.capacity()), (0, 0), "nothing up front");
        for round in 0..3u32 {
            for s in 0..5 {
                t.schedule(id(round * 10 + s), Instant::ZERO, Instant::ZERO, None, 3, &[0; 100]).unwrap();
            }
            while let Some(p) = t.pop_due(Instant::ZERO) {
                t.recycle(p.frame);
            }
        }
        assert!(t.slots.capacity() < 32 && t.slots.len() == 5, "grew to the 5 used at once");
        assert_eq!(t.free.len(), 5, "a buffer per relay pending at once, every one back");
        assert!(t.free.iter().all(|b| b.capacity() == 100), "buffers sized to the frames");
        // A larger frame grows one buffer once; smaller ones reuse buffers that fit.
        t.schedule(id(50), Instant::ZERO, Instant::ZERO, None, 3, &[0; 180]).unwrap();
        let big = t.pop_due(Instant::ZERO).unwrap().frame;
        t.recycle(big);
        t.schedule(id(51), Instant::ZERO, Instant::ZERO, None, 3, &[0; 150]).unwrap();
        let p = t.pop_due(Instant::ZERO).unwrap();
        assert!(p.frame.capacity() >= 180, "the 150-byte frame took the buffer it fits in");
        assert!(t.free.iter().all(|b| b.capacity() == 100), "no other buffer grew");
    }

    #[test]
    fn due_order_copies_and_capacity() {
        let mut t = RelayTable::new(2);
        t.schedule(id(1), Instant::ZERO, Instant::from_millis(20), Some(LinkId(1)), 4, b"a").unwrap();
        t.schedule(id(2), Instant::ZERO, Instant::from_millis(10), None, 4, b"b").unwrap();
        assert_eq!(t.schedule(id(3), Instant::ZERO, Instant::ZERO, None, 4, b"c").unwrap_err(), DropReason::RelayTableFull);
        assert!(t.heard_copy(&id(1), LinkId(2), 4));
        assert!(t.take(&id(7)).is_none());
        assert!(t.heard_copy(&id(1), LinkId(2), 9), "a retransmission is no new copy");
        assert!(t.heard_copy(&id(1), LinkId(3), 3));
        assert!(!t.heard_copy(&id(9), LinkId(2), 4));
        assert_eq!(t.next_deadline(), Some(Instant::from_millis(10)));
        assert!(t.pop_due(Instant::from_millis(9)).is_none());
        let first = t.pop_due(Instant::from_millis(30)).unwrap();
        assert_eq!((first.id, &first.frame[..]), (id(2), &b"b"[..]));
        let second = t.pop_due(Instant::from_millis(30)).unwrap();
        assert_eq!(second.copies, 2);
        assert_eq!(&second.heard_from[..], &[LinkId(1), LinkId(2), LinkId(3)]);
        assert_eq!(second.covering, 0b011, "the first sender and the copy with TTL 4 cover; TTL 3 does not");
        assert!(t.is_empty());
    }
}
