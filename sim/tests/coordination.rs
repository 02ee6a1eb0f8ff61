//! The report's election, partition-detection and healing figures agree with what an
//! independent observer of every step sees.

use blemesh_core::{Event, NodeId};
use blemesh_sim::builtin;
use blemesh_sim::engine::{Engine, SEC};
use blemesh_sim::report::Report;

/// What the observer saw: first instant every live node followed one coordinator, each
/// node's first `Partitioned` after the cut, and the first instant after the heal with every
/// node's view whole and one coordinator.
#[derive(Debug, Default)]
struct Observed {
    agreed: Option<u64>,
    detected: Vec<Option<u64>>,
    healed: Option<u64>,
}

fn one_coordinator(e: &Engine) -> Option<(u32, NodeId)> {
    let mut cs = e.devices.iter().map(|d| d.node.as_ref().and_then(|n| n.coordinator()));
    let first = cs.next()??;
    cs.all(|c| c == Some(first)).then_some(first)
}

fn views_whole(e: &Engine) -> bool {
    let ids: Vec<NodeId> = e.devices.iter().map(|d| d.id).collect();
    e.devices.iter().all(|d| d.node.as_ref().is_some_and(|n| ids.iter().all(|id| n.component().contains(id))))
}

#[test]
fn election_detection_and_healing_match_an_independent_observer() {
    let mut s = builtin::default();
    s.duration_s = 115.0;
    let (cut, heal) = (s.cut[0].at_s, s.cut[0].heal_s.unwrap());
    let (cut_us, heal_us) = ((cut * SEC as f64) as u64, (heal * SEC as f64) as u64);
    let mut e = Engine::new(s).unwrap();
    e.record_steps = true;
    let mut seen = Observed { detected: vec![None; e.devices.len()], ..Observed::default() };
    while e.step() {
        let now = e.now;
        if seen.agreed.is_none() && one_coordinator(&e).is_some() {
            seen.agreed = Some(now);
        }
        for (i, ev) in &e.step_log.events {
            if matches!(ev, Event::Partitioned { .. }) && (cut_us..heal_us).contains(&now) {
                seen.detected[*i as usize].get_or_insert(now - cut_us);
            }
        }
        if now >= heal_us && seen.healed.is_none() && one_coordinator(&e).is_some() && views_whole(&e) {
            seen.healed = Some(now - heal_us);
        }
    }
    e.finish();
    let r = Report::build(&e, None).deterministic;
    let el = &r.mesh.election;
    let secs = |us: u64| us as f64 / SEC as f64;

    assert_eq!(el.first_coordinator_s, seen.agreed.map(secs), "{el:?}");
    let formed = el.mesh_formed_s.expect("the mesh formed");
    assert!(formed <= el.first_coordinator_s.unwrap());
    assert!((el.election_after_formed_s.unwrap() - (el.first_coordinator_s.unwrap() - formed)).abs() < 1e-9);
    assert!(el.coordinator_changes >= 1 && el.rounds.2 >= 1, "someone won an election: {el:?}");
    assert_eq!(el.coordinators_end.iter().map(|c| c.2).sum::<u32>(), 25, "every node follows someone at the end");

    let p = &r.mesh.partitions;
    assert_eq!(p.cuts.len(), 1);
    let c = &p.cuts[0];
    assert_eq!((c.at_s, c.healed_s), (cut, Some(heal)));
    assert_eq!(c.affected, 25, "the cut splits the whole mesh");
    let delays: Vec<u64> = seen.detected.iter().flatten().copied().collect();
    assert_eq!(c.detected as usize, delays.len());
    assert_eq!(c.detection_s, (delays.len() == 25).then(|| secs(*delays.iter().max().unwrap())));
    assert!(c.detection_s.is_some_and(|d| d > 0.0 && d < heal - cut), "{c:?}");
    assert!(c.sides_elected_s.is_some_and(|s| s > 0.0 && s < heal - cut), "{c:?}");

    assert_eq!(p.heals.len(), 1);
    let h = &p.heals[0];
    assert_eq!(h.one_coordinator_s, seen.healed.map(secs), "{h:?}");
    assert!(h.merged_s.unwrap() <= h.one_coordinator_s.unwrap());
    assert_eq!(h.success, h.one_coordinator_s.unwrap() <= p.heal_deadline_s);
    assert_eq!(p.heals_succeeded, u64::from(h.success));
    assert!(p.events.0 >= 25 && p.events.1 + p.events.2 > 0, "{:?}", p.events);

    // The same run judged against a deadline it cannot meet.
    e.scenario.heal_deadline_s = h.one_coordinator_s.unwrap() / 2.0;
    let strict = Report::build(&e, None).deterministic.mesh.partitions;
    assert_eq!((strict.heals_succeeded, strict.heal_success_ratio), (0, Some(0.0)));
}
