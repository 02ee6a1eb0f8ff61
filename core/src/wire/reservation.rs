//! [`crate::wire::Kind::RoutingUpdate`] bodies: the hop-by-hop bandwidth reservation
//! protocol (RSVP-like soft state; the node side is `node/reservations.rs`).
//!
//! Every message travels **one hop**: from a node of the flow's explicit path to its
//! neighbour on that path, which acts on it and, if the message goes on, sends its own copy
//! to the next neighbour. The body is a fixed [`ReservationHeader`] followed by the path as
//! `path_len` node ids (`path[0]` is the flow's source, `path[path_len - 1]` its
//! destination); `hop` is the receiver's index in that path.
//!
//! | op | direction | sent by |
//! |---|---|---|
//! | `Reserve` | source → destination | the source, then each hop that admitted it |
//! | `Confirm` | destination → source | the destination, then each hop on the way back |
//! | `Refuse` | towards the source | the refusing hop (`at`, `reason`), then each hop back |
//! | `Release` | towards the destination | the source on close, a hop that lost its upstream link |
//! | `Refresh` | source → destination | the source every `reservation_refresh` (soft state) |
//! | `Teardown` | towards the source | a hop that lost its downstream link (`at`) |

use zerocopy::network_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::{DropReason, NodeId};

/// Most nodes an explicit reservation path may name (source and destination included).
pub const MAX_RESERVATION_PATH: usize = 16;

/// Bytes of [`ReservationHeader`].
pub const RESERVATION_HEADER_LEN: usize = 28;

/// The fixed part of a [`crate::wire::Kind::RoutingUpdate`] body; `path_len` node ids
/// (8 bytes each, network order) follow.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct ReservationHeader {
    /// Operation, a [`ReservationOp`].
    pub op: u8,
    /// `Refuse`: a [`crate::flow::ReservationRefusal`] code; `Teardown`: 1 (link lost);
    /// zero for the other ops.
    pub reason: u8,
    /// Priority of the flow (0 critical ..= 3 background).
    pub priority: u8,
    /// Nodes in the path, `2 ..= 16`.
    pub path_len: u8,
    /// Index in the path of the node this message is addressed to.
    pub hop: u8,
    /// Zero in version 2.
    pub reserved: u8,
    /// `Reserve`/`Refresh`: latency bound of the whole path, milliseconds (0 = none).
    pub max_latency_ms: U16,
    /// Flow identifier chosen by the source (`path[0]`); the pair names the flow. Non-zero.
    pub flow_id: U32,
    /// Bandwidth reserved on every link of the path, kbit/s. Non-zero.
    pub bandwidth_kbps: U32,
    /// `Reserve`/`Refresh`: latency of the path up to the receiver, milliseconds, summed by
    /// the hops from their link metrics (saturating).
    pub latency_ms: U16,
    /// Zero in version 2.
    pub reserved2: U16,
    /// `Refuse`: the refusing node; `Teardown`: the node that lost its downstream link;
    /// zero for the other ops.
    pub at: U64,
}

/// Operations of a [`ReservationHeader`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum ReservationOp {
    /// Reserve tentatively and pass on towards the destination.
    Reserve = 1,
    /// The destination accepted: mark confirmed and pass back towards the source.
    Confirm = 2,
    /// A hop refused: drop tentative state and pass back towards the source.
    Refuse = 3,
    /// Drop the reservation and pass on towards the destination.
    Release = 4,
    /// Soft-state refresh: extend (or re-admit) and pass on towards the destination.
    Refresh = 5,
    /// A downstream link broke: drop the reservation and pass back towards the source.
    Teardown = 6,
}

impl ReservationOp {
    /// Parses the op byte.
    pub const fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => ReservationOp::Reserve,
            2 => ReservationOp::Confirm,
            3 => ReservationOp::Refuse,
            4 => ReservationOp::Release,
            5 => ReservationOp::Refresh,
            6 => ReservationOp::Teardown,
            _ => return None,
        })
    }

    /// Whether the op travels from the source towards the destination.
    pub const fn is_downstream(self) -> bool {
        matches!(self, ReservationOp::Reserve | ReservationOp::Release | ReservationOp::Refresh)
    }
}

/// Reason code of a `Teardown`: a link of the path broke.
pub const TEARDOWN_LINK_LOST: u8 = 1;

/// A validated reservation message: the header and the path, viewed in place.
#[derive(Clone, Copy, Debug)]
pub struct ReservationMsg<'a> {
    /// The fixed part.
    pub head: &'a ReservationHeader,
    /// The explicit path, `head.path_len` ids.
    pub path: &'a [U64],
}

impl<'a> ReservationMsg<'a> {
    /// Validates a `RoutingUpdate` body. Any defect is [`DropReason::MalformedBody`]: unknown
    /// op, priority above 3, path length outside `2 ..= 16` or disagreeing with the body,
    /// a hop index the op cannot be addressed to, a reserved id or a repeated node in the
    /// path, zero flow id or bandwidth, reserved bytes set, a reason or `at` field that does
    /// not fit the op.
    pub fn new_checked(body: &'a [u8]) -> Result<Self, DropReason> {
        let bad = DropReason::MalformedBody;
        let (head, rest) = ReservationHeader::ref_from_prefix(body).map_err(|_| bad)?;
        let path = <[U64]>::ref_from_bytes(rest).map_err(|_| bad)?;
        let op = ReservationOp::from_u8(head.op).ok_or(bad)?;
        let len = usize::from(head.path_len);
        let hop = usize::from(head.hop);
        if head.priority > 3 || !(2..=MAX_RESERVATION_PATH).contains(&len) || path.len() != len {
            return Err(bad);
        }
        if head.reserved != 0 || head.reserved2.get() != 0 || head.flow_id.get() == 0 || head.bandwidth_kbps.get() == 0 {
            return Err(bad);
        }
        let hop_ok = if op.is_downstream() { (1..len).contains(&hop) } else { hop + 1 < len };
        if !hop_ok {
            return Err(bad);
        }
        for (i, n) in path.iter().enumerate() {
            if !NodeId(n.get()).is_unicast() || path[..i].iter().any(|m| m.get() == n.get()) {
                return Err(bad);
            }
        }
        let at = head.at.get();
        let at_ok = |at: u64| path.iter().any(|n| n.get() == at);
        let fields_ok = match op {
            ReservationOp::Refuse => crate::flow::ReservationRefusal::from_code(head.reason).is_some() && at_ok(at),
            ReservationOp::Teardown => head.reason == TEARDOWN_LINK_LOST && at_ok(at),
            _ => head.reason == 0 && at == 0,
        };
        if !fields_ok {
            return Err(bad);
        }
        Ok(ReservationMsg { head, path })
    }

    /// The operation.
    pub fn op(&self) -> ReservationOp {
        ReservationOp::from_u8(self.head.op).expect("validated")
    }

    /// The node at index `i` of the path.
    pub fn node(&self, i: usize) -> NodeId {
        NodeId(self.path[i].get())
    }

    /// The flow's source.
    pub fn source(&self) -> NodeId {
        self.node(0)
    }

    /// The flow's destination.
    pub fn destination(&self) -> NodeId {
        self.node(self.path.len() - 1)
    }
}
