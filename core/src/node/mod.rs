//! The [`Node`]: one mesh participant as a sans-IO state machine.
//!
//! Methods are grouped by role, as in the drain contract of the crate docs:
//!
//! 1. **Construction**: [`Node::new`].
//! 2. **Inputs** (each takes `now`): [`Node::handle_link_up`], [`Node::handle_link_report`],
//!    [`Node::handle_link_down`], [`Node::handle_receive`], [`Node::handle_timeout`],
//!    [`Node::send`], [`Node::broadcast`], [`Node::set_battery`],
//!    [`Node::set_power_budget`], [`Node::report_channel_interference`]; QoS flows:
//!    [`Node::open_flow`], [`Node::send_on_flow`], [`Node::close_flow`]; game sessions:
//!    [`Node::join_session`], [`Node::leave_session`], [`Node::submit`].
//! 3. **Outputs**: [`Node::poll_output`], called until it returns [`Output::Timeout`].
//! 4. **Inspection**: [`Node::metrics`], [`Node::neighbours`], [`Node::registry`],
//!    [`Node::occupancy`], [`Node::config`], [`Node::route_info`], [`Node::flows`],
//!    [`Node::congestion_level`], [`Node::advised_drops`], [`Node::ble`], [`Node::session`].
//!
//! The receive path lives in `receive.rs`, originating and relaying in `transmit.rs`, timers
//! in `timers.rs` (the heartbeat schedule in `heartbeats.rs`), the output queues in
//! `outbox.rs`, BLE radio decisions in `ble.rs`, the announcement and its schedule in
//! `announce.rs`, the notice that lets a restarted neighbour resume its counters in
//! `resume.rs`, game sessions in `sessions.rs`.

#[cfg(test)]
mod advert_tests;
mod announce;
#[cfg(test)]
mod announce_tests;
mod ble;
#[cfg(test)]
mod ble_tests;
mod bridge;
mod delivery;
mod election;
mod flows;
mod heap_parts;
mod heartbeats;
#[cfg(test)]
mod heartbeat_tests;
mod link_advice;
mod outbox;
mod outlook;
#[cfg(test)]
mod properties;
mod receive;
#[cfg(test)]
mod relay_tests;
#[cfg(test)]
mod reservation_tests;
mod reservations;
mod resume;
pub use resume::{ADVERT_JUMP, RESTART_SLACK, RESUME_GAP, SEQUENCE_JUMP};
#[cfg(test)]
mod resume_tests;
mod routing;
mod secure;
mod sessions;
#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;
mod timers;
mod transmit;
mod tree_relay;
pub(crate) use tree_relay::MAX_PARENTS as MAX_TREE_PARENTS;
#[cfg(test)]
mod tree_relay_tests;

use alloc::vec::Vec;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use crate::flood::{DuplicateCache, Flood};
use crate::neighbour::{LinkState, LinkTable, NodeRegistry};
use crate::routing::Router;
use crate::wire::Kind;
use crate::wire::reassembly::Reassembler;
use crate::{
    Config, ConfigError, Delivery, Destination, Error, Event, Instant, LinkId, LinkReport, LossReason,
    MessageId, Metrics, NodeId, Output, Qos, Transmit,
};
use delivery::{Attempt, PendingAck};
use outbox::Outbox;
use routing::AdvertEntries;
pub use outlook::{Candidate, RouteInfo};
pub use secure::Security;
use secure::SecureState;

/// One mesh node. See the crate documentation for the drain contract.
#[derive(Debug)]
pub struct Node {
    config: Config,
    rng: ChaCha8Rng,
    now: Instant,
    started: Instant,
    seq: u32,
    battery: Option<u8>,
    links: LinkTable,
    registry: NodeRegistry,
    flood: Flood,
    reassembly: Reassembler,
    outbox: Outbox,
    /// Encoding buffer for frames this node originates.
    scratch: Vec<u8>,
    /// When the next heartbeat round is due (see `heartbeats.rs`).
    next_heartbeat_round: Instant,
    /// When this node's neighbour information last changed (see `heartbeats.rs`).
    neighbours_changed_at: Option<Instant>,
    /// When the announcement is next flooded (refresh, or sooner: see `announce.rs`).
    next_announce: Instant,
    /// When it was last flooded.
    last_announce: Instant,
    /// What it said then; `None` before the first.
    announced: Option<announce::AnnouncedFacts>,
    router: Router,
    /// Source trees of floods (`tree_relay.rs`).
    tree: tree_relay::TreeRelay,
    advert_version: u32,
    advertised: AdvertEntries,
    /// When this node's advert was last flooded.
    last_advert: Instant,
    /// When this node's advert was last checked for changes.
    last_advert_check: Instant,
    /// The set of neighbours changed: check the advert `advert_min_gap` after the last one.
    advert_dirty: bool,
    /// Nodes joined this node's view of the mesh: flood the advert even if unchanged, from
    /// this instant on, so that they learn this node's links without waiting for a refresh
    /// (see `on_topology_changed` and `next_advert`).
    advert_wanted: Option<Instant>,
    /// When the advert was last flooded because nodes joined.
    last_wanted_advert: Option<Instant>,
    /// When the routing table was last computed (the route hold-down counts from it).
    last_route_computation: Option<Instant>,
    pending_acks: Vec<PendingAck>,
    /// Acknowledged messages recently delivered here, by (origin, message number).
    e2e_seen: DuplicateCache,
    secure: Option<alloc::boxed::Box<SecureState>>,
    election: election::NodeElection,
    components: crate::partition::Components,
    /// Fingerprint of the routing graph's nodes and links when the components were last
    /// computed: metric-only topology changes leave the components alone.
    topology_shape: election::Shape,
    partitions: crate::partition::PartitionTracker,
    overheard: Vec<bridge::Overheard>,
    flows: flows::Flows,
    predictor: crate::routing::LinkPredictor,
    advised_drops: Vec<NodeId>,
    ble: crate::ble::BleOptimizer,
    /// Game sessions played or sequenced here (`sessions.rs`).
    sessions: sessions::Sessions,
    metrics: Metrics,
}

/// How full each bounded structure of a node is. Every field stays within the cap that
/// [`Occupancy::check`] compares it with.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct Occupancy {
    /// Links up.
    pub links: usize,
    /// Origins with a sequence window.
    pub sources: usize,
    /// Ids in the duplicate cache.
    pub duplicate_cache: usize,
    /// Relays waiting for their jitter.
    pub pending_relays: usize,
    /// Messages being reassembled.
    pub reassemblies: usize,
    /// PDUs queued for transmission.
    pub transmit_queue: usize,
    /// Deliveries queued.
    pub delivery_queue: usize,
    /// Events queued.
    pub event_queue: usize,
    /// Nodes in the registry.
    pub known_nodes: usize,
    /// Acknowledged messages waiting for their acknowledgement.
    pub pending_acks: usize,
    /// Reservations held for flows through this node.
    pub reservations: usize,
}

impl Occupancy {
    /// Compares every field with its cap in `config`; names the first one exceeded.
    pub fn check(&self, config: &Config) -> Result<(), &'static str> {
        let caps = [
            ("links", self.links, config.max_links),
            ("sources", self.sources, config.max_sources),
            ("duplicate_cache", self.duplicate_cache, config.duplicate_cache),
            ("pending_relays", self.pending_relays, config.max_pending_relays),
            ("reassemblies", self.reassemblies, config.max_reassemblies),
            ("transmit_queue", self.transmit_queue, config.transmit_queue),
            ("delivery_queue", self.delivery_queue, config.delivery_queue),
            ("event_queue", self.event_queue, config.event_queue),
            ("known_nodes", self.known_nodes, config.max_nodes),
            ("pending_acks", self.pending_acks, config.max_pending_acks),
            ("reservations", self.reservations, config.max_reservations),
        ];
        match caps.iter().find(|(_, used, cap)| used > cap) {
            Some((name, _, _)) => Err(name),
            None => Ok(()),
        }
    }
}

impl Node {
    // ----- construction -------------------------------------------------------------------

    /// A node with `config`, starting at `now`, on an unsecured mesh (see
    /// [`Node::new_secure`]). Fails if the configuration is invalid.
    pub fn new(config: Config, now: Instant) -> Result<Self, ConfigError> {
        Node::build(config, election::NodeSigner::Unsigned, now)
    }

    fn build(config: Config, signer: election::NodeSigner, now: Instant) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let seq = rand_core::RngCore::next_u32(&mut rng);
        let mut router = Router::new(config.node_id, config.advert_max_age);
        router.refresh(); // the empty table: later refreshes report real changes only
        let me = config.node_id;
        let election = crate::election::Election::new(
            config.election.clone(),
            me,
            0,
            signer,
            election::PreVerified,
            now,
            &mut rng,
        )?;
        Ok(Node {
            rng,
            now,
            started: now,
            seq,
            battery: None,
            links: LinkTable::new(),
            registry: NodeRegistry::new(config.max_nodes, config.node_gone_after, config.seed ^ 0x4e0d),
            flood: Flood::new(&config),
            reassembly: Reassembler::new(config.max_reassemblies, config.max_message_size, config.reassembly_timeout),
            outbox: Outbox::new(
                config.transmit_queue,
                config.delivery_queue,
                config.event_queue,
                config.transmit_queue + config.delivery_queue + config.max_links * config.link_arq_window + 1,
            ),
            scratch: Vec::new(),
            next_heartbeat_round: now,
            neighbours_changed_at: None,
            next_announce: now + config.announce_interval,
            last_announce: now,
            announced: None,
            router,
            tree: tree_relay::TreeRelay::default(),
            advert_version: 0,
            advertised: AdvertEntries::new(),
            last_advert: now,
            last_advert_check: now,
            advert_dirty: false,
            advert_wanted: None,
            last_wanted_advert: None,
            last_route_computation: None,
            pending_acks: Vec::new(),
            // Retries of a message arrive within its few seconds of retries: a short memory.
            e2e_seen: DuplicateCache::new(4 * config.max_pending_acks, config.seed ^ 0xe2e),
            secure: None,
            election,
            components: crate::partition::Components::build(&[me], &[]),
            topology_shape: election::Shape::default(),
            partitions: crate::partition::PartitionTracker::new(me),
            overheard: Vec::new(),
            flows: flows::Flows::new(&config),
            predictor: crate::routing::LinkPredictor::new(),
            advised_drops: Vec::new(),
            ble: crate::ble::BleOptimizer::new(config.ble.clone(), config.max_links, now),
            sessions: sessions::Sessions::default(),
            metrics: Metrics::default(),
            config,
        })
    }

    // ----- inputs -------------------------------------------------------------------------

    /// The runtime opened a link (a BLE connection, a UDP peer). The handshake starts at once.
    pub fn handle_link_up(&mut self, now: Instant, link: LinkId, report: LinkReport) -> Result<(), Error> {
        self.advance(now)?;
        check_mtu(report.mtu)?;
        if self.links.get(link).is_some() {
            return Err(Error::LinkAlreadyUp(link));
        }
        if self.links.len() >= self.config.max_links {
            return Err(Error::TooManyLinks { max: self.config.max_links });
        }
        let window = if self.config.link_arq { self.config.link_arq_window } else { 0 };
        let (hello, interval) = (self.config.hello_interval, report.connection_interval);
        let mut state = LinkState::new(now, link, report.mtu, interval, hello, window);
        if let Some(rssi) = report.rssi {
            state.estimator.on_rssi(now, rssi);
        }
        self.links.insert(state);
        self.outbox.fit_to_mtu(report.mtu);
        self.ble_link_up(self.links.len() - 1);
        Ok(())
    }

    /// New radio properties of a link (MTU after exchange, RSSI, connection interval).
    ///
    /// If the MTU shrinks, PDUs already queued for the link were cut for the larger MTU and
    /// are discarded; link ARQ sends the multi-hop frames among them again, cut anew.
    pub fn handle_link_report(&mut self, now: Instant, link: LinkId, report: LinkReport) -> Result<(), Error> {
        self.advance(now)?;
        check_mtu(report.mtu)?;
        let state = self.links.get_mut(link).ok_or(Error::UnknownLink(link))?;
        let shrunk = report.mtu < state.mtu;
        state.mtu = report.mtu;
        self.outbox.fit_to_mtu(report.mtu);
        if report.connection_interval.is_some() {
            state.interval = report.connection_interval;
        }
        state.estimator.set_capacity(report.mtu, state.interval);
        if let Some(rssi) = report.rssi {
            state.estimator.on_rssi(now, rssi);
            self.observe_rssi(link, now, rssi);
        }
        if shrunk {
            self.outbox.forget_link(link);
        }
        self.ble_link_report(link);
        Ok(())
    }

    /// The runtime closed a link. Queued PDUs for it are discarded.
    pub fn handle_link_down(&mut self, now: Instant, link: LinkId) -> Result<(), Error> {
        self.advance(now)?;
        let mut state = self.links.remove(link).ok_or(Error::UnknownLink(link))?;
        for buf in state.arq.clear() {
            self.outbox.give_buf(buf);
        }
        if state.is_confirmed() {
            self.neighbour_info_changed();
            self.forget_link_forecast(state.peer);
            self.advert_dirty = true;
            self.metrics.neighbours_lost += 1;
            let event = Event::NeighbourLost { node: state.peer, link, reason: LossReason::LinkDown };
            self.outbox.push_event(event, &mut self.metrics);
        }
        self.reassembly.forget_link(link);
        self.outbox.forget_link(link);
        self.ble_link_down(link);
        self.reservations_on_links();
        Ok(())
    }

    /// Sends `payload` to one node: on the direct link to a neighbour, else hop by hop along
    /// the route of `qos.priority`'s policy, else (no route known) by flooding. With
    /// [`Qos::ack`] the destination acknowledges it and it is retried (see
    /// [`Event::Delivered`] and [`Event::DeliveryFailed`]).
    pub fn send(&mut self, now: Instant, to: NodeId, payload: &[u8], qos: Qos) -> Result<MessageId, Error> {
        self.advance(now)?;
        if !to.is_unicast() || to == self.config.node_id {
            return Err(Error::InvalidDestination(to));
        }
        self.send_data(Destination::Node(to), payload, qos)
    }

    /// Floods `payload` to every node of the mesh.
    pub fn broadcast(&mut self, now: Instant, payload: &[u8], qos: Qos) -> Result<MessageId, Error> {
        self.advance(now)?;
        self.send_data(Destination::Broadcast, payload, qos)
    }

    /// Sets the battery level this node reports (0..=100, `None` for unknown or mains).
    pub fn set_battery(&mut self, level: Option<u8>) {
        self.battery = level.map(|l| l.min(100));
        self.announce_if_changed();
    }

    // ----- outputs ------------------------------------------------------------------------

    /// The next output. Call until it returns [`Output::Timeout`]; the order is events,
    /// session entries and events (in the order they arose), radio decisions, deliveries,
    /// transmissions, then the timeout. Slices and entries in the output borrow the node's
    /// buffers until the next call.
    pub fn poll_output(&mut self) -> Output<'_> {
        if let Some(buf) = self.outbox.lent.take() {
            self.outbox.give_buf(buf);
        }
        self.sessions.release();
        if let Some(event) = self.outbox.events.pop_front() {
            return Output::Event(event);
        }
        if self.sessions.has_output() {
            return self.sessions.poll().expect("has output");
        }
        if let Some(decision) = self.ble.poll() {
            return Output::Radio(decision);
        }
        if let Some(d) = self.outbox.deliveries.pop_front() {
            let payload = self.outbox.lent.insert(d.buf);
            return Output::Deliver(Delivery {
                origin: d.origin,
                destination: d.destination,
                seq: d.seq,
                priority: d.priority,
                hops: d.hops,
                payload,
            });
        }
        if let Some(t) = self.outbox.tx.pop_front() {
            if !t.heartbeat {
                self.note_traffic_sent(t.link, self.now);
            }
            let bytes = self.outbox.lent.insert(t.buf);
            return Output::Transmit(Transmit { link: t.link, bytes });
        }
        // Work already due is due now: a deadline is never before the latest input.
        Output::Timeout(self.next_deadline().max(self.now))
    }

    // ----- inspection ---------------------------------------------------------------------

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.node_id
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The latest `now` seen.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Every link that is up, confirmed or not.
    pub fn neighbours(&self) -> impl Iterator<Item = &LinkState> {
        self.links.iter()
    }

    /// Every node known.
    pub fn registry(&self) -> &NodeRegistry {
        &self.registry
    }

    /// The routing state: link-state database, graph and table.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The neighbour a unicast frame to `dest` at `priority` would go to (direct link, route,
    /// or handoff to the backup), or `None` if it would be flooded. Routes are as of the last
    /// recomputation, which happens lazily: before a unicast is sent or forwarded, and on
    /// every [`Node::handle_timeout`].
    pub fn next_hop(&self, dest: NodeId, priority: crate::Priority) -> Option<NodeId> {
        let i = self.links.index_of_peer(dest).or_else(|| self.route_link(dest, priority, None))?;
        Some(self.links.at(i).peer)
    }

    /// How full the bounded structures are.
    pub fn occupancy(&self) -> Occupancy {
        Occupancy {
            links: self.links.len(),
            sources: self.flood.sources(),
            duplicate_cache: self.flood.cached(),
            pending_relays: self.flood.relays.len(),
            reassemblies: self.reassembly.in_progress(),
            transmit_queue: self.outbox.tx.len(),
            delivery_queue: self.outbox.deliveries.len(),
            event_queue: self.outbox.events.len(),
            known_nodes: self.registry.len(),
            pending_acks: self.pending_acks.len(),
            reservations: self.flows.table.len(),
        }
    }

    /// Bytes of frame buffers held (queues, pools, reassembly); the fixed-size tables are
    /// not included. For memory accounting in tests and the simulator.
    pub fn buffer_bytes(&self) -> usize {
        self.outbox.bytes_held() + self.reassembly.bytes_held() + self.scratch.capacity()
    }

    // ----- internals shared by the input paths --------------------------------------------

    fn advance(&mut self, now: Instant) -> Result<(), Error> {
        if now < self.now {
            return Err(Error::TimeWentBackwards { last: self.now, now });
        }
        self.now = now;
        Ok(())
    }

    fn send_data(&mut self, dst: Destination, payload: &[u8], qos: Qos) -> Result<MessageId, Error> {
        let e2e = if qos.ack { size_of::<crate::wire::messages::E2eHeader>() } else { 0 };
        let max = self.config.max_payload().saturating_sub(e2e + self.security_overhead());
        if payload.len() > max {
            return Err(Error::PayloadTooLarge { len: payload.len(), max });
        }
        let ttl = qos.ttl.unwrap_or(self.config.default_ttl);
        if ttl == 0 || ttl > self.config.max_ttl {
            return Err(Error::InvalidTtl(ttl));
        }
        if self.links.confirmed() == 0 {
            return Err(Error::NoNeighbours);
        }
        let full = Error::QueueFull(crate::Queue::Transmit);
        match dst {
            Destination::Broadcast if qos.ack => Err(Error::InvalidDestination(NodeId::BROADCAST)),
            Destination::Broadcast => {
                self.originate(Kind::GameData, dst, qos.priority, ttl, &[payload], None).ok_or(full)
            }
            Destination::Node(to) if !self.can_encrypt_to(to) => Err(Error::UnknownPeerKey(to)),
            Destination::Node(to) if qos.ack => {
                if !self.can_track_ack() {
                    return Err(Error::QueueFull(crate::Queue::PendingAcks));
                }
                self.send_acknowledged(to, payload, qos.priority, ttl).ok_or(full)
            }
            Destination::Node(to) => {
                let seq = self.take_seq().ok_or(Error::SequenceExhausted)?;
                self.send_unicast(seq, Kind::GameData, to, qos.priority, ttl, &[payload], 0, Attempt::Route)
                    .ok_or(full)
            }
        }
    }
}

fn check_mtu(mtu: u16) -> Result<(), Error> {
    if usize::from(mtu) < crate::wire::MIN_MTU { Err(Error::InvalidMtu(mtu)) } else { Ok(()) }
}
