//! The discrete-event engine: devices running real [`blemesh_core::Node`]s, the event loop,
//! and the drain contract.
//!
//! Virtual time jumps from one event to the next (earliest deadline among the nodes'
//! `Output::Timeout`s, connection events, PDU arrivals, the workload and the fault plan).
//! Events at the same instant run in scheduling order ([`crate::queue`]). Every node input
//! is followed by a full drain, as the core's crate documentation requires. The only
//! non-deterministic quantity is the wall-clock time measured around core calls
//! ([`crate::core_clock`]), which is reported separately from the results.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use blemesh_core::ble::RadioDecision;
use blemesh_core::security::{Identity, NetworkKey};
use blemesh_core::{Config, Event, Instant, Node, NodeId, Output, Security};

use crate::byzantine::ByzantineState;
use crate::faults::FaultAction;
use crate::geometry::Pos;
use crate::loss::Evidence;
use crate::core_clock::CoreClock;
use crate::queue::{EventQueue, SimEvent};
use crate::restarts::RestartHooks;
use crate::rng::{SimRng, derive_seed, stream};
use crate::scenario::Scenario;
use crate::stats::Stats;

/// Microseconds per second.
pub const SEC: u64 = 1_000_000;

/// Seconds to microseconds (rounded).
pub fn us(seconds: f64) -> u64 {
    libm::round(seconds * 1e6).max(0.0) as u64
}

/// One simulated device: a core node (absent while powered off), its position and radio.
#[derive(Debug)]
pub struct Device {
    /// Its node id (index + 1).
    pub id: NodeId,
    /// Where it is.
    pub pos: Pos,
    /// The core state machine; `None` while the device is off (churn).
    pub node: Option<Node>,
    /// How many times it was (re)started.
    pub incarnation: u32,
    /// The instant its node asked to be woken, µs (`u64::MAX` for never).
    pub timer_at: u64,
    /// Links (indices) currently up at this device.
    pub links: Vec<u32>,
    /// Devices that can hear it well enough to connect, ascending (refreshed on movement).
    pub candidates: Vec<u32>,
    /// Whether a discovery round is scheduled.
    pub discovering: bool,
    /// Random waypoint target and speed (m/s), and the end of the current pause (µs).
    pub waypoint: Option<(Pos, f64)>,
    /// End of the current pause at a waypoint, µs.
    pub paused_until: u64,
    /// Secured nodes: the sequence high-water mark last persisted (`Event::PersistSequence`),
    /// restored when the device rejoins.
    pub high_water: u64,
}

impl Device {
    /// Whether it is powered on.
    pub fn alive(&self) -> bool {
        self.node.is_some()
    }
}

/// One BLE connection between devices `a` (central) and `b` (peripheral).
#[derive(Debug)]
pub struct RadioLink {
    /// Central.
    pub a: u32,
    /// Peripheral.
    pub b: u32,
    /// Whether the connection exists.
    pub up: bool,
    /// Whether each end's core node still holds the link (false after that end powered off).
    pub attached: [bool; 2],
    /// MTU both ends use.
    pub mtu: u16,
    /// Mean RSSI, dBm (path loss and this pair's shadowing).
    pub rssi: f64,
    /// The RSSI last reported to the nodes, dBm.
    pub reported_rssi: i8,
    /// First connection event, µs (since the last interval change); events follow every
    /// `interval_us`.
    pub anchor: u64,
    /// Connection interval in force, µs.
    pub interval_us: u64,
    /// The interval of the latest update requested but not yet at its instant, µs.
    pub pending_interval_us: Option<u64>,
    /// PDUs waiting for the radio: `[a→b, b→a]`.
    pub queue: [VecDeque<Vec<u8>>; 2],
    /// Whether a connection event is scheduled.
    pub event_pending: bool,
    /// Whether a scripted cut separates the two ends.
    pub blocked: bool,
    /// Since when the signal has been unusable (below sensitivity or cut), µs.
    pub weak_since: Option<u64>,
    /// Whether each end's core has confirmed the other as a neighbour (`NeighbourUp`, until
    /// `NeighbourLost`): the link carries data only when both have.
    pub confirmed: [bool; 2],
    /// When it came up, µs.
    pub opened_at: u64,
    /// When it went down, µs.
    pub closed_at: Option<u64>,
    /// PDUs carried `[a→b, b→a]`.
    pub carried: [u64; 2],
    /// `(rssi, packet error rate at it)` last computed ([`RadioLink::packet_error_rate`]).
    pub per_cache: (f64, f64),
}

impl RadioLink {
    /// The side index (0 = `a`) of device `d`.
    pub fn side_of(&self, d: u32) -> usize {
        usize::from(self.b == d)
    }

    /// The device at the other end from `d`.
    pub fn peer_of(&self, d: u32) -> u32 {
        if self.a == d { self.b } else { self.a }
    }

    /// [`crate::radio::RadioParams::packet_error_rate`] at this link's RSSI, computed again
    /// only when the RSSI changed (it moves with mobility ticks; the `exp` was ~2 % of a
    /// static run, once per connection event).
    pub fn packet_error_rate(&mut self, radio: &crate::radio::RadioParams) -> f64 {
        if self.per_cache.0.to_bits() != self.rssi.to_bits() {
            self.per_cache = (self.rssi, radio.packet_error_rate(self.rssi));
        }
        self.per_cache.1
    }
}

/// The simulation: devices, links, the event queue and everything measured.
#[derive(Debug)]
pub struct Engine {
    /// The scenario being run.
    pub scenario: Scenario,
    /// Every device, index = node id − 1.
    pub devices: Vec<Device>,
    /// Every link ever opened; index = the `LinkId` both ends use.
    pub links: Vec<RadioLink>,
    /// Pending events.
    pub queue: EventQueue,
    /// Current virtual time, µs.
    pub now: u64,
    /// End of the run, µs.
    pub end: u64,
    /// Results being gathered.
    pub stats: Stats,
    /// Scripted and generated faults ([`SimEvent::Fault`] indexes it).
    pub faults: Vec<FaultAction>,
    /// Active cuts: per cut, membership of each device in the cut-off group.
    pub active_cuts: Vec<Option<Vec<bool>>>,
    /// Misbehaviour state per Byzantine entry of the scenario.
    pub byzantine: Vec<ByzantineState>,
    /// Byzantine entry of each device, if any.
    pub byzantine_of: Vec<Option<u32>>,
    /// Per-purpose random streams.
    pub rng: Rngs,
    /// Events processed.
    pub events: u64,
    /// Wall time spent inside core calls (not deterministic; reported apart).
    pub core_clock: CoreClock,
    /// Recycled PDU buffers.
    pub(crate) pool: Vec<Vec<u8>>,
    /// Whether [`Engine::step_log`] is filled (for invariant checkers).
    pub record_steps: bool,
    /// What the last step did, when `record_steps` is on.
    pub step_log: StepLog,
    /// Device index of each node id (looked up, never iterated).
    pub id_index: HashMap<NodeId, u32>,
    /// Whether each device is an outsider ([`Engine::is_outsider`]).
    pub outsider: Vec<bool>,
    /// Whether a forging node has written a frame in each device's name (see
    /// [`crate::invariants::FloodOnce`]: an unsecured mesh cannot tell those from genuine ones).
    pub impersonated: Vec<bool>,
    /// What each scripted restart measured (`crate::restarts`), in scenario order.
    pub restarts: Vec<crate::restarts::RestartWatch>,
    /// Labellings of the usable-link graph taken at sends (`crate::reachability`).
    pub reach: crate::reachability::Reachability,
    /// The game-session workload and what it recorded (`crate::session_load`), if any.
    pub session: Option<crate::session_load::SessionRun>,
}

/// The random streams of a run.
#[derive(Debug)]
pub struct Rngs {
    /// Packet success draws.
    pub radio: SimRng,
    /// Discovery timing and choices.
    pub discovery: SimRng,
    /// Application load.
    pub workload: SimRng,
    /// Movement.
    pub mobility: SimRng,
    /// Churn.
    pub churn: SimRng,
    /// Byzantine choices.
    pub byzantine: SimRng,
}

/// What one step did, for invariant checkers.
#[derive(Debug, Default, Clone)]
pub struct StepLog {
    /// Virtual time of the step, µs.
    pub at: u64,
    /// Devices whose node got an input.
    pub touched: Vec<u32>,
    /// `(receiver index, origin, seq)` of every delivery.
    pub deliveries: Vec<(u32, NodeId, u32)>,
    /// `(device index, event)` of every core event.
    pub events: Vec<(u32, blemesh_core::Event)>,
    /// Every session entry delivered and session event, in the order the nodes gave them:
    /// `(device index, its incarnation, what)`.
    pub session: Vec<(u32, u32, SessionOutput)>,
}

/// A session output of a node, for the session invariant.
#[derive(Clone, Debug)]
pub enum SessionOutput {
    /// An entry delivered.
    Entry(blemesh_core::session::Entry),
    /// A session event.
    Event(blemesh_core::session::SessionEvent),
    /// The node's game was handed a snapshot as of this index.
    Snapshot(u64),
}

impl Engine {
    /// Sets up devices, nodes and the initial events of `scenario`.
    pub fn new(scenario: Scenario) -> Result<Self, String> {
        scenario.validate()?;
        let seed = scenario.seed;
        let rng = Rngs {
            radio: SimRng::new(seed, stream::RADIO),
            discovery: SimRng::new(seed, stream::DISCOVERY),
            workload: SimRng::new(seed, stream::WORKLOAD),
            mobility: SimRng::new(seed, stream::MOBILITY),
            churn: SimRng::new(seed, stream::CHURN),
            byzantine: SimRng::new(seed, stream::BYZANTINE),
        };
        let positions = crate::mobility::place(&scenario);
        let end = us(scenario.duration_s);
        let mut engine = Engine {
            devices: Vec::with_capacity(scenario.nodes),
            links: Vec::new(),
            queue: EventQueue::new(),
            now: 0,
            end,
            stats: Stats::new(&scenario),
            faults: Vec::new(),
            active_cuts: vec![None; scenario.cut.len()],
            byzantine: Vec::new(),
            byzantine_of: vec![None; scenario.nodes],
            rng,
            events: 0,
            core_clock: CoreClock::new(),
            pool: Vec::new(),
            record_steps: false,
            step_log: StepLog::default(),
            id_index: HashMap::new(),
            outsider: Vec::new(),
            impersonated: vec![false; scenario.nodes],
            restarts: scenario
                .restart
                .iter()
                .map(|r| crate::restarts::RestartWatch { device: (r.node - 1) as u32, ..Default::default() })
                .collect(),
            reach: Default::default(),
            session: None,
            scenario,
        };
        engine.outsider = (0..engine.scenario.nodes).map(|i| engine.is_outsider(i)).collect();
        if let Some(load) = engine.scenario.session.as_ref().filter(|l| l.players > 0) {
            engine.session = Some(crate::session_load::SessionRun::new(seed, load, &engine.outsider));
        }
        for (i, pos) in positions.into_iter().enumerate() {
            let node = engine.make_node(i, 0, 0, 0).map_err(|e| format!("[node]: {e}"))?;
            engine.id_index.insert(node.id(), i as u32);
            engine.devices.push(Device {
                id: node.id(),
                pos,
                node: Some(node),
                incarnation: 0,
                timer_at: u64::MAX,
                links: Vec::new(),
                candidates: Vec::new(),
                discovering: false,
                waypoint: None,
                paused_until: 0,
                high_water: 0,
            });
        }
        engine.stats.outsiders = engine.devices.iter().zip(&engine.outsider).filter(|(_, o)| **o).map(|(d, _)| d.id).collect();
        engine.stats.start(&engine.devices);
        engine.refresh_candidates();
        for i in 0..engine.devices.len() as u32 {
            engine.drain(i, 0);
            engine.start_discovery(i);
            engine.schedule_first_send(i);
        }
        engine.plan_faults();
        engine.schedule_session();
        engine.queue.push(0, SimEvent::Sample);
        if engine.scenario.mobility.model != crate::scenario::MobilityModel::Static {
            engine.queue.push(engine.scenario.mobility.tick_ms * 1000, SimEvent::MobilityTick);
        }
        Ok(engine)
    }

    /// The identity of device `i` in a secured mesh (deterministic from the seed).
    pub fn identity(&self, i: usize) -> Identity {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&derive_seed(self.scenario.seed ^ stream::NODES, i as u64).to_be_bytes());
        bytes[8..16].copy_from_slice(&(i as u64).to_be_bytes());
        bytes[16] = 0x5e;
        Identity::from_seed(&bytes)
    }

    /// The network key of the mesh (`outsider = false`) or of the outsiders' own mesh.
    pub fn network_key(&self, outsider: bool) -> NetworkKey {
        let mut k = [0u8; 32];
        k[..8].copy_from_slice(&derive_seed(self.scenario.seed, 0x006b_6579).to_be_bytes());
        k[8] = u8::from(outsider);
        k[9..].fill(0x42);
        NetworkKey::new(&k)
    }

    /// Whether device `i` is an outsider: a `forge` Byzantine node of a secured mesh.
    pub fn is_outsider(&self, i: usize) -> bool {
        self.scenario.security.enabled
            && self.scenario.byzantine.iter().any(|b| b.node == i as u64 + 1 && b.behaviour == crate::scenario::Behaviour::Forge)
    }

    /// The node of device `i` in its `incarnation`, started at `at` µs; secured ones resume
    /// from `high_water`.
    pub fn make_node(&self, i: usize, incarnation: u32, at: u64, high_water: u64) -> Result<Node, blemesh_core::ConfigError> {
        let config = self.core_config(i, incarnation);
        if !self.scenario.security.enabled {
            return Node::new(config, Instant::from_micros(at));
        }
        let security = Security::new(self.identity(i), self.network_key(self.is_outsider(i))).restored(high_water);
        Node::new_secure(config, security, Instant::from_micros(at))
    }

    /// The device index of node `id`.
    pub fn index_of(&self, id: NodeId) -> Option<u32> {
        self.id_index.get(&id).copied()
    }

    /// The core configuration of device `i` in its `incarnation`.
    pub fn core_config(&self, i: usize, incarnation: u32) -> Config {
        let s = &self.scenario;
        let seed = derive_seed(s.seed ^ stream::NODES, ((i as u64) << 20) | u64::from(incarnation));
        let id = if s.security.enabled { self.identity(i).node_id() } else { NodeId(i as u64 + 1) };
        let mut c = Config::new(id, seed);
        c.max_links = s.radio.max_connections;
        let p = &s.node;
        c.link_arq = p.link_arq.unwrap_or(false);
        if let Some(v) = p.heartbeat_interval_ms {
            c.heartbeat_interval = Duration::from_millis(v);
        }
        if let Some(v) = p.heartbeat_max_quiet {
            c.heartbeat_max_quiet = v;
        }
        if let Some(v) = p.relay_jitter_ms {
            c.relay_jitter = Duration::from_millis(v);
        }
        // The modelled BLE link layer acknowledges and retransmits every PDU until the link
        // is declared lost, so without link ARQ one coverer suffices for relay pruning (the
        // core's default of 2 is for lossy transports under link ARQ).
        c.relay_suppression = p.relay_suppression.unwrap_or(if c.link_arq { c.relay_suppression } else { 1 });
        // Source trees on the reliable link layer; not in secured meshes, whose threat model has
        // insiders dropping floods (plain relaying's redundancy routes around them).
        c.relay_tree = p.relay_tree.unwrap_or(if c.link_arq || s.security.enabled { c.relay_tree } else { 2 });
        if let Some(v) = p.default_ttl {
            c.default_ttl = v;
        }
        if let Some(v) = p.transmit_queue {
            c.transmit_queue = v;
        }
        if let Some(v) = p.max_nodes {
            c.max_nodes = v;
        }
        if let Some(v) = p.duplicate_cache {
            c.duplicate_cache = v;
        }
        if let Some(v) = p.ble {
            c.ble.enabled = v;
        }
        if let Some(v) = p.announce_interval_s {
            c.announce_interval = Duration::from_secs(v);
            c.node_gone_after = c.node_gone_after.max(Duration::from_secs(v * 3));
        }
        c
    }

    /// Whether the run has reached its end (no event left before it).
    pub fn finished(&self) -> bool {
        self.queue.peek_time().is_none_or(|t| t > self.end)
    }

    /// Processes the next event. Returns `false` once the run is over.
    pub fn step(&mut self) -> bool {
        if self.step_until(self.end) {
            return true;
        }
        self.now = self.end;
        false
    }

    /// Processes the next event if it is at or before `limit` µs; `false` if there is none.
    fn step_until(&mut self, limit: u64) -> bool {
        let Some((at, event)) = self.queue.pop_until(limit) else {
            return false;
        };
        self.now = at;
        self.events += 1;
        if self.record_steps {
            self.step_log.at = at;
            self.step_log.touched.clear();
            self.step_log.deliveries.clear();
            self.step_log.events.clear();
            self.step_log.session.clear();
        }
        match event {
            SimEvent::NodeTimer { node } => self.on_timer(node, at),
            SimEvent::ConnectionEvent { link } => self.connection_event(link, at),
            SimEvent::Arrival { link, to, bytes } => self.arrival(link, to, bytes, at),
            SimEvent::MtuExchanged { link } => self.mtu_exchanged(link, at),
            SimEvent::Supervision { link } => self.supervision(link, at),
            SimEvent::Discovery { node } => self.discovery(node, at),
            SimEvent::AppSend { node } => self.app_send(node, at),
            SimEvent::SessionJoin { node, restart } => self.session_join(node, at, restart),
            SimEvent::SessionSubmit { node } => self.session_submit(node, at),
            SimEvent::SessionProvide { node } => self.session_provide(node, at),
            SimEvent::Fault { index } => self.apply_fault(index as usize, at),
            SimEvent::MobilityTick => self.mobility_tick(at),
            SimEvent::Sample => self.sample(at),
            SimEvent::Byzantine { index } => self.byzantine_tick(index as usize, at),
            SimEvent::RestartProbe { index } => self.restart_probe(index as usize, at),
            SimEvent::ConnectionUpdate { link, interval_us } => self.connection_update(link, interval_us, at),
        }
        if self.stats.timeline.dirty() {
            self.check_timeline(at);
        }
        if self.stats.partition_causes.as_ref().is_some_and(|c| c.has_pending()) {
            self.classify_partitions();
        }
        true
    }

    /// Runs every event up to and including `t` µs (or the end).
    pub fn run_until(&mut self, t: u64) {
        while self.step_until(t.min(self.end)) {}
        self.now = self.now.max(t.min(self.end));
    }

    /// Runs to the end and closes the books.
    pub fn run(&mut self) {
        while self.step() {}
        self.finish();
    }

    /// Finalises the statistics (call once, after the last step).
    pub fn finish(&mut self) {
        self.now = self.end;
        self.sample_memory();
        self.stats.finish(self.end, &self.devices, &self.reach);
    }

    fn on_timer(&mut self, i: u32, at: u64) {
        let dev = &mut self.devices[i as usize];
        if dev.timer_at != at || dev.node.is_none() {
            return; // stale: the node rescheduled, or it is off
        }
        dev.timer_at = u64::MAX;
        self.with_node_drained(i, at, at + 1, |n, now| n.handle_timeout(now));
    }

    /// [`Engine::with_node`] followed by [`Engine::drain`]`(i, earliest)`, timed as one span:
    /// one pair of clock reads instead of two (in `hour50` the clock reads were about 9 % of
    /// the CPU; the core work measured is the same).
    pub(crate) fn with_node_drained<T>(
        &mut self,
        i: u32,
        at: u64,
        earliest: u64,
        f: impl FnOnce(&mut Node, Instant) -> Result<T, blemesh_core::Error>,
    ) -> Option<T> {
        let t0 = self.core_clock.start();
        let r = self.call_node(i, at, f);
        self.drain_timed(i, earliest, Some(t0));
        r
    }

    /// Calls `f` on device `i`'s node at `at` µs, timing it; API errors are counted.
    pub(crate) fn with_node<T>(
        &mut self,
        i: u32,
        at: u64,
        f: impl FnOnce(&mut Node, Instant) -> Result<T, blemesh_core::Error>,
    ) -> Option<T> {
        let t0 = self.core_clock.start();
        let r = self.call_node(i, at, f);
        self.core_clock.stop(t0);
        r
    }

    /// Calls `f` on device `i`'s node at `at` µs, untimed; API errors are counted.
    fn call_node<T>(
        &mut self,
        i: u32,
        at: u64,
        f: impl FnOnce(&mut Node, Instant) -> Result<T, blemesh_core::Error>,
    ) -> Option<T> {
        let node = self.devices[i as usize].node.as_mut()?;
        let r = f(node, Instant::from_micros(at));
        if self.record_steps {
            self.step_log.touched.push(i);
        }
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.stats.api_error(&e);
                None
            }
        }
    }

    /// Drains device `i`'s outputs (the drain contract): events and deliveries go to the
    /// statistics, transmissions to the link queues, and the timeout is scheduled no earlier
    /// than `earliest` µs.
    pub(crate) fn drain(&mut self, i: u32, earliest: u64) {
        self.drain_timed(i, earliest, None);
    }

    /// [`Engine::drain`], its core time counted from `started` (a span that began before it)
    /// or from its own start.
    fn drain_timed(&mut self, i: u32, earliest: u64, started: Option<u64>) {
        let now = self.now;
        let Engine {
            devices,
            links,
            queue,
            stats,
            pool,
            step_log,
            record_steps,
            byzantine,
            byzantine_of,
            scenario,
            core_clock,
            id_index,
            restarts,
            reach,
            session,
            ..
        } = self;
        let dev = &mut devices[i as usize];
        let Some(node) = dev.node.as_mut() else {
            if let Some(t0) = started {
                core_clock.stop(t0);
            }
            return;
        };
        let adopt = scenario.radio.adopt_connection_parameters;
        let cap = scenario.radio.radio_queue;
        let byz = byzantine_of[i as usize].map(|b| &mut byzantine[b as usize]);
        let mut byz = byz.filter(|b| b.active(now));
        // Timed as one span (two clock reads per drain rather than per poll); the span
        // includes copying PDUs into the link queues, a small part of it.
        let t0 = started.unwrap_or_else(|| core_clock.start());
        loop {
            match node.poll_output() {
                Output::Transmit(t) => {
                    let l = t.link.0;
                    let link = &mut links[l as usize];
                    if !link.up {
                        continue;
                    }
                    if let Some(b) = byz.as_deref_mut() {
                        if b.filters(l, t.bytes, dev.id) {
                            stats.radio.blackholed += 1;
                            if let Some((origin, seq)) = crate::loss::data_frame_of(t.bytes) {
                                stats.on_copy_lost(id_index.get(&origin).copied(), seq, Evidence::Blackholed);
                            }
                            continue;
                        }
                    }
                    let side = link.side_of(i);
                    let full = link.queue[side].len() >= cap;
                    if full || link.weak_since.is_some() {
                        // A copy that will not arrive: the queue is full, or the link has died
                        // and no one can know yet (supervision has not timed out).
                        let evidence = if full { Evidence::QueueFull } else { Evidence::DeadLink };
                        if let Some((origin, seq)) = crate::loss::data_frame_of(t.bytes) {
                            stats.on_copy_lost(id_index.get(&origin).copied(), seq, evidence);
                        }
                    }
                    if full {
                        stats.radio.radio_queue_drops += 1;
                        continue;
                    }
                    let mut buf = pool.pop().unwrap_or_default();
                    buf.clear();
                    buf.extend_from_slice(t.bytes);
                    link.queue[side].push_back(buf);
                    stats.radio.pdus_queued += 1;
                    if !link.event_pending {
                        link.event_pending = true;
                        queue.push(next_event_at(link.anchor, link.interval_us, now), SimEvent::ConnectionEvent { link: l });
                    }
                }
                Output::Radio(RadioDecision::LinkParameters { link: id, params }) if adopt => {
                    // The central sets the parameters; they take effect at the update instant.
                    let link = &mut links[id.0 as usize];
                    let interval_us = params.connection_interval.as_duration().as_micros() as u64;
                    if link.up && link.a == i {
                        link.pending_interval_us = Some(interval_us);
                        stats.radio.connection_updates_requested += 1;
                        let instant = now + crate::radio::UPDATE_INSTANT_EVENTS * link.interval_us;
                        queue.push(instant, SimEvent::ConnectionUpdate { link: id.0, interval_us });
                    }
                }
                Output::Deliver(d) => {
                    let origin = id_index.get(&d.origin).copied();
                    if !restarts.is_empty() && restarts.on_delivery(now, i, origin, d.destination, d.payload) {
                        continue; // a restart probe, not a workload message
                    }
                    stats.on_acted_on(i, d.origin);
                    stats.on_delivery(now, i, origin, d.seq, reach);
                    if *record_steps {
                        step_log.deliveries.push((i, d.origin, d.seq));
                    }
                }
                Output::Sequenced { entry, .. } => {
                    if let Some(run) = session.as_mut() {
                        run.on_entry(now, i, entry);
                    }
                    if *record_steps {
                        step_log.session.push((i, dev.incarnation, SessionOutput::Entry(entry.clone())));
                    }
                }
                Output::Snapshot { index, data, .. } => {
                    if let Some(run) = session.as_mut() {
                        run.on_snapshot(now, i, index, data);
                    }
                    if *record_steps {
                        step_log.session.push((i, dev.incarnation, SessionOutput::Snapshot(index)));
                    }
                }
                Output::Event(e) => {
                    if let Event::Session { event, .. } = &e {
                        if let Some(run) = session.as_mut() {
                            run.on_event(now, i, dev.id, event);
                        }
                        if let blemesh_core::session::SessionEvent::SnapshotWanted { .. } = event {
                            queue.push(now, SimEvent::SessionProvide { node: i }); // the game answers
                        }
                        if *record_steps {
                            step_log.session.push((i, dev.incarnation, SessionOutput::Event(*event)));
                        }
                    }
                    if let (Event::NeighbourUp { .. }, Some(run)) = (&e, session.as_mut()) {
                        run.on_link_up(now, i);
                    }
                    match e {
                        Event::PersistSequence { high_water } => dev.high_water = high_water,
                        Event::NeighbourUp { link, .. } | Event::NeighbourLost { link, .. } => {
                            if let Some(l) = links.get_mut(link.0 as usize) {
                                let side = l.side_of(i);
                                l.confirmed[side] = matches!(e, Event::NeighbourUp { .. });
                                reach.changed();
                            }
                        }
                        _ => {}
                    }
                    if let Some(k) = restarts.on_event(now, i, &e) {
                        queue.push(now, SimEvent::RestartProbe { index: k as u32 });
                    }
                    stats.on_event(now, i, &e);
                    if *record_steps {
                        step_log.events.push((i, e));
                    }
                }
                Output::Timeout(at) => {
                    let at = at.as_micros();
                    let at = if at == u64::MAX { at } else { at.max(earliest) };
                    if at != dev.timer_at {
                        dev.timer_at = at;
                        if at != u64::MAX {
                            queue.push(at, SimEvent::NodeTimer { node: i });
                        }
                    }
                    break;
                }
                // Other radio decisions (channel map, advertising, peripherals' requests) and
                // outputs newer than this engine need no action here.
                _ => {}
            }
        }
        core_clock.stop(t0);
    }
}

/// The first connection event of a link anchored at `anchor` at or after `now`, µs.
pub fn next_event_at(anchor: u64, interval: u64, now: u64) -> u64 {
    if now <= anchor {
        return anchor;
    }
    anchor + (now - anchor).div_ceil(interval) * interval
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_events_fall_on_the_interval_grid() {
        assert_eq!(next_event_at(100, 15, 50), 100);
        assert_eq!(next_event_at(100, 15, 100), 100);
        assert_eq!(next_event_at(100, 15, 101), 115);
        assert_eq!(next_event_at(100, 15, 130), 130);
    }
}
