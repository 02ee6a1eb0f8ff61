//! Drawing one random fault schedule: a valid [`Scenario`] from a campaign seed and an index.
//!
//! Every draw is a pure function of `(campaign seed, index)`, so a campaign is reproducible
//! schedule by schedule, and a failing schedule written as TOML runs alone with the same
//! result. The ranges below span what phones meet (6–40 nodes by default, light to heavy
//! shadowing, connection intervals from 7.5 to 100 ms, churn, scripted restarts, cuts with
//! and without heals, walking speeds, up to a third of the nodes Byzantine, secured or open
//! meshes), and
//! every value drawn lies inside the ranges `scenario_check` accepts.

use crate::radio::RadioParams;
use crate::rng::{SimRng, derive_seed};
use crate::scenario::{
    Area, Behaviour, Byzantine, Churn, Cut, Load, Mobility, MobilityModel, Placement, Restart, Scenario, SecurityParams,
};

/// The smallest mesh drawn.
pub const MIN_NODES: usize = 6;
/// The largest `--max-nodes` accepted (the campaign runs many schedules; larger meshes
/// belong in single runs).
pub const MAX_NODES: usize = 200;

/// Connection intervals drawn, ms (BLE allows 7.5 ms to 4 s; phones pick from these).
const CONNECTION_INTERVALS_MS: [f64; 5] = [7.5, 15.0, 30.0, 50.0, 100.0];
/// Game payload sizes drawn, bytes: one PDU, a few, and fragmented across many.
const PAYLOADS: [usize; 4] = [20, 64, 300, 600];
/// Byzantine send intervals drawn, ms.
const ATTACK_INTERVALS_MS: [u64; 3] = [100, 500, 1000];

/// The schedule number `index` of the campaign seeded with `seed`, with at most
/// `max_nodes` nodes (clamped to `MIN_NODES..=MAX_NODES`).
pub fn draw(seed: u64, index: u64, max_nodes: usize) -> Scenario {
    let mut r = SimRng::new(seed, index);
    let max_nodes = max_nodes.clamp(MIN_NODES, MAX_NODES);
    let nodes = MIN_NODES + r.below((max_nodes - MIN_NODES + 1) as u64) as usize;
    let duration_s = round(r.range(30.0, 60.0));
    // Spacing between neighbours on the grid: dense rooms to a sparse park.
    let spacing = r.range(6.0, 16.0);
    let aspect = r.range(0.6, 1.6);
    let side = spacing * (nodes as f64).sqrt();
    let area = Area {
        width_m: round(side * aspect.sqrt()),
        height_m: round(side / aspect.sqrt()),
        placement: if r.chance(0.5) { Placement::Grid } else { Placement::Random },
    };
    let radio = RadioParams {
        connection_interval_ms: pick(&mut r, &CONNECTION_INTERVALS_MS),
        shadowing_sigma_db: round(r.range(0.0, 8.0)),
        connect_margin_db: round(r.range(2.0, 10.0)),
        ..RadioParams::default()
    };
    let load = Load {
        start_s: round(r.range(5.0, 15.0)),
        rate_per_node: round(r.range(0.1, 1.0)),
        unicast_fraction: round(r.range(0.0, 0.7)),
        payload_bytes: pick(&mut r, &PAYLOADS),
        reliable_fraction: if r.chance(0.5) { round(r.range(0.0, 0.5)) } else { 0.0 },
        ..Load::default()
    };
    let churn = r.chance(0.3).then(|| Churn {
        start_s: round(r.range(5.0, 20.0)),
        events_per_min: round(r.range(0.5, 4.0)),
        downtime_s: round(r.range(3.0, 20.0)),
    });
    let mut cut = Vec::new();
    for _ in 0..2 {
        if r.chance(0.3) {
            let at_s = round(r.range(10.0, duration_s * 0.7));
            let heal_s = r.chance(0.8).then(|| round(at_s + r.range(5.0, 20.0)));
            let split_x_m = Some(round(area.width_m * r.range(0.3, 0.7)));
            cut.push(Cut { at_s, heal_s, split_x_m, group: Vec::new() });
        }
    }
    cut.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    let mobility = if r.chance(0.3) {
        let speed_min_mps = round(r.range(0.2, 1.0));
        Mobility {
            model: MobilityModel::RandomWaypoint,
            speed_min_mps,
            speed_max_mps: round(speed_min_mps + r.range(0.0, 1.5)),
            pause_s: round(r.range(1.0, 10.0)),
            ..Mobility::default()
        }
    } else {
        Mobility::default()
    };
    let mut byzantine = Vec::new();
    if r.chance(0.3) {
        let count = 1 + r.below((nodes / 3) as u64) as usize;
        // Node ids are 1-based.
        let mut ids: Vec<u64> = (1..=nodes as u64).collect();
        for k in 0..count {
            let j = k + r.below((ids.len() - k) as u64) as usize;
            ids.swap(k, j);
            let behaviour = pick(&mut r, &[Behaviour::Blackhole, Behaviour::Replay, Behaviour::Forge]);
            let from_s = round(r.range(5.0, 20.0));
            let interval_ms = pick(&mut r, &ATTACK_INTERVALS_MS);
            byzantine.push(Byzantine { node: ids[k], behaviour, from_s, interval_ms });
        }
        byzantine.sort_by_key(|b| b.node);
    }
    let security = SecurityParams { enabled: r.chance(0.5) };
    // Drawn last, so that the draws above are those of campaigns before restarts existed.
    let mut restart = Vec::new();
    if r.chance(0.3) {
        for _ in 0..1 + r.below(3) {
            let node = 1 + r.below(nodes as u64);
            let at_s = round(r.range(8.0, duration_s * 0.8));
            let down_s = round(r.range(0.5, 10.0));
            let overlaps = restart.iter().any(|e: &Restart| e.node == node && at_s < e.at_s + e.down_s && e.at_s < at_s + down_s);
            if !overlaps {
                restart.push(Restart { node, at_s, down_s });
            }
        }
    }
    Scenario {
        name: format!("campaign-{seed}-{index}"),
        // 63 bits: a TOML integer is signed.
        seed: derive_seed(seed, index) >> 1,
        nodes,
        duration_s,
        area,
        radio,
        load,
        churn,
        cut,
        mobility,
        byzantine,
        security,
        restart,
        ..Scenario::default()
    }
}

fn pick<T: Copy>(r: &mut SimRng, from: &[T]) -> T {
    from[r.below(from.len() as u64) as usize]
}

/// Three decimals: a drawn value reads well in the TOML file and parses back exactly.
fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_valid_reproducible_and_round_trip_through_toml() {
        let mut kinds = [0u32; 6];
        for index in 0..300 {
            let s = draw(7, index, 40);
            s.validate().unwrap_or_else(|e| panic!("schedule {index}: {e}"));
            assert_eq!(s, draw(7, index, 40), "a draw depends only on seed and index");
            let text = toml::to_string(&s).unwrap();
            assert_eq!(Scenario::from_toml(&text).unwrap(), s, "schedule {index} round-trips:\n{text}");
            assert!((MIN_NODES..=40).contains(&s.nodes));
            assert!(s.byzantine.len() <= s.nodes / 3);
            kinds[0] += u32::from(s.churn.is_some());
            kinds[1] += u32::from(!s.cut.is_empty());
            kinds[2] += u32::from(s.mobility.model == MobilityModel::RandomWaypoint);
            kinds[3] += u32::from(!s.byzantine.is_empty());
            kinds[4] += u32::from(s.security.enabled);
            kinds[5] += u32::from(!s.restart.is_empty());
        }
        // Every kind of fault is drawn, and none in every schedule.
        assert!(kinds.iter().all(|k| (30..270).contains(k)), "{kinds:?}");
        assert_ne!(draw(7, 0, 40), draw(8, 0, 40));
    }
}
