//! Message bodies, one fixed layout per [`Kind`], all in network byte order.
//!
//! [`Message::parse`] validates a body for its kind (size, enumerated fields) before returning
//! a typed, zero-copy view. Encoding is `IntoBytes::as_bytes` on the same structs.

use zerocopy::network_endian::{I16, U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::{Frame, Kind};
use crate::DropReason;

/// Battery value meaning "unknown / mains powered".
pub const BATTERY_UNKNOWN: u8 = 0xFF;
/// Most neighbour ids one heartbeat lists.
pub const MAX_HEARTBEAT_NEIGHBOURS: usize = 16;
/// Most acknowledgements one [`Kind::LinkAck`] frame carries (it then fits a 185-byte MTU whole).
pub const MAX_LINK_ACKS: usize = 12;

/// [`Kind::Announcement`]: a node describes itself; flooded periodically.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Announcement {
    /// Capability bits ([`crate::Capabilities`]).
    pub capabilities: U16,
    /// Battery percentage 0..=100, or [`BATTERY_UNKNOWN`].
    pub battery: u8,
    /// Links currently confirmed.
    pub connections: u8,
    /// Seconds since the node started.
    pub uptime_secs: U32,
    /// Processing power in arbitrary units (election priority input).
    pub processing_power: U16,
    /// Zero in version 2.
    pub reserved: U16,
}

/// [`Kind::Heartbeat`]: link-local (TTL 1) handshake, liveness and link-quality exchange.
///
/// The frame's destination is the neighbour heard on this link, or broadcast while none has
/// been heard: seeing its own id there tells the neighbour that the link works both ways.
/// The frame's `seq` is a per-link heartbeat counter (heartbeats never leave the link, so
/// they do not use the origin's flood sequence space); gaps reveal lost heartbeats.
/// `neighbour_count` ids of the sender's confirmed neighbours (`u64` each) follow the fixed
/// part: receivers learn their two-hop neighbourhood, which makes relay suppression safe.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Heartbeat {
    /// Delivery ratio of the neighbour's heartbeats as measured by the sender, 0..=255.
    pub rx_quality: u8,
    /// Battery percentage 0..=100, or [`BATTERY_UNKNOWN`].
    pub battery: u8,
    /// Links currently confirmed by the sender.
    pub connections: u8,
    /// Number of neighbour ids after the fixed part (at most [`MAX_HEARTBEAT_NEIGHBOURS`]).
    pub neighbour_count: u8,
    /// Sender's clock when sending, low 32 bits of microseconds.
    pub tx_time: U32,
    /// The `tx_time` of the last heartbeat received from the neighbour (0: none yet).
    pub echo_time: U32,
    /// Microseconds between receiving that heartbeat and sending this one.
    pub echo_delay: U32,
    /// Capability bits.
    pub capabilities: U16,
    /// Zero in version 2.
    pub reserved2: U16,
}

/// Fixed part of a [`Kind::LinkAck`]; `count` [`LinkAckEntry`]s follow.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct LinkAckHeader {
    /// Number of entries that follow, 1..=[`MAX_LINK_ACKS`].
    pub count: u8,
    /// Zero in version 2.
    pub reserved: [u8; 3],
}

/// One multi-hop frame acknowledged to the neighbour that sent it.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct LinkAckEntry {
    /// The frame's origin.
    pub origin: U64,
    /// The frame's sequence number.
    pub seq: U32,
}

/// [`ResumeBody::known`]: `flood_top` is valid.
pub const RESUME_FLOOD_TOP: u8 = 0b01;
/// [`ResumeBody::known`]: `advert_version` is valid.
pub const RESUME_ADVERT_VERSION: u8 = 0b10;

/// Body of a [`Kind::Resume`]: what the sender holds of the destination's own counters. Sent
/// when the destination's own frames arrived behind them, as a restarted node's do; the
/// destination jumps past them (`docs/PROTOCOL.md` §8.9).
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct ResumeBody {
    /// The highest flood sequence number the sender accepted from the destination.
    pub flood_top: U32,
    /// The version of the destination's topology advert the sender holds.
    pub advert_version: U32,
    /// Which fields are valid: [`RESUME_FLOOD_TOP`], [`RESUME_ADVERT_VERSION`], at least one.
    pub known: u8,
    /// Zero in version 4.
    pub reserved: [u8; 3],
}

/// Fixed part of a [`Kind::TopologyUpdate`]; `entry_count` [`LinkEntry`]s follow.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct TopologyHeader {
    /// Advert version; a newer version of the same origin replaces the older.
    pub advert_version: U32,
    /// Number of entries that follow.
    pub entry_count: u8,
    /// Zero in version 2.
    pub reserved: [u8; 3],
}

/// One confirmed neighbour in a topology advert.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct LinkEntry {
    /// The neighbour.
    pub neighbour: U64,
    /// Smoothed round-trip time / 2, milliseconds.
    pub latency_ms: U16,
    /// Delivery probability in both directions, 0..=255.
    pub reliability: u8,
    /// Congestion of the link, 0 (idle) ..= 255 (saturated).
    pub congestion: u8,
    /// Bandwidth estimate, kbit/s.
    pub bandwidth_kbps: U16,
    /// Smoothed RSSI in dBm.
    pub rssi: I16,
}

/// Prefix of a [`Kind::GameData`] body whose frame has [`crate::wire::flags::ACK_REQUESTED`]:
/// the end-to-end message number. Every attempt to deliver one message is a new frame (new
/// `seq`, so relays that dropped an earlier attempt as a duplicate forward the retry) carrying
/// the same `msg_seq`, by which the destination delivers the message once and acknowledges it.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct E2eHeader {
    /// The message number: the `seq` of the first attempt.
    pub msg_seq: U32,
}

/// [`Kind::Ack`]: the destination acknowledges a unicast message to its origin.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct AckBody {
    /// Message number (`E2eHeader::msg_seq`) of the acknowledged message; its origin is this
    /// frame's destination.
    pub acked_seq: U32,
    /// Hops the acknowledged message travelled.
    pub hops: u8,
    /// Zero in version 2.
    pub reserved: [u8; 3],
}

/// [`Kind::Election`]: coordinator election traffic. The body is this 28-byte structure
/// followed by the sender's 64-byte ballot signature over
/// [`crate::election::ElectionMessage::signing_bytes`] (zeros on an unsecured mesh).
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct ElectionBody {
    /// Operation, an [`ElectionOp`].
    pub op: u8,
    /// For votes: 1 granted, 0 denied.
    pub granted: u8,
    /// For votes: bit 7 (`0x80`) set marks the answer to a *pre*-vote, so a late pre-vote
    /// grant is never counted as a vote; bits 0..=6 carry the reason code of a denial
    /// (0 = none; see [`crate::election::DenyReason`]).
    pub reason: u8,
    /// Election mode: 0 per-partition, 1 quorum.
    pub mode: u8,
    /// The term.
    pub term: U32,
    /// The candidate (for requests and votes) or coordinator (for heartbeats).
    pub candidate: U64,
    /// Candidate priority in thousandths.
    pub priority_milli: U32,
    /// The sender's view: a digest of the voter set it counts
    /// ([`crate::election::ViewDigest`]; version 3).
    pub view: U64,
}

/// Operations of an [`ElectionBody`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum ElectionOp {
    /// Would you vote for me in the next term? (does not disturb the current term)
    PreVoteRequest = 1,
    /// Vote for me in this term.
    VoteRequest = 2,
    /// Answer to a (pre-)vote request.
    Vote = 3,
    /// The coordinator is alive.
    CoordinatorHeartbeat = 4,
}

impl ElectionOp {
    /// Parses the op byte.
    pub const fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => ElectionOp::PreVoteRequest,
            2 => ElectionOp::VoteRequest,
            3 => ElectionOp::Vote,
            4 => ElectionOp::CoordinatorHeartbeat,
            _ => return None,
        })
    }
}

/// A validated, typed view of a frame's body.
#[derive(Clone, Copy, Debug)]
pub enum Message<'a> {
    /// See [`Announcement`].
    Announcement(&'a Announcement),
    /// See [`Heartbeat`]; the sender's neighbour ids follow.
    Heartbeat(&'a Heartbeat, &'a [U64]),
    /// See [`TopologyHeader`]; the entries follow.
    TopologyUpdate(&'a TopologyHeader, &'a [LinkEntry]),
    /// A hop-by-hop reservation message (header and explicit path).
    RoutingUpdate(super::reservation::ReservationMsg<'a>),
    /// Application payload. With [`crate::wire::flags::ACK_REQUESTED`] the body starts with
    /// an [`E2eHeader`] and `msg_seq` is its message number; without it, the body is all
    /// payload and `msg_seq` is `None`.
    GameData {
        /// End-to-end message number (the same across retries of one message).
        msg_seq: Option<u32>,
        /// The application's bytes.
        payload: &'a [u8],
    },
    /// See [`AckBody`].
    Ack(&'a AckBody),
    /// See [`ElectionBody`]; the 64-byte ballot signature follows it.
    Election(&'a ElectionBody, &'a [u8; 64]),
    /// See [`LinkAckHeader`]; the entries follow.
    LinkAck(&'a [LinkAckEntry]),
    /// See [`ResumeBody`].
    Resume(&'a ResumeBody),
    /// A game session's message, validated ([`super::session::validate`]); decode it with
    /// [`super::session::decode`].
    Session(crate::session::SessionId, &'a [u8]),
}

fn exact<T: FromBytes + KnownLayout + Immutable + Unaligned>(body: &[u8]) -> Result<&T, DropReason> {
    T::ref_from_bytes(body).map_err(|_| DropReason::MalformedBody)
}

impl<'a> Message<'a> {
    /// Validates the body of `frame` for its kind.
    pub fn parse(frame: &Frame<'a>) -> Result<Self, DropReason> {
        let body = frame.body();
        Ok(match frame.kind() {
            Kind::Announcement => {
                let a: &Announcement = exact(body)?;
                if a.battery > 100 && a.battery != BATTERY_UNKNOWN {
                    return Err(DropReason::MalformedBody);
                }
                Message::Announcement(a)
            }
            Kind::Heartbeat => {
                let (h, rest) = Heartbeat::ref_from_prefix(body).map_err(|_| DropReason::MalformedBody)?;
                let neighbours = <[U64]>::ref_from_bytes(rest).map_err(|_| DropReason::MalformedBody)?;
                let count = usize::from(h.neighbour_count);
                if (h.battery > 100 && h.battery != BATTERY_UNKNOWN)
                    || neighbours.len() != count
                    || count > MAX_HEARTBEAT_NEIGHBOURS
                {
                    return Err(DropReason::MalformedBody);
                }
                Message::Heartbeat(h, neighbours)
            }
            Kind::TopologyUpdate => {
                let (head, rest) =
                    TopologyHeader::ref_from_prefix(body).map_err(|_| DropReason::MalformedBody)?;
                let entries = <[LinkEntry]>::ref_from_bytes(rest).map_err(|_| DropReason::MalformedBody)?;
                if entries.len() != usize::from(head.entry_count) {
                    return Err(DropReason::MalformedBody);
                }
                Message::TopologyUpdate(head, entries)
            }
            Kind::RoutingUpdate => Message::RoutingUpdate(super::reservation::ReservationMsg::new_checked(body)?),
            Kind::GameData if frame.header().flags & super::flags::ACK_REQUESTED != 0 => {
                let (e2e, payload) = E2eHeader::ref_from_prefix(body).map_err(|_| DropReason::MalformedBody)?;
                Message::GameData { msg_seq: Some(e2e.msg_seq.get()), payload }
            }
            Kind::GameData => Message::GameData { msg_seq: None, payload: body },
            Kind::Ack => Message::Ack(exact(body)?),
            Kind::Election => {
                let (e, signature) = ElectionBody::ref_from_prefix(body).map_err(|_| DropReason::MalformedBody)?;
                let signature = <&[u8; 64]>::try_from(signature).map_err(|_| DropReason::MalformedBody)?;
                if ElectionOp::from_u8(e.op).is_none() || e.granted > 1 || e.mode > 1 {
                    return Err(DropReason::MalformedBody);
                }
                Message::Election(e, signature)
            }
            Kind::LinkAck => {
                let (head, rest) = LinkAckHeader::ref_from_prefix(body).map_err(|_| DropReason::MalformedBody)?;
                let entries = <[LinkAckEntry]>::ref_from_bytes(rest).map_err(|_| DropReason::MalformedBody)?;
                let count = usize::from(head.count);
                if entries.len() != count || count == 0 || count > MAX_LINK_ACKS {
                    return Err(DropReason::MalformedBody);
                }
                Message::LinkAck(entries)
            }
            Kind::Resume => {
                let r: &ResumeBody = exact(body)?;
                if r.known == 0 || r.known & !(RESUME_FLOOD_TOP | RESUME_ADVERT_VERSION) != 0 {
                    return Err(DropReason::MalformedBody);
                }
                Message::Resume(r)
            }
            Kind::Session => Message::Session(super::session::validate(body)?, body),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{FrameHeader, encode_frame};
    use crate::{Destination, NodeId, Priority};
    use alloc::vec::Vec;

    fn frame_of(kind: Kind, body: &[u8]) -> Vec<u8> {
        let h = FrameHeader::new(kind, Priority::Normal, 1, NodeId(1), Destination::Broadcast, 1);
        let mut out = Vec::new();
        encode_frame(&mut out, &h, &[body]);
        out
    }

    #[test]
    fn body_sizes_are_fixed() {
        assert_eq!(size_of::<Announcement>(), 12);
        assert_eq!(size_of::<Heartbeat>(), 20);
        assert_eq!(size_of::<TopologyHeader>(), 8);
        assert_eq!(size_of::<LinkEntry>(), 16);
        assert_eq!(size_of::<super::super::reservation::ReservationHeader>(), 28);
        assert_eq!(size_of::<AckBody>(), 8);
        assert_eq!(size_of::<ElectionBody>(), 28);
        assert_eq!(size_of::<LinkAckHeader>(), 4);
        assert_eq!(size_of::<LinkAckEntry>(), 12);
    }

    #[test]
    fn wrong_sizes_and_bad_enums_are_malformed() {
        for kind in [Kind::Announcement, Kind::Heartbeat, Kind::RoutingUpdate, Kind::Ack, Kind::Election, Kind::LinkAck] {
            let b = frame_of(kind, &[0u8; 3]);
            let f = Frame::new_checked(&b, 4096).unwrap();
            assert_eq!(Message::parse(&f).unwrap_err(), DropReason::MalformedBody, "{kind:?}");
        }
        let mut topo = [0u8; 8 + 16];
        topo[4] = 2; // claims two entries, carries one
        let b = frame_of(Kind::TopologyUpdate, &topo);
        assert_eq!(Message::parse(&Frame::new_checked(&b, 4096).unwrap()).unwrap_err(), DropReason::MalformedBody);
        let mut election = [0u8; 28 + 64];
        election[0] = 9;
        let b = frame_of(Kind::Election, &election);
        assert_eq!(Message::parse(&Frame::new_checked(&b, 4096).unwrap()).unwrap_err(), DropReason::MalformedBody);
        let mut ann = [0u8; 12];
        ann[2] = 101;
        let b = frame_of(Kind::Announcement, &ann);
        assert_eq!(Message::parse(&Frame::new_checked(&b, 4096).unwrap()).unwrap_err(), DropReason::MalformedBody);
    }

    #[test]
    fn topology_entries_are_viewed_in_place() {
        let mut topo = [0u8; 8 + 32];
        topo[4] = 2;
        topo[8..16].copy_from_slice(&7u64.to_be_bytes());
        topo[24..32].copy_from_slice(&9u64.to_be_bytes());
        let b = frame_of(Kind::TopologyUpdate, &topo);
        let f = Frame::new_checked(&b, 4096).unwrap();
        let Message::TopologyUpdate(h, entries) = Message::parse(&f).unwrap() else { panic!() };
        assert_eq!(h.entry_count, 2);
        assert_eq!(entries[0].neighbour.get(), 7);
        assert_eq!(entries[1].neighbour.get(), 9);
    }
}
