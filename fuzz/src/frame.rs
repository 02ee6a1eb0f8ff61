//! Frame decode: raw bytes through `LinkPdu::new_checked`, `Frame::new_checked` and
//! `Message::parse`; and typed frames built from generated fields, which must decode to
//! exactly those fields.

use bolero::TypeGenerator;
use blemesh_core::wire::messages::{Heartbeat, LinkAckEntry, LinkAckHeader, LinkEntry, ResumeBody, TopologyHeader};
use blemesh_core::wire::link::{CTRL_FRAGMENT, CTRL_WHOLE};
use blemesh_core::wire::{FRAGMENT_HEADER_LEN, FRAME_HEADER_LEN, Frame, FrameHeader, Kind, LinkPdu, Message, encode_frame, flags};
use blemesh_core::{Destination, NodeId, Priority};
use zerocopy::IntoBytes;
use zerocopy::network_endian::{I16, U16, U32, U64};

/// Largest frame accepted (the node default).
pub const MAX: usize = 2048;

/// Raw bytes: whatever decodes must be self-consistent and re-encode to the same bytes.
pub fn check_raw(bytes: &[u8]) {
    match LinkPdu::new_checked(bytes, MAX) {
        Ok(LinkPdu::Whole(f)) => {
            assert_eq!(bytes[0], CTRL_WHOLE);
            assert_eq!(f, &bytes[1..]);
        }
        Ok(LinkPdu::Fragment(f)) => {
            assert_eq!(bytes[0], CTRL_FRAGMENT);
            assert_eq!(f.check.to_be_bytes(), bytes[7..FRAGMENT_HEADER_LEN], "the check is bytes 7..11");
            assert!(f.count >= 2 && f.index < f.count, "{f:?}");
            assert!(usize::from(f.total_len) <= MAX);
            assert!(!f.chunk.is_empty());
            assert!(f.offset() + f.chunk.len() <= usize::from(f.total_len), "fragment overruns its frame");
            assert_eq!(f.chunk, &bytes[FRAGMENT_HEADER_LEN..]);
        }
        Err(_) => {}
    }
    for input in [bytes, bytes.get(1..).unwrap_or_default()] {
        let Ok(frame) = Frame::new_checked(input, MAX) else { continue };
        let h = frame.header();
        assert!(input.len() <= MAX);
        assert_eq!(input.len(), FRAME_HEADER_LEN + frame.body().len() + frame.auth().len());
        assert_eq!(usize::from(h.body_len.get()), frame.body().len());
        assert_eq!(usize::from(h.auth_len), frame.auth().len());
        assert_eq!(h.flags & flags::RESERVED, 0);
        assert!(h.origin().is_unicast());
        assert_eq!(Kind::from_u8(h.kind), Some(frame.kind()));
        // Re-encoding header and body, then appending the trailer, gives the input back.
        let mut out = Vec::new();
        encode_frame(&mut out, h, &[frame.body()]);
        out.extend_from_slice(frame.auth());
        assert_eq!(out, input);
        if let Ok(m) = Message::parse(&frame) {
            check_message(&frame, &m);
        } else {
            let acked = frame.header().flags & flags::ACK_REQUESTED != 0;
            assert!(
                frame.kind() != Kind::GameData || (acked && frame.body().len() < 4),
                "game data bodies parse unless an acknowledged one lacks its 4-byte header"
            );
        }
    }
}

fn check_message(frame: &Frame<'_>, m: &Message<'_>) {
    let body = frame.body();
    match m {
        Message::GameData { msg_seq: None, payload } => assert_eq!(*payload, body),
        Message::GameData { msg_seq: Some(m), payload } => {
            assert_eq!(body[..4], m.to_be_bytes());
            assert_eq!(*payload, &body[4..]);
        }
        Message::Heartbeat(h, n) => {
            assert_eq!(usize::from(h.neighbour_count), n.len());
            assert!(n.len() <= blemesh_core::wire::messages::MAX_HEARTBEAT_NEIGHBOURS);
        }
        Message::TopologyUpdate(h, e) => assert_eq!(usize::from(h.entry_count), e.len()),
        Message::LinkAck(e) => assert!(!e.is_empty() && e.len() <= blemesh_core::wire::messages::MAX_LINK_ACKS),
        Message::Resume(r) => assert!((1..=3).contains(&r.known)),
        _ => {}
    }
}

/// Typed body of a generated frame.
#[derive(Debug, TypeGenerator)]
pub enum Body {
    /// Application payload.
    Game(Vec<u8>),
    /// Heartbeat with neighbour ids.
    Heartbeat { rx_quality: u8, battery: u8, connections: u8, tx_time: u32, echo: u32, neighbours: Vec<u64> },
    /// Topology advert.
    Topology { version: u32, entries: Vec<(u64, u16, u8, u8, u16, i16)> },
    /// Link acknowledgements.
    LinkAck(Vec<(u64, u32)>),
    /// Resume notice (valid when `known` is 1, 2 or 3).
    Resume { flood_top: u32, advert_version: u32, known: u8 },
    /// Any kind byte with any body.
    Raw { kind: u8, body: Vec<u8> },
}

/// A generated frame.
#[derive(Debug, TypeGenerator)]
pub struct Typed {
    priority: u8,
    ack: bool,
    ttl: u8,
    hops: u8,
    origin: u64,
    destination: u64,
    seq: u32,
    auth: Vec<u8>,
    body: Body,
}

/// Builds the frame; returns (bytes, kind byte, whether the body is well-formed by
/// construction).
fn build(t: &Typed) -> (Vec<u8>, u8, bool) {
    let (kind, body, well_formed): (u8, Vec<u8>, bool) = match &t.body {
        // With ACK_REQUESTED the body must start with the 4-byte end-to-end header.
        Body::Game(p) => (Kind::GameData as u8, p.clone(), !t.ack || p.len() >= 4),
        Body::Heartbeat { rx_quality, battery, connections, tx_time, echo, neighbours } => {
            let n = &neighbours[..neighbours.len().min(16)];
            let battery = if *battery > 100 { 0xFF } else { *battery };
            let hb = Heartbeat {
                rx_quality: *rx_quality,
                battery,
                connections: *connections,
                neighbour_count: n.len() as u8,
                tx_time: U32::new(*tx_time),
                echo_time: U32::new(*echo),
                echo_delay: U32::new(0),
                capabilities: U16::new(0),
                reserved2: U16::new(0),
            };
            let mut b = hb.as_bytes().to_vec();
            for id in n {
                b.extend_from_slice(U64::new(*id).as_bytes());
            }
            (Kind::Heartbeat as u8, b, true)
        }
        Body::Topology { version, entries } => {
            let e = &entries[..entries.len().min(255)];
            let head = TopologyHeader { advert_version: U32::new(*version), entry_count: e.len() as u8, reserved: [0; 3] };
            let mut b = head.as_bytes().to_vec();
            for (n, lat, rel, cong, bw, rssi) in e {
                let entry = LinkEntry {
                    neighbour: U64::new(*n),
                    latency_ms: U16::new(*lat),
                    reliability: *rel,
                    congestion: *cong,
                    bandwidth_kbps: U16::new(*bw),
                    rssi: I16::new(*rssi),
                };
                b.extend_from_slice(entry.as_bytes());
            }
            (Kind::TopologyUpdate as u8, b, true)
        }
        Body::LinkAck(acks) => {
            let a = &acks[..acks.len().min(12)];
            let mut b = LinkAckHeader { count: a.len() as u8, reserved: [0; 3] }.as_bytes().to_vec();
            for (o, s) in a {
                b.extend_from_slice(LinkAckEntry { origin: U64::new(*o), seq: U32::new(*s) }.as_bytes());
            }
            (Kind::LinkAck as u8, b, !a.is_empty())
        }
        Body::Resume { flood_top, advert_version, known } => {
            let r = ResumeBody { flood_top: U32::new(*flood_top), advert_version: U32::new(*advert_version), known: *known, reserved: [0; 3] };
            (Kind::Resume as u8, r.as_bytes().to_vec(), (1..=3).contains(known))
        }
        Body::Raw { kind, body } => (*kind, body.clone(), false),
    };
    let mut h = FrameHeader::new(Kind::GameData, Priority::from_bits(t.priority), t.ttl, NodeId(t.origin), Destination::from_node_id(NodeId(t.destination)), t.seq);
    h.kind = kind;
    h.hops = t.hops;
    if t.ack {
        h.flags |= flags::ACK_REQUESTED;
    }
    let auth = &t.auth[..t.auth.len().min(255)];
    h.auth_len = auth.len() as u8;
    let mut out = Vec::new();
    encode_frame(&mut out, &h, &[&body]);
    out.extend_from_slice(auth);
    (out, kind, well_formed)
}

/// Typed frames: a frame built from valid fields decodes, and to exactly those fields; a
/// frame with an invalid field is refused.
pub fn check_typed(t: &Typed) {
    let (bytes, kind, well_formed) = build(t);
    check_raw(&bytes);
    let valid_header = Kind::from_u8(kind).is_some()
        && NodeId(t.origin).is_unicast()
        && t.destination != 0
        && bytes.len() <= MAX
        && bytes.len() - FRAME_HEADER_LEN - t.auth.len().min(255) <= usize::from(u16::MAX);
    let decoded = Frame::new_checked(&bytes, MAX);
    assert_eq!(decoded.is_ok(), valid_header, "{decoded:?}");
    let Ok(frame) = decoded else { return };
    let h = frame.header();
    assert_eq!(h.origin(), NodeId(t.origin));
    assert_eq!(h.destination.get(), t.destination);
    assert_eq!(h.seq.get(), t.seq);
    assert_eq!((h.ttl, h.hops), (t.ttl, t.hops));
    assert_eq!(h.priority(), Priority::from_bits(t.priority));
    assert_eq!(frame.auth(), &t.auth[..t.auth.len().min(255)]);
    let parsed = Message::parse(&frame);
    if well_formed {
        let m = parsed.expect("a well-formed body parses");
        match (&t.body, m) {
            (Body::Game(p), Message::GameData { msg_seq: None, payload }) => assert_eq!(p.as_slice(), payload),
            (Body::Game(p), Message::GameData { msg_seq: Some(m), payload }) => {
                assert_eq!(p[..4], m.to_be_bytes());
                assert_eq!(&p[4..], payload);
            }
            (Body::Heartbeat { neighbours, tx_time, .. }, Message::Heartbeat(h, n)) => {
                assert_eq!(h.tx_time.get(), *tx_time);
                let got: Vec<u64> = n.iter().map(|x| x.get()).collect();
                assert_eq!(got.as_slice(), &neighbours[..neighbours.len().min(16)]);
            }
            (Body::Topology { version, entries }, Message::TopologyUpdate(h, e)) => {
                assert_eq!(h.advert_version.get(), *version);
                assert_eq!(e.len(), entries.len().min(255));
                for (got, want) in e.iter().zip(entries) {
                    assert_eq!((got.neighbour.get(), got.latency_ms.get(), got.rssi.get()), (want.0, want.1, want.5));
                }
            }
            (Body::LinkAck(acks), Message::LinkAck(e)) => {
                let got: Vec<(u64, u32)> = e.iter().map(|x| (x.origin.get(), x.seq.get())).collect();
                assert_eq!(got.as_slice(), &acks[..acks.len().min(12)]);
            }
            (Body::Resume { flood_top, advert_version, known }, Message::Resume(r)) => {
                assert_eq!((r.flood_top.get(), r.advert_version.get(), r.known), (*flood_top, *advert_version, *known));
            }
            (b, m) => panic!("{b:?} parsed as {m:?}"),
        }
    }
}
