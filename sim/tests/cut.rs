//! A scripted cut is seen as `NeighbourLost` on both sides of every link that crossed it,
//! and the heal brings the mesh back together.

use std::collections::BTreeSet;

use blemesh_core::Event;
use blemesh_sim::engine::{Engine, SEC};
use blemesh_sim::scenario::{Cut, Load, Scenario};

#[test]
fn cut_is_neighbour_lost_on_both_sides() {
    let s = Scenario {
        name: "cut".into(),
        nodes: 10,
        duration_s: 30.0,
        load: Load { rate_per_node: 0.0, ..Load::default() },
        cut: vec![Cut { at_s: 10.0, heal_s: Some(20.0), split_x_m: None, group: vec![1, 2, 3, 4, 5] }],
        ..Scenario::default()
    };
    let mut engine = Engine::new(s).unwrap();
    engine.run_until(10 * SEC - 1);
    let side = |id: u64| id <= 5;
    // Confirmed neighbour pairs across the cut just before it.
    let mut crossing = BTreeSet::new();
    for d in &engine.devices {
        for l in d.node.as_ref().unwrap().neighbours().filter(|l| l.is_confirmed()) {
            if side(d.id.0) != side(l.peer.0) {
                crossing.insert((d.id.0, l.peer.0));
            }
        }
    }
    assert!(!crossing.is_empty(), "the cut must separate linked nodes");
    engine.record_steps = true;
    let mut lost = BTreeSet::new();
    while engine.now < 15 * SEC && engine.step() {
        for (i, e) in &engine.step_log.events {
            if let Event::NeighbourLost { node, .. } = e {
                lost.insert((u64::from(*i) + 1, node.0));
            }
        }
    }
    for pair in &crossing {
        assert!(lost.contains(pair), "{pair:?} not reported lost; lost = {lost:?}");
    }
    assert!(lost.iter().all(|(a, b)| side(*a) != side(*b)), "only crossing links may be lost: {lost:?}");
    assert_eq!(engine.components(), 2);
    engine.run_until(30 * SEC);
    assert_eq!(engine.components(), 1, "the heal must reconnect the mesh");
}
