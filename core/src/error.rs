//! Errors returned to the application for API misuse.
//!
//! Bad input from a *peer* is never an error: it is dropped with a [`crate::DropReason`] and
//! counted in [`crate::Metrics`]. These errors are for the caller of the node's methods.

use core::fmt;

use crate::{Instant, LinkId, NodeId};

/// A queue inside the node that can be full.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Queue {
    /// Link-layer frames waiting to be polled as [`crate::Output::Transmit`].
    Transmit,
    /// Payloads waiting to be polled as [`crate::Output::Deliver`].
    Delivery,
    /// Events waiting to be polled as [`crate::Output::Event`].
    Event,
    /// Acknowledged messages waiting for their acknowledgement
    /// ([`crate::Config::max_pending_acks`]).
    PendingAcks,
}

/// Misuse of the node's API by the application or runtime.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Error {
    /// An input carried a `now` earlier than a previous input's.
    TimeWentBackwards {
        /// The latest `now` the node has seen.
        last: Instant,
        /// The regressing `now` that was passed.
        now: Instant,
    },
    /// The link id is not up.
    UnknownLink(LinkId),
    /// `handle_link_up` was called for a link that is already up.
    LinkAlreadyUp(LinkId),
    /// The node already has `max` links up ([`crate::Config::max_links`]).
    TooManyLinks {
        /// The configured maximum.
        max: usize,
    },
    /// A link report carried an MTU below the BLE minimum of 20 bytes.
    InvalidMtu(u16),
    /// The payload does not fit in one message ([`crate::Config::max_message_size`]).
    PayloadTooLarge {
        /// The payload's length.
        len: usize,
        /// The largest payload accepted.
        max: usize,
    },
    /// The destination is this node itself or a reserved id, or an acknowledgement was asked
    /// for a broadcast.
    InvalidDestination(NodeId),
    /// A bounded queue is full; drain outputs and retry.
    QueueFull(Queue),
    /// The TTL requested is zero or above [`crate::Config::max_ttl`].
    InvalidTtl(u8),
    /// No neighbour is confirmed yet, so nothing can be sent.
    NoNeighbours,
    /// A secured node has not yet learned the destination's public key (from its
    /// announcement), so it cannot encrypt to it; retry once the node is announced.
    UnknownPeerKey(NodeId),
    /// The identity's 2^32 sequence numbers are spent: the node needs a new identity.
    SequenceExhausted,
    /// No open flow has this id (never opened, closed, refused, expired, lost or preempted:
    /// the node's [`crate::Event::FlowRefused`], [`crate::Event::FlowClosed`] or
    /// [`crate::Event::FlowPreempted`] says which).
    UnknownFlow(u32),
    /// A BLE data channel number above 36.
    InvalidChannel(u8),
    /// An interference measurement of this channel outside 0..=1 (or NaN).
    InvalidInterference(u8),
    /// BLE radio optimisation is turned off ([`crate::ble::BleConfig::enabled`]).
    BleDisabled,
    /// The flow's reservation is still pending: wait for [`crate::Event::FlowAdmitted`]
    /// before sending on it.
    FlowPending(u32),
    /// The session refused the call (not a player, payload too large, too many submits
    /// waiting).
    Session(crate::session::SubmitError),
    /// This node holds no session of this id (never joined, or its state was evicted).
    UnknownSession(crate::session::SessionId),
    /// The session refused a snapshot ([`crate::Node::provide_snapshot`]).
    Snapshot(crate::session::SnapshotError),
    /// The node already holds `max` sessions ([`crate::Config::max_sessions`]), each played
    /// or sequenced here.
    TooManySessions {
        /// The configured maximum.
        max: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::TimeWentBackwards { last, now } => {
                write!(f, "time went backwards: input at {now:?} after one at {last:?}")
            }
            Error::UnknownLink(l) => write!(f, "link {} is not up", l.0),
            Error::LinkAlreadyUp(l) => write!(f, "link {} is already up", l.0),
            Error::TooManyLinks { max } => write!(f, "too many links: at most {max} may be up"),
            Error::InvalidMtu(m) => write!(f, "invalid MTU {m}: must be at least 20 bytes"),
            Error::PayloadTooLarge { len, max } => {
                write!(f, "payload of {len} bytes exceeds the maximum of {max}")
            }
            Error::InvalidDestination(n) => write!(f, "invalid destination {n:?}"),
            Error::QueueFull(q) => write!(f, "{q:?} queue is full: drain outputs first"),
            Error::InvalidTtl(t) => write!(f, "invalid TTL {t}: must be between 1 and max_ttl"),
            Error::NoNeighbours => f.write_str("no confirmed neighbour yet: nothing to send to"),
            Error::UnknownPeerKey(n) => write!(f, "no public key known yet for {n:?}: wait for its announcement"),
            Error::SequenceExhausted => f.write_str("sequence numbers of this identity are spent"),
            Error::UnknownFlow(id) => write!(f, "flow {id} is not open"),
            Error::InvalidChannel(c) => write!(f, "invalid data channel {c}: must be 0..=36"),
            Error::InvalidInterference(c) => {
                write!(f, "invalid interference on channel {c}: must be a fraction in 0..=1")
            }
            Error::BleDisabled => f.write_str("BLE radio optimisation is disabled in the configuration"),
            Error::FlowPending(id) => write!(f, "flow {id} is not admitted yet"),
            Error::Session(e) => write!(f, "session: {e}"),
            Error::UnknownSession(s) => write!(f, "no session {} is held here", s.0),
            Error::Snapshot(e) => write!(f, "snapshot: {e}"),
            Error::TooManySessions { max } => write!(f, "too many sessions: at most {max} are held"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// A configuration value that makes no sense, with the field it concerns.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ConfigError {
    /// The name of the offending [`crate::Config`] field.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration `{}`: {}", self.field, self.problem)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ConfigError {}
