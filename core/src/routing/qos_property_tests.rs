//! Property test: the constrained search against brute-force enumeration of every simple path
//! on small random graphs (≤ 8 nodes).

use alloc::vec::Vec;

use super::constrained::{ConstrainedSearch, QosConstraints, QosError};
use super::graph::{Graph, LinkMetrics, unreliability_micros};
use crate::{NodeId, Priority};

/// Raw input: node count, links `(a, b, latency, reliability, bandwidth)`, constraints.
type Case = (u8, Vec<(u8, u8, u8, u8, u8)>, (u8, u8, u8, u8, u8));

#[derive(Clone, Copy)]
struct Link {
    a: u64,
    b: u64,
    latency: u64,
    unrel: u64,
    bw: u32,
    m: LinkMetrics,
}

fn decode(case: &Case) -> (u64, Vec<Link>, QosConstraints) {
    let n = 2 + u64::from(case.0 % 7);
    let mut links: Vec<Link> = Vec::new();
    for &(a, b, lat, rel, bw) in case.1.iter().take(20) {
        let (a, b) = (1 + u64::from(a) % n, 1 + u64::from(b) % n);
        let dup = links.iter().any(|l| (l.a, l.b) == (a, b) || (l.a, l.b) == (b, a));
        if a == b || dup {
            continue;
        }
        let m = LinkMetrics::new(u16::from(lat % 20), f64::from(1 + rel % 255) / 255.0, 0, u16::from(bw % 8) * 100);
        let bw = u32::from(m.bandwidth_kbps);
        links.push(Link { a, b, latency: u64::from(m.latency_ms), unrel: unreliability_micros(m.reliability), bw, m });
    }
    let (lat, bw, rel, loss, prio) = case.2;
    let c = QosConstraints {
        max_latency_ms: (lat % 4 != 0).then_some(u32::from(lat % 60)),
        min_bandwidth_kbps: u32::from(bw % 8) * 100,
        max_loss: (loss % 3 != 0).then(|| f64::from(loss) / 510.0),
        min_reliability: (rel % 3 != 0).then(|| f64::from(rel) / 255.0),
        priority: Priority::from_bits(prio),
    };
    (n, links, c)
}

/// Every simple path from `at` to `dst`, as (nodes, latency, unreliability, bottleneck).
fn all_paths(links: &[Link], at: u64, dst: u64, path: &mut Vec<u64>, acc: (u64, u64, u32), out: &mut Vec<(Vec<u64>, u64, u64, u32)>) {
    if at == dst {
        out.push((path.clone(), acc.0, acc.1, acc.2));
        return;
    }
    for l in links {
        let next = if l.a == at { l.b } else if l.b == at { l.a } else { continue };
        if path.contains(&next) {
            continue;
        }
        path.push(next);
        all_paths(links, next, dst, path, (acc.0 + l.latency, acc.1 + l.unrel, acc.2.min(l.bw)), out);
        path.pop();
    }
}

fn feasible(c: &QosConstraints, lat: u64, unrel: u64, bw: u32) -> bool {
    c.max_latency_ms.is_none_or(|m| lat <= u64::from(m))
        && c.unreliability_budget().is_none_or(|b| unrel <= b)
        && bw >= c.min_bandwidth_kbps
}

/// Checks one case; returns whether a path was found.
fn check_case(case: &Case, search: &mut ConstrainedSearch) -> bool {
    let (n, links, c) = decode(case);
    let graph = Graph::from_links(links.iter().map(|l| (NodeId(l.a), NodeId(l.b), l.m)));
    let result = search.find(&graph, NodeId(1), NodeId(n), &c, None);
    let mut paths = Vec::new();
    all_paths(&links, 1, n, &mut alloc::vec![1], (0, 0, u32::MAX), &mut paths);
    let feasible_paths: Vec<_> = paths.iter().filter(|p| feasible(&c, p.1, p.2, p.3)).collect();
    let key = |lat: u64, unrel: u64| if c.priority == Priority::Critical { (unrel, lat) } else { (lat, unrel) };
    match result {
        Err(QosError::UnknownNode) => {
            let known = |id: u64| links.iter().any(|l| l.a == id || l.b == id);
            assert!(!known(1) || !known(n));
            assert!(feasible_paths.is_empty());
            false
        }
        Err(QosError::Infeasible) => {
            assert!(feasible_paths.is_empty(), "missed {:?}", feasible_paths[0]);
            false
        }
        Err(e) => panic!("unexpected {e:?}"),
        Ok(p) => {
            let ids: Vec<u64> = p.nodes.iter().map(|x| x.0).collect();
            // The path is one of the simple paths, with the reported metrics, and feasible.
            let found = paths.iter().find(|q| q.0 == ids).expect("not a simple path of the graph");
            assert_eq!((found.1, found.2, found.3), (p.latency_ms, p.unreliability, p.bottleneck_kbps));
            assert!(feasible(&c, p.latency_ms, p.unreliability, p.bottleneck_kbps));
            if let Some(r) = c.required_reliability() {
                assert!(p.reliability >= r * (1.0 - 1e-5), "{} < {r}", p.reliability);
            }
            // And it is the best feasible path by the priority's key.
            let best = feasible_paths.iter().map(|q| key(q.1, q.2)).min().unwrap();
            assert_eq!(key(p.latency_ms, p.unreliability), best);
            true
        }
    }
}

#[test]
fn constrained_search_matches_brute_force() {
    let mut search = ConstrainedSearch::default();
    let (mut found, mut total) = (0u32, 0u32);
    bolero::check!().with_type::<Case>().with_iterations(3000).for_each(|case| {
        total += 1;
        found += u32::from(check_case(case, &mut search));
    });
    // Both outcomes are exercised.
    assert!(found > total / 20 && found < total, "{found} of {total}");
}

#[test]
fn brute_force_fixture_is_not_vacuous() {
    // A fixed case with a feasible path only around the fast lossy link.
    let case: Case = (2, alloc::vec![(0, 3, 1, 100, 7), (0, 1, 10, 254, 7), (1, 3, 10, 254, 7)], (50, 0, 200, 0, 2));
    let (n, links, c) = decode(&case);
    assert_eq!(n, 4);
    assert_eq!(c.max_latency_ms, Some(50));
    assert_eq!(c.min_reliability, Some(200.0 / 255.0));
    let mut paths = Vec::new();
    all_paths(&links, 1, n, &mut alloc::vec![1], (0, 0, u32::MAX), &mut paths);
    assert_eq!(paths.len(), 2);
    let mut search = ConstrainedSearch::default();
    let p = search.find(&Graph::from_links(links.iter().map(|l| (NodeId(l.a), NodeId(l.b), l.m))), NodeId(1), NodeId(n), &c, None);
    assert_eq!(p.unwrap().nodes, [NodeId(1), NodeId(2), NodeId(4)]);
    assert!(check_case(&case, &mut search));
}
