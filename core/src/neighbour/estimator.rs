//! Per-link quality estimation from heartbeats and radio reports.
//!
//! * **Latency**: round-trip samples from heartbeat timestamp echoes (each heartbeat echoes
//!   the last `tx_time` it received and how long it held it), smoothed as in RFC 6298
//!   (`srtt` gain 1/8, `rttvar` gain 1/4). One-way latency is reported as `srtt / 2`.
//! * **Reliability**: the receive ratio of the neighbour's heartbeats, an EWMA (gain 1/8) fed a
//!   1 per heartbeat received and a 0 per heartbeat missed (gaps in the per-link sequence);
//!   the neighbour reports its own receive ratio of ours, so both directions are known and
//!   `ETX = 1 / (forward × reverse)` as in De Couto et al. (MobiCom 2003).
//! * **RSSI**: EWMA (gain 1/4) of reported values, with a trend in dBm/s (Holt's linear
//!   method, trend gain 1/4) that later predicts link loss.
//! * **Bandwidth**: the link's capacity from its MTU and connection interval (one PDU per
//!   connection event, the conservative BLE case) times the delivery ratio.

use core::time::Duration;

use crate::Instant;

const RATIO_GAIN: f32 = 1.0 / 8.0;
const RSSI_GAIN: f32 = 1.0 / 4.0;
const TREND_GAIN: f32 = 1.0 / 4.0;
/// Gaps longer than this many heartbeats are counted as this many (a rebooted peer).
const MAX_GAP: u32 = 32;
/// RTT samples above this are discarded as bogus (clock wrap, stale echo).
const MAX_RTT_US: u32 = 10_000_000;
/// BLE's default connection interval when the runtime does not report one (iOS minimum).
pub(crate) const DEFAULT_CONNECTION_INTERVAL: Duration = Duration::from_millis(15);

/// Smoothed quality of one link.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkEstimator {
    srtt_us: Option<f32>,
    rttvar_us: f32,
    rx_ratio: f32,
    tx_ratio: f32,
    last_rx_seq: Option<u32>,
    /// Heartbeats charged as missed by [`LinkEstimator::on_silence`] since the last one
    /// received; settled against the sequence gap when the next one arrives.
    silenced: u32,
    rssi: Option<f32>,
    rssi_trend: f32,
    rssi_at: Instant,
    capacity_bps: u32,
}

impl LinkEstimator {
    /// A fresh estimator for a link of `mtu` bytes and the given connection interval.
    pub fn new(mtu: u16, interval: Option<Duration>) -> Self {
        let mut e = LinkEstimator {
            srtt_us: None,
            rttvar_us: 0.0,
            rx_ratio: 1.0,
            tx_ratio: 1.0,
            last_rx_seq: None,
            silenced: 0,
            rssi: None,
            rssi_trend: 0.0,
            rssi_at: Instant::ZERO,
            capacity_bps: 0,
        };
        e.set_capacity(mtu, interval);
        e
    }

    /// Recomputes the capacity after an MTU or connection-interval change.
    pub fn set_capacity(&mut self, mtu: u16, interval: Option<Duration>) {
        let interval_us = interval.unwrap_or(DEFAULT_CONNECTION_INTERVAL).as_micros().max(1) as u64;
        let bps = u64::from(mtu) * 8 * 1_000_000 / interval_us;
        self.capacity_bps = u32::try_from(bps).unwrap_or(u32::MAX);
    }

    /// A heartbeat with per-link sequence `seq` arrived. Returns how many were missed before
    /// it. Misses already charged by [`LinkEstimator::on_silence`] are settled: a heartbeat
    /// that was only late gets its charge back.
    pub fn on_heartbeat(&mut self, seq: u32) -> u32 {
        let missed = match self.last_rx_seq {
            None => 0,
            Some(last) => {
                let d = seq.wrapping_sub(last);
                if d == 0 || d > u32::MAX / 2 {
                    return 0; // duplicate or reordered: no new information
                }
                (d - 1).min(MAX_GAP)
            }
        };
        let charged = core::mem::take(&mut self.silenced);
        for _ in charged..missed {
            self.rx_ratio *= 1.0 - RATIO_GAIN;
        }
        for _ in missed..charged {
            self.rx_ratio = (self.rx_ratio / (1.0 - RATIO_GAIN)).min(1.0);
        }
        self.last_rx_seq = Some(seq);
        self.rx_ratio = self.rx_ratio * (1.0 - RATIO_GAIN) + RATIO_GAIN;
        missed
    }

    /// Charges one expected heartbeat as missed (a heartbeat interval passed without one),
    /// so a silent link degrades before the next heartbeat reveals the gap.
    pub fn on_silence(&mut self) {
        if self.silenced < MAX_GAP {
            self.rx_ratio *= 1.0 - RATIO_GAIN;
            self.silenced += 1;
        }
    }

    /// The neighbour reported receiving `quality`/255 of our heartbeats.
    pub fn on_peer_quality(&mut self, quality: u8) {
        self.tx_ratio = f32::from(quality) / 255.0;
    }

    /// A round-trip sample.
    pub fn on_rtt_sample(&mut self, rtt_us: u32) {
        if rtt_us > MAX_RTT_US {
            return;
        }
        let r = rtt_us as f32;
        match self.srtt_us {
            None => {
                self.srtt_us = Some(r);
                self.rttvar_us = r / 2.0;
            }
            Some(srtt) => {
                self.rttvar_us = 0.75 * self.rttvar_us + 0.25 * (srtt - r).abs();
                self.srtt_us = Some(0.875 * srtt + 0.125 * r);
            }
        }
    }

    /// A radio signal strength reading at `now`.
    pub fn on_rssi(&mut self, now: Instant, dbm: i8) {
        let x = f32::from(dbm);
        match self.rssi {
            None => self.rssi = Some(x),
            Some(level) => {
                let dt = (now - self.rssi_at).as_secs_f32();
                let predicted = level + self.rssi_trend * dt;
                let new_level = RSSI_GAIN * x + (1.0 - RSSI_GAIN) * predicted;
                if dt > 0.0 {
                    let slope = (new_level - level) / dt;
                    self.rssi_trend = TREND_GAIN * slope + (1.0 - TREND_GAIN) * self.rssi_trend;
                }
                self.rssi = Some(new_level);
            }
        }
        self.rssi_at = now;
    }

    /// Share of the neighbour's heartbeats that arrived (0..=1).
    pub fn rx_ratio(&self) -> f32 {
        self.rx_ratio
    }

    /// Receive ratio as carried in heartbeats (0..=255).
    pub fn rx_quality(&self) -> u8 {
        (self.rx_ratio * 255.0 + 0.5) as u8
    }

    /// Probability that a frame crosses the link and its acknowledgement comes back.
    pub fn reliability(&self) -> f32 {
        self.rx_ratio * self.tx_ratio
    }

    /// Expected transmission count, `1 / reliability`, capped at 1000.
    pub fn etx(&self) -> f32 {
        let r = self.reliability();
        if r <= 0.001 { 1000.0 } else { 1.0 / r }
    }

    /// Smoothed round-trip time, once a sample exists.
    pub fn rtt(&self) -> Option<Duration> {
        self.srtt_us.map(|us| Duration::from_micros(us as u64))
    }

    /// RTT variation (RFC 6298 `rttvar`).
    pub fn rtt_var(&self) -> Duration {
        Duration::from_micros(self.rttvar_us as u64)
    }

    /// Smoothed RSSI in dBm, once reported.
    pub fn rssi(&self) -> Option<f32> {
        self.rssi
    }

    /// RSSI trend in dBm per second (negative: getting weaker).
    pub fn rssi_trend(&self) -> f32 {
        self.rssi_trend
    }

    /// Estimated usable bandwidth in bit/s: capacity times delivery ratio.
    pub fn bandwidth_bps(&self) -> u32 {
        (self.capacity_bps as f32 * self.reliability()) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_gaps_lower_reliability_and_raise_etx() {
        let mut e = LinkEstimator::new(185, None);
        assert_eq!(e.on_heartbeat(10), 0);
        assert_eq!(e.rx_ratio(), 1.0);
        assert_eq!(e.on_heartbeat(13), 2); // 11 and 12 lost
        let expected = 1.0 * 0.875 * 0.875 * 0.875 + 0.125;
        assert!((e.rx_ratio() - expected).abs() < 1e-6);
        assert_eq!(e.on_heartbeat(13), 0, "duplicates carry no information");
        assert!((e.rx_ratio() - expected).abs() < 1e-6);
        e.on_peer_quality(255 / 2);
        assert!((e.etx() - 1.0 / (expected * (127.0 / 255.0))).abs() < 1e-3);
    }

    #[test]
    fn a_late_heartbeat_gets_its_silence_charge_back() {
        let mut e = LinkEstimator::new(185, None);
        e.on_heartbeat(1);
        let before = e.rx_ratio();
        e.on_silence(); // heartbeat 2 is late, not lost
        assert!(e.rx_ratio() < before);
        assert_eq!(e.on_heartbeat(2), 0);
        let mut reference = LinkEstimator::new(185, None);
        reference.on_heartbeat(1);
        reference.on_heartbeat(2);
        assert!((e.rx_ratio() - reference.rx_ratio()).abs() < 1e-6, "{} vs {}", e.rx_ratio(), reference.rx_ratio());
        // Two charged, three really lost: one more miss is charged on arrival.
        e.on_silence();
        e.on_silence();
        assert_eq!(e.on_heartbeat(6), 3);
        let mut lossy = LinkEstimator::new(185, None);
        lossy.on_heartbeat(1);
        lossy.on_heartbeat(2);
        lossy.on_heartbeat(6);
        assert!((e.rx_ratio() - lossy.rx_ratio()).abs() < 1e-6);
    }

    #[test]
    fn rtt_follows_rfc6298() {
        let mut e = LinkEstimator::new(185, None);
        assert_eq!(e.rtt(), None);
        e.on_rtt_sample(40_000);
        assert_eq!(e.rtt(), Some(Duration::from_millis(40)));
        assert_eq!(e.rtt_var(), Duration::from_millis(20));
        e.on_rtt_sample(80_000);
        assert_eq!(e.rtt(), Some(Duration::from_millis(45)));
        assert_eq!(e.rtt_var(), Duration::from_millis(25));
        e.on_rtt_sample(MAX_RTT_US + 1);
        assert_eq!(e.rtt(), Some(Duration::from_millis(45)), "bogus samples are ignored");
    }

    #[test]
    fn rssi_trend_tracks_a_walk_away() {
        let mut e = LinkEstimator::new(185, None);
        for s in 0..20u64 {
            e.on_rssi(Instant::from_secs(s), -50 - (2 * s) as i8);
        }
        assert!(e.rssi_trend() < -1.5 && e.rssi_trend() > -2.5, "trend {}", e.rssi_trend());
        assert!(e.rssi().unwrap() < -80.0);
    }

    #[test]
    fn capacity_from_mtu_and_interval() {
        let e = LinkEstimator::new(20, Some(Duration::from_millis(20)));
        assert_eq!(e.bandwidth_bps(), 8_000);
        let e = LinkEstimator::new(244, None);
        assert_eq!(e.bandwidth_bps(), 130_133);
    }
}
