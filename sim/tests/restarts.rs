//! Scripted restarts (`[[restart]]`, `blemesh_sim::restarts`): every restarted node of the
//! built-in `restart` and `restart-secure` scenarios is routable again within 3 s of its
//! first confirmed link (a broadcast of another node delivered, a routed unicast each way
//! with the farthest node); and the report says so. Five seeds each here (a debug build
//! runs the secured mesh's signatures slowly); `docs/PERFORMANCE.md` gives the command for
//! 20 seeds in release, and `tests/tests/mesh_restart.rs` runs 20 seeds of each in the
//! harness.

use blemesh_sim::builtin;
use blemesh_sim::engine::Engine;
use blemesh_sim::report::Report;
use blemesh_sim::scenario::{Restart, Scenario};
use blemesh_sim::table;

fn report(s: Scenario) -> Report {
    let mut engine = Engine::new(s).unwrap();
    engine.run();
    Report::build(&engine, None)
}

fn worst_over_seeds(base: Scenario) -> f64 {
    const SEEDS: u64 = 5;
    let mut worst = 0.0f64;
    for seed in 1..=SEEDS {
        let r = report(Scenario { seed, ..base.clone() });
        let restarts = &r.deterministic.restarts;
        assert_eq!(restarts.len(), base.restart.len());
        for x in restarts {
            let routable = x.routable_s().unwrap_or_else(|| panic!("{} seed {seed}: {x:?}", base.name));
            assert!(routable <= 3.0, "{} seed {seed}: {x:?}", base.name);
            worst = worst.max(routable);
        }
        let (sent, resumed) = r.deterministic.resumes;
        assert!(resumed <= sent, "a jump needs a notice");
    }
    eprintln!("{}: slowest restart over {SEEDS} seeds routable after {worst:.3} s", base.name);
    worst
}

#[test]
fn restarted_unsecured_nodes_are_routable_within_3_s() {
    worst_over_seeds(builtin::restart());
}

#[test]
fn restarted_secured_nodes_are_routable_within_3_s() {
    worst_over_seeds(builtin::restart_secure());
}

#[test]
fn the_report_lists_each_restart() {
    let mut s = builtin::restart();
    s.duration_s = 40.0;
    s.restart = vec![Restart { node: 3, at_s: 20.0, down_s: 1.0 }, Restart { node: 5, at_s: 25.0, down_s: 2.0 }];
    let r = report(s);
    let d = &r.deterministic;
    assert_eq!(d.restarts.iter().map(|x| (x.node, x.off_s, x.on_s)).collect::<Vec<_>>(), [
        (3, Some(20.0), Some(21.0)),
        (5, Some(25.0), Some(27.0))
    ]);
    assert!(d.restarts.iter().all(|x| x.partner.is_some() && x.linked_after_s.is_some()));
    let text = table::render(&r);
    assert!(text.contains("Restarts (s after the restarted node's first confirmed link"), "{text}");
    assert!(text.contains("routable again            2 of 2 restarts"), "{text}");
}

#[test]
fn overlapping_restarts_of_one_node_are_refused_by_name() {
    let mut s = builtin::restart();
    s.restart = vec![Restart { node: 3, at_s: 20.0, down_s: 5.0 }, Restart { node: 3, at_s: 22.0, down_s: 1.0 }];
    let e = Engine::new(s).unwrap_err();
    assert!(e.starts_with("restart[1]: node 3 is still off then"), "{e}");
    let mut s = builtin::restart();
    s.restart = vec![Restart { node: 21, at_s: 20.0, down_s: 1.0 }];
    let e = Engine::new(s).unwrap_err();
    assert!(e.contains("restart[0].node"), "{e}");
    let mut s = builtin::restart();
    s.restart = vec![Restart { node: 2, at_s: 20.0, down_s: 0.0 }];
    let e = Engine::new(s).unwrap_err();
    assert!(e.contains("restart[0].down_s"), "{e}");
}
