//! QoS flows driven by the node in the harness: admission against the max-flow bound and
//! the constrained search, refusals with their reason, data on the reserved path, release on
//! close, idle timeout and link loss, adaptive admission and preemption by congestion.
//! Reservations along the path (several sources, hop refusals, teardown, soft state) are in
//! `mesh_reservations.rs`.

use std::time::Duration;

use blemesh_core::flow::{AdmissionError, FlowEnd, FlowId, FlowState, QosViolation};
use blemesh_core::routing::{CongestionLevel, QosConstraints};
use blemesh_core::wire::{Frame, Kind, LinkPdu};
use blemesh_core::{Error, Event, LinkId, NodeId, Priority, Qos};
use blemesh_tests::{Harness, HarnessConfig, Topology};

fn id(i: usize) -> NodeId {
    NodeId(i as u64 + 1)
}

/// The diamond 0 — 1 — 3, 0 — 2 — 3, converged.
fn diamond() -> Harness {
    let mut h = Harness::new(Topology::new(4, [(0, 1), (1, 3), (0, 2), (2, 3)]), HarnessConfig::default());
    h.run_for(Duration::from_secs(3));
    h
}

/// The bandwidth node 0 sees on its link to node `to` (the harness makes all links alike).
fn capacity(h: &Harness, to: usize) -> u32 {
    let g = h.nodes[0].router().graph();
    let e = g.edge_between(id(0), id(to)).expect("link in view");
    u32::from(g.metrics(e).bandwidth_kbps)
}

fn bandwidth(priority: Priority, kbps: u32) -> QosConstraints {
    QosConstraints { min_bandwidth_kbps: kbps, ..QosConstraints::new(priority) }
}

fn events(h: &Harness, i: usize) -> Vec<Event> {
    h.events[i].iter().map(|(_, e)| *e).collect()
}

/// Node `i` opens a flow to `to` and waits until the path admits it.
fn admitted(h: &mut Harness, i: usize, to: usize, c: QosConstraints) -> FlowId {
    let f = h.open_flow(i, to, c).expect("admitted locally");
    assert_eq!(h.nodes[i].flow_state(f), Some(FlowState::Pending));
    assert_eq!(h.send_on_flow(i, f, b"early"), Err(Error::FlowPending(f)));
    h.run_for(Duration::from_millis(300));
    assert!(events(h, i).contains(&Event::FlowAdmitted { flow: f }), "{:?}", events(h, i));
    assert_eq!(h.nodes[i].flow_state(f), Some(FlowState::Admitted));
    f
}

#[test]
fn flows_are_admitted_up_to_the_capacity_and_refused_with_the_reason() {
    let mut h = diamond();
    let cap = capacity(&h, 1);
    assert!(cap >= 50, "links have a measured bandwidth: {cap}");
    assert_eq!(cap, capacity(&h, 2));
    let big = cap * 6 / 10;
    let f1 = h.open_flow(0, 3, bandwidth(Priority::Normal, big)).expect("first flow fits");
    let p1 = h.nodes[0].flow(f1).unwrap().path.clone();
    assert_eq!((p1.len(), p1[0], p1[2]), (3, id(0), id(3)));
    assert_eq!(h.nodes[0].flow_ledger().reserved(p1[0], p1[1]), u64::from(big));
    assert_eq!(h.nodes[0].flow_ledger().reserved(p1[1], p1[2]), u64::from(big));
    // The same again only fits on the other branch.
    let f2 = h.open_flow(0, 3, bandwidth(Priority::Normal, big)).expect("second flow fits beside");
    let p2 = h.nodes[0].flow(f2).unwrap().path.clone();
    assert_ne!(p1[1], p2[1], "the second flow takes the other branch");
    // 0.4 cap is left on each branch: 0.8 cap of max-flow, no single path with 0.6 cap.
    let left = u64::from(cap - big) * 2;
    assert_eq!(
        h.open_flow(0, 3, bandwidth(Priority::Normal, big)),
        Err(AdmissionError::NoFeasiblePath { violated: QosViolation::Bandwidth })
    );
    let much = cap - big + cap / 2;
    assert_eq!(
        h.open_flow(0, 3, bandwidth(Priority::Normal, much)),
        Err(AdmissionError::InsufficientCapacity { max_flow: left, requested: u64::from(much) })
    );
    // Latency and reliability bounds no path meets, with the best that exists.
    let fast = QosConstraints { max_latency_ms: Some(1), ..bandwidth(Priority::High, 10) };
    let Err(AdmissionError::NoFeasiblePath { violated: QosViolation::Latency { best_ms } }) = h.open_flow(0, 3, fast) else {
        panic!("latency refusal expected")
    };
    assert!(best_ms >= 10, "two links of at least 5 ms: {best_ms}");
    let sure = QosConstraints { min_reliability: Some(0.999), ..bandwidth(Priority::High, 10) };
    let Err(AdmissionError::NoFeasiblePath { violated: QosViolation::Reliability { best } }) = h.open_flow(0, 3, sure) else {
        panic!("reliability refusal expected")
    };
    assert!(best > 0.5 && best < 0.999, "{best}");
    assert_eq!(h.open_flow(0, 3, bandwidth(Priority::Normal, 0)), Err(AdmissionError::ZeroBandwidth));
    assert_eq!(
        h.open_flow(0, 0, bandwidth(Priority::Normal, 1)),
        Err(AdmissionError::Api(Error::InvalidDestination(id(0))))
    );
    // Closing gives the bandwidth back: the big flow fits again.
    h.close_flow(0, f1).unwrap();
    assert_eq!(h.close_flow(0, f1), Err(Error::UnknownFlow(f1)));
    assert_eq!(h.nodes[0].flow_ledger().reserved(p1[0], p1[1]), 0);
    h.open_flow(0, 3, bandwidth(Priority::Normal, big)).expect("fits after the close");
}

#[test]
fn data_on_a_flow_leaves_by_its_first_hop_and_arrives() {
    let mut h = diamond();
    let f = admitted(&mut h, 0, 3, bandwidth(Priority::High, 50));
    let relay = (h.nodes[0].flow(f).unwrap().path[1].0 - 1) as usize;
    h.record_transmissions = true;
    for k in 0..5u8 {
        h.send_on_flow(0, f, &[k; 20]).unwrap();
        h.run_for(Duration::from_millis(100));
    }
    let got: Vec<u8> = h.received[3].iter().filter(|r| r.origin == id(0)).map(|r| r.payload[0]).collect();
    assert_eq!(got, vec![0, 1, 2, 3, 4]);
    assert!(h.received[3].iter().all(|r| r.priority == Priority::High && r.hops == 2));
    // Node 0 sent each of them once, on its link to the reserved relay only.
    let data_links: Vec<LinkId> = h.transmitted[0]
        .iter()
        .filter_map(|(_, link, pdu)| match LinkPdu::new_checked(pdu, 4096) {
            Ok(LinkPdu::Whole(f)) => Frame::new_checked(f, 4096).ok().filter(|f| f.kind() == Kind::GameData).map(|_| *link),
            _ => None,
        })
        .collect();
    assert_eq!(data_links, vec![LinkId(relay as u32); 5]);
    assert_eq!(h.send_on_flow(0, f + 100, b"x"), Err(Error::UnknownFlow(f + 100)));
}

#[test]
fn flows_end_on_idle_timeout_and_on_the_loss_of_a_link_of_their_path() {
    let mut h = diamond();
    let idle = admitted(&mut h, 0, 3, bandwidth(Priority::Normal, 10));
    let busy = admitted(&mut h, 0, 3, bandwidth(Priority::Normal, 10));
    for _ in 0..12 {
        h.send_on_flow(0, busy, b"still here").unwrap();
        h.run_for(Duration::from_secs(1));
    }
    let closed: Vec<Event> = events(&h, 0).into_iter().filter(|e| matches!(e, Event::FlowClosed { .. })).collect();
    assert_eq!(closed, vec![Event::FlowClosed { flow: idle, reason: FlowEnd::IdleTimeout }]);
    assert!(h.nodes[0].flow(idle).is_none());
    // Cut the far link of the busy flow's path: released once the topology shows it.
    let path = h.nodes[0].flow(busy).unwrap().path.clone();
    let relay = (path[1].0 - 1) as usize;
    h.cut(relay, 3);
    h.run_for(Duration::from_secs(2));
    let lost = Event::FlowClosed { flow: busy, reason: FlowEnd::LinkLost { from: id(relay), to: id(3) } };
    assert!(events(&h, 0).contains(&lost), "{:?}", events(&h, 0));
    assert_eq!(h.nodes[0].flows().count(), 0);
    assert_eq!(h.send_on_flow(0, busy, b"gone"), Err(Error::UnknownFlow(busy)));
}

#[test]
fn congestion_narrows_admission_and_critical_preempts_non_critical_flows() {
    let mut h = diamond();
    let normal = h.open_flow(0, 3, bandwidth(Priority::Normal, 10)).unwrap();
    let high = h.open_flow(0, 3, bandwidth(Priority::High, 10)).unwrap();
    let critical = h.open_flow(0, 3, bandwidth(Priority::Critical, 10)).unwrap();
    assert_eq!(h.nodes[0].congestion_level(), CongestionLevel::Low);
    // Fill node 0's transmit queue without draining it: 2 PDUs per broadcast.
    let cap = h.nodes[0].config().transmit_queue;
    let now = h.now();
    let mut queued = 0;
    while queued * 100 < cap * 80 {
        h.nodes[0].broadcast(now, &[0; 8], Qos::new(Priority::Background)).unwrap();
        queued = h.nodes[0].occupancy().transmit_queue;
    }
    assert_eq!(h.nodes[0].congestion_level(), CongestionLevel::High);
    let refused = h.nodes[0].open_flow(now, id(3), bandwidth(Priority::Normal, 10));
    assert_eq!(refused, Err(AdmissionError::Congested { node: id(0), level: CongestionLevel::High }));
    let high2 = h.nodes[0].open_flow(now, id(3), bandwidth(Priority::High, 10)).expect("high is admitted at high");
    while queued * 100 < cap * 90 {
        h.nodes[0].broadcast(now, &[0; 8], Qos::new(Priority::Background)).unwrap();
        queued = h.nodes[0].occupancy().transmit_queue;
    }
    assert_eq!(h.nodes[0].congestion_level(), CongestionLevel::Critical);
    h.nodes[0].handle_timeout(now).unwrap();
    h.drain_node(0);
    let mut preempted: Vec<u32> = events(&h, 0)
        .into_iter()
        .filter_map(|e| match e {
            Event::FlowPreempted { flow, by } => {
                assert_eq!((by.node, by.level), (id(0), CongestionLevel::Critical));
                Some(flow)
            }
            _ => None,
        })
        .collect();
    preempted.sort_unstable();
    assert_eq!(preempted, vec![normal, high, high2]);
    assert_eq!(h.nodes[0].flows().map(|f| f.id).collect::<Vec<_>>(), vec![critical]);
    // Drained, the queue empties and admission opens again.
    h.run_for(Duration::from_secs(2));
    assert_eq!(h.nodes[0].congestion_level(), CongestionLevel::Low);
    h.open_flow(0, 3, bandwidth(Priority::Background, 10)).expect("admitted again");
}
