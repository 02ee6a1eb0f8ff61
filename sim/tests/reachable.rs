//! Delivery judged against reachable receivers (`blemesh_sim::reachability`): a receiver
//! cut off from the sender when it sends is counted unreachable, not lost; every expected
//! receiver is one or the other; and with the mesh whole every receiver is reachable.

use blemesh_sim::builtin;
use blemesh_sim::engine::Engine;
use blemesh_sim::report::{PriorityRow, Report};
use blemesh_sim::scenario::{Cut, Load, Scenario};
use blemesh_sim::table;

fn report(s: Scenario) -> Report {
    let mut engine = Engine::new(s).unwrap();
    engine.run();
    Report::build(&engine, None)
}

fn consistent(r: &PriorityRow) {
    assert_eq!(r.reachable + r.unreachable_at_send, r.expected, "{r:?}");
    assert!(r.delivered_reachable <= r.delivered && r.delivered_reachable <= r.reachable, "{r:?}");
    assert_eq!(r.reachable_lost.total(), r.reachable - r.delivered_reachable, "every reachable receiver missed has one cause: {r:?}");
}

#[test]
fn receivers_behind_a_cut_that_never_heals_are_unreachable_not_lost() {
    let s = Scenario {
        name: "cut-for-good".into(),
        duration_s: 40.0,
        load: Load { start_s: 15.0, rate_per_node: 1.0, ..Load::default() },
        cut: vec![Cut { at_s: 8.0, heal_s: None, split_x_m: Some(15.0), group: Vec::new() }],
        ..builtin::tiny()
    };
    let r = report(s);
    let all = &r.deterministic.overall;
    d_consistent(&r);
    assert!(all.unreachable_at_send > all.expected / 4, "the cut splits the mesh: {all:?}");
    assert!(all.delivery_ratio < 0.8, "counted against everyone, the cut shows: {all:?}");
    assert_eq!(all.reachable_ratio, Some(1.0), "every reachable receiver got every message: {all:?}");
    // No delivery crossed the cut.
    assert_eq!(all.delivered, all.delivered_reachable);
    let text = table::render(&r);
    assert!(text.contains("Delivery to reachable receivers"), "{text}");
}

fn d_consistent(r: &Report) {
    r.deterministic.priorities.iter().chain([&r.deterministic.overall]).for_each(consistent);
}

#[test]
fn a_whole_mesh_has_no_unreachable_receiver() {
    let r = report(builtin::tiny());
    d_consistent(&r);
    let all = &r.deterministic.overall;
    assert!(all.expected > 100);
    assert_eq!((all.unreachable_at_send, all.reachable), (0, all.expected));
    assert_eq!(all.reachable_ratio, Some(all.delivery_ratio));
}

#[test]
fn the_default_cut_explains_what_the_delivery_ratio_misses() {
    let r = report(builtin::default());
    d_consistent(&r);
    let all = &r.deterministic.overall;
    assert!(all.delivery_ratio < 0.9, "{all:?}");
    assert!(all.reachable_ratio.unwrap() > 0.995, "{all:?}");
    // What the cut's heal and its first instants cost is named: links just opened across it
    // and links that had died unseen; the protocol lost nothing else.
    let lost = &all.reachable_lost;
    assert!(lost.unconfirmed_link + lost.dead_link > 0, "{lost:?}");
    assert_eq!(lost.protocol, 0, "{lost:?}");
}

/// Nodes that power off under load (the `faults` scenario's churn) miss what they were
/// sent, and take with them what they had sent: both are named, not lost to the protocol.
#[test]
fn powered_off_nodes_own_what_they_miss() {
    let r = report(builtin::faults());
    d_consistent(&r);
    let lost = &r.deterministic.overall.reachable_lost;
    assert!(lost.receiver_off > 0 && lost.sender_off > 0, "{lost:?}");
    assert!(lost.protocol * 10 < lost.total(), "{lost:?}");
}
