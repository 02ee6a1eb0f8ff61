//! Links adopt the connection interval their central's core decides (when the scenario asks
//! for it), deterministically; otherwise every link keeps the configured interval.

use blemesh_core::LinkId;
use blemesh_sim::builtin;
use blemesh_sim::engine::Engine;
use blemesh_sim::report::Report;

fn run(adopt: bool, seed: u64) -> Engine {
    let mut s = builtin::tiny();
    s.seed = seed;
    s.radio.adopt_connection_parameters = adopt;
    let mut engine = Engine::new(s).unwrap();
    engine.run();
    engine
}

#[test]
fn links_follow_the_centrals_decision() {
    let engine = run(true, 7);
    let radio = &engine.stats.radio;
    assert!(radio.connection_updates > 0, "{radio:?}");
    assert!(radio.connection_updates <= radio.connection_updates_requested);
    let mut checked = 0;
    for (l, link) in engine.links.iter().enumerate().filter(|(_, link)| link.up) {
        let central = engine.devices[link.a as usize].node.as_ref().expect("central on");
        let decided = central.ble().link_parameters(LinkId(l as u32)).expect("a decision per link");
        let decided_us = decided.connection_interval.as_duration().as_micros() as u64;
        // The latest decision is in force, or still waits for its instant (6 events).
        match link.pending_interval_us {
            None => {
                assert_eq!(link.interval_us, decided_us, "link {l}");
                checked += 1;
            }
            Some(pending) => assert_eq!(pending, decided_us, "link {l}"),
        }
        // Every interval in force is one the core may choose (Balanced: 15 to 60 ms).
        assert!((15_000..=60_000).contains(&link.interval_us), "link {l}: {} µs", link.interval_us);
    }
    assert!(checked > 0, "no link to check");
}

#[test]
fn without_adoption_every_link_keeps_the_configured_interval() {
    let engine = run(false, 7);
    assert_eq!(engine.stats.radio.connection_updates_requested, 0);
    assert_eq!(engine.stats.radio.connection_updates, 0);
    assert!(engine.links.iter().all(|l| l.interval_us == 15_000));
}

#[test]
fn adoption_is_deterministic() {
    let json = |e: &Engine| Report::build(e, None).deterministic_json();
    assert_eq!(json(&run(true, 3)), json(&run(true, 3)));
}
