//! Reservations along the path in the harness: two sources meet at a bottleneck link (the
//! second is refused by the hop in front of it, and admitted once the first closes), a link of
//! the path breaks (both ends learn, every hop's table empties), lost `Release` messages (soft
//! state expires), flow traffic beyond the reservation (policed at the first relay), the
//! protocol on a secured mesh, and many sources in random meshes (no link over-committed,
//! every table holding exactly the admitted flows; the figures are in `docs/PERFORMANCE.md`).

use std::time::Duration;

use blemesh_core::flow::{FlowEnd, FlowId, FlowState, ReservationRefusal};
use blemesh_core::routing::QosConstraints;
use blemesh_core::wire::Kind;
use blemesh_core::{DropReason, Event, NodeId, Priority};
use blemesh_tests::secure::secure_node;
use blemesh_tests::{Harness, HarnessConfig, Topology, random_connected};

fn id(i: usize) -> NodeId {
    NodeId(i as u64 + 1)
}

fn converged(topology: Topology) -> Harness {
    let mut h = Harness::new(topology, HarnessConfig::default());
    h.run_for(Duration::from_secs(3));
    h
}

/// The bandwidth node `i` sees on the link `a — b` (the harness makes all links alike).
fn capacity(h: &Harness, i: usize, a: usize, b: usize) -> u32 {
    let g = h.nodes[i].router().graph();
    let e = g.edge_between(h.id(a), h.id(b)).expect("link in view");
    u32::from(g.metrics(e).bandwidth_kbps)
}

fn bandwidth(kbps: u32) -> QosConstraints {
    QosConstraints { min_bandwidth_kbps: kbps, ..QosConstraints::new(Priority::High) }
}

fn events(h: &Harness, i: usize) -> Vec<Event> {
    h.events[i].iter().map(|(_, e)| *e).collect()
}

/// Reservations held by each node, by index.
fn tables(h: &Harness) -> Vec<usize> {
    h.nodes.iter().map(|n| n.reservations().len()).collect()
}

/// Node `i` opens a flow to `to`, then the mesh runs 300 ms for the answer.
fn open(h: &mut Harness, i: usize, to: usize, kbps: u32) -> FlowId {
    let f = h.open_flow(i, to, bandwidth(kbps)).expect("admitted locally");
    assert_eq!(h.nodes[i].flow_state(f), Some(FlowState::Pending));
    h.run_for(Duration::from_millis(300));
    f
}

#[test]
fn a_second_source_is_refused_at_the_shared_bottleneck_until_the_first_closes() {
    // Sources 0 and 1 reach 4 only over the link 2 — 3.
    let mut h = converged(Topology::new(5, [(0, 2), (1, 2), (2, 3), (3, 4)]));
    let cap = capacity(&h, 0, 2, 3);
    assert!(cap >= 50, "{cap}");
    let big = cap * 6 / 10;
    let a = open(&mut h, 0, 4, big);
    assert!(events(&h, 0).contains(&Event::FlowAdmitted { flow: a }));
    assert_eq!(tables(&h), vec![1, 0, 1, 1, 1], "every node of the path holds it");
    assert_eq!(h.nodes[2].reservations().reserved_towards(id(3)), u64::from(big));

    // Node 1 does not know node 0's flow: its own view admits, the bottleneck hop refuses.
    let b = open(&mut h, 1, 4, big);
    let refused = Event::FlowRefused { flow: b, reason: ReservationRefusal::InsufficientBandwidth, at: id(2) };
    assert_eq!(events(&h, 1).iter().filter(|e| matches!(e, Event::FlowRefused { .. })).collect::<Vec<_>>(), vec![&refused]);
    assert!(!events(&h, 1).iter().any(|e| matches!(e, Event::FlowAdmitted { .. })));
    assert_eq!(h.nodes[1].flow_state(b), None, "a refused flow is gone");
    assert_eq!(tables(&h), vec![1, 0, 1, 1, 1], "node 1's tentative state went with the refusal");

    // The first closes: its Release frees every hop, and the second is admitted.
    h.close_flow(0, a).unwrap();
    h.run_for(Duration::from_millis(300));
    assert_eq!(tables(&h), vec![0; 5]);
    let b = open(&mut h, 1, 4, big);
    assert!(events(&h, 1).contains(&Event::FlowAdmitted { flow: b }));
    assert_eq!(tables(&h), vec![0, 1, 1, 1, 1]);
    // Refreshes keep it, well past the soft-state lifetime.
    h.run_for(Duration::from_secs(8));
    assert_eq!(h.nodes[1].flow_state(b), Some(FlowState::Admitted));
    assert_eq!(tables(&h), vec![0, 1, 1, 1, 1]);
    assert!(h.nodes.iter().all(|n| n.metrics().reservations_expired == 0));
}

#[test]
fn a_broken_link_of_the_path_is_told_to_both_ends_and_every_hop_lets_go() {
    let mut h = converged(Topology::line(5));
    let f = open(&mut h, 0, 4, 20);
    assert_eq!(h.nodes[0].flow_state(f), Some(FlowState::Admitted));
    assert_eq!(tables(&h), vec![1; 5]);
    h.cut(2, 3);
    h.run_for(Duration::from_millis(300));
    let lost = Event::FlowClosed { flow: f, reason: FlowEnd::LinkLost { from: id(2), to: id(3) } };
    let closed: Vec<Event> = events(&h, 0).into_iter().filter(|e| matches!(e, Event::FlowClosed { .. })).collect();
    assert_eq!(closed, vec![lost]);
    assert_eq!(h.nodes[0].flow_state(f), None);
    // Teardown went back 2 → 1 → 0, Release went on 3 → 4: no table holds anything.
    assert_eq!(tables(&h), vec![0; 5]);
    assert!(h.nodes.iter().all(|n| n.metrics().reservations_expired == 0), "not by expiry");
}

#[test]
fn state_whose_release_is_lost_expires() {
    let mut h = converged(Topology::line(4));
    let f = open(&mut h, 0, 3, 20);
    assert_eq!(tables(&h), vec![1; 4]);
    h.lost_kinds.push(Kind::RoutingUpdate);
    h.close_flow(0, f).unwrap();
    assert_eq!(tables(&h), vec![0, 1, 1, 1], "the source let go, the Release is lost");
    let lifetime = h.nodes[1].config().reservation_lifetime;
    h.run_for(lifetime - Duration::from_millis(500));
    assert_eq!(tables(&h), vec![0, 1, 1, 1], "soft state lasts its lifetime");
    h.run_for(Duration::from_millis(600));
    assert_eq!(tables(&h), vec![0; 4]);
    assert!(h.nodes[1..].iter().all(|n| n.metrics().reservations_expired == 1));
}

#[test]
fn an_unanswered_reserve_is_refused_by_timeout_and_the_tentative_state_expires() {
    let mut h = converged(Topology::line(3));
    let f = h.open_flow(0, 2, bandwidth(20)).unwrap();
    // The Reserve to node 1 is on its way; everything node 1 (or anyone) sends from now is lost.
    h.lost_kinds.push(Kind::RoutingUpdate);
    let setup = h.nodes[0].config().reservation_setup_timeout;
    h.run_for(setup + Duration::from_millis(10));
    let timeout = Event::FlowRefused { flow: f, reason: ReservationRefusal::Timeout, at: id(0) };
    assert!(events(&h, 0).contains(&timeout), "{:?}", events(&h, 0));
    assert_eq!(h.nodes[0].flow_state(f), None);
    assert_eq!(tables(&h), vec![0, 1, 0], "node 1 holds it tentatively, its Release was lost");
    assert!(!h.nodes[1].reservations().get(id(0), f).unwrap().confirmed);
    h.run_for(h.nodes[1].config().reservation_lifetime);
    assert_eq!(tables(&h), vec![0; 3]);
    assert_eq!(h.nodes[1].metrics().reservations_expired, 1);
}

#[test]
fn flow_traffic_beyond_its_reservation_is_policed_at_the_first_relay() {
    let mut h = converged(Topology::line(3));
    // 8 kbit/s = 1,000 bytes/s, burst one 2,048-byte message.
    let f = open(&mut h, 0, 2, 8);
    let mut sent = 0;
    for _ in 0..50 {
        h.send_on_flow(0, f, &[1; 100]).unwrap();
        sent += 1;
        h.run_for(Duration::from_millis(10));
    }
    h.run_for(Duration::from_millis(200));
    let policed = h.nodes[1].metrics().drops.get(DropReason::Policed);
    let got = h.received[2].iter().filter(|r| r.origin == id(0)).count() as u64;
    assert!(policed > 0, "500 ms at 10 kB/s exceeds 2 kB + 0.5 kB of credit");
    assert_eq!(got + policed, sent, "every frame either conformed and arrived, or was policed");
    // 128-byte frames: the 2,048-byte burst plus 1,000 bytes/s over the 0.5 s.
    assert!((16..=22).contains(&got), "{got}");
}

#[test]
fn reservations_work_on_a_secured_mesh() {
    let key = [7u8; 32];
    let mut h = Harness::with_nodes(Topology::line(3), HarnessConfig::default(), |i, seed, now| {
        secure_node(i, seed, now, &key)
    });
    h.run_for(Duration::from_secs(3));
    let f = open(&mut h, 0, 2, 20);
    assert!(events(&h, 0).contains(&Event::FlowAdmitted { flow: f }), "{:?}", events(&h, 0));
    assert_eq!(tables(&h), vec![1; 3]);
    h.close_flow(0, f).unwrap();
    h.run_for(Duration::from_millis(300));
    assert_eq!(tables(&h), vec![0; 3]);
}

#[test]
fn many_sources_never_over_commit_a_link_and_every_table_holds_exactly_the_admitted_flows() {
    for seed in [3u64, 7, 11] {
        let mut h = converged(random_connected(12, 8, 4, seed));
        let cap = u64::from(capacity(&h, 0, 0, h.topology.neighbours(0)[0]));
        let bw = (cap * 3 / 10) as u32;
        // Every node opens flows to pseudo-random destinations, three rounds; each source
        // plans with its own ledger only, so many are admitted locally.
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut opened: Vec<(usize, FlowId, Vec<NodeId>)> = Vec::new();
        for _ in 0..3 {
            for i in 0..12 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let to = (i + 1 + (x % 11) as usize) % 12;
                if let Ok(f) = h.open_flow(i, to, bandwidth(bw)) {
                    opened.push((i, f, h.nodes[i].flow(f).expect("open").path.clone()));
                }
            }
            h.run_for(Duration::from_millis(300));
        }
        h.run_for(Duration::from_millis(500));
        let admitted: Vec<&(usize, FlowId, Vec<NodeId>)> =
            opened.iter().filter(|(i, f, _)| h.nodes[*i].flow_state(*f) == Some(FlowState::Admitted)).collect();
        assert!(opened.iter().all(|(i, f, _)| h.nodes[*i].flow_state(*f) != Some(FlowState::Pending)), "all answered");
        let on = |flows: &[&(usize, FlowId, Vec<NodeId>)], a: NodeId, b: NodeId| {
            flows.iter().filter(|(_, _, p)| p.windows(2).any(|w| w[0] == a && w[1] == b)).count() as u64 * u64::from(bw)
        };
        let all: Vec<&(usize, FlowId, Vec<NodeId>)> = opened.iter().collect();
        let (mut worst_local, mut worst_held) = (0u64, 0u64);
        for &(a, b) in &h.topology.edges {
            for (a, b) in [(a, b), (b, a)] {
                let (ia, ib) = (h.id(a), h.id(b));
                let held = on(&admitted, ia, ib);
                assert!(held <= cap, "seed {seed}: {held} kbit/s held on {a} → {b} of {cap}");
                assert_eq!(h.nodes[a].reservations().reserved_towards(ib), held, "seed {seed}: table of {a}");
                worst_local = worst_local.max(on(&all, ia, ib));
                worst_held = worst_held.max(held);
            }
        }
        let entries: usize = admitted.iter().map(|(_, _, p)| p.len()).sum();
        assert_eq!(tables(&h).iter().sum::<usize>(), entries, "seed {seed}: nothing but the admitted flows is held");
        assert!(admitted.len() < opened.len(), "seed {seed}: the scenario over-asks");
        eprintln!(
            "seed {seed}: {} flows admitted locally, {} along the path; busiest link {:.0} % of capacity if every local admission held, {:.0} % held",
            opened.len(),
            admitted.len(),
            100.0 * worst_local as f64 / cap as f64,
            100.0 * worst_held as f64 / cap as f64
        );
    }
}
