//! Backbone: a minimum spanning forest under a degree cap, as keep/drop link decisions.
//!
//! Phones hold about seven BLE connections ([`DEFAULT_MAX_DEGREE`]), so the mesh keeps a
//! spanning backbone in which no node has more than `K` links, cheapest links first. The
//! degree-constrained minimum spanning tree is NP-hard, so this is a greedy variant:
//!
//! 1. **Kruskal under the cap**: links by ascending weight (ties by node ids); a link is kept
//!    when it joins two components and both ends still have fewer than `K` kept links.
//! 2. **Repair**: while two components of the backbone are joined by some graph link, keep the
//!    link that overloads the least — smallest `max(degree(a), degree(b))`, then weight, then
//!    ids. This exceeds `K` only where the greedy pass left no way round it (e.g. the centre of
//!    a star must exceed `K`).
//!
//! The result always spans every connected component of the graph (a spanning forest:
//! `nodes − components` kept links). Each undirected link is weighed once, by the
//! given policy's cost of its lower-id → higher-id direction.

use alloc::vec::Vec;

use crate::NodeId;

use super::graph::Graph;
use super::policy::Policy;

/// Default degree cap: about what a phone's BLE stack sustains.
pub const DEFAULT_MAX_DEGREE: usize = 7;

/// The decision about one undirected link.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct LinkDecision {
    /// Lower node id.
    pub a: NodeId,
    /// Higher node id.
    pub b: NodeId,
    /// Whether the backbone keeps the link.
    pub keep: bool,
}

struct UnionFind(Vec<u32>);

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind((0..n as u32).collect())
    }
    fn find(&mut self, mut x: u32) -> u32 {
        while self.0[x as usize] != x {
            let up = self.0[self.0[x as usize] as usize];
            self.0[x as usize] = up;
            x = up;
        }
        x
    }
    fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        self.0[ra.max(rb) as usize] = ra.min(rb);
        true
    }
}

/// Computes the backbone of `graph` with link weights from `policy` and degree cap `max_degree`.
/// Returns one decision per undirected link, sorted by `(a, b)`.
pub fn backbone(graph: &Graph, policy: &Policy, max_degree: usize) -> Vec<LinkDecision> {
    // (weight, u, v, edge) with u < v (dense indices follow id order).
    let mut links: Vec<(u64, u32, u32)> = Vec::new();
    for u in 0..graph.node_count() as u32 {
        for e in graph.edge_range(u) {
            let v = graph.target(e);
            if u < v {
                links.push((policy.link_cost(&graph.metrics(e)), u, v));
            }
        }
    }
    links.sort_unstable();
    let mut keep = alloc::vec![false; links.len()];
    let mut degree = alloc::vec![0usize; graph.node_count()];
    let mut uf = UnionFind::new(graph.node_count());
    for (i, &(_, u, v)) in links.iter().enumerate() {
        if degree[u as usize] < max_degree && degree[v as usize] < max_degree && uf.union(u, v) {
            keep[i] = true;
            degree[u as usize] += 1;
            degree[v as usize] += 1;
        }
    }
    loop {
        let mut best: Option<(usize, u64, u32, u32, usize)> = None;
        for (i, &(w, u, v)) in links.iter().enumerate() {
            if keep[i] || uf.find(u) == uf.find(v) {
                continue;
            }
            let cand = (degree[u as usize].max(degree[v as usize]), w, u, v, i);
            if best.is_none_or(|b| cand < b) {
                best = Some(cand);
            }
        }
        let Some((_, _, u, v, i)) = best else { break };
        uf.union(u, v);
        keep[i] = true;
        degree[u as usize] += 1;
        degree[v as usize] += 1;
    }
    let mut out: Vec<LinkDecision> = links
        .iter()
        .zip(keep)
        .map(|(&(_, u, v), keep)| LinkDecision { a: graph.node(u), b: graph.node(v), keep })
        .collect();
    out.sort_unstable_by_key(|d| (d.a, d.b));
    out
}

/// The links `node` should drop to follow the backbone: none while it has at most
/// `max_degree` links, else every link of it the backbone does not keep (ascending ids).
///
/// When every node applies this to the same graph, the remaining links contain the backbone
/// (so each component stays connected) and every node that had more than `max_degree` links
/// keeps only its backbone links (at most `max_degree` unless the repair pass had to exceed
/// it); the others only lose links.
pub fn drops_for(graph: &Graph, node: NodeId, policy: &Policy, max_degree: usize) -> Vec<NodeId> {
    let Some(u) = graph.index_of(node) else { return Vec::new() };
    if graph.edge_range(u).len() <= max_degree {
        return Vec::new();
    }
    backbone(graph, policy, max_degree)
        .into_iter()
        .filter(|d| !d.keep)
        .filter_map(|d| {
            if d.a == node {
                Some(d.b)
            } else if d.b == node {
                Some(d.a)
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::graph::LinkMetrics;
    use rand_chacha::ChaCha8Rng;
    use rand_core::{RngCore, SeedableRng};

    fn kept(d: &[LinkDecision]) -> Vec<(u64, u64)> {
        d.iter().filter(|x| x.keep).map(|x| (x.a.0, x.b.0)).collect()
    }

    /// Components of `graph` restricted to the given links, as a canonical root per node.
    fn components(graph: &Graph, links: impl Iterator<Item = (NodeId, NodeId)>) -> Vec<u32> {
        let mut uf = UnionFind::new(graph.node_count());
        for (a, b) in links {
            uf.union(graph.index_of(a).unwrap(), graph.index_of(b).unwrap());
        }
        (0..graph.node_count() as u32).map(|i| uf.find(i)).collect()
    }

    fn check_spanning(graph: &Graph, d: &[LinkDecision]) {
        let all = components(graph, d.iter().map(|x| (x.a, x.b)));
        let bb = components(graph, d.iter().filter(|x| x.keep).map(|x| (x.a, x.b)));
        assert_eq!(all, bb, "backbone must span every component");
        let comps = all.iter().enumerate().filter(|(i, r)| *i as u32 == **r).count();
        assert_eq!(d.iter().filter(|x| x.keep).count(), graph.node_count() - comps, "a forest");
        assert_eq!(d.len(), graph.edge_count() / 2);
    }

    fn degrees(graph: &Graph, d: &[LinkDecision]) -> Vec<usize> {
        let mut deg = alloc::vec![0; graph.node_count()];
        for x in d.iter().filter(|x| x.keep) {
            deg[graph.index_of(x.a).unwrap() as usize] += 1;
            deg[graph.index_of(x.b).unwrap() as usize] += 1;
        }
        deg
    }

    #[test]
    fn cheapest_links_under_the_cap() {
        // Hub 1 with cheap spokes to 2, 3, 4 and a dearer rim 2 — 3 — 4 (latency as weight).
        let l = |a: u64, b: u64, lat: u16| (NodeId(a), NodeId(b), LinkMetrics::new(lat, 1.0, 0, 1));
        let g = Graph::from_links([l(1, 2, 1), l(1, 3, 2), l(1, 4, 3), l(2, 3, 5), l(3, 4, 6)]);
        let d = backbone(&g, &Policy::NORMAL, 7);
        assert_eq!(kept(&d), [(1, 2), (1, 3), (1, 4)]);
        assert_eq!(d.len(), 5);
        // With K = 2 the hub keeps two spokes and 4 hangs off the rim.
        let d = backbone(&g, &Policy::NORMAL, 2);
        assert_eq!(kept(&d), [(1, 2), (1, 3), (3, 4)]);
        assert_eq!(degrees(&g, &d), [2, 1, 2, 1]);
        // K = 1 cannot span four nodes: the repair pass overloads as little as it can.
        let d = backbone(&g, &Policy::NORMAL, 1);
        check_spanning(&g, &d);
        assert_eq!(kept(&d), [(1, 2), (1, 3), (3, 4)]);
    }

    #[test]
    fn a_star_exceeds_the_cap_only_where_forced() {
        let l = |a: u64, b: u64| (NodeId(a), NodeId(b), LinkMetrics::new(1, 1.0, 0, 1));
        let g = Graph::from_links((2..=10).map(|i| l(1, i)).chain([l(20, 21)]));
        let d = backbone(&g, &Policy::NORMAL, 3);
        check_spanning(&g, &d);
        assert_eq!(degrees(&g, &d)[0], 9);
    }

    #[test]
    fn following_every_nodes_advice_on_dense_meshes_keeps_them_connected_within_the_cap() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let k = DEFAULT_MAX_DEGREE;
        let mut dropped_somewhere = 0;
        for _ in 0..40 {
            let n = 10 + rng.next_u64() % 30;
            // Dense: each node tries 12 random links, so many nodes exceed K before advice.
            let links: Vec<_> = (0..6 * n)
                .map(|_| {
                    let m = LinkMetrics::new((1 + rng.next_u64() % 50) as u16, 0.5 + (rng.next_u64() % 50) as f64 / 100.0, 0, 1);
                    (NodeId(1 + rng.next_u64() % n), NodeId(1 + rng.next_u64() % n), m)
                })
                .collect();
            let g = Graph::from_links(links.iter().copied());
            let mut drops: Vec<(NodeId, NodeId)> = Vec::new();
            for &node in g.nodes() {
                for peer in drops_for(&g, node, &Policy::HIGH, k) {
                    drops.push((node.min(peer), node.max(peer)));
                }
            }
            dropped_somewhere += drops.len();
            let after = Graph::from_links(links.iter().copied().filter(|(a, b, _)| !drops.contains(&((*a).min(*b), (*a).max(*b)))));
            // Same components as before, on the same node set.
            let all: Vec<(NodeId, NodeId)> = links.iter().filter(|(a, b, _)| a != b).map(|(a, b, _)| (*a, *b)).collect();
            let kept: Vec<(NodeId, NodeId)> = all.iter().copied().filter(|(a, b)| !drops.contains(&((*a).min(*b), (*a).max(*b)))).collect();
            assert_eq!(components(&g, all.into_iter()), components(&g, kept.into_iter()), "advice must keep every component connected");
            for &node in g.nodes() {
                let deg = after.index_of(node).map_or(0, |u| after.edge_range(u).len());
                let before = g.edge_range(g.index_of(node).unwrap()).len();
                assert!(deg <= k, "{node:?}: {before} links, {deg} > {k} after advice");
            }
        }
        assert!(dropped_somewhere > 100, "the graphs are dense enough to need advice: {dropped_somewhere}");
    }

    #[test]
    fn random_meshes_are_spanned_within_the_cap() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..30 {
            let n = 2 + rng.next_u64() % 40;
            let links: Vec<_> = (0..4 * n)
                .map(|_| {
                    let m = LinkMetrics::new((rng.next_u64() % 100) as u16, 1.0, 0, 1);
                    (NodeId(1 + rng.next_u64() % n), NodeId(1 + rng.next_u64() % n), m)
                })
                .collect();
            let g = Graph::from_links(links);
            let d = backbone(&g, &Policy::HIGH, DEFAULT_MAX_DEGREE);
            check_spanning(&g, &d);
            assert!(degrees(&g, &d).iter().all(|&k| k <= DEFAULT_MAX_DEGREE));
        }
    }
}
