//! The node's side of routing: its own topology advert, adverts heard, table refresh, the
//! choice of next hop (with handoff), and hop-by-hop forwarding of unicast frames.
//!
//! Adverts list the confirmed links with **quantised** metrics (latency in 5 ms steps,
//! reliability in 16 steps, congestion in quarters, bandwidth in 8 kbit/s steps, RSSI in
//! 5 dB steps) **with hysteresis**: a field keeps its advertised value until the measurement
//! moves by more than a step (latency 5 ms, reliability 24/255, RSSI 8 dB, bandwidth 25 %),
//! so noise around a step boundary does not re-flood the topology and recompute every
//! table. The advert is checked when the set of neighbours changed (at most once per
//! `advert_min_gap`) and every `advert_interval`, and flooded only when its content changed,
//! when nodes joined this node's view of the mesh (they may lack it), or when
//! `advert_refresh` passed since the last flood. It is fed to this node's own router too: a
//! link enters the routing graph only when both its ends advertise it.

use smallvec::SmallVec;
use zerocopy::IntoBytes;
use zerocopy::network_endian::{I16, U16, U32, U64};

use super::Node;
use crate::neighbour::LinkState;
use crate::neighbour::estimator::DEFAULT_CONNECTION_INTERVAL;
use crate::wire::frame::set_ttl_and_hops;
use crate::wire::messages::{LinkEntry, TopologyHeader};
use crate::wire::{Frame, Kind};
use crate::{Destination, Event, Instant, LinkId, NodeId, Priority};

/// Shortest gap between two adverts flooded because nodes joined this node's view: in a
/// forming mesh views grow in waves a few hundred milliseconds apart, and each wave's new
/// nodes must learn this node's links before the views (and the election, which votes
/// within one view) can agree.
pub(super) const WANTED_ADVERT_GAP: core::time::Duration = core::time::Duration::from_secs(1);

/// Most links one advert lists (a BLE device holds about 7).
pub(super) const MAX_ADVERT_LINKS: usize = 16;

pub(super) type AdvertEntries = SmallVec<[LinkEntry; MAX_ADVERT_LINKS]>;

impl Node {
    /// The entries this node would advertise now.
    pub(super) fn own_advert(&self) -> AdvertEntries {
        let window = self.config.link_arq_window.max(1);
        self.links
            .iter()
            .filter(|l| l.is_confirmed())
            .take(MAX_ADVERT_LINKS)
            .map(|l| {
                let before = self.advertised.iter().find(|e| e.neighbour.get() == l.peer.0);
                advert_entry(l, window, before)
            })
            .collect()
    }

    /// When this node's advert is next checked: `advert_min_gap` after the last flood once
    /// the set of neighbours changed, else `advert_interval` after the last check (metric
    /// drift is picked up then) or `advert_refresh` after the last flood, whichever is first.
    /// Once nodes joined this node's view, also `advert_min_gap` after the instant noted for
    /// them (`advert_wanted`), but such floods at most once per [`WANTED_ADVERT_GAP`]. `None`
    /// while there is nothing to advertise or withdraw.
    pub(super) fn next_advert(&self) -> Option<Instant> {
        if self.advert_dirty {
            Some(self.last_advert + self.config.advert_min_gap)
        } else if self.links.confirmed() > 0 || !self.advertised.is_empty() {
            let check = self.last_advert_check + self.config.advert_interval;
            let due = check.min(self.last_advert + self.config.advert_refresh);
            let Some(joined) = self.advert_wanted else { return Some(due) };
            let soon = joined + self.config.advert_min_gap;
            let allowed = self.last_wanted_advert.map_or(soon, |t| soon.max(t + WANTED_ADVERT_GAP));
            Some(due.min(allowed))
        } else {
            None
        }
    }

    /// Checks this node's advert when due, and floods it when its content changed (after
    /// the hysteresis), when nodes joined this node's view, or when `advert_refresh` passed.
    pub(super) fn advertise_if_due(&mut self, now: Instant) {
        if self.next_advert().is_none_or(|due| now < due) {
            return;
        }
        self.advert_dirty = false;
        self.last_advert_check = now;
        let entries = self.own_advert();
        let wanted = self.advert_wanted.take().is_some();
        if wanted {
            self.last_wanted_advert = Some(now);
        }
        let refresh = wanted || now >= self.last_advert + self.config.advert_refresh;
        if entries == self.advertised && !refresh {
            return;
        }
        self.flood_advert(now, entries);
    }

    /// Floods `entries` as this node's advert under the next version (nothing when there is
    /// nothing to advertise or withdraw), and feeds it to this node's own router.
    pub(super) fn flood_advert(&mut self, now: Instant, entries: AdvertEntries) {
        self.last_advert = now;
        if entries.is_empty() && self.advertised.is_empty() {
            return;
        }
        self.advert_version = self.advert_version.wrapping_add(1).max(1);
        let head = TopologyHeader {
            advert_version: U32::new(self.advert_version),
            entry_count: entries.len() as u8,
            reserved: [0; 3],
        };
        let ttl = self.config.max_ttl;
        let body = [head.as_bytes(), entries.as_bytes()];
        if self.originate(Kind::TopologyUpdate, Destination::Broadcast, Priority::High, ttl, &body, None).is_some() {
            self.metrics.adverts_sent += 1;
        }
        let me = self.config.node_id;
        self.router.handle_advert(me, self.advert_version, &entries, now);
        self.advertised = entries;
        self.refresh_routes();
    }

    /// A topology advert from `origin` was accepted; `direct` is the index of the link it
    /// came on when the origin sent it itself (hop count 0). An advert of a neighbour that is
    /// behind the one held (it restarted) is answered with a `Resume` (`resume.rs`).
    pub(super) fn on_topology_update(
        &mut self,
        now: Instant,
        origin: NodeId,
        version: u32,
        entries: &[LinkEntry],
        direct: Option<usize>,
    ) {
        if !self.trusted(origin) {
            return; // an untrusted node's links stay out of every route
        }
        // The table is recomputed lazily (before the next route lookup or timer tick, at most
        // once per `route_holddown`), so a burst of adverts costs one computation.
        let outcome = self.router.handle_advert(origin, version, entries, now);
        if let (crate::routing::lsdb::InsertOutcome::Stale, Some(i)) = (outcome, direct) {
            self.send_resume(now, i);
        }
    }

    /// Ages adverts out and recomputes the table if the topology changed.
    pub(super) fn expire_routes(&mut self, now: Instant) {
        if self.router.expire(now) > 0 {
            self.refresh_routes();
        }
    }

    /// When a pending recomputation of the routing table is due (the topology changed since
    /// the last one): `route_holddown` after the last computation. `None`: table current.
    pub(super) fn next_route_computation(&self) -> Option<Instant> {
        if !self.router.is_stale() {
            return None;
        }
        Some(self.last_route_computation.map_or(self.now, |last| last + self.config.route_holddown))
    }

    /// Recomputes the routing table if the topology version moved and the hold-down since
    /// the last computation passed; tells the application. Until then lookups use the
    /// previous table, whose next hops are only taken while their link is confirmed.
    pub(super) fn refresh_routes(&mut self) {
        if self.next_route_computation().is_none_or(|due| self.now < due) {
            return;
        }
        if self.router.refresh() {
            self.last_route_computation = Some(self.now);
            self.metrics.route_computations += 1;
            let topology_version = self.router.lsdb().topology_version();
            self.outbox.push_event(Event::RoutesChanged { topology_version }, &mut self.metrics);
            self.on_topology_changed(self.now);
            self.flows_on_topology();
            self.advise_links();
        }
    }

    /// The link towards `dest` at `priority`: the primary next hop's, or the backup's when
    /// the primary link is predicted to fail (RSSI trend), when the link forecasts rank the
    /// backup higher (`outlook.rs`), or when the primary is not usable. `None`: no route.
    pub(super) fn route_link(&self, dest: NodeId, priority: Priority, avoid: Option<LinkId>) -> Option<usize> {
        let entry = self.router.route(dest, priority)?;
        let usable = |hop: NodeId| {
            self.links
                .index_of_peer(hop)
                .filter(|i| Some(self.links.at(*i).link) != avoid)
        };
        let primary = entry.primary.and_then(|r| usable(r.next_hop));
        let backup = entry.backup.and_then(|r| usable(r.next_hop));
        // Either rule may ask to leave the primary for the backup: the primary link's RSSI
        // trend, or the forecasts ranking the backup higher. The switch is loop-free only
        // towards a downstream backup (`outlook.rs`), whichever rule asks.
        let leave_primary = |p: usize| match (entry.primary, entry.backup) {
            (Some(r), Some(b)) => {
                (self.predicted_to_fail(self.links.at(p)) || self.prefers_backup(&r, &b))
                    && self.is_downstream(&r, &b, priority)
            }
            _ => false,
        };
        match (primary, backup) {
            (Some(p), Some(b)) if leave_primary(p) => Some(b),
            (Some(p), _) => Some(p),
            (None, b) => b,
        }
    }

    /// Whether a link's RSSI, extrapolated along its trend, falls below the handoff level.
    fn predicted_to_fail(&self, link: &LinkState) -> bool {
        let Some(rssi) = link.estimator.rssi() else { return false };
        let ahead = rssi + link.estimator.rssi_trend() * self.config.handoff_horizon.as_secs_f32();
        ahead < f32::from(self.config.handoff_rssi_dbm)
    }

    /// Forwards a unicast frame not addressed to this node along its route. Returns false
    /// when there is no usable route (the caller floods it instead).
    pub(super) fn forward(&mut self, now: Instant, from: LinkId, frame: &Frame<'_>, bytes: &[u8]) -> bool {
        self.refresh_routes();
        let header = frame.header();
        let Destination::Node(dest) = header.destination() else { return false };
        let ttl = header.ttl.min(self.config.max_ttl);
        if ttl <= 1 {
            self.metrics.ttl_expired += 1;
            return true;
        }
        let priority = header.priority();
        let Ok(pinned) = self.police_flow_frame(now, frame, bytes.len()) else { return true };
        let Some(i) = pinned.or_else(|| self.route_link(dest, priority, Some(from))) else { return false };
        let mut copy = core::mem::take(&mut self.scratch);
        copy.clear();
        copy.extend_from_slice(bytes);
        set_ttl_and_hops(&mut copy, ttl - 1, header.hops.saturating_add(1));
        if self.send_reliably(i, frame.message_id(), &copy) {
            self.metrics.forwarded += 1;
            self.router.record_use(dest, priority, now);
        }
        self.scratch = copy;
        true
    }
}

/// One confirmed link as advertised: metrics quantised, each kept at its value in
/// `before` (the last advert) while the measurement stays within a step of it.
fn advert_entry(l: &LinkState, window: usize, before: Option<&LinkEntry>) -> LinkEntry {
    let e = &l.estimator;
    let raw_latency = e.rtt().map_or(DEFAULT_CONNECTION_INTERVAL, |rtt| rtt / 2).as_millis().min(u128::from(u16::MAX)) as i64;
    let raw_reliability = i64::from((e.reliability() * 255.0) as u8);
    let raw_bandwidth = i64::from((e.bandwidth_bps() / 1000).min(u32::from(u16::MAX)));
    let raw_rssi = e.rssi().map(|r| r as i64);
    let keep = |old: i64, raw: i64, margin: i64| (raw - old).abs() <= margin;
    // A link's one-way latency moves by up to a connection interval with the phase at which
    // a frame meets the next connection event: differences within one interval are noise
    // (re-advertising them recomputed every table of the mesh several times a second).
    let interval_ms = l.interval.unwrap_or(DEFAULT_CONNECTION_INTERVAL).as_millis().min(1000) as i64;
    let latency_ms = match before.map(|b| i64::from(b.latency_ms.get())) {
        Some(old) if keep(old, raw_latency, interval_ms.max(5)) => old as u16,
        _ => ((raw_latency as u64).div_ceil(5) * 5).clamp(5, u64::from(u16::MAX)) as u16,
    };
    let reliability = match before.map(|b| i64::from(b.reliability)) {
        Some(old) if keep(old, raw_reliability, 24) => old as u8,
        _ => (raw_reliability as u8 & 0xF0).max(0x0F),
    };
    let bandwidth_kbps = match before.map(|b| i64::from(b.bandwidth_kbps.get())) {
        Some(old) if keep(old, raw_bandwidth, old / 4) => old as u16,
        _ => (raw_bandwidth as u16) & !7,
    };
    let rssi = match (before.map(|b| i64::from(b.rssi.get())), raw_rssi) {
        (_, None) => 0,
        (Some(old), Some(raw)) if old != 0 && keep(old, raw, 8) => old as i16,
        (_, Some(raw)) => ((raw / 5) * 5) as i16,
    };
    let congestion = ((l.arq.unacked.len() * 4 / window).min(3) * 85) as u8;
    LinkEntry {
        neighbour: U64::new(l.peer.0),
        latency_ms: U16::new(latency_ms),
        reliability,
        congestion,
        bandwidth_kbps: U16::new(bandwidth_kbps),
        rssi: I16::new(rssi),
    }
}
