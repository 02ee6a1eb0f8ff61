//! What a node hands back to its driver: the [`Output`] enum and its parts.

use core::time::Duration;

use crate::{Destination, Instant, LinkId, MessageId, NodeId, Priority};

/// One output of [`crate::Node::poll_output`].
///
/// Byte slices borrow the node's internal buffers: copy them out (or write them to the
/// transport) before polling again. The buffer is recycled on the next poll, which is what
/// keeps steady-state operation free of allocation.
#[derive(Debug)]
#[non_exhaustive]
pub enum Output<'a> {
    /// Write these bytes, as one unit, to a link.
    Transmit(Transmit<'a>),
    /// A payload for the application.
    Deliver(Delivery<'a>),
    /// The next entry of a game session's ordered stream ([`crate::Node::join_session`]):
    /// every player delivers the same entries in the same index order. Entries and the
    /// session's [`Event::Session`]s come in the order they arose.
    Sequenced {
        /// The session.
        session: crate::session::SessionId,
        /// The entry (index, epoch, and the event, join or leave it places).
        entry: &'a crate::session::Entry,
    },
    /// A game session's state as of entry `index`, which another player's application
    /// provided ([`crate::Node::provide_snapshot`]): this node joined (or joined again after
    /// a restart) and its game starts from it. It comes before every entry the session hands
    /// this node's game after its join; the entries after `index` follow as
    /// [`Output::Sequenced`].
    Snapshot {
        /// The session.
        session: crate::session::SessionId,
        /// The entry the state is as of.
        index: u64,
        /// The application's bytes.
        data: &'a [u8],
    },
    /// Something the application may want to know.
    Event(Event),
    /// A radio decision for the runtime to apply (connection parameters, channel map,
    /// advertising schedule); each is handed out once, when it changed. A runtime that
    /// cannot apply it ignores it. See [`crate::ble`].
    Radio(crate::ble::RadioDecision),
    /// Nothing more to do until this instant (or until the next input, whichever is first).
    /// Call [`crate::Node::handle_timeout`] once it is reached.
    Timeout(Instant),
}

/// A link PDU to write.
#[derive(Debug, PartialEq, Eq)]
pub struct Transmit<'a> {
    /// The link to write to.
    pub link: LinkId,
    /// The bytes; never longer than the link's MTU.
    pub bytes: &'a [u8],
}

/// A payload delivered to the application.
#[derive(Debug, PartialEq, Eq)]
pub struct Delivery<'a> {
    /// The node that sent it.
    pub origin: NodeId,
    /// Whether it was sent to this node or to everyone.
    pub destination: Destination,
    /// The origin's sequence number of the message.
    pub seq: u32,
    /// Its priority class.
    pub priority: Priority,
    /// Hops it travelled (1 for a direct neighbour).
    pub hops: u8,
    /// The payload.
    pub payload: &'a [u8],
}

/// Why a neighbour is considered degraded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Degradation {
    /// Heartbeats were missed ([`crate::Config::suspect_after_missed`]).
    MissedHeartbeats,
    /// The expected transmission count rose above [`crate::Config::degraded_etx`].
    PoorQuality,
}

/// Why a neighbour was lost.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LossReason {
    /// No heartbeat for [`crate::Config::lost_after_missed`] intervals.
    MissedHeartbeats,
    /// The runtime reported the link down.
    LinkDown,
}

/// Events, in the order they happened.
#[derive(Clone, Copy, PartialEq, Debug)]
#[non_exhaustive]
pub enum Event {
    /// Both sides confirmed the link: the neighbour is usable.
    NeighbourUp {
        /// The neighbour.
        node: NodeId,
        /// The link it is on.
        link: LinkId,
    },
    /// A usable neighbour got worse; it stays usable until lost.
    NeighbourDegraded {
        /// The neighbour.
        node: NodeId,
        /// The link it is on.
        link: LinkId,
        /// Why.
        reason: Degradation,
    },
    /// A degraded neighbour is healthy again.
    NeighbourRecovered {
        /// The neighbour.
        node: NodeId,
        /// The link it is on.
        link: LinkId,
    },
    /// The routing table was recomputed after the topology changed.
    RoutesChanged {
        /// The topology version the table reflects.
        topology_version: u64,
    },
    /// An acknowledged message reached its destination.
    Delivered {
        /// The message (its origin is this node; `seq` is its message number).
        id: MessageId,
        /// Its destination.
        to: NodeId,
        /// From the first attempt to the acknowledgement.
        latency: Duration,
        /// Attempts made (1 when the first one got through).
        attempts: u8,
    },
    /// An acknowledged message was not acknowledged after every retry.
    DeliveryFailed {
        /// The message.
        id: MessageId,
        /// Its destination.
        to: NodeId,
    },
    /// A secured node started a new block of sequence numbers: store `high_water` durably
    /// *before* transmitting what follows, and pass it back after a restart
    /// ([`crate::Security::restored`]) so no number is ever reused.
    PersistSequence {
        /// The mark to store.
        high_water: u64,
    },
    /// This node's component elected (or re-confirmed after a merge) a coordinator.
    CoordinatorElected {
        /// The term.
        term: u32,
        /// The coordinator (possibly this node).
        node: NodeId,
    },
    /// The coordinator this node followed is gone (silent, unreachable or replaced).
    CoordinatorLost {
        /// The term it led.
        term: u32,
        /// The former coordinator.
        node: NodeId,
    },
    /// This node stopped being coordinator.
    SteppedDown {
        /// The term it led.
        term: u32,
    },
    /// A voter signed two different votes in one term; its trust was lowered. The signed
    /// evidence is in the election's state ([`crate::Node::election`]).
    DoubleVote {
        /// The offender.
        voter: NodeId,
        /// The term.
        term: u32,
    },
    /// Members of this node's component became unreachable: the mesh split. The members are
    /// [`crate::Node::component`].
    Partitioned {
        /// Nodes in this node's component now.
        members: u32,
        /// Nodes lost from it.
        unreachable: u32,
    },
    /// Nodes lost in a split are reachable again: components merged.
    Healed {
        /// Nodes in this node's component now.
        members: u32,
        /// Nodes regained.
        rejoined: u32,
    },
    /// Nodes never seen before joined this node's component (a new player, or a mesh this
    /// node never knew merging in).
    Joined {
        /// Nodes in this node's component now.
        members: u32,
        /// Nodes new to it.
        joined: u32,
    },
    /// Bridge search: connect to `node`, heard advertising but in another component (see
    /// [`crate::Node::handle_overheard`]); the link would heal a partition.
    ConnectAdvised {
        /// The node to connect to.
        node: NodeId,
        /// Whether a bridge-capable node is involved (else two plain peers, lower id dials).
        bridge: bool,
    },
    /// A QoS flow this node opened ended without [`crate::Node::close_flow`]; its
    /// reservation is released.
    FlowClosed {
        /// The flow.
        flow: crate::flow::FlowId,
        /// Why.
        reason: crate::flow::FlowEnd,
    },
    /// Every node of the path of a QoS flow this node opened holds its reservation (the
    /// destination's `Confirm` came back): the flow is admitted.
    FlowAdmitted {
        /// The flow.
        flow: crate::flow::FlowId,
    },
    /// A node of the path refused the reservation of a QoS flow this node opened, or no
    /// answer came in time; the flow is gone (its id is unknown from now on).
    FlowRefused {
        /// The flow.
        flow: crate::flow::FlowId,
        /// Why.
        reason: crate::flow::ReservationRefusal,
        /// The refusing node (this node itself for a timeout).
        at: NodeId,
    },
    /// A QoS flow this node opened was preempted under critical congestion; its
    /// reservation is released.
    FlowPreempted {
        /// The flow.
        flow: crate::flow::FlowId,
        /// Where and why.
        by: crate::flow::Preempted,
    },
    /// Backbone link management: this node holds more than
    /// [`crate::Config::max_connections`] links, and the degree-capped spanning backbone of
    /// its topology view advises on the link to `peer` (partition bridging is
    /// [`Event::ConnectAdvised`]).
    LinkAdvice {
        /// The neighbour.
        peer: NodeId,
        /// Drop the link, or keep it after all.
        advice: crate::flow::LinkAdvice,
    },
    /// Something happened in a game session this node plays: its submit was sequenced or
    /// failed, it joined, its join was refused, or the partition lost it.
    Session {
        /// The session.
        session: crate::session::SessionId,
        /// What happened.
        event: crate::session::SessionEvent,
    },
    /// A neighbour is no longer usable.
    NeighbourLost {
        /// The neighbour.
        node: NodeId,
        /// The link it was on.
        link: LinkId,
        /// Why.
        reason: LossReason,
    },
}
