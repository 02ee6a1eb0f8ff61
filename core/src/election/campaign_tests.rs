//! Step tests of what keeps a multi-hop mesh from campaign storms, asserting the exact
//! outputs emitted: the follower lease, standing aside for a better-ranked campaign, the
//! bounded patience with such a campaign, a coordinator campaigning for a later term, and
//! the longer vote round of a large component.

use alloc::vec;
use core::time::Duration;

use super::test_support::*;
use super::*;
use crate::{Instant, NodeId};

/// Campaign timeouts 150–300 ms (the defaults), a follower lease of 600–800 ms.
fn leased() -> ElectionConfig {
    ElectionConfig {
        lease_timeout_min: Duration::from_millis(600),
        lease_timeout_max: Duration::from_millis(800),
        ..ElectionConfig::default()
    }
}

#[test]
fn a_follower_waits_its_lease_then_campaigns() {
    let r = &mut rng(21);
    let mut n = node(3, leased(), &[1, 2, 3], r);
    let t = ms(20);
    deliver(&mut n, t, 2, msg(PP, HB, 1, 2, 2, 3), r);
    assert_eq!(
        drain(&mut n),
        vec![ev(ElectionEvent::CoordinatorElected { term: 1, node: NodeId(2) }), send(2, 3, msg(PP, HB, 1, 2, 3, 3))]
    );
    let d = n.next_deadline();
    assert!(d >= t + Duration::from_millis(600) && d <= t + Duration::from_millis(800), "{d:?}");
    // The campaign timeout alone would have fired by now: nothing happens.
    n.on_timeout(t + Duration::from_millis(300), r);
    assert_eq!(drain(&mut n), vec![]);
    assert_eq!(n.coordinator(), Some(NodeId(2)));
    // The lease ran out without a heartbeat.
    n.on_timeout(d, r);
    assert_eq!(
        drain(&mut n),
        vec![ev(ElectionEvent::CoordinatorLost { term: 1, node: NodeId(2) }), bcast(3, msg(PP, PRE, 2, 3, 3, 3))]
    );
    assert_eq!(n.role(), Role::PreCandidate);
}

#[test]
fn a_pre_candidate_stands_aside_for_a_better_campaign_until_it_ends() {
    let r = &mut rng(22);
    let mut n = node(2, ElectionConfig::default(), &[1, 2, 3], r);
    let d = n.next_deadline();
    n.on_timeout(d, r);
    assert_eq!(drain(&mut n), vec![bcast(2, msg(PP, PRE, 1, 2, 2, 3))]);
    // Node 1 outranks node 2: granted, and node 2 abandons its own round.
    deliver(&mut n, d, 1, msg(PP, PRE, 1, 1, 1, 3), r);
    assert_eq!(drain(&mut n), vec![send(1, 2, msg(PP, PRE_GRANT, 1, 1, 2, 3))]);
    assert_eq!(n.role(), Role::Follower);
    // A lower-ranked candidate is denied on node 1's behalf, and node 2 does not hurry:
    // the best campaign is not its own.
    let before = n.next_deadline();
    deliver(&mut n, d, 3, msg(PP, PRE, 1, 3, 3, 3), r);
    assert_eq!(drain(&mut n), vec![send(3, 2, msg(PP, deny(true, DenyReason::LowerPriority), 1, 3, 2, 3))]);
    assert_eq!(n.next_deadline(), before);
    assert_eq!(n.metrics().denied(DenyReason::LowerPriority), 1);
    // Its timeout fires while node 1's campaign runs (heard within election_timeout_max):
    // it stands aside again, silently.
    let d2 = n.next_deadline();
    assert!(d2 < d + Duration::from_millis(300));
    n.on_timeout(d2, r);
    assert_eq!(drain(&mut n), vec![]);
    assert_eq!(n.role(), Role::Follower);
    // Node 1 went quiet: once its campaign expired, node 2 campaigns.
    let mut t = n.next_deadline();
    while t < d + Duration::from_millis(300) {
        n.on_timeout(t, r);
        assert_eq!(drain(&mut n), vec![]);
        t = n.next_deadline();
    }
    n.on_timeout(t, r);
    assert_eq!(drain(&mut n), vec![bcast(2, msg(PP, PRE, 1, 2, 2, 3))]);
}

#[test]
fn patience_with_a_campaign_that_cannot_win_is_bounded() {
    let r = &mut rng(23);
    let mut n = node(2, ElectionConfig::default(), &[1, 2, 3], r);
    // Node 1 asks again and again (every 250 ms) but never wins: after
    // (priority_denials + 1) rounds of election_timeout_max = 900 ms, node 2 campaigns.
    let mut asked = Instant::ZERO;
    let mut campaigned = None;
    for step in 0..2_000u64 {
        let now = ms(step);
        if now >= asked + Duration::from_millis(250) || step == 0 {
            asked = now;
            deliver(&mut n, now, 1, msg(PP, PRE, 1, 1, 1, 3), r);
        }
        n.on_timeout(now, r);
        let out = drain(&mut n);
        if out.contains(&bcast(2, msg(PP, PRE, 1, 2, 2, 3))) {
            campaigned = Some(now);
            break;
        }
    }
    let at = campaigned.expect("node 2 never campaigned");
    assert!(at >= ms(900) && at <= ms(1_200), "{at:?}");
}

#[test]
fn a_coordinator_asking_for_a_later_term_frees_its_followers() {
    let r = &mut rng(24);
    let mut n = node(3, leased(), &[1, 2, 3], r);
    deliver(&mut n, ms(20), 2, msg(PP, HB, 1, 2, 2, 3), r);
    drain(&mut n);
    // Node 2 stepped down (it learnt of term 2) and now campaigns for term 3.
    deliver(&mut n, ms(40), 2, msg(PP, PRE, 3, 2, 2, 3), r);
    assert_eq!(
        drain(&mut n),
        vec![ev(ElectionEvent::CoordinatorLost { term: 1, node: NodeId(2) }), send(2, 3, msg(PP, PRE_GRANT, 3, 2, 3, 3))]
    );
    assert_eq!(n.coordinator(), None);
}

#[test]
fn a_large_component_gives_its_vote_round_more_time() {
    let r = &mut rng(25);
    let cfg = ElectionConfig { vote_round_per_member: Duration::from_millis(10), ..ElectionConfig::default() };
    let members: alloc::vec::Vec<u64> = (1..=20).collect();
    let mut n = node(1, cfg, &members, r);
    let d = n.next_deadline();
    n.on_timeout(d, r);
    drain(&mut n);
    // Pre-vote rounds keep the ordinary timeout; the vote round gets 20 × 10 ms more.
    for v in 2..=11 {
        deliver(&mut n, d, v, msg(PP, PRE_GRANT, 1, 1, v, 20), r);
    }
    assert_eq!(drain(&mut n), vec![bcast(1, msg(PP, REQ, 1, 1, 1, 20))]);
    let round = n.next_deadline() - d;
    assert!(round >= Duration::from_millis(350) && round <= Duration::from_millis(500), "{round:?}");
}
