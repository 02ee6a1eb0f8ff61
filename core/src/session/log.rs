//! The bounded log of delivered entries a member keeps to repair others' gaps.

use alloc::collections::VecDeque;

use super::Entry;

/// The last [`super::SessionConfig::log_entries`] delivered entries, contiguous by index.
#[derive(Clone, Debug)]
pub struct Log {
    entries: VecDeque<Entry>,
    capacity: usize,
}

impl Log {
    /// An empty log of at most `capacity` entries (allocated on first use).
    pub fn new(capacity: usize) -> Self {
        Log { entries: VecDeque::new(), capacity: capacity.max(1) }
    }

    /// Appends the next delivered entry; the oldest is evicted when full. An entry that does
    /// not follow the last one starts the log afresh (a member's history starts at its join).
    pub fn push(&mut self, entry: Entry) {
        if self.entries.back().is_some_and(|last| last.index + 1 != entry.index) {
            self.entries.clear();
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// The entry at `index`, if still held.
    pub fn get(&self, index: u64) -> Option<&Entry> {
        let first = self.entries.front()?.index;
        let k = usize::try_from(index.checked_sub(first)?).ok()?;
        self.entries.get(k)
    }

    /// The held entries with `from <= index < to`, in order.
    pub fn range(&self, from: u64, to: u64) -> impl DoubleEndedIterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.index >= from && e.index < to)
    }

    /// Index of the oldest entry held.
    pub fn first(&self) -> Option<u64> {
        self.entries.front().map(|e| e.index)
    }

    /// Index of the newest entry held.
    pub fn last(&self) -> Option<u64> {
        self.entries.back().map(|e| e.index)
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeId;
    use crate::session::{EntryBody, Epoch, LeaveReason};

    fn entry(index: u64) -> Entry {
        let epoch = Epoch { term: 1, sequencer: NodeId(1) };
        Entry { index, epoch, body: EntryBody::Left { player: NodeId(2), reason: LeaveReason::Left } }
    }

    #[test]
    fn keeps_the_last_entries_contiguous() {
        let mut log = Log::new(3);
        (1..=5).for_each(|i| log.push(entry(i)));
        assert_eq!((log.first(), log.last(), log.len()), (Some(3), Some(5), 3));
        assert!(log.get(2).is_none());
        assert_eq!(log.get(4).map(|e| e.index), Some(4));
        assert_eq!(log.range(2, 5).map(|e| e.index).collect::<alloc::vec::Vec<_>>(), [3, 4]);
        log.push(entry(9));
        assert_eq!((log.first(), log.len()), (Some(9), 1), "a jump starts afresh");
    }
}
