//! Oracle tests: our shortest paths against petgraph's Dijkstra, on seeded random link-state
//! databases and on the Ninux Roma topology, and loop freedom of hop-by-hop forwarding.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::time::Duration;

use petgraph::algo::dijkstra;
use petgraph::graph::{DiGraph, NodeIndex, UnGraph};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::graph::{Graph, LinkMetrics};
use super::lsdb::{LinkAdvert, LinkStateDb};
use super::policy::Policy;
use super::spf::Spf;
use super::table::RoutingTable;
use crate::{Instant, NodeId, Priority};

fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    rng.next_u64() % n
}

/// A random database: `n` nodes, a random tree plus `extra` links, each end reporting its own
/// measurements; some one-sided reports (must be ignored); random batteries.
fn random_db(seed: u64, n: usize, extra: usize) -> LinkStateDb {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let ids: Vec<NodeId> = (0..n as u64).map(|i| NodeId(1 + i * 13 + below(&mut rng, 13))).collect();
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for i in 1..n {
        // ~1 in 10 nodes starts a new component.
        if below(&mut rng, 10) != 0 {
            pairs.push((below(&mut rng, i as u64) as usize, i));
        }
    }
    for _ in 0..extra {
        let a = below(&mut rng, n as u64) as usize;
        let b = below(&mut rng, n as u64) as usize;
        if a != b {
            pairs.push((a, b));
        }
    }
    let mut adverts: BTreeMap<NodeId, Vec<LinkAdvert>> = ids.iter().map(|id| (*id, Vec::new())).collect();
    let report = |rng: &mut ChaCha8Rng, to: usize| LinkAdvert {
        neighbour: ids[to],
        latency_ms: 1 + below(rng, 200) as u16,
        reliability: 1 + below(rng, 255) as u8,
        congestion: below(rng, 256) as u8,
        bandwidth_kbps: 100 + below(rng, 2000) as u16,
        rssi: -40 - below(rng, 50) as i16,
    };
    for &(a, b) in &pairs {
        let ra = report(&mut rng, b);
        let rb = report(&mut rng, a);
        adverts.get_mut(&ids[a]).unwrap().push(ra);
        // One link in 12 is reported by one end only.
        if below(&mut rng, 12) != 0 {
            adverts.get_mut(&ids[b]).unwrap().push(rb);
        }
    }
    let mut db = LinkStateDb::new(Duration::from_secs(60));
    for (origin, list) in adverts {
        db.insert(origin, 1, list, Instant::ZERO);
    }
    for id in &ids {
        match below(&mut rng, 3) {
            0 => db.set_battery(*id, Some(below(&mut rng, 101) as u8)),
            _ => db.set_battery(*id, None),
        }
    }
    db
}

/// The edge cost of `a → b` under `policy`, computed from the raw adverts (independently of
/// [`Graph`]'s combination code), or `None` if the link is not confirmed by both ends.
fn oracle_cost(db: &LinkStateDb, a: NodeId, b: NodeId, policy: &Policy) -> Option<u64> {
    let ea = db.advert(a)?.entries.iter().find(|e| e.neighbour == b)?;
    let eb = db.advert(b)?.entries.iter().find(|e| e.neighbour == a)?;
    let rel = f64::from(ea.reliability.min(eb.reliability)) / 255.0;
    let unrel = libm::round(-libm::log(rel) * 1e6) as u64;
    let lat = u64::from(ea.latency_ms.max(eb.latency_ms));
    let cong = u64::from(ea.congestion.max(eb.congestion));
    let deficit = db.battery(b).map_or(0, |p| 100 - u64::from(p));
    Some(
        policy.per_hop
            + policy.per_latency_ms * lat
            + policy.per_unreliability * unrel
            + policy.per_congestion * cong
            + policy.per_energy_deficit * deficit,
    )
}

/// petgraph view of `db` under `policy`: weights `cost << 32 | 1` (cost, then hops).
fn petgraph_of(db: &LinkStateDb, policy: &Policy) -> (DiGraph<NodeId, u128>, BTreeMap<NodeId, NodeIndex>) {
    let mut pg = DiGraph::new();
    let ix: BTreeMap<NodeId, NodeIndex> = db.adverts().map(|(id, _)| (id, pg.add_node(id))).collect();
    for (a, adv) in db.adverts() {
        for e in &adv.entries {
            if let Some(c) = oracle_cost(db, a, e.neighbour, policy) {
                pg.add_edge(ix[&a], ix[&e.neighbour], (u128::from(c) << 32) | 1);
            }
        }
    }
    (pg, ix)
}

fn tables_for_all(graph: &Graph, policies: &[Policy; 4]) -> BTreeMap<NodeId, RoutingTable> {
    let mut spf = Spf::new();
    graph
        .nodes()
        .iter()
        .map(|&me| {
            let mut t = RoutingTable::new(me);
            t.compute(graph, policies, &mut spf);
            (me, t)
        })
        .collect()
}

/// From every source to every destination under every priority: the next hops reach the
/// destination without revisiting a node exactly when it is reachable.
fn assert_loop_free(graph: &Graph, tables: &BTreeMap<NodeId, RoutingTable>, spf: &mut Spf) {
    let w = alloc::vec![1u64; graph.edge_count()];
    let mut visited = alloc::vec![false; graph.node_count()];
    for s in 0..graph.node_count() as u32 {
        spf.run(graph, s, &w, None);
        for d in 0..graph.node_count() as u32 {
            let reachable = s != d && !spf.dist(d).is_infinite();
            for p in Priority::ALL {
                visited.fill(false);
                let dest = graph.node(d);
                let mut x = graph.node(s);
                let mut steps = 0;
                while let Some(nh) = tables[&x].next_hop(graph, dest, p) {
                    assert!(graph.edge_between(x, nh).is_some(), "next hop is not a neighbour");
                    let i = graph.index_of(nh).unwrap() as usize;
                    assert!(!visited[i], "loop from {s} to {d} under {p:?}");
                    visited[i] = true;
                    x = nh;
                    steps += 1;
                    if x == dest {
                        break;
                    }
                }
                assert_eq!(x == dest && steps > 0, reachable, "from {s} to {d} under {p:?}");
            }
        }
    }
}

#[test]
fn costs_and_next_hops_match_petgraph_on_random_graphs() {
    let mut spf = Spf::new();
    for (seed, n, extra) in [(1, 2, 1), (2, 8, 6), (3, 20, 25), (4, 45, 80), (5, 90, 120)] {
        let db = random_db(seed, n, extra);
        let graph = Graph::from_lsdb(&db);
        let tables = tables_for_all(&graph, &Policy::DEFAULTS);
        for p in Priority::ALL {
            let policy = Policy::DEFAULTS[p as usize];
            let (pg, ix) = petgraph_of(&db, &policy);
            assert_eq!(pg.edge_count(), graph.edge_count());
            let from: BTreeMap<NodeId, _> = ix.iter().map(|(id, i)| (*id, dijkstra(&pg, *i, None, |e| *e.weight()))).collect();
            for (&s, table) in &tables {
                for (&d, &di) in &ix {
                    let best = from[&s].get(&di).copied();
                    let entry = table.entry(&graph, d, p).unwrap();
                    match (best, entry.primary) {
                        (None, None) => {}
                        (Some(0), None) => assert_eq!(s, d),
                        (Some(b), Some(r)) => {
                            assert_eq!(u128::from(r.cost), b >> 32, "seed {seed} {p:?} {s:?}->{d:?}");
                            assert_eq!(u128::from(r.hops), b & 0xffff_ffff);
                            // The next hop lies on an optimal path.
                            let c = oracle_cost(&db, s, r.next_hop, &policy).unwrap();
                            let rest = from[&r.next_hop][&di];
                            assert_eq!((u128::from(c) << 32 | 1) + rest, b);
                            if let Some(bk) = entry.backup {
                                assert_ne!(bk.next_hop, r.next_hop);
                                assert!((bk.cost, bk.hops) >= (r.cost, r.hops));
                            }
                        }
                        other => panic!("seed {seed} {p:?} {s:?}->{d:?}: {other:?}"),
                    }
                }
            }
        }
        assert_loop_free(&graph, &tables, &mut spf);
    }
}

#[test]
fn loop_free_after_random_link_removals() {
    let mut spf = Spf::new();
    for seed in 10..14 {
        let mut db = random_db(seed, 40, 60);
        let mut rng = ChaCha8Rng::seed_from_u64(seed + 100);
        for round in 0..4u32 {
            // Every node drops about one advertised link in six.
            let origins: Vec<NodeId> = db.adverts().map(|(o, _)| o).collect();
            for o in origins {
                let kept: Vec<LinkAdvert> =
                    db.advert(o).unwrap().entries.iter().copied().filter(|_| below(&mut rng, 6) != 0).collect();
                db.insert(o, 2 + round, kept, Instant::ZERO);
            }
            let graph = Graph::from_lsdb(&db);
            let tables = tables_for_all(&graph, &Policy::DEFAULTS);
            assert_loop_free(&graph, &tables, &mut spf);
        }
    }
}

struct Ninux {
    graph: Graph,
    etx: Vec<(NodeId, NodeId, f64)>,
}

fn ninux() -> Ninux {
    let text = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/ninux-roma.netjson.json"));
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    let ids: BTreeMap<&str, NodeId> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, n)| (n["id"].as_str().unwrap(), NodeId(i as u64 + 1)))
        .collect();
    let etx: Vec<(NodeId, NodeId, f64)> = v["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (ids[l["source"].as_str().unwrap()], ids[l["target"].as_str().unwrap()], l["cost"].as_f64().unwrap()))
        .collect();
    let graph = Graph::from_links(etx.iter().map(|&(a, b, c)| (a, b, LinkMetrics::new(1, 1.0 / c, 0, 1000))));
    Ninux { graph, etx }
}

#[test]
fn ninux_roma_matches_petgraph() {
    let Ninux { graph, etx } = ninux();
    assert_eq!(graph.node_count(), 147);
    let mut ln_etx = UnGraph::<(), f64>::new_undirected();
    let mut hops = UnGraph::<(), u64>::new_undirected();
    for _ in 0..graph.node_count() {
        ln_etx.add_node(());
        hops.add_node(());
    }
    for &(a, b, c) in &etx {
        let (ia, ib) = (graph.index_of(a).unwrap(), graph.index_of(b).unwrap());
        ln_etx.add_edge(NodeIndex::new(ia as usize), NodeIndex::new(ib as usize), libm::log(c));
        hops.add_edge(NodeIndex::new(ia as usize), NodeIndex::new(ib as usize), 1);
    }
    let tables = tables_for_all(&graph, &Policy::DEFAULTS);
    let mut reached = 0;
    for (&s, table) in &tables {
        let si = NodeIndex::new(graph.index_of(s).unwrap() as usize);
        let crit = dijkstra(&ln_etx, si, None, |e| *e.weight());
        let bfs = dijkstra(&hops, si, None, |e| *e.weight());
        for &d in tables.keys() {
            let di = NodeIndex::new(graph.index_of(d).unwrap() as usize);
            let c = table.entry(&graph, d, Priority::Critical).unwrap().primary;
            let n = table.entry(&graph, d, Priority::Normal).unwrap().primary;
            if s == d {
                assert_eq!((c, n), (None, None));
                continue;
            }
            assert_eq!(c.is_some(), crit.contains_key(&di), "{s:?} -> {d:?}");
            let (Some(c), Some(n)) = (c, n) else {
                assert_eq!(n, None);
                continue;
            };
            reached += 1;
            // Σ ln(ETX) = Σ −ln(1/ETX); ours is rounded to a micro-nat per link.
            let err = (c.cost as f64 / 1e6 - crit[&di]).abs();
            assert!(err <= 1e-6 * f64::from(c.hops + 4), "{s:?} -> {d:?}: {} vs {}", c.cost, crit[&di]);
            assert_eq!(u64::from(n.hops), bfs[&di]);
            assert_eq!(n.cost, u64::from(n.hops) * ((1 << 32) + 1));
        }
    }
    // Two components, of 141 and 6 nodes.
    assert_eq!(reached, 141 * 140 + 6 * 5);
    let mut spf = Spf::new();
    assert_loop_free(&graph, &tables, &mut spf);
}
