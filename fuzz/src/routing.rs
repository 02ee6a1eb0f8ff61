//! Routing updates and lookups: random topology operations fed to one [`Router`] per node, all
//! seeing the same adverts (a consistent view).
//!
//! Invariants after every refresh:
//! * the graph holds exactly the links both ends advertise with non-zero reliability,
//!   recomputed here from the database independently of `Graph::rebuild`;
//! * every primary route's cost and hop count equal a reference Dijkstra (O(n²), written
//!   here) under the same policy, and destinations are reachable exactly when BFS says so;
//! * a primary next hop is a confirmed neighbour and lies on a shortest path;
//! * following next hops from any node towards any destination reaches it without a loop;
//! * a backup, when there is one, has a first hop other than the primary's unless the
//!   destination is that very neighbour.

use core::time::Duration;
use std::collections::BTreeSet;

use bolero::TypeGenerator;
use blemesh_core::routing::lsdb::LinkAdvert;
use blemesh_core::routing::{Graph, PathCost, Router};
use blemesh_core::{Instant, NodeId, Priority};

/// Nodes 1..=N.
pub const N: u64 = 6;
const MAX_AGE: Duration = Duration::from_secs(10);

/// One reported link.
#[derive(Debug, TypeGenerator)]
pub struct Entry {
    neighbour: u8,
    latency_ms: u8,
    reliability: u8,
    congestion: u8,
}

/// What happens next.
#[derive(Debug, TypeGenerator)]
pub enum Op {
    /// `origin` advertises `entries` under `version`.
    Advert { origin: u8, version: u8, entries: Vec<Entry> },
    /// `origin` is forgotten.
    Remove { origin: u8 },
    /// A node's battery changed.
    Battery { node: u8, percent: Option<u8> },
    /// Time passes; old adverts expire.
    Advance { millis: u16 },
}

/// The target's input.
#[derive(Debug, TypeGenerator)]
pub struct Input {
    ops: Vec<Op>,
}

fn id(x: u8) -> NodeId {
    NodeId(u64::from(x) % N + 1)
}

/// Runs one input.
pub fn check(input: &Input) {
    let mut routers: Vec<Router> = (1..=N).map(|me| Router::new(NodeId(me), MAX_AGE)).collect();
    let mut now = Instant::ZERO;
    for op in input.ops.iter().take(40) {
        match op {
            Op::Advert { origin, version, entries } => {
                let links: Vec<LinkAdvert> = entries
                    .iter()
                    .take(8)
                    .map(|e| LinkAdvert {
                        neighbour: id(e.neighbour),
                        latency_ms: u16::from(e.latency_ms),
                        reliability: e.reliability,
                        congestion: e.congestion,
                        bandwidth_kbps: 500,
                        rssi: -60,
                    })
                    .collect();
                let outcomes: BTreeSet<_> = routers
                    .iter_mut()
                    .map(|r| format!("{:?}", r.handle_links(id(*origin), u32::from(*version), links.clone(), now)))
                    .collect();
                assert_eq!(outcomes.len(), 1, "routers with equal databases disagree on an advert");
            }
            Op::Remove { origin } => routers.iter_mut().for_each(|r| {
                r.remove_origin(id(*origin));
            }),
            Op::Battery { node, percent } => routers.iter_mut().for_each(|r| r.set_battery(id(*node), *percent)),
            Op::Advance { millis } => {
                now += Duration::from_millis(u64::from(*millis));
                routers.iter_mut().for_each(|r| {
                    r.expire(now);
                });
            }
        }
        for r in &mut routers {
            r.refresh();
            assert!(!r.is_stale());
        }
        check_routes(&routers);
    }
}

/// Directed adjacency of the confirmed links, from the database alone.
fn reference_links(r: &Router) -> BTreeSet<(NodeId, NodeId)> {
    let db = r.lsdb();
    let mut out = BTreeSet::new();
    for (a, adv) in db.adverts() {
        for e in &adv.entries {
            let Some(other) = db.advert(e.neighbour) else { continue };
            if let Some(back) = other.entries.iter().find(|x| x.neighbour == a) {
                if e.reliability.min(back.reliability) > 0 {
                    out.insert((a, e.neighbour));
                }
            }
        }
    }
    out
}

/// O(n²) Dijkstra over `g` from `s` with the policy's link costs: (cost, hops) per node.
fn reference_spf(g: &Graph, s: u32, weight: impl Fn(usize) -> u64) -> Vec<PathCost> {
    let n = g.node_count();
    let mut dist = vec![PathCost::INFINITE; n];
    let mut done = vec![false; n];
    dist[s as usize] = PathCost::ZERO;
    while let Some(u) = (0..n).filter(|v| !done[*v] && !dist[*v].is_infinite()).min_by_key(|v| dist[*v]) {
        done[u] = true;
        for e in g.edge_range(u as u32) {
            let v = g.target(e) as usize;
            let nd = dist[u].extend(weight(e));
            if nd < dist[v] {
                dist[v] = nd;
            }
        }
    }
    dist
}

fn check_routes(routers: &[Router]) {
    let g0 = routers[0].graph();
    let links = reference_links(&routers[0]);
    let mut got = BTreeSet::new();
    for u in 0..g0.node_count() as u32 {
        for e in g0.edge_range(u) {
            got.insert((g0.node(u), g0.node(g0.target(e))));
        }
    }
    assert_eq!(got, links, "graph differs from the confirmed links of the database");
    for (a, b) in &links {
        assert!(links.contains(&(*b, *a)), "asymmetric link");
    }
    for r in routers {
        assert_eq!(r.graph().nodes(), g0.nodes(), "same database, different graph");
    }
    for p in [Priority::Critical, Priority::High, Priority::Normal, Priority::Background] {
        let policy = routers[0].policies()[p as usize];
        let w = |e: usize| policy.link_cost(&g0.metrics(e));
        let dist_from: Vec<Vec<PathCost>> = (0..g0.node_count() as u32).map(|s| reference_spf(g0, s, w)).collect();
        for r in routers {
            let me = r.table().me();
            let Some(s) = g0.index_of(me) else {
                for d in 1..=N {
                    assert_eq!(r.next_hop(NodeId(d), p), None, "{me:?} is not in the graph but routes");
                }
                continue;
            };
            for t in 0..g0.node_count() as u32 {
                let dest = g0.node(t);
                let want = dist_from[s as usize][t as usize];
                let entry = r.route(dest, p).unwrap_or_default();
                if t == s || want.is_infinite() {
                    assert_eq!(entry.primary, None, "{me:?} -> {dest:?}: route to self or unreachable");
                    continue;
                }
                let primary = entry.primary.unwrap_or_else(|| panic!("{me:?} -> {dest:?} reachable but no route"));
                assert_eq!((primary.cost, primary.hops), (want.cost, want.hops), "{me:?} -> {dest:?} {p:?} not shortest");
                let nh = g0.index_of(primary.next_hop).expect("next hop in graph");
                let e = g0.edge(s, nh).unwrap_or_else(|| panic!("next hop {:?} is not a neighbour of {me:?}", primary.next_hop));
                assert_eq!(PathCost::ZERO.extend(w(e)).cost.saturating_add(dist_from[nh as usize][t as usize].cost), want.cost);
                assert_eq!(dist_from[nh as usize][t as usize].hops + 1, want.hops, "next hop not on a shortest path");
                if let Some(b) = entry.backup {
                    if dest != primary.next_hop {
                        assert_ne!(b.next_hop, primary.next_hop, "backup shares the primary's first hop");
                    }
                    assert!(g0.edge_between(me, b.next_hop).is_some(), "backup next hop not a neighbour");
                }
            }
        }
        // Hop-by-hop forwarding on the consistent view is loop-free and reaches the destination.
        for r in routers {
            let src = r.table().me();
            for d in 1..=N {
                let dest = NodeId(d);
                let mut at = src;
                let mut visited = BTreeSet::from([at]);
                while at != dest {
                    let Some(next) = routers[(at.0 - 1) as usize].next_hop(dest, p) else { break };
                    assert!(visited.insert(next), "{p:?} loop from {src:?} towards {dest:?} at {next:?}");
                    at = next;
                }
                if r.next_hop(dest, p).is_some() {
                    assert_eq!(at, dest, "{p:?}: route from {src:?} to {dest:?} dead-ends at {at:?}");
                }
            }
        }
    }
}
