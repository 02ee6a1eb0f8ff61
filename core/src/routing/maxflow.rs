//! Maximum flow (Dinic) over the routing graph: the capacity bound of admission control.
//!
//! Capacities are per directed edge (`caps[e]`, e.g. bandwidth minus reservations, kbit/s).
//! The graph stores both directions of every link, so each edge and its reverse form one
//! residual pair: pushing `f` along `u → v` lowers `u → v`'s residual by `f` and raises
//! `v → u`'s by `f`. This is exact for antiparallel capacities.
//!
//! Dinic's algorithm: BFS level graph, then blocking flows by DFS with per-node edge cursors;
//! O(V² E). Buffers are reused between runs.

use alloc::vec::Vec;

use crate::NodeId;

use super::graph::Graph;

const UNSET: u32 = u32::MAX;

/// Reusable Dinic state.
#[derive(Clone, Debug, Default)]
pub struct MaxFlow {
    res: Vec<u64>,
    rev: Vec<u32>,
    level: Vec<u32>,
    cursor: Vec<usize>,
    queue: Vec<u32>,
}

impl MaxFlow {
    /// Empty buffers.
    pub fn new() -> Self {
        MaxFlow::default()
    }

    /// The maximum flow from node `src` to node `dst` (ids); 0 if either is unknown or they
    /// are equal.
    pub fn between(&mut self, graph: &Graph, caps: &[u64], src: NodeId, dst: NodeId) -> u64 {
        match (graph.index_of(src), graph.index_of(dst)) {
            (Some(s), Some(t)) => self.run(graph, caps, s, t),
            _ => 0,
        }
    }

    /// The maximum flow from dense index `s` to `t` with `caps[e]` the capacity of edge `e`.
    pub fn run(&mut self, graph: &Graph, caps: &[u64], s: u32, t: u32) -> u64 {
        let n = graph.node_count();
        if s == t || s as usize >= n || t as usize >= n {
            return 0;
        }
        self.res.clear();
        self.res.extend_from_slice(&caps[..graph.edge_count()]);
        self.rev.clear();
        for u in 0..n as u32 {
            for e in graph.edge_range(u) {
                let back = graph.edge(graph.target(e), u).map_or(UNSET, |b| b as u32);
                self.rev.push(back);
            }
        }
        let mut total = 0u64;
        while self.bfs(graph, s, t) {
            self.cursor.clear();
            self.cursor.extend((0..n as u32).map(|u| graph.edge_range(u).start));
            loop {
                let f = self.dfs(graph, s, t, u64::MAX);
                if f == 0 {
                    break;
                }
                total = total.saturating_add(f);
            }
        }
        total
    }

    fn bfs(&mut self, graph: &Graph, s: u32, t: u32) -> bool {
        self.level.clear();
        self.level.resize(graph.node_count(), UNSET);
        self.queue.clear();
        self.level[s as usize] = 0;
        self.queue.push(s);
        let mut head = 0;
        while head < self.queue.len() {
            let u = self.queue[head];
            head += 1;
            for e in graph.edge_range(u) {
                let v = graph.target(e);
                if self.res[e] > 0 && self.level[v as usize] == UNSET {
                    self.level[v as usize] = self.level[u as usize] + 1;
                    self.queue.push(v);
                }
            }
        }
        self.level[t as usize] != UNSET
    }

    fn dfs(&mut self, graph: &Graph, u: u32, t: u32, limit: u64) -> u64 {
        if u == t {
            return limit;
        }
        let end = graph.edge_range(u).end;
        while self.cursor[u as usize] < end {
            let e = self.cursor[u as usize];
            let v = graph.target(e);
            if self.res[e] > 0 && self.level[v as usize] == self.level[u as usize] + 1 {
                let pushed = self.dfs(graph, v, t, limit.min(self.res[e]));
                if pushed > 0 {
                    self.res[e] -= pushed;
                    let r = self.rev[e];
                    if r != UNSET {
                        self.res[r as usize] = self.res[r as usize].saturating_add(pushed);
                    }
                    return pushed;
                }
            }
            self.cursor[u as usize] += 1;
        }
        0
    }
}

/// The bandwidth of every edge as capacities (kbit/s).
pub fn bandwidth_capacities(graph: &Graph) -> Vec<u64> {
    (0..graph.edge_count()).map(|e| u64::from(graph.metrics(e).bandwidth_kbps)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::graph::LinkMetrics;
    use petgraph::algo::ford_fulkerson;
    use petgraph::graph::{DiGraph, NodeIndex};
    use rand_chacha::ChaCha8Rng;
    use rand_core::{RngCore, SeedableRng};

    #[test]
    fn parallel_routes_add_up() {
        let l = |a: u64, b: u64, bw: u16| (NodeId(a), NodeId(b), LinkMetrics::new(1, 1.0, 0, bw));
        let g = Graph::from_links([l(1, 2, 300), l(2, 4, 200), l(1, 3, 100), l(3, 4, 500), l(2, 3, 50)]);
        let caps = bandwidth_capacities(&g);
        let mut mf = MaxFlow::new();
        // 1-2-4: 200, 1-3-4: 100, 1-2-3-4: 50.
        assert_eq!(mf.between(&g, &caps, NodeId(1), NodeId(4)), 350);
        assert_eq!(mf.between(&g, &caps, NodeId(4), NodeId(1)), 350);
        assert_eq!(mf.between(&g, &caps, NodeId(2), NodeId(3)), 50 + 100 + 200);
        assert_eq!(mf.between(&g, &caps, NodeId(1), NodeId(1)), 0);
        assert_eq!(mf.between(&g, &caps, NodeId(1), NodeId(9)), 0);
    }

    #[test]
    fn matches_petgraph_ford_fulkerson_on_random_graphs() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut mf = MaxFlow::new();
        for round in 0..40 {
            let n = 2 + (rng.next_u64() % 12);
            let m = rng.next_u64() % (3 * n);
            let links: Vec<_> = (0..m)
                .map(|_| (NodeId(1 + rng.next_u64() % n), NodeId(1 + rng.next_u64() % n), LinkMetrics::new(1, 1.0, 0, 1)))
                .collect();
            let g = Graph::from_links(links);
            // Independent capacities per direction.
            let caps: Vec<u64> = (0..g.edge_count()).map(|_| rng.next_u64() % 100).collect();
            let mut pg = DiGraph::<(), u64>::new();
            for _ in 0..g.node_count() {
                pg.add_node(());
            }
            for u in 0..g.node_count() as u32 {
                for e in g.edge_range(u) {
                    pg.add_edge(NodeIndex::new(u as usize), NodeIndex::new(g.target(e) as usize), caps[e]);
                }
            }
            for s in 0..g.node_count() as u32 {
                for t in 0..g.node_count() as u32 {
                    if s != t {
                        let (want, _) = ford_fulkerson(&pg, NodeIndex::new(s as usize), NodeIndex::new(t as usize));
                        assert_eq!(mf.run(&g, &caps, s, t), want, "round {round} {s}->{t}");
                    }
                }
            }
        }
    }
}
