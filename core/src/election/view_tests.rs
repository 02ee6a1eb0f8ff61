//! Step tests of the view rules (`view.rs`), asserting the exact outputs emitted: a request of
//! another view waits for the voter's view, grants and heartbeats of another view do not
//! count, and a (pre-)candidate asks again under its new view.

use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::test_support::*;
use super::*;
use crate::{Instant, NodeId};

/// After a view change at `t`: nothing at once, then (a quarter of the minimum election
/// timeout later, one announcement per burst of changes) the outputs returned.
fn after_view_delay(n: &mut Node, t: Instant, r: &mut rand_chacha::ChaCha8Rng) -> Vec<Action> {
    assert_eq!(drain(n), vec![]);
    let at = t + n.config().election_timeout_min / 4;
    assert_eq!(n.next_deadline(), at);
    n.on_timeout(at, r);
    drain(n)
}

#[test]
fn a_request_of_another_view_is_answered_once_the_views_agree() {
    let r = &mut rng(31);
    let mut n = node(2, ElectionConfig::default(), &[1, 2, 3], r);
    // Node 1 already counts {1, 2}; node 2 still counts {1, 2, 3}: no answer yet.
    deliver(&mut n, ms(100), 1, msg_in(PP, REQ, 1, 1, 1, &[1, 2]), r);
    assert_eq!(drain(&mut n), vec![]);
    assert_eq!((n.voted_for(), n.metrics().requests_deferred, n.metrics().votes_granted), (None, 1, 0));
    // Node 3 leaves node 2's component too: the kept request is answered, under the new view.
    n.on_membership(ms(150), &ids(&[1, 2]), r);
    assert_eq!(drain(&mut n), vec![bcast(2, msg_in(PP, GRANT, 1, 1, 2, &[1, 2]))]);
    assert_eq!((n.term(), n.voted_for()), (1, Some(NodeId(1))));
}

#[test]
fn a_kept_request_expires_after_the_longest_election_timeout() {
    let r = &mut rng(32);
    let cfg = ElectionConfig::default();
    let late = ms(100) + cfg.election_timeout_max + Duration::from_millis(1);
    let mut n = node(2, cfg, &[1, 2, 3], r);
    deliver(&mut n, ms(100), 1, msg_in(PP, PRE, 1, 1, 1, &[1, 2]), r);
    assert_eq!(drain(&mut n), vec![]);
    n.on_membership(late, &ids(&[1, 2]), r);
    assert_eq!(drain(&mut n), vec![]);
    assert_eq!((n.term(), n.voted_for()), (0, None));
}

#[test]
fn grants_of_another_view_do_not_count() {
    let r = &mut rng(33);
    let mut n = node(1, ElectionConfig::default(), &[1, 2, 3], r);
    let t = n.next_deadline();
    n.on_timeout(t, r);
    assert_eq!(drain(&mut n), vec![bcast(1, msg(PP, PRE, 1, 1, 1, 3))]);
    // Node 2 granted the pre-vote under {1, 2}: not a grant of node 1's view.
    deliver(&mut n, t, 2, msg_in(PP, PRE_GRANT, 1, 1, 2, &[1, 2]), r);
    assert_eq!(drain(&mut n), vec![]);
    assert_eq!((n.role(), n.metrics().rejected(RejectReason::ViewMismatch)), (Role::PreCandidate, 1));
    deliver(&mut n, t, 3, msg(PP, PRE_GRANT, 1, 1, 3, 3), r);
    assert_eq!(drain(&mut n), vec![bcast(1, msg(PP, REQ, 1, 1, 1, 3))]);
    // The same for the binding vote: self plus a grant of another view is no majority.
    deliver(&mut n, t, 2, msg_in(PP, GRANT, 1, 1, 2, &[1, 2]), r);
    assert_eq!(drain(&mut n), vec![]);
    assert_eq!((n.role(), n.metrics().rejected(RejectReason::ViewMismatch)), (Role::Candidate, 2));
    deliver(&mut n, t, 3, msg(PP, GRANT, 1, 1, 3, 3), r);
    assert_eq!(
        drain(&mut n),
        vec![ev(ElectionEvent::CoordinatorElected { term: 1, node: NodeId(1) }), bcast(1, msg(PP, HB, 1, 1, 1, 3))]
    );
}

#[test]
fn a_heartbeat_of_another_view_is_not_followed() {
    let r = &mut rng(34);
    let mut n = node(2, ElectionConfig::default(), &[1, 2, 3], r);
    deliver(&mut n, ms(100), 1, msg_in(PP, HB, 1, 1, 1, &[1, 2]), r);
    assert_eq!(drain(&mut n), vec![]);
    assert_eq!((n.coordinator(), n.term()), (None, 0));
    assert_eq!(n.metrics().rejected(RejectReason::ViewMismatch), 1);
    deliver(&mut n, ms(110), 1, msg(PP, HB, 1, 1, 1, 3), r);
    assert_eq!(
        drain(&mut n),
        vec![ev(ElectionEvent::CoordinatorElected { term: 1, node: NodeId(1) }), send(1, 2, msg(PP, HB, 1, 1, 2, 3))]
    );
}

#[test]
fn a_candidate_asks_again_in_the_same_term_under_its_new_view() {
    let r = &mut rng(35);
    let mut n = node(1, ElectionConfig::default(), &[1, 2, 3], r);
    let t = n.next_deadline();
    n.on_timeout(t, r);
    drain(&mut n);
    deliver(&mut n, t, 2, msg(PP, PRE_GRANT, 1, 1, 2, 3), r);
    assert_eq!(drain(&mut n), vec![bcast(1, msg(PP, REQ, 1, 1, 1, 3))]);
    n.on_membership(t, &ids(&[1, 2, 3, 4]), r);
    assert_eq!(after_view_delay(&mut n, t, r), vec![bcast(1, msg(PP, REQ, 1, 1, 1, 4))]);
    // A grant of the old view no longer counts; one of the new view does, and node 1 needs
    // three of {1, 2, 3, 4}.
    deliver(&mut n, t, 2, msg(PP, GRANT, 1, 1, 2, 3), r);
    deliver(&mut n, t, 2, msg(PP, GRANT, 1, 1, 2, 4), r);
    assert_eq!((drain(&mut n), n.role()), (vec![], Role::Candidate));
    deliver(&mut n, t, 3, msg(PP, GRANT, 1, 1, 3, 4), r);
    assert_eq!(
        drain(&mut n),
        vec![ev(ElectionEvent::CoordinatorElected { term: 1, node: NodeId(1) }), bcast(1, msg(PP, HB, 1, 1, 1, 4))]
    );
}

#[test]
fn a_coordinator_whose_component_shrinks_campaigns_for_the_next_term_under_the_new_view() {
    let r = &mut rng(36);
    let (mut n, t) = elected_node1(PP, r);
    n.on_membership(t, &ids(&[1, 2]), r);
    assert_eq!(
        drain(&mut n),
        vec![
            ev(ElectionEvent::SteppedDown { term: 1, reason: StepDownReason::ViewChanged }),
            ev(ElectionEvent::CoordinatorLost { term: 1, node: NodeId(1) }),
            bcast(1, msg(PP, REQ, 2, 1, 1, 2)),
        ]
    );
    deliver(&mut n, t, 2, msg(PP, GRANT, 2, 1, 2, 2), r);
    assert_eq!(
        drain(&mut n),
        vec![ev(ElectionEvent::CoordinatorElected { term: 2, node: NodeId(1) }), bcast(1, msg(PP, HB, 2, 1, 1, 2))]
    );
}

#[test]
fn quorum_mode_views_never_change() {
    let r = &mut rng(37);
    let (mut n, t) = elected_node1(Q, r);
    let view = n.view();
    n.on_membership(t, &ids(&[1, 2, 3, 4]), r);
    n.on_membership(t, &ids(&[1, 3]), r);
    assert_eq!((drain(&mut n), n.view(), n.role()), (vec![], view, Role::Coordinator));
    assert_eq!(view, ViewDigest::of(&ids(&[1, 2, 3])));
}

#[test]
fn a_coordinator_whose_electors_still_win_the_new_view_keeps_its_term() {
    let r = &mut rng(38);
    // Elected by itself and node 3 of {1, 2, 3}: node 2 leaving leaves both electors, a
    // majority of {1, 3}.
    let (mut n, t) = elected_node1(PP, r);
    n.on_membership(t, &ids(&[1, 3]), r);
    assert_eq!(after_view_delay(&mut n, t, r), vec![bcast(1, msg_in(PP, HB, 1, 1, 1, &[1, 3]))]);
    let t = t + n.config().election_timeout_min / 4;
    assert_eq!((n.role(), n.term(), n.metrics().views_kept, n.metrics().step_downs), (Role::Coordinator, 1, 1, 0));
    // Node 4 joins: two electors of {1, 3, 4} are still a majority.
    n.on_membership(t, &ids(&[1, 3, 4]), r);
    assert_eq!(after_view_delay(&mut n, t, r), vec![bcast(1, msg_in(PP, HB, 1, 1, 1, &[1, 3, 4]))]);
    let t = t + n.config().election_timeout_min / 4;
    // Nodes 5 and 6 join: two of five are not; a new term under the new view.
    n.on_membership(t, &ids(&[1, 3, 4, 5, 6]), r);
    assert_eq!(
        drain(&mut n),
        vec![
            ev(ElectionEvent::SteppedDown { term: 1, reason: StepDownReason::ViewChanged }),
            ev(ElectionEvent::CoordinatorLost { term: 1, node: NodeId(1) }),
            bcast(1, msg_in(PP, REQ, 2, 1, 1, &[1, 3, 4, 5, 6])),
        ]
    );
}

#[test]
fn a_follower_that_heard_its_coordinator_under_the_new_view_first_keeps_following() {
    let r = &mut rng(39);
    let mut n = node(2, ElectionConfig::default(), &[1, 2, 3], r);
    deliver(&mut n, ms(100), 1, msg(PP, HB, 1, 1, 1, 3), r);
    drain(&mut n);
    // Node 1 already counts node 4; node 2 does not yet: the heartbeat is kept (for one
    // heartbeat interval, 50 ms here).
    deliver(&mut n, ms(300), 1, msg(PP, HB, 1, 1, 1, 4), r);
    assert_eq!(drain(&mut n), vec![]);
    n.on_membership(ms(320), &ids(&[1, 2, 3, 4]), r);
    // The same coordinator: no event, only the acknowledgement under the new view.
    assert_eq!(drain(&mut n), vec![send(1, 2, msg(PP, HB, 1, 1, 2, 4))]);
    assert_eq!(n.coordinator(), Some(NodeId(1)));
    // Without a kept heartbeat, a view change forgets the coordinator until it is heard
    // under the new view.
    n.on_membership(ms(400), &ids(&[1, 2, 4]), r);
    assert_eq!(drain(&mut n), vec![ev(ElectionEvent::CoordinatorLost { term: 1, node: NodeId(1) })]);
    deliver(&mut n, ms(500), 1, msg_in(PP, HB, 1, 1, 1, &[1, 2, 4]), r);
    assert_eq!(
        drain(&mut n),
        vec![ev(ElectionEvent::CoordinatorElected { term: 1, node: NodeId(1) }), send(1, 2, msg_in(PP, HB, 1, 1, 2, &[1, 2, 4]))]
    );
}

#[test]
fn contact_with_voters_still_in_the_view_counts_for_check_quorum_after_a_view_change() {
    let r = &mut rng(40);
    let (mut n, t0) = elected_node1(PP, r);
    // Node 3 acknowledges under {1, 2, 3}; then node 2 leaves and node 4 joins. Node 1 keeps
    // the term (electors {1, 3} win {1, 3, 4}), and node 3's contact still counts: at the
    // end of the check-quorum window (300 ms) node 1 has heard 2 of 3 and stays.
    deliver(&mut n, t0 + Duration::from_millis(10), 3, msg(PP, HB, 1, 1, 3, 3), r);
    n.on_membership(t0 + Duration::from_millis(250), &ids(&[1, 3, 4]), r);
    assert_eq!(drain(&mut n), vec![]);
    while n.next_deadline() <= t0 + Duration::from_millis(310) {
        n.on_timeout(n.next_deadline(), r);
    }
    assert!(drain(&mut n).iter().all(|a| matches!(a, Action::Broadcast(_))), "heartbeats only");
    assert_eq!((n.role(), n.metrics().step_downs), (Role::Coordinator, 0));
}
