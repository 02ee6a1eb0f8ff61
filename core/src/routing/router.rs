//! [`Router`]: the link-state database, the graph and the routing table of one node, kept in
//! step.
//!
//! The node feeds it:
//! * every topology advert it accepts, **its own included** ([`Router::handle_advert`]; a link
//!   only counts once both ends report it, so the local node's own advert must be there);
//! * battery levels heard in announcements or heartbeats ([`Router::set_battery`]);
//! * the passage of time ([`Router::expire`]).
//!
//! then calls [`Router::refresh`], which rebuilds the graph and the table only when the
//! database's topology version moved, and asks [`Router::next_hop`] per frame.

use core::time::Duration;

use crate::wire::messages::LinkEntry;
use crate::{Instant, NodeId, Priority};

use super::graph::Graph;
use super::lsdb::{InsertOutcome, LinkAdvert, LinkStateDb};
use super::policy::Policy;
use super::spf::Spf;
use super::table::{RouteEntry, RoutingTable};

/// The routing state of one node. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct Router {
    lsdb: LinkStateDb,
    graph: Graph,
    spf: Spf,
    table: RoutingTable,
    policies: [Policy; 4],
    computed: Option<u64>,
}

impl Router {
    /// A router for node `me` with the default policies; adverts live `max_age`.
    pub fn new(me: NodeId, max_age: Duration) -> Self {
        Router::with_policies(me, max_age, Policy::DEFAULTS)
    }

    /// A router with explicit policies, indexed by `Priority as usize`.
    pub fn with_policies(me: NodeId, max_age: Duration, policies: [Policy; 4]) -> Self {
        Router {
            lsdb: LinkStateDb::new(max_age),
            graph: Graph::new(),
            spf: Spf::new(),
            table: RoutingTable::new(me),
            policies,
            computed: None,
        }
    }

    /// Stores an advert given as wire entries (see [`LinkStateDb::insert`]).
    pub fn handle_advert(&mut self, origin: NodeId, version: u32, entries: &[LinkEntry], now: Instant) -> InsertOutcome {
        self.lsdb.insert(origin, version, entries.iter().map(LinkAdvert::from), now)
    }

    /// Stores an advert given as [`LinkAdvert`]s.
    pub fn handle_links<I>(&mut self, origin: NodeId, version: u32, links: I, now: Instant) -> InsertOutcome
    where
        I: IntoIterator<Item = LinkAdvert>,
    {
        self.lsdb.insert(origin, version, links, now)
    }

    /// Records a node's battery (see [`LinkStateDb::set_battery`]).
    pub fn set_battery(&mut self, node: NodeId, percent: Option<u8>) {
        self.lsdb.set_battery(node, percent);
    }

    /// Ages out adverts; returns how many were removed.
    pub fn expire(&mut self, now: Instant) -> usize {
        self.lsdb.expire(now)
    }

    /// Forgets a node's advert (it left the mesh).
    pub fn remove_origin(&mut self, origin: NodeId) -> bool {
        self.lsdb.remove(origin)
    }

    /// Rebuilds graph and table if the topology changed since the last refresh. Returns
    /// whether it recomputed. Allocation-free once buffers fit the topology.
    pub fn refresh(&mut self) -> bool {
        let v = self.lsdb.topology_version();
        if self.computed == Some(v) {
            return false;
        }
        self.graph.rebuild(&self.lsdb);
        self.table.compute(&self.graph, &self.policies, &mut self.spf);
        self.computed = Some(v);
        true
    }

    /// Whether inputs arrived since the last [`refresh`](Self::refresh).
    pub fn is_stale(&self) -> bool {
        self.computed != Some(self.lsdb.topology_version())
    }

    /// The primary next hop towards `dest` at `priority` (as of the last refresh). O(1).
    pub fn next_hop(&self, dest: NodeId, priority: Priority) -> Option<NodeId> {
        self.table.next_hop(&self.graph, dest, priority)
    }

    /// Primary, backup and statistics towards `dest` at `priority`: O(1) for the routes, a
    /// binary search among the routes used for the statistics.
    pub fn route(&self, dest: NodeId, priority: Priority) -> Option<RouteEntry> {
        self.table.entry(&self.graph, dest, priority)
    }

    /// Records a use of the route to `dest` at `priority`.
    pub fn record_use(&mut self, dest: NodeId, priority: Priority, now: Instant) {
        self.table.record_use(&self.graph, dest, priority, now);
    }

    /// Records a delivery success of the route to `dest` at `priority`.
    pub fn record_success(&mut self, dest: NodeId, priority: Priority, now: Instant) {
        self.table.record_outcome(&self.graph, dest, priority, true, now);
    }

    /// Records a delivery failure of the route to `dest` at `priority`.
    pub fn record_failure(&mut self, dest: NodeId, priority: Priority, now: Instant) {
        self.table.record_outcome(&self.graph, dest, priority, false, now);
    }

    /// The link-state database.
    pub fn lsdb(&self) -> &LinkStateDb {
        &self.lsdb
    }

    /// The graph as of the last refresh (QoS search, admission, max-flow and backbone use it).
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The table as of the last refresh.
    pub fn table(&self) -> &RoutingTable {
        &self.table
    }

    /// The policies in use, indexed by `Priority as usize`.
    pub fn policies(&self) -> &[Policy; 4] {
        &self.policies
    }

    /// Drops the router part by part (see `Node::drop_by_part`).
    pub(crate) fn drop_by_part(self, measure: &mut crate::heap_parts::MeasurePart<'_>) {
        use crate::heap_parts::part;
        let Router { lsdb, graph, spf, table, .. } = self;
        part(measure, "routing: link-state database", lsdb);
        part(measure, "routing: graph", graph);
        part(measure, "routing: SPF scratch", spf);
        part(measure, "routing: table", table);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::table::{Route, RouteStats};
    use alloc::vec::Vec;

    fn link(n: u64, latency_ms: u16, reliability: u8, congestion: u8) -> LinkAdvert {
        LinkAdvert { neighbour: NodeId(n), latency_ms, reliability, congestion, bandwidth_kbps: 1000, rssi: -60 }
    }

    /// Feeds an undirected topology to `r`: each node advertises all its links.
    fn feed(r: &mut Router, version: u32, links: &[(u64, u64, u16, u8, u8)]) {
        let mut nodes: Vec<u64> = links.iter().flat_map(|l| [l.0, l.1]).collect();
        nodes.sort_unstable();
        nodes.dedup();
        for &n in &nodes {
            let adv = links.iter().filter_map(|&(a, b, lat, rel, c)| {
                if a == n {
                    Some(link(b, lat, rel, c))
                } else if b == n {
                    Some(link(a, lat, rel, c))
                } else {
                    None
                }
            });
            r.handle_links(NodeId(n), version, adv, Instant::ZERO);
        }
    }

    // 1 —(10 ms, r 1)— 2 —(10 ms, r 1)— 4 ; 1 —(1 ms, r 0.5)— 3 —(1 ms, r 0.5)— 4
    const DIAMOND: [(u64, u64, u16, u8, u8); 4] =
        [(1, 2, 10, 255, 200), (2, 4, 10, 255, 200), (1, 3, 1, 128, 0), (3, 4, 1, 128, 0)];

    #[test]
    fn each_priority_picks_its_path_with_a_disjoint_backup() {
        let mut r = Router::new(NodeId(1), Duration::from_secs(30));
        feed(&mut r, 1, &DIAMOND);
        assert!(r.refresh());
        let half = 689_233; // −ln(128/255) in micro-nats
        let crit = r.route(NodeId(4), Priority::Critical).unwrap();
        assert_eq!(crit.primary, Some(Route { next_hop: NodeId(2), cost: 0, hops: 2 }));
        assert_eq!(crit.backup, Some(Route { next_hop: NodeId(3), cost: 2 * half, hops: 2 }));
        let high = r.route(NodeId(4), Priority::High).unwrap();
        // via 2: 20 ms = 200 000; via 3: 2 ms + 2 × 0.689 nat = 20 000 + 1 378 466.
        assert_eq!(high.primary, Some(Route { next_hop: NodeId(2), cost: 200_000, hops: 2 }));
        let normal = r.route(NodeId(4), Priority::Normal).unwrap();
        assert_eq!(normal.primary, Some(Route { next_hop: NodeId(3), cost: (2 << 32) + 2, hops: 2 }));
        assert_eq!(normal.backup, Some(Route { next_hop: NodeId(2), cost: (2 << 32) + 20, hops: 2 }));
        let bg = r.route(NodeId(4), Priority::Background).unwrap();
        assert_eq!(bg.primary, Some(Route { next_hop: NodeId(3), cost: 2_000, hops: 2 }));
        // Direct neighbour 2: the backup avoids the direct link and goes around.
        let to2 = r.route(NodeId(2), Priority::Critical).unwrap();
        assert_eq!(to2.primary, Some(Route { next_hop: NodeId(2), cost: 0, hops: 1 }));
        assert_eq!(to2.backup, Some(Route { next_hop: NodeId(3), cost: 2 * half, hops: 3 }));
        assert_eq!(r.next_hop(NodeId(1), Priority::Normal), None);
        assert_eq!(r.next_hop(NodeId(99), Priority::Normal), None);
        assert!(!r.refresh());
    }

    #[test]
    fn one_sided_links_and_same_content_do_not_recompute() {
        let mut r = Router::new(NodeId(1), Duration::from_secs(30));
        feed(&mut r, 1, &DIAMOND);
        r.refresh();
        // Node 4 stops reporting 3: the link 3 — 4 is gone although 3 still reports it.
        r.handle_links(NodeId(4), 2, [link(2, 10, 255, 200)], Instant::from_secs(1));
        assert!(r.is_stale());
        assert!(r.refresh());
        assert_eq!(r.next_hop(NodeId(4), Priority::Normal), Some(NodeId(2)));
        assert_eq!(r.route(NodeId(4), Priority::Normal).unwrap().backup, None);
        r.handle_links(NodeId(4), 3, [link(2, 10, 255, 200)], Instant::from_secs(2));
        assert!(!r.is_stale());
        assert!(!r.refresh());
        // Ageing out the adverts of 2 removes every path to 4.
        r.handle_links(NodeId(1), 2, [link(2, 10, 255, 200), link(3, 1, 128, 0)], Instant::from_secs(40));
        r.handle_links(NodeId(3), 2, [link(1, 1, 128, 0)], Instant::from_secs(40));
        assert_eq!(r.expire(Instant::from_secs(40)), 2); // adverts of 2 and 4
        r.refresh();
        assert_eq!(r.next_hop(NodeId(4), Priority::Normal), None);
        assert_eq!(r.next_hop(NodeId(3), Priority::Normal), Some(NodeId(3)));
    }

    #[test]
    fn stats_survive_recomputation_while_the_next_hop_stays() {
        let mut r = Router::new(NodeId(1), Duration::from_secs(30));
        feed(&mut r, 1, &DIAMOND);
        r.refresh();
        r.record_success(NodeId(4), Priority::Normal, Instant::from_secs(1));
        r.record_success(NodeId(4), Priority::Normal, Instant::from_secs(2));
        r.record_failure(NodeId(4), Priority::Normal, Instant::from_secs(3));
        r.record_use(NodeId(4), Priority::Critical, Instant::from_secs(4));
        let s = r.route(NodeId(4), Priority::Normal).unwrap().stats;
        assert_eq!((s.successes, s.failures, s.last_used), (2, 1, Some(Instant::from_secs(3))));
        assert_eq!(s.success_rate(), Some(2.0 / 3.0));
        // Latency change that keeps every next hop: stats stay.
        let mut slower = DIAMOND;
        slower[0].2 = 11;
        feed(&mut r, 2, &slower);
        assert!(r.refresh());
        assert_eq!(r.route(NodeId(4), Priority::Normal).unwrap().stats, s);
        // Normal's next hop to 4 flips to 2 when 3 — 4 becomes slow: its stats reset.
        let mut flipped = DIAMOND;
        flipped[3].2 = 500;
        feed(&mut r, 3, &flipped);
        r.refresh();
        let e = r.route(NodeId(4), Priority::Normal).unwrap();
        assert_eq!(e.primary.unwrap().next_hop, NodeId(2));
        assert_eq!(e.stats, RouteStats::default());
        assert_eq!(r.route(NodeId(4), Priority::Critical).unwrap().stats.last_used, Some(Instant::from_secs(4)));
        assert_eq!(RouteStats::default().success_rate(), None);
    }

    #[cfg(feature = "std")]
    #[test]
    fn steady_state_recompute_and_lookup_do_not_allocate() {
        use crate::alloc_count::allocations_during;
        let mut r = Router::new(NodeId(1), Duration::from_secs(30));
        let mut links = Vec::new();
        for i in 1..40u64 {
            links.push((i, i + 1, 5, 200, 10));
            if i + 7 <= 40 {
                links.push((i, i + 7, 9, 250, 30));
            }
        }
        feed(&mut r, 1, &links);
        r.refresh();
        links[3].2 = 6;
        feed(&mut r, 2, &links);
        assert!(r.refresh()); // second table: its swap buffers grow once
        links[3].2 = 7;
        feed(&mut r, 3, &links);
        let (allocs, _) = allocations_during(|| r.refresh());
        assert_eq!(allocs, 0);
        let (allocs, hops) = allocations_during(|| {
            let mut found = 0;
            for d in 1..=40 {
                for p in Priority::ALL {
                    found += usize::from(r.next_hop(NodeId(d), p).is_some());
                }
            }
            found
        });
        assert_eq!((allocs, hops), (0, 39 * 4));
    }
}
