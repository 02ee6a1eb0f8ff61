//! Secured meshes (`Node::new_secure`) under attack: an insider black hole and replayer, an
//! outsider forger with another network key. Nothing from the attackers gets through and
//! critical traffic still arrives where the honest graph is connected.

use blemesh_sim::builtin;
use blemesh_sim::engine::Engine;
use blemesh_sim::report::Report;

fn secured_run(seed: u64) {
    let mut s = builtin::secure();
    s.seed = seed;
    s.duration_s = 45.0;
    let mut engine = Engine::new(s).unwrap();
    engine.run();
    let r = Report::build(&engine, None).deterministic;
    let sec = r.security.as_ref().expect("secured run");
    let (replays, forgeries) = sec.attempts;
    assert!(replays > 0 && forgeries > 0 && r.byzantine.3 > 0, "attacks happened: {:?} {}", sec.attempts, r.byzantine.3);
    assert_eq!(sec.outsider_frames_accepted, 0, "seed {seed}");
    assert_eq!(sec.replays_accepted, 0, "seed {seed}");
    assert_eq!(sec.forged_accepted, 0, "seed {seed}");
    assert!(sec.drops.get("bad_tag").copied().unwrap_or(0) > 0, "outsider frames rejected: {:?}", sec.drops);
    // The honest graph (outsider left out) was connected throughout the load.
    assert!(r.mesh.connected_at_s.is_some_and(|t| t < 15.0) && r.mesh.max_components == 1, "seed {seed}: {:?}", r.mesh);
    let critical = &r.priorities[0];
    assert!(critical.expected > 200, "{critical:?}");
    assert!(sec.critical_delivery_ratio >= 0.99, "seed {seed}: critical delivery {}", sec.critical_delivery_ratio);
    assert!(sec.critical_acked_ratio.is_none_or(|a| a >= 0.99), "seed {seed}: acked {:?}", sec.critical_acked_ratio);
}

#[test]
fn secured_mesh_seed_1() {
    secured_run(1);
}

#[test]
fn secured_mesh_seed_2() {
    secured_run(2);
}

#[test]
fn secured_mesh_seed_3() {
    secured_run(3);
}
