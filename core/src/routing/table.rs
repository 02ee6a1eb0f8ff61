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

/// Largest graph whose every route the table can store: next hops (dense indices) and hop
/// counts are 16-bit. In a larger graph (beyond any BLE mesh; only a database flooded with
/// invented origins gets there) the routes through or to indices past it are left out, and
/// frames to those destinations are flooded.
pub const MAX_TABLE_NODES: usize = NO_SLOT as usize;

/// `Slot::next` of "no route".
const NO_SLOT: u16 = u16::MAX;

/// One stored route, 12 bytes (an `Option<Route>` takes 32): the cost in two 32-bit halves
/// (so the slot is 4-aligned), the next hop as a 16-bit index into the table's destinations
/// (the graph's dense index; [`NO_SLOT`] for none), the hop count.
#[derive(Clone, Copy, Debug)]
struct Slot {
    cost: [u32; 2],
    next: u16,
    hops: u16,
}

impl Slot {
    const NONE: Slot = Slot { cost: [0; 2], next: NO_SLOT, hops: 0 };

    /// The slot of a route, if its next hop index and hop count fit (always below
    /// [`MAX_TABLE_NODES`] nodes).
    fn new(cost: u64, next: u32, hops: u32) -> Option<Slot> {
        let next = u16::try_from(next).ok().filter(|n| *n != NO_SLOT)?;
        let hops = u16::try_from(hops).ok()?;
        Some(Slot { cost: [cost as u32, (cost >> 32) as u32], next, hops })
    }

    fn cost(&self) -> u64 {
        u64::from(self.cost[0]) | (u64::from(self.cost[1]) << 32)
    }
}

/// The statistics of one (destination, priority) that has any, and the primary next hop
/// they were recorded for ([`NodeId::NONE`] when there was no primary).
#[derive(Clone, Copy, Debug)]
struct StatEntry {
    dest: NodeId,
    via: NodeId,
    stats: RouteStats,
    priority: u8,
}

/// The routing table of one node. See the [module documentation](self).
///
/// Storage, per destination: its id and eight 12-byte route slots (primary and backup of
/// each policy); statistics only for the (destination, priority) pairs that were used, in a
/// list sorted by both. A recomputation rewrites the slots in place and drops the statistics
/// whose primary next hop changed (no second copy of the table is kept).
#[derive(Clone, Debug, Default)]
pub struct RoutingTable {
    me: NodeId,
    dests: Vec<NodeId>,
    /// `[primary, backup]` of each priority, by destination index.
    slots: Vec<[[Slot; 2]; 4]>,
    /// Statistics of the routes used, sorted by (destination, priority).
    stats: Vec<StatEntry>,
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
        let n = graph.node_count();
        self.dests.clear();
        reserve_to(&mut self.dests, n);
        self.dests.extend_from_slice(graph.nodes());
        self.slots.clear();
        reserve_to(&mut self.slots, n);
        self.slots.resize(n, [[Slot::NONE; 2]; 4]);
        if let Some(s) = graph.index_of(self.me) {
            for (p, policy) in policies.iter().enumerate() {
                self.compute_policy(graph, s, p, policy, spf);
            }
        }
        self.merge_stats(graph);
    }

    fn compute_policy(&mut self, graph: &Graph, s: u32, p: usize, policy: &Policy, spf: &mut Spf) {
        self.weights.clear();
        reserve_to(&mut self.weights, graph.edge_count());
        self.weights.extend((0..graph.edge_count()).map(|e| policy.link_cost(&graph.metrics(e))));
        spf.run(graph, s, &self.weights, None);
        let n = graph.node_count() as u32;
        self.primary_first.clear();
        reserve_to(&mut self.primary_first, n as usize);
        self.primary_first.extend((0..n).map(|v| spf.first_hop(v)));
        for v in 0..n {
            let fh = self.primary_first[v as usize];
            if fh != NO_NODE {
                let d = spf.dist(v);
                self.slots[v as usize][p][0] = Slot::new(d.cost, fh, d.hops).unwrap_or(Slot::NONE);
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
                    self.slots[v as usize][p][1] = Slot::new(d.cost, fh, d.hops).unwrap_or(Slot::NONE);
                }
            }
        }
    }

    /// The primary next hop towards destination index `i` at priority `p`, or
    /// [`NodeId::NONE`].
    fn primary_via(&self, i: usize, p: usize) -> NodeId {
        let next = self.slots[i][p][0].next;
        if next == NO_SLOT { NodeId::NONE } else { self.dests[usize::from(next)] }
    }

    /// After a recomputation: keeps the statistics whose destination is still known with the
    /// same primary next hop as when they were recorded; the others reset (are dropped).
    fn merge_stats(&mut self, graph: &Graph) {
        let mut stats = core::mem::take(&mut self.stats);
        stats.retain(|st| {
            let Some(i) = graph.index_of(st.dest) else { return false };
            st.via != NodeId::NONE && st.via == self.primary_via(i as usize, usize::from(st.priority))
        });
        self.stats = stats;
    }

    fn find_stats(&self, dest: NodeId, priority: usize) -> Result<usize, usize> {
        self.stats.binary_search_by_key(&(dest, priority as u8), |st| (st.dest, st.priority))
    }

    fn slot(&self, dest: NodeId, graph: &Graph) -> Option<usize> {
        let i = graph.index_of(dest)? as usize;
        (self.dests.get(i) == Some(&dest)).then_some(i)
    }

    fn route_at(&self, slot: Slot) -> Option<Route> {
        (slot.next != NO_SLOT).then(|| Route {
            next_hop: self.dests[usize::from(slot.next)],
            cost: slot.cost(),
            hops: u32::from(slot.hops),
        })
    }

    fn entry_at(&self, i: usize, p: usize) -> RouteEntry {
        let [primary, backup] = self.slots[i][p];
        RouteEntry {
            primary: self.route_at(primary),
            backup: self.route_at(backup),
            stats: self.find_stats(self.dests[i], p).map_or_else(|_| RouteStats::default(), |j| self.stats[j].stats),
        }
    }

    /// The routes to `dest` at `priority`. `graph` must be the one last passed to
    /// [`compute`](Self::compute) (it provides the O(1) id → index map).
    pub fn entry(&self, graph: &Graph, dest: NodeId, priority: Priority) -> Option<RouteEntry> {
        let i = self.slot(dest, graph)?;
        Some(self.entry_at(i, priority as usize))
    }

    /// The primary next hop towards `dest` at `priority`; O(1), no allocation.
    pub fn next_hop(&self, graph: &Graph, dest: NodeId, priority: Priority) -> Option<NodeId> {
        let i = self.slot(dest, graph)?;
        self.route_at(self.slots[i][priority as usize][0]).map(|r| r.next_hop)
    }

    fn stats_mut(&mut self, graph: &Graph, dest: NodeId, priority: Priority) -> Option<&mut RouteStats> {
        let i = self.slot(dest, graph)?;
        let p = priority as usize;
        let j = match self.find_stats(dest, p) {
            Ok(j) => j,
            Err(j) => {
                // Grown a quarter at a time: a route used once keeps its room.
                if self.stats.len() == self.stats.capacity() {
                    self.stats.reserve_exact((self.stats.len() / 4).max(4));
                }
                let via = self.primary_via(i, p);
                self.stats.insert(j, StatEntry { dest, via, stats: RouteStats::default(), priority: p as u8 });
                j
            }
        };
        Some(&mut self.stats[j].stats)
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
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, [RouteEntry; 4])> + '_ {
        self.dests.iter().enumerate().map(|(i, d)| (*d, core::array::from_fn(|p| self.entry_at(i, p))))
    }
}

/// Grows `v`'s capacity to exactly `n` when it is smaller (no doubling: a table rebuilt for
/// the same mesh keeps its room, so steady state allocates nothing).
fn reserve_to<T>(v: &mut Vec<T>, n: usize) {
    if v.capacity() < n {
        v.reserve_exact(n - v.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::graph::LinkMetrics;

    /// In a line longer than [`MAX_TABLE_NODES`], the routes whose hop count does not fit
    /// 16 bits are left out; the others are exact.
    #[test]
    fn routes_beyond_the_slot_range_are_left_out() {
        let n = MAX_TABLE_NODES as u64 + 2;
        let m = LinkMetrics::new(1, 1.0, 0, 100);
        let graph = Graph::from_links((1..n).map(|i| (NodeId(i), NodeId(i + 1), m)));
        assert_eq!(graph.node_count(), MAX_TABLE_NODES + 2);
        let mut table = RoutingTable::new(NodeId(1));
        table.compute(&graph, &Policy::DEFAULTS, &mut Spf::new());
        let route = |d: u64| table.entry(&graph, NodeId(d), Priority::Normal).unwrap().primary;
        assert_eq!(route(2).map(|r| (r.next_hop, r.hops)), Some((NodeId(2), 1)));
        let last = NodeId(1 + u64::from(u16::MAX));
        assert_eq!(route(last.0).map(|r| (r.next_hop, r.hops)), Some((NodeId(2), u32::from(u16::MAX))));
        assert_eq!(route(last.0 + 1), None, "65,536 hops do not fit a slot");
        assert_eq!(table.next_hop(&graph, NodeId(n), Priority::Normal), None);
    }
}
