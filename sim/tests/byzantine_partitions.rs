//! Partitions reported in runs with Byzantine nodes but no cut ([`blemesh_sim::partition_causes`]):
//! on an unsecured mesh a forge node's sequence numbers used to make honest nodes drop its
//! victims' own frames as stale and lose them from their views while the radio links still
//! connected everyone; since restarted-node resumption (`docs/PROTOCOL.md` §8.9) a victim's
//! neighbours tell it to jump past the forged numbers and no view loses it. A black hole and
//! a replayer alone split nothing, and a scripted cut is a radio split.

use blemesh_sim::builtin;
use blemesh_sim::engine::Engine;
use blemesh_sim::report::Report;
use blemesh_sim::scenario::{Behaviour, Cut, Scenario};
use blemesh_sim::table;

/// The `byzantine` scenario for 130 s: the forger starts at 10 s; before §8.9 its victims'
/// adverts, dropped as stale from then on, aged out after `advert_max_age` (100 s).
fn byzantine() -> Scenario {
    let mut s = builtin::byzantine();
    s.duration_s = 130.0;
    s
}

fn report(s: Scenario) -> Report {
    let mut engine = Engine::new(s).unwrap();
    engine.run();
    Report::build(&engine, None)
}

#[test]
fn a_forgers_victims_resume_and_no_view_loses_them() {
    let r = report(byzantine());
    let d = &r.deterministic;
    let (_, forged, _, _) = d.byzantine;
    assert!(forged > 0, "the forger forged");
    let (notices, resumed) = d.resumes;
    assert!(notices > 0 && resumed > 0, "victims' neighbours told them to jump past forged numbers: {:?}", d.resumes);
    assert_eq!(d.mesh.partitions.events.0, 0, "no node lost a victim from its view");
    assert_eq!(d.mesh.max_components, 1, "the radio links never split");
    assert_eq!(d.mesh.partitions.not_radio_split, Some((0, 0)));
    assert!(d.overall.delivery_ratio > 0.9, "{}", d.overall.delivery_ratio);
    assert!(!table::render(&r).contains("not a radio split"));
}

#[test]
fn a_black_hole_and_a_replayer_alone_split_nothing() {
    let mut s = byzantine();
    s.byzantine.retain(|b| b.behaviour != Behaviour::Forge);
    let r = report(s);
    let d = &r.deterministic;
    let (replays, _, _, blackholed) = d.byzantine;
    assert!(replays > 0 && blackholed > 0, "both misbehaved: {:?}", d.byzantine);
    assert_eq!(d.mesh.partitions.events.0, 0);
    assert_eq!(d.mesh.partitions.not_radio_split, Some((0, 0)));
    assert!(!table::render(&r).contains("not a radio split"));
}

#[test]
fn a_scripted_cut_is_a_radio_split() {
    let mut s = byzantine();
    s.byzantine.retain(|b| b.behaviour != Behaviour::Forge);
    s.cut = vec![Cut { at_s: 20.0, heal_s: Some(35.0), split_x_m: Some(40.0), group: Vec::new() }];
    let r = report(s);
    let p = &r.deterministic.mesh.partitions;
    assert!(p.events.0 > 0 && p.cuts[0].detected == p.cuts[0].affected, "{p:?}");
    assert_eq!(p.not_radio_split, Some((0, 0)));
}
