//! Golden vectors of `docs/PROTOCOL.md`, checked byte for byte against the crate's encoder and
//! parsed back with its validating decoders.
//!
//! The document's vectors were derived by hand from its field tables; this test builds the same
//! messages with the public encoder (`FrameHeader`, `encode_frame`, `Fragmenter` and the body
//! structs' `IntoBytes::as_bytes`) and requires identical bytes. Every `hex` block of the
//! document must be named, and the set of names must be exactly [`EXPECTED`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use blemesh_core::election::ViewDigest;
use blemesh_core::session::{Entry, EntryBody, Epoch, SessionId, SessionMessage, SubmitId};
use blemesh_core::wire::link::{CTRL_FRAGMENT, CTRL_WHOLE, Fragment, FragmentHeader, frame_check};
use blemesh_core::wire::messages::{
    AckBody, Announcement, BATTERY_UNKNOWN, ElectionBody, ElectionOp, Heartbeat, LinkAckEntry, LinkAckHeader, LinkEntry,
    MAX_HEARTBEAT_NEIGHBOURS, MAX_LINK_ACKS, RESUME_ADVERT_VERSION, RESUME_FLOOD_TOP, ResumeBody, TopologyHeader,
};
use blemesh_core::wire::reassembly::{Reassembler, Reassembly};
use blemesh_core::wire::reservation::{ReservationHeader, ReservationOp};
use blemesh_core::wire::{
    FRAGMENT_HEADER_LEN, FRAME_HEADER_LEN, Fragmenter, Frame, FrameHeader, Kind, LinkPdu, Message, VERSION,
    encode_frame, flags,
};
use blemesh_core::{
    Capabilities, Config, Destination, DropReason, Event, Instant, LinkId, LinkReport, Node, NodeId, Output, Priority,
};
use zerocopy::IntoBytes;
use zerocopy::network_endian::{I16, U16, U32, U64};

const DOC: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/PROTOCOL.md"));

/// Every vector the document must contain, and nothing else.
const EXPECTED: &[&str] = &[
    "announcement",
    "heartbeat",
    "topology_update",
    "routing_update",
    "game_data_broadcast",
    "game_data_unicast",
    "ack",
    "election",
    "link_whole_heartbeat",
    "fragment_announcement_0",
    "fragment_announcement_1",
    "fragment_announcement_2",
    "fragment_announcement_3",
    "fragment_announcement_4",
    "fragment_game_data_unicast_0",
    "fragment_game_data_unicast_1",
    "fragment_game_data_unicast_2",
    "fragment_game_data_unicast_3",
    "heartbeat_with_neighbours",
    "link_ack",
    "resume",
    "session_entry",
    "session_state_reply",
    "session_snapshot_chunk",
];

const A: NodeId = NodeId(0xa1a2_a3a4_a5a6_a7a8);
const B: NodeId = NodeId(0xb1b2_b3b4_b5b6_b7b8);
const C: NodeId = NodeId(0xc1c2_c3c4_c5c6_c7c8);
const D: NodeId = NodeId(0xd1d2_d3d4_d5d6_d7d8);
const MAX: usize = 2048;

// ----- extraction -------------------------------------------------------------------------

/// Every fenced block whose info string starts with `hex`, by name. Panics on an unnamed
/// block, a duplicate name, an unterminated block or a token that is not two hex digits.
fn extract(doc: &str) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut lines = doc.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let Some(info) = line.trim().strip_prefix("```") else { continue };
        let mut words = info.split_whitespace();
        if words.next() != Some("hex") {
            // Skip over any other fenced block so its contents are not mistaken for vectors.
            for (_, l) in lines.by_ref() {
                if is_closing_fence(l) {
                    break;
                }
            }
            continue;
        }
        let name = words
            .find_map(|w| w.strip_prefix("name="))
            .unwrap_or_else(|| panic!("line {}: hex block without name=", n + 1))
            .to_owned();
        let mut bytes = Vec::new();
        let mut closed = false;
        for (m, l) in lines.by_ref() {
            if is_closing_fence(l) {
                closed = true;
                break;
            }
            for tok in l.split_whitespace() {
                assert!(
                    tok.len() == 2 && tok.chars().all(|c| c.is_ascii_hexdigit()),
                    "line {}: `{tok}` is not one hex byte (vector {name})",
                    m + 1
                );
                bytes.push(u8::from_str_radix(tok, 16).unwrap());
            }
        }
        assert!(closed, "vector {name} is not terminated");
        assert!(!bytes.is_empty(), "vector {name} is empty");
        assert!(out.insert(name.clone(), bytes).is_none(), "vector {name} appears twice");
    }
    out
}

/// A closing fence is three or more backticks and nothing else (CommonMark).
fn is_closing_fence(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 3 && t.chars().all(|c| c == '`')
}

fn vectors() -> BTreeMap<String, Vec<u8>> {
    extract(DOC)
}

fn vector(name: &str) -> Vec<u8> {
    vectors().remove(name).unwrap_or_else(|| panic!("docs/PROTOCOL.md has no vector {name}"))
}

fn hex(b: &[u8]) -> String {
    let mut s = String::new();
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(if i % 16 == 0 { '\n' } else { ' ' });
        }
        write!(s, "{x:02x}").unwrap();
    }
    s
}

fn assert_bytes(name: &str, encoded: &[u8]) {
    let doc = vector(name);
    assert!(
        doc == encoded,
        "vector {name} differs from the encoder\n--- document ({} bytes)\n{}\n--- encoder ({} bytes)\n{}",
        doc.len(),
        hex(&doc),
        encoded.len(),
        hex(encoded)
    );
}

// ----- encoders -------------------------------------------------------------------------

fn frame(header: &FrameHeader, body: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    let n = encode_frame(&mut out, header, body);
    assert_eq!(n, out.len());
    out
}

fn announcement_body() -> Announcement {
    Announcement {
        capabilities: U16::new(Capabilities::PERIPHERAL | Capabilities::CENTRAL),
        battery: 87,
        connections: 3,
        uptime_secs: U32::new(3600),
        processing_power: U16::new(1000),
        reserved: U16::new(0),
    }
}

fn announcement_frame() -> Vec<u8> {
    let h = FrameHeader::new(Kind::Announcement, Priority::Background, 16, A, Destination::Broadcast, 0x1234_5678);
    frame(&h, &[announcement_body().as_bytes()])
}

fn heartbeat_body() -> Heartbeat {
    Heartbeat {
        rx_quality: 240,
        battery: BATTERY_UNKNOWN,
        connections: 2,
        neighbour_count: 0,
        tx_time: U32::new(1_000_000),
        echo_time: U32::new(900_000),
        echo_delay: U32::new(10_000),
        capabilities: U16::new(Capabilities::CENTRAL | Capabilities::MAINS_POWERED),
        reserved2: U16::new(0),
    }
}

fn heartbeat_frame() -> Vec<u8> {
    let h = FrameHeader::new(Kind::Heartbeat, Priority::Critical, 1, B, Destination::Node(A), 7);
    frame(&h, &[heartbeat_body().as_bytes()])
}

fn heartbeat_with_neighbours_parts() -> (Heartbeat, [U64; 2]) {
    let body = Heartbeat {
        rx_quality: 240,
        battery: BATTERY_UNKNOWN,
        connections: 2,
        neighbour_count: 2,
        tx_time: U32::new(1_250_000),
        echo_time: U32::new(1_150_000),
        echo_delay: U32::new(5_000),
        capabilities: U16::new(Capabilities::CENTRAL | Capabilities::MAINS_POWERED),
        reserved2: U16::new(0),
    };
    (body, [U64::new(A.0), U64::new(C.0)])
}

fn heartbeat_with_neighbours_frame() -> Vec<u8> {
    let (body, neighbours) = heartbeat_with_neighbours_parts();
    let h = FrameHeader::new(Kind::Heartbeat, Priority::Critical, 1, B, Destination::Node(A), 8);
    frame(&h, &[body.as_bytes(), neighbours.as_bytes()])
}

/// A heartbeat from B to A listing `n` neighbours (ids 1..=n), `neighbour_count` = `n`.
fn heartbeat_listing(n: usize) -> Vec<u8> {
    let (mut body, _) = heartbeat_with_neighbours_parts();
    body.neighbour_count = n as u8;
    let ids: Vec<U64> = (1..=n as u64).map(U64::new).collect();
    let h = FrameHeader::new(Kind::Heartbeat, Priority::Critical, 1, B, Destination::Node(A), 8);
    frame(&h, &[body.as_bytes(), ids.as_bytes()])
}

fn link_ack_parts() -> (LinkAckHeader, [LinkAckEntry; 2]) {
    let head = LinkAckHeader { count: 2, reserved: [0; 3] };
    let entries = [
        LinkAckEntry { origin: U64::new(C.0), seq: U32::new(42) },
        LinkAckEntry { origin: U64::new(A.0), seq: U32::new(0x1234_5678) },
    ];
    (head, entries)
}

fn link_ack_frame() -> Vec<u8> {
    let (head, entries) = link_ack_parts();
    let h = FrameHeader::new(Kind::LinkAck, Priority::Critical, 1, A, Destination::Node(B), 0);
    frame(&h, &[head.as_bytes(), entries.as_bytes()])
}

/// A `LinkAck` from A to B with `n` entries and `count` = `n`.
fn link_ack_with(n: usize) -> Vec<u8> {
    let head = LinkAckHeader { count: n as u8, reserved: [0; 3] };
    let entries: Vec<LinkAckEntry> =
        (0..n as u32).map(|s| LinkAckEntry { origin: U64::new(C.0), seq: U32::new(s) }).collect();
    let h = FrameHeader::new(Kind::LinkAck, Priority::Critical, 1, A, Destination::Node(B), 0);
    frame(&h, &[head.as_bytes(), entries.as_bytes()])
}

/// B tells A, which restarted, the counters B holds of it (§8.9).
fn resume_frame() -> Vec<u8> {
    let body = ResumeBody {
        flood_top: U32::new(0x1234_5679),
        advert_version: U32::new(5),
        known: RESUME_FLOOD_TOP | RESUME_ADVERT_VERSION,
        reserved: [0; 3],
    };
    let h = FrameHeader::new(Kind::Resume, Priority::Critical, 1, B, Destination::Node(A), 0);
    frame(&h, &[body.as_bytes()])
}

/// Session `0x6a6d`, epoch (term 3, sequencer A): the event B submitted as its 2nd, `"roll 6"`,
/// placed at index 7 after an entry of epoch (term 2, C).
fn session_entry_message() -> (SessionId, SessionMessage) {
    let epoch = Epoch { term: 3, sequencer: A };
    let body = EntryBody::Event { submitter: B, submit: SubmitId(2), payload: b"roll 6".to_vec() };
    let entry = Entry { index: 7, epoch, prev: Some(Epoch { term: 2, sequencer: C }), body };
    (SessionId(0x6a6d), SessionMessage::Entry(entry))
}

fn session_frame(h: &FrameHeader, session: SessionId, message: &SessionMessage) -> Vec<u8> {
    let mut body = Vec::new();
    blemesh_core::wire::session::encode(&mut body, session, message);
    frame(h, &[&body])
}

fn session_entry_frame() -> Vec<u8> {
    let (session, message) = session_entry_message();
    let h = FrameHeader::new(Kind::Session, Priority::High, 16, A, Destination::Broadcast, 0x200);
    session_frame(&h, session, &message)
}

/// D answers the hand-over of epoch (term 4, B): it delivered up to 9 with 3 players; its
/// newest entries are of (term 2, C) from 5 and of (term 3, A) from 7.
fn session_state_reply_message() -> (SessionId, SessionMessage) {
    let runs = vec![(Epoch { term: 2, sequencer: C }, 5), (Epoch { term: 3, sequencer: A }, 7)];
    (SessionId(0x6a6d), SessionMessage::StateReply { epoch: Epoch { term: 4, sequencer: B }, delivered: 9, players: 3, runs })
}

fn session_state_reply_frame() -> Vec<u8> {
    let (session, message) = session_state_reply_message();
    let h = FrameHeader::new(Kind::Session, Priority::High, 16, D, Destination::Node(B), 0x300);
    session_frame(&h, session, &message)
}

/// B sends D the last of the three chunks of a 1,100-byte snapshot as of entry 12 (of epoch
/// (term 4, B)): chunks of 512 bytes, so the last holds 76, here the bytes `00 01 02 … 4b`.
fn session_snapshot_chunk_message() -> (SessionId, SessionMessage) {
    let data: Vec<u8> = (0..76u8).collect();
    let tail = Epoch { term: 4, sequencer: B };
    (SessionId(0x6a6d), SessionMessage::SnapshotChunk { index: 12, tail, total: 1100, size: 512, number: 2, data })
}

fn session_snapshot_chunk_frame() -> Vec<u8> {
    let (session, message) = session_snapshot_chunk_message();
    let h = FrameHeader::new(Kind::Session, Priority::High, 16, B, Destination::Node(D), 0x400);
    session_frame(&h, session, &message)
}

fn topology_parts() -> (TopologyHeader, [LinkEntry; 2]) {
    let head = TopologyHeader { advert_version: U32::new(5), entry_count: 2, reserved: [0; 3] };
    let entries = [
        LinkEntry {
            neighbour: U64::new(B.0),
            latency_ms: U16::new(15),
            reliability: 230,
            congestion: 10,
            bandwidth_kbps: U16::new(256),
            rssi: I16::new(-60),
        },
        LinkEntry {
            neighbour: U64::new(C.0),
            latency_ms: U16::new(42),
            reliability: 180,
            congestion: 128,
            bandwidth_kbps: U16::new(98),
            rssi: I16::new(-85),
        },
    ];
    (head, entries)
}

fn topology_frame() -> Vec<u8> {
    let (head, entries) = topology_parts();
    let h = FrameHeader::new(Kind::TopologyUpdate, Priority::Normal, 16, A, Destination::Broadcast, 0x1234_5679);
    frame(&h, &[head.as_bytes(), entries.as_bytes()])
}

fn routing_parts() -> (ReservationHeader, [U64; 3]) {
    let head = ReservationHeader {
        op: ReservationOp::Reserve as u8,
        reason: 0,
        priority: Priority::High as u8,
        path_len: 3,
        hop: 1,
        reserved: 0,
        max_latency_ms: U16::new(50),
        flow_id: U32::new(0xcafe_0001),
        bandwidth_kbps: U32::new(64),
        latency_ms: U16::new(15),
        reserved2: U16::new(0),
        at: U64::new(0),
    };
    (head, [U64::new(A.0), U64::new(B.0), U64::new(D.0)])
}

fn routing_frame() -> Vec<u8> {
    let (head, path) = routing_parts();
    let h = FrameHeader::new(Kind::RoutingUpdate, Priority::Critical, 1, A, Destination::Node(B), 0x1234_567a);
    frame(&h, &[head.as_bytes(), path.as_bytes()])
}

fn game_data_broadcast_frame() -> Vec<u8> {
    let mut h = FrameHeader::new(Kind::GameData, Priority::High, 16, C, Destination::Broadcast, 42);
    // The copy after one relay: TTL decremented, hop count incremented, nothing else changed.
    h.ttl -= 1;
    h.hops += 1;
    frame(&h, &[b"hello"])
}

fn game_data_unicast_frame() -> Vec<u8> {
    let mut h = FrameHeader::new(Kind::GameData, Priority::Critical, 16, A, Destination::Node(B), 0x1234_567b);
    h.flags |= flags::ACK_REQUESTED;
    frame(&h, &[&0x1234_567bu32.to_be_bytes(), &[0xde, 0xad, 0xbe, 0xef]])
}

fn ack_body() -> AckBody {
    AckBody { acked_seq: U32::new(0x1234_567b), hops: 2, reserved: [0; 3] }
}

fn ack_frame() -> Vec<u8> {
    let h = FrameHeader::new(Kind::Ack, Priority::Critical, 16, B, Destination::Node(A), 0x100);
    frame(&h, &[ack_body().as_bytes()])
}

fn election_body() -> ElectionBody {
    ElectionBody {
        op: ElectionOp::VoteRequest as u8,
        granted: 0,
        reason: 0,
        mode: 1,
        term: U32::new(9),
        candidate: U64::new(A.0),
        priority_milli: U32::new(875),
        view: U64::new(0xa2a8_e183_2d4a_861e),
    }
}

fn election_frame() -> Vec<u8> {
    let h = FrameHeader::new(Kind::Election, Priority::Critical, 16, A, Destination::Broadcast, 0x1234_567c);
    frame(&h, &[election_body().as_bytes(), &[0x5a; 64]])
}

/// All link PDUs of `frame` on a link of `mtu` bytes, sent with `msg_id`.
fn pdus(frame: &[u8], mtu: usize, msg_id: u16) -> Vec<Vec<u8>> {
    let plan = Fragmenter::new(frame, mtu).expect("frame fits the link");
    (0..plan.count())
        .map(|i| {
            let mut out = Vec::new();
            plan.write_pdu(frame, msg_id, i, &mut out);
            assert!(out.len() <= mtu, "PDU {i} exceeds the MTU");
            out
        })
        .collect()
}

// ----- decoding helpers -------------------------------------------------------------------

/// Parses `bytes` as a frame and checks the common header fields.
#[allow(clippy::too_many_arguments)]
fn check_header<'a>(
    bytes: &'a [u8],
    kind: Kind,
    flags_byte: u8,
    ttl: u8,
    hops: u8,
    origin: NodeId,
    dst: Destination,
    seq: u32,
) -> Frame<'a> {
    let f = Frame::new_checked(bytes, MAX).expect("vector is a valid frame");
    let h = f.header();
    assert_eq!(h.version, VERSION);
    assert_eq!(f.kind(), kind);
    assert_eq!(h.flags, flags_byte);
    assert_eq!(h.priority(), Priority::from_bits(flags_byte));
    assert_eq!((h.ttl, h.hops, h.auth_len), (ttl, hops, 0));
    assert_eq!(usize::from(h.body_len.get()), bytes.len() - FRAME_HEADER_LEN);
    assert_eq!(h.origin(), origin);
    assert_eq!(h.destination(), dst);
    assert_eq!(h.seq.get(), seq);
    assert!(f.auth().is_empty());
    f
}

// ----- the vector set -----------------------------------------------------------------------

#[test]
fn the_document_has_exactly_the_expected_vectors() {
    let found = vectors();
    let names: Vec<&str> = found.keys().map(String::as_str).collect();
    let mut expected = EXPECTED.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected, "named hex blocks in docs/PROTOCOL.md");
}

#[test]
fn extraction_rejects_unnamed_and_duplicate_blocks() {
    let unnamed = std::panic::catch_unwind(|| extract("text\n```hex\n01 02\n```\n"));
    assert!(unnamed.is_err(), "an unnamed hex block must fail the test");
    let twice = std::panic::catch_unwind(|| extract("```hex name=x\n01\n```\n```hex name=x\n02\n```\n"));
    assert!(twice.is_err(), "a duplicate name must fail the test");
    let bad = std::panic::catch_unwind(|| extract("```hex name=x\n0g\n```\n"));
    assert!(bad.is_err(), "a non-hex token must fail the test");
    let other = extract("```text\n```hex name=inside\n```\n```hex name=y\nab cd\n```\n");
    assert_eq!(other.into_iter().collect::<Vec<_>>(), vec![("y".to_owned(), vec![0xab, 0xcd])]);
}

// ----- one test per vector ----------------------------------------------------------------

#[test]
fn announcement() {
    let bytes = announcement_frame();
    assert_bytes("announcement", &bytes);
    let v = vector("announcement");
    let f = check_header(&v, Kind::Announcement, 0x03, 16, 0, A, Destination::Broadcast, 0x1234_5678);
    let Message::Announcement(a) = Message::parse(&f).unwrap() else { panic!("not an announcement") };
    assert_eq!(*a, announcement_body());
    assert_eq!(a.capabilities.get(), 0x000c);
    assert_eq!((a.battery, a.connections), (87, 3));
    assert_eq!((a.uptime_secs.get(), a.processing_power.get(), a.reserved.get()), (3600, 1000, 0));
}

#[test]
fn heartbeat() {
    let bytes = heartbeat_frame();
    assert_bytes("heartbeat", &bytes);
    let v = vector("heartbeat");
    let f = check_header(&v, Kind::Heartbeat, 0x00, 1, 0, B, Destination::Node(A), 7);
    let Message::Heartbeat(hb, _) = Message::parse(&f).unwrap() else { panic!("not a heartbeat") };
    assert_eq!(*hb, heartbeat_body());
    assert_eq!((hb.rx_quality, hb.battery, hb.connections, hb.neighbour_count), (240, 0xff, 2, 0));
    assert_eq!((hb.tx_time.get(), hb.echo_time.get(), hb.echo_delay.get()), (1_000_000, 900_000, 10_000));
    assert_eq!((hb.capabilities.get(), hb.reserved2.get()), (0x0018, 0));
    // The RTT example of §7.2: received at 940000 on A's clock.
    let rtt = 940_000u32.wrapping_sub(hb.echo_time.get()).wrapping_sub(hb.echo_delay.get());
    assert_eq!(rtt, 30_000);
}

#[test]
fn heartbeat_with_neighbours() {
    let bytes = heartbeat_with_neighbours_frame();
    assert_bytes("heartbeat_with_neighbours", &bytes);
    let v = vector("heartbeat_with_neighbours");
    assert_eq!(v.len(), 64);
    let f = check_header(&v, Kind::Heartbeat, 0x00, 1, 0, B, Destination::Node(A), 8);
    assert!(!Kind::Heartbeat.is_multi_hop());
    assert_eq!(f.body().len(), 20 + 8 * 2);
    let Message::Heartbeat(hb, neighbours) = Message::parse(&f).unwrap() else { panic!("not a heartbeat") };
    let (want_body, want_neighbours) = heartbeat_with_neighbours_parts();
    assert_eq!(*hb, want_body);
    assert_eq!((hb.rx_quality, hb.battery, hb.connections, hb.neighbour_count), (240, 0xff, 2, 2));
    assert_eq!((hb.tx_time.get(), hb.echo_time.get(), hb.echo_delay.get()), (1_250_000, 1_150_000, 5_000));
    assert_eq!((hb.capabilities.get(), hb.reserved2.get()), (0x0018, 0));
    assert_eq!(neighbours, &want_neighbours[..]);
    assert_eq!(neighbours.iter().map(|n| n.get()).collect::<Vec<_>>(), vec![A.0, C.0]);
    // The fixed part is the same 20-byte layout as the `heartbeat` vector's body.
    assert_eq!(&v[28..31], &vector("heartbeat")[28..31]);
    // 64 bytes travel whole on a 185-byte MTU.
    assert_eq!(pdus(&v, 185, 0).len(), 1);
}

#[test]
fn session_entry() {
    assert_bytes("session_entry", &session_entry_frame());
    let v = vector("session_entry");
    assert_eq!(v.len(), 28 + 12 + 44 + 4 + 6);
    let f = check_header(&v, Kind::Session, 0x01, 16, 0, A, Destination::Broadcast, 0x200);
    assert_eq!(Kind::from_u8(10), Some(Kind::Session));
    assert!(Kind::Session.is_multi_hop());
    let Message::Session(session, body) = Message::parse(&f).unwrap() else { panic!("not a session frame") };
    assert_eq!(blemesh_core::wire::session::decode(body), Ok(session_entry_message()));
    assert_eq!(session, SessionId(0x6a6d));
}

#[test]
fn session_snapshot_chunk() {
    assert_bytes("session_snapshot_chunk", &session_snapshot_chunk_frame());
    let v = vector("session_snapshot_chunk");
    assert_eq!(v.len(), 28 + 12 + 28 + 76);
    let f = check_header(&v, Kind::Session, 0x01, 16, 0, B, Destination::Node(D), 0x400);
    let Message::Session(_, body) = Message::parse(&f).unwrap() else { panic!("not a session frame") };
    assert_eq!(blemesh_core::wire::session::decode(body), Ok(session_snapshot_chunk_message()));
    // A last chunk one byte short of what remains of `total` is refused.
    let f = Frame::new_checked(&v[..v.len() - 1], MAX);
    assert!(f.is_err() || f.and_then(|f| Message::parse(&f).map(|_| ())).is_err());
    let mut short = session_snapshot_chunk_message().1;
    if let SessionMessage::SnapshotChunk { data, .. } = &mut short {
        data.pop();
    }
    let mut body = Vec::new();
    blemesh_core::wire::session::encode(&mut body, SessionId(0x6a6d), &short);
    assert_eq!(blemesh_core::wire::session::decode(&body), Err(DropReason::MalformedBody));
}

#[test]
fn session_state_reply() {
    assert_bytes("session_state_reply", &session_state_reply_frame());
    let v = vector("session_state_reply");
    assert_eq!(v.len(), 28 + 12 + 24 + 2 * 20);
    let f = check_header(&v, Kind::Session, 0x01, 16, 0, D, Destination::Node(B), 0x300);
    let Message::Session(_, body) = Message::parse(&f).unwrap() else { panic!("not a session frame") };
    assert_eq!(blemesh_core::wire::session::decode(body), Ok(session_state_reply_message()));
    // Runs whose first indices do not rise are refused.
    let mut bad = v.clone();
    bad[28 + 12 + 24 + 12..28 + 12 + 24 + 20].copy_from_slice(&9u64.to_be_bytes());
    let f = Frame::new_checked(&bad, MAX).unwrap();
    assert_eq!(Message::parse(&f).map(|_| ()), Err(DropReason::MalformedBody));
}

#[test]
fn resume() {
    assert_bytes("resume", &resume_frame());
    let v = vector("resume");
    assert_eq!(v.len(), 40);
    let f = check_header(&v, Kind::Resume, 0x00, 1, 0, B, Destination::Node(A), 0);
    assert_eq!(Kind::from_u8(9), Some(Kind::Resume));
    assert!(!Kind::Resume.is_multi_hop());
    let Message::Resume(r) = Message::parse(&f).unwrap() else { panic!("not a resume") };
    // The flood top and advert version of A's `topology_update` vector.
    let advert = vector("topology_update");
    let advert = Frame::new_checked(&advert, MAX).unwrap();
    assert_eq!(r.flood_top.get(), advert.message_id().seq);
    assert_eq!(r.advert_version.get(), u32::from_be_bytes(advert.body()[..4].try_into().unwrap()));
    assert_eq!(r.known, 3);
    for known in [0u8, 4, 0x83] {
        let mut b = v.clone();
        b[36] = known;
        let f = Frame::new_checked(&b, MAX).unwrap();
        assert_eq!(Message::parse(&f).map(|_| ()), Err(DropReason::MalformedBody), "known {known:#04x}");
    }
}

#[test]
fn link_ack() {
    let bytes = link_ack_frame();
    assert_bytes("link_ack", &bytes);
    let v = vector("link_ack");
    assert_eq!(v.len(), 56);
    let f = check_header(&v, Kind::LinkAck, 0x00, 1, 0, A, Destination::Node(B), 0);
    assert_eq!(Kind::from_u8(8), Some(Kind::LinkAck));
    assert!(!Kind::LinkAck.is_multi_hop());
    let multi_hop = [Kind::Announcement, Kind::TopologyUpdate, Kind::RoutingUpdate, Kind::GameData, Kind::Ack];
    for kind in multi_hop.into_iter().chain([Kind::Election]) {
        assert!(kind.is_multi_hop(), "{kind:?}");
    }
    assert_eq!(f.body().len(), 4 + 12 * 2);
    let Message::LinkAck(entries) = Message::parse(&f).unwrap() else { panic!("not a link ack") };
    let (want_head, want_entries) = link_ack_parts();
    assert_eq!(&f.body()[..4], want_head.as_bytes());
    assert_eq!((f.body()[0], &f.body()[1..4]), (2, &[0u8; 3][..]));
    assert_eq!(entries, &want_entries[..]);
    assert_eq!((entries[0].origin.get(), entries[0].seq.get()), (C.0, 42));
    assert_eq!((entries[1].origin.get(), entries[1].seq.get()), (A.0, 0x1234_5678));
    // The entries name the `game_data_broadcast` and `announcement` vectors.
    let ids: Vec<_> = ["game_data_broadcast", "announcement"]
        .iter()
        .map(|n| Frame::new_checked(&vector(n), MAX).unwrap().message_id())
        .collect();
    assert_eq!(ids[0].origin.0, entries[0].origin.get());
    assert_eq!(ids[0].seq, entries[0].seq.get());
    assert_eq!(ids[1].origin.0, entries[1].origin.get());
    assert_eq!(ids[1].seq, entries[1].seq.get());
    // A full LinkAck (12 entries, 176 bytes) still travels whole on a 185-byte MTU.
    let full = link_ack_with(MAX_LINK_ACKS);
    assert_eq!(full.len(), 176);
    assert_eq!(pdus(&full, 185, 0).len(), 1);
}

#[test]
fn topology_update() {
    let bytes = topology_frame();
    assert_bytes("topology_update", &bytes);
    let v = vector("topology_update");
    let f = check_header(&v, Kind::TopologyUpdate, 0x02, 16, 0, A, Destination::Broadcast, 0x1234_5679);
    let Message::TopologyUpdate(head, entries) = Message::parse(&f).unwrap() else { panic!("not topology") };
    let (want_head, want_entries) = topology_parts();
    assert_eq!(*head, want_head);
    assert_eq!((head.advert_version.get(), head.entry_count, head.reserved), (5, 2, [0; 3]));
    assert_eq!(entries, &want_entries[..]);
    assert_eq!(entries[0].neighbour.get(), B.0);
    assert_eq!(entries[0].rssi.get(), -60);
    assert_eq!(entries[1].neighbour.get(), C.0);
    assert_eq!((entries[1].latency_ms.get(), entries[1].reliability, entries[1].congestion), (42, 180, 128));
    assert_eq!((entries[1].bandwidth_kbps.get(), entries[1].rssi.get()), (98, -85));
}

#[test]
fn routing_update() {
    let bytes = routing_frame();
    assert_bytes("routing_update", &bytes);
    let v = vector("routing_update");
    let f = check_header(&v, Kind::RoutingUpdate, 0x00, 1, 0, A, Destination::Node(B), 0x1234_567a);
    let Message::RoutingUpdate(r) = Message::parse(&f).unwrap() else { panic!("not routing") };
    assert_eq!(*r.head, routing_parts().0);
    assert_eq!(r.op(), ReservationOp::Reserve);
    assert_eq!((r.head.reason, r.head.priority, r.head.path_len, r.head.hop), (0, 1, 3, 1));
    assert_eq!((r.head.flow_id.get(), r.head.bandwidth_kbps.get()), (0xcafe_0001, 64));
    assert_eq!((r.head.max_latency_ms.get(), r.head.latency_ms.get(), r.head.at.get()), (50, 15, 0));
    assert_eq!((r.source(), r.node(1), r.destination()), (A, B, D));
}

#[test]
fn game_data_broadcast() {
    let bytes = game_data_broadcast_frame();
    assert_bytes("game_data_broadcast", &bytes);
    let v = vector("game_data_broadcast");
    let f = check_header(&v, Kind::GameData, 0x01, 15, 1, C, Destination::Broadcast, 42);
    let Message::GameData { msg_seq: None, payload } = Message::parse(&f).unwrap() else { panic!("not game data") };
    assert_eq!(payload, b"hello");
    assert_eq!(f.header().priority(), Priority::High);
    assert_eq!(f.header().flags & flags::ACK_REQUESTED, 0);
}

#[test]
fn game_data_unicast() {
    let bytes = game_data_unicast_frame();
    assert_bytes("game_data_unicast", &bytes);
    let v = vector("game_data_unicast");
    let f = check_header(&v, Kind::GameData, 0x04, 16, 0, A, Destination::Node(B), 0x1234_567b);
    let Message::GameData { msg_seq, payload } = Message::parse(&f).unwrap() else { panic!("not game data") };
    assert_eq!((msg_seq, payload), (Some(0x1234_567b), &[0xde, 0xad, 0xbe, 0xef][..]));
    assert_eq!(f.header().priority(), Priority::Critical);
    assert_ne!(f.header().flags & flags::ACK_REQUESTED, 0);
}

#[test]
fn ack() {
    let bytes = ack_frame();
    assert_bytes("ack", &bytes);
    let v = vector("ack");
    let f = check_header(&v, Kind::Ack, 0x00, 16, 0, B, Destination::Node(A), 0x100);
    let Message::Ack(a) = Message::parse(&f).unwrap() else { panic!("not an ack") };
    assert_eq!(*a, ack_body());
    assert_eq!((a.acked_seq.get(), a.hops, a.reserved), (0x1234_567b, 2, [0; 3]));
}

#[test]
fn election() {
    let bytes = election_frame();
    assert_bytes("election", &bytes);
    let v = vector("election");
    let f = check_header(&v, Kind::Election, 0x00, 16, 0, A, Destination::Broadcast, 0x1234_567c);
    let Message::Election(e, signature) = Message::parse(&f).unwrap() else { panic!("not an election") };
    assert_eq!(signature, &[0x5a; 64]);
    assert_eq!(*e, election_body());
    assert_eq!(ElectionOp::from_u8(e.op), Some(ElectionOp::VoteRequest));
    assert_eq!((e.granted, e.reason, e.mode), (0, 0, 1));
    assert_eq!((e.term.get(), e.candidate.get()), (9, A.0));
    assert_eq!(e.priority_milli.get(), 875);
    // The view is the digest of the voter set {A, B, C, D} (§6.7).
    assert_eq!(ViewDigest(e.view.get()), ViewDigest::of(&[A, B, C, D]));
    assert_eq!(ViewDigest::of(&[NodeId(1), NodeId(2)]), ViewDigest(0x5cbd_d4d2_af65_2a68));
}

#[test]
fn link_whole_heartbeat() {
    let frame = heartbeat_frame();
    let p = pdus(&frame, 185, 0);
    assert_eq!(p.len(), 1);
    assert_bytes("link_whole_heartbeat", &p[0]);
    let v = vector("link_whole_heartbeat");
    assert_eq!(v[0], CTRL_WHOLE);
    let LinkPdu::Whole(inner) = LinkPdu::new_checked(&v, MAX).unwrap() else { panic!("not whole") };
    assert_eq!(inner, &vector("heartbeat")[..]);
    // The boundary of §4.4: whole iff frame length < MTU.
    assert_eq!(Fragmenter::new(&[0; 48], 49).unwrap().count(), 1);
    assert_eq!(Fragmenter::new(&[0; 48], 48).unwrap().count(), 2);
}

fn check_fragments(prefix: &str, frame: &[u8], msg_id: u16, chunks: &[usize]) {
    let p = pdus(frame, 20, msg_id);
    assert_eq!(p.len(), chunks.len(), "{prefix}: fragment count");
    for (i, pdu) in p.iter().enumerate() {
        assert_bytes(&format!("{prefix}_{i}"), pdu);
    }
    // Parse the document's PDUs, check every field, and reassemble them in reverse order.
    let mut r = Reassembler::new(1, MAX, core::time::Duration::from_secs(2));
    let docs: Vec<Vec<u8>> = (0..chunks.len()).map(|i| vector(&format!("{prefix}_{i}"))).collect();
    let mut offset = 0;
    let mut rebuilt = None;
    let parsed: Vec<Fragment<'_>> = docs
        .iter()
        .enumerate()
        .map(|(i, pdu)| {
            assert_eq!(pdu[0], CTRL_FRAGMENT);
            assert_eq!(pdu.len(), FRAGMENT_HEADER_LEN + chunks[i]);
            let LinkPdu::Fragment(f) = LinkPdu::new_checked(pdu, MAX).unwrap() else { panic!("not a fragment") };
            assert_eq!(usize::from(f.total_len), frame.len());
            assert_eq!((f.msg_id, usize::from(f.index), usize::from(f.count)), (msg_id, i, chunks.len()));
            assert_eq!(f.offset(), offset);
            assert_eq!(f.chunk, &frame[offset..offset + chunks[i]]);
            offset += chunks[i];
            f
        })
        .collect();
    assert_eq!(offset, frame.len());
    for (n, f) in parsed.iter().rev().enumerate() {
        match r.push(Instant::ZERO, LinkId(0), *f).unwrap() {
            Reassembly::Complete(buf) => {
                assert_eq!(n, parsed.len() - 1);
                rebuilt = Some(buf);
            }
            Reassembly::Pending => assert!(n < parsed.len() - 1),
            Reassembly::PendingEvicted => panic!("nothing to evict"),
        }
    }
    assert_eq!(rebuilt.as_deref(), Some(frame));
    // And the header bytes are what the FragmentHeader struct says.
    let h = FragmentHeader {
        ctrl: CTRL_FRAGMENT,
        msg_id: U16::new(msg_id),
        total_len: U16::new(frame.len() as u16),
        index: 0,
        count: chunks.len() as u8,
        check: U32::new(frame_check(frame)),
    };
    assert_eq!(&docs[0][..FRAGMENT_HEADER_LEN], h.as_bytes());
}

#[test]
fn fragment_announcement() {
    let frame = vector("announcement");
    assert_eq!(frame, announcement_frame());
    check_fragments("fragment_announcement", &frame, 3, &[8, 8, 8, 8, 8]);
}

#[test]
fn fragment_game_data_unicast() {
    let frame = vector("game_data_unicast");
    assert_eq!(frame, game_data_unicast_frame());
    check_fragments("fragment_game_data_unicast", &frame, 4, &[9, 9, 9, 9]);
}

// ----- the vectors through a real receiver ------------------------------------------------

/// `(origin, hops, payload)` of one delivery.
type Delivered = (NodeId, u8, Vec<u8>);

/// Drains `node`, returning its deliveries and events.
fn drain(node: &mut Node) -> (Vec<Delivered>, Vec<Event>) {
    let (deliveries, events, _) = drain_all(node);
    (deliveries, events)
}

/// Drains `node`, returning its deliveries, events and transmitted PDUs.
fn drain_all(node: &mut Node) -> (Vec<Delivered>, Vec<Event>, Vec<Vec<u8>>) {
    let mut deliveries = Vec::new();
    let mut events = Vec::new();
    let mut sent = Vec::new();
    loop {
        match node.poll_output() {
            Output::Deliver(d) => deliveries.push((d.origin, d.hops, d.payload.to_vec())),
            Output::Event(e) => events.push(e),
            Output::Transmit(t) => sent.push(t.bytes.to_vec()),
            Output::Timeout(_) => break,
            _ => {}
        }
    }
    (deliveries, events, sent)
}

/// The whole-frame PDUs among `pdus` whose frame is of `kind`.
fn frames_of(pdus: &[Vec<u8>], kind: Kind) -> Vec<Vec<u8>> {
    pdus.iter().filter(|p| p.len() > 2 && p[0] == CTRL_WHOLE && p[2] == kind as u8).map(|p| p[1..].to_vec()).collect()
}

/// Node A with link 0 (MTU 185) up but not yet confirmed, drained; and the instant 1 ms.
fn node_a_with_a_link() -> (Node, LinkId, Instant) {
    let link = LinkId(0);
    let mut a = Node::new(Config::new(A, 1), Instant::ZERO).unwrap();
    a.handle_link_up(Instant::ZERO, link, LinkReport::new(185)).unwrap();
    drain(&mut a);
    (a, link, Instant::from_millis(1))
}

#[test]
fn a_node_accepts_the_vectors_as_documented() {
    let (mut a, link, t) = node_a_with_a_link();

    // Before the handshake, only heartbeats are accepted.
    a.handle_receive(t, link, &pdus(&vector("game_data_broadcast"), 185, 0)[0]).unwrap();
    assert_eq!(a.metrics().drops.get(DropReason::LinkNotConfirmed), 1);

    // B's heartbeat addressed to A confirms the link at once (§7.1).
    a.handle_receive(t, link, &vector("link_whole_heartbeat")).unwrap();
    let (_, events) = drain(&mut a);
    assert!(events.iter().any(|e| matches!(e, Event::NeighbourUp { node, .. } if *node == B)), "{events:?}");
    assert_eq!(a.metrics().heartbeats_received, 1);

    // B's heartbeat listing A and C: A keeps them as B's neighbours (§6.2).
    a.handle_receive(t, link, &pdus(&vector("heartbeat_with_neighbours"), 185, 0)[0]).unwrap();
    let b_link = a.neighbours().find(|l| l.peer == B).expect("link to B");
    assert_eq!(&b_link.peer_neighbours[..], &[A, C]);
    assert_eq!(a.metrics().heartbeats_received, 2);

    // C's relayed broadcast is delivered with hop count hops + 1 = 2, once.
    let pdu = pdus(&vector("game_data_broadcast"), 185, 0).remove(0);
    a.handle_receive(t, link, &pdu).unwrap();
    let (deliveries, _) = drain(&mut a);
    assert_eq!(deliveries, vec![(C, 2, b"hello".to_vec())]);
    a.handle_receive(t, link, &pdu).unwrap();
    assert_eq!(a.metrics().drops.get(DropReason::Duplicate), 1);

    // A's own announcement, fragmented, is reassembled and then recognised as its own.
    for i in 0..5 {
        a.handle_receive(t, link, &vector(&format!("fragment_announcement_{i}"))).unwrap();
    }
    assert_eq!(a.metrics().reassembled, 1);
    assert_eq!(a.metrics().drops.get(DropReason::OwnFrame), 1);

    // Link ARQ (§7.5): the broadcast, its duplicate and A's own frame were all acknowledged;
    // `link_ack_delay` (5 ms) later A sends exactly the `link_ack` vector, whole.
    drain(&mut a);
    a.handle_timeout(t + core::time::Duration::from_millis(4)).unwrap();
    let (_, _, early) = drain_all(&mut a);
    assert!(frames_of(&early, Kind::LinkAck).is_empty(), "acknowledgements are gathered for 5 ms");
    a.handle_timeout(t + core::time::Duration::from_millis(5)).unwrap();
    let (_, _, sent) = drain_all(&mut a);
    assert_eq!(frames_of(&sent, Kind::LinkAck), vec![vector("link_ack")]);
    assert_eq!(a.metrics().link_acks_sent, 1);
    // A's heartbeats now list its one confirmed neighbour, B (§6.2).
    let heartbeats = frames_of(&[early, sent].concat(), Kind::Heartbeat);
    assert!(!heartbeats.is_empty());
    for hb in &heartbeats {
        let f = Frame::new_checked(hb, MAX).unwrap();
        let Message::Heartbeat(body, neighbours) = Message::parse(&f).unwrap() else { panic!("not a heartbeat") };
        assert_eq!((body.neighbour_count, body.connections), (1, 1));
        assert_eq!(neighbours.iter().map(|n| n.get()).collect::<Vec<_>>(), vec![B.0]);
    }
}

/// The vectors with byte 0 set back to 1 (the version before reservations) or 2 (the version
/// before election views, §10): every frame is dropped as `unsupported_version` and nothing
/// else happens: the link is not confirmed, nothing is delivered, acknowledged or relayed. The
/// same bytes of the current version are accepted.
#[test]
fn a_node_drops_frames_of_earlier_versions() {
    for old_version in 1..VERSION {
        drops_frames_of(old_version);
    }
}

fn drops_frames_of(old_version: u8) {
    let (mut a, link, t) = node_a_with_a_link();
    let of_version = |mut frame: Vec<u8>, version: u8| {
        assert_eq!(frame[0], VERSION);
        frame[0] = version;
        pdus(&frame, 185, 0).remove(0)
    };
    let mut flow_data = vector("game_data_unicast");
    flow_data[2] |= flags::FLOW;

    a.handle_receive(t, link, &of_version(vector("heartbeat"), old_version)).unwrap();
    let (_, events) = drain(&mut a);
    assert!(events.is_empty(), "{events:?}");
    assert_eq!((a.metrics().heartbeats_received, a.metrics().drops.total()), (0, 1));
    assert_eq!(a.metrics().drops.get(DropReason::UnsupportedVersion), 1);
    a.handle_receive(t, link, &vector("link_whole_heartbeat")).unwrap();
    let (_, events) = drain(&mut a);
    assert!(events.iter().any(|e| matches!(e, Event::NeighbourUp { node, .. } if *node == B)), "{events:?}");

    let old = ["game_data_broadcast", "routing_update", "topology_update", "election"].map(vector);
    for frame in old.iter().cloned().chain([flow_data]) {
        a.handle_receive(t, link, &of_version(frame, old_version)).unwrap();
    }
    let later = t + core::time::Duration::from_millis(100);
    a.handle_timeout(later).unwrap();
    let (deliveries, _, sent) = drain_all(&mut a);
    assert!(deliveries.is_empty());
    // A sends only its own frames (heartbeats, its advert and announcement): no relay, no
    // `LinkAck` (a frame dropped at §9 step 4 is not acknowledged).
    let theirs = |p: &&Vec<u8>| p[0] != CTRL_WHOLE || p[9..17] != A.0.to_be_bytes() || p[2] == Kind::LinkAck as u8;
    assert_eq!(sent.iter().find(theirs), None);
    assert_eq!((a.metrics().drops.get(DropReason::UnsupportedVersion), a.metrics().drops.total()), (6, 6));
    assert_eq!(a.metrics().frames_accepted, 0);
    // The same broadcast at the current version is delivered.
    a.handle_receive(later, link, &of_version(old[0].clone(), VERSION)).unwrap();
    assert_eq!(drain(&mut a).0, vec![(C, 2, b"hello".to_vec())]);
}

#[test]
fn a_node_checks_link_acks_as_documented() {
    let (mut a, link, t) = node_a_with_a_link();
    // A `LinkAck` needs a confirmed link (§9 step 7).
    a.handle_receive(t, link, &pdus(&vector("link_ack"), 185, 0)[0]).unwrap();
    assert_eq!(a.metrics().drops.get(DropReason::LinkNotConfirmed), 1);
    a.handle_receive(t, link, &vector("link_whole_heartbeat")).unwrap();
    drain(&mut a);
    // The `link_ack` vector names A as its origin, not the link's neighbour B.
    a.handle_receive(t, link, &pdus(&vector("link_ack"), 185, 0)[0]).unwrap();
    assert_eq!(a.metrics().drops.get(DropReason::NeighbourMismatch), 1);
    // From B but addressed to C: misdirected. Addressed to A: accepted silently.
    let mut from_b = vector("link_ack");
    from_b[8..16].copy_from_slice(&B.0.to_be_bytes());
    from_b[16..24].copy_from_slice(&C.0.to_be_bytes());
    a.handle_receive(t, link, &pdus(&from_b, 185, 0)[0]).unwrap();
    assert_eq!(a.metrics().drops.get(DropReason::Misdirected), 1);
    from_b[16..24].copy_from_slice(&A.0.to_be_bytes());
    let before = a.metrics().drops.clone();
    a.handle_receive(t, link, &pdus(&from_b, 185, 0)[0]).unwrap();
    assert_eq!(a.metrics().drops, before);
    // A `LinkAck` is never acknowledged itself.
    a.handle_timeout(t + core::time::Duration::from_millis(10)).unwrap();
    let (_, _, sent) = drain_all(&mut a);
    assert!(frames_of(&sent, Kind::LinkAck).is_empty());
}

#[test]
fn documented_rejections() {
    // A few single-byte defects of the vectors and the drop reason §9 assigns to each.
    let frame_case = |name: &str, at: usize, value: u8, want: DropReason| {
        let mut b = vector(name);
        b[at] = value;
        let got = Frame::new_checked(&b, MAX).and_then(|f| Message::parse(&f).map(|_| ()));
        assert_eq!(got, Err(want), "{name}[{at}] = {value:#04x}");
    };
    frame_case("heartbeat", 0, 1, DropReason::UnsupportedVersion); // before reservations (§10)
    frame_case("heartbeat", 0, 2, DropReason::UnsupportedVersion); // before election views (§10)
    frame_case("heartbeat", 0, 3, DropReason::UnsupportedVersion); // before `Resume` (§10)
    frame_case("heartbeat", 0, 4, DropReason::UnsupportedVersion); // before `Session` (§10)
    frame_case("heartbeat", 0, 5, DropReason::UnsupportedVersion); // before snapshots (§10)
    frame_case("heartbeat", 0, 7, DropReason::UnsupportedVersion);
    frame_case("heartbeat", 1, 9, DropReason::MalformedBody); // a `Resume` is 12 bytes
    frame_case("heartbeat", 1, 10, DropReason::MalformedBody); // no session message type 0
    frame_case("heartbeat", 1, 11, DropReason::UnknownKind);
    frame_case("heartbeat", 1, 0, DropReason::UnknownKind);
    frame_case("heartbeat", 1, 0xff, DropReason::UnknownKind);
    frame_case("heartbeat", 2, 0x10, DropReason::ReservedBits);
    frame_case("heartbeat", 7, 0x13, DropReason::LengthMismatch);
    frame_case("heartbeat", 7, 0x15, DropReason::Truncated);
    frame_case("heartbeat", 5, 1, DropReason::Truncated);
    frame_case("heartbeat", 29, 101, DropReason::MalformedBody);
    frame_case("announcement", 30, 0xfe, DropReason::MalformedBody);
    frame_case("topology_update", 32, 3, DropReason::MalformedBody);
    frame_case("routing_update", 28, 7, DropReason::MalformedBody); // op
    frame_case("routing_update", 30, 4, DropReason::MalformedBody); // priority
    frame_case("routing_update", 31, 17, DropReason::MalformedBody); // path_len above 16
    frame_case("routing_update", 31, 2, DropReason::MalformedBody); // path_len disagrees
    frame_case("routing_update", 32, 0, DropReason::MalformedBody); // Reserve to the source
    frame_case("routing_update", 33, 1, DropReason::MalformedBody); // reserved
    frame_case("routing_update", 29, 1, DropReason::MalformedBody); // reason on a Reserve
    frame_case("routing_update", 43, 0, DropReason::MalformedBody); // bandwidth 0
    frame_case("routing_update", 47, 1, DropReason::MalformedBody); // reserved2
    frame_case("routing_update", 55, 1, DropReason::MalformedBody); // `at` on a Reserve
    frame_case("election", 28, 5, DropReason::MalformedBody);
    frame_case("election", 29, 2, DropReason::MalformedBody);
    frame_case("election", 31, 2, DropReason::MalformedBody);
    // Heartbeat neighbour count (§6.2): it must agree with the body length and be at most 16.
    frame_case("heartbeat", 31, 1, DropReason::MalformedBody);
    frame_case("heartbeat_with_neighbours", 31, 0, DropReason::MalformedBody);
    frame_case("heartbeat_with_neighbours", 31, 1, DropReason::MalformedBody);
    frame_case("heartbeat_with_neighbours", 31, 3, DropReason::MalformedBody);
    frame_case("heartbeat_with_neighbours", 29, 101, DropReason::MalformedBody);
    let parse = |b: &[u8]| Frame::new_checked(b, MAX).and_then(|f| Message::parse(&f).map(|_| ()));
    assert_eq!(parse(&heartbeat_listing(MAX_HEARTBEAT_NEIGHBOURS)), Ok(()));
    assert_eq!(parse(&heartbeat_listing(MAX_HEARTBEAT_NEIGHBOURS + 1)), Err(DropReason::MalformedBody));
    let mut b = vector("heartbeat_with_neighbours");
    b.truncate(b.len() - 4); // half a neighbour id
    b[7] = 0x20;
    assert_eq!(parse(&b), Err(DropReason::MalformedBody));
    // LinkAck count (§6.8): 1..=12, and it must agree with the body length.
    frame_case("link_ack", 28, 0, DropReason::MalformedBody);
    frame_case("link_ack", 28, 1, DropReason::MalformedBody);
    frame_case("link_ack", 28, 3, DropReason::MalformedBody);
    frame_case("link_ack", 28, 13, DropReason::MalformedBody);
    assert_eq!(parse(&link_ack_with(1)), Ok(()));
    assert_eq!(parse(&link_ack_with(MAX_LINK_ACKS)), Ok(()));
    assert_eq!(parse(&link_ack_with(0)), Err(DropReason::MalformedBody));
    assert_eq!(parse(&link_ack_with(MAX_LINK_ACKS + 1)), Err(DropReason::MalformedBody));
    let mut b = vector("link_ack");
    b.truncate(b.len() - 4); // the second entry loses its seq
    b[7] = 0x18;
    assert_eq!(parse(&b), Err(DropReason::MalformedBody));
    let mut b = vector("link_ack");
    b[29..32].fill(0xff); // `reserved`: ignored
    assert_eq!(parse(&b), Ok(()));
    // Reserved body fields are not checked (PROTOCOL.md §10).
    let mut b = vector("heartbeat");
    b[46] = 0xff; // `reserved2`
    assert!(Message::parse(&Frame::new_checked(&b, MAX).unwrap()).is_ok());
    // Origin and destination.
    let mut b = vector("ack");
    b[8..16].fill(0xff);
    assert_eq!(Frame::new_checked(&b, MAX).unwrap_err(), DropReason::InvalidOrigin);
    let mut b = vector("ack");
    b[16..24].fill(0);
    assert_eq!(Frame::new_checked(&b, MAX).unwrap_err(), DropReason::InvalidDestination);
    // Trailing bytes after the body, and a trailer that adds up.
    let mut b = vector("ack");
    b.push(0);
    assert_eq!(Frame::new_checked(&b, MAX).unwrap_err(), DropReason::LengthMismatch);
    b[5] = 1;
    let f = Frame::new_checked(&b, MAX).unwrap();
    assert_eq!((f.body().len(), f.auth()), (8, &[0u8][..]));
    // Link layer.
    let pdu_case = |mut b: Vec<u8>, at: usize, value: u8, want: DropReason| {
        b[at] = value;
        assert_eq!(LinkPdu::new_checked(&b, MAX).unwrap_err(), want, "pdu[{at}] = {value:#04x}");
    };
    let frag = vector("fragment_announcement_1");
    pdu_case(frag.clone(), 0, 0x01, DropReason::UnknownLinkPdu); // the old format, without a check
    pdu_case(frag.clone(), 0, 0x03, DropReason::UnknownLinkPdu);
    pdu_case(frag.clone(), 5, 5, DropReason::MalformedFragment); // index = count
    pdu_case(frag.clone(), 6, 1, DropReason::MalformedFragment); // count 1
    pdu_case(frag.clone(), 6, 6, DropReason::MalformedFragment); // chunk length no longer matches
    pdu_case(frag.clone(), 3, 0x09, DropReason::Oversized); // total_len 0x0928 = 2344 > 2048
    assert_eq!(LinkPdu::new_checked(&frag[..6], MAX).unwrap_err(), DropReason::Truncated);
    assert_eq!(LinkPdu::new_checked(&frag[..10], MAX).unwrap_err(), DropReason::Truncated);
}
