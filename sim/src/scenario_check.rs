//! Validation of a [`Scenario`]: every field a scenario file can set is checked against the
//! range the simulator can run in bounded time and memory, and an error names the field, the
//! value given and the range allowed (`area.width_m = inf: must be a finite number from 0.1
//! to 100000`). NaN and infinities are refused wherever a number is read.
//!
//! The bounds are wide enough for every built-in scenario (the largest: `large` with 10,000
//! nodes, `seed-load-test` with 10.8 M messages over two virtual hours) and tight enough that
//! no accepted file loops at one instant, allocates without bound or overflows a microsecond
//! clock.

use std::collections::BTreeSet;

use crate::scenario::Scenario;

/// Most devices in one run (the built-in `large` has 10,000; memory grows about 0.4 MB each).
pub const MAX_NODES: usize = 20_000;
/// Longest virtual duration, s (one week).
pub const MAX_DURATION_S: f64 = 7.0 * 86_400.0;
/// Largest side of the area, m.
pub const MAX_SIDE_M: f64 = 100_000.0;
/// Most application messages one run may offer (nodes × rate × load time).
pub const MAX_MESSAGES: f64 = 100_000_000.0;
/// Largest application payload, bytes (the core refuses what does not fit its frame limit).
pub const MAX_PAYLOAD_BYTES: usize = 65_535;
/// Most samples of the time series (duration / sample interval).
pub const MAX_SAMPLES: f64 = 1_000_000.0;
/// Fastest mobile device, m/s.
pub const MAX_SPEED_MPS: f64 = 100.0;
/// Longest mobility tick or Byzantine interval, ms (one hour).
pub const MAX_INTERVAL_MS: u64 = 3_600_000;
/// Most churn events per minute.
pub const MAX_CHURN_PER_MIN: f64 = 600.0;

/// Resident bytes one simulated device costs, measured: `large` (10,000 nodes) peaks at
/// 4.15 GB, so about 415 KB a node; rounded up.
pub const BYTES_PER_NODE: u64 = 450_000;
/// Bytes the statistics keep per offered application message (its log record).
pub const BYTES_PER_MESSAGE: u64 = 64;

/// An estimate of the run's peak resident memory, bytes: devices plus message records.
/// The command refuses a run whose estimate exceeds its memory budget before it starts.
pub fn estimated_memory_bytes(s: &Scenario) -> u64 {
    let messages = offered_messages(s);
    (s.nodes as u64).saturating_mul(BYTES_PER_NODE).saturating_add((messages.min(MAX_MESSAGES) as u64).saturating_mul(BYTES_PER_MESSAGE))
}

/// Mean number of application messages the load offers: nodes × rate × load time.
fn offered_messages(s: &Scenario) -> f64 {
    s.nodes as f64 * s.load.rate_per_node * (s.load_end_s() - s.load.start_s).max(0.0)
}

/// An error naming `field`, the value given and the allowed range.
fn out_of_range(field: &str, value: impl std::fmt::Display, allowed: &str) -> String {
    format!("{field} = {value}: must be {allowed}")
}

/// `value` must be a finite number within `lo..=hi`.
fn number(field: &str, value: f64, lo: f64, hi: f64) -> Result<(), String> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(out_of_range(field, value, &format!("a finite number from {lo} to {hi}")))
    }
}

/// `value` must be a finite number above `lo` and at most `hi`.
fn above(field: &str, value: f64, lo: f64, hi: f64) -> Result<(), String> {
    if value.is_finite() && value > lo && value <= hi {
        Ok(())
    } else {
        Err(out_of_range(field, value, &format!("a finite number above {lo} and at most {hi}")))
    }
}

/// `value` must be an integer within `lo..=hi`.
fn whole(field: &str, value: u64, lo: u64, hi: u64) -> Result<(), String> {
    if (lo..=hi).contains(&value) { Ok(()) } else { Err(out_of_range(field, value, &format!("from {lo} to {hi}"))) }
}

/// Checks every field of `s`; the first problem found is returned.
pub fn check(s: &Scenario) -> Result<(), String> {
    s.radio.validate()?;
    check_radio_numbers(s)?;
    whole("nodes", s.nodes as u64, 1, MAX_NODES as u64)?;
    above("duration_s", s.duration_s, 0.0, MAX_DURATION_S)?;
    let end = s.duration_s;
    number("area.width_m", s.area.width_m, 0.1, MAX_SIDE_M)?;
    number("area.height_m", s.area.height_m, 0.1, MAX_SIDE_M)?;
    above("delivery_horizon_s", s.delivery_horizon_s, 0.0, MAX_DURATION_S)?;
    above("sample_interval_s", s.sample_interval_s, 0.0, MAX_DURATION_S)?;
    if end / s.sample_interval_s > MAX_SAMPLES {
        return Err(out_of_range(
            "sample_interval_s",
            s.sample_interval_s,
            &format!("at least duration_s / {MAX_SAMPLES} = {} s", end / MAX_SAMPLES),
        ));
    }
    above("heal_deadline_s", s.heal_deadline_s, 0.0, MAX_DURATION_S)?;
    check_load(s)?;
    check_session(s)?;
    check_mobility(s)?;
    check_faults(s)?;
    Ok(())
}

/// The `[session]` section: players among the devices, times within the run, a bounded rate.
fn check_session(s: &Scenario) -> Result<(), String> {
    let Some(l) = &s.session else { return Ok(()) };
    let end = s.duration_s;
    whole("session.players", l.players as u64, 0, s.nodes as u64)?;
    whole("session.late_joiners", l.late_joiners as u64, 0, l.players as u64)?;
    number("session.join_s", l.join_s, 0.0, end)?;
    number("session.late_join_s", l.late_join_s, 0.0, end)?;
    number("session.rate_per_player", l.rate_per_player, 0.0, 100.0)?;
    number("session.start_s", l.start_s, 0.0, end)?;
    if let Some(e) = l.end_s {
        number("session.end_s", e, l.start_s, end)?;
    }
    let max = blemesh_core::session::SessionConfig::default().max_payload as u64;
    whole("session.payload_bytes", l.payload_bytes as u64, 1, max)?;
    let snapshot = blemesh_core::session::SessionConfig::default().max_snapshot as u64;
    whole("session.snapshot_bytes", l.snapshot_bytes as u64, 16, snapshot)?;
    Ok(())
}

/// The radio's real-valued fields are finite (the radio's own check covers their ranges).
fn check_radio_numbers(s: &Scenario) -> Result<(), String> {
    let r = &s.radio;
    let fields = [
        ("radio.tx_power_dbm", r.tx_power_dbm, -100.0, 30.0),
        ("radio.path_loss_d0_db", r.path_loss_d0_db, 0.0, 200.0),
        ("radio.path_loss_exponent", r.path_loss_exponent, 0.1, 10.0),
        ("radio.shadowing_sigma_db", r.shadowing_sigma_db, 0.0, 50.0),
        ("radio.sensitivity_dbm", r.sensitivity_dbm, -150.0, 0.0),
        ("radio.per_slope_db", r.per_slope_db, 0.01, 100.0),
        ("radio.connect_margin_db", r.connect_margin_db, -50.0, 50.0),
        ("radio.advertising_interval_ms", r.advertising_interval_ms, 20.0, 10_240.0),
        ("radio.supervision_timeout_ms", r.supervision_timeout_ms, 100.0, 32_000.0),
    ];
    for (field, value, lo, hi) in fields {
        number(field, value, lo, hi)?;
    }
    whole("radio.mtu_exchange_events", u64::from(r.mtu_exchange_events), 0, 1000)?;
    whole("radio.radio_queue", r.radio_queue as u64, 1, 65_536)?;
    Ok(())
}

fn check_load(s: &Scenario) -> Result<(), String> {
    let l = &s.load;
    // A load that starts after the end is no load (the built-in `large` is one).
    number("load.start_s", l.start_s, 0.0, MAX_DURATION_S)?;
    if let Some(e) = l.end_s {
        number("load.end_s", e, l.start_s, MAX_DURATION_S)?;
    }
    number("load.rate_per_node", l.rate_per_node, 0.0, 10_000.0)?;
    let messages = offered_messages(s);
    if messages > MAX_MESSAGES {
        return Err(out_of_range(
            "load.rate_per_node",
            l.rate_per_node,
            &format!("at most {:.3} here: nodes × rate × load time may offer at most {MAX_MESSAGES} messages", l.rate_per_node * MAX_MESSAGES / messages),
        ));
    }
    number("load.unicast_fraction", l.unicast_fraction, 0.0, 1.0)?;
    number("load.reliable_fraction", l.reliable_fraction, 0.0, 1.0)?;
    whole("load.payload_bytes", l.payload_bytes as u64, 1, MAX_PAYLOAD_BYTES as u64)?;
    let names = ["critical", "high", "normal", "background"];
    for (name, w) in names.iter().zip(l.priorities.weights()) {
        number(&format!("load.priorities.{name}"), w, 0.0, 1e6)?;
    }
    if l.priorities.weights().iter().sum::<f64>() <= 0.0 {
        return Err("load.priorities: the four weights must have a positive sum".into());
    }
    Ok(())
}

fn check_mobility(s: &Scenario) -> Result<(), String> {
    let m = &s.mobility;
    number("mobility.speed_min_mps", m.speed_min_mps, 0.0, MAX_SPEED_MPS)?;
    number("mobility.speed_max_mps", m.speed_max_mps, m.speed_min_mps, MAX_SPEED_MPS)?;
    number("mobility.pause_s", m.pause_s, 0.0, MAX_DURATION_S)?;
    whole("mobility.tick_ms", m.tick_ms, 1, MAX_INTERVAL_MS)?;
    Ok(())
}

/// Cuts, churn, restarts and Byzantine nodes. A fault timed after the end never happens, which is
/// allowed (a file keeps its faults when a run is shortened).
fn check_faults(s: &Scenario) -> Result<(), String> {
    let end = MAX_DURATION_S;
    for (k, c) in s.cut.iter().enumerate() {
        number(&format!("cut[{k}].at_s"), c.at_s, 0.0, end)?;
        if let Some(h) = c.heal_s {
            if !(h.is_finite() && h > c.at_s) {
                return Err(out_of_range(&format!("cut[{k}].heal_s"), h, &format!("a finite time after cut[{k}].at_s = {}", c.at_s)));
            }
        }
        match (c.split_x_m, c.group.is_empty()) {
            (Some(x), true) => number(&format!("cut[{k}].split_x_m"), x, 0.0, s.area.width_m)?,
            (None, false) => {
                for &n in &c.group {
                    whole(&format!("cut[{k}].group"), n, 1, s.nodes as u64)?;
                }
            }
            _ => return Err(format!("cut[{k}]: give exactly one of split_x_m and group")),
        }
    }
    if let Some(c) = &s.churn {
        number("churn.start_s", c.start_s, 0.0, end)?;
        number("churn.events_per_min", c.events_per_min, 0.0, MAX_CHURN_PER_MIN)?;
        number("churn.downtime_s", c.downtime_s, 0.0, MAX_DURATION_S)?;
    }
    for (k, r) in s.restart.iter().enumerate() {
        whole(&format!("restart[{k}].node"), r.node, 1, s.nodes as u64)?;
        number(&format!("restart[{k}].at_s"), r.at_s, 0.0, end)?;
        above(&format!("restart[{k}].down_s"), r.down_s, 0.0, MAX_DURATION_S)?;
        let earlier = s.restart[..k].iter().find(|e| e.node == r.node && r.at_s < e.at_s + e.down_s && e.at_s < r.at_s + r.down_s);
        if let Some(e) = earlier {
            return Err(format!(
                "restart[{k}]: node {} is still off then (an earlier restart keeps it off from {} s to {} s); restarts of one node must not overlap",
                r.node,
                e.at_s,
                e.at_s + e.down_s
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for (k, b) in s.byzantine.iter().enumerate() {
        whole(&format!("byzantine[{k}].node"), b.node, 1, s.nodes as u64)?;
        if !seen.insert(b.node) {
            return Err(format!("byzantine[{k}].node = {}: a node has at most one behaviour", b.node));
        }
        number(&format!("byzantine[{k}].from_s"), b.from_s, 0.0, end)?;
        whole(&format!("byzantine[{k}].interval_ms"), b.interval_ms, 1, MAX_INTERVAL_MS)?;
    }
    Ok(())
}
