//! Built-in scenarios, selectable by name on the command line.

use crate::session_load::SessionLoad;
use crate::scenario::{
    Area, Behaviour, Byzantine, Churn, Cut, Load, Mobility, MobilityModel, Placement, Restart, Scenario,
};

/// Names and one-line descriptions of the built-in scenarios.
pub const BUILTINS: [(&str, &str); 13] = [
    ("default", "25 static nodes, 150 s, 0.5 msg/s/node with a priority mix, cut at 60 s healed at 100 s"),
    ("seed-load-test", "the original design's test: 30 nodes, 50 msg/s per node, 2 h virtual (slow)"),
    ("faults", "12 nodes with lossy links, churn and a cut; 50 s (used by the tests)"),
    ("mobile", "20 walking nodes (random waypoint), 120 s"),
    ("byzantine", "the default mesh with a blackhole, a replaying and a forging node"),
    ("secure", "the default mesh secured (Node::new_secure) with an insider blackhole and replayer and an outsider forger"),
    ("hour50", "50 static nodes, one virtual hour, light load (speed-up measurement)"),
    ("large", "10,000 static nodes on a 1.6 km square, 5 s, no application load (minutes of wall time)"),
    ("tiny", "6 nodes, 20 s (documentation example)"),
    ("restart", "20 static nodes, 90 s: four nodes restart fresh (app restarts), each measured until routable again"),
    ("restart-secure", "the restart scenario secured: restarted nodes keep their identity and persisted sequence numbers"),
    ("session", "25 players of one game session, 90 s: lossy links, churn, a restart, late joiners, a cut and heal"),
    ("session-default", "the default scenario with all 25 nodes players of one game session (sequenced vs plain latency)"),
];

/// The built-in scenario called `name`.
pub fn by_name(name: &str) -> Option<Scenario> {
    let s = match name {
        "default" => default(),
        "seed-load-test" => seed_load_test(),
        "faults" => faults(),
        "mobile" => mobile(),
        "byzantine" => byzantine(),
        "secure" => secure(),
        "hour50" => hour50(),
        "large" => large(),
        "tiny" => tiny(),
        "restart" => restart(),
        "restart-secure" => restart_secure(),
        "session" => session(),
        "session-default" => session_default(),
        _ => return None,
    };
    Some(s)
}

fn area(side: f64) -> Area {
    Area { width_m: side, height_m: side, placement: Placement::Grid }
}

/// The default scenario: fast (well under a minute in release mode), static, with a cut
/// and heal and a priority mix.
pub fn default() -> Scenario {
    Scenario {
        name: "default".into(),
        nodes: 25,
        duration_s: 150.0,
        area: area(80.0),
        load: Load { start_s: 15.0, rate_per_node: 0.5, ..Load::default() },
        cut: vec![Cut { at_s: 60.0, heal_s: Some(100.0), split_x_m: Some(40.0), group: Vec::new() }],
        ..Scenario::default()
    }
}

/// The original design's load test: 30 nodes, 50 messages per second per node, 2 hours.
pub fn seed_load_test() -> Scenario {
    Scenario {
        name: "seed-load-test".into(),
        nodes: 30,
        duration_s: 7200.0,
        area: area(60.0),
        load: Load { start_s: 15.0, rate_per_node: 50.0, ..Load::default() },
        sample_interval_s: 10.0,
        ..Scenario::default()
    }
}

/// A small scenario with lossy links, churn and a cut (for the invariant tests).
pub fn faults() -> Scenario {
    let mut s = Scenario {
        name: "faults".into(),
        nodes: 12,
        duration_s: 50.0,
        area: area(60.0),
        load: Load { start_s: 8.0, rate_per_node: 1.0, payload_bytes: 300, ..Load::default() },
        cut: vec![Cut { at_s: 20.0, heal_s: Some(35.0), split_x_m: Some(30.0), group: Vec::new() }],
        churn: Some(Churn { start_s: 10.0, events_per_min: 4.0, downtime_s: 8.0 }),
        ..Scenario::default()
    };
    // Links down to 1 dB above sensitivity: up to 34 % of packet attempts fail.
    s.radio.connect_margin_db = 1.0;
    s.radio.shadowing_sigma_db = 6.0;
    s
}

/// Walking players.
pub fn mobile() -> Scenario {
    Scenario {
        name: "mobile".into(),
        nodes: 20,
        duration_s: 120.0,
        area: area(100.0),
        mobility: Mobility { model: MobilityModel::RandomWaypoint, ..Mobility::default() },
        load: Load { rate_per_node: 0.5, ..Load::default() },
        ..Scenario::default()
    }
}

/// The default mesh with three misbehaving nodes.
pub fn byzantine() -> Scenario {
    let b = |node, behaviour| Byzantine { node, behaviour, from_s: 10.0, interval_ms: 500 };
    Scenario {
        name: "byzantine".into(),
        cut: Vec::new(),
        byzantine: vec![b(7, Behaviour::Blackhole), b(13, Behaviour::Replay), b(19, Behaviour::Forge)],
        ..default()
    }
}

/// The default mesh, secured, with an insider blackhole (node 7) and replayer (13) and an
/// outsider forger (19); no cut.
pub fn secure() -> Scenario {
    let mut s = byzantine();
    s.name = "secure".into();
    s.security.enabled = true;
    s
}

/// 50 static nodes for one virtual hour.
pub fn hour50() -> Scenario {
    Scenario {
        name: "hour50".into(),
        nodes: 50,
        duration_s: 3600.0,
        area: area(110.0),
        load: Load { rate_per_node: 0.1, ..Load::default() },
        sample_interval_s: 10.0,
        ..Scenario::default()
    }
}

/// 20 static nodes, four of which restart (power off, come back fresh after 1–5 s) while
/// the mesh carries a light load: corner, edge and centre nodes, one of them twice.
pub fn restart() -> Scenario {
    let r = |node, at_s, down_s| Restart { node, at_s, down_s };
    Scenario {
        name: "restart".into(),
        nodes: 20,
        duration_s: 90.0,
        area: area(70.0),
        load: Load { start_s: 10.0, rate_per_node: 0.5, ..Load::default() },
        restart: vec![r(1, 20.0, 2.0), r(8, 30.0, 1.0), r(13, 40.0, 5.0), r(20, 50.0, 2.0), r(8, 65.0, 2.0)],
        ..Scenario::default()
    }
}

/// [`restart`] on a secured mesh.
pub fn restart_secure() -> Scenario {
    let mut s = restart();
    s.name = "restart-secure".into();
    s.security.enabled = true;
    s
}

/// 25 players of one game session over lossy links (1 dB connect margin and 6 dB shadowing,
/// as in [`faults`]), with churn, a restart, three late joiners and a cut that heals.
pub fn session() -> Scenario {
    let mut s = Scenario {
        name: "session".into(),
        nodes: 25,
        duration_s: 90.0,
        area: area(80.0),
        load: Load { start_s: 15.0, rate_per_node: 0.2, ..Load::default() },
        cut: vec![Cut { at_s: 30.0, heal_s: Some(45.0), split_x_m: Some(40.0), group: Vec::new() }],
        churn: Some(Churn { start_s: 20.0, events_per_min: 2.0, downtime_s: 8.0 }),
        restart: vec![Restart { node: 13, at_s: 55.0, down_s: 2.0 }],
        session: Some(SessionLoad { players: 25, late_joiners: 3, late_join_s: 40.0, ..SessionLoad::default() }),
        ..Scenario::default()
    };
    s.radio.connect_margin_db = 1.0;
    s.radio.shadowing_sigma_db = 6.0;
    s
}

/// [`default`] with every node a player of one game session submitting half an event a
/// second: sequenced latency beside the plain messages' in one run.
pub fn session_default() -> Scenario {
    Scenario {
        name: "session-default".into(),
        session: Some(SessionLoad { players: 25, ..SessionLoad::default() }),
        ..default()
    }
}

/// 10,000 static nodes.
pub fn large() -> Scenario {
    let mut s = Scenario {
        name: "large".into(),
        nodes: 10_000,
        duration_s: 5.0,
        area: area(1600.0),
        load: Load { rate_per_node: 0.0, ..Load::default() },
        sample_interval_s: 5.0,
        ..Scenario::default()
    };
    s.node.max_nodes = Some(1024);
    s
}

/// Six nodes.
pub fn tiny() -> Scenario {
    Scenario {
        name: "tiny".into(),
        nodes: 6,
        duration_s: 20.0,
        area: area(30.0),
        load: Load { start_s: 5.0, rate_per_node: 1.0, ..Load::default() },
        ..Scenario::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_is_valid_and_named() {
        for (name, _) in BUILTINS {
            let s = by_name(name).unwrap();
            s.validate().unwrap();
            assert_eq!(s.name, name);
        }
        assert!(by_name("nope").is_none());
    }
}
