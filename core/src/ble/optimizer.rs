//! [`BleOptimizer`]: the memory around the pure decision functions. It measures each
//! link's traffic per evaluation window, smooths channel interference, remembers the last
//! decisions (the hysteresis of the next ones) and hands out each decision once, when it
//! changed, as a [`RadioDecision`].
//!
//! Decisions are coalesced rather than queued: if a link's parameters change twice before
//! the driver polls, only the latest is handed out. Memory is fixed after construction.

use alloc::vec::Vec;

use super::advertising::{AdvertisingSchedule, MeshSituation, advertising_schedule};
use super::channel_map::{ChannelMap, channel_map};
use super::config::{BleConfig, DATA_CHANNELS, PowerBudget};
use super::params::{LinkConditions, LinkParameters, link_parameters};
use crate::{Instant, LinkId};

/// Gain of the per-link load average, per evaluation window.
const LOAD_GAIN: f32 = 1.0 / 4.0;
/// Gain of the per-channel interference average (the first report of a channel is taken
/// as it is).
const INTERFERENCE_GAIN: f32 = 1.0 / 4.0;

/// A decision for the runtime to apply to the radio ([`crate::Output::Radio`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum RadioDecision {
    /// Request these connection parameters and transmit power on a link.
    LinkParameters {
        /// The link.
        link: LinkId,
        /// The parameters.
        params: LinkParameters,
    },
    /// Classify channels for every connection: use only those in the map.
    ChannelMap(ChannelMap),
    /// Advertise on this schedule.
    Advertising(AdvertisingSchedule),
}

#[derive(Clone, Copy, Debug)]
struct LinkSlot {
    link: LinkId,
    decided: Option<LinkParameters>,
    emitted: Option<LinkParameters>,
    /// When the decided connection interval last changed.
    interval_since: Instant,
    /// The budget of the last decision.
    budget: PowerBudget,
    /// Bytes queued in the current window.
    bytes: u64,
    /// Latency-sensitive traffic in the current and the previous window.
    sensitive_now: bool,
    sensitive_before: bool,
    /// Load of the last complete window, bit/s.
    load_bps: u32,
    /// Load averaged over windows (gain [`LOAD_GAIN`]), bit/s.
    smoothed_bps: f32,
}

/// The optimiser's state. Owned by the node; read it through [`crate::Node::ble`].
#[derive(Clone, Debug)]
pub struct BleOptimizer {
    cfg: BleConfig,
    budget: PowerBudget,
    links: Vec<LinkSlot>,
    interference: [f32; DATA_CHANNELS as usize],
    measured: u64,
    map: ChannelMap,
    map_emitted: Option<ChannelMap>,
    /// Whether the node was seeking at the last evaluation, and since when.
    seeking: Option<(bool, Instant)>,
    advertising: Option<AdvertisingSchedule>,
    advertising_emitted: Option<AdvertisingSchedule>,
    window_start: Instant,
    next_evaluation: Instant,
    pending: bool,
}

impl BleOptimizer {
    /// An optimiser for at most `max_links` links; its first evaluation is due at `now`.
    pub fn new(cfg: BleConfig, max_links: usize, now: Instant) -> Self {
        BleOptimizer {
            cfg,
            budget: PowerBudget::default(),
            links: Vec::with_capacity(max_links),
            interference: [0.0; DATA_CHANNELS as usize],
            measured: 0,
            map: ChannelMap::ALL,
            map_emitted: None,
            seeking: None,
            advertising: None,
            advertising_emitted: None,
            window_start: now,
            next_evaluation: now,
            pending: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BleConfig {
        &self.cfg
    }

    /// The budget the application chose.
    pub fn budget(&self) -> PowerBudget {
        self.budget
    }

    /// The budget in force with the battery at `battery` percent: the chosen one, capped at
    /// [`PowerBudget::Saver`] at or under [`BleConfig::low_battery`].
    pub fn effective_budget(&self, battery: Option<u8>) -> PowerBudget {
        match battery {
            Some(level) if level <= self.cfg.low_battery => self.budget.min(PowerBudget::Saver),
            _ => self.budget,
        }
    }

    /// Sets the application's budget.
    pub fn set_budget(&mut self, budget: PowerBudget) {
        self.budget = budget;
    }

    /// The latest parameters decided for `link`.
    pub fn link_parameters(&self, link: LinkId) -> Option<LinkParameters> {
        self.slot(link).and_then(|s| s.decided)
    }

    /// The load measured on `link` over the last complete window, bit/s.
    pub fn load_bps(&self, link: LinkId) -> Option<u32> {
        self.slot(link).map(|s| s.load_bps)
    }

    /// The latest channel map.
    pub fn channel_map(&self) -> ChannelMap {
        self.map
    }

    /// The latest advertising schedule.
    pub fn advertising(&self) -> Option<AdvertisingSchedule> {
        self.advertising
    }

    /// Smoothed interference of `channel` (0 when never measured).
    pub fn interference(&self, channel: u8) -> Option<f32> {
        self.interference.get(usize::from(channel)).copied()
    }

    /// When the next periodic evaluation is due.
    pub fn next_evaluation(&self) -> Instant {
        self.next_evaluation
    }

    pub(crate) fn link_up(&mut self, link: LinkId) {
        if self.slot(link).is_none() && self.links.len() < self.links.capacity() {
            self.links.push(LinkSlot {
                link,
                decided: None,
                emitted: None,
                interval_since: Instant::ZERO,
                budget: PowerBudget::default(),
                bytes: 0,
                sensitive_now: false,
                sensitive_before: false,
                load_bps: 0,
                smoothed_bps: 0.0,
            });
        }
    }

    pub(crate) fn link_down(&mut self, link: LinkId) {
        self.links.retain(|s| s.link != link);
    }

    /// A frame of `len` bytes was queued on `link`. Returns whether the link just became
    /// latency-sensitive (its parameters should be decided again now).
    pub(crate) fn on_queued(&mut self, link: LinkId, len: usize, sensitive: bool) -> bool {
        let Some(slot) = self.links.iter_mut().find(|s| s.link == link) else { return false };
        slot.bytes = slot.bytes.saturating_add(len as u64);
        let newly = sensitive && !slot.sensitive_now && !slot.sensitive_before;
        slot.sensitive_now |= sensitive;
        newly
    }

    /// Records an interference measurement; `level` must be a checked 0..=1 value.
    pub(crate) fn record_interference(&mut self, channel: u8, level: f32) {
        let ch = usize::from(channel);
        if self.measured & (1 << ch) == 0 {
            self.interference[ch] = level;
            self.measured |= 1 << ch;
        } else {
            self.interference[ch] += INTERFERENCE_GAIN * (level - self.interference[ch]);
        }
    }

    /// Whether the periodic evaluation is due; if so, closes the traffic window and
    /// schedules the next one.
    pub(crate) fn start_evaluation(&mut self, now: Instant) -> bool {
        if now < self.next_evaluation {
            return false;
        }
        // A window cut short (the first evaluation, at start-up) counts as a full one, so a
        // burst of hellos is not taken for a high rate.
        let window = (now - self.window_start).max(self.cfg.evaluate_interval);
        for slot in &mut self.links {
            let bps = u128::from(slot.bytes) * 8 * 1_000_000 / window.as_micros();
            slot.load_bps = u32::try_from(bps).unwrap_or(u32::MAX);
            slot.smoothed_bps += LOAD_GAIN * (slot.load_bps as f32 - slot.smoothed_bps);
            slot.bytes = 0;
            slot.sensitive_before = core::mem::take(&mut slot.sensitive_now);
        }
        self.window_start = now;
        self.next_evaluation = now + self.cfg.evaluate_interval;
        true
    }

    /// The traffic part of `link`'s conditions: (latency-sensitive, load). The load is the
    /// larger of the last window's and the average: a rise counts at once, a fall only as
    /// the average follows it, so a load that fluctuates between windows does not make the
    /// interval go back and forth.
    pub(crate) fn traffic(&self, link: LinkId) -> (bool, u32) {
        self.slot(link).map_or((false, 0), |s| {
            (s.sensitive_now || s.sensitive_before, s.load_bps.max(s.smoothed_bps as u32))
        })
    }

    /// Decides `link`'s parameters at `now` from `conditions` (whose `interval_held` this
    /// fills in: a new budget is the application's choice and takes effect at once).
    pub(crate) fn decide_link(&mut self, now: Instant, link: LinkId, conditions: &LinkConditions, budget: PowerBudget) {
        let cfg = &self.cfg;
        let Some(slot) = self.links.iter_mut().find(|s| s.link == link) else { return };
        let held = if slot.decided.is_some() && slot.budget == budget {
            now - slot.interval_since
        } else {
            core::time::Duration::MAX
        };
        slot.budget = budget;
        let conditions = LinkConditions { interval_held: held, ..*conditions };
        let params = link_parameters(cfg, budget, &conditions, slot.decided.as_ref());
        if slot.decided.is_none_or(|d| d.connection_interval != params.connection_interval) {
            slot.interval_since = now;
        }
        slot.decided = Some(params);
        self.pending |= slot.emitted != Some(params);
    }

    /// Decides the node-wide channel map and advertising schedule at `now`.
    pub(crate) fn decide_mesh(&mut self, now: Instant, neighbours: usize, partitioned: bool, budget: PowerBudget) {
        self.map = channel_map(&self.cfg, &self.interference, self.map);
        let seeking = neighbours == 0 || partitioned;
        let since = match self.seeking {
            Some((was, at)) if was == seeking => at,
            _ => now,
        };
        self.seeking = Some((seeking, since));
        let situation = MeshSituation { neighbours, partitioned, since: now - since, budget };
        self.advertising = Some(advertising_schedule(&self.cfg, &situation));
        self.pending |= self.map_emitted != Some(self.map) || self.advertising_emitted != self.advertising;
    }

    /// The next decision not handed out yet: advertising, the channel map, then links in
    /// the order they came up.
    pub(crate) fn poll(&mut self) -> Option<RadioDecision> {
        if !self.pending {
            return None;
        }
        if self.advertising_emitted != self.advertising
            && let Some(a) = self.advertising
        {
            self.advertising_emitted = Some(a);
            return Some(RadioDecision::Advertising(a));
        }
        if self.advertising.is_some() && self.map_emitted != Some(self.map) {
            self.map_emitted = Some(self.map);
            return Some(RadioDecision::ChannelMap(self.map));
        }
        for slot in &mut self.links {
            if let Some(params) = slot.decided
                && slot.emitted != Some(params)
            {
                slot.emitted = Some(params);
                return Some(RadioDecision::LinkParameters { link: slot.link, params });
            }
        }
        self.pending = false;
        None
    }

    fn slot(&self, link: LinkId) -> Option<&LinkSlot> {
        self.links.iter().find(|s| s.link == link)
    }
}
