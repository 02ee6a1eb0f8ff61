//! The key ring: which public key speaks for which node.
//!
//! Receivers learn keys from announcements: an announcement's trailer carries the origin's
//! 32-byte Ed25519 public key; [`super::trailer::open`] checks that the key derives the
//! frame's origin id ([`super::verify_binding`]) and that the announcement's signature
//! verifies under it, and reports the key in [`super::Verified::carried_key`]. The node then
//! calls [`KeyRing::learn`]. Other signed frames (topology updates, routing control, election
//! traffic) carry no key and are verified against the ring; until a node's announcement has
//! been heard they are dropped with [`super::SecurityDrop::UnknownSigner`].
//!
//! Because ids are derived from keys, a ring entry can never be overwritten by a different
//! key for the same id: the binding makes the mapping a function. The ring is bounded: when
//! full, the entry heard from longest ago is evicted (it comes back with that node's next
//! announcement). Storage is a vector sorted by id, allocated once at construction, so
//! lookups are `O(log n)` and the ring never allocates after [`KeyRing::new`].

use alloc::vec::Vec;

use super::PublicKey;
use crate::{Instant, NodeId};

#[derive(Clone, Debug)]
struct Entry {
    key: PublicKey,
    last_heard: Instant,
}

/// A bounded, sorted map from node id to that node's verified public key.
#[derive(Clone, Debug)]
pub struct KeyRing {
    entries: Vec<Entry>,
    capacity: usize,
}

/// What [`KeyRing::learn`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Learned {
    /// The key was new; the ring had room.
    New,
    /// The key was already known; its last-heard time was refreshed.
    Refreshed,
    /// The key was new and displaced the entry of this node, heard from longest ago.
    Evicted(NodeId),
}

impl KeyRing {
    /// A ring holding at most `capacity` keys (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        KeyRing { entries: Vec::with_capacity(capacity), capacity }
    }

    fn position(&self, node: NodeId) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&node, |e| e.key.node_id())
    }

    /// The key of `node`, if known.
    pub fn get(&self, node: NodeId) -> Option<&PublicKey> {
        self.position(node).ok().map(|i| &self.entries[i].key)
    }

    /// Records `key` (whose binding to its node id holds by construction) as heard at `now`.
    pub fn learn(&mut self, key: &PublicKey, now: Instant) -> Learned {
        match self.position(key.node_id()) {
            Ok(i) => {
                let e = &mut self.entries[i];
                e.last_heard = e.last_heard.max(now);
                Learned::Refreshed
            }
            Err(mut i) => {
                let mut outcome = Learned::New;
                if self.entries.len() >= self.capacity {
                    let oldest = self
                        .entries
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, e)| (e.last_heard, e.key.node_id()))
                        .map_or(0, |(j, _)| j);
                    outcome = Learned::Evicted(self.entries.remove(oldest).key.node_id());
                    if oldest < i {
                        i -= 1;
                    }
                }
                self.entries.insert(i, Entry { key: *key, last_heard: now });
                outcome
            }
        }
    }

    /// Forgets `node`'s key. Returns whether it was known.
    pub fn forget(&mut self, node: NodeId) -> bool {
        match self.position(node) {
            Ok(i) => {
                self.entries.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Most keys held at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::Identity;

    fn key(n: u8) -> PublicKey {
        *Identity::from_seed(&[n; 32]).public_key()
    }

    #[test]
    fn learn_get_forget() {
        let mut ring = KeyRing::new(4);
        let k = key(1);
        assert!(ring.get(k.node_id()).is_none());
        assert_eq!(ring.learn(&k, Instant::from_secs(1)), Learned::New);
        assert_eq!(ring.learn(&k, Instant::from_secs(2)), Learned::Refreshed);
        assert_eq!(ring.get(k.node_id()), Some(&k));
        assert_eq!(ring.len(), 1);
        assert!(ring.forget(k.node_id()));
        assert!(!ring.forget(k.node_id()));
        assert!(ring.is_empty());
    }

    #[test]
    fn full_ring_evicts_the_longest_unheard_and_stays_sorted() {
        let mut ring = KeyRing::new(3);
        let keys: Vec<_> = (1..=5).map(key).collect();
        for (t, k) in keys.iter().take(3).enumerate() {
            ring.learn(k, Instant::from_secs(t as u64));
        }
        ring.learn(&keys[0], Instant::from_secs(10)); // key 0 is fresh again; key 1 is oldest
        assert_eq!(ring.learn(&keys[3], Instant::from_secs(11)), Learned::Evicted(keys[1].node_id()));
        assert_eq!(ring.learn(&keys[4], Instant::from_secs(12)), Learned::Evicted(keys[2].node_id()));
        assert_eq!(ring.len(), 3);
        assert_eq!(ring.capacity(), 3);
        for k in [&keys[0], &keys[3], &keys[4]] {
            assert_eq!(ring.get(k.node_id()), Some(k));
        }
        assert!(ring.entries.windows(2).all(|w| w[0].key.node_id() < w[1].key.node_id()));
    }
}
