//! Same scenario and seed ⇒ byte-identical results.

use blemesh_sim::builtin;
use blemesh_sim::engine::Engine;
use blemesh_sim::report::Report;

fn run(seed: u64) -> String {
    let mut s = builtin::default();
    s.seed = seed;
    let mut engine = Engine::new(s).unwrap();
    engine.run();
    // Timing is measured but must not matter: only the deterministic part is compared.
    Report::build(&engine, Some(1.0)).deterministic_json()
}

#[test]
fn default_scenario_twice_with_one_seed_is_identical() {
    let a = run(42);
    let b = run(42);
    assert_eq!(a, b);
    assert!(a.contains("\"scenario\":\"default\""));
    let json: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert!(json["mesh"]["election"]["first_coordinator_s"].as_f64().is_some(), "{}", json["mesh"]["election"]);
    assert_eq!(json["mesh"]["partitions"]["cuts"].as_array().unwrap().len(), 1);
}

#[test]
fn another_seed_gives_another_run() {
    let mut s = builtin::tiny();
    s.seed = 1;
    let mut a = Engine::new(s.clone()).unwrap();
    a.run();
    s.seed = 2;
    let mut b = Engine::new(s).unwrap();
    b.run();
    assert_ne!(Report::build(&a, None).deterministic_json(), Report::build(&b, None).deterministic_json());
}
