//! A black hole in the middle of a line of three (1 — 2 — 3, nodes 1 and 3 out of each
//! other's range) relays nothing, whatever the payload size: small frames travel whole,
//! 600-byte frames as fragments of the core's link format, and both must be dropped.
//! Of each broadcast of node 1 or 3 only node 2 is reached, of node 2's both: 4 of 6
//! receivers, 2/3. (Before the black hole parsed the core's fragment format, 600-byte
//! payloads passed it and the line delivered 100 %.) Every receiver the black hole cut off
//! was reachable by radio, and each one missed is put under the Byzantine cause.

use blemesh_sim::engine::Engine;
use blemesh_sim::report::Report;
use blemesh_sim::scenario::{Area, Behaviour, Byzantine, Load, Placement, Scenario};

fn line_with_a_black_hole(payload_bytes: usize) -> (f64, u64, blemesh_sim::report::PriorityRow) {
    let mut s = Scenario {
        name: "blackhole-line".into(),
        nodes: 3,
        duration_s: 40.0,
        // Three grid columns 20 m apart: neighbours at 20 m, the ends 40 m apart.
        area: Area { width_m: 60.0, height_m: 20.0, placement: Placement::Grid },
        load: Load { start_s: 10.0, rate_per_node: 2.0, unicast_fraction: 0.0, payload_bytes, ..Load::default() },
        byzantine: vec![Byzantine { node: 2, behaviour: Behaviour::Blackhole, from_s: 0.0, interval_ms: 500 }],
        ..Scenario::default()
    };
    s.radio.shadowing_sigma_db = 0.0;
    let mut engine = Engine::new(s).unwrap();
    engine.run();
    let links: Vec<(u32, u32)> =
        blemesh_sim::netjson::graph_links(&engine).into_iter().filter(|l| l.confirmed).map(|l| (l.a.min(l.b), l.a.max(l.b))).collect();
    assert!(!links.contains(&(0, 2)), "the ends must not be neighbours: {links:?}");
    assert!(links.contains(&(0, 1)) && links.contains(&(1, 2)), "a line: {links:?}");
    let r = Report::build(&engine, None).deterministic;
    let expected: u64 = r.priorities.iter().map(|p| p.expected).sum();
    let delivered: u64 = r.priorities.iter().map(|p| p.delivered).sum();
    assert!(expected > 200, "{:?}", r.priorities);
    (delivered as f64 / expected as f64, r.byzantine.3, r.overall)
}

#[test]
fn a_black_hole_drops_whole_and_fragmented_relays_alike() {
    for payload in [64, 600] {
        let (ratio, blackholed, all) = line_with_a_black_hole(payload);
        assert!(blackholed > 0, "{payload} B: nothing blackholed");
        assert!((0.6..0.7).contains(&ratio), "{payload} B payloads: delivery {ratio:.3}, expected 2/3");
        let missed = all.reachable - all.delivered_reachable;
        assert!(3 * missed >= all.expected * 9 / 10, "{payload} B: a third of the receivers cut off: {all:?}");
        assert_eq!(all.reachable_lost.byzantine, missed, "{payload} B: each one missed is the black hole's: {all:?}");
        assert_eq!(all.reachable_lost.total(), missed, "{all:?}");
    }
}
