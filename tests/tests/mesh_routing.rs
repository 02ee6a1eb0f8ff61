//! Multi-node routing behaviour in the harness: topology convergence, loop freedom under
//! every policy (also after link failures), hop-by-hop unicast, end-to-end acknowledgement.

use std::time::Duration;

use blemesh_core::{Event, Instant, NodeId, Priority, Qos};
use blemesh_tests::{Harness, HarnessConfig, Topology, random_connected};

const SEEDS: [u64; 4] = [11, 12, 13, 14];

fn id(i: usize) -> NodeId {
    NodeId(i as u64 + 1)
}

/// Every node's routing graph holds exactly the links of `topo`.
fn assert_converged(h: &Harness, topo: &Topology, what: &str) {
    for (i, node) in h.nodes.iter().enumerate() {
        let g = node.router().graph();
        for a in 0..topo.nodes {
            for b in a + 1..topo.nodes {
                let present = g.edge_between(id(a), id(b)).is_some();
                let truth = topo.edges.contains(&(a, b));
                assert_eq!(present, truth, "{what}: node {i} sees link {a}-{b} as {present}");
            }
        }
    }
}

/// Following next hops from every node to every reachable node arrives without revisiting.
fn assert_loop_free(h: &Harness, topo: &Topology, what: &str) {
    for p in Priority::ALL {
        for src in 0..topo.nodes {
            let reach = topo.distances(src);
            for (dst, distance) in reach.iter().enumerate() {
                if src == dst || distance.is_none() {
                    continue;
                }
                let mut at = src;
                let mut seen = vec![false; topo.nodes];
                while at != dst {
                    assert!(!seen[at], "{what}: loop {src}->{dst} at {at} under {p:?}");
                    seen[at] = true;
                    let hop = h.nodes[at].next_hop(id(dst), p).unwrap_or_else(|| panic!("{what}: {at} has no route to {dst} ({p:?})"));
                    let next = (hop.0 - 1) as usize;
                    assert!(topo.edges.contains(&(at.min(next), at.max(next))), "{what}: {at}->{next} is no link");
                    at = next;
                }
            }
        }
    }
}

#[test]
fn every_view_converges_to_the_true_graph_and_routes_are_loop_free() {
    for seed in SEEDS {
        let topo = random_connected(16, 8, 7, seed);
        let mut h = Harness::new(topo.clone(), HarnessConfig { seed, ..Default::default() });
        h.run_until(Instant::from_secs(3));
        assert_converged(&h, &topo, &format!("seed {seed}"));
        assert_loop_free(&h, &topo, &format!("seed {seed}"));
    }
}

#[test]
fn routes_reconverge_loop_free_after_random_link_failures() {
    for seed in SEEDS {
        let mut topo = random_connected(16, 10, 7, seed);
        let mut h = Harness::new(topo.clone(), HarnessConfig { seed, ..Default::default() });
        h.run_until(Instant::from_secs(3));
        // Cut three links that keep the graph connected, one after the other.
        let mut cut = 0;
        let mut k = seed as usize;
        while cut < 3 {
            k = (k * 7 + 3) % topo.edges.len();
            let (a, b) = topo.edges[k];
            let without = Topology::new(topo.nodes, topo.edges.iter().copied().filter(|e| *e != (a, b)));
            if !without.is_connected() {
                continue;
            }
            h.cut(a, b);
            topo = without;
            cut += 1;
            h.run_for(Duration::from_secs(2));
        }
        assert_converged(&h, &topo, &format!("seed {seed} after cuts"));
        assert_loop_free(&h, &topo, &format!("seed {seed} after cuts"));
    }
}

#[test]
fn unicast_is_forwarded_along_routes_not_flooded() {
    let topo = Topology::line(6);
    let mut h = Harness::new(topo, HarnessConfig::default());
    h.run_until(Instant::from_secs(3));
    h.record_transmissions = true;
    h.send(0, Some(5), b"down the line", Qos::new(Priority::Normal)).unwrap();
    h.run_for(Duration::from_secs(1));
    let got: Vec<usize> = h.received.iter().map(|r| r.iter().filter(|m| m.payload == b"down the line").count()).collect();
    assert_eq!(got, vec![0, 0, 0, 0, 0, 1]);
    assert_eq!(h.received[5][0].hops, 5);
    // On the air (other traffic, like the election's, shares it): each of nodes 0..4 sent
    // the frame exactly once, on its link towards node 5, and nobody flooded it back.
    for i in 0..6 {
        let links: Vec<u32> = h.transmitted[i]
            .iter()
            .filter(|(_, _, b)| b.windows(13).any(|w| w == b"down the line"))
            .map(|(_, l, _)| l.0)
            .collect();
        let want = if i < 5 { vec![i as u32 + 1] } else { vec![] };
        assert_eq!(links, want, "node {i}");
        assert_eq!(h.nodes[i].metrics().flood_fallbacks, 0, "node {i}");
    }
}

fn delivered_events(h: &Harness, i: usize) -> Vec<(NodeId, u8)> {
    h.events[i]
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Delivered { to, attempts, .. } => Some((*to, *attempts)),
            _ => None,
        })
        .collect()
}

#[test]
fn acknowledged_messages_are_delivered_once_and_reported() {
    let topo = random_connected(12, 6, 7, 5);
    let mut h = Harness::new(topo, HarnessConfig { seed: 5, loss: 0.1, ..Default::default() });
    h.run_until(Instant::from_secs(3));
    for k in 0..10u8 {
        let p = Priority::ALL[usize::from(k % 4)];
        h.send(0, Some(11), &[b'm', k], Qos::reliable(p)).unwrap();
    }
    h.run_for(Duration::from_secs(5));
    for k in 0..10u8 {
        let n = h.received[11].iter().filter(|m| m.payload == [b'm', k]).count();
        assert_eq!(n, 1, "message {k} delivered exactly once");
    }
    let delivered = delivered_events(&h, 0);
    assert_eq!(delivered.len(), 10, "{delivered:?}");
    assert!(delivered.iter().all(|(to, _)| *to == NodeId(12)));
    let stats = &h.nodes[0].metrics().delivery;
    assert_eq!(stats.iter().map(|s| s.sent).sum::<u64>(), 10);
    assert_eq!(stats.iter().map(|s| s.delivered).sum::<u64>(), 10);
    assert!(stats.iter().all(|s| s.delivery_ratio().is_none_or(|r| r == 1.0)));
    assert!(stats[0].mean_latency_us().unwrap() > 0);
}

#[test]
fn a_broken_route_is_repaired_by_retrying_around_it() {
    // A ring of 6: 0 -> 3 has two equally short ways round; cut the one in use right after
    // sending, before the frame gets through, and the retry goes the other way.
    let topo = Topology::new(6, (0..6).map(|i| (i, (i + 1) % 6)));
    let cfg = HarnessConfig { latency: Duration::from_millis(40), jitter: Duration::ZERO, ..Default::default() };
    let mut h = Harness::new(topo, cfg);
    h.run_until(Instant::from_secs(4));
    let first = h.nodes[0].next_hop(NodeId(4), Priority::Normal).unwrap();
    let via = (first.0 - 1) as usize; // 1 or 5
    let beyond = if via == 1 { 2 } else { 4 };
    h.send(0, Some(3), b"repair", Qos::reliable(Priority::Normal)).unwrap();
    h.run_for(Duration::from_millis(45)); // the frame reached `via`
    h.cut(via, beyond);
    h.run_for(Duration::from_secs(6));
    let n = h.received[3].iter().filter(|m| m.payload == b"repair").count();
    assert_eq!(n, 1);
    let delivered = delivered_events(&h, 0);
    assert_eq!(delivered.len(), 1, "{:?}", h.events[0]);
    assert!(delivered[0].1 >= 2, "needed a retry: {delivered:?}");
}

#[test]
fn undeliverable_messages_are_reported_failed() {
    let topo = Topology::line(3);
    let mut h = Harness::new(topo, HarnessConfig::default());
    h.run_until(Instant::from_secs(3));
    h.cut(1, 2);
    h.send(0, Some(2), b"void", Qos::reliable(Priority::High)).unwrap();
    h.run_for(Duration::from_secs(10));
    let failed = h.events[0].iter().filter(|(_, e)| matches!(e, Event::DeliveryFailed { to: NodeId(3), .. })).count();
    assert_eq!(failed, 1);
    let s = h.nodes[0].metrics().delivery[Priority::High as usize];
    assert_eq!((s.sent, s.delivered, s.failed, s.retries), (1, 0, 1, 2));
}
