//! QoS-constrained paths: exact search by multi-criteria label setting.
//!
//! A request ([`QosConstraints`]) bounds a path's total latency, its bottleneck bandwidth and
//! its delivery probability. **Loss rate** and **reliability** are the same quantity seen from
//! both sides: a path delivers with probability `Π rᵢ`, loses with `1 − Π rᵢ`; the stricter of
//! `min_reliability` and `1 − max_loss` applies. Reliability is compared in the additive
//! integer form of the graph: the path is reliable enough when
//! `Σ unreliability_micros(rᵢ) ≤ unreliability_micros(required)` (resolution 10⁻⁶ nat).
//!
//! Method: links with less bandwidth than required are pruned; then labels
//! `(latency, unreliability)` are extended from the source in the order of a priority key and
//! a label is dropped when another label at the same node is at least as good in both
//! criteria (Pareto dominance) or when it already breaks a bound. Both criteria only grow along
//! a path, so every feasible path is dominated-or-equalled by a kept label: **when a feasible
//! path exists it is found**, and the first label popped at the destination is the best
//! feasible path by the key. The key is `(unreliability, latency)` for
//! [`Priority::Critical`] (most reliable feasible path) and `(latency, unreliability)` for
//! the others (fastest feasible path).
//!
//! Work is bounded: at most [`ConstrainedSearch::max_labels`] labels are created per query
//! (default [`DEFAULT_MAX_LABELS`]); each costs O(degree + labels at its node). Hitting the cap
//! returns [`QosError::WorkLimit`] rather than a wrong "infeasible".

use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Reverse;

use crate::{NodeId, Priority};

use super::graph::{Graph, unreliability_micros};

/// Default cap on labels per query.
pub const DEFAULT_MAX_LABELS: usize = 16_384;

/// Requirements of a QoS path.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct QosConstraints {
    /// Largest total latency, milliseconds.
    pub max_latency_ms: Option<u32>,
    /// Smallest bandwidth of every link, kbit/s (0: none).
    pub min_bandwidth_kbps: u32,
    /// Largest path loss rate `1 − Π r`, `0..=1`.
    pub max_loss: Option<f64>,
    /// Smallest path delivery probability `Π r`, `0..=1`.
    pub min_reliability: Option<f64>,
    /// Priority of the flow; chooses the search order (see the module documentation).
    pub priority: Priority,
}

impl QosConstraints {
    /// No constraint at `priority`.
    pub const fn new(priority: Priority) -> Self {
        QosConstraints { max_latency_ms: None, min_bandwidth_kbps: 0, max_loss: None, min_reliability: None, priority }
    }

    /// The required delivery probability: the stricter of both bounds, `None` if unbounded.
    pub fn required_reliability(&self) -> Option<f64> {
        let a = self.min_reliability.unwrap_or(0.0);
        let b = self.max_loss.map_or(0.0, |l| 1.0 - l);
        let r = a.max(b);
        (r > 0.0).then_some(r.min(1.0))
    }

    /// The bound on `Σ unreliability` of a path (micro-nats), `None` if unbounded.
    pub fn unreliability_budget(&self) -> Option<u64> {
        self.required_reliability().map(unreliability_micros)
    }
}

/// A path found by [`ConstrainedSearch::find`].
#[derive(Clone, PartialEq, Debug)]
pub struct QosPath {
    /// Nodes from source to destination, both included.
    pub nodes: Vec<NodeId>,
    /// Total latency, milliseconds.
    pub latency_ms: u64,
    /// Σ unreliability, micro-nats.
    pub unreliability: u64,
    /// Delivery probability `exp(−unreliability / 10⁶)`.
    pub reliability: f64,
    /// Smallest bandwidth along the path, kbit/s.
    pub bottleneck_kbps: u32,
}

/// Why no path was returned.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum QosError {
    /// Source or destination is not in the graph.
    UnknownNode,
    /// Source and destination are the same node.
    SameNode,
    /// No path satisfies the constraints (exact).
    Infeasible,
    /// The label cap was reached before an answer; the question is undecided.
    WorkLimit,
}

#[derive(Clone, Copy, Debug)]
struct Label {
    node: u32,
    latency: u64,
    unrel: u64,
    pred: u32,
    bottleneck: u32,
}

/// Reusable state of the constrained search.
#[derive(Clone, Debug)]
pub struct ConstrainedSearch {
    /// Cap on labels created per query.
    pub max_labels: usize,
    labels: Vec<Label>,
    at_node: Vec<Vec<u32>>,
    dead: Vec<bool>,
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
}

impl Default for ConstrainedSearch {
    fn default() -> Self {
        ConstrainedSearch::new(DEFAULT_MAX_LABELS)
    }
}

impl ConstrainedSearch {
    /// A search creating at most `max_labels` labels per query.
    pub fn new(max_labels: usize) -> Self {
        ConstrainedSearch { max_labels, labels: Vec::new(), at_node: Vec::new(), dead: Vec::new(), heap: BinaryHeap::new() }
    }

    /// The best path from `src` to `dst` satisfying `c`, in `graph`. `available`, if given,
    /// overrides each edge's bandwidth (indexed by edge; e.g. capacity minus reservations).
    pub fn find(
        &mut self,
        graph: &Graph,
        src: NodeId,
        dst: NodeId,
        c: &QosConstraints,
        available: Option<&[u32]>,
    ) -> Result<QosPath, QosError> {
        let (Some(s), Some(t)) = (graph.index_of(src), graph.index_of(dst)) else {
            return Err(QosError::UnknownNode);
        };
        if s == t {
            return Err(QosError::SameNode);
        }
        let max_lat = c.max_latency_ms.map_or(u64::MAX, u64::from);
        let budget = c.unreliability_budget().unwrap_or(u64::MAX);
        let critical = c.priority == Priority::Critical;
        self.labels.clear();
        self.dead.clear();
        self.heap.clear();
        self.at_node.resize_with(graph.node_count(), Vec::new);
        self.at_node.iter_mut().for_each(Vec::clear);
        self.push(Label { node: s, latency: 0, unrel: 0, pred: u32::MAX, bottleneck: u32::MAX }, critical);
        while let Some(Reverse((_, _, id))) = self.heap.pop() {
            if self.dead[id as usize] {
                continue;
            }
            let l = self.labels[id as usize];
            if l.node == t {
                return Ok(self.path(graph, id));
            }
            for e in graph.edge_range(l.node) {
                let m = graph.metrics(e);
                let bw = available.map_or(u32::from(m.bandwidth_kbps), |a| a[e]);
                if bw < c.min_bandwidth_kbps {
                    continue;
                }
                let next = Label {
                    node: graph.target(e),
                    latency: l.latency.saturating_add(u64::from(m.latency_ms)),
                    unrel: l.unrel.saturating_add(m.unreliability),
                    pred: id,
                    bottleneck: l.bottleneck.min(bw),
                };
                if next.latency > max_lat || next.unrel > budget {
                    continue;
                }
                let dominated = self.at_node[next.node as usize].iter().any(|&o| {
                    let o = &self.labels[o as usize];
                    o.latency <= next.latency && o.unrel <= next.unrel
                });
                if dominated {
                    continue;
                }
                if self.labels.len() >= self.max_labels {
                    return Err(QosError::WorkLimit);
                }
                for &o in &self.at_node[next.node as usize] {
                    let ol = &self.labels[o as usize];
                    if next.latency <= ol.latency && next.unrel <= ol.unrel {
                        self.dead[o as usize] = true;
                    }
                }
                self.push(next, critical);
            }
        }
        Err(QosError::Infeasible)
    }

    fn push(&mut self, l: Label, critical: bool) {
        let id = self.labels.len() as u32;
        self.labels.push(l);
        self.dead.push(false);
        self.at_node[l.node as usize].push(id);
        let key = if critical { (l.unrel, l.latency, id) } else { (l.latency, l.unrel, id) };
        self.heap.push(Reverse(key));
    }

    fn path(&self, graph: &Graph, id: u32) -> QosPath {
        let l = self.labels[id as usize];
        let mut nodes = Vec::new();
        let mut x = id;
        while x != u32::MAX {
            let lx = &self.labels[x as usize];
            nodes.push(graph.node(lx.node));
            x = lx.pred;
        }
        nodes.reverse();
        QosPath {
            nodes,
            latency_ms: l.latency,
            unreliability: l.unrel,
            reliability: libm::exp(-(l.unrel as f64) / super::graph::UNRELIABILITY_SCALE),
            bottleneck_kbps: l.bottleneck,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::graph::LinkMetrics;

    /// 1 → 4 three ways: via 2 (fast, lossy), via 3 (slow, reliable), via 5 (thin).
    fn graph() -> Graph {
        let l = |a: u64, b: u64, lat: u16, r: f64, bw: u16| (NodeId(a), NodeId(b), LinkMetrics::new(lat, r, 0, bw));
        Graph::from_links([
            l(1, 2, 5, 0.9, 1000),
            l(2, 4, 5, 0.9, 1000),
            l(1, 3, 30, 0.99, 1000),
            l(3, 4, 30, 0.99, 1000),
            l(1, 5, 1, 1.0, 100),
            l(5, 4, 1, 1.0, 100),
        ])
    }

    fn nodes(ids: &[u64]) -> Vec<NodeId> {
        ids.iter().map(|&i| NodeId(i)).collect()
    }

    #[test]
    fn each_constraint_steers_the_path() {
        let g = graph();
        let mut s = ConstrainedSearch::default();
        let mut c = QosConstraints::new(Priority::Normal);
        let p = s.find(&g, NodeId(1), NodeId(4), &c, None).unwrap();
        assert_eq!((p.nodes, p.latency_ms, p.unreliability, p.bottleneck_kbps), (nodes(&[1, 5, 4]), 2, 0, 100));
        c.min_bandwidth_kbps = 500;
        let p = s.find(&g, NodeId(1), NodeId(4), &c, None).unwrap();
        assert_eq!((p.nodes, p.latency_ms, p.unreliability), (nodes(&[1, 2, 4]), 10, 2 * 105_361));
        assert!((p.reliability - 0.81).abs() < 1e-6);
        c.max_loss = Some(0.1); // needs Π r ≥ 0.9: only via 3 (0.9801)
        let p = s.find(&g, NodeId(1), NodeId(4), &c, None).unwrap();
        assert_eq!((p.nodes, p.latency_ms), (nodes(&[1, 3, 4]), 60));
        c.max_latency_ms = Some(59);
        assert_eq!(s.find(&g, NodeId(1), NodeId(4), &c, None), Err(QosError::Infeasible));
        c.max_latency_ms = None;
        c.min_reliability = Some(0.99);
        assert_eq!(s.find(&g, NodeId(1), NodeId(4), &c, None), Err(QosError::Infeasible));
        // Critical prefers reliability: without bandwidth needs, the perfect thin path.
        let crit = QosConstraints::new(Priority::Critical);
        assert_eq!(s.find(&g, NodeId(1), NodeId(4), &crit, None).unwrap().nodes, nodes(&[1, 5, 4]));
        let crit = QosConstraints { min_bandwidth_kbps: 500, ..crit };
        assert_eq!(s.find(&g, NodeId(1), NodeId(4), &crit, None).unwrap().nodes, nodes(&[1, 3, 4]));
        assert_eq!(s.find(&g, NodeId(1), NodeId(9), &crit, None), Err(QosError::UnknownNode));
        assert_eq!(s.find(&g, NodeId(1), NodeId(1), &crit, None), Err(QosError::SameNode));
    }

    #[test]
    fn available_bandwidth_overrides_and_work_is_capped() {
        let g = graph();
        let mut s = ConstrainedSearch::default();
        let c = QosConstraints { min_bandwidth_kbps: 500, ..QosConstraints::new(Priority::High) };
        let mut avail: Vec<u32> = (0..g.edge_count()).map(|e| u32::from(g.metrics(e).bandwidth_kbps)).collect();
        avail[g.edge_between(NodeId(2), NodeId(4)).unwrap()] = 499;
        assert_eq!(s.find(&g, NodeId(1), NodeId(4), &c, Some(&avail)).unwrap().nodes, nodes(&[1, 3, 4]));
        let mut tiny = ConstrainedSearch::new(2);
        assert_eq!(tiny.find(&g, NodeId(1), NodeId(4), &c, None), Err(QosError::WorkLimit));
    }

    #[test]
    fn reliability_bounds_combine() {
        let c = QosConstraints { min_reliability: Some(0.8), ..QosConstraints::new(Priority::Critical) };
        assert_eq!(c.unreliability_budget(), Some(223_144));
        let loose = QosConstraints { max_loss: Some(0.5), min_reliability: Some(0.3), ..c };
        assert_eq!(loose.required_reliability(), Some(0.5));
        assert_eq!(QosConstraints::new(Priority::Normal).unreliability_budget(), None);
    }
}
