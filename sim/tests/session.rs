//! The game-session workload in the simulator: members agree on one order through lossy
//! links, churn, a restart, late joins and a cut that heals; no submit ends in silence.

use blemesh_sim::engine::Engine;
use blemesh_sim::invariants::{Invariant, SessionOrder, run_checked};
use blemesh_sim::{builtin, report::Report};

/// Runs the `session` built-in with `seed`, the session invariant checked after every step.
fn run(seed: u64) -> blemesh_sim::session_load::SessionSummary {
    let mut s = builtin::by_name("session").unwrap();
    s.seed = seed;
    let mut engine = Engine::new(s).unwrap();
    let mut checks: Vec<Box<dyn Invariant>> = vec![Box::new(SessionOrder::default())];
    run_checked(&mut engine, &mut checks).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    assert!(checks[0].evaluations() > 1000, "the invariant saw the session's outputs");
    Report::build(&engine, None).deterministic.session.expect("a session section")
}

#[test]
fn members_agree_and_every_submit_ends_through_faults() {
    for seed in 1..=3 {
        let s = run(seed);
        assert!(s.players == 25 && s.agreement.0 >= 20, "seed {seed}: most players are members at the end: {s:?}");
        assert_eq!(s.agreement.1, s.agreement.0, "seed {seed}: every member holds the same history");
        assert_eq!(s.silent, 0, "seed {seed}: no submit ends in silence");
        assert!(s.sequenced * 2 > s.submits.0, "seed {seed}: most submits are sequenced: {s:?}");
        assert!(s.rebases.0 > 0, "seed {seed}: the cut's heal made the smaller side rebase");
        assert_eq!(s.never_joined, 0, "seed {seed}: every join became a player");
        assert!(s.snapshots.1 > 0, "seed {seed}: joiners caught up from snapshots");
        assert_eq!(s.state_agreement.1, s.state_agreement.0, "seed {seed}: every member's game state is the same: {s:?}");
    }
}

#[test]
fn a_scenario_without_a_session_reports_none() {
    let mut s = builtin::by_name("tiny").unwrap();
    s.duration_s = 5.0;
    let mut engine = Engine::new(s).unwrap();
    engine.run();
    assert!(Report::build(&engine, None).deterministic.session.is_none());
}

/// Sequenced latency is measured as plain latency is: at members that were playing and
/// joined to the submitter at the submit, beside the same run's plain broadcasts, per
/// receiver and to the last; the events a coordinator change delayed are told apart.
#[test]
fn sequenced_latency_sits_beside_plain_broadcasts_of_the_same_run() {
    let mut engine = Engine::new(builtin::by_name("session-default").unwrap()).unwrap();
    engine.run();
    let s = Report::build(&engine, None).deterministic.session.expect("a session section");
    let plain = s.plain_high_ms.expect("the run sent plain High broadcasts");
    let plain_all = s.plain_high_to_all_ms.0.expect("broadcasts reached all their reachable receivers");
    assert!(plain_all.0 > plain.0, "the last receiver is further than the median one: {s:?}");
    // A submit travels to the sequencer and the entry back out: two trips, never faster
    // than one, and (in this mesh) not more than three times as long at the median.
    let (steady, each, all) = s.steady;
    assert!(each.0 > plain.0 && each.0 < 3.0 * plain.0, "{s:?}");
    assert!(all.0 > plain.0 && all.0 < 2.0 * plain_all.0, "{s:?}");
    assert!(s.member_latency_ms.1 >= each.1, "the overall tail includes the coordinator changes: {s:?}");
    // The cut at 60 s and its heal change coordinators: some events wait, most do not.
    let (changed, _) = s.after_change;
    assert!(changed > 0 && changed * 20 < steady, "{s:?}");
    assert!(steady + changed <= s.sequenced, "{s:?}");
}
