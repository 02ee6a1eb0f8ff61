//! The link-state database: the latest topology advert of every origin.
//!
//! Every node floods a *topology advert*: an advert version and the list of its confirmed
//! neighbours with per-link measurements ([`LinkAdvert`], the in-memory form of the wire's
//! [`crate::wire::messages::LinkEntry`]). The database keeps, per origin, the newest advert
//! received, when it was received, and ages it out after [`LinkStateDb::max_age`].
//!
//! Versions are compared with serial-number arithmetic (RFC 1982 on 32 bits): `b` is newer
//! than `a` when `b.wrapping_sub(a)` is in `1..2^31`, so a counter that wraps keeps working.
//!
//! The database also keeps the residual battery of nodes (learnt from announcements or
//! heartbeats) because the routing graph's *energy* metric is the battery of a link's far end.
//!
//! [`LinkStateDb::topology_version`] increments on every *effective* change only: an advert
//! whose normalised entries differ from the stored ones, an origin appearing or disappearing,
//! or a battery value changing. Re-receiving the same content (even under a newer advert
//! version) only refreshes the advert's age.
//!
//! Expiry is kept in a min-heap of `(received_at, origin)` with lazy deletion: every change of
//! an advert's `received_at` pushes its new time, superseded entries are dropped when they
//! reach the top, so [`LinkStateDb::next_expiry`] is O(1) and [`LinkStateDb::expire`] only
//! touches the adverts that actually expire (both ran a full scan on every timer tick).

use alloc::collections::BinaryHeap;

use super::sorted_map::SortedMap;
use core::cmp::Reverse;
use alloc::vec::Vec;
use core::time::Duration;

use crate::wire::messages::LinkEntry;
use crate::{Instant, NodeId};

/// One neighbour as reported in a topology advert.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct LinkAdvert {
    /// The neighbour at the other end of the link.
    pub neighbour: NodeId,
    /// One-way latency (smoothed RTT / 2), milliseconds.
    pub latency_ms: u16,
    /// Delivery probability in both directions, scaled 0..=255 (255 = always delivered).
    pub reliability: u8,
    /// Congestion of the link, 0 (idle) ..= 255 (saturated).
    pub congestion: u8,
    /// Bandwidth estimate, kbit/s.
    pub bandwidth_kbps: u16,
    /// Smoothed RSSI in dBm.
    pub rssi: i16,
}

impl From<&LinkEntry> for LinkAdvert {
    fn from(e: &LinkEntry) -> Self {
        LinkAdvert {
            neighbour: NodeId(e.neighbour.get()),
            latency_ms: e.latency_ms.get(),
            reliability: e.reliability,
            congestion: e.congestion,
            bandwidth_kbps: e.bandwidth_kbps.get(),
            rssi: e.rssi.get(),
        }
    }
}

/// The stored advert of one origin.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Advert {
    /// The advert version the origin gave it.
    pub version: u32,
    /// Entries sorted by neighbour, one per neighbour, without self-links or reserved ids.
    pub entries: Vec<LinkAdvert>,
    /// When the newest copy (or a newer version with the same content) was received.
    pub received_at: Instant,
}

/// What [`LinkStateDb::insert`] did with an advert.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum InsertOutcome {
    /// Stored, and its content differs from what was known: the topology version moved.
    Changed,
    /// Newer version or same version with the same content: only its age was refreshed.
    Refreshed,
    /// Older than the stored version (or same version, different content): ignored.
    Stale,
    /// The origin is not a unicast id: ignored.
    Invalid,
}

/// Most entries the expiry heap holds for `adverts` stored adverts before it is rebuilt:
/// one per advert plus superseded ones, up to half as many again (and 16).
fn max_ages(adverts: usize) -> usize {
    adverts + adverts / 2 + 16
}

/// `true` when serial number `b` is newer than `a` (RFC 1982, 32 bits).
pub fn version_newer(b: u32, a: u32) -> bool {
    let d = b.wrapping_sub(a);
    d != 0 && d < 0x8000_0000
}

/// The link-state database. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct LinkStateDb {
    max_age: Duration,
    /// By origin, sorted (a vector: about half the bytes of a `BTreeMap`).
    adverts: SortedMap<NodeId, Advert>,
    battery: SortedMap<NodeId, u8>,
    topology_version: u64,
    /// `(received_at, origin)` of every stored advert, plus superseded entries not yet at the
    /// top. Invariant: after every `&mut self` method the top (if any) is current.
    ages: BinaryHeap<Reverse<(Instant, NodeId)>>,
    /// The incoming advert's entries, built here and copied into the stored list when they
    /// differ, so that replacing an origin's advert allocates nothing once the lists grew.
    scratch: Vec<LinkAdvert>,
}

impl LinkStateDb {
    /// An empty database whose adverts expire `max_age` after they were last received.
    pub fn new(max_age: Duration) -> Self {
        LinkStateDb {
            max_age,
            adverts: SortedMap::default(),
            battery: SortedMap::default(),
            topology_version: 0,
            ages: BinaryHeap::new(),
            scratch: Vec::new(),
        }
    }

    /// How long an advert lives without being received again.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// Counter of effective changes; starts at 0.
    pub fn topology_version(&self) -> u64 {
        self.topology_version
    }

    /// The stored advert of `origin`.
    pub fn advert(&self, origin: NodeId) -> Option<&Advert> {
        self.adverts.get(origin)
    }

    /// All stored adverts, by ascending origin.
    pub fn adverts(&self) -> impl Iterator<Item = (NodeId, &Advert)> + '_ {
        self.adverts.iter()
    }

    /// Number of origins with a stored advert.
    pub fn len(&self) -> usize {
        self.adverts.len()
    }

    /// Whether no advert is stored.
    pub fn is_empty(&self) -> bool {
        self.adverts.is_empty()
    }

    /// Residual battery of `node` in percent, if known.
    pub fn battery(&self, node: NodeId) -> Option<u8> {
        self.battery.get(node).copied()
    }

    /// Records the residual battery of `node` (0..=100; `None` or values above 100 mean
    /// unknown / mains powered). A change bumps the topology version.
    pub fn set_battery(&mut self, node: NodeId, percent: Option<u8>) {
        let new = percent.filter(|p| *p <= 100);
        let old = self.battery(node);
        if old == new {
            return;
        }
        match new {
            Some(p) => self.battery.insert(node, p),
            None => self.battery.remove(node),
        };
        self.topology_version += 1;
    }

    /// Offers an advert of `origin` received at `now`. The node inserts its own advert the
    /// same way (its own links must be in the database to be confirmed from both ends).
    pub fn insert<I>(&mut self, origin: NodeId, version: u32, entries: I, now: Instant) -> InsertOutcome
    where
        I: IntoIterator<Item = LinkAdvert>,
    {
        if !origin.is_unicast() {
            return InsertOutcome::Invalid;
        }
        // One entry per neighbour (the first occurrence), sorted by neighbour; built in the
        // reused scratch list (an advert holds at most a few dozen entries).
        let mut list = core::mem::take(&mut self.scratch);
        list.clear();
        for e in entries {
            if e.neighbour.is_unicast() && e.neighbour != origin && !list.iter().any(|x| x.neighbour == e.neighbour) {
                list.push(e);
            }
        }
        list.sort_unstable_by_key(|e| e.neighbour);
        let (outcome, received_at) = match self.adverts.get_mut(origin) {
            Some(old) if version == old.version => {
                if old.entries == list {
                    let before = old.received_at;
                    old.received_at = before.max(now);
                    (InsertOutcome::Refreshed, (old.received_at != before).then_some(old.received_at))
                } else {
                    (InsertOutcome::Stale, None)
                }
            }
            Some(old) if !version_newer(version, old.version) => (InsertOutcome::Stale, None),
            Some(old) => {
                old.version = version;
                let moved = (old.received_at != now).then_some(now);
                old.received_at = now;
                if old.entries == list {
                    (InsertOutcome::Refreshed, moved)
                } else {
                    // Copied rather than swapped with the scratch list: each advert keeps
                    // room for exactly the most entries it ever had, so replacing it
                    // allocates only when the origin gains neighbours beyond that.
                    if old.entries.capacity() < list.len() {
                        old.entries.reserve_exact(list.len() - old.entries.len());
                    }
                    old.entries.clear();
                    old.entries.extend_from_slice(&list);
                    self.topology_version += 1;
                    (InsertOutcome::Changed, moved)
                }
            }
            None => {
                let mut entries = Vec::with_capacity(list.len());
                entries.extend_from_slice(&list);
                self.adverts.insert(origin, Advert { version, entries, received_at: now });
                // Room for the most entries `settle` lets the heap hold, so refreshes of
                // known origins never allocate.
                let room = max_ages(self.adverts.len()) + 1;
                self.ages.reserve(room.saturating_sub(self.ages.len()));
                self.topology_version += 1;
                (InsertOutcome::Changed, Some(now))
            }
        };
        self.scratch = list;
        if let Some(at) = received_at {
            self.ages.push(Reverse((at, origin)));
            self.settle();
        }
        outcome
    }

    /// Restores the heap invariant: drops superseded entries from the top, and rebuilds the
    /// heap from the adverts when superseded entries exceed half the current ones (amortised
    /// O(1): a rebuild of `n` entries follows at least `n / 2` pushes).
    fn settle(&mut self) {
        if self.ages.len() > max_ages(self.adverts.len()) {
            let mut ages = core::mem::take(&mut self.ages).into_vec();
            ages.clear();
            ages.extend(self.adverts.iter().map(|(o, a)| Reverse((a.received_at, o))));
            self.ages = BinaryHeap::from(ages);
        }
        while let Some(Reverse((at, origin))) = self.ages.peek().copied() {
            if self.adverts.get(origin).is_some_and(|a| a.received_at == at) {
                break;
            }
            self.ages.pop();
        }
    }

    /// Forgets the advert of `origin` (e.g. the node left). Returns whether one was stored.
    pub fn remove(&mut self, origin: NodeId) -> bool {
        let removed = self.adverts.remove(origin).is_some();
        if removed {
            self.topology_version += 1;
            self.settle();
        }
        removed
    }

    /// Removes every advert received more than `max_age` before `now`; returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        let mut removed = 0;
        // The top is current (invariant), so it is the oldest stored advert.
        while let Some(Reverse((at, origin))) = self.ages.peek().copied() {
            if now.saturating_duration_since(at) <= self.max_age {
                break;
            }
            self.ages.pop();
            self.adverts.remove(origin);
            removed += 1;
            self.settle();
        }
        if removed > 0 {
            self.topology_version += 1;
        }
        removed
    }

    /// When the next advert would expire, if any is stored (for the node's timer).
    pub fn next_expiry(&self) -> Option<Instant> {
        let Reverse((oldest, _)) = self.ages.peek()?;
        Some(*oldest + self.max_age + Duration::from_micros(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    pub(crate) fn entry(n: u64, latency_ms: u16, reliability: u8) -> LinkAdvert {
        LinkAdvert { neighbour: NodeId(n), latency_ms, reliability, congestion: 0, bandwidth_kbps: 1000, rssi: -60 }
    }

    #[test]
    fn newer_version_replaces_and_same_content_does_not_bump() {
        let mut db = LinkStateDb::new(Duration::from_secs(30));
        let t0 = Instant::from_secs(1);
        assert_eq!(db.insert(NodeId(1), 5, vec![entry(2, 10, 200)], t0), InsertOutcome::Changed);
        assert_eq!(db.topology_version(), 1);
        // Same version, same content: refresh only.
        assert_eq!(db.insert(NodeId(1), 5, vec![entry(2, 10, 200)], Instant::from_secs(2)), InsertOutcome::Refreshed);
        assert_eq!(db.advert(NodeId(1)).unwrap().received_at, Instant::from_secs(2));
        // Newer version, same content (duplicates and self-links normalised away): refresh only.
        let noisy = vec![entry(2, 10, 200), entry(1, 1, 1), entry(2, 99, 9), entry(0, 1, 1)];
        assert_eq!(db.insert(NodeId(1), 6, noisy, Instant::from_secs(3)), InsertOutcome::Refreshed);
        assert_eq!(db.advert(NodeId(1)).unwrap().version, 6);
        assert_eq!(db.topology_version(), 1);
        // Older version: ignored.
        assert_eq!(db.insert(NodeId(1), 4, vec![entry(3, 1, 1)], Instant::from_secs(4)), InsertOutcome::Stale);
        // Same version, different content: ignored.
        assert_eq!(db.insert(NodeId(1), 6, vec![entry(3, 1, 1)], Instant::from_secs(4)), InsertOutcome::Stale);
        // Newer version, new content: replaces.
        assert_eq!(db.insert(NodeId(1), 7, vec![entry(3, 1, 1)], Instant::from_secs(5)), InsertOutcome::Changed);
        assert_eq!(db.topology_version(), 2);
        assert_eq!(db.advert(NodeId(1)).unwrap().entries, vec![entry(3, 1, 1)]);
        assert_eq!(db.insert(NodeId::BROADCAST, 1, vec![], t0), InsertOutcome::Invalid);
    }

    #[test]
    fn versions_wrap_around() {
        assert!(version_newer(0, u32::MAX));
        assert!(version_newer(5, 4));
        assert!(!version_newer(4, 5));
        assert!(!version_newer(7, 7));
        assert!(!version_newer(0x8000_0000, 0));
        let mut db = LinkStateDb::new(Duration::from_secs(30));
        db.insert(NodeId(1), u32::MAX, vec![entry(2, 1, 1)], Instant::ZERO);
        assert_eq!(db.insert(NodeId(1), 1, vec![entry(3, 1, 1)], Instant::ZERO), InsertOutcome::Changed);
    }

    #[test]
    fn adverts_age_out() {
        let mut db = LinkStateDb::new(Duration::from_secs(10));
        db.insert(NodeId(1), 1, vec![entry(2, 1, 1)], Instant::from_secs(0));
        db.insert(NodeId(2), 1, vec![entry(1, 1, 1)], Instant::from_secs(5));
        assert_eq!(db.next_expiry(), Some(Instant::from_micros(10_000_001)));
        assert_eq!(db.expire(Instant::from_secs(10)), 0);
        let v = db.topology_version();
        assert_eq!(db.expire(Instant::from_micros(10_000_001)), 1);
        assert_eq!(db.topology_version(), v + 1);
        assert!(db.advert(NodeId(1)).is_none());
        assert_eq!(db.len(), 1);
        assert!(db.remove(NodeId(2)));
        assert!(!db.remove(NodeId(2)));
        assert!(db.is_empty());
    }

    /// The cached expiry matches a full scan, and `expire` removes exactly the adverts a
    /// scan would, through refreshes, time going backwards, removals and re-insertions.
    #[test]
    fn cached_expiry_matches_a_full_scan() {
        let max_age = Duration::from_secs(10);
        let mut db = LinkStateDb::new(max_age);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut now_us: u64 = 0;
        let mut expired_total = 0;
        for step in 0..20_000u32 {
            let r = next();
            now_us += r % 40_000;
            // Occasionally an input stamped slightly in the past.
            let at = Instant::from_micros(now_us.saturating_sub(if r % 17 == 0 { 50_000 } else { 0 }));
            let origin = NodeId(1 + (r >> 8) % 40);
            let version = ((r >> 16) % 4) as u32 + step / 64;
            match (r >> 24) % 8 {
                0 => {
                    db.remove(origin);
                }
                1 => {
                    let now = Instant::from_micros(now_us);
                    let by_scan =
                        db.adverts().filter(|(_, a)| now.saturating_duration_since(a.received_at) > max_age).count();
                    let removed = db.expire(now);
                    assert_eq!(removed, by_scan);
                    expired_total += removed;
                    assert!(db.adverts().all(|(_, a)| now.saturating_duration_since(a.received_at) <= max_age));
                }
                _ => {
                    db.insert(origin, version, vec![entry(1 + (r >> 32) % 3, 1, 1)], at);
                }
            }
            let scan = db.adverts().map(|(_, a)| a.received_at + max_age + Duration::from_micros(1)).min();
            assert_eq!(db.next_expiry(), scan, "step {step}");
            assert!(db.ages.len() <= max_ages(db.len()) + 1, "superseded entries are bounded");
        }
        assert!(expired_total > 0, "the sequence exercised expiry");
    }

    #[test]
    fn battery_changes_bump_the_version() {
        let mut db = LinkStateDb::new(Duration::from_secs(10));
        db.set_battery(NodeId(1), Some(50));
        db.set_battery(NodeId(1), Some(50));
        assert_eq!(db.topology_version(), 1);
        db.set_battery(NodeId(1), Some(200)); // out of range: unknown
        assert_eq!(db.battery(NodeId(1)), None);
        assert_eq!(db.topology_version(), 2);
    }
}
