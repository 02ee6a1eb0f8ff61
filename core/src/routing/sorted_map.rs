//! [`SortedMap`]: a map kept as one vector sorted by key.
//!
//! The link-state database holds one entry per origin of the mesh, looked up by binary
//! search and iterated in ascending id order (the order the graph is built in); the link
//! predictor one per link of this node. A `BTreeMap`
//! of the same entries spends about twice the bytes on half-full nodes; this vector grows
//! by a quarter at a time (amortised O(1) growth, at most a quarter unused) and an insert or
//! removal of an origin, which is rare, shifts the entries after it.

use alloc::vec::Vec;

/// A map from `K` to `V`, sorted by key. See the [module documentation](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SortedMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap { entries: Vec::new() }
    }
}

impl<K: Ord + Copy, V> SortedMap<K, V> {
    fn find(&self, key: K) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&key, |e| e.0)
    }

    /// The value of `key`.
    pub(crate) fn get(&self, key: K) -> Option<&V> {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    /// The value of `key`, mutably.
    pub(crate) fn get_mut(&mut self, key: K) -> Option<&mut V> {
        self.find(key).ok().map(|i| &mut self.entries[i].1)
    }

    /// Sets the value of `key`; returns the previous one.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(key) {
            Ok(i) => Some(core::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.insert_at(i, key, value);
                None
            }
        }
    }

    /// The value of `key`, inserted as `make()` first if missing.
    pub(crate) fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(key) {
            Ok(i) => i,
            Err(i) => {
                self.insert_at(i, key, make());
                i
            }
        };
        &mut self.entries[i].1
    }

    fn insert_at(&mut self, i: usize, key: K, value: V) {
        if self.entries.len() == self.entries.capacity() {
            self.entries.reserve_exact((self.entries.len() / 4).max(4));
        }
        self.entries.insert(i, (key, value));
    }

    /// Removes `key`; returns its value.
    pub(crate) fn remove(&mut self, key: K) -> Option<V> {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// Entries by ascending key.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (K, &V)> + '_ {
        self.entries.iter().map(|(k, v)| (*k, v))
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeId;
    use alloc::collections::BTreeMap;

    /// Same answers as a `BTreeMap` through a seeded mix of inserts, removals and lookups.
    #[test]
    fn behaves_like_a_btree_map() {
        let mut map = SortedMap::default();
        let mut model = BTreeMap::new();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for step in 0..5_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = NodeId(1 + x % 64);
            match (x >> 32) % 4 {
                0 => assert_eq!(map.remove(key), model.remove(&key)),
                1 => assert_eq!(map.get(key), model.get(&key)),
                2 => assert_eq!(*map.get_or_insert_with(key, || step), *model.entry(key).or_insert(step)),
                _ => assert_eq!(map.insert(key, step), model.insert(key, step)),
            }
            if let Some(v) = map.get_mut(key) {
                *v += 1;
                *model.get_mut(&key).unwrap() += 1;
            }
            assert_eq!(map.len(), model.len());
            assert_eq!(map.is_empty(), model.is_empty());
        }
        assert!(map.iter().map(|(k, v)| (k, *v)).eq(model.iter().map(|(k, v)| (*k, *v))));
        assert!(map.entries.capacity() <= map.len() + map.len() / 4 + 4, "grown a quarter at a time");
    }
}
