//! A deterministic discrete-event driver for a set of nodes joined by in-memory links.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use blemesh_core::flow::{AdmissionError, FlowId};
use blemesh_core::routing::QosConstraints;
use blemesh_core::session::{Entry, SessionEvent, SessionId, SubmitId};
use blemesh_core::{Config, Event, Instant, LinkId, LinkReport, Node, NodeId, Output, Priority};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::topology::Topology;

/// Link behaviour of a harness run.
#[derive(Clone, Debug)]
pub struct HarnessConfig {
    /// Seed of loss and latency draws (node seeds derive from it too).
    pub seed: u64,
    /// Probability that one link PDU is lost.
    pub loss: f64,
    /// Fixed part of the one-way latency of a PDU.
    pub latency: Duration,
    /// Random extra latency, uniform in `[0, jitter)`.
    pub jitter: Duration,
    /// MTU reported for every link.
    pub mtu: u16,
}

impl Default for HarnessConfig {
    fn default() -> Self {
        HarnessConfig { seed: 1, loss: 0.0, latency: Duration::from_millis(5), jitter: Duration::from_millis(2), mtu: 185 }
    }
}

/// A payload a node delivered to its application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// When.
    pub at: Instant,
    /// Who sent it.
    pub origin: NodeId,
    /// The origin's sequence number.
    pub seq: u32,
    /// Its priority.
    pub priority: Priority,
    /// Hops travelled.
    pub hops: u8,
    /// The bytes.
    pub payload: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    to: usize,
    link: LinkId,
    bytes: Vec<u8>,
}

/// The mesh under test. Node `i`'s link to neighbour `j` is `LinkId(j)`; node `i` has id
/// `i + 1` unless built with [`Harness::with_nodes`] (secured ids derive from keys).
#[derive(Debug)]
pub struct Harness {
    /// The nodes, index `i` has id `i + 1`.
    pub nodes: Vec<Node>,
    /// The current topology (cuts remove edges).
    pub topology: Topology,
    /// Everything each node delivered.
    pub received: Vec<Vec<Received>>,
    /// Every event each node emitted.
    pub events: Vec<Vec<(Instant, Event)>>,
    /// Every session entry each node delivered, in delivery order. A node's game that caught
    /// up from a snapshot gets the providing game's entries (its state) in front, timed at
    /// the snapshot's arrival.
    pub sequenced: Vec<Vec<(Instant, SessionId, Entry)>>,
    /// The snapshots the nodes' games provided: each one's state (the entries its game had
    /// applied), by the token its bytes start with. A node's game answers every
    /// `SnapshotWanted` at once with a snapshot of [`Harness::SNAPSHOT_BYTES`].
    pub snapshots: Vec<Vec<Entry>>,
    /// Every PDU each node transmitted: (time, link, bytes). Recorded only when enabled.
    pub transmitted: Vec<Vec<(Instant, LinkId, Vec<u8>)>>,
    /// Record transmissions in [`Harness::transmitted`].
    pub record_transmissions: bool,
    /// Nodes that silently drop every multi-hop frame they should pass on (while still
    /// sending heartbeats and link acknowledgements, so their neighbours believe them).
    pub black_holes: Vec<bool>,
    /// Frames of these kinds are lost on every link (whole PDUs and first fragments).
    pub lost_kinds: Vec<blemesh_core::wire::Kind>,
    ids: Vec<NodeId>,
    cfg: HarnessConfig,
    rng: ChaCha8Rng,
    now: Instant,
    deadlines: Vec<Instant>,
    in_flight: BinaryHeap<Reverse<(Instant, u64, InFlight)>>,
    counter: u64,
}

/// The id of harness node `i`.
pub fn node_id(i: usize) -> NodeId {
    NodeId(i as u64 + 1)
}

impl Harness {
    /// Nodes with default configuration on `topology`.
    pub fn new(topology: Topology, cfg: HarnessConfig) -> Self {
        Harness::with_config(topology, cfg, |_, c| c)
    }

    /// Nodes whose configuration `adjust` may change (it gets the node index and defaults).
    pub fn with_config(topology: Topology, cfg: HarnessConfig, adjust: impl Fn(usize, Config) -> Config) -> Self {
        Harness::with_nodes(topology, cfg, |i, seed, now| {
            Node::new(adjust(i, Config::new(node_id(i), seed)), now).expect("valid harness configuration")
        })
    }

    /// Nodes built by `make(index, seed, now)`: secured nodes, attackers, custom ids.
    pub fn with_nodes(topology: Topology, cfg: HarnessConfig, make: impl Fn(usize, u64, Instant) -> Node) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let now = Instant::ZERO;
        let nodes: Vec<Node> = (0..topology.nodes).map(|i| make(i, rng.next_u64(), now)).collect();
        let n = nodes.len();
        let ids = nodes.iter().map(Node::id).collect();
        let mut h = Harness {
            nodes,
            topology: Topology::new(n, []),
            received: vec![Vec::new(); n],
            events: vec![Vec::new(); n],
            sequenced: vec![Vec::new(); n],
            snapshots: Vec::new(),
            transmitted: vec![Vec::new(); n],
            record_transmissions: false,
            black_holes: vec![false; n],
            lost_kinds: Vec::new(),
            ids,
            cfg,
            rng,
            now,
            deadlines: vec![now; n],
            in_flight: BinaryHeap::new(),
            counter: 0,
        };
        for &(a, b) in &topology.edges {
            h.connect(a, b);
        }
        h
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The id of node `i`.
    pub fn id(&self, i: usize) -> NodeId {
        self.ids[i]
    }

    /// The index of the node with id `id`.
    pub fn index(&self, id: NodeId) -> Option<usize> {
        self.ids.iter().position(|x| *x == id)
    }

    /// Brings up a link between `a` and `b`.
    pub fn connect(&mut self, a: usize, b: usize) {
        let report = LinkReport::new(self.cfg.mtu);
        for (x, y) in [(a, b), (b, a)] {
            self.nodes[x].handle_link_up(self.now, LinkId(y as u32), report).expect("link up");
            self.drain(x);
        }
        let mut edges = self.topology.edges.clone();
        edges.push((a, b));
        self.topology = Topology::new(self.topology.nodes, edges);
    }

    /// Takes the link between `a` and `b` down on both ends; PDUs in flight on it are lost.
    pub fn cut(&mut self, a: usize, b: usize) {
        for (x, y) in [(a, b), (b, a)] {
            self.nodes[x].handle_link_down(self.now, LinkId(y as u32)).expect("link down");
            self.drain(x);
        }
        let (lo, hi) = (a.min(b), a.max(b));
        self.topology.edges.retain(|e| *e != (lo, hi));
    }

    /// Node `i` powers off: its links go down at both ends (PDUs in flight are lost) and it
    /// runs no more timers. Returns the neighbours it had, for [`Harness::power_on`].
    pub fn power_off(&mut self, i: usize) -> Vec<usize> {
        let neighbours = self.topology.neighbours(i);
        for &j in &neighbours {
            self.cut(i, j);
        }
        self.deadlines[i] = Instant::MAX;
        neighbours
    }

    /// Node `i` powers on again as `node` (built fresh by the caller: a restart keeps the
    /// identity, and only what the application persisted), and its links to `neighbours`
    /// come up.
    pub fn power_on(&mut self, i: usize, node: Node, neighbours: &[usize]) {
        assert_eq!(node.id(), self.ids[i], "a restarted node keeps its id");
        self.nodes[i] = node;
        self.deadlines[i] = self.now;
        self.drain(i);
        for &j in neighbours {
            self.connect(i, j);
        }
    }

    /// Runs until virtual time `until` (inclusive of events at `until`).
    pub fn run_until(&mut self, until: Instant) {
        while let Some(at) = self.next_event_time() {
            if at > until {
                break;
            }
            self.step();
        }
        self.now = self.now.max(until);
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    /// Processes the earliest pending event. Returns false if there was none.
    pub fn step(&mut self) -> bool {
        let Some(at) = self.next_event_time() else { return false };
        self.now = at;
        let frame_first = self.in_flight.peek().is_some_and(|Reverse((t, _, _))| *t == at);
        if frame_first {
            let Reverse((_, _, f)) = self.in_flight.pop().expect("peeked");
            // The link may have been cut while the PDU was in the air.
            if self.nodes[f.to].handle_receive(at, f.link, &f.bytes).is_ok() {
                self.drain(f.to);
            }
        } else {
            let i = (0..self.nodes.len()).find(|i| self.deadlines[*i] == at).expect("a node is due");
            self.nodes[i].handle_timeout(at).expect("time is monotonic");
            self.drain(i);
        }
        true
    }

    /// Node `i` sends `payload` to node `to`, or broadcasts when `to` is `None`.
    pub fn send(&mut self, i: usize, to: Option<usize>, payload: &[u8], qos: blemesh_core::Qos) -> Result<blemesh_core::MessageId, blemesh_core::Error> {
        let now = self.now;
        let r = match to {
            Some(j) => self.nodes[i].send(now, self.ids[j], payload, qos),
            None => self.nodes[i].broadcast(now, payload, qos),
        };
        self.drain(i);
        r
    }

    /// Both ends of the link `a — b` measure its RSSI as `dbm` now (a link report with the
    /// harness MTU), as a BLE stack reports it per connection event.
    pub fn set_rssi(&mut self, a: usize, b: usize, dbm: i8) {
        let report = LinkReport::new(self.cfg.mtu).with_rssi(dbm);
        for (x, y) in [(a, b), (b, a)] {
            self.nodes[x].handle_link_report(self.now, LinkId(y as u32), report).expect("link is up");
            self.drain(x);
        }
    }

    /// Node `i` opens a QoS flow to node `to`.
    pub fn open_flow(&mut self, i: usize, to: usize, c: QosConstraints) -> Result<FlowId, AdmissionError> {
        let (now, dest) = (self.now, self.ids[to]);
        let r = self.nodes[i].open_flow(now, dest, c);
        self.drain(i);
        r
    }

    /// Node `i` sends `payload` on its flow `flow`.
    pub fn send_on_flow(&mut self, i: usize, flow: FlowId, payload: &[u8]) -> Result<blemesh_core::MessageId, blemesh_core::Error> {
        let now = self.now;
        let r = self.nodes[i].send_on_flow(now, flow, payload);
        self.drain(i);
        r
    }

    /// Node `i` closes its flow `flow`.
    pub fn close_flow(&mut self, i: usize, flow: FlowId) -> Result<(), blemesh_core::Error> {
        let now = self.now;
        let r = self.nodes[i].close_flow(now, flow);
        self.drain(i);
        r
    }

    /// Node `i` joins game session `session` as a player described by `info`.
    pub fn join_session(&mut self, i: usize, session: SessionId, info: &[u8]) -> Result<(), blemesh_core::Error> {
        let now = self.now;
        let r = self.nodes[i].join_session(now, session, info);
        self.drain(i);
        r
    }

    /// Node `i` leaves game session `session`.
    pub fn leave_session(&mut self, i: usize, session: SessionId) -> Result<(), blemesh_core::Error> {
        let now = self.now;
        let r = self.nodes[i].leave_session(now, session);
        self.drain(i);
        r
    }

    /// Node `i` submits a game event to `session`.
    pub fn submit(&mut self, i: usize, session: SessionId, payload: &[u8]) -> Result<SubmitId, blemesh_core::Error> {
        let now = self.now;
        let r = self.nodes[i].submit(now, session, payload);
        self.drain(i);
        r
    }

    /// Drains node `i`'s outputs into the harness (after driving the node directly).
    pub fn drain_node(&mut self, i: usize) {
        self.drain(i);
    }

    /// Hands raw bytes to node `i` as if they arrived on its link from `from`.
    pub fn inject(&mut self, i: usize, from: usize, bytes: &[u8]) {
        let now = self.now;
        self.nodes[i].handle_receive(now, LinkId(from as u32), bytes).expect("link is up");
        self.drain(i);
    }

    /// Node `i`'s radio hears node `j` advertise, at `rssi` dBm, without a connection.
    pub fn overhear(&mut self, i: usize, j: usize, rssi: i8) {
        let (now, id) = (self.now, self.ids[j]);
        self.nodes[i].handle_overheard(now, id, rssi).expect("valid overheard node");
        self.drain(i);
    }

    /// Confirmed neighbours of node `i`, as node indices, ascending.
    pub fn confirmed_neighbours(&self, i: usize) -> Vec<usize> {
        let mut v: Vec<usize> = self.nodes[i]
            .neighbours()
            .filter(|l| l.is_confirmed())
            .filter_map(|l| self.index(l.peer))
            .collect();
        v.sort_unstable();
        v
    }

    fn next_event_time(&self) -> Option<Instant> {
        let frame = self.in_flight.peek().map(|Reverse((t, _, _))| *t);
        let timer = self.deadlines.iter().copied().min();
        match (frame, timer) {
            (Some(f), Some(t)) => Some(f.min(t)),
            (f, t) => f.or(t),
        }
    }

    /// Bytes of the snapshots the nodes' games provide.
    pub const SNAPSHOT_BYTES: usize = 4096;

    /// Node `i`'s game state in `session`: the entries it applied, less those rebases undid
    /// (an entry replaces those from its index on).
    pub fn game_state(&self, i: usize, session: SessionId) -> Vec<Entry> {
        let mut state: Vec<Entry> = Vec::new();
        for (_, s, e) in &self.sequenced[i] {
            if *s == session {
                state.retain(|x| x.index < e.index);
                state.push(e.clone());
            }
        }
        state
    }

    /// Node `i`'s game provides a snapshot of its state in `session`.
    fn provide_snapshot(&mut self, i: usize, session: SessionId) {
        let state = self.game_state(i, session);
        let Some(index) = state.last().map(|e| e.index) else { return };
        let mut data = (self.snapshots.len() as u32).to_be_bytes().to_vec();
        data.resize(Self::SNAPSHOT_BYTES, 0x5a);
        self.snapshots.push(state);
        let now = self.now;
        // Refused only when the game's state is no longer the node's to give (it stopped
        // playing meanwhile); the asker then asks another.
        let _ = self.nodes[i].provide_snapshot(now, session, index, &data);
    }

    /// Node `i`'s game was handed a snapshot: the providing game's entries go in front.
    fn install_snapshot(&mut self, i: usize, session: SessionId, index: u64, data: &[u8]) {
        let token = data.get(..4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes);
        let state = token.and_then(|t| self.snapshots.get(t as usize)).expect("a snapshot some game provided");
        assert_eq!(state.last().map(|e| e.index), Some(index), "a snapshot is as of its index");
        assert!(data[4..].iter().all(|b| *b == 0x5a) && data.len() == Self::SNAPSHOT_BYTES, "a snapshot arrives intact");
        let now = self.now;
        let state: Vec<(Instant, SessionId, Entry)> = state.iter().map(|e| (now, session, e.clone())).collect();
        self.sequenced[i].retain(|(_, s, _)| *s != session);
        self.sequenced[i].extend(state);
    }

    fn drain(&mut self, i: usize) {
        let now = self.now;
        let mut wanted = Vec::new();
        loop {
            match self.nodes[i].poll_output() {
                Output::Transmit(t) => {
                    let (link, bytes) = (t.link, t.bytes.to_vec());
                    if self.record_transmissions {
                        self.transmitted[i].push((now, link, bytes.clone()));
                    }
                    let to = link.0 as usize;
                    if self.black_holes[i] && passes_on(&bytes, self.ids[i]) {
                        continue;
                    }
                    if kind_of(&bytes).is_some_and(|k| self.lost_kinds.contains(&k)) {
                        continue;
                    }
                    let lost = self.cfg.loss > 0.0 && (self.rng.next_u64() as f64 / u64::MAX as f64) < self.cfg.loss;
                    let jitter_us = self.cfg.jitter.as_micros() as u64;
                    let extra = if jitter_us == 0 { 0 } else { self.rng.next_u64() % jitter_us };
                    if !lost {
                        let at = now + self.cfg.latency + Duration::from_micros(extra);
                        self.counter += 1;
                        self.in_flight.push(Reverse((at, self.counter, InFlight { to, link: LinkId(i as u32), bytes })));
                    }
                }
                Output::Deliver(d) => self.received[i].push(Received {
                    at: now,
                    origin: d.origin,
                    seq: d.seq,
                    priority: d.priority,
                    hops: d.hops,
                    payload: d.payload.to_vec(),
                }),
                Output::Event(e) => {
                    if let Event::Session { session, event: SessionEvent::SnapshotWanted { .. } } = e {
                        wanted.push(session);
                    }
                    self.events[i].push((now, e));
                }
                Output::Sequenced { session, entry } => self.sequenced[i].push((now, session, entry.clone())),
                Output::Snapshot { session, index, data } => {
                    let data = data.to_vec();
                    self.install_snapshot(i, session, index, &data);
                }
                Output::Timeout(at) => {
                    self.deadlines[i] = at;
                    break;
                }
                _ => {}
            }
        }
        for session in wanted {
            self.provide_snapshot(i, session);
            self.drain(i);
        }
    }
}

/// The kind of the frame a link PDU carries (whole, or its first fragment).
fn kind_of(pdu: &[u8]) -> Option<blemesh_core::wire::Kind> {
    use blemesh_core::wire::LinkPdu;
    let frame = match LinkPdu::new_checked(pdu, usize::MAX) {
        Ok(LinkPdu::Whole(f)) => f,
        Ok(LinkPdu::Fragment(f)) if f.index == 0 => f.chunk,
        _ => return None,
    };
    frame.get(1).and_then(|k| blemesh_core::wire::Kind::from_u8(*k))
}

/// Whether a link PDU carries a multi-hop frame that `me` did not originate (a fragment of
/// one counts when it is the first fragment, which holds the header).
fn passes_on(pdu: &[u8], me: NodeId) -> bool {
    use blemesh_core::wire::LinkPdu;
    let frame = match LinkPdu::new_checked(pdu, usize::MAX) {
        Ok(LinkPdu::Whole(f)) => f,
        Ok(LinkPdu::Fragment(f)) if f.index == 0 => f.chunk,
        _ => return false,
    };
    // Header fields only: a fragment is too short for `new_checked`, so read them directly.
    if frame.len() < 16 {
        return false;
    }
    let kind = blemesh_core::wire::Kind::from_u8(frame[1]);
    let origin = NodeId(u64::from_be_bytes(frame[8..16].try_into().expect("8 bytes")));
    kind.is_some_and(|k| k.is_multi_hop()) && origin != me
}
