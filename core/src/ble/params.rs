//! Per-link connection parameters: interval, peripheral latency, supervision timeout and
//! transmit power, decided from link quality, traffic and the power budget.
//!
//! [`link_parameters`] is a pure function of its inputs and the link's previous decision;
//! the previous decision supplies the hysteresis:
//!
//! * **Interval**: the candidates form a ladder, from the profile's minimum doubling up to
//!   its maximum. The link keeps its interval while that interval carries the load with 2×
//!   headroom and is not needlessly fast (a slower step would still carry it with 3×):
//!   between those two bounds nothing changes. Latency-sensitive traffic takes the minimum.
//!   Shortening is immediate; lengthening waits until the interval has held for
//!   [`BleConfig::relax_after`], so bursts of traffic do not cause a renegotiation each.
//! * **Peripheral latency**: only on an idle, clean link, never on a latency-sensitive one
//!   nor while a lengthening interval is held back; enabled at utilisation ≤ 25 % and loss
//!   ≤ `lossy_above`, kept until 50 % and twice that.
//! * **Supervision timeout**: the configured one, doubled on a weak or lossy link, never
//!   under the specification's floor for the interval and latency.
//! * **Transmit power**: a dead-band controller on the RSSI of the peer's frames: a step up
//!   under the target, a step down only more than the dead band above it, full power on a
//!   weak or lossy link, and on one without RSSI (the path is unknown). Steps are at most half the dead band, so two peers running it
//!   settle instead of chasing each other.
//!
//! Capacity is estimated as in the link estimator: one PDU of `mtu` bytes per connection
//! event, times the delivery ratio.

use core::time::Duration;

use super::config::{BleConfig, PowerBudget};
use super::spec::{ConnectionInterval, MAX_PERIPHERAL_LATENCY, PeripheralLatency, SupervisionTimeout};

/// Headroom a link keeps over its load before its interval is shortened.
const KEEP_HEADROOM: f32 = 2.0;
/// Headroom a slower interval must still leave before the link is slowed down.
const RELAX_HEADROOM: f32 = 3.0;
/// RSSI above [`BleConfig::weak_rssi_dbm`] at which a weak link is healthy again, dB.
const WEAK_HYSTERESIS_DB: i16 = 3;

/// What the optimiser knows about one link when it decides.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct LinkConditions {
    /// Smoothed RSSI of the peer's frames, dBm, if the radio reports it.
    pub rssi_dbm: Option<i8>,
    /// Estimated share of frames lost across the link, both ways (0..=1; NaN counts as 1).
    pub loss: f32,
    /// Latency-sensitive (critical or high priority) application traffic crossed the link
    /// recently.
    pub latency_sensitive: bool,
    /// Traffic queued on the link, bit/s.
    pub load_bps: u32,
    /// The link's PDU size, bytes.
    pub mtu: u16,
    /// How long the link's current connection interval has been in force
    /// ([`Duration::MAX`] when unknown).
    pub interval_held: Duration,
}

/// A link's connection parameters, always valid by the specification: the supervision
/// timeout exceeds `(1 + latency) × interval × 2`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub struct LinkParameters {
    /// Connection interval.
    pub connection_interval: ConnectionInterval,
    /// Peripheral latency.
    pub peripheral_latency: PeripheralLatency,
    /// Supervision timeout.
    pub supervision_timeout: SupervisionTimeout,
    /// Transmit power, dBm.
    pub tx_power_dbm: i8,
}

/// Why a set of connection parameters is not allowed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SpecViolation {
    /// The supervision timeout is not more than `(1 + latency) × interval × 2`.
    SupervisionTimeoutTooShort,
    /// The transmit power is outside -127..=+20 dBm.
    TxPowerOutOfRange,
}

impl core::fmt::Display for SpecViolation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            SpecViolation::SupervisionTimeoutTooShort => "supervision timeout must exceed (1 + latency) × interval × 2",
            SpecViolation::TxPowerOutOfRange => "transmit power outside -127..=+20 dBm",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SpecViolation {}

impl LinkParameters {
    /// Parameters from parts, if they satisfy the specification together.
    pub fn new(
        connection_interval: ConnectionInterval,
        peripheral_latency: PeripheralLatency,
        supervision_timeout: SupervisionTimeout,
        tx_power_dbm: i8,
    ) -> Result<Self, SpecViolation> {
        let p = LinkParameters { connection_interval, peripheral_latency, supervision_timeout, tx_power_dbm };
        p.check()?;
        Ok(p)
    }

    /// Checks the constraints between the fields (each field is valid on its own by type).
    pub fn check(&self) -> Result<(), SpecViolation> {
        match SupervisionTimeout::floor_for(self.connection_interval, self.peripheral_latency) {
            Some(floor) if self.supervision_timeout >= floor => {}
            _ => return Err(SpecViolation::SupervisionTimeoutTooShort),
        }
        if !(super::spec::MIN_TX_POWER_DBM..=super::spec::MAX_TX_POWER_DBM).contains(&self.tx_power_dbm) {
            return Err(SpecViolation::TxPowerOutOfRange);
        }
        Ok(())
    }

    /// The longest gap between connection events the peripheral may leave:
    /// `(1 + latency) × interval`.
    pub fn effective_interval(&self) -> Duration {
        self.connection_interval.as_duration() * (1 + u32::from(self.peripheral_latency.events()))
    }
}

/// Decides a link's parameters under `budget`; `previous` is the link's last decision.
/// Pure: the same arguments always give the same result, and the result always passes
/// [`LinkParameters::check`] and stays within the profile's bounds.
pub fn link_parameters(
    cfg: &BleConfig,
    budget: PowerBudget,
    c: &LinkConditions,
    previous: Option<&LinkParameters>,
) -> LinkParameters {
    let loss = if c.loss.is_nan() { 1.0 } else { c.loss.clamp(0.0, 1.0) };
    let weak = is_weak(cfg, c.rssi_dbm, previous.is_some_and(|p| was_weak(cfg, p)));
    let lossy = loss > cfg.lossy_above;
    let (interval, held_back) = interval(cfg, budget, c, loss, previous.map(|p| p.connection_interval));
    let had_latency = previous.is_some_and(|p| p.peripheral_latency.events() > 0);
    let latency = if held_back { PeripheralLatency::ZERO } else { latency(cfg, budget, c, loss, interval, had_latency) };
    let base = if weak || lossy { cfg.supervision_timeout * 2 } else { cfg.supervision_timeout };
    let floor = SupervisionTimeout::floor_for(interval, latency).unwrap_or(SupervisionTimeout::MAX);
    let timeout = SupervisionTimeout::at_most(base).max(floor);
    let tx_power = tx_power(cfg, budget, c.rssi_dbm, weak || lossy, previous.map(|p| p.tx_power_dbm));
    LinkParameters { connection_interval: interval, peripheral_latency: latency, supervision_timeout: timeout, tx_power_dbm: tx_power }
}

/// Whether the link counts as weak, with [`WEAK_HYSTERESIS_DB`] of hysteresis.
fn is_weak(cfg: &BleConfig, rssi: Option<i8>, was_weak: bool) -> bool {
    let Some(rssi) = rssi.map(i16::from) else { return was_weak };
    let threshold = i16::from(cfg.weak_rssi_dbm);
    if was_weak { rssi < threshold + WEAK_HYSTERESIS_DB } else { rssi < threshold }
}

/// A previous decision was for a weak or lossy link iff its timeout is above the healthy
/// one and the specification's floor did not force it there.
fn was_weak(cfg: &BleConfig, p: &LinkParameters) -> bool {
    let healthy = SupervisionTimeout::at_most(cfg.supervision_timeout);
    let floor = SupervisionTimeout::floor_for(p.connection_interval, p.peripheral_latency);
    p.supervision_timeout > healthy && Some(p.supervision_timeout) != floor
}

/// Bits per second a link carries at `interval`: one `mtu` PDU per event, minus the loss.
fn capacity_bps(mtu: u16, loss: f32, interval: ConnectionInterval) -> f32 {
    let per_second = 1_000_000.0 / interval.as_duration().as_micros() as f32;
    f32::from(mtu) * 8.0 * (1.0 - loss) * per_second
}

/// The longest step of the profile's ladder that carries `load` with `headroom`, or the
/// shortest step if none does.
fn longest_carrying(lo: ConnectionInterval, hi: ConnectionInterval, c: &LinkConditions, loss: f32, headroom: f32) -> ConnectionInterval {
    let need = c.load_bps as f32 * headroom;
    let mut best = lo;
    let mut units = lo.units();
    loop {
        let step = ConnectionInterval::from_units(units.min(hi.units())).unwrap_or(hi);
        if capacity_bps(c.mtu, loss, step) >= need {
            best = step;
        }
        if step >= hi {
            return best;
        }
        units = units.saturating_mul(2);
    }
}

/// The interval, and whether a longer one is held back by [`BleConfig::relax_after`].
fn interval(
    cfg: &BleConfig,
    budget: PowerBudget,
    c: &LinkConditions,
    loss: f32,
    prev: Option<ConnectionInterval>,
) -> (ConnectionInterval, bool) {
    let profile = cfg.profile(budget);
    let lo = ConnectionInterval::at_most(profile.min_interval);
    let hi = ConnectionInterval::at_most(profile.max_interval);
    if c.latency_sensitive {
        return (lo, false);
    }
    let needed = longest_carrying(lo, hi, c, loss, KEEP_HEADROOM);
    let relaxed = longest_carrying(lo, hi, c, loss, RELAX_HEADROOM);
    match prev {
        Some(p) if (lo..=hi).contains(&p) => {
            if p > needed {
                (needed, false)
            } else if p < relaxed {
                if c.interval_held >= cfg.relax_after { (relaxed, false) } else { (p, true) }
            } else {
                (p, false)
            }
        }
        _ => (needed, false),
    }
}

fn latency(
    cfg: &BleConfig,
    budget: PowerBudget,
    c: &LinkConditions,
    loss: f32,
    interval: ConnectionInterval,
    had_latency: bool,
) -> PeripheralLatency {
    let (max_util, max_loss) = if had_latency { (0.5, 2.0 * cfg.lossy_above) } else { (0.25, cfg.lossy_above) };
    let capacity = capacity_bps(c.mtu, loss, interval);
    let idle = capacity > 0.0 && c.load_bps as f32 <= max_util * capacity;
    if c.latency_sensitive || loss > max_loss || !idle {
        return PeripheralLatency::ZERO;
    }
    let effective = cfg.profile(budget).max_effective_interval.as_micros();
    let events = (effective / interval.as_duration().as_micros()).saturating_sub(1);
    let events = u16::try_from(events).unwrap_or(u16::MAX).min(MAX_PERIPHERAL_LATENCY);
    PeripheralLatency::new(events).unwrap_or(PeripheralLatency::ZERO)
}

fn tx_power(cfg: &BleConfig, budget: PowerBudget, rssi: Option<i8>, struggling: bool, prev: Option<i8>) -> i8 {
    let (floor, cap) = (cfg.tx_power_min_dbm, cfg.tx_power_cap(budget));
    let (Some(prev), Some(rssi), false) = (prev, rssi.map(i16::from), struggling) else { return cap };
    let prev = prev.clamp(floor, cap);
    let step = i16::from(cfg.tx_power_step_db);
    let target = i16::from(cfg.target_rssi_dbm);
    let next = if rssi < target {
        i16::from(prev) + step
    } else if rssi > target + i16::from(cfg.tx_power_deadband_db) {
        i16::from(prev) - step
    } else {
        i16::from(prev)
    };
    next.clamp(i16::from(floor), i16::from(cap)) as i8
}
