//! Shortest-path-first: Dijkstra over the routing graph with reusable buffers.
//!
//! [`Spf::run`] computes, from one source, the [`PathCost`] to every node, the predecessor
//! on the chosen path and the first hop. Edge weights come as a slice indexed by edge (see
//! [`Policy::link_cost`](super::policy::Policy::link_cost)), so one graph serves every policy.
//! The heap and the arrays are kept between runs: once they have grown to the graph's size a
//! run allocates nothing.
//!
//! Ties (same cost and same hop count) keep the path found first; adjacency is sorted by
//! node id, so the result is deterministic.

use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Reverse;

use super::graph::Graph;
use super::policy::PathCost;

/// "No node" in index arrays.
pub const NO_NODE: u32 = u32::MAX;

/// Dijkstra state with buffers reused between runs.
#[derive(Clone, Debug, Default)]
pub struct Spf {
    heap: BinaryHeap<Reverse<(PathCost, u32)>>,
    dist: Vec<PathCost>,
    prev: Vec<u32>,
    first_hop: Vec<u32>,
    source: u32,
}

impl Spf {
    /// Empty buffers.
    pub fn new() -> Self {
        Spf::default()
    }

    /// Runs Dijkstra from `source` with `weights[e]` the cost of edge `e`.
    ///
    /// With `avoid = Some(n)` (`n` a neighbour of `source`) the direct edge `source → n` is not
    /// used and no path goes *through* `n`, though `n` itself may still be reached over
    /// another path: this computes backups disjoint from a primary whose first hop is `n`.
    pub fn run(&mut self, graph: &Graph, source: u32, weights: &[u64], avoid: Option<u32>) {
        let n = graph.node_count();
        debug_assert_eq!(weights.len(), graph.edge_count());
        self.dist.clear();
        self.dist.resize(n, PathCost::INFINITE);
        self.prev.clear();
        self.prev.resize(n, NO_NODE);
        self.first_hop.clear();
        self.first_hop.resize(n, NO_NODE);
        self.heap.clear();
        self.source = source;
        if source as usize >= n {
            return;
        }
        self.dist[source as usize] = PathCost::ZERO;
        self.heap.push(Reverse((PathCost::ZERO, source)));
        while let Some(Reverse((d, u))) = self.heap.pop() {
            if d > self.dist[u as usize] {
                continue;
            }
            if avoid == Some(u) {
                continue;
            }
            for e in graph.edge_range(u) {
                let v = graph.target(e);
                if u == source && avoid == Some(v) {
                    continue;
                }
                let nd = d.extend(weights[e]);
                if nd < self.dist[v as usize] {
                    self.dist[v as usize] = nd;
                    self.prev[v as usize] = u;
                    self.first_hop[v as usize] = if u == source { v } else { self.first_hop[u as usize] };
                    self.heap.push(Reverse((nd, v)));
                }
            }
        }
    }

    /// The source of the last run.
    pub fn source(&self) -> u32 {
        self.source
    }

    /// Cost of the best path to `v` found by the last run ([`PathCost::INFINITE`] if none).
    pub fn dist(&self, v: u32) -> PathCost {
        self.dist.get(v as usize).copied().unwrap_or(PathCost::INFINITE)
    }

    /// First hop towards `v`, or [`NO_NODE`] (unreachable, or `v` is the source).
    pub fn first_hop(&self, v: u32) -> u32 {
        self.first_hop.get(v as usize).copied().unwrap_or(NO_NODE)
    }

    /// Predecessor of `v` on its path, or [`NO_NODE`].
    pub fn prev(&self, v: u32) -> u32 {
        self.prev.get(v as usize).copied().unwrap_or(NO_NODE)
    }

    /// Writes the path from the source to `v` (both included) into `out`; empty if `v` is
    /// unreachable.
    pub fn path_to(&self, v: u32, out: &mut Vec<u32>) {
        out.clear();
        if self.dist(v).is_infinite() {
            return;
        }
        let mut x = v;
        while x != NO_NODE {
            out.push(x);
            x = self.prev[x as usize];
        }
        out.reverse();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeId;
    use crate::routing::graph::LinkMetrics;
    use alloc::vec;

    fn line_and_detour() -> Graph {
        // 1 - 2 - 3 direct (latency 1 each), 1 - 4 - 5 - 3 detour (latency 1 each)
        let m = LinkMetrics::new(1, 1.0, 0, 100);
        Graph::from_links([(1, 2), (2, 3), (1, 4), (4, 5), (5, 3)].map(|(a, b)| (NodeId(a), NodeId(b), m)))
    }

    #[test]
    fn shortest_paths_and_first_hops() {
        let g = line_and_detour();
        let w = vec![10u64; g.edge_count()];
        let mut spf = Spf::new();
        spf.run(&g, 0, &w, None);
        assert_eq!(spf.dist(2), PathCost { cost: 20, hops: 2 });
        assert_eq!(spf.first_hop(2), 1);
        assert_eq!(spf.first_hop(0), NO_NODE);
        assert_eq!(spf.dist(4), PathCost { cost: 20, hops: 2 });
        assert_eq!(spf.first_hop(4), 3);
        let mut p = Vec::new();
        spf.path_to(2, &mut p);
        assert_eq!(p, vec![0, 1, 2]);
        assert_eq!(spf.source(), 0);
    }

    #[test]
    fn avoid_removes_first_hop_and_transit() {
        let g = line_and_detour();
        let w = vec![10u64; g.edge_count()];
        let mut spf = Spf::new();
        spf.run(&g, 0, &w, Some(1));
        assert_eq!(spf.dist(2), PathCost { cost: 30, hops: 3 });
        assert_eq!(spf.first_hop(2), 3);
        // Node 1 (id 2) is still reached, around.
        assert_eq!(spf.dist(1), PathCost { cost: 40, hops: 4 });
        assert_eq!(spf.first_hop(1), 3);
        assert_eq!(spf.prev(1), 2);
    }

    #[test]
    fn zero_weights_prefer_fewer_hops() {
        let g = line_and_detour();
        let w = vec![0u64; g.edge_count()];
        let mut spf = Spf::new();
        spf.run(&g, 0, &w, None);
        assert_eq!(spf.dist(2), PathCost { cost: 0, hops: 2 });
        assert_eq!(spf.first_hop(2), 1);
        spf.run(&g, 7, &w, None);
        assert!(spf.dist(0).is_infinite());
    }
}
