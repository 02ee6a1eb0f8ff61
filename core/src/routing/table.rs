//! The routing table: per destination and per priority, a primary and a backup route.
//!
//! [`RoutingTable::compute`] runs, for each of the four policies, one Dijkstra from the local
//! node for the primaries, then one more per neighbour used as a primary first hop, for the
//! backups. Entries are stored by the graph's dense node index, so a lookup is one O(1) id →
//! index step and one array index, without allocation.
//!
//! **Backup disjointness.** For a destination `d` whose primary first hop is `n`:
//! * if `d ≠ n`, the backup path does not go through `n` at all (its first hop differs and it
//!   is node-disjoint from the primary's first relay), so it survives the loss of `n` or of
//!   the link to `n`;
//! * if `d = n` (a direct neighbour), the backup does not use the direct link, and goes
//!   around through other neighbours.
//!
//! Backups are computed from this node's view only; they are meant for the moment the primary
//! first hop has just failed, before the next recomputation.
//!
//! Per-route statistics ([`RouteStats`]: successes, failures, last use) survive a
//! recomputation when the destination keeps the same primary next hop, and reset otherwise.

use alloc::vec::Vec;

use crate::{Instant, NodeId, Priority};

use super::graph::Graph;
use super::policy::Policy;
use super::spf::{NO_NODE, Spf};

/// One route: where to send and what it costs.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Route {
    /// The neighbour to hand the frame to.
    pub next_hop: NodeId,
    /// Path cost under the route's policy.
    pub cost: u64,
    /// Number of links to the destination.
    pub hops: u32,
}

/// Delivery statistics of one (destination, priority) route.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub struct RouteStats {
    /// Deliveries confirmed over the route.
    pub successes: u32,
    /// Deliveries that failed over the route.
    pub failures: u32,
    /// When the route was last used.
    pub last_used: Option<Instant>,
}

impl RouteStats {
    /// `successes / (successes + failures)`, `None` before any outcome was recorded.
    pub fn success_rate(&self) -> Option<f64> {
        let total = u64::from(self.successes) + u64::from(self.failures);
        (total > 0).then(|| f64::from(self.successes) / total as f64)
    }
}

/// The routes of one (destination, priority).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub struct RouteEntry {
    /// Best route under the priority's policy.
    pub primary: Option<Route>,
    /// Best route disjoint from the primary (see the [module documentation](self)).
    pub backup: Option<Route>,
    /// Outcomes recorded for this destination and priority.
    pub stats: RouteStats,
}

/// The routing table of one node. See the [module documentation](self).
#[derive(Clone, Debug, Default)]
pub struct RoutingTable {
    me: NodeId,
    dests: Vec<NodeId>,
    entries: Vec<[RouteEntry; 4]>,
    old_dests: Vec<NodeId>,
    old_entries: Vec<[RouteEntry; 4]>,
    weights: Vec<u64>,
    primary_first: Vec<u32>,
}

impl RoutingTable {
    /// An empty table of node `me`.
    pub fn new(me: NodeId) -> Self {
        RoutingTable { me, ..RoutingTable::default() }
    }

    /// The local node.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// Recomputes every route over `graph` with `policies[p as usize]` for priority `p`.
    /// Reuses all buffers: with a graph of unchanged size it does not allocate.
    pub fn compute(&mut self, graph: &Graph, policies: &[Policy; 4], spf: &mut Spf) {
        core::mem::swap(&mut self.dests, &mut self.old_dests);
        core::mem::swap(&mut self.entries, &mut self.old_entries);
        let n = graph.node_count();
        self.dests.clear();
        self.dests.extend_from_slice(graph.nodes());
        self.entries.clear();
        self.entries.resize(n, [RouteEntry::default(); 4]);
        if let Some(s) = graph.index_of(self.me) {
            for (p, policy) in policies.iter().enumerate() {
                self.compute_policy(graph, s, p, policy, spf);
            }
        }
        self.merge_stats();
    }

    fn compute_policy(&mut self, graph: &Graph, s: u32, p: usize, policy: &Policy, spf: &mut Spf) {
        self.weights.clear();
        self.weights.extend((0..graph.edge_count()).map(|e| policy.link_cost(graph.metrics(e))));
        spf.run(graph, s, &self.weights, None);
        let n = graph.node_count() as u32;
        self.primary_first.clear();
        self.primary_first.extend((0..n).map(|v| spf.first_hop(v)));
        for v in 0..n {
            let fh = self.primary_first[v as usize];
            if fh != NO_NODE {
                let d = spf.dist(v);
                self.entries[v as usize][p].primary =
                    Some(Route { next_hop: graph.node(fh), cost: d.cost, hops: d.hops });
            }
        }
        for e in graph.edge_range(s) {
            let nb = graph.target(e);
            if !self.primary_first.contains(&nb) {
                continue;
            }
            spf.run(graph, s, &self.weights, Some(nb));
            for v in 0..n {
                let fh = spf.first_hop(v);
                if self.primary_first[v as usize] == nb && fh != NO_NODE {
                    let d = spf.dist(v);
                    self.entries[v as usize][p].backup =
                        Some(Route { next_hop: graph.node(fh), cost: d.cost, hops: d.hops });
                }
            }
        }
    }

    /// Carries statistics over from the previous table where the primary next hop is the same.
    fn merge_stats(&mut self) {
        let (mut i, mut j) = (0, 0);
        while i < self.dests.len() && j < self.old_dests.len() {
            match self.dests[i].cmp(&self.old_dests[j]) {
                core::cmp::Ordering::Less => i += 1,
                core::cmp::Ordering::Greater => j += 1,
                core::cmp::Ordering::Equal => {
                    for p in 0..4 {
                        let old = &self.old_entries[j][p];
                        let new = &mut self.entries[i][p];
                        if let (Some(a), Some(b)) = (old.primary, new.primary) {
                            if a.next_hop == b.next_hop {
                                new.stats = old.stats;
                            }
                        }
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
    }

    fn slot(&self, dest: NodeId, graph: &Graph) -> Option<usize> {
        let i = graph.index_of(dest)? as usize;
        (self.dests.get(i) == Some(&dest)).then_some(i)
    }

    /// The routes to `dest` at `priority`. `graph` must be the one last passed to
    /// [`compute`](Self::compute) (it provides the O(1) id → index map).
    pub fn entry(&self, graph: &Graph, dest: NodeId, priority: Priority) -> Option<&RouteEntry> {
        let i = self.slot(dest, graph)?;
        Some(&self.entries[i][priority as usize])
    }

    /// The primary next hop towards `dest` at `priority`; O(1), no allocation.
    pub fn next_hop(&self, graph: &Graph, dest: NodeId, priority: Priority) -> Option<NodeId> {
        self.entry(graph, dest, priority)?.primary.map(|r| r.next_hop)
    }

    fn stats_mut(&mut self, graph: &Graph, dest: NodeId, priority: Priority) -> Option<&mut RouteStats> {
        let i = self.slot(dest, graph)?;
        Some(&mut self.entries[i][priority as usize].stats)
    }

    /// Records that the route to `dest` at `priority` was used at `now`.
    pub fn record_use(&mut self, graph: &Graph, dest: NodeId, priority: Priority, now: Instant) {
        if let Some(s) = self.stats_mut(graph, dest, priority) {
            s.last_used = Some(now);
        }
    }

    /// Records a delivery outcome of the route to `dest` at `priority` (also a use at `now`).
    pub fn record_outcome(&mut self, graph: &Graph, dest: NodeId, priority: Priority, success: bool, now: Instant) {
        if let Some(s) = self.stats_mut(graph, dest, priority) {
            if success {
                s.successes = s.successes.saturating_add(1);
            } else {
                s.failures = s.failures.saturating_add(1);
            }
            s.last_used = Some(now);
        }
    }

    /// All destinations with their four entries, by ascending id.
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, &[RouteEntry; 4])> + '_ {
        self.dests.iter().copied().zip(self.entries.iter())
    }
}
