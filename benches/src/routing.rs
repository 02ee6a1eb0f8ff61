//! Routing: next-hop lookup, one shortest-path-first run beside petgraph's `dijkstra` on the
//! same graphs, and the full four-policy table computation.

use std::hint::black_box;

use blemesh_core::routing::lsdb::LinkAdvert;
use blemesh_core::routing::{Graph, LinkMetrics, Policy, Router, RoutingTable, Spf};
use blemesh_core::{Instant, NodeId, Priority};
use blemesh_tests::random_connected;
use criterion::{BenchmarkId, Criterion};
use core::time::Duration;
use petgraph::graph::{NodeIndex, UnGraph};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// Graph sizes of the recomputation benchmarks.
pub const SIZES: [usize; 3] = [50, 1_000, 5_000];

/// A seeded random connected mesh of `n` nodes, degree at most 7 (BLE connection limit),
/// about two links per node, with random link metrics. Node `i` has id `i + 1`.
pub fn mesh(n: usize, seed: u64) -> Vec<(usize, usize, LinkAdvert)> {
    let topo = random_connected(n, n, 7, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xfeed);
    topo.edges
        .iter()
        .map(|&(a, b)| {
            let r = rng.next_u32();
            let adv = LinkAdvert {
                neighbour: NodeId(b as u64 + 1),
                latency_ms: 3 + (r % 60) as u16,
                reliability: 120 + ((r >> 8) % 136) as u8,
                congestion: ((r >> 16) % 200) as u8,
                bandwidth_kbps: 200 + ((r >> 24) % 800) as u16,
                rssi: -40 - ((r >> 4) % 50) as i16,
            };
            (a, b, adv)
        })
        .collect()
}

fn metrics(a: &LinkAdvert) -> LinkMetrics {
    let mut m = LinkMetrics::new(a.latency_ms, f64::from(a.reliability) / 255.0, a.congestion, a.bandwidth_kbps);
    m.rssi = a.rssi;
    m
}

/// Our CSR graph of the mesh.
pub fn our_graph(links: &[(usize, usize, LinkAdvert)]) -> Graph {
    Graph::from_links(links.iter().map(|(a, b, adv)| (NodeId(*a as u64 + 1), NodeId(*b as u64 + 1), metrics(adv))))
}

/// petgraph's adjacency-list graph of the same mesh, weighted with `policy`'s link cost.
pub fn petgraph_graph(n: usize, links: &[(usize, usize, LinkAdvert)], policy: &Policy) -> UnGraph<(), u64> {
    let mut g = UnGraph::with_capacity(n, links.len());
    for _ in 0..n {
        g.add_node(());
    }
    for (a, b, adv) in links {
        g.add_edge(NodeIndex::new(*a), NodeIndex::new(*b), policy.link_cost(&metrics(adv)));
    }
    g
}

/// A converged router of node 1 over the mesh (every node's advert given, both directions).
pub fn router(n: usize, links: &[(usize, usize, LinkAdvert)]) -> Router {
    let mut per_node: Vec<Vec<LinkAdvert>> = vec![Vec::new(); n];
    for (a, b, adv) in links {
        per_node[*a].push(*adv);
        per_node[*b].push(LinkAdvert { neighbour: NodeId(*a as u64 + 1), ..*adv });
    }
    let mut r = Router::new(NodeId(1), Duration::from_secs(60));
    for (i, adverts) in per_node.into_iter().enumerate() {
        r.handle_links(NodeId(i as u64 + 1), 1, adverts, Instant::ZERO);
    }
    assert!(r.refresh());
    r
}

/// Checks our SPF and petgraph agree on every distance (so the race is the same race).
pub fn assert_same_distances(g: &Graph, spf: &Spf, pg: &UnGraph<(), u64>) {
    let theirs = petgraph::algo::dijkstra(pg, NodeIndex::new(0), None, |e| *e.weight());
    for v in 0..g.node_count() as u32 {
        let i = (g.node(v).0 - 1) as usize;
        assert_eq!(Some(spf.dist(v).cost), theirs.get(&NodeIndex::new(i)).copied(), "node {i}");
    }
}

/// Registers the routing benchmarks.
pub fn benchmarks(c: &mut Criterion) {
    let mut g = c.benchmark_group("routing");

    // Next hop on a converged 50-node router: one hash lookup and one array index.
    let links = mesh(50, 1);
    let r = router(50, &links);
    let dests: Vec<NodeId> = (2..=50).map(NodeId).collect();
    assert!(dests.iter().all(|d| r.next_hop(*d, Priority::Normal).is_some()), "connected mesh");
    let mut i = 0usize;
    g.bench_function("next_hop/Router", |b| {
        b.iter(|| {
            i = (i + 1) % dests.len();
            black_box(r.next_hop(black_box(dests[i]), Priority::Normal))
        })
    });
    let (graph, table): (&Graph, &RoutingTable) = (r.graph(), r.table());
    g.bench_function("next_hop/RoutingTable", |b| {
        b.iter(|| {
            i = (i + 1) % dests.len();
            black_box(table.next_hop(graph, black_box(dests[i]), Priority::High))
        })
    });

    for n in SIZES {
        let links = mesh(n, n as u64);
        let graph = our_graph(&links);
        assert_eq!(graph.node_count(), n);
        let policy = Policy::HIGH;
        let weights: Vec<u64> = (0..graph.edge_count()).map(|e| policy.link_cost(&graph.metrics(e))).collect();
        let pg = petgraph_graph(n, &links, &policy);
        let mut spf = Spf::new();
        spf.run(&graph, 0, &weights, None);
        assert_same_distances(&graph, &spf, &pg);

        g.bench_function(BenchmarkId::new("spf_single_source/blemesh_Spf", n), |b| {
            b.iter(|| spf.run(black_box(&graph), 0, black_box(&weights), None))
        });
        g.bench_function(BenchmarkId::new("spf_single_source/petgraph_dijkstra", n), |b| {
            b.iter(|| petgraph::algo::dijkstra(black_box(&pg), NodeIndex::new(0), None, |e| *e.weight()))
        });
        // The whole table: four policies, primaries and disjoint backups (one more SPF run
        // per neighbour used as a first hop), statistics merged.
        let mut table = RoutingTable::new(NodeId(1));
        g.bench_function(BenchmarkId::new("table_4_policies/blemesh_RoutingTable", n), |b| {
            b.iter(|| table.compute(black_box(&graph), &Policy::DEFAULTS, &mut spf))
        });
        // Reference for the table: petgraph running the four primaries only.
        let pgs: Vec<UnGraph<(), u64>> = Policy::DEFAULTS.iter().map(|p| petgraph_graph(n, &links, p)).collect();
        g.bench_function(BenchmarkId::new("table_4_policies/petgraph_4x_dijkstra", n), |b| {
            b.iter(|| {
                for pg in &pgs {
                    black_box(petgraph::algo::dijkstra(pg, NodeIndex::new(0), None, |e| *e.weight()));
                }
            })
        });
    }
    g.finish();
}
