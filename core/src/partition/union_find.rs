//! Disjoint-set forest over dense indices `0..n`: path compression, union by rank and
//! component sizes.
//!
//! All operations are iterative (no recursion, so no stack growth on long chains) and
//! amortised almost-constant time.

use alloc::vec::Vec;

/// A union-find (disjoint-set) structure over the dense indices `0..len()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnionFind {
    parent: Vec<u32>,
    rank: Vec<u8>,
    size: Vec<u32>,
    sets: usize,
}

impl UnionFind {
    /// `n` singleton sets, one per index.
    ///
    /// # Panics
    /// If `n` does not fit in a `u32`.
    pub fn new(n: usize) -> Self {
        let n32 = u32::try_from(n).expect("union-find over more than u32::MAX elements");
        UnionFind { parent: (0..n32).collect(), rank: alloc::vec![0; n], size: alloc::vec![1; n], sets: n }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// The number of disjoint sets.
    pub fn set_count(&self) -> usize {
        self.sets
    }

    /// The representative of `x`'s set, compressing the path on the way.
    ///
    /// # Panics
    /// If `x >= len()`.
    pub fn find(&mut self, x: usize) -> usize {
        let mut root = x;
        while self.parent[root] as usize != root {
            root = self.parent[root] as usize;
        }
        let mut cur = x;
        while self.parent[cur] as usize != root {
            let next = self.parent[cur] as usize;
            self.parent[cur] = root as u32;
            cur = next;
        }
        root
    }

    /// The representative of `x`'s set without modifying the structure.
    pub fn find_immutable(&self, x: usize) -> usize {
        let mut root = x;
        while self.parent[root] as usize != root {
            root = self.parent[root] as usize;
        }
        root
    }

    /// Merges the sets of `a` and `b`. Returns `true` if they were different sets.
    pub fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        let (big, small) = match self.rank[ra].cmp(&self.rank[rb]) {
            core::cmp::Ordering::Less => (rb, ra),
            core::cmp::Ordering::Greater => (ra, rb),
            core::cmp::Ordering::Equal => {
                self.rank[ra] = self.rank[ra].saturating_add(1);
                (ra, rb)
            }
        };
        self.parent[small] = big as u32;
        self.size[big] += self.size[small];
        self.sets -= 1;
        true
    }

    /// Whether `a` and `b` are in the same set.
    pub fn connected(&mut self, a: usize, b: usize) -> bool {
        self.find(a) == self.find(b)
    }

    /// The number of elements in `x`'s set.
    pub fn set_size(&mut self, x: usize) -> usize {
        let r = self.find(x);
        self.size[r] as usize
    }

    /// Every set as a sorted list of indices; sets ordered by their smallest index.
    pub fn sets(&mut self) -> Vec<Vec<usize>> {
        // Index of each root's set in the output, assigned in order of first (smallest) member.
        let mut slot = alloc::vec![usize::MAX; self.len()];
        let mut out: Vec<Vec<usize>> = Vec::with_capacity(self.sets);
        for i in 0..self.len() {
            let r = self.find(i);
            if slot[r] == usize::MAX {
                slot[r] = out.len();
                out.push(Vec::with_capacity(self.size[r] as usize));
            }
            out[slot[r]].push(i);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn singletons_then_unions() {
        let mut uf = UnionFind::new(6);
        assert_eq!(uf.set_count(), 6);
        assert!(uf.union(0, 1));
        assert!(uf.union(2, 3));
        assert!(!uf.union(1, 0));
        assert!(uf.union(1, 3));
        assert_eq!(uf.set_count(), 3);
        assert_eq!(uf.set_size(2), 4);
        assert!(uf.connected(0, 2));
        assert!(!uf.connected(0, 4));
        assert_eq!(uf.sets(), vec![vec![0, 1, 2, 3], vec![4], vec![5]]);
    }

    #[test]
    fn long_chain_is_compressed_without_recursion() {
        let n = 100_000;
        let mut uf = UnionFind::new(n);
        for i in 1..n {
            uf.union(i - 1, i);
        }
        assert_eq!(uf.set_count(), 1);
        assert_eq!(uf.set_size(n - 1), n);
        let root = uf.find(0);
        assert_eq!(uf.find_immutable(n / 2), root);
        // Union by rank keeps the tree shallow: rank never exceeds log2(n).
        assert!(uf.rank.iter().all(|&r| r <= 17));
    }

    #[test]
    fn empty() {
        let mut uf = UnionFind::new(0);
        assert!(uf.is_empty());
        assert_eq!(uf.sets(), Vec::<Vec<usize>>::new());
    }
}
