//! Bounded duplicate cache of recently accepted message ids: a ring of the last `capacity`
//! ids plus a hash set over them. The set is sized at twice the capacity, so inserts and
//! removals in steady state rehash in place and never allocate.

use alloc::vec::Vec;

use foldhash::fast::FixedState;
use hashbrown::HashSet;

use crate::MessageId;

/// The last `capacity` accepted message ids.
#[derive(Debug)]
pub struct DuplicateCache {
    ring: Vec<MessageId>,
    next: usize,
    set: HashSet<MessageId, FixedState>,
    capacity: usize,
}

impl DuplicateCache {
    /// A cache of `capacity` ids; `seed` keys the hash so peers cannot aim collisions.
    pub fn new(capacity: usize, seed: u64) -> Self {
        DuplicateCache {
            ring: Vec::with_capacity(capacity),
            next: 0,
            set: HashSet::with_capacity_and_hasher(2 * capacity + 1, FixedState::with_seed(seed)),
            capacity,
        }
    }

    /// Whether `id` is cached.
    pub fn contains(&self, id: &MessageId) -> bool {
        self.set.contains(id)
    }

    /// Caches `id`, evicting the oldest id when full. Returns false if it was cached already.
    pub fn insert(&mut self, id: MessageId) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        if self.ring.len() < self.capacity {
            self.ring.push(id);
        } else {
            let old = core::mem::replace(&mut self.ring[self.next], id);
            self.set.remove(&old);
        }
        self.next = (self.next + 1) % self.capacity;
        true
    }

    /// Ids cached.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
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
}
