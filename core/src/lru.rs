//! A bounded map from [`NodeId`] to a value, in least-recently-used order, that grows on
//! demand up to its cap and evicts the least recently used entry in O(1).
//!
//! The per-origin tables of the node (the flood's sequence windows, the node registry) use
//! it. Entries live in a slab (`Vec`) linked into a recency list by `u32` indices; a
//! [`HashTable`] of slab indices, keyed by a seeded hash of the node id, finds them.
//!
//! **Memory.** Nothing is allocated up front. The slab grows (by a quarter) to the largest
//! number of entries ever held, never beyond the cap; the index keeps room for twice the
//! entries it holds, so the tombstones that removals leave are cleared by rehashing in place
//! and an insert at an earlier peak never allocates. Steady state (as many origins as
//! before, evictions included) allocates nothing.
//!
//! **Determinism.** The order of [`LruMap::iter`] is the slab order, which depends only on
//! the sequence of operations; eviction picks the entry touched longest ago.

use alloc::vec::Vec;
use core::hash::BuildHasher;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use crate::NodeId;

const NIL: u32 = u32::MAX;

#[derive(Debug)]
struct Slot<V> {
    key: NodeId,
    /// Towards the most recently used end.
    prev: u32,
    /// Towards the least recently used end.
    next: u32,
    value: V,
}

/// A bounded LRU map keyed by node id. See the [module documentation](self).
#[derive(Debug)]
pub(crate) struct LruMap<V> {
    slots: Vec<Slot<V>>,
    index: HashTable<u32>,
    hasher: FixedState,
    /// Most recently used slot.
    head: u32,
    /// Least recently used slot: the next victim.
    tail: u32,
    cap: usize,
}

impl<V> LruMap<V> {
    /// An empty map of at most `cap` entries (at least one, at most `u32::MAX - 1`); `seed`
    /// keys the hash so peers cannot aim collisions.
    pub(crate) fn new(cap: usize, seed: u64) -> Self {
        LruMap {
            slots: Vec::new(),
            index: HashTable::new(),
            hasher: FixedState::with_seed(seed),
            head: NIL,
            tail: NIL,
            cap: cap.clamp(1, NIL as usize - 1),
        }
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no entry is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn find(&self, key: NodeId) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        self.index.find(hash, |&i| self.slots[i as usize].key == key).copied()
    }

    /// The value of `key`, without touching its recency.
    pub(crate) fn get(&self, key: NodeId) -> Option<&V> {
        self.find(key).map(|i| &self.slots[i as usize].value)
    }

    /// The value of `key`, marked most recently used.
    pub(crate) fn get_mut(&mut self, key: NodeId) -> Option<&mut V> {
        let i = self.find(key)?;
        self.touch(i);
        Some(&mut self.slots[i as usize].value)
    }

    /// The value of `key`, marked most recently used; a missing key is inserted with
    /// `make()` first (evicting the least recently used entry of a full map).
    pub(crate) fn get_or_insert_with(&mut self, key: NodeId, make: impl FnOnce() -> V) -> &mut V {
        match self.find(key) {
            Some(i) => {
                self.touch(i);
                &mut self.slots[i as usize].value
            }
            None => self.insert(key, make()).0,
        }
    }

    /// Stores `value` under `key` as the most recently used entry and returns it. A key
    /// already present gets the new value; a new key in a full map takes the place of the
    /// least recently used entry, which is returned as the second element.
    pub(crate) fn insert(&mut self, key: NodeId, value: V) -> (&mut V, Option<(NodeId, V)>) {
        if let Some(i) = self.find(key) {
            self.touch(i);
            let slot = &mut self.slots[i as usize];
            slot.value = value;
            return (&mut slot.value, None);
        }
        if self.slots.len() >= self.cap {
            let victim = self.tail;
            let old_key = self.slots[victim as usize].key;
            let hash = self.hasher.hash_one(old_key);
            if let Ok(entry) = self.index.find_entry(hash, |&i| i == victim) {
                entry.remove();
            }
            self.insert_index(key, victim);
            self.touch(victim);
            let slot = &mut self.slots[victim as usize];
            slot.key = key;
            let old = core::mem::replace(&mut slot.value, value);
            return (&mut slot.value, Some((old_key, old)));
        }
        let i = self.slots.len() as u32;
        if self.slots.len() == self.slots.capacity() {
            // Grow by a quarter (at most a quarter unused), never beyond the cap.
            let more = (self.slots.len() / 4).max(4).min(self.cap - self.slots.len());
            self.slots.reserve_exact(more);
        }
        self.slots.push(Slot { key, prev: NIL, next: self.head, value });
        if self.head != NIL {
            self.slots[self.head as usize].prev = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
        self.insert_index(key, i);
        (&mut self.slots[i as usize].value, None)
    }

    fn insert_index(&mut self, key: NodeId, i: u32) {
        let Self { slots, index, hasher, .. } = self;
        let rehash = |&j: &u32| hasher.hash_one(slots[j as usize].key);
        // Room for twice the entries: removals' tombstones are then rehashed in place.
        let want = 2 * (index.len() + 1);
        if index.capacity() < want {
            index.reserve(want - index.len(), rehash);
        }
        index.insert_unique(hasher.hash_one(key), i, rehash);
    }

    /// Moves slot `i` to the most recently used end.
    fn touch(&mut self, i: u32) {
        if self.head == i {
            return;
        }
        let (prev, next) = (self.slots[i as usize].prev, self.slots[i as usize].next);
        // `i` is not the head, so it has a predecessor.
        self.slots[prev as usize].next = next;
        if next != NIL {
            self.slots[next as usize].prev = prev;
        } else {
            self.tail = prev;
        }
        let slot = &mut self.slots[i as usize];
        slot.prev = NIL;
        slot.next = self.head;
        self.slots[self.head as usize].prev = i;
        self.head = i;
    }

    /// Entries in slab order (deterministic, not recency order).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (NodeId, &V)> {
        self.slots.iter().map(|s| (s.key, &s.value))
    }

    /// The key that the next insert of a new key into a full map would evict.
    #[cfg(test)]
    pub(crate) fn least_recent(&self) -> Option<NodeId> {
        (self.tail != NIL).then(|| self.slots[self.tail as usize].key)
    }

    /// Heap bytes reserved (slab and index), for memory accounting.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * core::mem::size_of::<Slot<V>>() + self.index.allocation_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;

    #[test]
    fn evicts_the_least_recently_used_and_keeps_the_cap() {
        let mut m = LruMap::new(3, 7);
        for k in 1..=3 {
            assert!(m.insert(NodeId(k), k * 10).1.is_none());
        }
        assert_eq!(m.get_mut(NodeId(1)), Some(&mut 10)); // 2 is now the oldest
        assert_eq!(m.least_recent(), Some(NodeId(2)));
        let (v, evicted) = m.insert(NodeId(4), 40);
        assert_eq!(*v, 40);
        assert_eq!(evicted, Some((NodeId(2), 20)));
        assert_eq!(m.len(), 3);
        assert!(m.get(NodeId(2)).is_none());
        assert_eq!(m.get(NodeId(3)), Some(&30));
        // Replacing a present key evicts nothing and refreshes it.
        assert!(m.insert(NodeId(3), 31).1.is_none());
        assert_eq!(m.least_recent(), Some(NodeId(1)));
    }

    #[test]
    fn matches_a_reference_model_under_churn() {
        // Reference: key -> last-touch counter; the victim is the smallest counter.
        let cap = 17;
        let mut m = LruMap::new(cap, 3);
        let mut model: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        let mut x: u64 = 99;
        for clock in 0..20_000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let key = (x >> 33) % 40;
            if (x >> 20) % 3 == 0 {
                let got = m.get_mut(NodeId(key)).map(|v| *v);
                let want = model.get_mut(&key).map(|e| {
                    e.0 = clock;
                    e.1
                });
                assert_eq!(got, want);
            } else {
                let expect_victim = if !model.contains_key(&key) && model.len() == cap {
                    let (&k, _) = model.iter().min_by_key(|(_, e)| e.0).unwrap();
                    Some((k, model.remove(&k).unwrap().1))
                } else {
                    None
                };
                let (_, victim) = m.insert(NodeId(key), clock);
                assert_eq!(victim.map(|(k, v)| (k.0, v)), expect_victim);
                model.insert(key, (clock, clock));
            }
            assert_eq!(m.len(), model.len());
            assert!(m.len() <= cap && m.slots.capacity() <= cap);
        }
        let mut keys: alloc::vec::Vec<u64> = m.iter().map(|(k, _)| k.0).collect();
        keys.sort_unstable();
        assert_eq!(keys, model.keys().copied().collect::<alloc::vec::Vec<_>>());
    }

    #[test]
    fn grows_with_use_and_not_up_front() {
        let mut m: LruMap<[u8; 32]> = LruMap::new(1000, 1);
        assert_eq!(m.heap_bytes(), 0);
        for k in 0..50 {
            m.insert(NodeId(k), [0; 32]);
        }
        assert!(m.heap_bytes() < 100 * 48, "{} bytes for 50 entries", m.heap_bytes());
    }
}
