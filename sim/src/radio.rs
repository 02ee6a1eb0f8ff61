//! The BLE radio model: signal strength, packet loss, airtime and link capacity.
//!
//! # Model
//!
//! * **Path loss** — log-distance model with log-normal shadowing (Rappaport, *Wireless
//!   Communications*, 2nd ed., §4.9–4.11):
//!   `PL(d) = PL(d0) + 10·n·log10(d/d0) + X_σ`, with `d0 = 1 m`. `PL(d0) = 40.05 dB` is the
//!   free-space loss at 1 m for 2.44 GHz (`20·log10(4π·d0/λ)`, λ = 0.1229 m). The exponent
//!   `n = 3.0` is an obstructed indoor value (Rappaport table 4.2 gives 2.7–3.5 for
//!   obstructed urban and 1.6–3.3 in buildings). `X_σ` is a zero-mean Gaussian of σ = 4 dB,
//!   drawn once per pair of devices (the simulator keeps it fixed while devices move: a
//!   documented simplification).
//! * **RSSI** — `tx_power − PL(d)`; phones advertise and connect at about 0 dBm.
//! * **Packet success** — a logistic curve around the receiver sensitivity:
//!   `PER(rssi) = 1 / (1 + exp((rssi − sensitivity) / slope))`. At the sensitivity half the
//!   packets fail; `slope = 1.5 dB` takes PER from 50 % to 3.4 % within 5 dB, matching the
//!   steep waterfall of measured BLE PER curves. The default sensitivity of −90 dBm is a
//!   typical phone figure (the Core Specification only requires −70 dBm at 1M PHY; chips
//!   reach −95 to −97 dBm).
//! * **Link layer** — BLE LL is reliable: a packet that fails is retransmitted at the next
//!   exchange, so radio loss costs capacity and latency, not data. Frames travel only at
//!   connection events, every `connection_interval` (7.5 ms to 4 s; default 15 ms, the iOS
//!   minimum). One event carries at most `max_packets_per_event` exchanges, and a device with
//!   several connections shares its single radio among them, so each event gets
//!   `interval / max(links at either end)` of airtime.
//! * **Airtime** — at 1M PHY one byte takes 8 µs; an LL packet is 10 bytes of overhead
//!   (preamble 1, access address 4, header 2, CRC 3) plus its payload. One ATT write
//!   without response of `n` bytes is an LL payload of `n + 7` (L2CAP 4, ATT opcode and
//!   handle 3). An exchange is the data packet, T_IFS (150 µs), the peer's empty or data
//!   packet, and T_IFS again (Core Specification v5.3, Vol 6, Part B, §2.1, §4.1).
//! * **MTU** — the ATT MTU starts at 23 (20 bytes per write) and becomes 185 after the MTU
//!   exchange (iOS's value), i.e. 182 bytes per write. LE Data Length Extension (251-byte
//!   LL payload) is assumed on.

use serde::{Deserialize, Serialize};

/// Parameters of the radio model; every field has the documented default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RadioParams {
    /// Transmit power, dBm. Default 0.
    pub tx_power_dbm: f64,
    /// Path loss at the reference distance of 1 m, dB. Default 40.05.
    pub path_loss_d0_db: f64,
    /// Path-loss exponent `n`. Default 3.0.
    pub path_loss_exponent: f64,
    /// Standard deviation of the per-pair shadowing, dB. Default 4.0.
    pub shadowing_sigma_db: f64,
    /// Receiver sensitivity (50 % packet error), dBm. Default −90.
    pub sensitivity_dbm: f64,
    /// Slope of the logistic PER curve, dB. Default 1.5.
    pub per_slope_db: f64,
    /// A device connects to a discovered peer only this far above sensitivity, dB. Default 6.
    pub connect_margin_db: f64,
    /// Connection interval, ms (7.5 to 4000), of every link when it opens. Default 15.
    pub connection_interval_ms: f64,
    /// Links adopt the connection interval their central's core decides
    /// ([`blemesh_core::Output::Radio`]): the update takes effect at the connection-update
    /// instant, 6 connection events after the decision, and both ends then get a link report
    /// with the new interval. Peripherals' decisions are requests a central does not have to
    /// honour, so they are ignored. Default false: every link keeps `connection_interval_ms`.
    pub adopt_connection_parameters: bool,
    /// Exchanges per connection event at most. Default 6.
    pub max_packets_per_event: u32,
    /// Simultaneous connections per device. Default 7.
    pub max_connections: usize,
    /// Advertising interval, ms. Default 100.
    pub advertising_interval_ms: f64,
    /// Fraction of time a device scans (scan window / scan interval). Default 0.3.
    pub scan_duty: f64,
    /// ATT MTU after the exchange. Default 185 (core MTU = ATT MTU − 3 = 182).
    pub att_mtu: u16,
    /// Connection intervals between connecting and the end of the MTU exchange. Default 3.
    pub mtu_exchange_events: u32,
    /// Supervision timeout, ms: a link whose signal stays below sensitivity this long breaks.
    /// Default 2000.
    pub supervision_timeout_ms: f64,
    /// PHY bit rate, Mbit/s (1 or 2). Default 1.
    pub phy_mbps: u32,
    /// Largest LL payload, bytes (27 without, 251 with Data Length Extension). Default 251.
    pub max_ll_payload: u32,
    /// PDUs one device buffers per link for the radio (the OS write queue). Beyond it writes
    /// are dropped and counted. Default 64.
    pub radio_queue: usize,
}

impl Default for RadioParams {
    fn default() -> Self {
        RadioParams {
            tx_power_dbm: 0.0,
            path_loss_d0_db: 40.05,
            path_loss_exponent: 3.0,
            shadowing_sigma_db: 4.0,
            sensitivity_dbm: -90.0,
            per_slope_db: 1.5,
            connect_margin_db: 6.0,
            connection_interval_ms: 15.0,
            adopt_connection_parameters: false,
            max_packets_per_event: 6,
            max_connections: 7,
            advertising_interval_ms: 100.0,
            scan_duty: 0.3,
            att_mtu: 185,
            mtu_exchange_events: 3,
            supervision_timeout_ms: 2000.0,
            phy_mbps: 1,
            max_ll_payload: 251,
            radio_queue: 64,
        }
    }
}

/// Inter-frame space, µs.
pub const T_IFS_US: u64 = 150;
/// LL packet overhead at 1M PHY: preamble, access address, header, CRC (bytes).
pub const LL_OVERHEAD_BYTES: u64 = 10;
/// L2CAP and ATT header bytes in front of a write's data.
pub const ATT_WRITE_OVERHEAD: u64 = 7;
/// The MTU before the exchange: ATT MTU 23 minus 3.
pub const INITIAL_MTU: u16 = 20;

/// Airtime budget of one connection event of `interval_us` on a link whose busier end has
/// `links` connections, µs.
pub fn event_budget_us(interval_us: u64, links: usize) -> u64 {
    interval_us / links.max(1) as u64
}

/// Connection events between a connection-parameter update's request and its instant (the
/// specification's minimum, Core v5.3 Vol 6 Part B §5.1.1).
pub const UPDATE_INSTANT_EVENTS: u64 = 6;

impl RadioParams {
    /// Checks ranges; names the first field out of range.
    pub fn validate(&self) -> Result<(), String> {
        let bad = |f: &str, why: &str| Err(format!("radio.{f}: {why}"));
        if !(7.5..=4000.0).contains(&self.connection_interval_ms) {
            return bad("connection_interval_ms", "must be between 7.5 and 4000");
        }
        if self.max_packets_per_event == 0 {
            return bad("max_packets_per_event", "must be at least 1");
        }
        if self.max_connections == 0 || self.max_connections > 64 {
            return bad("max_connections", "must be between 1 and 64");
        }
        if self.att_mtu < 23 || self.att_mtu > 517 {
            return bad("att_mtu", "must be between 23 and 517");
        }
        if self.phy_mbps != 1 && self.phy_mbps != 2 {
            return bad("phy_mbps", "must be 1 or 2");
        }
        if !(27..=251).contains(&self.max_ll_payload) {
            return bad("max_ll_payload", "must be between 27 and 251");
        }
        if self.per_slope_db <= 0.0 || self.path_loss_exponent <= 0.0 || self.advertising_interval_ms < 20.0 {
            return bad("per_slope_db", "slope and exponent must be positive, advertising at least 20 ms");
        }
        if !(0.0..=1.0).contains(&self.scan_duty) || self.radio_queue == 0 {
            return bad("scan_duty", "must be within 0..=1 (and radio_queue at least 1)");
        }
        Ok(())
    }

    /// Mean path loss at `distance_m` (no shadowing), dB. Distances below 1 m count as 1 m.
    pub fn path_loss_db(&self, distance_m: f64) -> f64 {
        let d = distance_m.max(1.0);
        self.path_loss_d0_db + 10.0 * self.path_loss_exponent * libm::log10(d)
    }

    /// Received signal strength at `distance_m` with `shadowing_db` added to the loss, dBm.
    pub fn rssi_dbm(&self, distance_m: f64, shadowing_db: f64) -> f64 {
        self.tx_power_dbm - self.path_loss_db(distance_m) - shadowing_db
    }

    /// Probability that one packet received at `rssi_dbm` is lost.
    pub fn packet_error_rate(&self, rssi_dbm: f64) -> f64 {
        1.0 / (1.0 + libm::exp((rssi_dbm - self.sensitivity_dbm) / self.per_slope_db))
    }

    /// Distance at which the mean RSSI (no shadowing) equals `threshold_dbm`, metres.
    pub fn range_for(&self, threshold_dbm: f64) -> f64 {
        let excess = self.tx_power_dbm - self.path_loss_d0_db - threshold_dbm;
        libm::pow(10.0, excess / (10.0 * self.path_loss_exponent)).max(1.0)
    }

    /// Largest distance at which two devices may still connect, allowing `sigmas` standard
    /// deviations of favourable shadowing. Used to size the spatial index.
    pub fn max_range_m(&self, sigmas: f64) -> f64 {
        self.range_for(self.sensitivity_dbm + self.connect_margin_db - sigmas * self.shadowing_sigma_db)
    }

    /// Airtime of one LL packet with `payload` bytes, µs.
    pub fn ll_packet_us(&self, payload: u64) -> u64 {
        (LL_OVERHEAD_BYTES + payload) * 8 / u64::from(self.phy_mbps)
    }

    /// Airtime of one exchange carrying a write of `pdu_len` bytes one way and an empty
    /// packet back (two T_IFS included), µs. Writes longer than the LL payload are split.
    pub fn exchange_us(&self, pdu_len: usize) -> u64 {
        let data = pdu_len as u64 + ATT_WRITE_OVERHEAD;
        let max = u64::from(self.max_ll_payload);
        let packets = data.div_ceil(max).max(1);
        let last = data - (packets - 1) * max;
        let data_us = (packets - 1) * self.ll_packet_us(max) + self.ll_packet_us(last);
        let empty_us = self.ll_packet_us(0);
        data_us + packets * (empty_us + 2 * T_IFS_US)
    }

    /// Connection interval, µs.
    pub fn interval_us(&self) -> u64 {
        libm::round(self.connection_interval_ms * 1000.0) as u64
    }

    /// Core MTU after the exchange (ATT MTU − 3).
    pub fn mtu(&self) -> u16 {
        self.att_mtu - 3
    }

    /// Airtime budget of one connection event on a link whose busier end has `links`
    /// connections, µs.
    pub fn event_budget_us(&self, links: usize) -> u64 {
        event_budget_us(self.interval_us(), links)
    }

    /// Full-size PDUs one connection event carries in one direction with `links` connections
    /// at the busier end: at least one, at most `max_packets_per_event`.
    pub fn pdus_per_event(&self, links: usize) -> u64 {
        let per = self.exchange_us(usize::from(self.mtu()));
        (self.event_budget_us(links) / per).clamp(1, u64::from(self.max_packets_per_event))
    }

    /// Full-size PDUs per second one link carries in one direction, at `links` connections at
    /// the busier end and no packet loss.
    pub fn link_pdus_per_s(&self, links: usize) -> f64 {
        self.pdus_per_event(links) as f64 * 1e6 / self.interval_us() as f64
    }

    /// Probability that a device scanning with [`RadioParams::scan_duty`] hears one advertising
    /// event from a peer at `rssi_dbm`.
    pub fn discovery_probability(&self, rssi_dbm: f64) -> f64 {
        self.scan_duty * (1.0 - self.packet_error_rate(rssi_dbm))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn path_loss_follows_the_log_distance_law() {
        let r = RadioParams::default();
        close(r.path_loss_db(1.0), 40.05);
        close(r.path_loss_db(0.2), 40.05); // clamped to d0
        close(r.path_loss_db(10.0), 70.05);
        close(r.path_loss_db(100.0), 100.05);
        close(r.rssi_dbm(10.0, 0.0), -70.05);
        close(r.rssi_dbm(10.0, 4.0), -74.05);
    }

    #[test]
    fn packet_error_is_logistic_around_sensitivity() {
        let r = RadioParams::default();
        close(r.packet_error_rate(-90.0), 0.5);
        close(r.packet_error_rate(-85.0), 1.0 / (1.0 + libm::exp(5.0 / 1.5)));
        assert!(r.packet_error_rate(-60.0) < 1e-8);
        assert!(r.packet_error_rate(-100.0) > 0.998);
        close(r.discovery_probability(-90.0), 0.15);
    }

    #[test]
    fn range_inverts_path_loss() {
        let r = RadioParams::default();
        let d = r.range_for(-90.0);
        close(r.rssi_dbm(d, 0.0), -90.0);
        close(d, libm::pow(10.0, 49.95 / 30.0));
    }

    #[test]
    fn airtime_matches_the_specification_arithmetic() {
        let r = RadioParams::default();
        assert_eq!(r.ll_packet_us(0), 80);
        assert_eq!(r.ll_packet_us(27), 296);
        // 182-byte write: 189-byte LL payload, 1592 µs, + empty 80 µs + 2 × 150 µs.
        assert_eq!(r.exchange_us(182), 1592 + 80 + 300);
        // Without DLE it takes 7 LL packets of at most 27 bytes.
        let small = RadioParams { max_ll_payload: 27, ..RadioParams::default() };
        assert_eq!(small.exchange_us(182), 6 * 296 + small.ll_packet_us(189 - 162) + 7 * 380);
        let fast = RadioParams { phy_mbps: 2, ..RadioParams::default() };
        assert_eq!(fast.ll_packet_us(0), 40);
    }

    #[test]
    fn capacity_shrinks_with_shared_radio() {
        let r = RadioParams::default();
        assert_eq!(r.interval_us(), 15_000);
        assert_eq!(r.mtu(), 182);
        assert_eq!(r.pdus_per_event(1), 6); // 15 000 / 1972 = 7, capped at 6
        assert_eq!(r.pdus_per_event(3), 2); // 5 000 / 1972
        assert_eq!(r.pdus_per_event(7), 1); // 2 142 / 1972
        close(r.link_pdus_per_s(1), 400.0);
        close(r.link_pdus_per_s(7), 1e6 / 15_000.0);
    }

    #[test]
    fn defaults_validate_and_nonsense_does_not() {
        RadioParams::default().validate().unwrap();
        let bad = RadioParams { connection_interval_ms: 5.0, ..RadioParams::default() };
        assert!(bad.validate().unwrap_err().contains("connection_interval_ms"));
    }
}
