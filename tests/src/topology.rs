//! Graphs for the harness: seeded random connected topologies and hop distances.

use std::collections::VecDeque;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// An undirected graph over nodes `0..n`, edges as sorted, deduplicated pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// Number of nodes.
    pub nodes: usize,
    /// Edges `(a, b)` with `a < b`.
    pub edges: Vec<(usize, usize)>,
}

impl Topology {
    /// A graph from an edge list (normalised: `a < b`, sorted, no duplicates, no loops).
    pub fn new(nodes: usize, edges: impl IntoIterator<Item = (usize, usize)>) -> Self {
        let mut e: Vec<_> = edges.into_iter().filter(|(a, b)| a != b).map(|(a, b)| (a.min(b), a.max(b))).collect();
        e.sort_unstable();
        e.dedup();
        Topology { nodes, edges: e }
    }

    /// A chain `0 - 1 - ... - n-1`.
    pub fn line(nodes: usize) -> Self {
        Topology::new(nodes, (1..nodes).map(|i| (i - 1, i)))
    }

    /// Neighbours of `v`, ascending.
    pub fn neighbours(&self, v: usize) -> Vec<usize> {
        let mut n: Vec<_> = self
            .edges
            .iter()
            .filter_map(|&(a, b)| if a == v { Some(b) } else if b == v { Some(a) } else { None })
            .collect();
        n.sort_unstable();
        n
    }

    /// Hop distance from `src` to every node (`None`: unreachable).
    pub fn distances(&self, src: usize) -> Vec<Option<usize>> {
        let mut dist = vec![None; self.nodes];
        dist[src] = Some(0);
        let mut q = VecDeque::from([src]);
        while let Some(v) = q.pop_front() {
            for w in self.neighbours(v) {
                if dist[w].is_none() {
                    dist[w] = Some(dist[v].unwrap() + 1);
                    q.push_back(w);
                }
            }
        }
        dist
    }

    /// Whether every node reaches every other.
    pub fn is_connected(&self) -> bool {
        self.nodes == 0 || self.distances(0).iter().all(Option::is_some)
    }
}

/// A connected graph of `nodes` nodes: a random spanning tree plus `extra` random edges,
/// respecting a maximum degree (BLE devices hold about 7 connections).
pub fn random_connected(nodes: usize, extra: usize, max_degree: usize, seed: u64) -> Topology {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut degree = vec![0usize; nodes];
    let mut edges = Vec::new();
    for v in 1..nodes {
        // Attach to a random earlier node with a free slot.
        let candidates: Vec<usize> = (0..v).filter(|u| degree[*u] < max_degree).collect();
        let u = candidates[(rng.next_u32() as usize) % candidates.len()];
        edges.push((u, v));
        degree[u] += 1;
        degree[v] += 1;
    }
    let mut tries = 0;
    let mut added = 0;
    while added < extra && tries < extra * 50 {
        tries += 1;
        let a = (rng.next_u32() as usize) % nodes;
        let b = (rng.next_u32() as usize) % nodes;
        let e = (a.min(b), a.max(b));
        if a == b || degree[a] >= max_degree || degree[b] >= max_degree || edges.contains(&e) {
            continue;
        }
        edges.push(e);
        degree[a] += 1;
        degree[b] += 1;
        added += 1;
    }
    Topology::new(nodes, edges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_graphs_are_connected_and_degree_bounded() {
        for seed in 0..20 {
            let t = random_connected(20, 10, 7, seed);
            assert!(t.is_connected());
            assert!((0..20).all(|v| t.neighbours(v).len() <= 7));
            assert_eq!(t, random_connected(20, 10, 7, seed), "deterministic");
        }
    }

    #[test]
    fn line_distances() {
        let t = Topology::line(4);
        assert_eq!(t.distances(0), vec![Some(0), Some(1), Some(2), Some(3)]);
    }
}
