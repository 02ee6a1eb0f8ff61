//! Exact radio decisions of a node as link quality, traffic, budget and interference change.

use alloc::vec::Vec;
use core::time::Duration;

use super::tests::heartbeat_from_peer;
use crate::ble::{
    AdvertisingMode, ChannelMap, ConnectionInterval, LinkParameters, PeripheralLatency, PowerBudget, RadioDecision,
    SupervisionTimeout,
};
use crate::{Config, Error, Instant, LinkId, LinkReport, Node, NodeId, Output, Priority, Qos};

const ME: NodeId = NodeId(1);
const PEER: NodeId = NodeId(2);
const L: LinkId = LinkId(7);

fn node() -> Node {
    Node::new(Config::new(ME, 5), Instant::ZERO).unwrap()
}

/// What a drain produced, reduced to its order: radio decisions, and markers for the rest.
#[derive(Debug, PartialEq)]
enum Out {
    Radio(RadioDecision),
    Transmit,
    Other,
}

fn drain(n: &mut Node) -> Vec<Out> {
    let mut out = Vec::new();
    loop {
        match n.poll_output() {
            Output::Radio(d) => out.push(Out::Radio(d)),
            Output::Transmit(_) => out.push(Out::Transmit),
            Output::Timeout(_) => return out,
            _ => out.push(Out::Other),
        }
    }
}

fn radio(n: &mut Node) -> Vec<RadioDecision> {
    drain(n).into_iter().filter_map(|o| if let Out::Radio(d) = o { Some(d) } else { None }).collect()
}

/// Link parameters of `L` from (interval units, latency, timeout units, dBm).
fn lp((ci, lat, to, tx): (u16, u16, u16, i8)) -> RadioDecision {
    let params = LinkParameters::new(
        ConnectionInterval::from_units(ci).unwrap(),
        PeripheralLatency::new(lat).unwrap(),
        SupervisionTimeout::from_units(to).unwrap(),
        tx,
    )
    .unwrap();
    RadioDecision::LinkParameters { link: L, params }
}

fn mode(d: &RadioDecision) -> Option<AdvertisingMode> {
    if let RadioDecision::Advertising(a) = d { Some(a.mode) } else { None }
}

/// Runs the node from `from` to `until` in 250 ms steps, the peer's heartbeat arriving at
/// each; returns the radio decisions with the instant they came out.
fn run_with_peer(n: &mut Node, from: Instant, until: Instant, seq: &mut u32) -> Vec<(Instant, RadioDecision)> {
    let mut out = Vec::new();
    let mut t = from;
    while t <= until {
        *seq += 1;
        n.handle_receive(t, L, &heartbeat_from_peer(ME, *seq)).unwrap();
        n.handle_timeout(t).unwrap();
        out.extend(radio(n).into_iter().map(|d| (t, d)));
        t += Duration::from_millis(250);
    }
    out
}

#[test]
fn link_parameters_follow_rssi_with_hysteresis() {
    let mut n = node();
    let t0 = Instant::ZERO;
    n.handle_link_up(t0, L, LinkReport::new(185)).unwrap();
    // An idle link without RSSI: 60 ms, latency 1, 2 s, full power.
    assert_eq!(radio(&mut n), [lp((48, 1, 200, 8))]);
    // The first evaluation adds the node-wide decisions; the link's are unchanged.
    n.handle_timeout(t0).unwrap();
    let first = radio(&mut n);
    assert_eq!(first.len(), 2);
    assert_eq!(mode(&first[0]), Some(AdvertisingMode::Burst));
    assert_eq!(first[1], RadioDecision::ChannelMap(ChannelMap::ALL));

    let t = Instant::from_millis(100);
    let report = |dbm| LinkReport::new(185).with_rssi(dbm);
    // -95 dBm: weak, so the supervision timeout doubles.
    n.handle_link_report(t, L, report(-95)).unwrap();
    assert_eq!(radio(&mut n), [lp((48, 1, 400, 8))]);
    n.handle_link_report(t, L, report(-95)).unwrap();
    assert_eq!(radio(&mut n), [], "nothing changed, nothing emitted");
    // Readings of -40 dBm pull the smoothed RSSI up: -81.25, -70.9, -63.2, -57.4 dBm. The
    // first is 3 dB clear of the weak threshold; power steps down once above -60 dBm.
    let mut steps = Vec::new();
    for _ in 0..4 {
        n.handle_link_report(t, L, report(-40)).unwrap();
        steps.push(radio(&mut n));
    }
    assert_eq!(steps, [alloc::vec![lp((48, 1, 200, 8))], alloc::vec![], alloc::vec![], alloc::vec![lp((48, 1, 200, 5))]]);
    assert_eq!(n.ble().link_parameters(L), Some(LinkParameters::new(
        ConnectionInterval::from_units(48).unwrap(),
        PeripheralLatency::new(1).unwrap(),
        SupervisionTimeout::from_units(200).unwrap(),
        5,
    ).unwrap()));
}

#[test]
fn priority_traffic_shortens_the_interval_before_it_is_sent() {
    // Without link ARQ (BLE retransmits by itself): retransmissions of the priority frame to
    // this silent test peer would count as priority traffic too.
    let mut config = Config::new(ME, 5);
    config.link_arq = false;
    let mut n = Node::new(config, Instant::ZERO).unwrap();
    let t0 = Instant::ZERO;
    n.handle_link_up(t0, L, LinkReport::new(185).with_rssi(-65)).unwrap();
    let mut seq = 0;
    let start = run_with_peer(&mut n, t0, t0, &mut seq);
    assert_eq!(start.len(), 3, "{start:?}"); // link, advertising, channel map
    let t = Instant::from_millis(100);
    n.send(t, PEER, b"move", Qos::new(Priority::Normal)).unwrap();
    assert_eq!(drain(&mut n), [Out::Transmit], "normal traffic changes nothing");
    n.send(t, PEER, b"shoot", Qos::new(Priority::High)).unwrap();
    assert_eq!(drain(&mut n), [Out::Radio(lp((12, 0, 200, 8))), Out::Transmit], "decision first, then the frame");
    // Sensitivity lasts the window it was seen in and the next (until the 2 s evaluation);
    // the interval then lengthens once it has held for 5 s: at the 6 s evaluation.
    let later = run_with_peer(&mut n, Instant::from_millis(250), Instant::from_millis(6500), &mut seq);
    let links: Vec<_> = later.iter().filter(|(_, d)| matches!(d, RadioDecision::LinkParameters { .. })).collect();
    assert_eq!(links, [&(Instant::from_secs(6), lp((48, 1, 200, 8)))]);
}

#[test]
fn budget_and_battery_change_the_parameters() {
    let mut n = node();
    let t0 = Instant::ZERO;
    n.handle_link_up(t0, L, LinkReport::new(185)).unwrap();
    n.handle_timeout(t0).unwrap();
    assert_eq!(radio(&mut n).len(), 3);
    let t = Instant::from_millis(10);
    n.set_power_budget(t, PowerBudget::Saver).unwrap();
    assert_eq!(radio(&mut n), [lp((192, 1, 200, 0))], "advertising bursts alike in every budget");
    n.set_power_budget(t, PowerBudget::Performance).unwrap();
    assert_eq!(radio(&mut n), [lp((24, 0, 200, 8))], "without RSSI, the budget's full power");
    assert_eq!(n.ble().budget(), PowerBudget::Performance);
    // A low battery caps the budget at the next evaluation.
    n.set_battery(Some(10));
    n.handle_timeout(Instant::from_millis(500)).unwrap();
    assert_eq!(radio(&mut n), []);
    n.handle_timeout(Instant::from_secs(1)).unwrap();
    assert_eq!(radio(&mut n), [lp((192, 1, 200, 0))]);
    assert_eq!(
        n.set_power_budget(Instant::from_millis(900), PowerBudget::Balanced),
        Err(Error::TimeWentBackwards { last: Instant::from_secs(1), now: Instant::from_millis(900) })
    );
}

#[test]
fn interference_reports_are_checked_and_batched_into_one_channel_map() {
    let mut n = node();
    let t0 = Instant::ZERO;
    n.handle_timeout(t0).unwrap();
    assert_eq!(radio(&mut n).len(), 2);
    let t = Instant::from_millis(100);
    for ch in 0..5 {
        n.report_channel_interference(t, ch, 0.9).unwrap();
    }
    n.report_channel_interference(t, 5, 0.2).unwrap();
    assert_eq!(radio(&mut n), [], "decided at the next evaluation");
    n.handle_timeout(Instant::from_secs(1)).unwrap();
    let map = ChannelMap::from_bits(ChannelMap::ALL.bits() & !0b11111).unwrap();
    assert_eq!(radio(&mut n), [RadioDecision::ChannelMap(map)]);
    assert_eq!(n.ble().channel_map(), map);
    let t = Instant::from_secs(1);
    assert_eq!(n.report_channel_interference(t, 37, 0.5), Err(Error::InvalidChannel(37)));
    assert_eq!(n.report_channel_interference(t, 3, 1.5), Err(Error::InvalidInterference(3)));
    assert_eq!(n.report_channel_interference(t, 3, f32::NAN), Err(Error::InvalidInterference(3)));
    assert_eq!(n.report_channel_interference(t, 3, -0.1), Err(Error::InvalidInterference(3)));
}

#[test]
fn advertising_settles_with_neighbours_and_bursts_again_when_alone() {
    let mut n = node();
    let t0 = Instant::ZERO;
    n.handle_link_up(t0, L, LinkReport::new(185)).unwrap();
    let mut seq = 0;
    let decisions = run_with_peer(&mut n, t0, Instant::from_secs(6), &mut seq);
    let modes: Vec<_> = decisions.iter().filter_map(|(t, d)| mode(d).map(|m| (*t, m))).collect();
    // The peer confirmed the link before the first evaluation: settling, then stable 5 s on.
    assert_eq!(modes, [(t0, AdvertisingMode::Searching), (Instant::from_secs(5), AdvertisingMode::Stable)]);
    n.handle_link_down(Instant::from_millis(6100), L).unwrap();
    assert_eq!(n.ble().link_parameters(L), None);
    n.handle_timeout(Instant::from_secs(7)).unwrap();
    let alone = radio(&mut n);
    assert_eq!(alone.iter().map(mode).collect::<Vec<_>>(), [Some(AdvertisingMode::Burst)]);
}

#[test]
fn disabled_optimisation_decides_nothing_and_refuses_inputs() {
    let mut config = Config::new(ME, 5);
    config.ble.enabled = false;
    let mut n = Node::new(config, Instant::ZERO).unwrap();
    n.handle_link_up(Instant::ZERO, L, LinkReport::new(185).with_rssi(-90)).unwrap();
    let mut seq = 0;
    assert_eq!(run_with_peer(&mut n, Instant::ZERO, Instant::from_secs(3), &mut seq), []);
    let t = Instant::from_secs(3);
    assert_eq!(n.report_channel_interference(t, 1, 0.5), Err(Error::BleDisabled));
    assert_eq!(n.set_power_budget(t, PowerBudget::Saver), Err(Error::BleDisabled));
}
