//! Node configuration: one struct, documented defaults, validation.

use core::time::Duration;

use crate::wire::{FRAGMENT_HEADER_LEN, FRAME_HEADER_LEN, MAX_FRAGMENTS, MIN_MTU};
use crate::{ConfigError, NodeId};

/// Bits in the largest supported per-source sequence window.
pub const MAX_SEQ_WINDOW: u16 = 256;

/// The largest [`Config::relay_jitter`] accepted.
pub const MAX_RELAY_JITTER: Duration = Duration::from_secs(10);

/// Link ARQ's retransmission timeout doubles with each retry up to `2^3` = 8 times the first;
/// later retries wait that long (see [`Config::link_retries`]).
pub const MAX_RTO_BACKOFF_SHIFT: u8 = 3;

/// Everything a [`crate::Node`] needs to know before it starts.
///
/// Build one with [`Config::new`] (which fills in the defaults below) and adjust fields;
/// [`crate::Node::new`] validates it. All capacities are hard caps: the node never holds more.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// This node's id. Must not be `0` or `u64::MAX`.
    pub node_id: NodeId,
    /// Seed of the node's PRNG (jitter, election timeouts). Same seed, same behaviour.
    pub seed: u64,

    /// Interval between heartbeats on a confirmed link: the period of the node's heartbeat
    /// rounds, which serve all its confirmed links at once (see `heartbeat_max_quiet` for
    /// the heartbeats a busy link leaves out). Default 250 ms.
    pub heartbeat_interval: Duration,
    /// Interval between hellos on a link not yet confirmed by both sides. Default 50 ms.
    pub hello_interval: Duration,
    /// Heartbeats are sent up to this much early, at random, to avoid synchronisation (each
    /// hello, and each of the node's heartbeat rounds). Default 40 ms. Must be below
    /// `hello_interval`.
    pub heartbeat_jitter: Duration,
    /// Most heartbeat intervals a confirmed link goes without an explicit heartbeat from this
    /// node while other frames keep it busy. A heartbeat is left out of a round when this node
    /// handed another frame for the link to the runtime within the last interval (the frame
    /// shows the neighbour that this node is alive), but one goes out at least every
    /// `heartbeat_max_quiet` intervals all the same, so that round-trip echoes, receive-ratio
    /// reports, battery and the two-hop neighbour lists stay fresh. Default 4 (1 s); `1`
    /// sends a heartbeat every interval, busy or not. Must be at least 1.
    pub heartbeat_max_quiet: u8,
    /// Silent heartbeat intervals after which a neighbour is suspect (each counted after
    /// half an interval of grace, so 3 means 875 ms at the default interval). Default 3.
    pub suspect_after_missed: u8,
    /// Silent heartbeat intervals after which a neighbour is lost. Default 8 (2.125 s with
    /// the grace): at 20 % independent loss, eight heartbeats in a row go missing once in
    /// 390 000 intervals.
    pub lost_after_missed: u8,
    /// Expected transmission count above which a neighbour is reported degraded. Default 2.0.
    pub degraded_etx: f32,

    /// TTL of originated application floods, acknowledgements and flow data. Default 16.
    pub default_ttl: u8,
    /// Largest TTL accepted from the application; larger TTLs from peers are clamped. It is
    /// also the TTL of the partition-wide control floods (topology updates, election
    /// messages, announcements), so that every node of a partition up to `max_ttl` hops
    /// across learns the same component and can agree on one election view. Default 32.
    pub max_ttl: u8,
    /// Width of the per-source sequence window in bits (1..=256). Default 256 (the bitmap
    /// takes 256 bits whatever the width; a wide window keeps flood copies that queued
    /// behind load from being taken for replays).
    pub seq_window: u16,
    /// Origins whose sequence windows are tracked at once. Default 256.
    pub max_sources: usize,
    /// Entries of the duplicate cache (origin, sequence), at most
    /// [`crate::flood::dupcache::MAX_CAPACITY`]. Default 256 (4 KiB when full).
    ///
    /// The per-origin sequence windows already recognise every copy of a message from the
    /// `max_sources` origins they track, however late, so the cache only matters for copies
    /// of an origin whose window is gone: evicted because more than `max_sources` origins
    /// are active, or reset after `node_gone_after` of silence (too long ago for a late copy
    /// to still be in flight). It must hold the ids heard while such a copy can still arrive:
    /// ids needed = floods heard per second × the longest time a copy arrives late. A copy is
    /// late by at most its relay jitter per hop (20 ms × `default_ttl` 16 = 0.32 s) plus link
    /// ARQ retransmissions and queueing (about a second on a loaded BLE link): call it 2 s.
    /// A 50-node mesh floods at most about 11 ids per second of its own (adverts at most
    /// every 5 s, announcements every 60 s) plus the game's broadcasts, so 256 ids cover 2 s at up to
    /// 128 floods per second (about 2 broadcasts per second per node on top); raise it for
    /// meshes of more than `max_sources` nodes with heavier flooding.
    pub duplicate_cache: usize,
    /// Largest random delay before relaying a flooded frame. Default 20 ms, at most 10 s
    /// (a longer wait outlives the duplicate cache the relay decision depends on).
    pub relay_jitter: Duration,
    /// Neighbour-coverage pruning of flood relays: a relay skips a neighbour once this many
    /// neighbours that sent the frame here before the relay jitter ran out are that
    /// neighbour's neighbours too (by both their heartbeats), as they sent it there already;
    /// a relay with nothing left to send is suppressed. `0` disables pruning. Default 2:
    /// on a lossy transport a coverer's copy can still be lost (link ARQ gives up after
    /// `link_retries`, or its window evicts it), and two coverers keep floods whole at 20–30 %
    /// loss. `1` prunes far more and suits a reliable link layer (BLE with `link_arq` off, as
    /// in the simulator).
    pub relay_suppression: u8,
    /// Source-tree relaying (`node::tree_relay`, PROTOCOL §8.4) with this many parents per
    /// node (at most 2; 0 off). Once the link-state graph and this node's links have been
    /// stable for 2 s, a flood copy that came first from one of this node's parents in the
    /// origin's breadth-first tree (each node's parents: its `relay_tree` neighbours one hop
    /// closer to the origin with the lowest ids, the same at every node with the same graph)
    /// goes at once to the neighbours that count this node among their parents, and nowhere
    /// else; otherwise it is relayed with jitter and pruning as usual. One parent cuts a
    /// flood to one transmission per node in a stable mesh; two send each node two copies
    /// where it has two upstream neighbours, so that one parent that drops floods (a
    /// blackhole) or a link that failed silently does not cut off the nodes below it. A node
    /// that missed a recent change may leave a node out until the change's advert reaches
    /// it. Default 0 (off): it suits a reliable link layer (BLE with `link_arq` off, as in
    /// the simulator) and meshes whose links change rarely.
    pub relay_tree: u8,
    /// Frames waiting for their relay jitter at once. Default 32 (enough for about 3000
    /// relayed frames per second at the default jitter).
    pub max_pending_relays: usize,

    /// Hop-by-hop acknowledgement and retransmission of multi-hop frames (link ARQ). Needed
    /// on lossy transports (UDP, a simulated radio); a BLE link layer already retransmits, so
    /// a BLE-only mesh may turn it off. Every node of a mesh must agree. Default on.
    pub link_arq: bool,
    /// Retransmissions of a multi-hop frame before giving up on a link. Default 6: the
    /// timeout doubles up to eight times the first ([`MAX_RTO_BACKOFF_SHIFT`]), so the seven
    /// attempts span about 40 round-trip timeouts, and a frame is lost on a link losing 20 %
    /// of its packets with probability 0.2⁷ ≈ 1.3 × 10⁻⁵ (with 3 retries it was 1.6 × 10⁻³:
    /// a leaf behind one lossy link missed about one flood in 600).
    pub link_retries: u8,
    /// Unacknowledged frames kept per link; the oldest is abandoned when full. Default 16.
    pub link_arq_window: usize,
    /// How long a receiver gathers acknowledgements before sending them. Default 5 ms.
    pub link_ack_delay: Duration,

    /// Interval at which this node checks its own topology advert: it is flooded when it
    /// differs (after the metric hysteresis) from the one flooded last, so metric drift
    /// propagates within this interval. Default 5 s.
    pub advert_interval: Duration,
    /// An unchanged advert is flooded again once this long passed since the last one (a
    /// refresh, so that the mesh's databases do not age it out). At least
    /// `advert_interval`. Default 30 s.
    pub advert_refresh: Duration,
    /// Shortest gap between two adverts of this node (changes within it are batched).
    /// Default 100 ms.
    pub advert_min_gap: Duration,
    /// An advert not refreshed for this long is dropped from the topology. At least three
    /// `advert_refresh` intervals (a lost refresh or two must not age a live node out).
    /// Default 100 s. A node that vanished keeps its last advert in the databases this long
    /// (harmlessly for routes: a link counts only when both its ends advertise it), and a
    /// node that restarted (its advert versions begin again at 1) has its new adverts
    /// ignored as older until then, so this is kept short rather than `advert_refresh` long.
    pub advert_max_age: Duration,
    /// Route recomputation hold-down: after the routing table was computed, a topology change
    /// waits until this long after that computation before the table is recomputed (changes
    /// within it are batched into one computation, as OSPF's SPF hold timer). The node's
    /// [`crate::Output::Timeout`] includes the pending recomputation's deadline. Routes over
    /// a lost link are never used meanwhile (next hops must be confirmed neighbours). Zero:
    /// recompute at the next drain after every change. Default 200 ms.
    pub route_holddown: Duration,
    /// Traffic moves to a downstream backup route (one that cannot loop) when a link's RSSI,
    /// extrapolated along its trend over `handoff_horizon`, falls below this. Default -90 dBm.
    pub handoff_rssi_dbm: i8,
    /// How far ahead the RSSI trend is extrapolated for handoff. Default 2 s.
    pub handoff_horizon: Duration,
    /// Time an acknowledged message waits for its acknowledgement before a retry (doubling
    /// per retry). Default 750 ms.
    pub ack_timeout: Duration,
    /// Retries of an acknowledged message: the first over the backup route, the rest by
    /// flooding. Default 2.
    pub ack_retries: u8,
    /// Acknowledged messages waiting for acknowledgement at once. Default 32.
    pub max_pending_acks: usize,
    /// QoS flows this node may have open at once ([`crate::Node::open_flow`]). Default 16.
    pub max_flows: usize,
    /// A flow nothing was sent on for this long is released. Default 10 s.
    pub flow_idle_timeout: Duration,
    /// Reservations this node holds for flows through it (as source, relay or destination);
    /// the table grows to it on demand. A `Reserve` beyond it is refused (`TableFull`).
    /// Default 32.
    pub max_reservations: usize,
    /// How long a source waits for `Confirm` or `Refuse` before it reports the flow refused
    /// with reason `Timeout`; at most `reservation_lifetime`. Default 2 s.
    pub reservation_setup_timeout: Duration,
    /// How often a source refreshes the reservation of each admitted flow along its path.
    /// Default 2 s.
    pub reservation_refresh: Duration,
    /// Soft-state lifetime: a hop drops a reservation nothing refreshed (a `Refresh`, or the
    /// flow's traffic through the hop) for this long. At least twice `reservation_refresh`.
    /// Default 6 s.
    pub reservation_lifetime: Duration,
    /// Burst a hop lets a flow exceed its reserved rate by, as time at that rate (at least
    /// one maximum-size message). Default 250 ms.
    pub reservation_burst: Duration,
    /// Links the radio sustains (phones: about 7). Above it the node advises dropping links
    /// outside the degree-capped backbone ([`crate::Event::LinkAdvice`]); 0 turns the advice
    /// off. Default 7.
    pub max_connections: usize,

    /// Coordinator election: mode (per-partition by default, or quorum over a configured
    /// membership), timers, Byzantine threshold. See [`crate::election::ElectionConfig`].
    /// Defaults sized for BLE: a node without a coordinator campaigns after 500–1000 ms; a
    /// follower of a live coordinator waits 3–4 s (its lease) for the next heartbeat;
    /// the coordinator heartbeats every second, followers acknowledge every 2 s and the
    /// check-quorum window is 6 s. (Every heartbeat is flooded to the component; at about
    /// 67 packets per second per BLE link direction, tens of floods a second would crowd
    /// out the game. A flooded heartbeat crossing a loaded 50-node mesh can be late by
    /// several relay delays: the long lease keeps such delays from starting campaigns.
    /// A departed coordinator is noticed sooner, when the topology drops it.)
    pub election: crate::election::ElectionConfig,

    /// Links up at once. Default 8 (BLE devices manage about 7 connections).
    pub max_links: usize,
    /// Largest frame (header, body and authentication data), in bytes. Default 2048.
    pub max_message_size: usize,
    /// Messages being reassembled from fragments at once. Default 8.
    pub max_reassemblies: usize,
    /// A partly received message is discarded after this long. Default 2 s.
    pub reassembly_timeout: Duration,

    /// Link PDUs waiting to be polled. Default 512.
    pub transmit_queue: usize,
    /// Deliveries waiting to be polled. Default 128.
    pub delivery_queue: usize,
    /// Events waiting to be polled. Default 128.
    pub event_queue: usize,

    /// Nodes kept in the registry. Default 256.
    pub max_nodes: usize,
    /// Refresh interval of this node's flooded announcement. Default 60 s.
    ///
    /// An announcement is also flooded on this node's first confirmed link, on a new link to
    /// a node outside its component, and when what it says changes materially (the battery
    /// moving 5 points or becoming known or unknown, capabilities, processing power), at most
    /// once a second; each refresh comes this long after the previous announcement less a
    /// random part of up to a tenth of it, so that nodes do not flood in step (see
    /// `docs/PROTOCOL.md` §6.1). What a refresh carries beyond those facts (uptime,
    /// connections) is not needed sooner, and liveness is proved by every flooded frame a
    /// node originates (adverts at least every `advert_refresh`), so the refresh is a slow
    /// safety net: 60 s costs a sixth of the airtime of the former 10 s.
    pub announce_interval: Duration,
    /// A node not heard of for this long is gone ([`crate::NodeStatus::Gone`]; suspect after
    /// half of it). Anything accepted that the node originated counts as hearing it:
    /// announcements, topology adverts (refreshed every `advert_refresh`), election and game
    /// messages, and for neighbours their heartbeats. It must exceed both `announce_interval`
    /// and `advert_refresh`, the slowest refreshes that prove a quiet node alive. Default
    /// 90 s: three `advert_refresh` intervals, so a live node stays
    /// [`crate::NodeStatus::Active`] and one or two lost refreshes do not make it gone.
    /// Sequence windows of unsecured origins also reset after this long of silence
    /// (the flood's idle reset, see `duplicate_cache`).
    pub node_gone_after: Duration,
    /// Capability bits announced by this node (see [`crate::Capabilities`]).
    pub capabilities: u16,
    /// Processing power in arbitrary units, announced for coordinator election. Default 1000.
    pub processing_power: u16,

    /// BLE radio optimisation: connection parameters, channel map and advertising decided
    /// by the node ([`crate::Output::Radio`]). See [`crate::ble::BleConfig`].
    pub ble: crate::ble::BleConfig,

    /// Limits and timers of each game session ([`crate::session`]). An entry and the
    /// player list must each fit one frame: `max_payload + 60` and `48 + max_players × (21 +
    /// max_info)` bytes at most `max_message_size − 140` (the 28-byte header and the
    /// 112-byte trailer of a secured mesh).
    pub session: crate::session::SessionConfig,
    /// Sessions a node holds at once: those it plays and those it sequences as its
    /// partition's coordinator. Default 4.
    pub max_sessions: usize,
}

/// The election's timers tuned for BLE (see [`Config::election`]).
fn ble_election() -> crate::election::ElectionConfig {
    let mut e = crate::election::ElectionConfig::new(crate::election::ElectionMode::PerPartition);
    e.election_timeout_min = Duration::from_millis(500);
    e.election_timeout_max = Duration::from_millis(1000);
    e.lease_timeout_min = Duration::from_secs(3);
    e.lease_timeout_max = Duration::from_secs(4);
    e.vote_round_per_member = Duration::from_millis(10);
    e.heartbeat_interval = Duration::from_secs(1);
    e.ack_interval = Duration::from_secs(2);
    e.check_quorum_interval = Duration::from_secs(6);
    e
}

impl Config {
    /// A configuration with the documented defaults.
    pub fn new(node_id: NodeId, seed: u64) -> Self {
        Config {
            node_id,
            seed,
            heartbeat_interval: Duration::from_millis(250),
            hello_interval: Duration::from_millis(50),
            heartbeat_jitter: Duration::from_millis(40),
            heartbeat_max_quiet: 4,
            suspect_after_missed: 3,
            lost_after_missed: 8,
            degraded_etx: 2.0,
            default_ttl: 16,
            max_ttl: 32,
            seq_window: 256,
            max_sources: 256,
            duplicate_cache: 256,
            relay_jitter: Duration::from_millis(20),
            relay_suppression: 2,
            relay_tree: 0,
            max_pending_relays: 32,
            link_arq: true,
            link_retries: 6,
            link_arq_window: 16,
            link_ack_delay: Duration::from_millis(5),
            advert_interval: Duration::from_secs(5),
            advert_refresh: Duration::from_secs(30),
            advert_min_gap: Duration::from_millis(100),
            advert_max_age: Duration::from_secs(100),
            route_holddown: Duration::from_millis(200),
            handoff_rssi_dbm: -90,
            handoff_horizon: Duration::from_secs(2),
            ack_timeout: Duration::from_millis(750),
            ack_retries: 2,
            max_pending_acks: 32,
            max_flows: 16,
            flow_idle_timeout: Duration::from_secs(10),
            max_reservations: 32,
            reservation_setup_timeout: Duration::from_secs(2),
            reservation_refresh: Duration::from_secs(2),
            reservation_lifetime: Duration::from_secs(6),
            reservation_burst: Duration::from_millis(250),
            max_connections: 7,
            election: ble_election(),
            max_links: 8,
            max_message_size: 2048,
            max_reassemblies: 8,
            reassembly_timeout: Duration::from_secs(2),
            transmit_queue: 512,
            delivery_queue: 128,
            event_queue: 128,
            max_nodes: 256,
            announce_interval: Duration::from_secs(60),
            node_gone_after: Duration::from_secs(90),
            capabilities: 0,
            processing_power: 1000,
            ble: crate::ble::BleConfig::default(),
            session: crate::session::SessionConfig::default(),
            max_sessions: 4,
        }
    }

    /// The largest application payload one message can carry.
    pub fn max_payload(&self) -> usize {
        self.max_message_size.saturating_sub(FRAME_HEADER_LEN)
    }

    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field, problem| Err(ConfigError { field, problem });
        if !self.node_id.is_unicast() {
            return err("node_id", "0 and u64::MAX are reserved");
        }
        if self.heartbeat_interval < Duration::from_millis(10) {
            return err("heartbeat_interval", "must be at least 10 ms");
        }
        if self.hello_interval.is_zero() || self.hello_interval > self.heartbeat_interval {
            return err("hello_interval", "must be non-zero and at most heartbeat_interval");
        }
        if self.heartbeat_jitter >= self.hello_interval {
            return err("heartbeat_jitter", "must be below hello_interval");
        }
        if self.heartbeat_max_quiet == 0 {
            return err("heartbeat_max_quiet", "must be at least 1 heartbeat interval");
        }
        if self.suspect_after_missed == 0 {
            return err("suspect_after_missed", "must be at least 1");
        }
        if self.lost_after_missed <= self.suspect_after_missed {
            return err("lost_after_missed", "must exceed suspect_after_missed");
        }
        if !(self.degraded_etx >= 1.0 && self.degraded_etx.is_finite()) {
            return err("degraded_etx", "must be a finite number of at least 1.0");
        }
        if self.default_ttl == 0 || self.default_ttl > self.max_ttl {
            return err("default_ttl", "must be between 1 and max_ttl");
        }
        if self.seq_window == 0 || self.seq_window > MAX_SEQ_WINDOW {
            return err("seq_window", "must be between 1 and 256 bits");
        }
        if self.max_sources == 0 {
            return err("max_sources", "must be at least 1");
        }
        if self.duplicate_cache == 0 || self.duplicate_cache > crate::flood::dupcache::MAX_CAPACITY {
            return err("duplicate_cache", "must be between 1 and 65,535");
        }
        if self.relay_jitter > MAX_RELAY_JITTER {
            return err("relay_jitter", "must be at most 10 s");
        }
        if usize::from(self.relay_tree) > crate::node::MAX_TREE_PARENTS {
            return err("relay_tree", "must be at most 2 parents");
        }
        if self.max_pending_relays == 0 {
            return err("max_pending_relays", "must be at least 1");
        }
        if self.link_arq && self.link_arq_window == 0 {
            return err("link_arq_window", "must be at least 1 when link_arq is on");
        }
        if self.link_ack_delay >= self.heartbeat_interval {
            return err("link_ack_delay", "must be below heartbeat_interval");
        }
        if self.advert_interval.is_zero() || self.advert_min_gap > self.advert_interval {
            return err("advert_min_gap", "must be at most a non-zero advert_interval");
        }
        if self.advert_refresh < self.advert_interval {
            return err("advert_refresh", "must be at least advert_interval");
        }
        if self.advert_max_age < self.advert_refresh * 3 {
            return err("advert_max_age", "must be at least three advert_refresh intervals");
        }
        if self.ack_timeout.is_zero() {
            return err("ack_timeout", "must be non-zero");
        }
        if self.max_pending_acks == 0 {
            return err("max_pending_acks", "must be at least 1");
        }
        if self.flow_idle_timeout.is_zero() {
            return err("flow_idle_timeout", "must be non-zero");
        }
        if self.max_reservations == 0 {
            return err("max_reservations", "must be at least 1");
        }
        if self.reservation_setup_timeout.is_zero() || self.reservation_refresh.is_zero() {
            return err("reservation_refresh", "reservation_refresh and reservation_setup_timeout must be non-zero");
        }
        if self.reservation_lifetime < self.reservation_refresh * 2 {
            return err("reservation_lifetime", "must be at least twice reservation_refresh");
        }
        if self.reservation_setup_timeout > self.reservation_lifetime {
            return err("reservation_setup_timeout", "must be at most reservation_lifetime");
        }
        self.election.validate()?;
        if self.max_links == 0 || self.max_links > 64 {
            return err("max_links", "must be between 1 and 64");
        }
        let max_fragmented = MAX_FRAGMENTS * (MIN_MTU - FRAGMENT_HEADER_LEN);
        if self.max_message_size < FRAME_HEADER_LEN + 1 || self.max_message_size > max_fragmented {
            return err(
                "max_message_size",
                "must hold a header and one byte, and fit in 255 fragments of a 20-byte MTU (2295)",
            );
        }
        if self.max_reassemblies == 0 {
            return err("max_reassemblies", "must be at least 1");
        }
        if self.reassembly_timeout.is_zero() {
            return err("reassembly_timeout", "must be non-zero");
        }
        if self.transmit_queue < MAX_FRAGMENTS {
            return err("transmit_queue", "must hold at least one fully fragmented message (255)");
        }
        if self.delivery_queue == 0 || self.event_queue == 0 {
            return err("delivery_queue", "delivery and event queues must hold at least 1");
        }
        if self.max_nodes == 0 {
            return err("max_nodes", "must be at least 1");
        }
        if self.announce_interval.is_zero() {
            return err("announce_interval", "must be non-zero");
        }
        if self.node_gone_after <= self.announce_interval.max(self.advert_refresh) {
            return err("node_gone_after", "must exceed announce_interval and advert_refresh");
        }
        if let Err(e) = self.session.validate() {
            return err(e.field, e.allowed);
        }
        if self.max_sessions == 0 || self.max_sessions > 64 {
            return err("max_sessions", "must be between 1 and 64");
        }
        let room = self.max_payload().saturating_sub(crate::security::trailer::MAX_TRAILER_LEN);
        let s = &self.session;
        if crate::wire::session::largest_entry(s.max_payload) > room
            || crate::wire::session::largest_roster(s.max_players, s.max_info) > room
        {
            return err(
                "session",
                "max_payload + 60 and 48 + max_players × (21 + max_info) must be at most max_message_size − 140 bytes",
            );
        }
        self.ble.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::new(NodeId(7), 1).validate().unwrap();
    }

    #[test]
    fn nonsense_is_rejected_with_the_field_named() {
        let base = Config::new(NodeId(7), 1);
        type Mutation = fn(&mut Config);
        let cases: [(&str, Mutation); 21] = [
            ("relay_jitter", |c| c.relay_jitter = Duration::from_micros(u64::MAX)),
            ("relay_jitter", |c| c.relay_jitter = Duration::from_millis(10_001)),
            ("announce_interval", |c| c.announce_interval = Duration::ZERO),
            ("node_gone_after", |c| c.node_gone_after = c.announce_interval),
            ("node_gone_after", |c| {
                c.advert_refresh = Duration::from_secs(120);
                c.advert_max_age = Duration::from_secs(360);
            }),
            ("node_id", |c| c.node_id = NodeId::BROADCAST),
            ("duplicate_cache", |c| c.duplicate_cache = 65_536),
            ("advert_refresh", |c| c.advert_refresh = Duration::from_secs(4)),
            ("advert_max_age", |c| c.advert_max_age = Duration::from_secs(89)),
            ("hello_interval", |c| c.hello_interval = Duration::from_secs(5)),
            ("lost_after_missed", |c| c.lost_after_missed = 1),
            ("heartbeat_max_quiet", |c| c.heartbeat_max_quiet = 0),
            ("default_ttl", |c| c.default_ttl = 0),
            ("seq_window", |c| c.seq_window = 300),
            ("max_message_size", |c| c.max_message_size = 10_000),
            ("degraded_etx", |c| c.degraded_etx = f32::NAN),
            ("transmit_queue", |c| c.transmit_queue = 4),
            ("max_reservations", |c| c.max_reservations = 0),
            ("reservation_refresh", |c| c.reservation_refresh = Duration::ZERO),
            ("reservation_lifetime", |c| c.reservation_lifetime = c.reservation_refresh),
            ("reservation_setup_timeout", |c| c.reservation_setup_timeout = Duration::from_secs(7)),
        ];
        for (field, mutate) in cases {
            let mut c = base.clone();
            mutate(&mut c);
            assert_eq!(c.validate().unwrap_err().field, field);
        }
    }
}
