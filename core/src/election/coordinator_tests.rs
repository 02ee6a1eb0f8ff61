//! Step tests of coordinators, asserting the exact outputs emitted: heartbeats, check-quorum,
//! step-downs, merge after heal, takeover, membership changes.

use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::test_support::*;
use super::*;
use crate::NodeId;

#[test]
fn single_node_component_elects_itself_at_once() {
    let r = &mut rng(2);
    let mut n = node(7, ElectionConfig::default(), &[], r);
    n.on_timeout(n.next_deadline(), r);
    assert_eq!(
        drain(&mut n),
        vec![
            bcast(7, msg_in(PP, PRE, 1, 7, 7, &[7])),
            bcast(7, msg_in(PP, REQ, 1, 7, 7, &[7])),
            ev(ElectionEvent::CoordinatorElected { term: 1, node: NodeId(7) }),
            bcast(7, msg_in(PP, HB, 1, 7, 7, &[7])),
        ]
    );
}

#[test]
fn check_quorum_steps_down_a_coordinator_that_hears_nobody() {
    let r = &mut rng(8);
    let (mut n, t0) = elected_node1(Q, r);
    // First window: node 2 acknowledges, the coordinator stays.
    deliver(&mut n, t0 + Duration::from_millis(10), 2, msg(Q, HB, 1, 1, 2, 3), r);
    let mut out = Vec::new();
    while n.next_deadline() <= t0 + Duration::from_millis(300) {
        n.on_timeout(n.next_deadline(), r);
        out.extend(drain(&mut n));
    }
    assert_eq!(out, vec![bcast(1, msg(Q, HB, 1, 1, 1, 3)); 6]);
    assert_eq!(n.role(), Role::Coordinator);
    // Second window: silence.
    out.clear();
    while n.role() == Role::Coordinator {
        n.on_timeout(n.next_deadline(), r);
        out.extend(drain(&mut n));
    }
    let mut expected = vec![bcast(1, msg(Q, HB, 1, 1, 1, 3)); 5];
    expected.push(ev(ElectionEvent::SteppedDown { term: 1, reason: StepDownReason::LostQuorum }));
    expected.push(ev(ElectionEvent::CoordinatorLost { term: 1, node: NodeId(1) }));
    assert_eq!(out, expected);
    assert_eq!((n.term(), n.coordinator(), n.metrics().step_downs), (1, None, 1));
}

#[test]
fn quorum_coordinator_steps_down_when_the_majority_becomes_unreachable() {
    let r = &mut rng(9);
    let (mut n, t) = elected_node1(Q, r);
    n.on_membership(t, &ids(&[1, 2]), r);
    assert_eq!(drain(&mut n), vec![], "still a majority: voters unchanged in quorum mode");
    n.on_membership(t, &ids(&[1]), r);
    assert_eq!(
        drain(&mut n),
        vec![
            ev(ElectionEvent::SteppedDown { term: 1, reason: StepDownReason::LostQuorum }),
            ev(ElectionEvent::CoordinatorLost { term: 1, node: NodeId(1) }),
        ]
    );
}

#[test]
fn higher_term_heartbeat_steps_the_coordinator_down() {
    let r = &mut rng(10);
    let (mut n, t) = elected_node1(PP, r);
    deliver(&mut n, t, 2, msg(PP, HB, 3, 2, 2, 3), r);
    assert_eq!(
        drain(&mut n),
        vec![
            ev(ElectionEvent::SteppedDown { term: 1, reason: StepDownReason::HigherTerm }),
            ev(ElectionEvent::CoordinatorLost { term: 1, node: NodeId(1) }),
            ev(ElectionEvent::CoordinatorElected { term: 3, node: NodeId(2) }),
            send(2, 1, msg(PP, HB, 3, 2, 1, 3)),
        ]
    );
    // An older coordinator is ignored.
    deliver(&mut n, t, 3, msg(PP, HB, 2, 3, 3, 3), r);
    assert_eq!(drain(&mut n), vec![]);
}

#[test]
fn same_term_merge_leaves_exactly_one_coordinator() {
    let r = &mut rng(11);
    let mut a = node(1, ElectionConfig::default(), &[1], r);
    let mut b = node(2, ElectionConfig::default(), &[2], r);
    a.on_timeout(a.next_deadline(), r);
    b.on_timeout(b.next_deadline(), r);
    drain(&mut a);
    drain(&mut b);
    assert_eq!((a.term(), b.term(), a.role(), b.role()), (1, 1, Role::Coordinator, Role::Coordinator));
    // The components merge: both coordinators of term 1 step down at once, so two of one term
    // never share the merged partition while their claims travel, and each asks at once for
    // term 2 under the merged view.
    let mut t = ms(400);
    a.on_membership(t, &ids(&[1, 2]), r);
    b.on_membership(t, &ids(&[1, 2]), r);
    for (n, id) in [(&mut a, 1u64), (&mut b, 2)] {
        assert_eq!(
            drain(n),
            vec![
                ev(ElectionEvent::SteppedDown { term: 1, reason: StepDownReason::ViewChanged }),
                ev(ElectionEvent::CoordinatorLost { term: 1, node: NodeId(id) }),
                bcast(id, msg(PP, REQ, 2, id, id, 2)),
            ],
            "node {id}"
        );
    }
    assert_eq!((a.coordinator(), b.coordinator()), (None, None));
    // The merged component elects afresh: run both, carrying every message across.
    for _ in 0..40 {
        t = a.next_deadline().min(b.next_deadline());
        for n in [&mut a, &mut b] {
            if n.next_deadline() <= t {
                n.on_timeout(t, r);
            }
        }
        for _ in 0..8 {
            let (from_a, from_b) = (drain(&mut a), drain(&mut b));
            if from_a.is_empty() && from_b.is_empty() {
                break;
            }
            for (actions, from, to) in [(from_a, 1u64, &mut b), (from_b, 2, &mut a)] {
                for action in actions {
                    match action {
                        Action::Broadcast(m) | Action::Send { message: m, .. } => deliver(to, t, from, m.message, r),
                        Action::Event(_) => {}
                    }
                }
            }
            if let (Some(ca), Some(cb)) = (a.coordinator(), b.coordinator()) {
                assert!(a.term() != b.term() || ca == cb, "two coordinators in term {}", a.term());
            }
        }
        if a.coordinator().is_some() && a.coordinator() == b.coordinator() && a.term() == b.term() {
            break;
        }
    }
    assert_eq!(a.coordinator(), b.coordinator(), "one coordinator for the merged pair");
    assert!(a.coordinator().is_some() && a.term() >= 2);
}

#[test]
fn follower_loses_a_coordinator_that_left_the_component() {
    let r = &mut rng(12);
    let mut n = node(2, ElectionConfig::default(), &[1, 2, 3], r);
    deliver(&mut n, ms(1), 1, msg(PP, HB, 1, 1, 1, 3), r);
    drain(&mut n);
    n.on_membership(ms(2), &ids(&[2, 3]), r);
    assert_eq!(drain(&mut n), vec![ev(ElectionEvent::CoordinatorLost { term: 1, node: NodeId(1) })]);
    assert_eq!(n.voters(), &ids(&[2, 3])[..]);
}

#[test]
fn a_follower_outranking_the_coordinator_by_the_margin_takes_over() {
    let r = &mut rng(18);
    let mut n = node(1, ElectionConfig::default(), &[1, 2, 3], r);
    let d0 = n.next_deadline();
    deliver(&mut n, ms(10), 3, msg(PP, HB, 1, 3, 3, 3), r);
    assert_eq!(
        drain(&mut n),
        vec![ev(ElectionEvent::CoordinatorElected { term: 1, node: NodeId(3) }), send(3, 1, msg(PP, HB, 1, 3, 1, 3))]
    );
    deliver(&mut n, ms(60), 3, msg(PP, HB, 1, 3, 3, 3), r);
    assert_eq!(drain(&mut n), vec![], "ack not due yet");
    assert_eq!(n.next_deadline(), d0, "heartbeats do not push back a takeover");
    n.on_timeout(d0, r);
    assert_eq!(drain(&mut n), vec![bcast(1, msg(PP, PRE, 2, 1, 1, 3))]);
    assert_eq!((n.role(), n.coordinator(), n.term()), (Role::PreCandidate, Some(NodeId(3)), 1));
    // A heartbeat meanwhile does not cancel the pre-vote.
    let t = d0 + Duration::from_millis(1);
    deliver(&mut n, t, 3, msg(PP, HB, 1, 3, 3, 3), r);
    assert_eq!(drain(&mut n), vec![send(3, 1, msg(PP, HB, 1, 3, 1, 3))]);
    assert_eq!(n.role(), Role::PreCandidate);
    deliver(&mut n, t, 2, msg(PP, PRE_GRANT, 2, 1, 2, 3), r);
    assert_eq!(
        drain(&mut n),
        vec![ev(ElectionEvent::CoordinatorLost { term: 1, node: NodeId(3) }), bcast(1, msg(PP, REQ, 2, 1, 1, 3))]
    );
    // The old coordinator, asked for a vote by a node outranking it by the margin, steps down
    // and grants.
    let (mut c, t0) = elected_node1(PP, r);
    let mut high = msg(PP, REQ, 2, 2, 2, 3);
    high.priority_milli = 20_000;
    deliver(&mut c, t0, 2, high, r);
    assert_eq!(
        drain(&mut c),
        vec![
            ev(ElectionEvent::SteppedDown { term: 1, reason: StepDownReason::HigherTerm }),
            ev(ElectionEvent::CoordinatorLost { term: 1, node: NodeId(1) }),
            bcast(1, msg(PP, GRANT, 2, 2, 1, 3)),
        ]
    );
}

#[test]
fn a_follower_left_at_a_higher_term_makes_the_old_coordinator_step_down() {
    let r = &mut rng(19);
    let mut n = node(3, ElectionConfig::default(), &[1, 2, 3], r);
    deliver(&mut n, ms(1), 2, msg(PP, REQ, 4, 2, 2, 3), r);
    drain(&mut n);
    deliver(&mut n, ms(2), 1, msg(PP, HB, 2, 1, 1, 3), r);
    assert_eq!(drain(&mut n), vec![send(1, 3, msg(PP, HB, 4, 1, 3, 3))]);
    deliver(&mut n, ms(3), 1, msg(PP, HB, 2, 1, 1, 3), r);
    assert_eq!(drain(&mut n), vec![], "at most one answer per ack_interval");
    let (mut c, t0) = elected_node1(PP, r);
    deliver(&mut c, t0, 3, msg(PP, HB, 4, 1, 3, 3), r);
    assert_eq!(
        drain(&mut c),
        vec![
            ev(ElectionEvent::SteppedDown { term: 1, reason: StepDownReason::HigherTerm }),
            ev(ElectionEvent::CoordinatorLost { term: 1, node: NodeId(1) }),
        ]
    );
    assert_eq!((c.term(), c.role()), (4, Role::Follower));
}

#[test]
fn a_coordinator_stepped_down_for_a_newer_term_campaigns_again_soon_despite_a_better_rival() {
    // Node 2 coordinates {1, 2, 3}; node 3, left at term 4 by a failed election, makes it step
    // down. Node 3 and the rest still hold node 2's lease and would deny node 1 until it runs
    // out, so node 2 must not stand aside for node 1's campaign: it campaigns within a quarter
    // of the minimum election timeout, for term 5.
    let r = &mut rng(23);
    let cfg = ElectionConfig::default();
    let quarter = cfg.election_timeout_min / 4;
    let mut c = node(2, cfg, &[1, 2, 3], r);
    let t = c.next_deadline();
    c.on_timeout(t, r);
    deliver(&mut c, t, 3, msg(PP, PRE_GRANT, 1, 2, 3, 3), r);
    deliver(&mut c, t, 3, msg(PP, GRANT, 1, 2, 3, 3), r);
    drain(&mut c);
    assert_eq!(c.role(), Role::Coordinator);
    deliver(&mut c, t, 3, msg(PP, HB, 4, 2, 3, 3), r);
    assert_eq!(
        drain(&mut c),
        vec![
            ev(ElectionEvent::SteppedDown { term: 1, reason: StepDownReason::HigherTerm }),
            ev(ElectionEvent::CoordinatorLost { term: 1, node: NodeId(2) }),
        ]
    );
    assert!(c.next_deadline() <= t + quarter, "campaigns soon, not after a full election timeout");
    // The better-ranked node 1 asks for pre-votes: granted (pre-votes bind nothing) and noted.
    deliver(&mut c, t, 1, msg(PP, PRE, 5, 1, 1, 3), r);
    assert_eq!(drain(&mut c), vec![send(1, 2, msg(PP, PRE_GRANT, 5, 1, 2, 3))]);
    let due = c.next_deadline();
    assert!(due <= t + quarter);
    c.on_timeout(due, r);
    assert_eq!(c.role(), Role::PreCandidate, "it did not stand aside for node 1");
    assert_eq!(drain(&mut c), vec![bcast(2, msg(PP, PRE, 5, 2, 2, 3))]);
}
