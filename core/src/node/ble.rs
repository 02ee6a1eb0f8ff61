//! The node's side of BLE optimisation: it feeds the [`BleOptimizer`] what the node knows
//! (link RSSI and loss from the estimators, traffic from the transmit path, neighbours and
//! partitions, the battery) and its decisions come out of [`Node::poll_output`] as
//! [`crate::Output::Radio`].
//!
//! A link's parameters are decided when it comes up, when the runtime reports new radio
//! properties, when latency-sensitive traffic first appears on it, and at every periodic
//! evaluation ([`crate::ble::BleConfig::evaluate_interval`]); the channel map and the
//! advertising schedule at every periodic evaluation. Interference reports are only
//! recorded when they arrive, so a sweep over all channels yields one channel-map decision.

use zerocopy::FromBytes;

use super::Node;
use crate::ble::{BleOptimizer, DATA_CHANNELS, LinkConditions, PowerBudget};
use crate::wire::{FrameHeader, Kind};
use crate::{Error, Instant, LinkId, Priority};

impl Node {
    /// The BLE optimiser: its latest decisions, measured load and interference.
    pub fn ble(&self) -> &BleOptimizer {
        &self.ble
    }

    /// Sets how much energy the radio may spend. Every link, the channel map and the
    /// advertising schedule are decided again at once. A battery at or under
    /// [`crate::ble::BleConfig::low_battery`] ([`Node::set_battery`]) still caps the budget
    /// at [`PowerBudget::Saver`].
    pub fn set_power_budget(&mut self, now: Instant, budget: PowerBudget) -> Result<(), Error> {
        self.advance(now)?;
        if !self.config.ble.enabled {
            return Err(Error::BleDisabled);
        }
        self.ble.set_budget(budget);
        self.decide_mesh(now);
        for i in 0..self.links.len() {
            self.decide_link(i);
        }
        Ok(())
    }

    /// The radio measured interference on data `channel` (0..=36): `level` is the share of
    /// time or of packets it was found busy or corrupted (0..=1), e.g. a controller's
    /// per-channel packet error rate or energy-detect ratio. Measurements are smoothed per
    /// channel; the channel map is decided at the next periodic evaluation.
    pub fn report_channel_interference(&mut self, now: Instant, channel: u8, level: f32) -> Result<(), Error> {
        self.advance(now)?;
        if !self.config.ble.enabled {
            return Err(Error::BleDisabled);
        }
        if channel >= DATA_CHANNELS {
            return Err(Error::InvalidChannel(channel));
        }
        if !(0.0..=1.0).contains(&level) {
            return Err(Error::InvalidInterference(channel));
        }
        self.ble.record_interference(channel, level);
        Ok(())
    }

    /// Link `i` came up (call after inserting it).
    pub(super) fn ble_link_up(&mut self, i: usize) {
        if self.config.ble.enabled {
            self.ble.link_up(self.links.at(i).link);
            self.decide_link(i);
        }
    }

    /// Link `link` went down.
    pub(super) fn ble_link_down(&mut self, link: LinkId) {
        self.ble.link_down(link);
    }

    /// The runtime reported new radio properties of link `link`.
    pub(super) fn ble_link_report(&mut self, link: LinkId) {
        if let Some(i) = self.links.index(link) {
            self.decide_link(i);
        }
    }

    /// `frame` was queued on link `i`: counts its load; critical and high-priority
    /// application traffic makes the link latency-sensitive.
    pub(super) fn ble_note_queued(&mut self, i: usize, frame: &[u8]) {
        if !self.config.ble.enabled {
            return;
        }
        let sensitive = FrameHeader::ref_from_prefix(frame).is_ok_and(|(h, _)| {
            matches!(Kind::from_u8(h.kind), Some(Kind::GameData | Kind::Ack)) && h.priority() <= Priority::High
        });
        if self.ble.on_queued(self.links.at(i).link, frame.len(), sensitive) {
            self.decide_link(i);
        }
    }

    /// The periodic evaluation, when due.
    pub(super) fn ble_timeout(&mut self, now: Instant) {
        if !self.config.ble.enabled || !self.ble.start_evaluation(now) {
            return;
        }
        self.decide_mesh(now);
        for i in 0..self.links.len() {
            self.decide_link(i);
        }
    }

    /// When the next periodic evaluation is due (none when disabled).
    pub(super) fn ble_deadline(&self) -> Option<Instant> {
        self.config.ble.enabled.then(|| self.ble.next_evaluation())
    }

    fn budget(&self) -> PowerBudget {
        self.ble.effective_budget(self.battery)
    }

    fn decide_mesh(&mut self, now: Instant) {
        let budget = self.budget();
        let (neighbours, partitioned) = (self.links.confirmed(), self.partitions.is_partitioned());
        self.ble.decide_mesh(now, neighbours, partitioned, budget);
    }

    fn decide_link(&mut self, i: usize) {
        if !self.config.ble.enabled {
            return;
        }
        let budget = self.budget();
        let state = self.links.at(i);
        let (latency_sensitive, load_bps) = self.ble.traffic(state.link);
        let conditions = LinkConditions {
            rssi_dbm: state.estimator.rssi().map(|r| libm::roundf(r).clamp(-128.0, 127.0) as i8),
            loss: 1.0 - state.estimator.reliability(),
            latency_sensitive,
            load_bps,
            mtu: state.mtu,
            interval_held: core::time::Duration::MAX, // the optimiser knows
        };
        let link = state.link;
        self.ble.decide_link(self.now, link, &conditions, budget);
    }
}
