//! The per-hop reservation table: the soft state every node of a flow's path keeps for it.
//!
//! Entries are keyed by (source, flow id) and hold the explicit path, the node's place in
//! it, the reserved bandwidth, whether the destination confirmed it, when it expires
//! without a refresh, and a token bucket that polices the flow's traffic. The table grows on
//! demand up to a fixed cap (a node relaying no flow holds no entry memory) and never
//! shrinks: only an insert beyond every earlier high-water mark allocates; refreshing,
//! policing and removing never do. The node decides what to send (`node/reservations.rs`);
//! this type only keeps the state.

use alloc::vec::Vec;

use crate::time::duration_micros;
use crate::{Instant, NodeId, Priority};

use super::FlowId;
use crate::wire::reservation::MAX_RESERVATION_PATH;

/// One reservation held by this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HopReservation {
    /// The flow's id, chosen by its source.
    pub flow: FlowId,
    /// The explicit path; the first `len` entries are used.
    path: [NodeId; MAX_RESERVATION_PATH],
    /// Nodes in the path.
    len: u8,
    /// This node's index in the path.
    pub hop: u8,
    /// The flow's priority.
    pub priority: Priority,
    /// Bandwidth reserved on the link to the next hop, kbit/s.
    pub bandwidth_kbps: u32,
    /// Whether the destination confirmed the reservation.
    pub confirmed: bool,
    /// When it lapses without a refresh.
    pub expires_at: Instant,
    /// Policing credit in byte-microseconds (bytes × 10⁶).
    tokens: u64,
    /// Credit cap in byte-microseconds.
    burst: u64,
    /// When the credit was last topped up.
    refilled: Instant,
}

impl HopReservation {
    /// A reservation of `bandwidth_kbps` for flow `flow` along `path`, this node at `hop`;
    /// tentative, expiring at `expires_at`, its bucket full with `burst_bytes` of credit.
    ///
    /// # Panics
    /// If `path` has more than [`MAX_RESERVATION_PATH`] nodes or `hop` is outside it (the
    /// wire parser and `open_flow` never produce such paths).
    pub fn new(
        flow: FlowId,
        path: &[NodeId],
        hop: usize,
        priority: Priority,
        bandwidth_kbps: u32,
        expires_at: Instant,
        burst_bytes: u64,
    ) -> Self {
        assert!(path.len() <= MAX_RESERVATION_PATH && hop < path.len(), "path checked by the caller");
        let mut p = [NodeId(0); MAX_RESERVATION_PATH];
        p[..path.len()].copy_from_slice(path);
        let burst = burst_bytes.saturating_mul(1_000_000);
        HopReservation {
            flow,
            path: p,
            len: path.len() as u8,
            hop: hop as u8,
            priority,
            bandwidth_kbps,
            confirmed: false,
            expires_at,
            tokens: burst,
            burst,
            refilled: Instant::ZERO,
        }
    }

    /// The explicit path.
    pub fn path(&self) -> &[NodeId] {
        &self.path[..usize::from(self.len)]
    }

    /// The flow's source.
    pub fn source(&self) -> NodeId {
        self.path[0]
    }

    /// The flow's destination.
    pub fn destination(&self) -> NodeId {
        self.path[usize::from(self.len) - 1]
    }

    /// The previous node of the path (`None` at the source).
    pub fn prev(&self) -> Option<NodeId> {
        usize::from(self.hop).checked_sub(1).map(|i| self.path[i])
    }

    /// The next node of the path (`None` at the destination).
    pub fn next(&self) -> Option<NodeId> {
        let i = usize::from(self.hop) + 1;
        (i < usize::from(self.len)).then(|| self.path[i])
    }

    /// Charges a frame of `len` bytes at `now` to the bucket (rate: the reserved bandwidth).
    /// Returns whether it conforms; a non-conforming frame takes no credit.
    pub fn charge(&mut self, now: Instant, len: usize) -> bool {
        // The first charge starts the clock (the bucket starts full).
        let elapsed = if self.refilled > now { 0 } else { duration_micros(now - self.refilled) };
        // kbit/s = 125 bytes/s = 125 byte-microseconds per microsecond ... × 10⁶ / 10⁶.
        let credit = elapsed.saturating_mul(u64::from(self.bandwidth_kbps)).saturating_mul(125);
        self.tokens = self.tokens.saturating_add(credit).min(self.burst);
        self.refilled = now;
        let cost = (len as u64).saturating_mul(1_000_000);
        if self.tokens >= cost {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }
}

/// Why [`ReservationTable::insert`] failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TableFull;

/// The reservations this node holds, at most a fixed number.
#[derive(Clone, Debug, Default)]
pub struct ReservationTable {
    entries: Vec<HopReservation>,
    cap: usize,
}

impl ReservationTable {
    /// An empty table for at most `cap` reservations (memory taken as entries arrive).
    pub fn with_capacity(cap: usize) -> Self {
        ReservationTable { entries: Vec::new(), cap }
    }

    /// Reservations held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every reservation held (in no meaningful order).
    pub fn iter(&self) -> impl Iterator<Item = &HopReservation> + '_ {
        self.entries.iter()
    }

    /// The reservation of flow `flow` of `source`.
    pub fn get(&self, source: NodeId, flow: FlowId) -> Option<&HopReservation> {
        self.entries.iter().find(|e| e.flow == flow && e.source() == source)
    }

    /// The reservation of flow `flow` of `source`, mutably.
    pub fn get_mut(&mut self, source: NodeId, flow: FlowId) -> Option<&mut HopReservation> {
        self.entries.iter_mut().find(|e| e.flow == flow && e.source() == source)
    }

    /// Bandwidth reserved on this node's link to `next`, kbit/s.
    pub fn reserved_towards(&self, next: NodeId) -> u64 {
        self.entries.iter().filter(|e| e.next() == Some(next)).map(|e| u64::from(e.bandwidth_kbps)).sum()
    }

    /// Adds `r` (the caller checked that its flow is not held yet).
    pub fn insert(&mut self, r: HopReservation) -> Result<(), TableFull> {
        let len = self.entries.len();
        if len >= self.cap {
            return Err(TableFull);
        }
        if len == self.entries.capacity() {
            // Doubling, but never past the cap.
            self.entries.reserve_exact(len.max(2).min(self.cap - len));
        }
        self.entries.push(r);
        Ok(())
    }

    /// Removes and returns the reservation of flow `flow` of `source`.
    pub fn remove(&mut self, source: NodeId, flow: FlowId) -> Option<HopReservation> {
        let i = self.entries.iter().position(|e| e.flow == flow && e.source() == source)?;
        Some(self.entries.remove(i))
    }

    /// Removes and returns the first reservation expired at `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<HopReservation> {
        let i = self.entries.iter().position(|e| e.expires_at <= now)?;
        Some(self.entries.remove(i))
    }

    /// Removes and returns the first reservation whose previous or next node fails `up`.
    pub fn pop_detached(&mut self, up: impl Fn(NodeId) -> bool) -> Option<HopReservation> {
        let i = self
            .entries
            .iter()
            .position(|e| e.prev().is_some_and(|p| !up(p)) || e.next().is_some_and(|n| !up(n)))?;
        Some(self.entries.remove(i))
    }

    /// When the next reservation lapses.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.entries.iter().map(|e| e.expires_at).min()
    }

    /// The confirmed reservations this node forwards for `source → destination` at
    /// `priority`: charges a frame of `len` bytes to the first whose bucket has the credit and
    /// extends it to `expires_at` (traffic refreshes). `None`: no such reservation here;
    /// `Some(None)`: there is, but the frame exceeds every bucket; `Some(Some(next))`: it
    /// conforms and goes to `next`.
    pub fn police(
        &mut self,
        now: Instant,
        source: NodeId,
        destination: NodeId,
        priority: Priority,
        len: usize,
        expires_at: Instant,
    ) -> Option<Option<NodeId>> {
        let mut matched = false;
        for e in &mut self.entries {
            if !e.confirmed || e.priority != priority || e.source() != source || e.destination() != destination {
                continue;
            }
            let Some(next) = e.next() else { continue };
            matched = true;
            if e.charge(now, len) {
                e.expires_at = e.expires_at.max(expires_at);
                return Some(Some(next));
            }
        }
        matched.then_some(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    fn ids(v: &[u64]) -> Vec<NodeId> {
        v.iter().map(|i| NodeId(*i)).collect()
    }

    fn at(ms: u64) -> Instant {
        Instant::from_micros(ms * 1000)
    }

    #[test]
    fn neighbours_and_bandwidth_per_next_hop() {
        let mut t = ReservationTable::with_capacity(2);
        let p = ids(&[1, 2, 3]);
        t.insert(HopReservation::new(7, &p, 1, Priority::High, 40, at(100), 1000)).unwrap();
        t.insert(HopReservation::new(8, &ids(&[9, 2, 3]), 1, Priority::High, 25, at(100), 1000)).unwrap();
        assert_eq!(t.insert(HopReservation::new(9, &p, 1, Priority::High, 1, at(100), 1)), Err(TableFull));
        let e = t.get(NodeId(1), 7).unwrap();
        assert_eq!((e.prev(), e.next(), e.source(), e.destination()), (Some(NodeId(1)), Some(NodeId(3)), NodeId(1), NodeId(3)));
        assert_eq!(t.reserved_towards(NodeId(3)), 65);
        assert_eq!(t.reserved_towards(NodeId(1)), 0);
        assert!(t.get(NodeId(9), 7).is_none(), "keyed by source and id");
        assert_eq!(t.pop_detached(|n| n != NodeId(9)).map(|e| e.flow), Some(8));
        assert_eq!(t.pop_expired(at(99)), None);
        assert_eq!(t.pop_expired(at(100)).map(|e| e.flow), Some(7));
        assert!(t.is_empty());
    }

    #[test]
    fn the_bucket_passes_the_reserved_rate_and_holds_back_the_excess() {
        // 80 kbit/s = 10,000 bytes/s; burst 1,000 bytes.
        let mut r = HopReservation::new(1, &ids(&[1, 2, 3]), 1, Priority::Normal, 80, at(0), 1000);
        assert!(r.charge(at(0), 1000), "the bucket starts full");
        assert!(!r.charge(at(0), 1), "empty");
        assert!(!r.charge(at(99), 1000), "99 ms refill 990 bytes");
        assert!(r.charge(at(100), 1000), "100 ms refill 1,000 bytes");
        // One second at twice the rate: half passes.
        let passed = (1..=200).filter(|k| r.charge(at(100) + Duration::from_millis(5 * k), 100)).count();
        assert_eq!(passed, 100);
    }

    #[test]
    fn policing_picks_a_matching_confirmed_reservation() {
        let mut t = ReservationTable::with_capacity(4);
        let mut r = HopReservation::new(1, &ids(&[1, 2, 3]), 1, Priority::High, 8, at(0), 100);
        assert_eq!(t.police(at(0), NodeId(1), NodeId(3), Priority::High, 10, at(5)), None);
        t.insert(r).unwrap();
        assert_eq!(t.police(at(0), NodeId(1), NodeId(3), Priority::High, 10, at(5)), None, "tentative");
        r.confirmed = true;
        t.remove(NodeId(1), 1);
        t.insert(r).unwrap();
        assert_eq!(t.police(at(0), NodeId(1), NodeId(3), Priority::Normal, 10, at(5)), None, "other priority");
        assert_eq!(t.police(at(0), NodeId(1), NodeId(3), Priority::High, 60, at(5)), Some(Some(NodeId(3))));
        assert_eq!(t.get(NodeId(1), 1).unwrap().expires_at, at(5), "traffic refreshes");
        assert_eq!(t.police(at(0), NodeId(1), NodeId(3), Priority::High, 60, at(5)), Some(None), "excess");
    }
}
