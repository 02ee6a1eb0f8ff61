//! The node's side of coordinator election and partition detection.
//!
//! * **Membership** is this node's connected component of the routing graph (links both
//!   ends advertise), recomputed with union-find whenever the topology version moves. The
//!   [`PartitionTracker`] turns component changes into [`Event::Partitioned`] and
//!   [`Event::Healed`]; the election votes within the component (per-partition mode) or
//!   within the configured membership (quorum mode).
//! * **Ballots**: every election message carries, after its 28-byte body, a 64-byte
//!   signature over [`crate::election::ElectionMessage::signing_bytes`]. On a secured node
//!   it is the identity's Ed25519 signature, checked here against the key ring before the
//!   election sees the message (failures are counted as security drops and charged to the
//!   transmitting neighbour's trust); double votes found by the election cost the voter
//!   trust. On an unsecured mesh ballots are unsigned (zeros) and accepted: without keys
//!   there is no protection against Byzantine nodes.
//! * **Traffic**: broadcasts are flooded (critical priority), answers are routed unicast.

use alloc::vec::Vec;

use super::Node;
use crate::election::{
    Action, BallotSigner, BallotVerifier, Election, ElectionEvent, ElectionMessage, PriorityInputs, Signature,
    SignedMessage, Verification,
};
use crate::partition::{Components, PartitionEvent};
use crate::security::{Behaviour, Identity, SecurityDrop};
use crate::wire::messages::ElectionBody;
use crate::wire::Kind;
use crate::{Destination, Event, Instant, NodeId, Priority};

/// Signs this node's ballots: with its identity on a secured node, not at all otherwise.
#[derive(Debug)]
pub(super) enum NodeSigner {
    Unsigned,
    Ed25519(alloc::boxed::Box<Identity>),
}

impl BallotSigner for NodeSigner {
    fn sign(&mut self, ballot: &[u8]) -> Signature {
        match self {
            NodeSigner::Unsigned => Signature([0; 64]),
            NodeSigner::Ed25519(id) => Signature(id.sign(ballot)),
        }
    }
}

/// The node checks ballot signatures against its key ring *before* handing a message to the
/// election, so the election is given messages already verified.
#[derive(Debug)]
pub(super) struct PreVerified;

impl BallotVerifier for PreVerified {
    fn verify(&self, _signer: NodeId, _ballot: &[u8], _signature: &Signature) -> Verification {
        Verification::Valid
    }
}

pub(super) type NodeElection = Election<NodeSigner, PreVerified>;

/// An order-independent fingerprint of a routing graph's node set and link set (counts and
/// two independent sums of mixed ids), computed without allocating. Equal shapes mean,
/// short of a 128-bit collision, the same components: a change of metrics only does not
/// recompute them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Shape {
    nodes: usize,
    links: usize,
    sum: u64,
    xor: u64,
}

impl Shape {
    fn of(graph: &crate::routing::Graph) -> Self {
        let mut s = Shape { nodes: graph.nodes().len(), ..Shape::default() };
        for (u, a) in graph.nodes().iter().enumerate() {
            s.add(mix(a.0, 0));
            for e in graph.edge_range(u as u32) {
                let b = graph.node(graph.target(e));
                if *a < b {
                    s.links += 1;
                    s.add(mix(a.0, b.0));
                }
            }
        }
        s
    }

    fn add(&mut self, h: u64) {
        self.sum = self.sum.wrapping_add(h);
        self.xor ^= h.rotate_left(29).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// splitmix64 of a pair.
fn mix(a: u64, b: u64) -> u64 {
    crate::mix::splitmix64(a.wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ b.rotate_left(32) ^ 0x9E37_79B9_7F4A_7C15)
}

impl Node {
    /// This node's priority for the election, from its current state.
    pub(super) fn election_priority(&self) -> u32 {
        PriorityInputs {
            uptime_hours: (self.now - self.started).as_secs_f64() / 3600.0,
            connection_count: self.links.confirmed() as u32,
            trust: 1.0,
            processing_power: u32::from(self.config.processing_power),
            battery: self.battery,
        }
        .priority_milli()
    }

    /// Recomputes the components after a topology change and tells the election and the
    /// application. A change of metrics only (the same nodes and links, see [`Shape`])
    /// changes neither the components nor the election's membership, and is skipped
    /// without allocating.
    pub(super) fn on_topology_changed(&mut self, now: Instant) {
        let graph = self.router.graph();
        let shape = Shape::of(graph);
        if shape == self.topology_shape {
            return;
        }
        self.topology_shape = shape;
        let nodes: Vec<NodeId> = graph.nodes().to_vec();
        let mut links = Vec::with_capacity(graph.edge_count());
        for (u, a) in nodes.iter().enumerate() {
            for e in graph.edge_range(u as u32) {
                let b = graph.node(graph.target(e));
                if *a < b {
                    links.push((*a, b));
                }
            }
        }
        self.components = Components::build(&nodes, &links);
        // Nodes that (re)joined may lack this node's advert (aged out during a long
        // partition, never heard after a restart, or flooded before they were connected):
        // it is flooded again without waiting for the refresh, `advert_min_gap` from now and
        // at most once per `WANTED_ADVERT_GAP` (many joins in a second, one flood). Until
        // every view holds the joined nodes the election's views differ and no vote counts
        // across them (`election/view.rs`), so waiting for the next regular check would
        // delay every election of a forming or merging mesh by up to `advert_interval`.
        let wanted_at = now;
        for event in self.partitions.update(&self.components) {
            let event = match event {
                PartitionEvent::Partitioned { unreachable, component, .. } => Event::Partitioned {
                    members: component.len() as u32,
                    unreachable: unreachable.len() as u32,
                },
                PartitionEvent::Healed { rejoined, component, .. } => {
                    self.advert_wanted = Some(self.advert_wanted.map_or(wanted_at, |w| w.min(wanted_at)));
                    Event::Healed { members: component.len() as u32, rejoined: rejoined.len() as u32 }
                }
                PartitionEvent::Joined { joined, component } => {
                    self.advert_wanted = Some(self.advert_wanted.map_or(wanted_at, |w| w.min(wanted_at)));
                    Event::Joined { members: component.len() as u32, joined: joined.len() as u32 }
                }
            };
            self.outbox.push_event(event, &mut self.metrics);
        }
        let me = self.config.node_id;
        let component: Vec<NodeId> = self.components.component_of(me).map_or_else(|| alloc::vec![me], <[_]>::to_vec);
        self.election.set_priority(self.election_priority());
        self.election.on_membership(now, &component, &mut self.rng);
        self.run_election_actions();
        self.advise_bridges(now);
    }

    /// An election message from `origin` arrived (body and ballot signature).
    pub(super) fn on_election(&mut self, now: Instant, link: crate::LinkId, origin: NodeId, body: &ElectionBody, signature: &[u8; 64]) {
        let Ok(message) = ElectionMessage::from_body(body) else {
            self.metrics.drop(crate::DropReason::MalformedBody);
            return;
        };
        if let Some(s) = self.secure.as_ref() {
            let verdict = match s.keyring_get(origin) {
                None => Err(SecurityDrop::UnknownSigner),
                Some(key) => key.verify(&message.signing_bytes(origin), signature),
            };
            if let Err(reason) = verdict {
                self.metrics.security.add(reason);
                if reason == SecurityDrop::BadSignature {
                    if let Some(neighbour) = self.links.get(link).map(|l| l.peer) {
                        self.judge(neighbour, Behaviour::InvalidSignature, now);
                    }
                }
                return;
            }
        }
        self.election.on_message(now, origin, &message, &Signature(*signature), &mut self.rng);
        self.run_election_actions();
    }

    /// Runs the election's timers.
    pub(super) fn election_timeout(&mut self, now: Instant) {
        if self.election.next_deadline() <= now {
            self.election.set_priority(self.election_priority());
            self.election.on_timeout(now, &mut self.rng);
            self.run_election_actions();
        }
    }

    /// Carries out what the election asked for.
    fn run_election_actions(&mut self) {
        while let Some(action) = self.election.poll_action() {
            match action {
                Action::Broadcast(m) => self.send_election(None, &m),
                Action::Send { to, message } => self.send_election(Some(to), &message),
                Action::Event(e) => self.on_election_event(e),
            }
        }
        self.sessions_follow_coordinator();
    }

    fn send_election(&mut self, to: Option<NodeId>, m: &SignedMessage) {
        let body = m.message.to_bytes();
        let parts: [&[u8]; 2] = [&body, &m.signature.0];
        // Partition-wide, like topology updates: every voter of the view must hear it.
        let ttl = self.config.max_ttl;
        let Some(seq) = self.take_seq() else { return };
        match to {
            None => {
                let (kind, prio) = (Kind::Election, Priority::Critical);
                let _ = self.originate_with_seq(seq, kind, Destination::Broadcast, prio, ttl, &parts, None);
            }
            Some(to) => {
                let how = super::delivery::Attempt::Route;
                let _ = self.send_unicast(seq, Kind::Election, to, Priority::Critical, ttl, &parts, 0, how);
            }
        }
    }

    fn on_election_event(&mut self, e: ElectionEvent) {
        let now = self.now;
        let event = match e {
            ElectionEvent::CoordinatorElected { term, node } => Event::CoordinatorElected { term, node },
            ElectionEvent::CoordinatorLost { term, node } => Event::CoordinatorLost { term, node },
            ElectionEvent::SteppedDown { term, .. } => Event::SteppedDown { term },
            ElectionEvent::DoubleVote { evidence } => {
                self.judge(evidence.voter, Behaviour::DoubleVote, now);
                Event::DoubleVote { voter: evidence.voter, term: evidence.term }
            }
            ElectionEvent::TrustPenalty { .. } => return, // charged with the double vote
        };
        self.outbox.push_event(event, &mut self.metrics);
    }

    /// The coordinator this node follows (or is), if any.
    pub fn coordinator(&self) -> Option<(u32, NodeId)> {
        self.election.coordinator().map(|c| (self.election.term(), c))
    }

    /// Every connected component of this node's topology view, as of the last change.
    pub fn components(&self) -> &Components {
        &self.components
    }

    /// This node's connected component, as of the last topology change (sorted).
    pub fn component(&self) -> &[NodeId] {
        self.components.component_of(self.config.node_id).unwrap_or(core::slice::from_ref(&self.config.node_id))
    }

    /// The election state machine (role, term, metrics).
    pub fn election(&self) -> &Election<impl BallotSigner + core::fmt::Debug, impl BallotVerifier + core::fmt::Debug> {
        &self.election
    }
}
