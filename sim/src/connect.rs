//! The radio at work: discovery by advertising, connecting, the MTU exchange, connection
//! events carrying PDUs, arrivals, and links breaking on supervision timeout.
//!
//! * A device with a free connection slot advertises and scans. Every advertising interval
//!   (plus the 0–10 ms `advDelay` of the specification) it hears each eligible peer with
//!   [`RadioParams::discovery_probability`]; on the first success it connects (the scanner is
//!   the central). Eligible: powered on, within connecting range (mean RSSI at least
//!   sensitivity + `connect_margin_db`), not yet connected, with a free slot, and not across
//!   an active cut. A device with no eligible peer scans again after [`IDLE_SCAN_BACKOFF_US`]
//!   (phones scan at a low duty cycle when idle).
//! * Both ends get `handle_link_up` with the initial MTU (20) and the RSSI; after
//!   `mtu_exchange_events` connection intervals they get `handle_link_report` with the
//!   exchanged MTU.
//! * A connection event runs exchanges while PDUs wait, up to `max_packets_per_event` and
//!   within the airtime budget (the busier end's radio is shared among its connections).
//!   A packet fails with the PER at the link's RSSI and is retried at the next exchange.
//! * A link whose signal is unusable (mean RSSI below sensitivity, or a cut) for the
//!   supervision timeout breaks: both ends get `handle_link_down`.

use blemesh_core::{LinkId, LinkReport};

use crate::engine::{Engine, RadioLink, next_event_at};
use crate::geometry::Grid;
use crate::queue::SimEvent;
use crate::radio::{INITIAL_MTU, RadioParams};
use crate::rng::{derive_seed, stream};

/// Scan back-off of a device that found no eligible peer, µs.
pub const IDLE_SCAN_BACKOFF_US: u64 = 1_000_000;

impl RadioParams {
    /// Airtime of one side's turn in an exchange: the LL packets of a write of `pdu_len`
    /// bytes (or one empty packet) and their T_IFS, µs.
    pub fn write_us(&self, pdu_len: Option<usize>) -> u64 {
        match pdu_len {
            None => self.ll_packet_us(0) + crate::radio::T_IFS_US,
            Some(len) => {
                let data = len as u64 + crate::radio::ATT_WRITE_OVERHEAD;
                let max = u64::from(self.max_ll_payload);
                let packets = data.div_ceil(max).max(1);
                let last = data - (packets - 1) * max;
                (packets - 1) * self.ll_packet_us(max) + self.ll_packet_us(last) + packets * crate::radio::T_IFS_US
            }
        }
    }
}

/// The per-pair shadowing of devices `i` and `j`, dB: a Gaussian of the configured σ,
/// fixed for the pair and the seed (symmetric).
pub fn pair_shadowing_db(seed: u64, sigma: f64, i: u32, j: u32) -> f64 {
    let (lo, hi) = if i < j { (i, j) } else { (j, i) };
    let key = derive_seed(seed ^ stream::SHADOWING, (u64::from(lo) << 32) | u64::from(hi));
    let u1 = ((derive_seed(key, 1) >> 11) as f64 + 1.0) / (1u64 << 53) as f64; // (0, 1]
    let u2 = (derive_seed(key, 2) >> 11) as f64 / (1u64 << 53) as f64;
    sigma * libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * core::f64::consts::PI * u2)
}

impl Engine {
    /// Mean RSSI between devices `i` and `j` at their current positions, dBm.
    pub fn pair_rssi(&self, i: u32, j: u32) -> f64 {
        let r = &self.scenario.radio;
        let d = self.devices[i as usize].pos.distance(self.devices[j as usize].pos);
        r.rssi_dbm(d, pair_shadowing_db(self.scenario.seed, r.shadowing_sigma_db, i, j))
    }

    /// Whether an active cut separates `i` and `j`.
    pub fn separated(&self, i: u32, j: u32) -> bool {
        self.active_cuts.iter().flatten().any(|g| g[i as usize] != g[j as usize])
    }

    /// Recomputes every device's list of peers within connecting range.
    pub fn refresh_candidates(&mut self) {
        let r = &self.scenario.radio;
        let threshold = r.sensitivity_dbm + r.connect_margin_db;
        let radius = r.max_range_m(4.0);
        let positions: Vec<_> = self.devices.iter().map(|d| d.pos).collect();
        let grid = Grid::new(&positions, radius);
        let mut near = Vec::new();
        for i in 0..self.devices.len() as u32 {
            grid.within(&positions, positions[i as usize], radius, &mut near);
            let list: Vec<u32> = near.iter().copied().filter(|&j| j != i && self.pair_rssi(i, j) >= threshold).collect();
            self.devices[i as usize].candidates = list;
        }
    }

    /// Schedules a discovery round for device `i` if it has a free slot and none is pending.
    pub(crate) fn start_discovery(&mut self, i: u32) {
        let max = self.scenario.radio.max_connections;
        let adv = crate::engine::us(self.scenario.radio.advertising_interval_ms / 1000.0);
        let dev = &self.devices[i as usize];
        if dev.discovering || !dev.alive() || dev.links.len() >= max {
            return;
        }
        let at = self.now + self.rng.discovery.below(adv.max(1));
        self.devices[i as usize].discovering = true;
        self.queue.push(at, SimEvent::Discovery { node: i });
    }

    pub(crate) fn discovery(&mut self, i: u32, at: u64) {
        let max = self.scenario.radio.max_connections;
        let dev = &self.devices[i as usize];
        if !dev.alive() || dev.links.len() >= max {
            self.devices[i as usize].discovering = false;
            return;
        }
        let eligible: Vec<u32> = dev
            .candidates
            .iter()
            .copied()
            .filter(|&j| {
                let peer = &self.devices[j as usize];
                peer.alive()
                    && peer.links.len() < max
                    && !dev.links.iter().any(|&l| self.links[l as usize].peer_of(i) == j)
                    && !self.separated(i, j)
            })
            .collect();
        let adv = crate::engine::us(self.scenario.radio.advertising_interval_ms / 1000.0);
        if eligible.is_empty() {
            self.queue.push(at + IDLE_SCAN_BACKOFF_US, SimEvent::Discovery { node: i });
            return;
        }
        let start = self.rng.discovery.below(eligible.len() as u64) as usize;
        for k in 0..eligible.len() {
            let j = eligible[(start + k) % eligible.len()];
            let p = self.scenario.radio.discovery_probability(self.pair_rssi(i, j));
            if self.rng.discovery.chance(p) {
                self.connect(i, j, at);
                break;
            }
        }
        if self.devices[i as usize].links.len() < max {
            let delay = adv + self.rng.discovery.below(10_001);
            self.queue.push(at + delay, SimEvent::Discovery { node: i });
        } else {
            self.devices[i as usize].discovering = false;
        }
    }

    /// Opens a connection from central `i` to peripheral `j`.
    pub fn connect(&mut self, i: u32, j: u32, at: u64) {
        let radio = &self.scenario.radio;
        let interval = radio.interval_us();
        let rssi = self.pair_rssi(i, j);
        let l = self.links.len() as u32;
        let reported = rssi.clamp(-127.0, 20.0) as i8;
        self.links.push(RadioLink {
            a: i,
            b: j,
            up: true,
            attached: [true, true],
            mtu: INITIAL_MTU,
            rssi,
            reported_rssi: reported,
            anchor: at + interval,
            interval_us: interval,
            pending_interval_us: None,
            queue: [Default::default(), Default::default()],
            event_pending: false,
            blocked: false,
            weak_since: None,
            confirmed: [false, false],
            opened_at: at,
            closed_at: None,
            carried: [0, 0],
            per_cache: (f64::NAN, f64::NAN),
        });
        self.queue.push(at + u64::from(radio.mtu_exchange_events) * interval, SimEvent::MtuExchanged { link: l });
        self.devices[i as usize].links.push(l);
        self.devices[j as usize].links.push(l);
        self.stats.radio.links_opened += 1;
        self.reach.changed();
        let report = LinkReport::new(INITIAL_MTU)
            .with_rssi(reported)
            .with_connection_interval(std::time::Duration::from_micros(interval));
        for d in [i, j] {
            self.with_node(d, at, |n, now| n.handle_link_up(now, LinkId(l), report));
            self.drain(d, at);
        }
        self.check_signal(l, at);
    }

    pub(crate) fn mtu_exchanged(&mut self, l: u32, at: u64) {
        let mtu = self.scenario.radio.mtu();
        let link = &mut self.links[l as usize];
        if !link.up {
            return;
        }
        let interval = std::time::Duration::from_micros(link.interval_us);
        link.mtu = mtu;
        let report = LinkReport::new(mtu).with_rssi(link.reported_rssi).with_connection_interval(interval);
        let ends = [(link.a, link.attached[0]), (link.b, link.attached[1])];
        for (d, attached) in ends {
            if attached {
                self.with_node(d, at, |n, now| n.handle_link_report(now, LinkId(l), report));
                self.drain(d, at);
            }
        }
    }

    pub(crate) fn connection_event(&mut self, l: u32, at: u64) {
        let Engine { links, devices, scenario, rng, queue, stats, .. } = self;
        let radio = &scenario.radio;
        let link = &mut links[l as usize];
        if !link.up {
            link.event_pending = false;
            return;
        }
        let busiest = devices[link.a as usize].links.len().max(devices[link.b as usize].links.len());
        let budget = crate::radio::event_budget_us(link.interval_us, busiest);
        let per = if link.blocked { 1.0 } else { link.packet_error_rate(radio) };
        let (mut elapsed, mut slots) = (0u64, 0u32);
        while slots < radio.max_packets_per_event && (!link.queue[0].is_empty() || !link.queue[1].is_empty()) {
            let len_a = link.queue[0].front().map(Vec::len);
            let len_b = link.queue[1].front().map(Vec::len);
            let (turn_a, turn_b) = (radio.write_us(len_a), radio.write_us(len_b));
            if slots > 0 && elapsed + turn_a + turn_b > budget {
                break;
            }
            for (side, done) in [(0usize, elapsed + turn_a), (1, elapsed + turn_a + turn_b)] {
                if link.queue[side].is_empty() {
                    continue;
                }
                if rng.radio.chance(per) {
                    stats.radio.retransmissions += 1;
                    continue;
                }
                let bytes = link.queue[side].pop_front().expect("checked");
                link.carried[side] += 1;
                stats.radio.pdus_carried += 1;
                queue.push(at + done, SimEvent::Arrival { link: l, to: (1 - side) as u8, bytes });
            }
            elapsed += turn_a + turn_b;
            slots += 1;
        }
        stats.radio.airtime_us += elapsed;
        stats.radio.connection_events += 1;
        if link.queue[0].is_empty() && link.queue[1].is_empty() {
            link.event_pending = false;
        } else {
            queue.push(next_event_at(link.anchor, link.interval_us, at + 1), SimEvent::ConnectionEvent { link: l });
        }
    }

    /// A connection-parameter update of link `l` reaches its instant: connection events
    /// follow the new interval from `at` on, and both ends learn it from a link report.
    pub(crate) fn connection_update(&mut self, l: u32, interval_us: u64, at: u64) {
        let link = &mut self.links[l as usize];
        if link.pending_interval_us == Some(interval_us) {
            link.pending_interval_us = None; // the latest request reached its instant
        }
        if !link.up || link.interval_us == interval_us {
            return;
        }
        link.interval_us = interval_us;
        link.anchor = at;
        self.stats.radio.connection_updates += 1;
        let interval = std::time::Duration::from_micros(interval_us);
        let report = LinkReport::new(link.mtu).with_rssi(link.reported_rssi).with_connection_interval(interval);
        let ends = [(link.a, link.attached[0]), (link.b, link.attached[1])];
        for (d, attached) in ends {
            if attached {
                self.with_node(d, at, |n, now| n.handle_link_report(now, LinkId(l), report));
                self.drain(d, at);
            }
        }
    }

    pub(crate) fn arrival(&mut self, l: u32, to: u8, bytes: Vec<u8>, at: u64) {
        let link = &self.links[l as usize];
        let d = if to == 0 { link.a } else { link.b };
        if link.up && link.attached[usize::from(to)] {
            self.capture_for_replay(d, &bytes);
            self.with_node_drained(d, at, at, |n, now| n.handle_receive(now, LinkId(l), &bytes));
        } else {
            self.stats.radio.lost_on_break += 1;
            self.copy_lost_on_break(&bytes);
        }
        self.pool.push(bytes);
    }

    /// Records a PDU lost with its link as evidence against the message it carries.
    fn copy_lost_on_break(&mut self, pdu: &[u8]) {
        if let Some((origin, seq)) = crate::loss::data_frame_of(pdu) {
            let origin = self.id_index.get(&origin).copied();
            self.stats.on_copy_lost(origin, seq, crate::loss::Evidence::DeadLink);
        }
    }

    /// Starts or clears the supervision clock of link `l` after its signal changed.
    pub(crate) fn check_signal(&mut self, l: u32, at: u64) {
        let timeout = crate::engine::us(self.scenario.radio.supervision_timeout_ms / 1000.0);
        let sensitivity = self.scenario.radio.sensitivity_dbm;
        let link = &mut self.links[l as usize];
        if !link.up {
            return;
        }
        let unusable = link.blocked || link.rssi < sensitivity;
        match (unusable, link.weak_since) {
            (true, None) => {
                link.weak_since = Some(at);
                self.queue.push(at + timeout, SimEvent::Supervision { link: l });
                self.reach.changed();
            }
            (false, Some(_)) => {
                link.weak_since = None;
                self.reach.changed();
            }
            _ => {}
        }
    }

    pub(crate) fn supervision(&mut self, l: u32, at: u64) {
        let timeout = crate::engine::us(self.scenario.radio.supervision_timeout_ms / 1000.0);
        let link = &self.links[l as usize];
        if link.up && link.weak_since.is_some_and(|w| at >= w + timeout) {
            self.break_link(l, at);
        }
    }

    /// Closes link `l`: queued PDUs are lost and both attached ends get `handle_link_down`.
    pub fn break_link(&mut self, l: u32, at: u64) {
        let link = &mut self.links[l as usize];
        if !link.up {
            return;
        }
        link.up = false;
        link.closed_at = Some(at);
        self.reach.changed();
        let ends = [(link.a, link.attached[0]), (link.b, link.attached[1])];
        let mut queued: Vec<Vec<u8>> = link.queue.iter_mut().flat_map(|q| q.drain(..)).collect();
        self.stats.radio.lost_on_break += queued.len() as u64;
        queued.iter().for_each(|pdu| self.copy_lost_on_break(pdu));
        self.pool.append(&mut queued);
        self.stats.radio.links_broken += 1;
        for (d, attached) in ends {
            self.devices[d as usize].links.retain(|&x| x != l);
            if attached {
                self.with_node(d, at, |n, now| n.handle_link_down(now, LinkId(l)));
                self.drain(d, at);
            }
            self.start_discovery(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_airtime_adds_inter_frame_spaces() {
        let r = RadioParams::default();
        assert_eq!(r.write_us(None), 80 + 150);
        assert_eq!(r.write_us(Some(182)) + r.write_us(None), r.exchange_us(182));
    }

    #[test]
    fn shadowing_is_symmetric_and_seeded() {
        let a = pair_shadowing_db(5, 4.0, 3, 9);
        assert_eq!(a, pair_shadowing_db(5, 4.0, 9, 3));
        assert_ne!(a, pair_shadowing_db(6, 4.0, 3, 9));
        assert_eq!(pair_shadowing_db(5, 0.0, 3, 9), 0.0);
    }
}
