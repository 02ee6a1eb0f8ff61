//! Everything measured during a run: messages and their deliveries, neighbour events,
//! connectivity, memory and radio counters. All deterministic; the report reads it.
//!
//! Messages are tracked per origin in a window indexed by sequence number (the core numbers
//! each origin's frames consecutively). A message is written off `delivery_horizon_s` after
//! it was sent: what arrived by then counts, later arrivals are counted as late. Memory per
//! node stays bounded however long the run. Each message also records which labelling of the
//! usable-link graph held when it was sent (`crate::reachability`): its receivers then
//! joined to the sender are its *reachable* ones, and deliveries to them are counted apart.
//! Which receivers delivered is kept per message (one bit each), so that each reachable one
//! missed is given its cause when the message is written off (`crate::loss`).

use std::collections::{BTreeMap, HashSet, VecDeque};

use blemesh_core::{Event, Metrics, Node, NodeId, Priority};

use crate::engine::{Device, Engine, us};
use crate::histogram::Histogram;
use crate::loss::{Facts, LossCounts};
use crate::reachability::Reachability;
use crate::queue::SimEvent;
use crate::scenario::Scenario;
use crate::timeline::Timeline;

/// Buckets of the delivery-over-time series.
pub const SERIES_BUCKETS: usize = 60;

#[derive(Clone, Debug)]
struct Rec {
    sent_at: u64,
    /// The sender's device index.
    from: u32,
    /// The receiver of a unicast.
    to: Option<u32>,
    /// Receivers that delivered it in time: bit `i` for device `i`, bit 0 for a unicast's
    /// receiver (allocated at the first delivery).
    got: Vec<u64>,
    /// The sender's identity had been forged on an open mesh before the send.
    impersonated: bool,
    /// [`crate::loss::Evidence`] bits: how copies of it were seen lost in the radio.
    evidence: u8,
    priority: Priority,
    expected: u32,
    delivered: u32,
    /// The usable-link labelling at the send (`crate::reachability`).
    snapshot: u32,
    /// Expected receivers joined to the sender by usable links at the send.
    reachable: u32,
    /// On-time deliveries to those receivers.
    delivered_reachable: u32,
    /// When the last of those deliveries happened, µs.
    last_reachable_at: u64,
}

impl Rec {
    /// Records that `receiver` delivered it; whether it was the first time.
    fn mark(&mut self, receiver: u32, devices: usize) -> bool {
        let bit = if self.to.is_some() { 0 } else { receiver as usize };
        if self.got.is_empty() {
            self.got = vec![0; if self.to.is_some() { 1 } else { devices.div_ceil(64) }];
        }
        let Some(word) = self.got.get_mut(bit / 64) else { return false };
        let first = *word & (1 << (bit % 64)) == 0;
        *word |= 1 << (bit % 64);
        first
    }

    /// Whether `receiver` delivered it in time.
    fn got_from(&self, receiver: u32) -> bool {
        let bit = if self.to.is_some() { 0 } else { receiver as usize };
        self.got.get(bit / 64).is_some_and(|w| w & (1 << (bit % 64)) != 0)
    }
}

/// One message sent, as the workload reports it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sent {
    /// When, µs.
    pub at: u64,
    /// The sender's device index.
    pub from: u32,
    /// Its sequence number.
    pub seq: u32,
    /// Its priority.
    pub priority: Priority,
    /// Receivers expected.
    pub expected: u32,
    /// The receiver of a unicast (`None`: a broadcast).
    pub to: Option<u32>,
    /// The usable-link labelling at the send.
    pub snapshot: u32,
    /// Expected receivers joined to the sender in it.
    pub reachable: u32,
    /// The sender's identity had been forged on an open mesh before the send.
    pub impersonated: bool,
}

#[derive(Clone, Debug, Default)]
struct MsgLog {
    base: u32,
    started: bool,
    entries: VecDeque<Option<Rec>>,
    /// First sequence number logged since `started`.
    first: u32,
    /// `(first, count)` of the sequence numbers an origin used before its log restarted
    /// (it powered off, or its sequence numbers jumped): a late delivery of one of them is
    /// a message written off, not a forgery.
    retired: Vec<(u32, u32)>,
}

impl MsgLog {
    /// Ends the current run of sequence numbers; returns its records still open.
    fn retire(&mut self) -> Vec<Rec> {
        if self.started {
            let count = self.base.wrapping_add(self.entries.len() as u32).wrapping_sub(self.first);
            if count > 0 {
                self.retired.push((self.first, count));
            }
        }
        self.started = false;
        self.entries.drain(..).flatten().collect()
    }

    /// Whether `seq` was logged before the log restarted.
    fn was_retired(&self, seq: u32) -> bool {
        self.retired.iter().any(|&(first, count)| seq.wrapping_sub(first) < count)
    }
}

/// Per-priority message accounting.
#[derive(Clone, Debug, Default)]
pub struct PriorityStats {
    /// Sends attempted.
    pub offered: u64,
    /// Sends the core refused (no neighbour, queue full).
    pub rejected: u64,
    /// Unicast sends accepted.
    pub unicast: u64,
    /// Broadcast sends accepted.
    pub broadcast: u64,
    /// Receivers expected, summed over written-off messages.
    pub expected: u64,
    /// Receivers reached within the horizon.
    pub delivered: u64,
    /// Expected receivers that usable links joined to the sender at the send.
    pub reachable: u64,
    /// Of those, the ones reached within the horizon.
    pub delivered_reachable: u64,
    /// Reachable receivers missed, by cause.
    pub lost: LossCounts,
    /// Deliveries after the horizon.
    pub late: u64,
    /// Latency of on-time deliveries, µs.
    pub latency: Histogram,
    /// Broadcasts only: latency of the first on-time delivery at each reachable receiver, µs.
    pub broadcast_latency: Histogram,
    /// Broadcasts that reached every reachable receiver in time: latency to the last, µs.
    pub broadcast_to_all: Histogram,
    /// Broadcasts with reachable receivers that missed at least one of them.
    pub broadcast_not_all: u64,
}

/// One bucket of the delivery-over-time series (by send time).
#[derive(Clone, Debug, Default)]
pub struct SeriesBucket {
    /// Messages sent.
    pub sent: u64,
    /// Receivers expected.
    pub expected: u64,
    /// Receivers reached.
    pub delivered: u64,
    /// Live devices at the last sample in the bucket.
    pub alive: u32,
    /// Connected components of the confirmed-neighbour graph at the last sample.
    pub components: u32,
}

/// Radio counters.
#[derive(Clone, Debug, Default)]
pub struct RadioStats {
    /// PDUs written by nodes into link queues.
    pub pdus_queued: u64,
    /// PDUs delivered over the air.
    pub pdus_carried: u64,
    /// Packet attempts that failed and were retried.
    pub retransmissions: u64,
    /// PDUs dropped because a link's radio queue was full.
    pub radio_queue_drops: u64,
    /// PDUs lost in queues or in flight when their link broke.
    pub lost_on_break: u64,
    /// Connections opened.
    pub links_opened: u64,
    /// Connections broken.
    pub links_broken: u64,
    /// Airtime used by connection events, µs.
    pub airtime_us: u64,
    /// Connection events with traffic.
    pub connection_events: u64,
    /// PDUs a blackhole node swallowed.
    pub blackholed: u64,
    /// Longest radio queue seen at a sample.
    pub max_radio_queue: usize,
    /// Connection-parameter updates a central's core asked for (with
    /// `radio.adopt_connection_parameters`).
    pub connection_updates_requested: u64,
    /// Connection intervals changed at their update instant.
    pub connection_updates: u64,
}

/// Byzantine counters.
#[derive(Clone, Debug, Default)]
pub struct ByzantineStats {
    /// Frames replayed.
    pub replays_sent: u64,
    /// Forged frames sent.
    pub forged_sent: u64,
    /// Deliveries of messages no live origin sent (forgeries, earlier incarnations).
    pub unknown_deliveries: u64,
    /// Deliveries of an `(origin, seq)` a receiver had already been given (with a replaying
    /// node in the scenario; otherwise not tracked).
    pub replays_accepted: u64,
}

/// Largest values seen at samples.
#[derive(Clone, Debug, Default)]
pub struct MemoryStats {
    /// Largest `buffer_bytes` of any node.
    pub max_buffer_bytes: usize,
    /// Sum of `buffer_bytes` over nodes at the last sample, and the node count.
    pub last_total: (usize, usize),
    /// Peak of each occupancy field over nodes and samples, in `Occupancy` order.
    pub peak: [usize; 9],
}

/// Routing counters and end-to-end acknowledged delivery (core [`Metrics`], summed), and
/// route convergence instants.
#[derive(Clone, Debug, Default)]
pub struct RoutingStats {
    /// Unicast frames forwarded along a route.
    pub forwarded: u64,
    /// Unicast frames flooded for want of a route.
    pub flood_fallbacks: u64,
    /// Routing table recomputations.
    pub route_computations: u64,
    /// Topology adverts sent.
    pub adverts_sent: u64,
    /// End-to-end acknowledgements sent.
    pub acks_sent: u64,
    /// Acknowledged delivery per priority.
    pub delivery: [blemesh_core::DeliveryStats; 4],
    /// First sample, once the mesh is connected, at which every live node had a route to
    /// every other live node, µs.
    pub complete_at: Option<u64>,
    /// Same, first sample after the last heal with the mesh connected again, µs.
    pub complete_after_heal_at: Option<u64>,
}

/// Everything gathered.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    horizon: u64,
    bucket: u64,
    logs: Vec<MsgLog>,
    /// When each device last powered off, µs.
    off_at: Vec<Option<u64>>,
    /// Per priority, in [`Priority::ALL`] order.
    pub priority: [PriorityStats; 4],
    /// Delivery over time.
    pub series: Vec<SeriesBucket>,
    /// Radio counters.
    pub radio: RadioStats,
    /// Byzantine counters.
    pub byzantine: ByzantineStats,
    /// Memory peaks.
    pub memory: MemoryStats,
    /// Core events by kind: up, degraded, recovered, lost.
    pub neighbour_events: [u64; 4],
    /// Degradations by reason: missed heartbeats, poor quality.
    pub degraded_reasons: [u64; 2],
    /// Instant of the first scripted disruption, µs.
    pub first_disruption: u64,
    /// Last `NeighbourUp` before the first disruption, µs.
    pub last_up_before_disruption: Option<u64>,
    /// First sample with one connected component, µs.
    pub connected_at: Option<u64>,
    /// Most components at any sample once the mesh had first been connected.
    pub max_components: u32,
    /// Cuts and heals: `(at, is_heal)`.
    pub cuts: Vec<(u64, bool)>,
    /// First sample with one component after the last heal, µs.
    pub reconnected_at: Option<u64>,
    /// Departures and rejoins.
    pub churn: (u64, u64),
    /// API errors returned by the core, by kind.
    pub api_errors: BTreeMap<String, u64>,
    /// Core drop counters summed over nodes (and departed incarnations).
    pub core_drops: BTreeMap<&'static str, u64>,
    /// Core relay counters summed: relayed, suppressed, TTL expired.
    pub core_relays: (u64, u64, u64),
    /// Resume notices sent, and notices that moved a node's counters (summed core counters).
    pub resumes: (u64, u64),
    /// Links skipped by relays because covering neighbours relayed first (summed).
    pub relay_targets_pruned: u64,
    /// Flood relays along source trees, and those that fell back to jitter and pruning
    /// (summed core counters).
    pub tree_relays: (u64, u64),
    /// Routing counters and end-to-end acknowledged delivery, summed over nodes.
    pub routing: RoutingStats,
    /// Security rejections by reason (core `Metrics::security`, summed).
    pub security_drops: BTreeMap<&'static str, u64>,
    /// Node ids of outsiders (`forge` nodes of a secured mesh).
    pub outsiders: HashSet<NodeId>,
    /// Whether each device (by index) is an outsider; outsiders accepting each other's
    /// frames is their own mesh at work, not a breach.
    pub outsider_devices: Vec<bool>,
    /// Frames of outsiders that honest nodes acted on: neighbour confirmations of an outsider
    /// and deliveries of messages originated by one.
    pub outsider_accepted: u64,
    /// `(receiver, origin index, seq)` of every delivery, when replays are to be detected.
    pub delivered_once: Option<HashSet<(u32, u32, u32)>>,
    /// Election and partition timeline.
    pub timeline: Timeline,
    /// Core election counters, summed over nodes (and departed incarnations).
    pub election: blemesh_core::election::ElectionMetrics,
    /// Why nodes reported `Partitioned`; kept in runs with Byzantine nodes only.
    pub partition_causes: Option<crate::partition_causes::PartitionCauses>,
}

impl Stats {
    /// Empty statistics for `s`.
    pub fn new(s: &Scenario) -> Self {
        let end = us(s.duration_s);
        Stats {
            horizon: us(s.delivery_horizon_s),
            bucket: end.div_ceil(SERIES_BUCKETS as u64).max(1),
            logs: vec![MsgLog::default(); s.nodes],
            off_at: vec![None; s.nodes],
            series: vec![SeriesBucket::default(); SERIES_BUCKETS],
            first_disruption: us(s.first_disruption_s()),
            timeline: Timeline::new(end),
            delivered_once: s
                .byzantine
                .iter()
                .any(|b| b.behaviour == crate::scenario::Behaviour::Replay)
                .then(HashSet::new),
            partition_causes: (!s.byzantine.is_empty()).then(|| crate::partition_causes::PartitionCauses::new(s.nodes)),
            ..Stats::default()
        }
    }

    pub(crate) fn start(&mut self, devices: &[Device]) {
        self.logs = vec![MsgLog::default(); devices.len()];
        self.outsider_devices = devices.iter().map(|d| self.outsiders.contains(&d.id)).collect();
        self.timeline.start(devices, &self.outsider_devices);
    }

    fn bucket_of(&self, at: u64) -> usize {
        ((at / self.bucket) as usize).min(SERIES_BUCKETS - 1)
    }

    /// A message was sent.
    pub(crate) fn on_sent(&mut self, m: Sent, reach: &Reachability) {
        let ps = &mut self.priority[m.priority as usize];
        ps.offered += 1;
        if m.to.is_some() { ps.unicast += 1 } else { ps.broadcast += 1 }
        let b = self.bucket_of(m.at);
        self.series[b].sent += 1;
        let (i, seq) = (m.from, m.seq);
        let log = &mut self.logs[i as usize];
        if !log.started || seq.wrapping_sub(log.base) as usize > log.entries.len() + 100_000 {
            let old = log.retire();
            log.base = seq;
            log.first = seq;
            log.started = true;
            old.into_iter().for_each(|r| self.write_off(r, reach));
        }
        let log = &mut self.logs[i as usize];
        let idx = seq.wrapping_sub(log.base) as usize;
        while log.entries.len() < idx {
            log.entries.push_back(None);
        }
        log.entries.push_back(Some(Rec {
            sent_at: m.at,
            from: i,
            to: m.to,
            got: Vec::new(),
            impersonated: m.impersonated,
            evidence: 0,
            priority: m.priority,
            expected: m.expected,
            delivered: 0,
            snapshot: m.snapshot,
            reachable: m.reachable,
            delivered_reachable: 0,
            last_reachable_at: 0,
        }));
    }

    pub(crate) fn on_rejected(&mut self, p: Priority) {
        let ps = &mut self.priority[p as usize];
        ps.offered += 1;
        ps.rejected += 1;
    }

    pub(crate) fn on_delivery(&mut self, now: u64, receiver: u32, origin: Option<u32>, seq: u32, reach: &crate::reachability::Reachability) {
        let horizon = self.horizon;
        if let (Some(seen), Some(o)) = (self.delivered_once.as_mut(), origin) {
            if !seen.insert((receiver, o, seq)) {
                self.byzantine.replays_accepted += 1;
            }
        }
        let devices = self.logs.len();
        let Some(log) = origin.and_then(|o| self.logs.get_mut(o as usize)) else {
            self.byzantine.unknown_deliveries += 1;
            return;
        };
        let idx = seq.wrapping_sub(log.base) as usize;
        if let Some(rec) = log.entries.get_mut(idx).and_then(Option::as_mut).filter(|_| log.started) {
            let ps = &mut self.priority[rec.priority as usize];
            let latency = now - rec.sent_at;
            if latency <= horizon {
                rec.delivered += 1;
                let first = rec.mark(receiver, devices);
                if first && origin.is_some_and(|o| reach.joined(rec.snapshot, o, receiver)) {
                    rec.delivered_reachable += 1;
                    rec.last_reachable_at = now;
                    if rec.to.is_none() {
                        ps.broadcast_latency.record(latency);
                    }
                }
                ps.latency.record(latency);
            } else {
                ps.late += 1;
            }
        } else if (log.started && idx > u32::MAX as usize / 2) || log.was_retired(seq) {
            // Behind the window, or sent before the origin's log restarted (it powered off
            // with the message in flight): a message already written off. The retired
            // ranges are searched only here, off the path of a live record.
            self.priority[Priority::Normal as usize].late += 1;
        } else {
            self.byzantine.unknown_deliveries += 1;
        }
    }

    /// A copy of `origin`'s message `seq` was seen lost in the radio (kept only while the
    /// message is open).
    pub(crate) fn on_copy_lost(&mut self, origin: Option<u32>, seq: u32, how: crate::loss::Evidence) {
        let Some(log) = origin.and_then(|o| self.logs.get_mut(o as usize)).filter(|l| l.started) else { return };
        let idx = seq.wrapping_sub(log.base) as usize;
        if let Some(rec) = log.entries.get_mut(idx).and_then(Option::as_mut) {
            rec.evidence |= how.bit();
        }
    }

    /// Device `receiver` acted on a frame that `sender` wrote (confirmed it as a neighbour,
    /// or delivered its message): counted in `outsider_accepted` when an honest node
    /// accepted an outsider.
    pub(crate) fn on_acted_on(&mut self, receiver: u32, sender: NodeId) {
        let honest_receiver = !self.outsider_devices.get(receiver as usize).copied().unwrap_or(false);
        if honest_receiver && self.outsiders.contains(&sender) {
            self.outsider_accepted += 1;
        }
    }

    pub(crate) fn on_event(&mut self, now: u64, i: u32, e: &Event) {
        self.timeline.on_event(now, i, e);
        if let (Event::Partitioned { .. }, Some(causes)) = (e, self.partition_causes.as_mut()) {
            causes.on_partitioned(i);
        }
        if let Event::NeighbourUp { node, .. } = e {
            self.on_acted_on(i, *node);
        }
        let k = match e {
            Event::NeighbourUp { .. } => 0,
            Event::NeighbourDegraded { .. } => 1,
            Event::NeighbourRecovered { .. } => 2,
            Event::NeighbourLost { .. } => 3,
            _ => return,
        };
        self.neighbour_events[k] += 1;
        if let Event::NeighbourDegraded { reason, .. } = e {
            self.degraded_reasons[usize::from(*reason == blemesh_core::Degradation::PoorQuality)] += 1;
        }
        if k == 0 && now < self.first_disruption {
            self.last_up_before_disruption = Some(now);
        }
    }

    pub(crate) fn api_error(&mut self, e: &blemesh_core::Error) {
        let name = format!("{e:?}");
        let key = name.split(['(', ' ', '{']).next().unwrap_or("error").to_string();
        *self.api_errors.entry(key).or_default() += 1;
    }

    pub(crate) fn on_cut(&mut self, at: u64, index: usize) {
        self.cuts.push((at, false));
        self.timeline.on_cut(at, index);
    }

    pub(crate) fn on_heal(&mut self, at: u64, index: usize) {
        self.cuts.push((at, true));
        self.timeline.on_heal(at, index);
        self.reconnected_at = None;
        self.routing.complete_after_heal_at = None;
    }

    pub(crate) fn on_leave(&mut self, at: u64, d: u32, reach: &Reachability) {
        self.churn.0 += 1;
        self.timeline.on_power(at, d, false);
        self.off_at[d as usize] = Some(at);
        let old = self.logs[d as usize].retire();
        old.into_iter().for_each(|r| self.write_off(r, reach));
    }

    pub(crate) fn on_join(&mut self, at: u64, d: u32) {
        self.churn.1 += 1;
        self.timeline.on_power(at, d, true);
    }

    /// Adds a node's core and election counters to the totals.
    pub(crate) fn absorb_node(&mut self, n: &Node) {
        self.absorb_metrics(n.metrics());
        self.election += n.election().metrics();
    }

    /// Adds a node's core counters to the totals.
    pub(crate) fn absorb_metrics(&mut self, m: &Metrics) {
        for (reason, count) in m.drops.iter() {
            if count > 0 {
                *self.core_drops.entry(reason.name()).or_default() += count;
            }
        }
        self.core_relays.0 += m.relayed;
        self.core_relays.1 += m.relays_suppressed;
        self.core_relays.2 += m.ttl_expired;
        self.resumes.0 += m.resumes_sent;
        self.resumes.1 += m.counters_resumed;
        self.relay_targets_pruned += m.relay_targets_pruned;
        self.tree_relays.0 += m.tree_relays;
        self.tree_relays.1 += m.tree_fallbacks;
        for (reason, count) in m.security.iter() {
            if count > 0 {
                *self.security_drops.entry(reason.name()).or_default() += count;
            }
        }
        let r = &mut self.routing;
        r.forwarded += m.forwarded;
        r.flood_fallbacks += m.flood_fallbacks;
        r.route_computations += m.route_computations;
        r.adverts_sent += m.adverts_sent;
        r.acks_sent += m.acks_sent;
        for (t, d) in r.delivery.iter_mut().zip(&m.delivery) {
            t.sent += d.sent;
            t.delivered += d.delivered;
            t.failed += d.failed;
            t.retries += d.retries;
            t.latency_sum_us += d.latency_sum_us;
            t.latency_max_us = t.latency_max_us.max(d.latency_max_us);
        }
    }

    /// Whether device `d` powered off at or after `t`.
    fn off_since(&self, d: u32, t: u64) -> bool {
        self.off_at.get(d as usize).copied().flatten().is_some_and(|off| off >= t)
    }

    fn write_off(&mut self, r: Rec, reach: &Reachability) {
        let mut lost = LossCounts::default();
        if r.delivered_reachable < r.reachable {
            let facts = |to: u32| Facts {
                receiver_off: self.off_since(to, r.sent_at),
                sender_off: self.off_since(r.from, r.sent_at),
                path_broke: reach.broke_after(r.snapshot, r.from, to, r.sent_at + self.horizon),
                only_through_blackholes: reach.only_through_blackholes(r.snapshot, r.from, to),
                sender_impersonated: r.impersonated,
                only_through_unconfirmed: reach.only_through_unconfirmed(r.snapshot, r.from, to),
                evidence: r.evidence,
            };
            match r.to {
                Some(to) => {
                    if !r.got_from(to) && reach.joined(r.snapshot, r.from, to) {
                        lost.add(facts(to).cause());
                    }
                }
                None => {
                    let outsider = &self.outsider_devices;
                    for to in reach.members(r.snapshot, r.from) {
                        if !outsider.get(to as usize).copied().unwrap_or(false) && !r.got_from(to) {
                            lost.add(facts(to).cause());
                        }
                    }
                }
            }
            debug_assert_eq!(lost.total(), u64::from(r.reachable - r.delivered_reachable), "{r:?}");
        }
        let ps = &mut self.priority[r.priority as usize];
        if r.to.is_none() && r.reachable > 0 {
            if r.delivered_reachable >= r.reachable {
                ps.broadcast_to_all.record(r.last_reachable_at - r.sent_at);
            } else {
                ps.broadcast_not_all += 1;
            }
        }
        ps.lost.merge(&lost);
        ps.expected += u64::from(r.expected);
        ps.delivered += u64::from(r.delivered.min(r.expected));
        ps.reachable += u64::from(r.reachable);
        ps.delivered_reachable += u64::from(r.delivered_reachable.min(r.reachable));
        let b = self.bucket_of(r.sent_at);
        self.series[b].expected += u64::from(r.expected);
        self.series[b].delivered += u64::from(r.delivered.min(r.expected));
    }

    /// Writes off every message sent before `before` µs.
    fn write_off_older(&mut self, before: u64, reach: &Reachability) {
        for o in 0..self.logs.len() {
            while let Some(front) = self.logs[o].entries.front() {
                match front {
                    Some(r) if r.sent_at >= before => break,
                    _ => {}
                }
                let log = &mut self.logs[o];
                let r = log.entries.pop_front().expect("checked");
                log.base = log.base.wrapping_add(1);
                if let Some(r) = r {
                    self.write_off(r, reach);
                }
            }
        }
    }

    pub(crate) fn finish(&mut self, _end: u64, devices: &[Device], reach: &Reachability) {
        self.write_off_older(u64::MAX, reach);
        for d in devices {
            if let Some(n) = &d.node {
                self.absorb_node(n);
            }
        }
    }
}

impl Engine {
    pub(crate) fn sample(&mut self, at: u64) {
        let horizon = self.stats.horizon;
        self.stats.write_off_older(at.saturating_sub(horizon), &self.reach);
        self.reach.forget_older(at.saturating_sub(horizon));
        self.sample_memory();
        let components = self.components();
        let alive = self.devices.iter().filter(|d| d.alive()).count() as u32;
        let s = &mut self.stats;
        if s.connected_at.is_some() {
            s.max_components = s.max_components.max(components);
        }
        if components == 1 {
            s.connected_at.get_or_insert(at);
            if s.cuts.last().is_some_and(|c| c.1) {
                s.reconnected_at.get_or_insert(at);
            }
        }
        let healed = s.cuts.last().is_some_and(|c| c.1);
        let want = (s.connected_at.is_some() && s.routing.complete_at.is_none())
            || (healed && components == 1 && s.routing.complete_after_heal_at.is_none());
        if want && self.routes_complete() {
            let r = &mut self.stats.routing;
            r.complete_at.get_or_insert(at);
            if healed {
                r.complete_after_heal_at.get_or_insert(at);
            }
        }
        let s = &mut self.stats;
        let b = s.bucket_of(at);
        s.series[b].alive = alive;
        s.series[b].components = components;
        let max_q = self.links.iter().filter(|l| l.up).flat_map(|l| l.queue.iter().map(|q| q.len())).max().unwrap_or(0);
        s.radio.max_radio_queue = s.radio.max_radio_queue.max(max_q);
        let next = at + us(self.scenario.sample_interval_s);
        if next <= self.end {
            self.queue.push(next, SimEvent::Sample);
        }
    }

    /// Whether every live node has a next hop to every other live node (whole mesh, any
    /// priority: the Normal table, which every other policy shares the graph of).
    fn routes_complete(&self) -> bool {
        let live: Vec<_> = self
            .devices
            .iter()
            .zip(&self.outsider)
            .filter(|(_, o)| !**o)
            .filter_map(|(d, _)| d.node.as_ref().map(|n| (d.id, n)))
            .collect();
        live.iter().all(|(me, n)| live.iter().all(|(to, _)| to == me || n.router().next_hop(*to, blemesh_core::Priority::Normal).is_some()))
    }

    /// Samples memory use of every live node.
    pub(crate) fn sample_memory(&mut self) {
        let m = &mut self.stats.memory;
        let mut total = (0, 0);
        for d in &self.devices {
            let Some(n) = &d.node else { continue };
            let bytes = n.buffer_bytes();
            m.max_buffer_bytes = m.max_buffer_bytes.max(bytes);
            total = (total.0 + bytes, total.1 + 1);
            let o = n.occupancy();
            let fields = [
                o.links,
                o.sources,
                o.duplicate_cache,
                o.pending_relays,
                o.reassemblies,
                o.transmit_queue,
                o.delivery_queue,
                o.event_queue,
                o.known_nodes,
            ];
            for (p, f) in m.peak.iter_mut().zip(fields) {
                *p = (*p).max(f);
            }
        }
        m.last_total = total;
    }

    /// Connected components of the confirmed-neighbour graph over live devices (outsiders
    /// left out: they are not part of the mesh).
    pub fn components(&self) -> u32 {
        let n = self.devices.len();
        let mut parent: Vec<usize> = (0..n).collect();
        fn find(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        for (i, d) in self.devices.iter().enumerate() {
            let Some(node) = &d.node else { continue };
            if self.outsider[i] {
                continue;
            }
            for l in node.neighbours().filter(|l| l.is_confirmed()) {
                let j = self.index_of(l.peer).map_or(usize::MAX, |j| j as usize);
                if j < n && self.devices[j].alive() {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    parent[a] = b;
                }
            }
        }
        let mut roots = 0;
        for i in 0..n {
            if self.devices[i].alive() && !self.outsider[i] && find(&mut parent, i) == i {
                roots += 1;
            }
        }
        roots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `forged_accepted` (deliveries of an `(origin, seq)` never sent) must be 0 without a
    /// forger: a message still in flight when its origin powers off (churn) and delivered
    /// after is a late message of the retired run, not a forgery.
    #[test]
    fn a_delivery_after_its_origin_powered_off_is_late_not_forged() {
        let mut stats = Stats::new(&Scenario { nodes: 2, ..Scenario::default() });
        let reach = crate::reachability::Reachability::default();
        let sent = |at, seq| Sent {
            at,
            from: 0,
            seq,
            priority: Priority::Normal,
            expected: 1,
            to: Some(1),
            snapshot: 0,
            reachable: 0,
            impersonated: false,
        };
        stats.on_sent(sent(1_000, 100), &reach);
        stats.on_sent(sent(2_000, 101), &reach);
        stats.on_leave(3_000, 0, &reach);
        stats.on_delivery(4_000, 1, Some(0), 101, &reach);
        assert_eq!(stats.byzantine.unknown_deliveries, 0);
        assert_eq!(stats.priority[Priority::Normal as usize].late, 1);
        // Back with a fresh sequence space; its old numbers still count as written off.
        stats.on_sent(sent(5_000, 7_000_000), &reach);
        stats.on_delivery(6_000, 1, Some(0), 100, &reach);
        assert_eq!(stats.byzantine.unknown_deliveries, 0);
        // A number ahead of anything the origin used is a forgery.
        stats.on_delivery(7_000, 1, Some(0), 7_000_500, &reach);
        stats.on_delivery(7_000, 1, Some(0), 8_000_000, &reach);
        assert_eq!(stats.byzantine.unknown_deliveries, 2);
    }

    /// `outsider_frames_accepted` must be 0 in a secured mesh, so it counts honest nodes
    /// accepting outsiders only: two outsiders (same foreign network key) confirming each
    /// other or delivering each other's messages is their own mesh working.
    #[test]
    fn outsider_accepted_counts_honest_receivers_only() {
        let mut stats = Stats { outsiders: [NodeId(3), NodeId(4)].into_iter().collect(), ..Stats::default() };
        let ids = [1, 2, 3, 4];
        let devices_outsider: Vec<bool> = ids.iter().map(|i| stats.outsiders.contains(&NodeId(*i))).collect();
        stats.outsider_devices = devices_outsider;
        stats.on_acted_on(2, NodeId(4)); // outsider 3 (index 2) accepts outsider 4
        stats.on_acted_on(3, NodeId(3));
        stats.on_acted_on(0, NodeId(2)); // honest accepts honest
        assert_eq!(stats.outsider_accepted, 0);
        stats.on_acted_on(1, NodeId(3)); // honest node 2 accepts outsider 3
        assert_eq!(stats.outsider_accepted, 1);
        stats.on_event(0, 0, &Event::NeighbourUp { node: NodeId(4), link: blemesh_core::LinkId(0) });
        stats.on_event(0, 3, &Event::NeighbourUp { node: NodeId(3), link: blemesh_core::LinkId(0) });
        assert_eq!(stats.outsider_accepted, 2);
    }
}
