//! The nouns of catching up: a player's own catch-up (the snapshot it asks for and
//! assembles), and a provider's snapshot and the players waiting for it.

use alloc::vec::Vec;

use super::{Epoch, MAX_CHUNKS, SessionEvent};
use crate::{Instant, NodeId};

/// Why [`super::Session::provide_snapshot`] refused a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// This node is not a player whose game has caught up: it holds no state to provide.
    NotPlaying,
    /// Larger than [`super::SessionConfig::max_snapshot`] (or snapshots are off: 0).
    TooLarge,
    /// The index is beyond the last entry handed to the game.
    Ahead,
    /// The index is 0, or so old that this node no longer knows its entry's epoch (it
    /// holds the last [`super::SessionConfig::log_entries`]): provide the current state.
    TooOld,
}

impl core::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            SnapshotError::NotPlaying => "not a player whose game has caught up",
            SnapshotError::TooLarge => "snapshot larger than the session's max_snapshot",
            SnapshotError::Ahead => "snapshot index beyond the last entry handed to the game",
            SnapshotError::TooOld => "snapshot index older than the entries this node still knows",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SnapshotError {}

/// Chunks a snapshot of `total` bytes travels in, `size` bytes each but the last (at least one).
pub(super) fn chunks(total: usize, size: usize) -> usize {
    total.div_ceil(size.max(1)).max(1)
}

/// The bytes of chunk `number` of a snapshot: its range in the whole.
pub(super) fn chunk_range(total: usize, size: usize, number: usize) -> core::ops::Range<usize> {
    let start = (number * size).min(total);
    start..(start + size).min(total)
}

/// A snapshot arriving in chunks.
#[derive(Clone, Debug)]
pub(super) struct Assembly {
    /// Who sends it.
    pub(super) from: NodeId,
    pub(super) index: u64,
    pub(super) tail: Epoch,
    pub(super) size: usize,
    pub(super) data: Vec<u8>,
    /// Chunks still missing, one bit each.
    pub(super) missing: u64,
    /// The last chunk the latest request will bring: when it arrives, the rest is asked for.
    pub(super) window_end: usize,
    /// Retries since a chunk last arrived.
    pub(super) stalls: u32,
}

impl Assembly {
    pub(super) fn new(from: NodeId, index: u64, tail: Epoch, total: usize, size: usize, window: usize) -> Self {
        let n = chunks(total, size);
        let missing = if n == MAX_CHUNKS { u64::MAX } else { (1u64 << n) - 1 };
        Assembly { from, index, tail, size, data: alloc::vec![0; total], missing, window_end: window.min(n) - 1, stalls: 0 }
    }

    /// Whether chunk `number` of this shape belongs here (same snapshot, in range, the right
    /// length).
    pub(super) fn fits(&self, index: u64, tail: Epoch, total: usize, size: usize, number: usize, len: usize) -> bool {
        index == self.index
            && tail == self.tail
            && total == self.data.len()
            && size == self.size
            && number < chunks(total, size)
            && chunk_range(total, size, number).len() == len
    }

    /// Takes chunk `number`; false if it was here already.
    pub(super) fn put(&mut self, number: usize, data: &[u8]) -> bool {
        let bit = 1u64 << number;
        if self.missing & bit == 0 {
            return false;
        }
        let range = chunk_range(self.data.len(), self.size, number);
        self.data[range].copy_from_slice(data);
        self.missing &= !bit;
        self.stalls = 0;
        true
    }

    /// The next `window` missing chunks (the mask asked for) and the last of them.
    pub(super) fn next_window(&self, window: usize) -> (u64, usize) {
        let mut mask = 0u64;
        let mut last = 0;
        let mut left = self.missing;
        for _ in 0..window {
            if left == 0 {
                break;
            }
            let n = left.trailing_zeros() as usize;
            mask |= 1 << n;
            last = n;
            left &= left - 1;
        }
        (mask, last)
    }
}

/// A player catching up: its game's state comes from a snapshot as of `after` or later,
/// then the entries after the snapshot, which it holds meanwhile without handing them out.
#[derive(Clone, Debug)]
pub(super) struct Catchup {
    /// The oldest index the snapshot may be as of (the entry before this node's history).
    pub(super) after: u64,
    /// Players asked so far (who is asked rotates).
    pub(super) asks: u32,
    /// Players that answered "none here" since the timer last ran: the next is asked at
    /// once until every one has been, then the timer paces the asking.
    pub(super) refusals: u32,
    /// When it asks again.
    pub(super) retry_at: Instant,
    /// When it gives up ([`SessionEvent::NoSnapshot`]).
    pub(super) deadline: Instant,
    pub(super) assembly: Option<Assembly>,
    /// Events that arose while catching up, each with the index of the entry it follows:
    /// handed out after that entry once the game has caught up.
    pub(super) deferred: Vec<(u64, SessionEvent)>,
}

/// A snapshot this node's application provided, served to players catching up.
#[derive(Clone, Debug)]
pub(super) struct Served {
    pub(super) index: u64,
    pub(super) tail: Epoch,
    pub(super) data: Vec<u8>,
    /// When it is dropped (refreshed at each request it serves).
    pub(super) until: Instant,
}

/// Players waiting for this node's application to provide a snapshot.
#[derive(Clone, Debug)]
pub(super) struct Wanted {
    /// Each player and the oldest index its snapshot may be as of.
    pub(super) from: Vec<(NodeId, u64)>,
    /// When they are told there is none.
    pub(super) until: Instant,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_snapshot_and_windows_ask_for_the_missing_ones() {
        assert_eq!((chunks(0, 512), chunks(1, 512), chunks(512, 512), chunks(513, 512)), (1, 1, 1, 2));
        assert_eq!((chunk_range(1000, 512, 0), chunk_range(1000, 512, 1)), (0..512, 512..1000));
        assert_eq!(chunk_range(0, 512, 0), 0..0);
        let e = Epoch { term: 1, sequencer: NodeId(1) };
        let mut a = Assembly::new(NodeId(2), 5, e, 1000, 100, 4);
        assert_eq!((a.missing, a.window_end), (0x3ff, 3));
        assert!(a.fits(5, e, 1000, 100, 9, 100) && !a.fits(5, e, 1000, 100, 10, 100) && !a.fits(5, e, 1000, 100, 3, 99));
        assert!(a.put(0, &[1; 100]) && !a.put(0, &[1; 100]));
        assert!(a.put(2, &[3; 100]));
        assert_eq!(a.next_window(3), (0b11010, 4));
        let full = Assembly::new(NodeId(2), 5, e, 64 * 10, 10, 16);
        assert_eq!(full.missing, u64::MAX);
    }
}
