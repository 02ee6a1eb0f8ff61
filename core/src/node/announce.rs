//! This node's announcement: what it floods about itself (capabilities, battery, processing
//! power, uptime, connections) and when.
//!
//! **Schedule** (`docs/PROTOCOL.md` §6.1). An announcement is flooded
//!
//! * at once on this node's first confirmed link, and on a later new link when the new
//!   neighbour was not already in this node's component (the link joins nodes that may
//!   never have heard it), at most once per [`ANNOUNCE_MIN_GAP`];
//! * when what it says changed materially ([`AnnouncedFacts::differs_materially`]): the
//!   capabilities, the processing power, the battery becoming known or unknown, or the
//!   battery moving [`BATTERY_ANNOUNCE_STEP`] points or more from the level last announced
//!   (uptime and the connection count are not reasons: they change all the time, and
//!   neighbours see the connection count in every heartbeat); at most once per
//!   [`ANNOUNCE_MIN_GAP`];
//! * otherwise as a refresh, [`crate::Config::announce_interval`] after the previous one
//!   less a pseudo-random part of up to a tenth of it ([`ANNOUNCE_JITTER_DIVISOR`]; a hash
//!   of the node's seed and sequence number), so that nodes that started together do not
//!   flood together.
//!
//! Liveness does not depend on announcements alone: any flooded frame a node originated
//! refreshes its registry entry when accepted, adverts included (see `receive.rs`).

use core::time::Duration;

use zerocopy::IntoBytes;
use zerocopy::network_endian::{U16, U32};

use super::Node;
use crate::wire::Kind;
use crate::wire::messages::{Announcement, BATTERY_UNKNOWN};
use crate::{Destination, Instant, NodeId, Priority};

/// Shortest gap between two announcements triggered by new neighbours or changes.
pub(super) const ANNOUNCE_MIN_GAP: Duration = Duration::from_secs(1);

/// A battery level this many percentage points away from the one last announced is a
/// material change: announced at once (rate-limited by [`ANNOUNCE_MIN_GAP`]). Routing weighs
/// battery in 10-point steps and the election priority by a tenth of the level, so 5 points
/// keep both within half a step of the truth.
pub(crate) const BATTERY_ANNOUNCE_STEP: u8 = 5;

/// The refresh is advanced by a random part of up to `announce_interval / 10`.
pub(super) const ANNOUNCE_JITTER_DIVISOR: u32 = 10;

/// The content of an announcement that, when it changes materially, is flooded at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct AnnouncedFacts {
    capabilities: u16,
    processing_power: u16,
    battery: Option<u8>,
}

impl AnnouncedFacts {
    /// Whether `now` should be announced although `self` was: capabilities or processing
    /// power differ, the battery became known or unknown, or it moved by at least
    /// [`BATTERY_ANNOUNCE_STEP`] points.
    pub(super) fn differs_materially(&self, now: &AnnouncedFacts) -> bool {
        let battery = match (self.battery, now.battery) {
            (Some(a), Some(b)) => a.abs_diff(b) >= BATTERY_ANNOUNCE_STEP,
            (a, b) => a.is_some() != b.is_some(),
        };
        self.capabilities != now.capabilities || self.processing_power != now.processing_power || battery
    }
}

impl Node {
    /// What this node would announce now (apart from uptime and connections).
    fn announced_facts(&self) -> AnnouncedFacts {
        AnnouncedFacts {
            capabilities: self.config.capabilities,
            processing_power: self.config.processing_power,
            battery: self.battery,
        }
    }

    /// Floods the announcement when it is due and this node has a confirmed link; either
    /// way the next refresh is scheduled.
    pub(super) fn announce_if_due(&mut self, now: Instant) {
        if now < self.next_announce {
            return;
        }
        if self.links.confirmed() > 0 {
            self.announce(now);
        } else {
            self.next_announce = now + self.announce_period();
        }
    }

    /// The delay to the next refresh: `announce_interval` less up to a tenth of it, at random.
    ///
    /// The random part is a splitmix64 hash ([`crate::mix`]) of the node's seed and its next frame sequence
    /// number (which moves with every frame it originates), not a draw from the node's
    /// generator: deterministic all the same, and the generator's stream (relay jitter,
    /// heartbeat jitter, election timeouts) stays what it would be without announcements.
    fn announce_period(&self) -> Duration {
        let interval = self.config.announce_interval;
        let max = crate::time::duration_micros(interval / ANNOUNCE_JITTER_DIVISOR);
        if max == 0 {
            return interval;
        }
        let z = self.config.seed ^ 0xa110_0000_0000 ^ u64::from(self.seq).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        interval - Duration::from_micros(crate::mix::splitmix64(z) % max)
    }

    /// Asks for an announcement soon: at `now`, or [`ANNOUNCE_MIN_GAP`] after the last one.
    fn announce_soon(&mut self, now: Instant) {
        let soon = (self.last_announce + ANNOUNCE_MIN_GAP).max(now);
        self.next_announce = self.next_announce.min(soon);
    }

    /// A link to `peer` was confirmed: introduce this node (and its public key) to the new
    /// neighbour's side of the mesh, at once on the first link, soon on a later one that
    /// reaches nodes outside this node's component.
    pub(super) fn announce_for_new_link(&mut self, now: Instant, peer: NodeId) {
        if self.links.confirmed() == 1 {
            self.next_announce = now;
        } else if !self.components.same_component(self.config.node_id, peer) {
            self.announce_soon(now);
        }
    }

    /// What this node announces may have changed (the battery was set): if it differs
    /// materially from the last announcement, one is flooded soon.
    pub(super) fn announce_if_changed(&mut self) {
        let Some(last) = self.announced else { return };
        if last.differs_materially(&self.announced_facts()) {
            self.announce_soon(self.now);
        }
    }

    /// Floods this node's announcement and schedules the next refresh.
    pub(super) fn announce(&mut self, now: Instant) {
        let body = Announcement {
            capabilities: U16::new(self.config.capabilities),
            battery: self.battery.unwrap_or(BATTERY_UNKNOWN),
            connections: u8::try_from(self.links.confirmed()).unwrap_or(u8::MAX),
            uptime_secs: U32::new(u32::try_from((now - self.started).as_secs()).unwrap_or(u32::MAX)),
            processing_power: U16::new(self.config.processing_power),
            reserved: U16::new(0),
        };
        let ttl = self.config.max_ttl;
        let (kind, prio) = (Kind::Announcement, Priority::Background);
        if self.originate(kind, Destination::Broadcast, prio, ttl, &[body.as_bytes()], None).is_some() {
            self.metrics.announcements_sent += 1;
        }
        self.announced = Some(self.announced_facts());
        self.last_announce = now;
        self.next_announce = now + self.announce_period();
    }
}
