//! Flooding with duplicate suppression: per-source sequence windows, a duplicate cache, TTL,
//! and jittered, suppressible relays.
//!
//! The receive path asks [`Flood::admit`] about every multi-hop frame **before** anything
//! else is done with it; only [`Admission::New`] frames are delivered or relayed.

pub mod dupcache;
pub mod relay;
pub mod window;

use core::time::Duration;

pub use dupcache::DuplicateCache;
pub use relay::{PendingRelay, RelayTable};
pub use window::{SeqVerdict, SeqWindow};

use crate::lru::LruMap;
use crate::{Config, Instant, LinkId, MessageId};

/// What [`Flood::admit`] decided.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Admission {
    /// First time seen: process it.
    New,
    /// Seen before (cache or window).
    Duplicate,
    /// Behind the origin's window: a replay or hopelessly late.
    Stale,
}

#[derive(Clone, Copy, Debug)]
struct Source {
    window: SeqWindow,
    last: Instant,
}

/// Duplicate detection and relay scheduling state.
///
/// The per-origin windows sit in a bounded map in recency order: it grows with the
/// origins heard, up to [`Config::max_sources`], and a new origin in a full table replaces
/// the origin heard longest ago in O(1).
#[derive(Debug)]
pub struct Flood {
    sources: LruMap<Source>,
    width: u16,
    idle_reset: Duration,
    cache: DuplicateCache,
    /// Relays waiting for their jitter.
    pub relays: RelayTable,
}

impl Flood {
    /// Drops the flood state part by part (see `Node::drop_by_part`).
    pub(crate) fn drop_by_part(self, measure: &mut crate::heap_parts::MeasurePart<'_>) {
        use crate::heap_parts::part;
        let Flood { sources, cache, relays, .. } = self;
        part(measure, "flood: duplicate cache", cache);
        part(measure, "flood: sequence windows", sources);
        part(measure, "flood: relay table", relays);
    }

    /// Flood state sized by `config`.
    pub fn new(config: &Config) -> Self {
        Flood {
            sources: LruMap::new(config.max_sources, config.seed ^ 0x5eed_f100d),
            width: config.seq_window,
            idle_reset: config.node_gone_after,
            cache: DuplicateCache::new(config.duplicate_cache, config.seed ^ 0xd00b),
            relays: RelayTable::new(config.max_pending_relays),
        }
    }

    /// Whether `id` is in the duplicate cache: accepted before, so [`Flood::admit`] will call
    /// it a duplicate. Changes nothing.
    pub fn has_seen(&self, id: &MessageId) -> bool {
        self.cache.contains(id)
    }

    /// Judges a multi-hop frame received on `from` (the link and the frame's TTL as received)
    /// and records it when new. A duplicate also counts as a copy heard for a pending relay of
    /// the same frame.
    ///
    /// An origin silent for [`Config::node_gone_after`] gets a fresh window, so a restarted
    /// unsecured node is heard again (secured nodes never reuse numbers and keep windows:
    /// [`Flood::never_reset_idle_windows`]).
    pub fn admit(&mut self, now: Instant, id: MessageId, from: Option<(LinkId, u8)>) -> Admission {
        let verdict = if self.cache.contains(&id) {
            Admission::Duplicate
        } else {
            self.check_window(now, id)
        };
        match verdict {
            Admission::New => {
                self.cache.insert(id);
            }
            Admission::Duplicate => {
                if let Some((link, ttl)) = from {
                    self.relays.heard_copy(&id, link, ttl);
                }
            }
            Admission::Stale => {}
        }
        verdict
    }

    fn check_window(&mut self, now: Instant, id: MessageId) -> Admission {
        if let Some(src) = self.sources.get_mut(id.origin) {
            if now - src.last < self.idle_reset {
                src.last = now;
                return match src.window.check(id.seq, self.width) {
                    SeqVerdict::New => Admission::New,
                    SeqVerdict::Duplicate => Admission::Duplicate,
                    SeqVerdict::Stale => Admission::Stale,
                };
            }
        }
        // A new origin (evicting the one heard longest ago when full), or an idle one.
        self.sources.insert(id.origin, Source { window: SeqWindow::starting_at(id.seq), last: now });
        Admission::New
    }

    /// Keeps windows however long their origin stays silent. For secured meshes, where a
    /// restarted node resumes its persisted sequence numbers and never reuses one, so an old
    /// frame must stay a replay forever.
    pub fn never_reset_idle_windows(&mut self) {
        self.idle_reset = Duration::MAX;
    }

    /// The highest sequence number accepted from `origin`, while its window is kept (not
    /// idle for [`Config::node_gone_after`]).
    pub fn top(&self, now: Instant, origin: crate::NodeId) -> Option<u32> {
        self.sources.get(origin).filter(|s| now - s.last < self.idle_reset).map(|s| s.window.top())
    }

    /// Origins tracked.
    pub fn sources(&self) -> usize {
        self.sources.len()
    }

    /// Ids in the duplicate cache.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// Heap bytes reserved by the windows and the duplicate cache (relay buffers excluded).
    pub fn heap_bytes(&self) -> usize {
        self.sources.heap_bytes() + self.cache.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeId;

    fn id(origin: u64, seq: u32) -> MessageId {
        MessageId { origin: NodeId(origin), seq }
    }

    #[test]
    fn admits_once_and_counts_copies_for_pending_relays() {
        let mut c = Config::new(NodeId(1), 1);
        c.max_sources = 2;
        c.seq_window = 64;
        let mut f = Flood::new(&c);
        let t = Instant::from_secs(1);
        assert_eq!(f.admit(t, id(7, 10), Some((LinkId(1), 5))), Admission::New);
        f.relays.schedule(id(7, 10), t, t, Some(LinkId(1)), 4, b"x").unwrap();
        assert_eq!(f.admit(t, id(7, 10), Some((LinkId(2), 5))), Admission::Duplicate);
        assert_eq!(f.relays.pop_due(t).unwrap().copies, 1);
        assert_eq!(f.admit(t, id(7, 10 + 64), None), Admission::New);
        assert_eq!(f.admit(t, id(7, 9), None), Admission::Stale);
        // A third origin evicts the least recently heard one.
        assert_eq!(f.admit(t, id(8, 1), None), Admission::New);
        assert_eq!(f.admit(t + Duration::from_secs(1), id(9, 1), None), Admission::New);
        assert_eq!(f.sources(), 2);
    }

    #[test]
    fn idle_origins_get_a_fresh_window() {
        let c = Config::new(NodeId(1), 1);
        let mut f = Flood::new(&c);
        assert_eq!(f.admit(Instant::ZERO, id(7, 1000), None), Admission::New);
        assert_eq!(f.admit(Instant::from_secs(1), id(7, 5), None), Admission::Stale);
        assert_eq!(f.admit(Instant::from_secs(1) + c.node_gone_after, id(7, 5), None), Admission::New);
    }
}
