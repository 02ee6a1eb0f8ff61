//! The priority queue of [`Spf`](super::spf::Spf): a 4-ary min-heap with lazy deletion over
//! packed integer keys, in a wide (`u128`) and a narrow (`u64`) layout.
//!
//! A key packs a tentative distance and its node so that integer order is the order of
//! [`PathCost`](super::policy::PathCost) `(cost, hops)` with the node index as the final
//! tie-break:
//!
//! * **wide**, always valid: `cost << 64 | hops << 32 | index`;
//! * **narrow**, valid while every path cost of the run fits: `cost << (2b) | hops << b |
//!   index` with `b` the bits of the node count. [`Narrow::for_run`] checks
//!   `node count × largest weight < 2^(64 − 2b)` (a relaxation extends a simple path of at
//!   most `n − 1` links by one, so no tentative cost exceeds it and no hop count reaches
//!   `2^b`). Half the bytes per key and one-word compares: the heap's sift loops, which
//!   dominate Dijkstra on a mesh with a wide frontier, run faster.

use alloc::vec::Vec;

/// Arity of [`DaryHeap`].
pub(super) const ARITY: usize = 4;

/// Field widths of the narrow layout for one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Narrow {
    /// Bits of the node index (and of the hop count).
    pub(super) bits: u32,
    /// `(1 << bits) - 1`.
    pub(super) mask: u64,
}

impl Narrow {
    /// The narrow layout for `n` nodes and weights below `2 × top` (`top`: the largest
    /// weight, or any value of the same bit length), if every key fits.
    pub(super) fn for_run(n: usize, top: u64) -> Option<Narrow> {
        let bits = usize::BITS - n.max(2).leading_zeros(); // n < 2^bits, so hops ≤ n fit
        if 2 * bits >= 64 {
            return None;
        }
        let largest = u64::MAX >> top.max(1).leading_zeros(); // all ones up to the top bit
        let bound = (n as u64).checked_mul(largest)?;
        (bound >> (64 - 2 * bits) == 0).then_some(Narrow { bits, mask: (1u64 << bits) - 1 })
    }
}

/// A packed distance key (see the module documentation).
pub(super) trait Key: Copy + Ord {
    /// The key of an unreached node; larger than every real key.
    const UNREACHED: Self;
    /// The node index in the key.
    fn node(self, l: Narrow) -> usize;
    /// `(cost, hops)` of the key.
    fn unpack(self, l: Narrow) -> (u64, u32);
    /// The key of the empty path at node `v` (cost 0, 0 hops).
    fn origin(v: u32) -> Self;
    /// The key of a path of one link of weight `w` to node `v`.
    fn first(w: u64, v: u32, l: Narrow) -> Self;
    /// This key's path extended by one link of weight `w` to node `v`.
    fn extend(self, w: u64, v: u32, l: Narrow) -> Self;
    /// The smaller of two keys with its index (the first on equality), without branches.
    fn select_min(x: Self, i: usize, y: Self, j: usize) -> (Self, usize);
}

impl Key for u128 {
    const UNREACHED: u128 = u128::MAX;

    #[inline(always)]
    fn node(self, _: Narrow) -> usize {
        self as u32 as usize
    }

    fn unpack(self, _: Narrow) -> (u64, u32) {
        ((self >> 64) as u64, (self >> 32) as u32)
    }

    fn origin(v: u32) -> u128 {
        u128::from(v)
    }

    #[inline(always)]
    fn first(w: u64, v: u32, _: Narrow) -> u128 {
        (u128::from(w) << 64) | u128::from((1u64 << 32) | u64::from(v))
    }

    #[inline(always)]
    fn extend(self, w: u64, v: u32, _: Narrow) -> u128 {
        let cost = (self >> 64) as u64;
        // Hops + 1 in bits 32..64 (hops < node count < 2³², so it cannot overflow).
        let hops_next = ((self as u64) & !u64::from(u32::MAX)) + (1 << 32);
        (u128::from(cost.saturating_add(w)) << 64) | u128::from(hops_next | u64::from(v))
    }

    #[inline(always)]
    fn select_min(x: u128, i: usize, y: u128, j: usize) -> (u128, usize) {
        let lt = y < x;
        let mask = 0u128.wrapping_sub(u128::from(lt));
        (x ^ ((x ^ y) & mask), i ^ ((i ^ j) & 0usize.wrapping_sub(usize::from(lt))))
    }
}

impl Key for u64 {
    const UNREACHED: u64 = u64::MAX;

    #[inline(always)]
    fn node(self, l: Narrow) -> usize {
        (self & l.mask) as usize
    }

    fn unpack(self, l: Narrow) -> (u64, u32) {
        (self >> (2 * l.bits), ((self >> l.bits) & l.mask) as u32)
    }

    fn origin(v: u32) -> u64 {
        u64::from(v)
    }

    #[inline(always)]
    fn first(w: u64, v: u32, l: Narrow) -> u64 {
        (w << (2 * l.bits)) | (1 << l.bits) | u64::from(v)
    }

    #[inline(always)]
    fn extend(self, w: u64, v: u32, l: Narrow) -> u64 {
        // No carry: `Narrow::for_run` bounds every cost and hop count of the run.
        ((self & !l.mask) + (1 << l.bits) + (w << (2 * l.bits))) | u64::from(v)
    }

    #[inline(always)]
    fn select_min(x: u64, i: usize, y: u64, j: usize) -> (u64, usize) {
        let lt = y < x;
        let mask = 0u64.wrapping_sub(u64::from(lt));
        (x ^ ((x ^ y) & mask), i ^ ((i ^ j) & 0usize.wrapping_sub(usize::from(lt))))
    }
}

/// A 4-ary min-heap of packed keys **without decrease-key**: a node whose distance drops is
/// pushed again and its older, larger key is skipped when popped (the caller compares the
/// popped key with the node's current one). No position array to maintain: every sift step
/// moves one key and nothing else. `keys` always holds at least [`ARITY`] slots of
/// [`Key::UNREACHED`] past the `len` live ones, so every node's four child slots can be read
/// without a bounds test and the smallest child picked without branches.
#[derive(Clone, Debug, Default)]
pub(super) struct DaryHeap<K> {
    keys: Vec<K>,
    len: usize,
}

impl<K: Key> DaryHeap<K> {
    /// Empties the heap.
    pub(super) fn reset(&mut self) {
        self.keys.clear();
        self.keys.resize(ARITY + 1, K::UNREACHED);
        self.len = 0;
    }

    /// Inserts `key`.
    #[inline(always)]
    pub(super) fn push(&mut self, key: K) {
        let i = self.len;
        self.len += 1;
        if self.keys.len() < self.len + ARITY {
            self.keys.resize(self.len + ARITY, K::UNREACHED);
        }
        self.sift_up(i, key);
    }

    #[inline(always)]
    fn sift_up(&mut self, mut i: usize, key: K) {
        while i > 0 {
            let parent = (i - 1) / ARITY;
            let pk = self.keys[parent];
            if pk <= key {
                break;
            }
            self.keys[i] = pk;
            i = parent;
        }
        self.keys[i] = key;
    }

    /// Removes the smallest key.
    #[inline(always)]
    pub(super) fn pop(&mut self) -> Option<K> {
        if self.len == 0 {
            return None;
        }
        let top = self.keys[0];
        self.len -= 1;
        let len = self.len;
        let last = core::mem::replace(&mut self.keys[len], K::UNREACHED);
        if len == 0 {
            return Some(top);
        }
        // Move the hole at the root down to a leaf along the smallest children (branch-free
        // choice), then sift the last key up from there.
        let mut i = 0;
        loop {
            let c = ARITY * i + 1;
            if c >= len {
                break;
            }
            let k: &[K; ARITY] = self.keys[c..c + ARITY].try_into().expect("padded");
            // A tournament of three branch-free selections (values and indices by mask).
            let (ka, a) = K::select_min(k[0], 0, k[1], 1);
            let (kb, b) = K::select_min(k[2], 2, k[3], 3);
            let (mk, m) = K::select_min(ka, a, kb, b);
            self.keys[i] = mk;
            i = c + m;
        }
        self.sift_up(i, last);
        Some(top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_layout_only_when_every_key_fits() {
        let l = Narrow::for_run(1000, 1 << 30).expect("1000 nodes: 10 bits each, 44 for the cost");
        assert_eq!((l.bits, l.mask), (10, 1023));
        // Weights below 2^34 (top bit 33): 1000 × (2^34 − 1) < 2^44; below 2^35 they may not fit.
        assert!(Narrow::for_run(1000, (1 << 33) | 5).is_some());
        assert_eq!(Narrow::for_run(1000, 1 << 34), None);
        assert_eq!(Narrow::for_run(50, u64::MAX), None);
        assert_eq!(Narrow::for_run(1, 0).map(|l| l.bits), Some(2));
        // Same order as the wide keys, and the same fields back.
        let (a, b) = (<u64 as Key>::first(7, 3, l), <u64 as Key>::first(7, 2, l).extend(0, 9, l));
        assert!(a < b, "equal cost: fewer hops first");
        assert_eq!((a.node(l), a.unpack(l)), (3, (7, 1)));
        assert_eq!((b.node(l), b.unpack(l)), (9, (7, 2)));
        let w = <u128 as Key>::first(7, 2, l).extend(5, 9, l);
        assert_eq!((w.node(l), w.unpack(l)), (9, (12, 2)));
        assert_eq!(<u64 as Key>::select_min(4, 0, 4, 1), (4, 0));
        assert_eq!(<u64 as Key>::select_min(4, 0, 3, 1), (3, 1));
    }
}
