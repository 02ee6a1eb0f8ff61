//! The wire format: frames, message bodies and link-layer fragmentation.
//!
//! Two layers, documented field by field in `docs/PROTOCOL.md`:
//!
//! * **Link PDUs** ([`link`]): what one BLE write (or one UDP datagram) carries. A one-byte
//!   control field says whether the rest is a whole frame or a fragment of one. Frames larger
//!   than the link's MTU are split by [`link::Fragmenter`] and rebuilt by
//!   [`reassembly::Reassembler`] with bounded memory.
//! * **Frames** ([`frame`]): a fixed 28-byte [`FrameHeader`] in network byte order, a body
//!   whose layout depends on the [`Kind`] ([`messages`]), and an authentication trailer of
//!   `auth_len` bytes reserved for the security layer.
//!
//! Parsers follow the `new_checked` pattern: every field is validated before anything reads it,
//! and failure is a [`crate::DropReason`], never a panic.

pub mod frame;
pub mod link;
pub mod messages;
pub mod reassembly;
pub mod reservation;
pub mod session;

#[cfg(test)]
mod properties;

pub use frame::{Frame, FrameHeader, encode_frame};
pub use link::{Fragmenter, LinkPdu};
pub use messages::Message;

/// The protocol version this crate speaks: the first byte of every frame. A frame of any
/// other version is dropped as [`DropReason::UnsupportedVersion`](crate::DropReason) and not
/// relayed; version 2 added the `RoutingUpdate` reservation body and the [`flags::FLOW`] flag,
/// version 3 the election's view digest, version 4 the [`Kind::Resume`] notice to a restarted
/// neighbour (`docs/PROTOCOL.md` §10).
pub const VERSION: u8 = 6;
/// Bytes of the frame header.
pub const FRAME_HEADER_LEN: usize = 28;
/// Bytes of the fragment header, control byte included.
pub const FRAGMENT_HEADER_LEN: usize = 11;
/// The smallest link MTU: a BLE ATT write before MTU exchange (23 - 3 bytes).
pub const MIN_MTU: usize = 20;
/// Most fragments one frame may be split into.
pub const MAX_FRAGMENTS: usize = 255;

/// Message kinds: the second byte of every frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[repr(u8)]
pub enum Kind {
    /// Flooded description of a node (capabilities, battery, uptime).
    Announcement = 1,
    /// Link-local hello/heartbeat: handshake, liveness, link quality.
    Heartbeat = 2,
    /// Flooded link-state advert: a node's confirmed neighbours and their metrics.
    TopologyUpdate = 3,
    /// Routing control: hop-by-hop bandwidth reservations ([`reservation`]).
    RoutingUpdate = 4,
    /// Application payload, unicast or broadcast.
    GameData = 5,
    /// End-to-end acknowledgement of a unicast message.
    Ack = 6,
    /// Coordinator election: (pre-)vote requests, votes, coordinator heartbeats.
    Election = 7,
    /// Link-local acknowledgement of multi-hop frames (hop-by-hop retransmission).
    LinkAck = 8,
    /// Link-local notice to a neighbour whose own frames arrived behind what the sender holds
    /// of it (it restarted): the counters to jump past (`docs/PROTOCOL.md` §8.9).
    Resume = 9,
    /// A game session's message: a submit, an entry of its ordered stream, a repair
    /// request, a hand-over step ([`session`], `docs/PROTOCOL.md` §6.10).
    Session = 10,
}

impl Kind {
    /// Parses the kind byte.
    pub const fn from_u8(v: u8) -> Option<Kind> {
        Some(match v {
            1 => Kind::Announcement,
            2 => Kind::Heartbeat,
            3 => Kind::TopologyUpdate,
            4 => Kind::RoutingUpdate,
            5 => Kind::GameData,
            6 => Kind::Ack,
            7 => Kind::Election,
            8 => Kind::LinkAck,
            9 => Kind::Resume,
            10 => Kind::Session,
            _ => return None,
        })
    }

    /// Whether frames of this kind travel beyond one hop (by flooding or routing).
    pub const fn is_multi_hop(self) -> bool {
        !matches!(self, Kind::Heartbeat | Kind::LinkAck | Kind::Resume)
    }
}

/// Frame header flag bits.
pub mod flags {
    /// The two low bits carry the [`crate::Priority`].
    pub const PRIORITY_MASK: u8 = 0b0000_0011;
    /// The origin asks the destination for an end-to-end acknowledgement.
    pub const ACK_REQUESTED: u8 = 0b0000_0100;
    /// A unicast frame to be flooded rather than routed: every node relays it like a
    /// broadcast (only its destination delivers it). Retries that must get around broken or
    /// hostile routes use it.
    pub const FLOODED: u8 = 0b0000_1000;
    /// A unicast `GameData` frame of a reserved flow: nodes holding a confirmed reservation
    /// for its (origin, destination, priority) forward it along the reserved path and police
    /// it against the reservation's rate.
    pub const FLOW: u8 = 0b0001_0000;
    /// Bits that must be zero in version 2.
    pub const RESERVED: u8 = !(PRIORITY_MASK | ACK_REQUESTED | FLOODED | FLOW);
}
