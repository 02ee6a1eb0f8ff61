//! Admission control: bandwidth reservations along paths, congestion levels, preemption.
//!
//! A flow reserves `bandwidth_kbps` on every directed link of its path. A link's capacity is
//! its bandwidth in the [`Graph`]. A request is refused ([`Refusal`]) when:
//! 1. it is malformed (duplicate flow id, zero bandwidth, path of fewer than two nodes),
//! 2. a link of the path is not in the graph,
//! 3. the **max-flow** between the path's ends over the residual capacities is below the
//!    request: no routing at all could carry it ([`Refusal::ExceedsMaxFlow`]),
//! 4. a link of the given path lacks residual bandwidth (another path may fit: search one
//!    with [`ConstrainedSearch`](super::constrained::ConstrainedSearch) over
//!    [`Admission::available`]),
//! 5. a non-critical flow would bring a node of its path to [`CongestionLevel::Critical`].
//!
//! **Congestion level of a node**: utilisation = bandwidth reserved on all links the node sends
//! or receives on ÷ the summed capacity of those links (both directions):
//! below 50 % low, below 75 % medium, below 90 % high, from 90 % critical.
//!
//! **Preemption**: a critical flow may take a node to the critical level (non-critical ones may
//! not); capacity may also shrink under existing flows. Then non-critical flows through each
//! critical node are preempted, lowest priority first, most recently admitted first, until
//! the node is below critical; the preempted flows are returned so the node can notify their
//! sources.
//!
//! Reservations end on [`Admission::release`] (completion), on [`Admission::expire`] (no
//! refresh within the flow's timeout) and on [`Admission::on_topology`] (a link of the path
//! disappeared).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::time::Duration;

use crate::{Instant, NodeId, Priority};

use super::graph::Graph;
use super::maxflow::MaxFlow;

/// A flow identifier, chosen by the flow's source.
pub type FlowId = u32;

/// Congestion of a node by utilisation (see the module documentation for thresholds).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
pub enum CongestionLevel {
    /// Below 50 %.
    Low,
    /// 50 % to below 75 %.
    Medium,
    /// 75 % to below 90 %.
    High,
    /// 90 % and above.
    Critical,
}

impl CongestionLevel {
    /// The level of utilisation `reserved / capacity` (no capacity: critical if anything is
    /// reserved, low otherwise).
    pub fn of(reserved: u64, capacity: u64) -> CongestionLevel {
        if capacity == 0 {
            return if reserved > 0 { CongestionLevel::Critical } else { CongestionLevel::Low };
        }
        let (r, c) = (u128::from(reserved), u128::from(capacity));
        if r * 100 >= c * 90 {
            CongestionLevel::Critical
        } else if r * 100 >= c * 75 {
            CongestionLevel::High
        } else if r * 100 >= c * 50 {
            CongestionLevel::Medium
        } else {
            CongestionLevel::Low
        }
    }
}

/// Why a reservation was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Refusal {
    /// A flow with this id is already admitted.
    DuplicateFlow,
    /// Zero bandwidth requested.
    ZeroBandwidth,
    /// The path has fewer than two nodes or repeats a node.
    InvalidPath,
    /// A link of the path is not in the graph.
    LinkDown {
        /// Sending end.
        from: NodeId,
        /// Receiving end.
        to: NodeId,
    },
    /// Even the best routing could carry at most `max_flow` kbit/s between the ends.
    ExceedsMaxFlow {
        /// The residual max-flow, kbit/s.
        max_flow: u64,
    },
    /// A link of the path has only `available` kbit/s left.
    InsufficientBandwidth {
        /// Sending end.
        from: NodeId,
        /// Receiving end.
        to: NodeId,
        /// Residual bandwidth, kbit/s.
        available: u64,
    },
    /// The flow would make `node` critically congested, and it is not critical itself.
    Congested {
        /// The node.
        node: NodeId,
    },
}

/// An admitted flow.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Flow {
    /// Its id.
    pub id: FlowId,
    /// Its priority.
    pub priority: Priority,
    /// Reserved bandwidth on each link, kbit/s.
    pub bandwidth_kbps: u64,
    /// Its path, source first.
    pub path: Vec<NodeId>,
    /// When it was admitted.
    pub admitted_at: Instant,
    /// When it expires unless refreshed.
    pub expires_at: Instant,
    /// Lifetime granted by each refresh.
    pub timeout: Duration,
}

/// A flow removed to relieve a critically congested node.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Preemption {
    /// The preempted flow.
    pub flow: FlowId,
    /// Its priority.
    pub priority: Priority,
    /// The critical node it was preempted at.
    pub node: NodeId,
}

/// What a topology change did to the reservations.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct TopologyOutcome {
    /// Flows released because a link of their path is gone.
    pub lost: Vec<FlowId>,
    /// Flows preempted because capacity shrank.
    pub preempted: Vec<Preemption>,
}

/// The reservation ledger. See the [module documentation](self).
#[derive(Clone, Debug, Default)]
pub struct Admission {
    flows: BTreeMap<FlowId, Flow>,
    reserved: BTreeMap<(NodeId, NodeId), u64>,
    maxflow: MaxFlow,
}

impl Admission {
    /// An empty ledger.
    pub fn new() -> Self {
        Admission::default()
    }

    /// Admitted flows by id.
    pub fn flows(&self) -> impl Iterator<Item = &Flow> + '_ {
        self.flows.values()
    }

    /// The flow `id`, if admitted.
    pub fn flow(&self, id: FlowId) -> Option<&Flow> {
        self.flows.get(&id)
    }

    /// Bandwidth reserved on the directed link `from → to`.
    pub fn reserved(&self, from: NodeId, to: NodeId) -> u64 {
        self.reserved.get(&(from, to)).copied().unwrap_or(0)
    }

    /// Residual bandwidth of every edge of `graph` (capacity − reserved), for QoS search.
    pub fn available(&self, graph: &Graph) -> Vec<u32> {
        self.residual(graph).into_iter().map(|c| u32::try_from(c).unwrap_or(u32::MAX)).collect()
    }

    fn residual(&self, graph: &Graph) -> Vec<u64> {
        let mut out = Vec::with_capacity(graph.edge_count());
        for u in 0..graph.node_count() as u32 {
            for e in graph.edge_range(u) {
                let cap = u64::from(graph.metrics(e).bandwidth_kbps);
                out.push(cap.saturating_sub(self.reserved(graph.node(u), graph.node(graph.target(e)))));
            }
        }
        out
    }

    /// The max-flow from `src` to `dst` over residual capacities, kbit/s.
    pub fn max_flow(&mut self, graph: &Graph, src: NodeId, dst: NodeId) -> u64 {
        let caps = self.residual(graph);
        self.maxflow.between(graph, &caps, src, dst)
    }

    /// `(reserved, capacity)` over all links `node` sends or receives on.
    pub fn load(&self, graph: &Graph, node: NodeId) -> (u64, u64) {
        let Some(u) = graph.index_of(node) else { return (0, 0) };
        let (mut r, mut c) = (0u64, 0u64);
        for e in graph.edge_range(u) {
            let v = graph.node(graph.target(e));
            r += self.reserved(node, v) + self.reserved(v, node);
            c += 2 * u64::from(graph.metrics(e).bandwidth_kbps);
        }
        (r, c)
    }

    /// The congestion level of `node`.
    pub fn congestion(&self, graph: &Graph, node: NodeId) -> CongestionLevel {
        let (r, c) = self.load(graph, node);
        CongestionLevel::of(r, c)
    }

    /// Asks to reserve `bandwidth_kbps` along `path` for flow `id`, valid `timeout` from `now`.
    /// On success returns the flows preempted to make room (only a critical flow preempts).
    #[allow(clippy::too_many_arguments)]
    pub fn reserve(
        &mut self,
        graph: &Graph,
        id: FlowId,
        priority: Priority,
        bandwidth_kbps: u64,
        path: &[NodeId],
        now: Instant,
        timeout: Duration,
    ) -> Result<Vec<Preemption>, Refusal> {
        if self.flows.contains_key(&id) {
            return Err(Refusal::DuplicateFlow);
        }
        if bandwidth_kbps == 0 {
            return Err(Refusal::ZeroBandwidth);
        }
        let repeats = path.iter().enumerate().any(|(i, n)| path[..i].contains(n));
        if path.len() < 2 || repeats {
            return Err(Refusal::InvalidPath);
        }
        for w in path.windows(2) {
            if graph.edge_between(w[0], w[1]).is_none() {
                return Err(Refusal::LinkDown { from: w[0], to: w[1] });
            }
        }
        let max_flow = self.max_flow(graph, path[0], path[path.len() - 1]);
        if max_flow < bandwidth_kbps {
            return Err(Refusal::ExceedsMaxFlow { max_flow });
        }
        for w in path.windows(2) {
            let e = graph.edge_between(w[0], w[1]).unwrap_or(0);
            let available = u64::from(graph.metrics(e).bandwidth_kbps).saturating_sub(self.reserved(w[0], w[1]));
            if available < bandwidth_kbps {
                return Err(Refusal::InsufficientBandwidth { from: w[0], to: w[1], available });
            }
        }
        self.add(path, bandwidth_kbps);
        if priority != Priority::Critical {
            if let Some(&node) = path.iter().find(|n| self.congestion(graph, **n) == CongestionLevel::Critical) {
                self.remove(path, bandwidth_kbps);
                return Err(Refusal::Congested { node });
            }
        }
        let flow = Flow {
            id,
            priority,
            bandwidth_kbps,
            path: path.to_vec(),
            admitted_at: now,
            expires_at: now + timeout,
            timeout,
        };
        self.flows.insert(id, flow);
        Ok(self.enforce(graph))
    }

    fn add(&mut self, path: &[NodeId], bw: u64) {
        for w in path.windows(2) {
            *self.reserved.entry((w[0], w[1])).or_insert(0) += bw;
        }
    }

    fn remove(&mut self, path: &[NodeId], bw: u64) {
        for w in path.windows(2) {
            if let Some(r) = self.reserved.get_mut(&(w[0], w[1])) {
                *r = r.saturating_sub(bw);
                if *r == 0 {
                    self.reserved.remove(&(w[0], w[1]));
                }
            }
        }
    }

    /// Ends flow `id` (completed or cancelled). Returns whether it was admitted.
    pub fn release(&mut self, id: FlowId) -> bool {
        match self.flows.remove(&id) {
            Some(f) => {
                self.remove(&f.path, f.bandwidth_kbps);
                true
            }
            None => false,
        }
    }

    /// Extends flow `id` by its timeout from `now` (the source is still sending).
    pub fn refresh(&mut self, id: FlowId, now: Instant) -> bool {
        match self.flows.get_mut(&id) {
            Some(f) => {
                f.expires_at = now + f.timeout;
                true
            }
            None => false,
        }
    }

    /// Releases the flows whose timeout passed at `now`; returns their ids, ascending.
    pub fn expire(&mut self, now: Instant) -> Vec<FlowId> {
        let gone: Vec<FlowId> = self.flows.values().filter(|f| f.expires_at <= now).map(|f| f.id).collect();
        for id in &gone {
            self.release(*id);
        }
        gone
    }

    /// Applies a new graph: releases flows over vanished links, then preempts where capacity
    /// shrank below the critical threshold.
    pub fn on_topology(&mut self, graph: &Graph) -> TopologyOutcome {
        let lost: Vec<FlowId> = self
            .flows
            .values()
            .filter(|f| f.path.windows(2).any(|w| graph.edge_between(w[0], w[1]).is_none()))
            .map(|f| f.id)
            .collect();
        for id in &lost {
            self.release(*id);
        }
        TopologyOutcome { lost, preempted: self.enforce(graph) }
    }

    /// Preempts non-critical flows at critically congested nodes (ascending node id).
    fn enforce(&mut self, graph: &Graph) -> Vec<Preemption> {
        let mut out = Vec::new();
        for i in 0..graph.node_count() as u32 {
            let node = graph.node(i);
            while self.congestion(graph, node) == CongestionLevel::Critical {
                let victim = self
                    .flows
                    .values()
                    .filter(|f| f.priority != Priority::Critical && f.path.contains(&node))
                    .max_by_key(|f| (f.priority, f.admitted_at, f.id));
                let Some(v) = victim else { break };
                let (flow, priority) = (v.id, v.priority);
                self.release(flow);
                out.push(Preemption { flow, priority, node });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::graph::LinkMetrics;
    use alloc::vec;

    /// 1 — 2 — 3 at `fast` kbit/s, 1 — 4 — 3 at 500 kbit/s.
    fn graph(fast: u16) -> Graph {
        let l = |a: u64, b: u64, bw: u16| (NodeId(a), NodeId(b), LinkMetrics::new(1, 1.0, 0, bw));
        Graph::from_links([l(1, 2, fast), l(2, 3, fast), l(1, 4, 500), l(4, 3, 500)])
    }

    fn p(ids: &[u64]) -> Vec<NodeId> {
        ids.iter().map(|&i| NodeId(i)).collect()
    }

    const T: Duration = Duration::from_secs(10);

    #[test]
    fn thresholds() {
        assert_eq!(CongestionLevel::of(49, 100), CongestionLevel::Low);
        assert_eq!(CongestionLevel::of(50, 100), CongestionLevel::Medium);
        assert_eq!(CongestionLevel::of(75, 100), CongestionLevel::High);
        assert_eq!(CongestionLevel::of(89, 100), CongestionLevel::High);
        assert_eq!(CongestionLevel::of(90, 100), CongestionLevel::Critical);
        assert_eq!(CongestionLevel::of(0, 0), CongestionLevel::Low);
        assert_eq!(CongestionLevel::of(1, 0), CongestionLevel::Critical);
    }

    #[test]
    fn refusals_say_why() {
        let g = graph(1000);
        let mut a = Admission::new();
        let now = Instant::ZERO;
        assert_eq!(a.reserve(&g, 1, Priority::Normal, 400, &p(&[1, 2, 3]), now, T), Ok(vec![]));
        assert_eq!(a.reserved(NodeId(1), NodeId(2)), 400);
        assert_eq!(a.reserved(NodeId(2), NodeId(1)), 0);
        assert_eq!(a.load(&g, NodeId(2)), (800, 4000));
        assert_eq!(a.congestion(&g, NodeId(2)), CongestionLevel::Low);
        assert_eq!(a.reserve(&g, 1, Priority::Normal, 1, &p(&[1, 2]), now, T), Err(Refusal::DuplicateFlow));
        assert_eq!(a.reserve(&g, 2, Priority::Normal, 0, &p(&[1, 2]), now, T), Err(Refusal::ZeroBandwidth));
        assert_eq!(a.reserve(&g, 2, Priority::Normal, 1, &p(&[1]), now, T), Err(Refusal::InvalidPath));
        assert_eq!(a.reserve(&g, 2, Priority::Normal, 1, &p(&[1, 2, 1]), now, T), Err(Refusal::InvalidPath));
        assert_eq!(
            a.reserve(&g, 2, Priority::Normal, 1, &p(&[1, 3]), now, T),
            Err(Refusal::LinkDown { from: NodeId(1), to: NodeId(3) })
        );
        assert_eq!(a.max_flow(&g, NodeId(1), NodeId(3)), 600 + 500);
        assert_eq!(
            a.reserve(&g, 2, Priority::Critical, 1200, &p(&[1, 2, 3]), now, T),
            Err(Refusal::ExceedsMaxFlow { max_flow: 1100 })
        );
        assert_eq!(
            a.reserve(&g, 2, Priority::Normal, 700, &p(&[1, 2, 3]), now, T),
            Err(Refusal::InsufficientBandwidth { from: NodeId(1), to: NodeId(2), available: 600 })
        );
        let avail = a.available(&g);
        assert_eq!(avail[g.edge_between(NodeId(1), NodeId(2)).unwrap()], 600);
        assert_eq!(avail[g.edge_between(NodeId(2), NodeId(1)).unwrap()], 1000);
        assert_eq!(a.flows().count(), 1);
    }

    #[test]
    fn critical_flows_preempt_at_critical_congestion() {
        let g = graph(1000);
        let mut a = Admission::new();
        a.reserve(&g, 1, Priority::Normal, 400, &p(&[1, 2, 3]), Instant::from_secs(1), T).unwrap();
        a.reserve(&g, 2, Priority::Background, 450, &p(&[1, 4, 3]), Instant::from_secs(2), T).unwrap();
        // 4 would carry 1800 of its 2000: a normal flow may not do that.
        assert_eq!(
            a.reserve(&g, 3, Priority::Normal, 450, &p(&[3, 4, 1]), Instant::from_secs(3), T),
            Err(Refusal::Congested { node: NodeId(4) })
        );
        assert_eq!(a.load(&g, NodeId(4)), (900, 2000));
        // A critical one may, and the background flow through 4 makes room.
        let pre = a.reserve(&g, 4, Priority::Critical, 450, &p(&[3, 4, 1]), Instant::from_secs(4), T).unwrap();
        assert_eq!(pre, vec![Preemption { flow: 2, priority: Priority::Background, node: NodeId(4) }]);
        assert!(a.flow(2).is_none());
        assert_eq!(a.load(&g, NodeId(4)), (900, 2000));
        assert_eq!(a.reserved(NodeId(1), NodeId(4)), 0);
    }

    #[test]
    fn capacity_loss_preempts_newest_and_link_loss_releases() {
        let mut a = Admission::new();
        let g = graph(1000);
        a.reserve(&g, 1, Priority::Normal, 400, &p(&[1, 2, 3]), Instant::from_secs(1), T).unwrap();
        a.reserve(&g, 2, Priority::Normal, 400, &p(&[3, 2, 1]), Instant::from_secs(2), T).unwrap();
        a.reserve(&g, 3, Priority::Critical, 450, &p(&[3, 4, 1]), Instant::from_secs(3), T).unwrap();
        // 1 — 2 — 3 shrinks to 420: node 2 carries 1600 of 1680.
        let out = a.on_topology(&graph(420));
        assert_eq!(out, TopologyOutcome {
            lost: vec![],
            preempted: vec![Preemption { flow: 2, priority: Priority::Normal, node: NodeId(2) }]
        });
        // The 2 — 3 link disappears.
        let l = |a: u64, b: u64, bw: u16| (NodeId(a), NodeId(b), LinkMetrics::new(1, 1.0, 0, bw));
        let cut = Graph::from_links([l(1, 2, 1000), l(1, 4, 500), l(4, 3, 500)]);
        assert_eq!(a.on_topology(&cut), TopologyOutcome { lost: vec![1], preempted: vec![] });
        assert_eq!(a.reserved(NodeId(1), NodeId(2)), 0);
        assert_eq!(a.flows().map(|f| f.id).collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn timeouts_and_release() {
        let g = graph(1000);
        let mut a = Admission::new();
        a.reserve(&g, 1, Priority::High, 100, &p(&[1, 2]), Instant::from_secs(0), T).unwrap();
        a.reserve(&g, 2, Priority::High, 100, &p(&[2, 3]), Instant::from_secs(0), T).unwrap();
        a.reserve(&g, 3, Priority::High, 100, &p(&[3, 4]), Instant::from_secs(0), T).unwrap();
        assert!(a.refresh(2, Instant::from_secs(5)));
        assert!(!a.refresh(9, Instant::from_secs(5)));
        assert!(a.release(3));
        assert!(!a.release(3));
        assert_eq!(a.expire(Instant::from_secs(9)), Vec::<FlowId>::new());
        assert_eq!(a.expire(Instant::from_secs(10)), vec![1]);
        assert_eq!(a.flow(2).unwrap().expires_at, Instant::from_secs(15));
        assert_eq!(a.expire(Instant::from_secs(15)), vec![2]);
        assert_eq!(a.reserved(NodeId(2), NodeId(3)), 0);
        assert_eq!(a.load(&g, NodeId(3)), (0, 3000));
    }
}
