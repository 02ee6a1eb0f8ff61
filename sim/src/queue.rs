//! The event queue: a binary heap ordered by (time, sequence number).
//!
//! The sequence number is assigned when an event is scheduled, so two events at the same
//! virtual instant run in the order they were scheduled. That tiebreak is what makes a run
//! reproducible: nothing depends on heap internals or on memory addresses.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

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

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest first.
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Pending events, earliest first, ties in scheduling order.
#[derive(Default)]
pub struct EventQueue {
    heap: BinaryHeap<Entry>,
    next_seq: u64,
}

impl std::fmt::Debug for EventQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue").field("len", &self.heap.len()).field("next_seq", &self.next_seq).finish()
    }
}

impl EventQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedules `event` at `at` microseconds.
    pub fn push(&mut self, at: u64, event: SimEvent) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { at, seq, event });
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(u64, SimEvent)> {
        self.heap.pop().map(|e| (e.at, e.event))
    }

    /// The instant of the earliest event.
    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.at)
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
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
}
