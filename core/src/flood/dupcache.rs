//! Bounded duplicate cache of recently accepted message ids: a ring of the last `capacity`
//! ids plus an open-addressing index of ring positions over them.
//!
//! Nothing is allocated up front: the ring grows (doubling, never beyond the capacity) with
//! the ids cached, and the index (linear probing over 2-byte ring positions, not copies of
//! the ids; at most half full; deletion by backward shift, so no tombstones) doubles with
//! it. Once the ring is full, inserting and evicting allocate nothing. A full cache of
//! `capacity` ids holds `12 × capacity` bytes of ring and at most `4 × capacity` of index
//! (3 KiB + 1 KiB at the default 256). The capacity is at most [`MAX_CAPACITY`], so that a
//! ring position fits the index's 16 bits.

use alloc::vec;
use alloc::vec::Vec;
use core::hash::BuildHasher;

use foldhash::fast::FixedState;

use crate::MessageId;

/// A cached id, packed (12 bytes rather than `MessageId`'s 16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, packed(4))]
struct Packed {
    origin: u64,
    seq: u32,
}

impl Packed {
    fn of(id: &MessageId) -> Self {
        Packed { origin: id.origin.0, seq: id.seq }
    }
}

/// An empty index cell.
const EMPTY: u16 = u16::MAX;

/// Largest capacity of a [`DuplicateCache`] (ring positions are 16-bit, one value marks an
/// empty cell).
pub const MAX_CAPACITY: usize = EMPTY as usize;

/// The last `capacity` accepted message ids.
#[derive(Debug)]
pub struct DuplicateCache {
    ring: Vec<Packed>,
    next: usize,
    /// Ring positions by hash, linear probing; its length is zero or a power of two at
    /// least twice the ids held.
    index: Vec<u16>,
    hasher: FixedState,
    capacity: usize,
}

impl DuplicateCache {
    /// A cache of `capacity` ids (clamped to `1..=`[`MAX_CAPACITY`]); `seed` keys the hash so
    /// peers cannot aim collisions.
    pub fn new(capacity: usize, seed: u64) -> Self {
        DuplicateCache {
            ring: Vec::new(),
            next: 0,
            index: Vec::new(),
            hasher: FixedState::with_seed(seed),
            capacity: capacity.clamp(1, MAX_CAPACITY),
        }
    }

    fn home(&self, key: Packed) -> usize {
        let Packed { origin, seq } = key;
        (self.hasher.hash_one((origin, seq)) as usize) & (self.index.len() - 1)
    }

    /// The index cell holding `key`, if cached.
    fn find(&self, key: Packed) -> Option<usize> {
        if self.index.is_empty() {
            return None;
        }
        let mask = self.index.len() - 1;
        let mut i = self.home(key);
        loop {
            let pos = self.index[i];
            if pos == EMPTY {
                return None;
            }
            if self.ring[pos as usize] == key {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Whether `id` is cached.
    pub fn contains(&self, id: &MessageId) -> bool {
        self.find(Packed::of(id)).is_some()
    }

    /// Caches `id`, evicting the oldest id when full. Returns false if it was cached already.
    pub fn insert(&mut self, id: MessageId) -> bool {
        let key = Packed::of(&id);
        if self.find(key).is_some() {
            return false;
        }
        let pos = self.next;
        if self.ring.len() < self.capacity {
            if self.ring.len() == self.ring.capacity() {
                let more = self.ring.len().max(16).min(self.capacity - self.ring.len());
                self.ring.reserve_exact(more);
            }
            self.ring.push(key);
            if 2 * self.ring.len() > self.index.len() {
                self.grow_index();
            } else {
                self.place(pos);
            }
        } else {
            let cell = self.find(self.ring[pos]).expect("every ring entry is indexed");
            self.remove_cell(cell);
            self.ring[pos] = key;
            self.place(pos);
        }
        self.next = (self.next + 1) % self.capacity;
        true
    }

    /// Puts ring position `pos` into the index (there is room).
    fn place(&mut self, pos: usize) {
        let mask = self.index.len() - 1;
        let mut i = self.home(self.ring[pos]);
        while self.index[i] != EMPTY {
            i = (i + 1) & mask;
        }
        self.index[i] = pos as u16;
    }

    /// Doubles the index (at least 32 cells) and indexes every ring entry again.
    fn grow_index(&mut self) {
        let cells = (2 * self.ring.len()).next_power_of_two().max(32);
        self.index = vec![EMPTY; cells];
        for pos in 0..self.ring.len() {
            self.place(pos);
        }
    }

    /// Empties index cell `i`, shifting later cells of the probe run back (no tombstones).
    fn remove_cell(&mut self, mut i: usize) {
        let mask = self.index.len() - 1;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let pos = self.index[j];
            if pos == EMPTY {
                break;
            }
            let home = self.home(self.ring[pos as usize]);
            // Move the entry at `j` back to `i` unless its home lies cyclically in (i, j].
            let stays = if i <= j { i < home && home <= j } else { i < home || home <= j };
            if !stays {
                self.index[i] = pos;
                i = j;
            }
        }
        self.index[i] = EMPTY;
    }

    /// Ids cached.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Heap bytes reserved (ring and index).
    pub fn heap_bytes(&self) -> usize {
        self.ring.capacity() * core::mem::size_of::<Packed>() + self.index.capacity() * 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeId;

    fn id(seq: u32) -> MessageId {
        MessageId { origin: NodeId(1), seq }
    }

    #[test]
    fn remembers_the_last_capacity_ids() {
        let mut c = DuplicateCache::new(3, 9);
        for s in 0..3 {
            assert!(c.insert(id(s)));
        }
        assert!(!c.insert(id(1)));
        assert!(c.insert(id(3)));
        assert!(!c.contains(&id(0)), "oldest evicted");
        assert!(c.contains(&id(1)) && c.contains(&id(2)) && c.contains(&id(3)));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn matches_a_ring_model_and_grows_only_to_its_capacity() {
        let cap = 100;
        let mut c = DuplicateCache::new(cap, 4);
        let mut model: alloc::collections::VecDeque<MessageId> = alloc::collections::VecDeque::new();
        let mut x: u64 = 5;
        for _ in 0..10_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let m = MessageId { origin: NodeId((x >> 60) + 1), seq: ((x >> 32) % 300) as u32 };
            let fresh = !model.contains(&m);
            assert_eq!(c.contains(&m), !fresh);
            assert_eq!(c.insert(m), fresh);
            if fresh {
                if model.len() == cap {
                    model.pop_front();
                }
                model.push_back(m);
            }
            assert_eq!(c.len(), model.len());
        }
        assert!(c.ring.capacity() <= cap);
        assert_eq!(c.index.len(), 256, "the index stays at twice the capacity, rounded up");
        assert!(model.iter().all(|m| c.contains(m)));
    }

    #[test]
    fn the_largest_capacity_keeps_every_position_apart_from_the_empty_mark() {
        let mut c = DuplicateCache::new(usize::MAX, 2);
        assert_eq!(c.capacity, MAX_CAPACITY);
        let total = MAX_CAPACITY as u32 + 1000;
        for s in 0..total {
            assert!(c.insert(id(s)));
        }
        assert_eq!(c.len(), MAX_CAPACITY);
        assert!((0..1000).all(|s| !c.contains(&id(s))), "the oldest 1,000 were evicted");
        assert!((1000..total).all(|s| c.contains(&id(s))), "the last MAX_CAPACITY are cached");
        assert_eq!(c.heap_bytes(), MAX_CAPACITY * 12 + (1 << 17) * 2);
    }

    #[test]
    fn nothing_is_allocated_before_use() {
        let c = DuplicateCache::new(1024, 1);
        assert_eq!(c.heap_bytes(), 0);
    }
}
