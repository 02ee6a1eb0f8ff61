//! Shortest-path-first: Dijkstra over the routing graph with reusable buffers.
//!
//! [`Spf::run`] computes, from one source, the [`PathCost`] to every node, the predecessor
//! on the chosen path and the first hop. Edge weights come as a slice indexed by edge (see
//! [`Policy::link_cost`](super::policy::Policy::link_cost)), so one graph serves every policy.
//! The queue and the arrays are kept between runs: once they have grown to the graph's size a
//! run allocates nothing.
//!
//! Ties (same cost and same hop count) keep the path found first; nodes of equal path cost
//! are settled in ascending index order and adjacency is sorted by node id, so the result is
//! deterministic.
//!
//! # Implementation
//!
//! A node's tentative distance is kept as one packed integer key whose order is the order of
//! [`PathCost`] with the node index as the final tie-break (exactly the order in which the
//! previous `BinaryHeap<Reverse<(PathCost, u32)>>` settled nodes, so predecessors and first
//! hops are the same, ties included): a `u64` `cost << 2b | hops << b | index` when every
//! cost of the run fits (`b` bits per node index; checked per run from the node count and
//! the largest weight, which holds for the default policies up to thousands of nodes), else a
//! `u128` `cost << 64 | hops << 32 | index` (see the private `heap` module). The queue is a
//! 4-ary heap of those keys without decrease-key: a node whose distance drops is pushed again
//! and the older key, no longer equal to the node's distance, is skipped when popped (keys are
//! unique, so the settling order is that of a decrease-key queue). Popping moves the hole
//! down to a leaf choosing the smallest of four children without branches (the key array is
//! padded so all four can be read), then sifts the last key up. The source is settled before the loop, so the inner
//! loop has no source or avoided-edge test; it walks one node's CSR `targets` and `weights`
//! slices together (one bounds check per node, not per edge) and compares one key.
//! A settled node is never improved again: a relaxation adds a hop, so its key is larger.

use alloc::vec::Vec;

use super::graph::Graph;
use super::heap::{DaryHeap, Key, Narrow};
use super::policy::PathCost;

/// "No node" in index arrays.
pub const NO_NODE: u32 = u32::MAX;

/// Dijkstra state with buffers reused between runs.
#[derive(Clone, Debug, Default)]
pub struct Spf {
    wide: DaryHeap<u128>,
    narrow: DaryHeap<u64>,
    /// Packed tentative distance of each node in the wide layout (runs that need it).
    dist_wide: Vec<u128>,
    /// Packed tentative distance of each node in the narrow layout (the other runs).
    dist_narrow: Vec<u64>,
    /// The layout of the last run: `Some` narrow, `None` wide.
    layout: Option<Narrow>,
    /// `[predecessor, first hop]` of each node, side by side: one cache line per relaxation.
    links: Vec<[u32; 2]>,
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
    ///
    /// # Panics
    ///
    /// If `weights` is shorter than the graph's edge count.
    pub fn run(&mut self, graph: &Graph, source: u32, weights: &[u64], avoid: Option<u32>) {
        let n = graph.node_count();
        debug_assert_eq!(weights.len(), graph.edge_count());
        let weights = &weights[..graph.edge_count()];
        self.links.clear();
        self.links.resize(n, [NO_NODE; 2]);
        self.source = source;
        // The OR of the weights has the bit length of the largest (and vectorises).
        let top = weights.iter().fold(0u64, |a, w| a | w);
        self.layout = Narrow::for_run(n, top);
        let avoid = avoid.unwrap_or(NO_NODE);
        let links = &mut self.links[..];
        match self.layout {
            Some(l) => {
                self.dist_narrow.clear();
                self.dist_narrow.resize(n, u64::UNREACHED);
                self.narrow.reset();
                dijkstra(graph, source, weights, avoid, l, &mut self.narrow, &mut self.dist_narrow, links);
            }
            None => {
                self.dist_wide.clear();
                self.dist_wide.resize(n, u128::UNREACHED);
                self.wide.reset();
                let l = Narrow::default();
                dijkstra(graph, source, weights, avoid, l, &mut self.wide, &mut self.dist_wide, links);
            }
        }
    }

    /// The source of the last run.
    pub fn source(&self) -> u32 {
        self.source
    }

    /// Cost of the best path to `v` found by the last run ([`PathCost::INFINITE`] if none).
    pub fn dist(&self, v: u32) -> PathCost {
        let packed = match self.layout {
            Some(l) => self.dist_narrow.get(v as usize).filter(|k| **k != u64::UNREACHED).map(|k| k.unpack(l)),
            None => self.dist_wide.get(v as usize).filter(|k| **k != u128::UNREACHED).map(|k| k.unpack(Narrow::default())),
        };
        packed.map_or(PathCost::INFINITE, |(cost, hops)| PathCost { cost, hops })
    }

    /// First hop towards `v`, or [`NO_NODE`] (unreachable, or `v` is the source).
    pub fn first_hop(&self, v: u32) -> u32 {
        self.links.get(v as usize).map_or(NO_NODE, |l| l[1])
    }

    /// Predecessor of `v` on its path, or [`NO_NODE`].
    pub fn prev(&self, v: u32) -> u32 {
        self.links.get(v as usize).map_or(NO_NODE, |l| l[0])
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
            x = self.links[x as usize][0];
        }
        out.reverse();
    }
}

/// The loop of [`Spf::run`] for one key layout. The source is settled first (its key is the
/// only one of 0 hops): its neighbours become their own first hop and the avoided one is
/// skipped, so the main loop has no source or avoided-edge test.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn dijkstra<K: Key>(
    graph: &Graph,
    source: u32,
    weights: &[u64],
    avoid: u32,
    l: Narrow,
    heap: &mut DaryHeap<K>,
    dist: &mut [K],
    links: &mut [[u32; 2]],
) {
    let s = source as usize;
    if s >= dist.len() {
        return;
    }
    let (offsets, targets) = graph.csr();
    let weights = &weights[..targets.len()];
    dist[s] = K::origin(source);
    if source == avoid {
        return;
    }
    let (lo, hi) = (offsets[s] as usize, offsets[s + 1] as usize);
    for (&v, &w) in targets[lo..hi].iter().zip(&weights[lo..hi]) {
        if v == avoid {
            continue;
        }
        let nd = K::first(w, v, l);
        let dv = &mut dist[v as usize];
        if nd < *dv {
            *dv = nd;
            links[v as usize] = [source, v];
            heap.push(nd);
        }
    }
    while let Some(key) = heap.pop() {
        let ui = key.node(l);
        // A stale entry (the node was reached more cheaply since), or the avoided node.
        if key != dist[ui] || ui as u32 == avoid {
            continue;
        }
        let fh = links[ui][1];
        let (lo, hi) = (offsets[ui] as usize, offsets[ui + 1] as usize);
        for (&v, &w) in targets[lo..hi].iter().zip(&weights[lo..hi]) {
            let nd = key.extend(w, v, l);
            let dv = &mut dist[v as usize];
            if nd < *dv {
                *dv = nd;
                links[v as usize] = [ui as u32, fh];
                heap.push(nd);
            }
        }
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

    /// The previous implementation (binary heap with lazy deletion), kept as the oracle of
    /// [`Spf::run`]: same distances, predecessors and first hops, ties included.
    fn reference(graph: &Graph, source: u32, weights: &[u64], avoid: Option<u32>) -> Vec<(PathCost, u32, u32)> {
        use alloc::collections::BinaryHeap;
        use core::cmp::Reverse;
        let n = graph.node_count();
        let mut dist = vec![PathCost::INFINITE; n];
        let mut prev = vec![NO_NODE; n];
        let mut first = vec![NO_NODE; n];
        let mut heap = BinaryHeap::new();
        if (source as usize) < n {
            dist[source as usize] = PathCost::ZERO;
            heap.push(Reverse((PathCost::ZERO, source)));
        }
        while let Some(Reverse((d, u))) = heap.pop() {
            if d > dist[u as usize] || avoid == Some(u) {
                continue;
            }
            for e in graph.edge_range(u) {
                let v = graph.target(e);
                if u == source && avoid == Some(v) {
                    continue;
                }
                let nd = d.extend(weights[e]);
                if nd < dist[v as usize] {
                    dist[v as usize] = nd;
                    prev[v as usize] = u;
                    first[v as usize] = if u == source { v } else { first[u as usize] };
                    heap.push(Reverse((nd, v)));
                }
            }
        }
        (0..n).map(|v| (dist[v], prev[v], first[v])).collect()
    }

    fn xorshift(x: &mut u64) -> u64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    #[test]
    fn identical_to_the_binary_heap_reference() {
        let m = LinkMetrics::new(1, 1.0, 0, 100);
        let mut spf = Spf::new();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        for case in 0..120u64 {
            let n = 2 + (xorshift(&mut rng) % 40);
            let links = n + xorshift(&mut rng) % (2 * n);
            let g = Graph::from_links((0..links).map(|_| {
                let a = xorshift(&mut rng) % n;
                let b = xorshift(&mut rng) % n;
                (NodeId(a + 1), NodeId(b + 1), m)
            }));
            // Few distinct weights (many ties, zeros), wide ones, or near-saturating ones.
            let w: Vec<u64> = (0..g.edge_count())
                .map(|_| {
                    let r = xorshift(&mut rng);
                    match case % 3 {
                        0 => r % 4,
                        1 => r % 1_000_000,
                        _ => u64::MAX - r % 3,
                    }
                })
                .collect();
            for s in 0..g.node_count() as u32 + 1 {
                let mut avoids = vec![None];
                if (s as usize) < g.node_count() {
                    avoids.extend(g.edge_range(s).map(|e| Some(g.target(e))));
                    avoids.push(Some(s));
                }
                for avoid in avoids {
                    spf.run(&g, s, &w, avoid);
                    let got: Vec<_> = (0..g.node_count() as u32).map(|v| (spf.dist(v), spf.prev(v), spf.first_hop(v))).collect();
                    assert_eq!(got, reference(&g, s, &w, avoid), "case {case}, source {s}, avoid {avoid:?}");
                }
            }
        }
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
