//! The bounded log of delivered entries a member keeps to repair others' gaps.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::{Entry, Epoch};

/// The last [`super::SessionConfig::log_entries`] delivered entries, contiguous by index.
/// Beside each `Left` entry it keeps the player info the entry removed, so that a rebase
/// can undo it.
#[derive(Clone, Debug)]
pub struct Log {
    entries: VecDeque<Entry>,
    /// Player info removed by the `Left` entries held, by index.
    removed: VecDeque<(u64, Vec<u8>)>,
    capacity: usize,
}

impl Log {
    /// An empty log of at most `capacity` entries (allocated on first use).
    pub fn new(capacity: usize) -> Self {
        Log { entries: VecDeque::new(), removed: VecDeque::new(), capacity: capacity.max(1) }
    }

    /// Appends the next delivered entry; the oldest is evicted when full. An entry that does
    /// not follow the last one starts the log afresh (a member's history starts at its join).
    pub fn push(&mut self, entry: Entry) {
        if self.entries.back().is_some_and(|last| last.index + 1 != entry.index) {
            self.entries.clear();
            self.removed.clear();
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
            let first = self.entries.front().map_or(u64::MAX, |e| e.index);
            while self.removed.front().is_some_and(|(i, _)| *i < first) {
                self.removed.pop_front();
            }
        }
        self.entries.push_back(entry);
    }

    /// [`Log::push`] for a `Left` entry that removed a player described by `info`.
    pub(super) fn push_left(&mut self, entry: Entry, info: Vec<u8>) {
        let index = entry.index;
        self.push(entry);
        self.removed.push_back((index, info));
    }

    /// Takes the newest entry off (a rebase undoing it), with the player info it removed
    /// if it is a `Left` entry.
    pub(super) fn pop(&mut self) -> Option<(Entry, Option<Vec<u8>>)> {
        let entry = self.entries.pop_back()?;
        let info = match self.removed.back() {
            Some((i, _)) if *i == entry.index => self.removed.pop_back().map(|(_, info)| info),
            _ => None,
        };
        Some((entry, info))
    }

    /// Forgets every entry.
    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.removed.clear();
    }

    /// The epoch runs of the newest entries up to `last`, oldest first: each epoch and the
    /// index its run starts at (the oldest run starts at the oldest entry held), at most
    /// `max` runs.
    pub fn runs(&self, last: u64, max: usize) -> Vec<(Epoch, u64)> {
        let mut runs: Vec<(Epoch, u64)> = Vec::new();
        for e in self.entries.iter().rev().skip_while(|e| e.index > last) {
            if let Some(run) = runs.last_mut().filter(|run| run.0 == e.epoch) {
                run.1 = e.index;
            } else if runs.len() == max {
                break;
            } else {
                runs.push((e.epoch, e.index));
            }
        }
        runs.reverse();
        runs
    }

    /// The highest index up to which this log's history and one described by `runs`
    /// (oldest first, the last run ending at `last`) hold the same entries: the highest
    /// index at which both hold an entry of the same epoch (two histories that do agree up
    /// to it, by log matching). `Some(0)`: they share nothing and this log starts at index
    /// 1; `None`: this log cannot tell.
    pub fn fork_with(&self, runs: &[(Epoch, u64)], last: u64) -> Option<u64> {
        let ends = runs.iter().skip(1).map(|(_, first)| first - 1).chain(core::iter::once(last));
        let spans: Vec<(Epoch, u64, u64)> = runs.iter().zip(ends).map(|((e, a), b)| (*e, *a, b)).collect();
        for (epoch, a, b) in spans.into_iter().rev() {
            let mine = self.entries.iter().filter(|e| e.epoch == epoch).map(|e| e.index);
            let (lo, hi) = mine.fold((u64::MAX, 0), |(lo, hi), i| (lo.min(i), hi.max(i)));
            if hi >= lo && b.min(hi) >= a.max(lo) {
                return Some(b.min(hi));
            }
        }
        // The entry before the oldest held: its epoch is the oldest's `prev`.
        let oldest = self.entries.front()?;
        match oldest.prev {
            None => Some(0),
            Some(prev) => (Log::epoch_in(runs, last, oldest.index - 1) == Some(prev)).then_some(oldest.index - 1),
        }
    }

    /// The epoch of entry `index` in a history described by `runs` (oldest first, the last
    /// run ending at `last`), if the runs cover it.
    pub fn epoch_in(runs: &[(Epoch, u64)], last: u64, index: u64) -> Option<Epoch> {
        if index > last {
            return None;
        }
        runs.iter().rev().find(|(_, first)| *first <= index).map(|(e, _)| *e)
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
    use crate::session::{EntryBody, LeaveReason};

    fn entry_of(index: u64, term: u32) -> Entry {
        let epoch = Epoch { term, sequencer: NodeId(1) };
        let prev = (index > 1).then_some(epoch);
        Entry { index, epoch, prev, body: EntryBody::Left { player: NodeId(2), reason: LeaveReason::Left } }
    }

    fn entry(index: u64) -> Entry {
        entry_of(index, 1)
    }

    #[test]
    fn runs_describe_the_history_and_find_where_two_forked() {
        let mut log = Log::new(16);
        for (i, term) in [(1, 1), (2, 1), (3, 2), (4, 2), (5, 2), (6, 3)] {
            log.push(entry_of(i, term));
        }
        let e = |term| Epoch { term, sequencer: NodeId(1) };
        assert_eq!(log.runs(6, 8), [(e(1), 1), (e(2), 3), (e(3), 6)]);
        assert_eq!(log.runs(4, 8), [(e(1), 1), (e(2), 3)]);
        assert_eq!(log.runs(6, 2), [(e(2), 3), (e(3), 6)]);
        // Another history: term 2 from 3 to 4, then term 4 (forked after 4).
        assert_eq!(log.fork_with(&[(e(1), 1), (e(2), 3), (e(4), 5)], 7), Some(4));
        // One that holds term 1 only up to 2 and then term 5: agrees up to 2.
        assert_eq!(log.fork_with(&[(e(1), 1), (e(5), 3)], 3), Some(2));
        // Nothing in common, and this log starts at 1: share nothing.
        assert_eq!(log.fork_with(&[(e(7), 1)], 9), Some(0));
        let mut short = Log::new(2);
        (1..=4).for_each(|i| short.push(entry(i)));
        assert_eq!(short.fork_with(&[(e(7), 1)], 9), None, "a log from 3 cannot tell");
        assert_eq!(Log::new(2).fork_with(&[(e(7), 1)], 9), None, "nor can an empty one");
        let runs = [(e(1), 3), (e(2), 5)];
        assert_eq!([2, 3, 4, 5, 7, 8].map(|i| Log::epoch_in(&runs, 7, i)), [None, Some(e(1)), Some(e(1)), Some(e(2)), Some(e(2)), None]);
        // Undoing: the newest first, with the info a `Left` removed.
        let mut log = Log::new(4);
        log.push(entry(1));
        log.push_left(entry(2), b"p".to_vec());
        assert_eq!(log.pop().map(|(e, info)| (e.index, info)), Some((2, Some(b"p".to_vec()))));
        assert_eq!(log.pop().map(|(e, info)| (e.index, info)), Some((1, None)));
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
