//! The optimiser's knobs: power profiles, thresholds and advertising timing, with
//! validation against the specification's limits.

use core::time::Duration;

use super::spec::{
    ADVERTISING_INTERVAL_UNIT_US, CONNECTION_INTERVAL_UNIT_US, MAX_TX_POWER_DBM, MIN_TX_POWER_DBM,
    SUPERVISION_TIMEOUT_UNIT_US, representable,
};
use crate::ConfigError;

/// Channels a channel map may use at the least: the specification's `Nmin`.
pub const SPEC_MIN_USED_CHANNELS: u8 = 2;
/// Data channels (0..=36).
pub const DATA_CHANNELS: u8 = 37;

/// How much energy the radio may spend. Chosen by the application
/// ([`crate::Node::set_power_budget`]); a battery under [`BleConfig::low_battery`] caps it
/// at [`PowerBudget::Saver`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub enum PowerBudget {
    /// Latency first: short intervals, no peripheral latency, full transmit power.
    Performance,
    /// The default: short intervals while traffic needs them, longer ones when idle.
    #[default]
    Balanced,
    /// Battery first: long intervals, peripheral latency when idle, capped power.
    Saver,
}

impl PowerBudget {
    /// The more frugal of two budgets.
    pub fn min(self, other: PowerBudget) -> PowerBudget {
        Ord::max(self, other)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What one [`PowerBudget`] allows a link.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PowerProfile {
    /// Shortest connection interval (used whenever latency-sensitive traffic is present).
    pub min_interval: Duration,
    /// Longest connection interval (used on an idle link).
    pub max_interval: Duration,
    /// Longest effective interval `(1 + peripheral latency) × interval` on an idle link; at
    /// most `max_interval` means no peripheral latency.
    pub max_effective_interval: Duration,
    /// Highest transmit power, dBm (further capped by [`BleConfig::tx_power_max_dbm`]).
    pub tx_power_cap_dbm: i8,
}

/// How advertising is paced (see [`crate::ble::advertising_schedule`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AdvertisingConfig {
    /// Interval of the burst right after the node starts seeking. Default 30 ms.
    pub burst_interval: Duration,
    /// How long the burst lasts. Default 30 s (what phone platforms recommend).
    pub burst_for: Duration,
    /// Interval while still seeking after the burst, and while a new neighbourhood
    /// settles. Default 152.5 ms.
    pub searching_interval: Duration,
    /// Interval in a stable mesh. Default 1022.5 ms.
    pub stable_interval: Duration,
    /// In a stable mesh, advertise for this long ... Default 2 s.
    pub stable_on: Duration,
    /// ... out of every period this long. Default 10 s.
    pub stable_period: Duration,
    /// A neighbourhood counts as stable once it has held this long. Default 5 s.
    pub settle_after: Duration,
}

/// Everything the BLE optimiser is told before it starts. Part of [`crate::Config::ble`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct BleConfig {
    /// Whether the node makes radio decisions at all ([`crate::Output::Radio`]). Default on;
    /// a mesh on UDP only may turn it off.
    pub enabled: bool,
    /// Interval between evaluations of traffic load, the channel map and advertising.
    /// Default 1 s.
    pub evaluate_interval: Duration,
    /// Profiles of [`PowerBudget::Performance`], [`PowerBudget::Balanced`] and
    /// [`PowerBudget::Saver`], in that order. Defaults: 7.5–30 ms / 30 ms / full power;
    /// 15–60 ms / 120 ms / full power; 30–240 ms / 480 ms / 0 dBm.
    pub profiles: [PowerProfile; 3],
    /// A battery at or under this level (percent) caps the budget at Saver. Default 20.
    pub low_battery: u8,
    /// A link's connection interval lengthens (and peripheral latency appears) only once the
    /// current interval has held this long; shortening is immediate. Default 5 s.
    pub relax_after: Duration,
    /// Lowest transmit power the radio supports, dBm. Default -20 (typical phones).
    pub tx_power_min_dbm: i8,
    /// Highest transmit power the radio supports, dBm. Default +8 (typical phones).
    pub tx_power_max_dbm: i8,
    /// RSSI a link should keep, dBm: below it transmit power steps up. Default -70.
    pub target_rssi_dbm: i8,
    /// Transmit power steps down only while RSSI is this far above the target. Default 10.
    pub tx_power_deadband_db: u8,
    /// Transmit power step, dB. Default 3; at most half the dead band, so the loop settles.
    pub tx_power_step_db: u8,
    /// Under this RSSI, dBm, a link is weak: full power and a longer supervision timeout.
    /// It stops being weak 3 dB above. Default -85.
    pub weak_rssi_dbm: i8,
    /// Over this loss estimate (0..1) a link is lossy: no peripheral latency, full power,
    /// longer supervision timeout. Default 0.1.
    pub lossy_above: f32,
    /// Supervision timeout of a healthy link (doubled on a weak or lossy one; never under
    /// the specification's floor). Default 2 s, about when the mesh itself gives a silent
    /// neighbour up.
    pub supervision_timeout: Duration,
    /// Fewest data channels the channel map keeps (2..=37; the specification's minimum is
    /// 2). Default 20, which many controllers require.
    pub min_used_channels: u8,
    /// A used channel is excluded once its smoothed interference rises above this (0..1).
    /// Default 0.35.
    pub exclude_interference_above: f32,
    /// An excluded channel is used again once its interference falls below this. Default
    /// 0.15.
    pub include_interference_below: f32,
    /// Advertising pace.
    pub advertising: AdvertisingConfig,
}

impl Default for BleConfig {
    fn default() -> Self {
        let ms = Duration::from_millis;
        BleConfig {
            enabled: true,
            evaluate_interval: Duration::from_secs(1),
            profiles: [
                PowerProfile { min_interval: Duration::from_micros(7500), max_interval: ms(30), max_effective_interval: ms(30), tx_power_cap_dbm: 20 },
                PowerProfile { min_interval: ms(15), max_interval: ms(60), max_effective_interval: ms(120), tx_power_cap_dbm: 20 },
                PowerProfile { min_interval: ms(30), max_interval: ms(240), max_effective_interval: ms(480), tx_power_cap_dbm: 0 },
            ],
            low_battery: 20,
            relax_after: Duration::from_secs(5),
            tx_power_min_dbm: -20,
            tx_power_max_dbm: 8,
            target_rssi_dbm: -70,
            tx_power_deadband_db: 10,
            tx_power_step_db: 3,
            weak_rssi_dbm: -85,
            lossy_above: 0.1,
            supervision_timeout: Duration::from_secs(2),
            min_used_channels: 20,
            exclude_interference_above: 0.35,
            include_interference_below: 0.15,
            advertising: AdvertisingConfig {
                burst_interval: ms(30),
                burst_for: Duration::from_secs(30),
                searching_interval: Duration::from_micros(152_500),
                stable_interval: Duration::from_micros(1_022_500),
                stable_on: Duration::from_secs(2),
                stable_period: Duration::from_secs(10),
                settle_after: Duration::from_secs(5),
            },
        }
    }
}

impl BleConfig {
    /// The profile of `budget`.
    pub fn profile(&self, budget: PowerBudget) -> &PowerProfile {
        &self.profiles[budget.index()]
    }

    /// Highest transmit power `budget` allows, dBm.
    pub fn tx_power_cap(&self, budget: PowerBudget) -> i8 {
        self.profile(budget).tx_power_cap_dbm.min(self.tx_power_max_dbm)
    }

    /// Checks every field; the first problem is named (as `ble.<field>`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field, problem| Err(ConfigError { field, problem });
        let ci = |d| representable(d, CONNECTION_INTERVAL_UNIT_US, 6, 3200);
        let adv = |d| representable(d, ADVERTISING_INTERVAL_UNIT_US, 32, 16384);
        if self.evaluate_interval.is_zero() {
            return err("ble.evaluate_interval", "must be non-zero");
        }
        for p in &self.profiles {
            if !ci(p.min_interval) || !ci(p.max_interval) || p.min_interval > p.max_interval {
                return err("ble.profiles", "intervals must be multiples of 1.25 ms in 7.5 ms..=4 s, min <= max");
            }
            if p.max_effective_interval < p.max_interval || p.max_effective_interval > Duration::from_secs(8) {
                return err("ble.profiles", "max_effective_interval must be in max_interval..=8 s");
            }
            if p.tx_power_cap_dbm < self.tx_power_min_dbm {
                return err("ble.profiles", "tx_power_cap_dbm must be at least tx_power_min_dbm");
            }
        }
        let spec_power = MIN_TX_POWER_DBM..=MAX_TX_POWER_DBM;
        if !spec_power.contains(&self.tx_power_min_dbm) || !spec_power.contains(&self.tx_power_max_dbm) {
            return err("ble.tx_power_max_dbm", "transmit power bounds must be within -127..=+20 dBm");
        }
        if self.tx_power_min_dbm > self.tx_power_max_dbm {
            return err("ble.tx_power_min_dbm", "must be at most tx_power_max_dbm");
        }
        if self.tx_power_step_db == 0 || 2 * u16::from(self.tx_power_step_db) > u16::from(self.tx_power_deadband_db) {
            return err("ble.tx_power_step_db", "must be non-zero and at most half of tx_power_deadband_db");
        }
        if self.weak_rssi_dbm >= self.target_rssi_dbm {
            return err("ble.weak_rssi_dbm", "must be below target_rssi_dbm");
        }
        if !(self.lossy_above > 0.0 && self.lossy_above < 1.0) {
            return err("ble.lossy_above", "must be between 0 and 1");
        }
        if !representable(self.supervision_timeout, SUPERVISION_TIMEOUT_UNIT_US, 10, 1600) {
            return err("ble.supervision_timeout", "must be a multiple of 10 ms in 100 ms..=16 s (it may double)");
        }
        if !(SPEC_MIN_USED_CHANNELS..=DATA_CHANNELS).contains(&self.min_used_channels) {
            return err("ble.min_used_channels", "must be between 2 (the specification's minimum) and 37");
        }
        let (lo, hi) = (self.include_interference_below, self.exclude_interference_above);
        if !(lo > 0.0 && lo < hi && hi < 1.0) {
            return err("ble.include_interference_below", "need 0 < include_below < exclude_above < 1");
        }
        let a = &self.advertising;
        if !adv(a.burst_interval) || !adv(a.searching_interval) || !adv(a.stable_interval) {
            return err("ble.advertising", "intervals must be multiples of 0.625 ms in 20 ms..=10.24 s");
        }
        if a.stable_on.is_zero() || a.stable_on > a.stable_period {
            return err("ble.advertising", "stable_on must be non-zero and at most stable_period");
        }
        if a.stable_on < a.stable_interval {
            return err("ble.advertising", "stable_on must hold at least one stable_interval");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_budgets_order_by_frugality() {
        BleConfig::default().validate().unwrap();
        assert_eq!(PowerBudget::Balanced.min(PowerBudget::Saver), PowerBudget::Saver);
        assert_eq!(PowerBudget::Balanced.min(PowerBudget::Performance), PowerBudget::Balanced);
        assert_eq!(BleConfig::default().tx_power_cap(PowerBudget::Performance), 8);
        assert_eq!(BleConfig::default().tx_power_cap(PowerBudget::Saver), 0);
    }

    #[test]
    fn out_of_spec_values_are_rejected_with_the_field_named() {
        type Mutation = fn(&mut BleConfig);
        let cases: [(&str, Mutation); 9] = [
            ("ble.profiles", |c| c.profiles[0].min_interval = Duration::from_millis(7)),
            ("ble.profiles", |c| c.profiles[1].min_interval = Duration::from_millis(16)), // not 1.25 ms units
            ("ble.profiles", |c| c.profiles[2].max_interval = Duration::from_secs(5)),
            ("ble.tx_power_max_dbm", |c| c.tx_power_max_dbm = 21),
            ("ble.tx_power_step_db", |c| c.tx_power_step_db = 6),
            ("ble.min_used_channels", |c| c.min_used_channels = 1),
            ("ble.include_interference_below", |c| c.include_interference_below = 0.5),
            ("ble.advertising", |c| c.advertising.burst_interval = Duration::from_millis(19)),
            ("ble.supervision_timeout", |c| c.supervision_timeout = Duration::from_millis(95)),
        ];
        for (field, mutate) in cases {
            let mut c = BleConfig::default();
            mutate(&mut c);
            assert_eq!(c.validate().unwrap_err().field, field, "{c:?}");
        }
    }
}
