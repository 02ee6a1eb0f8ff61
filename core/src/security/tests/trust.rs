//! Trust scores and the double-vote ledger.

use core::time::Duration;

use crate::security::{Behaviour, TrustConfig, TrustTable, VoteCheck, VoteLedger};
use crate::{Instant, NodeId};

fn table() -> TrustTable {
    TrustTable::new(TrustConfig::default(), 8)
}

#[test]
fn unknown_nodes_are_neutral_and_trusted() {
    let t = table();
    assert_eq!(t.score(NodeId(1), Instant::ZERO), 0.5);
    assert!(t.is_trusted(NodeId(1), Instant::ZERO));
    assert!(t.is_empty());
}

#[test]
fn misbehaviour_drops_trust_below_the_threshold() {
    let mut t = table();
    let n = NodeId(7);
    let now = Instant::from_secs(1);
    assert_eq!(t.record(n, Behaviour::InvalidSignature, now), 0.25);
    assert!(t.is_trusted(n, now));
    assert_eq!(t.record(n, Behaviour::InvalidSignature, now), 0.0);
    assert!(!t.is_trusted(n, now));
    let m = NodeId(8);
    t.record(m, Behaviour::DoubleVote, now);
    assert!(!t.is_trusted(m, now));
    // Scores stay within bounds.
    for _ in 0..50 {
        t.record(m, Behaviour::RelayConfirmed, now);
    }
    assert!((t.score(m, now) - 0.5).abs() < 1e-4, "{}", t.score(m, now));
    for _ in 0..100 {
        t.record(m, Behaviour::AckDelivered, now);
    }
    assert_eq!(t.score(m, now), 1.0);
}

#[test]
fn scores_decay_towards_neutral_with_the_half_life() {
    let mut t = table();
    let n = NodeId(3);
    let t0 = Instant::from_secs(100);
    t.record(n, Behaviour::DoubleVote, t0); // 0.0
    let half = TrustConfig::default().half_life;
    let at = |d: Duration| t.score(n, t0 + d);
    assert!((at(half) - 0.25).abs() < 1e-3, "{}", at(half));
    assert!((at(half / 2) - (0.5 - 0.5 * core::f32::consts::FRAC_1_SQRT_2)).abs() < 1e-3, "{}", at(half / 2));
    assert!((at(half * 3) - 0.4375).abs() < 1e-3, "{}", at(half * 3));
    assert!((at(half * 100) - 0.5).abs() < 1e-6);
    // Monotonic recovery.
    let mut last = 0.0;
    for s in 0..200 {
        let v = at(Duration::from_secs(s * 30));
        assert!(v >= last, "{v} < {last} at {s}");
        last = v;
    }
    assert!(!t.is_trusted(n, t0 + half / 2));
    assert!(t.is_trusted(n, t0 + half * 2));
    // Good behaviour decays too.
    let g = NodeId(4);
    for _ in 0..20 {
        t.record(g, Behaviour::RelayConfirmed, t0);
    }
    assert!((t.score(g, t0 + half) - 0.6).abs() < 1e-3);
    // A penalty applies to the decayed value.
    assert!((t.record(n, Behaviour::RelayWithheld, t0 + half) - 0.20).abs() < 1e-3);
}

#[test]
fn full_table_forgets_the_least_informative_entry() {
    let mut t = TrustTable::new(TrustConfig::default(), 2);
    let now = Instant::ZERO;
    t.record(NodeId(1), Behaviour::DoubleVote, now); // far from neutral
    t.record(NodeId(2), Behaviour::RelayConfirmed, now); // close to neutral
    t.record(NodeId(3), Behaviour::RelayWithheld, now);
    assert_eq!(t.len(), 2);
    assert_eq!(t.score(NodeId(2), now), 0.5, "evicted");
    assert_eq!(t.score(NodeId(1), now), 0.0, "bad actor remembered");
    t.forget(NodeId(1));
    assert_eq!(t.score(NodeId(1), now), 0.5);
    assert_eq!(t.config().threshold, 0.25);
}

#[test]
fn behaviour_names_are_stable() {
    assert_eq!(Behaviour::DoubleVote.name(), "double_vote");
    assert_eq!(Behaviour::RelayWithheld.name(), "relay_withheld");
    assert!(Behaviour::InvalidSignature.delta() < 0.0 && Behaviour::AckDelivered.delta() > 0.0);
}

#[test]
fn ledger_detects_double_votes() {
    let mut l = VoteLedger::new(2);
    let (v, a, b) = (NodeId(10), NodeId(1), NodeId(2));
    assert_eq!(l.record(v, 5, a), VoteCheck::First);
    assert_eq!(l.record(v, 5, a), VoteCheck::Repeat);
    assert_eq!(l.record(v, 5, b), VoteCheck::Double { earlier: a });
    assert_eq!(l.record(v, 6, b), VoteCheck::First);
    assert_eq!(l.record(v, 5, a), VoteCheck::Outdated);
    // Bounded: the voter with the oldest term is forgotten.
    assert_eq!(l.record(NodeId(11), 9, a), VoteCheck::First);
    assert_eq!(l.record(NodeId(12), 9, a), VoteCheck::First);
    assert_eq!(l.record(v, 6, a), VoteCheck::First, "v was forgotten");
}
