//! Exact-output tests of the decision functions and of the optimiser's hand-out.

use core::time::Duration;

use super::*;
use crate::{Instant, LinkId};

fn cfg() -> BleConfig {
    BleConfig::default()
}

fn idle(rssi: i8) -> LinkConditions {
    LinkConditions {
        rssi_dbm: Some(rssi),
        loss: 0.0,
        latency_sensitive: false,
        load_bps: 0,
        mtu: 185,
        interval_held: Duration::MAX,
    }
}

/// (interval units, latency events, timeout units, tx power dBm).
fn parts(p: &LinkParameters) -> (u16, u16, u16, i8) {
    (p.connection_interval.units(), p.peripheral_latency.events(), p.supervision_timeout.units(), p.tx_power_dbm)
}

fn params(ci: u16, latency: u16, timeout: u16, tx: i8) -> LinkParameters {
    LinkParameters::new(
        ConnectionInterval::from_units(ci).unwrap(),
        PeripheralLatency::new(latency).unwrap(),
        SupervisionTimeout::from_units(timeout).unwrap(),
        tx,
    )
    .unwrap()
}

#[test]
fn idle_link_gets_the_longest_interval_and_peripheral_latency_of_its_budget() {
    let c = idle(-60);
    // Balanced: 60 ms (48 units), latency 1 (120 ms effective), 2 s, full power (+8 dBm).
    assert_eq!(parts(&link_parameters(&cfg(), PowerBudget::Balanced, &c, None)), (48, 1, 200, 8));
    // Performance: 30 ms and no latency (effective cap 30 ms).
    assert_eq!(parts(&link_parameters(&cfg(), PowerBudget::Performance, &c, None)), (24, 0, 200, 8));
    // Saver: 240 ms, latency 1 (480 ms), power capped at 0 dBm.
    assert_eq!(parts(&link_parameters(&cfg(), PowerBudget::Saver, &c, None)), (192, 1, 200, 0));
}

#[test]
fn latency_sensitive_traffic_takes_the_shortest_interval_without_latency() {
    let c = LinkConditions { latency_sensitive: true, ..idle(-60) };
    assert_eq!(parts(&link_parameters(&cfg(), PowerBudget::Balanced, &c, None)), (12, 0, 200, 8));
    assert_eq!(parts(&link_parameters(&cfg(), PowerBudget::Performance, &c, None)), (6, 0, 200, 8));
    assert_eq!(parts(&link_parameters(&cfg(), PowerBudget::Saver, &c, None)), (24, 0, 200, 0));
}

#[test]
fn interval_follows_load_with_hysteresis() {
    // 185-byte PDUs carry 98.7 / 49.3 / 24.7 kbit/s at 15 / 30 / 60 ms.
    let at = |load_bps, prev: Option<u16>| {
        let c = LinkConditions { load_bps, ..idle(-60) };
        let prev = prev.map(|ci| params(ci, 0, 200, 8));
        link_parameters(&cfg(), PowerBudget::Balanced, &c, prev.as_ref()).connection_interval.units()
    };
    // 10 kbit/s: 60 ms keeps 2× headroom; 30 ms is what 3× headroom would ask.
    assert_eq!(at(10_000, None), 48);
    assert_eq!(at(10_000, Some(24)), 24, "30 ms is inside the band: kept");
    assert_eq!(at(10_000, Some(12)), 24, "15 ms is needlessly fast: relaxed to 30 ms");
    // 15 kbit/s: 60 ms lacks 2× headroom, so a link at 60 ms speeds up at once.
    assert_eq!(at(15_000, Some(48)), 24);
    // 60 kbit/s: nothing carries it with headroom: the shortest interval.
    assert_eq!(at(60_000, Some(48)), 12);
    // A previous interval outside the budget's range is not kept.
    assert_eq!(at(0, Some(6)), 48);
}

#[test]
fn lengthening_waits_for_relax_after_and_holds_latency_back() {
    let fast = params(12, 0, 200, 8);
    let at = |held_ms| {
        let c = LinkConditions { interval_held: Duration::from_millis(held_ms), ..idle(-65) };
        parts(&link_parameters(&cfg(), PowerBudget::Balanced, &c, Some(&fast)))
    };
    assert_eq!(at(4_999), (12, 0, 200, 8), "held back: no latency either");
    assert_eq!(at(5_000), (48, 1, 200, 8));
    // Shortening does not wait.
    let slow = params(48, 1, 200, 8);
    let hot = LinkConditions { latency_sensitive: true, interval_held: Duration::ZERO, ..idle(-65) };
    assert_eq!(parts(&link_parameters(&cfg(), PowerBudget::Balanced, &hot, Some(&slow))), (12, 0, 200, 8));
}

#[test]
fn loss_shrinks_capacity_and_disables_latency() {
    // 25 % loss: lossy beyond the latency hysteresis (twice 10 %). No latency, doubled
    // timeout, full power even from a low previous.
    let c = LinkConditions { loss: 0.25, ..idle(-60) };
    let prev = params(48, 1, 200, -10);
    assert_eq!(parts(&link_parameters(&cfg(), PowerBudget::Balanced, &c, Some(&prev))), (48, 0, 400, 8));
    // NaN counts as total loss: nothing carries even a trickle, so the shortest interval.
    let c = LinkConditions { loss: f32::NAN, load_bps: 1, ..idle(-60) };
    assert_eq!(parts(&link_parameters(&cfg(), PowerBudget::Balanced, &c, None)), (12, 0, 400, 8));
}

#[test]
fn peripheral_latency_has_hysteresis_on_utilisation() {
    // 8 kbit/s at 60 ms is 32 % of capacity: latency is not switched on...
    let c = LinkConditions { load_bps: 8_000, ..idle(-60) };
    let off = params(48, 0, 200, 8);
    assert_eq!(link_parameters(&cfg(), PowerBudget::Balanced, &c, Some(&off)).peripheral_latency.events(), 0);
    // ...but is kept on until 50 %.
    let on = params(48, 1, 200, 8);
    assert_eq!(link_parameters(&cfg(), PowerBudget::Balanced, &c, Some(&on)).peripheral_latency.events(), 1);
    // Loss: kept up to twice `lossy_above` (0.2), dropped beyond.
    let lossy = LinkConditions { loss: 0.15, ..c };
    assert_eq!(link_parameters(&cfg(), PowerBudget::Balanced, &lossy, Some(&on)).peripheral_latency.events(), 1);
    assert_eq!(link_parameters(&cfg(), PowerBudget::Balanced, &lossy, Some(&off)).peripheral_latency.events(), 0);
    let lossier = LinkConditions { loss: 0.25, ..c };
    assert_eq!(link_parameters(&cfg(), PowerBudget::Balanced, &lossier, Some(&on)).peripheral_latency.events(), 0);
    // Utilisation is measured at the interval chosen: at 12.4 kbit/s 60 ms lacks headroom,
    // and at 30 ms the link is idle enough for 3 events of latency (120 ms).
    let busier = LinkConditions { load_bps: 12_400, ..c };
    assert_eq!(parts(&link_parameters(&cfg(), PowerBudget::Balanced, &busier, Some(&on))), (24, 3, 200, 8));
}

#[test]
fn weak_links_get_a_longer_timeout_with_rssi_hysteresis() {
    let decide = |rssi, prev: Option<&LinkParameters>| link_parameters(&cfg(), PowerBudget::Balanced, &idle(rssi), prev);
    let weak = decide(-90, None);
    assert_eq!(parts(&weak), (48, 1, 400, 8));
    // Back above -85 dBm but not 3 dB above: still weak.
    assert_eq!(decide(-84, Some(&weak)).supervision_timeout.units(), 400);
    assert_eq!(decide(-82, Some(&weak)).supervision_timeout.units(), 200);
    // A healthy link at -84 dBm is not weak.
    assert_eq!(decide(-84, Some(&params(48, 1, 200, 8))).supervision_timeout.units(), 200);
}

#[test]
fn tx_power_is_a_dead_band_controller() {
    let from = |rssi, tx| link_parameters(&cfg(), PowerBudget::Balanced, &idle(rssi), Some(&params(48, 1, 200, tx))).tx_power_dbm;
    assert_eq!(from(-50, 8), 5, "more than 10 dB above the -70 target: one step down");
    assert_eq!(from(-65, 8), 8, "inside the dead band: held");
    assert_eq!(from(-60, 2), 2, "at the band's edge: held");
    assert_eq!(from(-75, 2), 5, "under the target: one step up");
    assert_eq!(from(-50, -19), -20, "never under the radio's minimum");
    assert_eq!(from(-72, 7), 8, "never over the cap");
    assert_eq!(from(-90, -20), 8, "weak: full power at once");
    // Saver caps at 0 dBm, also a previous decision made under another budget.
    let saver = link_parameters(&cfg(), PowerBudget::Saver, &idle(-65), Some(&params(48, 1, 200, 8)));
    assert_eq!(saver.tx_power_dbm, 0);
    // Without RSSI the path is unknown: full power.
    let blind = LinkConditions { rssi_dbm: None, ..idle(0) };
    assert_eq!(link_parameters(&cfg(), PowerBudget::Balanced, &blind, Some(&params(48, 1, 200, -4))).tx_power_dbm, 8);
}

#[test]
fn spec_violations_are_named() {
    let ci = ConnectionInterval::from_units(80).unwrap(); // 100 ms
    let lat = PeripheralLatency::new(4).unwrap();
    let short = SupervisionTimeout::from_units(100).unwrap(); // 1 s = 2 × 5 × 100 ms: not more
    assert_eq!(LinkParameters::new(ci, lat, short, 0), Err(SpecViolation::SupervisionTimeoutTooShort));
    let ok = SupervisionTimeout::from_units(101).unwrap();
    assert_eq!(LinkParameters::new(ci, lat, ok, 0).unwrap().effective_interval(), Duration::from_millis(500));
    assert_eq!(LinkParameters::new(ci, lat, ok, 21), Err(SpecViolation::TxPowerOutOfRange));
    assert_eq!(LinkParameters::new(ci, lat, ok, -128), Err(SpecViolation::TxPowerOutOfRange));
    assert!(LinkParameters::new(ci, lat, ok, -127).is_ok());
}

fn levels(f: impl Fn(usize) -> f32) -> [f32; 37] {
    core::array::from_fn(f)
}

#[test]
fn channel_map_avoids_interference_with_hysteresis() {
    let c = cfg();
    assert_eq!(channel_map(&c, &[0.0; 37], ChannelMap::ALL), ChannelMap::ALL);
    // Channels 0..5 busy half the time: left out.
    let busy = levels(|ch| if ch < 5 { 0.5 } else { 0.0 });
    let map = channel_map(&c, &busy, ChannelMap::ALL);
    assert_eq!(map.bits(), ChannelMap::ALL.bits() & !0b11111);
    // At 0.2 (between 0.15 and 0.35) each channel stays as it was.
    let between = levels(|ch| if ch < 5 { 0.2 } else { 0.0 });
    assert_eq!(channel_map(&c, &between, map), map);
    assert_eq!(channel_map(&c, &between, ChannelMap::ALL), ChannelMap::ALL);
    // Below 0.15 they return.
    let quiet = levels(|ch| if ch < 5 { 0.1 } else { 0.0 });
    assert_eq!(channel_map(&c, &quiet, map), ChannelMap::ALL);
}

#[test]
fn channel_map_keeps_its_floor_with_the_least_interfered_channels() {
    // Channels 0..30 interfered (0.5 rising by 0.01 per channel), 30..37 clean: 7 clean
    // channels, so 13 interfered ones return, the least interfered first.
    let noisy = levels(|ch| if ch < 30 { 0.5 + ch as f32 * 0.01 } else { 0.0 });
    let map = channel_map(&cfg(), &noisy, ChannelMap::ALL);
    assert_eq!(map.used(), 20);
    assert_eq!(map.bits(), (0b111_1111 << 30) | ((1 << 13) - 1));
    // With the specification's floor of 2, total interference keeps channels 0 and 1 (ties
    // go to the lower index), and NaN counts as total interference.
    let mut c = cfg();
    c.min_used_channels = 2;
    let jammed = levels(|ch| if ch == 7 { f32::NAN } else { 1.0 });
    assert_eq!(channel_map(&c, &jammed, ChannelMap::ALL).bits(), 0b11);
}

fn situation(neighbours: usize, partitioned: bool, secs: u64, budget: PowerBudget) -> MeshSituation {
    MeshSituation { neighbours, partitioned, since: Duration::from_secs(secs), budget }
}

#[test]
fn advertising_bursts_while_seeking_and_slows_once_settled() {
    let c = cfg();
    let at = |s: MeshSituation| {
        let a = advertising_schedule(&c, &s);
        (a.mode, a.interval.units(), a.on.as_millis(), a.period.as_millis())
    };
    use AdvertisingMode::*;
    let b = PowerBudget::Balanced;
    assert_eq!(at(situation(0, false, 0, b)), (Burst, 48, 10_000, 10_000)); // 30 ms, continuous
    assert_eq!(at(situation(0, false, 29, b)), (Burst, 48, 10_000, 10_000));
    assert_eq!(at(situation(0, false, 30, b)), (Searching, 244, 10_000, 10_000)); // 152.5 ms
    assert_eq!(at(situation(3, true, 1, b)), (Burst, 48, 10_000, 10_000), "a partition bursts too");
    assert_eq!(at(situation(2, false, 4, b)), (Searching, 244, 10_000, 10_000), "still settling");
    assert_eq!(at(situation(2, false, 5, b)), (Stable, 1636, 2_000, 10_000)); // 1022.5 ms, 20 %
    assert_eq!(at(situation(2, false, 5, PowerBudget::Performance)), (Stable, 1636, 10_000, 10_000));
    // Saver: intervals doubled; the duty halves but keeps one interval (2045 ms).
    assert_eq!(at(situation(2, false, 5, PowerBudget::Saver)), (Stable, 3272, 2_045, 10_000));
    assert_eq!(at(situation(0, false, 30, PowerBudget::Saver)), (Searching, 488, 10_000, 10_000));
    let stable = advertising_schedule(&c, &situation(2, false, 5, b));
    assert_eq!((stable.duty_permille(), stable.is_continuous()), (200, false));
}

#[test]
fn optimizer_hands_out_each_changed_decision_once() {
    let t0 = Instant::ZERO;
    let mut opt = BleOptimizer::new(cfg(), 4, t0);
    let (a, b) = (LinkId(1), LinkId(2));
    opt.link_up(a);
    opt.link_up(b);
    assert!(opt.start_evaluation(t0));
    opt.decide_mesh(t0, 0, false, PowerBudget::Balanced);
    opt.decide_link(t0, a, &idle(-60), PowerBudget::Balanced);
    opt.decide_link(t0, b, &idle(-60), PowerBudget::Balanced);
    let burst = advertising_schedule(&cfg(), &situation(0, false, 0, PowerBudget::Balanced));
    let idle_params = params(48, 1, 200, 8);
    assert_eq!(opt.poll(), Some(RadioDecision::Advertising(burst)));
    assert_eq!(opt.poll(), Some(RadioDecision::ChannelMap(ChannelMap::ALL)));
    assert_eq!(opt.poll(), Some(RadioDecision::LinkParameters { link: a, params: idle_params }));
    assert_eq!(opt.poll(), Some(RadioDecision::LinkParameters { link: b, params: idle_params }));
    assert_eq!(opt.poll(), None);
    // The same decisions again: nothing new.
    opt.decide_mesh(t0, 0, false, PowerBudget::Balanced);
    opt.decide_link(t0, a, &idle(-60), PowerBudget::Balanced);
    assert_eq!(opt.poll(), None);
    // Two changes before a poll: only the latest is handed out.
    let hot = LinkConditions { latency_sensitive: true, ..idle(-60) };
    opt.decide_link(t0, b, &hot, PowerBudget::Balanced);
    opt.decide_link(t0, b, &idle(-60), PowerBudget::Balanced);
    opt.decide_link(t0, b, &hot, PowerBudget::Balanced);
    assert_eq!(opt.poll(), Some(RadioDecision::LinkParameters { link: b, params: params(12, 0, 200, 8) }));
    assert_eq!(opt.poll(), None);
}

#[test]
fn optimizer_measures_load_per_window_and_smooths_interference() {
    let t0 = Instant::ZERO;
    let mut opt = BleOptimizer::new(cfg(), 2, t0);
    let a = LinkId(1);
    opt.link_up(a);
    assert!(opt.start_evaluation(t0));
    assert!(!opt.on_queued(a, 1000, false));
    assert!(opt.on_queued(a, 250, true), "first latency-sensitive frame");
    assert!(!opt.on_queued(a, 250, true));
    assert!(!opt.start_evaluation(Instant::from_millis(999)));
    assert!(opt.start_evaluation(Instant::from_secs(1)));
    assert_eq!(opt.load_bps(a), Some(12_000));
    assert_eq!(opt.traffic(a), (true, 12_000), "sensitivity lasts one more window");
    assert!(opt.start_evaluation(Instant::from_secs(2)));
    // The window was silent; the average (12000 / 4, then 3/4 of it) holds the load up.
    assert_eq!(opt.traffic(a), (false, 2_250));
    assert_eq!(opt.load_bps(a), Some(0));
    opt.record_interference(3, 0.8);
    assert_eq!(opt.interference(3), Some(0.8));
    opt.record_interference(3, 0.0);
    assert!((opt.interference(3).unwrap() - 0.6).abs() < 1e-6);
    assert_eq!(opt.interference(37), None);
}
