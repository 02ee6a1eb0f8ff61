//! Step tests of campaigning and voting, asserting the exact outputs emitted: pre-vote,
//! vote requests, grants, every deny reason, forged ballots, double votes, Byzantine quorum.

use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::test_support::*;
use super::*;
use crate::{Instant, NodeId};

#[test]
fn timeout_pre_vote_vote_and_win_emit_exactly() {
    let r = &mut rng(1);
    let mut n = node(1, ElectionConfig::default(), &[3, 2, 1], r);
    assert_eq!(n.next_deadline(), n.election_deadline);
    let d = n.next_deadline();
    assert!(d >= ms(150) && d <= ms(300), "{d:?}");
    n.on_timeout(Instant::from_micros(d.as_micros() - 1), r);
    assert_eq!(drain(&mut n), vec![], "early timeout does nothing");

    n.on_timeout(d, r);
    assert_eq!(drain(&mut n), vec![bcast(1, msg(PP, PRE, 1, 1, 1, 3))]);
    assert_eq!((n.role(), n.term(), n.voted_for()), (Role::PreCandidate, 0, None), "pre-vote keeps the term");

    deliver(&mut n, d, 2, msg(PP, PRE_GRANT, 1, 1, 2, 3), r);
    assert_eq!(drain(&mut n), vec![bcast(1, msg(PP, REQ, 1, 1, 1, 3))]);
    assert_eq!((n.role(), n.term(), n.voted_for()), (Role::Candidate, 1, Some(NodeId(1))));

    deliver(&mut n, d, 3, msg(PP, GRANT, 1, 1, 3, 3), r);
    assert_eq!(
        drain(&mut n),
        vec![ev(ElectionEvent::CoordinatorElected { term: 1, node: NodeId(1) }), bcast(1, msg(PP, HB, 1, 1, 1, 3))]
    );
    assert_eq!((n.role(), n.coordinator()), (Role::Coordinator, Some(NodeId(1))));
    assert_eq!(n.next_deadline(), d + Duration::from_millis(50));
    n.on_timeout(n.next_deadline(), r);
    assert_eq!(drain(&mut n), vec![bcast(1, msg(PP, HB, 1, 1, 1, 3))]);
    let m = n.metrics();
    assert_eq!((m.pre_votes_started, m.elections_started, m.elections_won), (1, 1, 1));
}

#[test]
fn voter_grants_repeats_and_denies_with_reasons() {
    let r = &mut rng(3);
    let mut n = node(2, ElectionConfig::default(), &[1, 2, 3], r);
    let t = ms(10);
    // Pre-vote: granted to the candidate only, term untouched.
    deliver(&mut n, t, 1, msg(PP, PRE, 1, 1, 1, 3), r);
    assert_eq!(drain(&mut n), vec![send(1, 2, msg(PP, PRE_GRANT, 1, 1, 2, 3))]);
    assert_eq!(n.term(), 0);
    // Vote: adopted term, ballot broadcast.
    deliver(&mut n, t, 1, msg(PP, REQ, 1, 1, 1, 3), r);
    assert_eq!(drain(&mut n), vec![bcast(2, msg(PP, GRANT, 1, 1, 2, 3))]);
    assert_eq!((n.term(), n.voted_for()), (1, Some(NodeId(1))));
    // Another candidate in the same term.
    deliver(&mut n, t, 3, msg(PP, REQ, 1, 3, 3, 3), r);
    assert_eq!(drain(&mut n), vec![send(3, 2, msg(PP, deny(false, DenyReason::AlreadyVoted), 1, 3, 2, 3))]);
    // The same candidate again: the same ballot again.
    deliver(&mut n, t, 1, msg(PP, REQ, 1, 1, 1, 3), r);
    assert_eq!(drain(&mut n), vec![bcast(2, msg(PP, GRANT, 1, 1, 2, 3))]);
    // Stale requests learn our term.
    deliver(&mut n, t, 3, msg(PP, REQ, 0, 3, 3, 3), r);
    deliver(&mut n, t, 3, msg(PP, PRE, 1, 3, 3, 3), r);
    assert_eq!(
        drain(&mut n),
        vec![
            send(3, 2, msg(PP, deny(false, DenyReason::StaleTerm), 1, 3, 2, 3)),
            send(3, 2, msg(PP, deny(true, DenyReason::StaleTerm), 1, 3, 2, 3)),
        ]
    );
    // A non-member.
    deliver(&mut n, t, 9, msg(PP, PRE, 2, 9, 9, 1), r);
    assert_eq!(drain(&mut n), vec![send(9, 2, msg(PP, deny(true, DenyReason::NotMember), 2, 9, 2, 3))]);
    assert_eq!(n.metrics().votes_denied, 4);
    assert_eq!(n.metrics().votes_granted, 2);
}

#[test]
fn higher_priority_voter_denies_and_campaigns_soon() {
    let r = &mut rng(4);
    let mut n = node(1, ElectionConfig::default(), &[1, 2, 3], r);
    let t = ms(5);
    deliver(&mut n, t, 2, msg(PP, PRE, 1, 2, 2, 3), r);
    assert_eq!(drain(&mut n), vec![send(2, 1, msg(PP, deny(true, DenyReason::LowerPriority), 1, 2, 1, 3))]);
    assert!(n.next_deadline() <= t + Duration::from_micros(37_500));
    n.on_timeout(n.next_deadline(), r);
    assert_eq!(drain(&mut n), vec![bcast(1, msg(PP, PRE, 1, 1, 1, 3))]);
    // Real votes are denied the same way.
    deliver(&mut n, t, 3, msg(PP, REQ, 1, 3, 3, 3), r);
    assert_eq!(drain(&mut n), vec![send(3, 1, msg(PP, deny(false, DenyReason::LowerPriority), 1, 3, 1, 3))]);
    assert_eq!((n.term(), n.voted_for()), (1, None));
}

#[test]
fn priority_objection_stops_after_failed_campaigns() {
    let r = &mut rng(5);
    let mut n = node(1, ElectionConfig::default(), &[1, 2, 3], r);
    // Two campaigns time out without an answer.
    for _ in 0..3 {
        n.on_timeout(n.next_deadline(), r);
    }
    assert_eq!(n.failed_campaigns, 2);
    drain(&mut n);
    let t = Instant::from_micros(n.next_deadline().as_micros() - 1_000);
    deliver(&mut n, t, 2, msg(PP, PRE, 1, 2, 2, 3), r);
    assert_eq!(drain(&mut n), vec![send(2, 1, msg(PP, PRE_GRANT, 1, 2, 1, 3))]);
}

#[test]
fn live_coordinator_blocks_unless_outranked_by_the_margin() {
    let r = &mut rng(6);
    let mut n = node(3, ElectionConfig::default(), &[1, 2, 3], r);
    let t = ms(20);
    deliver(&mut n, t, 2, msg(PP, HB, 1, 2, 2, 3), r);
    assert_eq!(
        drain(&mut n),
        vec![ev(ElectionEvent::CoordinatorElected { term: 1, node: NodeId(2) }), send(2, 3, msg(PP, HB, 1, 2, 3, 3))]
    );
    // Node 1 outranks node 2 by 100 milli: not more than the margin.
    deliver(&mut n, t, 1, msg(PP, PRE, 2, 1, 1, 3), r);
    deliver(&mut n, t, 1, msg(PP, REQ, 2, 1, 1, 3), r);
    assert_eq!(
        drain(&mut n),
        vec![
            send(1, 3, msg(PP, deny(true, DenyReason::CoordinatorAlive), 2, 1, 3, 3)),
            send(1, 3, msg(PP, deny(false, DenyReason::CoordinatorAlive), 2, 1, 3, 3)),
        ]
    );
    assert_eq!(n.term(), 1, "a blocked request does not move the term");
    // Takeover: a candidate far above the coordinator.
    let mut high = msg(PP, PRE, 2, 1, 1, 3);
    high.priority_milli = 20_000;
    deliver(&mut n, t, 1, high, r);
    assert_eq!(drain(&mut n), vec![send(1, 3, msg(PP, PRE_GRANT, 2, 1, 3, 3))]);
    high.kind = REQ;
    deliver(&mut n, t, 1, high, r);
    assert_eq!(
        drain(&mut n),
        vec![ev(ElectionEvent::CoordinatorLost { term: 1, node: NodeId(2) }), bcast(3, msg(PP, GRANT, 2, 1, 3, 3))]
    );
    // After the lease the ordinary rules apply.
    let mut m = node(3, ElectionConfig::default(), &[1, 2, 3], r);
    deliver(&mut m, t, 2, msg(PP, HB, 1, 2, 2, 3), r);
    drain(&mut m);
    deliver(&mut m, t + Duration::from_millis(150), 1, msg(PP, PRE, 2, 1, 1, 3), r);
    assert_eq!(drain(&mut m), vec![send(1, 3, msg(PP, PRE_GRANT, 2, 1, 3, 3))]);
}

#[test]
fn pre_vote_keeps_an_isolated_node_from_disturbing_the_term() {
    let r = &mut rng(7);
    let members = [1, 2, 3, 4, 5];
    let mut lonely = node(1, ElectionConfig::quorum(&ids(&members)), &[1], r);
    for _ in 0..20 {
        lonely.on_timeout(lonely.next_deadline(), r);
        assert_eq!(drain(&mut lonely), vec![bcast(1, msg(Q, PRE, 1, 1, 1, 5))]);
    }
    assert_eq!((lonely.term(), lonely.role()), (0, Role::PreCandidate));
    // The majority side at term 4 with a coordinator: the pre-vote changes nothing there.
    let mut other = node(2, ElectionConfig::quorum(&ids(&members)), &[2, 3, 4, 5], r);
    deliver(&mut other, ms(1), 3, msg(Q, HB, 4, 3, 3, 5), r);
    drain(&mut other);
    deliver(&mut other, ms(2), 1, msg(Q, PRE, 1, 1, 1, 5), r);
    assert_eq!(drain(&mut other), vec![send(1, 2, msg(Q, deny(true, DenyReason::StaleTerm), 4, 1, 2, 5))]);
    assert_eq!((other.term(), other.coordinator()), (4, Some(NodeId(3))));
    // Without pre-vote the isolated node inflates its term on every timeout.
    let mut cfg = ElectionConfig::quorum(&ids(&members));
    cfg.pre_vote = false;
    let mut noisy = node(1, cfg, &[1], r);
    for _ in 0..5 {
        noisy.on_timeout(noisy.next_deadline(), r);
    }
    assert_eq!(noisy.term(), 5);
}

#[test]
fn forged_ballots_are_rejected_with_a_reason_and_counted() {
    let r = &mut rng(13);
    let mut n = node(2, ElectionConfig::default(), &[1, 2, 3, 4], r);
    deliver(&mut n, ms(1), 1, msg(PP, REQ, 1, 1, 1, 4), r);
    drain(&mut n);
    let t = ms(2);
    let grant = msg(PP, GRANT, 1, 1, 3, 4);
    // Signed by 4, claimed from 3.
    let forged = signed_by(4, grant);
    n.on_message(t, NodeId(3), &grant, &forged.signature, r);
    // Unknown signer.
    let stranger = signed_by(99, msg(PP, GRANT, 1, 1, 99, 4));
    n.on_message(t, NodeId(99), &stranger.message, &stranger.signature, r);
    // Wrong term (replayed or invented).
    deliver(&mut n, t, 3, msg(PP, GRANT, 7, 1, 3, 4), r);
    // Request for someone else.
    deliver(&mut n, t, 4, msg(PP, REQ, 1, 3, 4, 4), r);
    // Other mode.
    deliver(&mut n, t, 3, msg(Q, GRANT, 1, 1, 3, 4), r);
    // From this node itself.
    deliver(&mut n, t, 2, msg(PP, GRANT, 1, 1, 2, 4), r);
    // Known key, not in the component.
    deliver(&mut n, t, 9, msg(PP, GRANT, 1, 1, 9, 4), r);
    // Tampered after signing.
    let mut tampered = signed_by(3, grant);
    tampered.message.candidate = NodeId(3);
    n.on_message(t, NodeId(3), &tampered.message, &tampered.signature, r);
    assert_eq!(drain(&mut n), vec![]);
    let m = n.metrics();
    use RejectReason::*;
    let counts: Vec<u64> = RejectReason::ALL.iter().map(|r| m.rejected(*r)).collect();
    assert_eq!(
        counts,
        vec![1, 1, 1, 2, 1, 1, 1, 0, 0],
        "FromSelf, ModeMismatch, UnknownSigner, BadSignature, SenderMismatch, WrongTerm, NotMember, InvalidCandidate, ViewMismatch"
    );
    assert_eq!(m.rejected(BadSignature), 2);
    assert_eq!((n.term(), n.voted_for()), (1, Some(NodeId(1))));
}

#[test]
fn a_double_vote_is_detected_with_evidence_and_does_not_count() {
    let r = &mut rng(14);
    let mut n = node(1, ElectionConfig::default(), &[1, 2, 3, 4], r);
    let t = n.next_deadline();
    n.on_timeout(t, r);
    deliver(&mut n, t, 2, msg(PP, PRE_GRANT, 1, 1, 2, 4), r);
    deliver(&mut n, t, 4, msg(PP, PRE_GRANT, 1, 1, 4, 4), r);
    drain(&mut n);
    assert_eq!((n.role(), n.term()), (Role::Candidate, 1));
    // Voter 3 is malicious: it signs a ballot for 2, then one for 1, in term 1.
    let for2 = msg(PP, GRANT, 1, 2, 3, 4);
    let for1 = msg(PP, GRANT, 1, 1, 3, 4);
    deliver(&mut n, t, 3, for2, r);
    assert_eq!(drain(&mut n), vec![]);
    deliver(&mut n, t, 3, for1, r);
    let b = |m| {
        let s = signed_by(3, m);
        SignedBallot { voter: NodeId(3), message: s.message, signature: s.signature }
    };
    let evidence = DoubleVoteEvidence { voter: NodeId(3), term: 1, first: b(for2), second: b(for1) };
    assert_eq!(
        drain(&mut n),
        vec![
            ev(ElectionEvent::DoubleVote { evidence: alloc::boxed::Box::new(evidence) }),
            ev(ElectionEvent::TrustPenalty { node: NodeId(3), penalty: 0.5 }),
        ]
    );
    let verifier = KEYS.verifier(&ids(&[1, 2, 3, 4]));
    assert!(evidence.verify(&verifier));
    let mut fake = evidence;
    fake.second.message.candidate = NodeId(2);
    assert!(!fake.verify(&verifier), "same candidate or bad signature is no evidence");
    // 3's ballot does not count: 1 + 4 are two of the three needed.
    deliver(&mut n, t, 3, for1, r);
    deliver(&mut n, t, 4, msg(PP, GRANT, 1, 1, 4, 4), r);
    assert_eq!(drain(&mut n), vec![], "convicted once per term");
    assert_eq!(n.role(), Role::Candidate);
    deliver(&mut n, t, 2, msg(PP, GRANT, 1, 1, 2, 4), r);
    assert_eq!(
        drain(&mut n),
        vec![ev(ElectionEvent::CoordinatorElected { term: 1, node: NodeId(1) }), bcast(1, msg(PP, HB, 1, 1, 1, 4))]
    );
    assert_eq!(n.metrics().double_votes, 1);
    // A candidate's own request is its ballot too: voting for another in the same term is a
    // double vote seen by any observer.
    let mut o = node(5, ElectionConfig::default(), &[1, 2, 3, 4, 5], r);
    deliver(&mut o, t, 2, msg(PP, REQ, 1, 2, 2, 5), r);
    drain(&mut o);
    deliver(&mut o, t, 2, msg(PP, GRANT, 1, 3, 2, 5), r);
    assert!(matches!(drain(&mut o)[..], [Action::Event(ElectionEvent::DoubleVote { .. }), Action::Event(ElectionEvent::TrustPenalty { .. })]));
}

#[test]
fn byzantine_mode_needs_two_f_plus_one_votes() {
    let r = &mut rng(15);
    let cfg = ElectionConfig { byzantine: true, ..ElectionConfig::default() };
    let members = [1, 2, 3, 4, 5, 6];
    let mut n = node(1, cfg.clone(), &members, r);
    assert_eq!(n.threshold(), 5);
    let plain = node(1, ElectionConfig::default(), &members, r);
    assert_eq!(plain.threshold(), 4);
    for (size, want) in [(1, 1), (2, 2), (3, 3), (4, 3), (5, 4), (7, 5), (8, 6), (9, 7), (10, 7), (11, 8)] {
        let comp: Vec<u64> = (1..=size).collect();
        assert_eq!(node(1, cfg.clone(), &comp, r).threshold(), want, "n = {size}");
    }
    let t = n.next_deadline();
    n.on_timeout(t, r);
    for v in 2..=5 {
        deliver(&mut n, t, v, msg(PP, PRE_GRANT, 1, 1, v, 6), r);
    }
    drain(&mut n);
    for v in 2..=4 {
        deliver(&mut n, t, v, msg(PP, GRANT, 1, 1, v, 6), r);
    }
    assert_eq!((drain(&mut n), n.role()), (vec![], Role::Candidate), "a majority is not enough");
    deliver(&mut n, t, 5, msg(PP, GRANT, 1, 1, 5, 6), r);
    assert_eq!(
        drain(&mut n),
        vec![ev(ElectionEvent::CoordinatorElected { term: 1, node: NodeId(1) }), bcast(1, msg(PP, HB, 1, 1, 1, 6))]
    );
}

#[test]
fn stale_term_denial_makes_the_candidate_catch_up() {
    let r = &mut rng(16);
    let mut n = node(1, ElectionConfig::default(), &[1, 2, 3], r);
    n.on_timeout(n.next_deadline(), r);
    drain(&mut n);
    deliver(&mut n, ms(300), 2, msg(PP, deny(true, DenyReason::StaleTerm), 5, 1, 2, 3), r);
    assert_eq!((drain(&mut n), n.term(), n.role()), (vec![], 5, Role::Follower));
    n.on_timeout(n.next_deadline(), r);
    assert_eq!(drain(&mut n), vec![bcast(1, msg(PP, PRE, 6, 1, 1, 3))]);
}

#[test]
fn non_member_never_campaigns_in_quorum_mode() {
    let r = &mut rng(17);
    let mut n = node(9, ElectionConfig::quorum(&ids(&[1, 2, 3])), &[1, 2, 3, 9], r);
    for _ in 0..5 {
        n.on_timeout(n.next_deadline(), r);
    }
    deliver(&mut n, ms(1), 1, msg(Q, PRE, 1, 1, 1, 3), r);
    assert_eq!((drain(&mut n), n.term()), (vec![], 0));
    // It still learns the coordinator.
    deliver(&mut n, ms(2), 1, msg(Q, HB, 1, 1, 1, 3), r);
    assert_eq!(
        drain(&mut n),
        vec![ev(ElectionEvent::CoordinatorElected { term: 1, node: NodeId(1) }), send(1, 9, msg(Q, HB, 1, 1, 9, 3))]
    );
}
