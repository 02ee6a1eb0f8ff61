//! Duty-cycled advertising: fast while the node seeks peers, slow once its mesh is stable.
//!
//! A node **seeks** while it has no confirmed neighbour or its mesh is partitioned.
//! [`advertising_schedule`] maps how long the node has been seeking (or settled) to a mode:
//!
//! | situation | mode | interval | duty |
//! |---|---|---|---|
//! | seeking, for less than `burst_for` | [`AdvertisingMode::Burst`] | `burst_interval` | continuous |
//! | seeking, longer | [`AdvertisingMode::Searching`] | `searching_interval` | continuous |
//! | settled, for less than `settle_after` | [`AdvertisingMode::Searching`] | `searching_interval` | continuous |
//! | settled, longer | [`AdvertisingMode::Stable`] | `stable_interval` | `stable_on` every `stable_period` |
//!
//! The settling time is the hysteresis: a neighbour that comes and goes does not toggle
//! the node between fast and slow advertising. Under [`PowerBudget::Saver`] the searching
//! and stable intervals double and the stable advertising time halves (but still holds one
//! interval); under
//! [`PowerBudget::Performance`] a stable node advertises continuously.

use core::time::Duration;

use super::config::{BleConfig, PowerBudget};
use super::spec::AdvertisingInterval;

/// The pace of advertising.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum AdvertisingMode {
    /// Just started seeking: as fast as configured.
    Burst,
    /// Seeking past the burst, or settling.
    Searching,
    /// Settled in a whole mesh: slow and duty-cycled, so that newcomers still find it.
    Stable,
}

/// When and how often to advertise: every `interval` during the first `on` of each
/// `period` (continuously when `on == period`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub struct AdvertisingSchedule {
    /// Why this pace.
    pub mode: AdvertisingMode,
    /// Advertising interval.
    pub interval: AdvertisingInterval,
    /// Advertising time per period.
    pub on: Duration,
    /// The duty-cycle period.
    pub period: Duration,
}

impl AdvertisingSchedule {
    /// Whether advertising never pauses.
    pub fn is_continuous(&self) -> bool {
        self.on >= self.period
    }

    /// Share of time spent advertising, in thousandths.
    pub fn duty_permille(&self) -> u16 {
        if self.period.is_zero() {
            return 1000;
        }
        u16::try_from((self.on.as_micros() * 1000 / self.period.as_micros()).min(1000)).unwrap_or(1000)
    }
}

/// What the node's neighbourhood looks like to the advertising decision.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MeshSituation {
    /// Confirmed neighbours.
    pub neighbours: usize,
    /// Whether members of this node's component became unreachable.
    pub partitioned: bool,
    /// How long the node has been seeking, or settled, as it is now.
    pub since: Duration,
    /// The power budget in force.
    pub budget: PowerBudget,
}

impl MeshSituation {
    /// Whether the node is looking for peers.
    pub fn seeking(&self) -> bool {
        self.neighbours == 0 || self.partitioned
    }
}

/// Decides the advertising schedule. Pure; the interval is always within 20 ms..=10.24 s
/// and `on` within `0 < on <= period`.
pub fn advertising_schedule(cfg: &BleConfig, s: &MeshSituation) -> AdvertisingSchedule {
    let a = &cfg.advertising;
    let saver = s.budget == PowerBudget::Saver;
    let slower = |d: Duration| AdvertisingInterval::at_most(if saver { d * 2 } else { d });
    let continuous = |mode, interval| AdvertisingSchedule { mode, interval, on: a.stable_period, period: a.stable_period };
    let mode = match (s.seeking(), s.since) {
        (true, t) if t < a.burst_for => AdvertisingMode::Burst,
        (false, t) if t >= a.settle_after => AdvertisingMode::Stable,
        _ => AdvertisingMode::Searching,
    };
    match mode {
        AdvertisingMode::Burst => continuous(mode, AdvertisingInterval::at_most(a.burst_interval)),
        AdvertisingMode::Searching => continuous(mode, slower(a.searching_interval)),
        AdvertisingMode::Stable => {
            let interval = slower(a.stable_interval);
            let on = match s.budget {
                PowerBudget::Performance => a.stable_period,
                PowerBudget::Balanced => a.stable_on,
                // Half the time, but still long enough for one advertisement.
                PowerBudget::Saver => (a.stable_on / 2).max(interval.as_duration()).min(a.stable_period),
            };
            AdvertisingSchedule { mode, interval, on, period: a.stable_period }
        }
    }
}
