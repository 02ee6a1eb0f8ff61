//! The event queue: a monotone radix heap ordered by (time, sequence number).
//!
//! The sequence number is assigned when an event is scheduled, so two events at the same
//! virtual instant run in the order they were scheduled. That tiebreak is what makes a run
//! reproducible: nothing depends on queue internals or on memory addresses.
//!
//! Virtual time never goes back, so the queue is a *radix heap* rather than a binary heap.
//! Events at the time of the last event taken out (`last`) wait in `current`, in sequence
//! order. A later event goes into a bucket named by the highest 6-bit digit in which its
//! time differs from `last` (the level) and its own value of that digit (the slot); lower
//! slots of a level and lower levels hold earlier events. Taking out an event when
//! `current` is empty finds the lowest non-empty bucket through two bitmasks, moves `last`
//! to its earliest time and refiles that bucket into `current` and strictly lower levels.
//! A push is O(1) and an event is refiled at most once per level it passes (two or three
//! for the horizons of a mesh: connection intervals, jitter, heartbeats), where the binary
//! heap it replaces sifted 48-byte entries through about log₂(queue length) levels on each
//! push and pop (the heap was ~20 % of `hour50`'s CPU). The precondition is the monotony
//! the engine already has: nothing is scheduled before the current event.

use std::collections::VecDeque;

/// Something that happens at an instant.
#[derive(Debug)]
pub enum SimEvent {
    /// A node's `Output::Timeout` deadline; stale if the node rescheduled since.
    NodeTimer {
        /// Node index.
        node: u32,
    },
    /// A connection event of a link.
    ConnectionEvent {
        /// Link index.
        link: u32,
    },
    /// A PDU reaches the receiver of a link at the end of its exchange.
    Arrival {
        /// Link index.
        link: u32,
        /// Receiving end: 0 for `a`, 1 for `b`.
        to: u8,
        /// The PDU.
        bytes: Vec<u8>,
    },
    /// The MTU exchange of a link finished.
    MtuExchanged {
        /// Link index.
        link: u32,
    },
    /// The supervision timeout of a link whose signal became unusable may have run out.
    Supervision {
        /// Link index.
        link: u32,
    },
    /// A node's advertising/scanning round.
    Discovery {
        /// Node index.
        node: u32,
    },
    /// A node's application sends its next message.
    AppSend {
        /// Node index.
        node: u32,
    },
    /// A player joins the game session (at its scheduled time, or as its app starts after
    /// a restart or rejoin).
    SessionJoin {
        /// Node index.
        node: u32,
        /// After a power-on (else the scheduled join).
        restart: bool,
    },
    /// A player submits its next game event.
    SessionSubmit {
        /// Node index.
        node: u32,
    },
    /// A player's game answers a snapshot request: it provides its state.
    SessionProvide {
        /// Node index.
        node: u32,
    },
    /// Scripted fault number `index` of the fault plan.
    Fault {
        /// Index into the engine's fault plan.
        index: u32,
    },
    /// Positions advance and link signals are re-evaluated.
    MobilityTick,
    /// Memory, connectivity and time-series samples.
    Sample,
    /// A Byzantine node's periodic replay or forgery.
    Byzantine {
        /// Index into the scenario's Byzantine list.
        index: u32,
    },
    /// The next probe of a scripted restart (`crate::restarts`).
    RestartProbe {
        /// Index into the scenario's restart list.
        index: u32,
    },
    /// A connection-parameter update of a link reaches its instant.
    ConnectionUpdate {
        /// Link index.
        link: u32,
        /// The new connection interval, µs.
        interval_us: u64,
    },
}

struct Entry {
    at: u64,
    seq: u64,
    event: SimEvent,
}

/// Bits per digit of a time: each level of buckets splits on one 6-bit digit.
const DIGIT_BITS: u32 = 6;
/// Buckets per level (one per digit value).
const SLOTS: usize = 1 << DIGIT_BITS;
/// Levels: enough digits for a `u64` time.
const LEVELS: usize = u64::BITS.div_ceil(DIGIT_BITS) as usize;
// A level's occupancy is one `u64` bitmask, the level set one `u16`.
const _: () = assert!(SLOTS <= 64 && LEVELS <= 16);

/// Pending events, earliest first, ties in scheduling order.
pub struct EventQueue {
    /// Events at `last`, in sequence order.
    current: VecDeque<Entry>,
    /// `LEVELS × SLOTS` buckets, unordered; see [`bucket_of`].
    buckets: Vec<Vec<Entry>>,
    /// Per level, bit `s` set when the level's bucket `s` is not empty.
    occupied: [u64; LEVELS],
    /// Bit `l` set when level `l` has a non-empty bucket.
    levels: u16,
    /// The time of the last event taken out (the queue's floor), µs.
    last: u64,
    len: usize,
    next_seq: u64,
}

impl Default for EventQueue {
    fn default() -> Self {
        Self {
            current: VecDeque::new(),
            buckets: (0..LEVELS * SLOTS).map(|_| Vec::new()).collect(),
            occupied: [0; LEVELS],
            levels: 0,
            last: 0,
            len: 0,
            next_seq: 0,
        }
    }
}

impl std::fmt::Debug for EventQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue").field("len", &self.len).field("next_seq", &self.next_seq).finish()
    }
}

/// `(level, slot)` of an event at `at` when the floor is `last` (`at > last`): the level is
/// the highest 6-bit digit in which they differ, the slot that digit of `at` (greater than
/// `last`'s, so lower slots of a level hold earlier events).
fn bucket_of(at: u64, last: u64) -> (usize, usize) {
    let level = (u64::BITS - 1 - (at ^ last).leading_zeros()) / DIGIT_BITS;
    let slot = (at >> (level * DIGIT_BITS)) as usize & (SLOTS - 1);
    (level as usize, slot)
}

impl EventQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedules `event` at `at` microseconds.
    ///
    /// # Panics
    ///
    /// If `at` is earlier than the time of the last event taken out: virtual time never
    /// goes back, and an event in the past would break the run's order.
    pub fn push(&mut self, at: u64, event: SimEvent) {
        assert!(at >= self.last, "event scheduled at {at} µs, before the current time {} µs", self.last);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.len += 1;
        let entry = Entry { at, seq, event };
        if at == self.last {
            // Every event already at `last` was scheduled earlier: sequence order holds.
            self.current.push_back(entry);
        } else {
            self.file(entry);
        }
    }

    /// Puts an event later than `last` into its bucket.
    fn file(&mut self, entry: Entry) {
        let (level, slot) = bucket_of(entry.at, self.last);
        self.buckets[level * SLOTS + slot].push(entry);
        self.occupied[level] |= 1 << slot;
        self.levels |= 1 << level;
    }

    /// Moves the floor to the earliest pending time and fills `current` with its events, in
    /// sequence order. Does nothing if `current` has events or the queue is empty.
    fn refill(&mut self) {
        if !self.current.is_empty() || self.levels == 0 {
            return;
        }
        // The lowest non-empty bucket of the lowest non-empty level holds the earliest events.
        let level = self.levels.trailing_zeros() as usize;
        let slot = self.occupied[level].trailing_zeros() as usize;
        self.occupied[level] &= !(1 << slot);
        if self.occupied[level] == 0 {
            self.levels &= !(1 << level);
        }
        let mut bucket = std::mem::take(&mut self.buckets[level * SLOTS + slot]);
        let last = bucket.iter().map(|e| e.at).min().expect("occupied bucket is not empty");
        self.last = last;
        for entry in bucket.drain(..) {
            if entry.at == last {
                self.current.push_back(entry);
            } else {
                // Into a lower level: `entry.at` and `last` agree on digit `level` and above.
                self.file(entry);
            }
        }
        // Keep the bucket's allocation for the next time.
        self.buckets[level * SLOTS + slot] = bucket;
        // Events at one instant may have reached the bucket in any order (some directly,
        // some redistributed from higher levels): restore scheduling order.
        let events = self.current.make_contiguous();
        if !events.is_sorted_by_key(|e| e.seq) {
            events.sort_unstable_by_key(|e| e.seq);
        }
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(u64, SimEvent)> {
        self.refill();
        let e = self.current.pop_front()?;
        self.len -= 1;
        Some((e.at, e.event))
    }

    /// Removes and returns the earliest event if it is at or before `limit` µs.
    pub fn pop_until(&mut self, limit: u64) -> Option<(u64, SimEvent)> {
        self.refill();
        if self.current.front()?.at > limit {
            return None;
        }
        self.pop()
    }

    /// The instant of the earliest event.
    pub fn peek_time(&self) -> Option<u64> {
        if let Some(e) = self.current.front() {
            return Some(e.at);
        }
        let level = self.levels.trailing_zeros() as usize;
        let slot = self.occupied.get(level)?.trailing_zeros() as usize;
        self.buckets[level * SLOTS + slot].iter().map(|e| e.at).min()
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Events scheduled since the start.
    pub fn scheduled(&self) -> u64 {
        self.next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_then_scheduling_order() {
        let mut q = EventQueue::new();
        q.push(20, SimEvent::Discovery { node: 1 });
        q.push(10, SimEvent::Discovery { node: 2 });
        q.push(20, SimEvent::Discovery { node: 3 });
        q.push(10, SimEvent::Discovery { node: 4 });
        let order: Vec<u32> = std::iter::from_fn(|| q.pop())
            .map(|(_, e)| match e {
                SimEvent::Discovery { node } => node,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, vec![2, 4, 1, 3]);
    }

    /// Against a reference ordering (sort by time, then scheduling order), with pushes
    /// interleaved with pops the way the engine does them: never before the current event,
    /// often at it, horizons from 0 to about 2^24 µs.
    #[test]
    fn matches_time_then_sequence_order_under_interleaving() {
        let mut q = EventQueue::new();
        let mut reference: Vec<(u64, u32)> = Vec::new();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut now, mut id) = (0u64, 0u32);
        let mut popped = Vec::new();
        for _ in 0..20_000 {
            for _ in 0..rand() % 3 {
                let horizon = match rand() % 4 {
                    0 => 0,
                    1 => rand() % 64,
                    2 => rand() % 20_000,
                    _ => rand() % (1 << 24),
                };
                q.push(now + horizon, SimEvent::AppSend { node: id });
                reference.push((now + horizon, id));
                id += 1;
            }
            assert_eq!(q.len(), reference.len() - popped.len());
            let Some((at, SimEvent::AppSend { node })) = q.pop() else { continue };
            assert!(at >= now);
            now = at;
            popped.push((at, node));
        }
        while let Some((at, SimEvent::AppSend { node })) = q.pop() {
            popped.push((at, node));
        }
        // Ids grow with scheduling order, so (time, id) is the required order.
        reference.sort_unstable();
        assert_eq!(popped, reference);
        assert!(q.is_empty());
        assert_eq!(q.scheduled(), u64::from(id));
    }

    #[test]
    fn peek_and_pop_until_see_the_earliest_event() {
        let mut q = EventQueue::new();
        assert_eq!(q.peek_time(), None);
        q.push(300, SimEvent::Discovery { node: 1 });
        q.push(70, SimEvent::Discovery { node: 2 });
        assert_eq!(q.peek_time(), Some(70));
        assert!(q.pop_until(69).is_none());
        assert!(matches!(q.pop_until(70), Some((70, SimEvent::Discovery { node: 2 }))));
        assert_eq!(q.peek_time(), Some(300));
        assert!(q.pop_until(299).is_none());
        assert_eq!(q.len(), 1);
    }

    #[test]
    #[should_panic(expected = "before the current time")]
    fn scheduling_in_the_past_is_refused() {
        let mut q = EventQueue::new();
        q.push(100, SimEvent::MobilityTick);
        q.pop();
        q.push(99, SimEvent::MobilityTick);
    }
}
