//! Restarts (`resume.rs`): a neighbour's own frames behind what a node holds of it are
//! answered with one `Resume`, and the restarted node jumps past the counters it names.

use alloc::vec::Vec;
use core::time::Duration;

use zerocopy::IntoBytes;
use zerocopy::network_endian::U32;

use super::resume::{ADVERT_JUMP, RESUME_GAP, SEQUENCE_JUMP};
use super::tests::heartbeat_from;
use crate::wire::link::LinkPdu;
use crate::wire::messages::{RESUME_ADVERT_VERSION, RESUME_FLOOD_TOP, ResumeBody};
use crate::wire::{Frame, FrameHeader, Kind, Message, encode_frame};
use crate::{Config, Destination, DropReason, Instant, LinkId, LinkReport, Node, NodeId, Output, Priority};

const B: NodeId = NodeId(2);
const X: NodeId = NodeId(9);
/// B's link to X, and X's link to B.
const L: LinkId = LinkId(1);

/// A whole-frame link PDU of `header` and `body`.
fn pdu(header: &FrameHeader, body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    encode_frame(&mut frame, header, &[body]);
    let mut pdu = alloc::vec![0u8];
    pdu.extend_from_slice(&frame);
    pdu
}

/// A whole-frame PDU of `kind` from `origin` with `seq`, `hops` travelled, broadcast.
fn flood_pdu(kind: Kind, origin: NodeId, seq: u32, hops: u8, body: &[u8]) -> Vec<u8> {
    let mut h = FrameHeader::new(kind, Priority::Normal, 8, origin, Destination::Broadcast, seq);
    h.hops = hops;
    pdu(&h, body)
}

/// A `Resume` from `from` to `to`.
fn resume_pdu(from: NodeId, to: NodeId, body: &ResumeBody) -> Vec<u8> {
    pdu(&FrameHeader::new(Kind::Resume, Priority::Critical, 1, from, Destination::Node(to), 0), body.as_bytes())
}

/// Drains `n`; calls `each` with the link and frame of every whole-frame PDU it transmitted.
fn drain_frames(n: &mut Node, mut each: impl FnMut(LinkId, &Frame<'_>)) {
    loop {
        match n.poll_output() {
            Output::Transmit(t) => {
                let Ok(LinkPdu::Whole(f)) = LinkPdu::new_checked(t.bytes, 4096) else { continue };
                each(t.link, &Frame::new_checked(f, 4096).unwrap());
            }
            Output::Timeout(_) => return,
            _ => {}
        }
    }
}

/// The Resume bodies `n` transmitted since the last drain.
fn resumes_sent(n: &mut Node) -> Vec<(LinkId, ResumeBody)> {
    let mut out = Vec::new();
    drain_frames(n, |link, f| {
        if let Ok(Message::Resume(r)) = Message::parse(f) {
            assert_eq!(f.header().destination(), Destination::Node(X));
            out.push((link, *r));
        }
    });
    out
}

/// The body of an announcement by a node up for `uptime` seconds.
fn announce(uptime: u32) -> Vec<u8> {
    use crate::wire::messages::Announcement;
    use zerocopy::network_endian::U16;
    let a = Announcement {
        capabilities: U16::new(0),
        battery: 80,
        connections: 1,
        uptime_secs: U32::new(uptime),
        processing_power: U16::new(0),
        reserved: U16::new(0),
    };
    a.as_bytes().to_vec()
}

/// Node B with a confirmed link to X.
fn b_linked_to_x() -> Node {
    let mut b = Node::new(Config { link_arq: false, ..Config::new(B, 3) }, Instant::ZERO).unwrap();
    b.handle_link_up(Instant::ZERO, L, LinkReport::new(185)).unwrap();
    b.handle_receive(Instant::ZERO, L, &heartbeat_from(X, B, 1)).unwrap();
    assert!(b.links.at(0).is_confirmed());
    resumes_sent(&mut b);
    b
}

#[test]
fn a_neighbours_own_stale_flood_is_answered_with_one_resume_per_gap() {
    let mut b = b_linked_to_x();
    let t = Instant::from_millis(10);
    b.handle_receive(t, L, &flood_pdu(Kind::GameData, X, 5000, 0, b"old run")).unwrap();
    assert!(resumes_sent(&mut b).is_empty(), "a new origin's first frame is simply new");
    // Far behind the window, sent by X itself: X restarted.
    b.handle_receive(t, L, &flood_pdu(Kind::GameData, X, 17, 0, b"new run")).unwrap();
    let want = ResumeBody { flood_top: U32::new(5000), advert_version: U32::new(0), known: RESUME_FLOOD_TOP, reserved: [0; 3] };
    assert_eq!(resumes_sent(&mut b), [(L, want)]);
    assert_eq!(b.metrics().drops.get(DropReason::Stale), 1);
    // Within the gap: the frame is dropped, no second notice.
    b.handle_receive(t + Duration::from_millis(500), L, &flood_pdu(Kind::GameData, X, 18, 0, b"")).unwrap();
    assert!(resumes_sent(&mut b).is_empty());
    // After it, the next stale frame gets one again (the first may have been lost).
    b.handle_receive(t + RESUME_GAP, L, &flood_pdu(Kind::GameData, X, 19, 0, b"")).unwrap();
    assert_eq!(resumes_sent(&mut b).len(), 1);
    assert_eq!(b.metrics().resumes_sent, 2);
}

#[test]
fn a_relayed_stale_frame_or_another_origins_is_not_answered() {
    let mut b = b_linked_to_x();
    let t = Instant::from_millis(10);
    b.handle_receive(t, L, &flood_pdu(Kind::GameData, X, 5000, 0, b"")).unwrap();
    b.handle_receive(t, L, &flood_pdu(Kind::GameData, NodeId(7), 900, 1, b"")).unwrap();
    // Stale, but relayed: X did not send it itself (hops 1), and node 7 is not the peer.
    b.handle_receive(t, L, &flood_pdu(Kind::GameData, X, 17, 1, b"")).unwrap();
    b.handle_receive(t, L, &flood_pdu(Kind::GameData, NodeId(7), 3, 1, b"")).unwrap();
    assert_eq!(b.metrics().drops.get(DropReason::Stale), 2);
    assert!(resumes_sent(&mut b).is_empty());
    assert_eq!(b.metrics().resumes_sent, 0);
}

#[test]
fn a_malformed_or_misdirected_resume_is_dropped_and_moves_nothing() {
    let mut x = Node::new(Config { link_arq: false, ..Config::new(X, 4) }, Instant::ZERO).unwrap();
    x.handle_link_up(Instant::ZERO, L, LinkReport::new(185)).unwrap();
    x.handle_receive(Instant::ZERO, L, &heartbeat_from(B, X, 1)).unwrap();
    let seq = x.seq;
    let send = |x: &mut Node, to: NodeId, known: u8, from: NodeId| {
        let body = ResumeBody { flood_top: U32::new(seq.wrapping_add(10)), advert_version: U32::new(50), known, reserved: [0; 3] };
        x.handle_receive(Instant::from_millis(5), L, &resume_pdu(from, to, &body)).unwrap();
    };
    send(&mut x, X, 0, B);
    send(&mut x, X, 4, B);
    assert_eq!(x.metrics().drops.get(DropReason::MalformedBody), 2);
    send(&mut x, NodeId(3), RESUME_FLOOD_TOP, B);
    assert_eq!(x.metrics().drops.get(DropReason::Misdirected), 1);
    send(&mut x, X, RESUME_FLOOD_TOP, NodeId(5));
    assert_eq!(x.metrics().drops.get(DropReason::NeighbourMismatch), 1, "a link-local frame names its sender");
    assert_eq!((x.seq, x.advert_version, x.metrics().counters_resumed), (seq, 0, 0));
}

#[test]
fn a_resume_moves_the_counters_forward_never_back() {
    let mut x = Node::new(Config { link_arq: false, ..Config::new(X, 4) }, Instant::ZERO).unwrap();
    x.handle_link_up(Instant::ZERO, L, LinkReport::new(185)).unwrap();
    x.handle_receive(Instant::ZERO, L, &heartbeat_from(B, X, 1)).unwrap();
    x.seq = 1000;
    x.advert_version = 70;
    let behind = ResumeBody {
        flood_top: U32::new(400),
        advert_version: U32::new(12),
        known: RESUME_FLOOD_TOP | RESUME_ADVERT_VERSION,
        reserved: [0; 3],
    };
    let from_b = |body: &ResumeBody| resume_pdu(B, X, body);
    x.handle_receive(Instant::from_millis(6), L, &from_b(&behind)).unwrap();
    assert_eq!((x.seq, x.advert_version, x.metrics().counters_resumed), (1000, 70, 0), "behind: nothing moves");
    let ahead = ResumeBody { flood_top: U32::new(5000), advert_version: U32::new(300), ..behind };
    x.handle_receive(Instant::from_millis(7), L, &from_b(&ahead)).unwrap();
    assert_eq!(x.metrics().counters_resumed, 1);
    // The advert was flooded at once under the jumped version, the announcement too (its
    // first floods were stale): the node's next numbers follow the jump.
    assert_eq!(x.advert_version, 300 + ADVERT_JUMP);
    let mut flooded = Vec::new();
    drain_frames(&mut x, |_, f| {
        if f.kind().is_multi_hop() {
            flooded.push((f.kind(), f.message_id().seq));
        }
    });
    let first = 5000 + SEQUENCE_JUMP;
    assert_eq!(flooded, [(Kind::TopologyUpdate, first), (Kind::Announcement, first + 1)]);
}

#[test]
fn a_secured_node_keeps_its_sequence_block_but_jumps_its_advert_version() {
    let identity = crate::security::Identity::from_seed(&[9; 32]);
    let key = crate::security::NetworkKey::new(&[1; 32]);
    let id = identity.node_id();
    let mut x = Node::new_secure(Config { link_arq: false, ..Config::new(id, 4) }, super::Security::new(identity, key), Instant::ZERO).unwrap();
    let seq = x.seq;
    let body = ResumeBody { flood_top: U32::new(seq.wrapping_add(9000)), advert_version: U32::new(40), known: 3, reserved: [0; 3] };
    x.advert_version = 2;
    // Called directly: the secured receive path needs a keyed peer, which `resume.rs` does
    // not depend on.
    x.on_resume(Instant::from_millis(5), &body);
    assert_eq!((x.seq, x.advert_version), (seq, 40 + ADVERT_JUMP - 1), "no links: nothing to flood yet");
}

#[test]
fn a_neighbours_own_advert_behind_the_one_held_is_answered_with_both_counters() {
    let mut b = b_linked_to_x();
    let advert = |version: u32| {
        let head = crate::wire::messages::TopologyHeader { advert_version: U32::new(version), entry_count: 0, reserved: [0; 3] };
        head.as_bytes().to_vec()
    };
    let t = Instant::from_millis(10);
    b.handle_receive(t, L, &flood_pdu(Kind::TopologyUpdate, X, 100, 0, &advert(57))).unwrap();
    // A new flood number (the window takes it), but advert version 1 after 57: X restarted.
    b.handle_receive(t, L, &flood_pdu(Kind::TopologyUpdate, X, 200, 0, &advert(1))).unwrap();
    let want = ResumeBody {
        flood_top: U32::new(200),
        advert_version: U32::new(57),
        known: RESUME_FLOOD_TOP | RESUME_ADVERT_VERSION,
        reserved: [0; 3],
    };
    assert_eq!(resumes_sent(&mut b), [(L, want)]);
    assert_eq!(b.router.lsdb().advert(X).map(|a| a.version), Some(57), "the older advert is not taken");
}

#[test]
fn an_announcement_with_a_lower_uptime_makes_the_node_flood_its_advert_soon() {
    let adverts_between = |b: &mut Node, from: Instant, to: Instant| {
        let mut n = 0;
        let mut t = from;
        while t < to {
            // X stays alive: a heartbeat every 250 ms.
            if t.as_micros() % 250_000 < 10_000 {
                let seq = (t.as_micros() / 250_000) as u32 + 2;
                b.handle_receive(t, L, &heartbeat_from(X, B, seq)).unwrap();
            }
            b.handle_timeout(t).unwrap();
            drain_frames(b, |_, f| n += usize::from(f.kind() == Kind::TopologyUpdate));
            t += Duration::from_millis(10);
        }
        n
    };
    let mut b = b_linked_to_x();
    let t0 = Instant::from_secs(10);
    assert!(adverts_between(&mut b, Instant::from_millis(1), t0) >= 1, "the advert after the link came up");
    b.handle_receive(t0, L, &flood_pdu(Kind::Announcement, X, 10, 0, &announce(3600))).unwrap();
    b.handle_receive(t0, L, &flood_pdu(Kind::Announcement, X, 11, 0, &announce(3605))).unwrap();
    let t1 = t0 + Duration::from_secs(2);
    assert_eq!(adverts_between(&mut b, t0, t1), 0, "uptime moving on: nothing to do");
    // X's uptime went back: it restarted, and its routing database is empty.
    b.handle_receive(t1, L, &flood_pdu(Kind::Announcement, X, 12, 0, &announce(1))).unwrap();
    let soon = t1 + Duration::from_millis(150);
    assert_eq!(adverts_between(&mut b, t1, soon), 1, "flooded advert_min_gap (100 ms) later");
}

#[test]
fn an_announcement_of_a_node_heard_of_before_its_start_makes_the_node_flood_its_advert() {
    // B hears X's frames from 10 ms on, but never an announcement of it (uptime unknown).
    let mut b = b_linked_to_x();
    b.handle_receive(Instant::from_millis(10), L, &flood_pdu(Kind::GameData, X, 5, 0, b"")).unwrap();
    let t = Instant::from_secs(6);
    // Started 4 s ago by its uptime: heard of 6 s ago is within the slack of 3 s.
    b.handle_receive(t, L, &flood_pdu(Kind::Announcement, X, 6, 0, &announce(4))).unwrap();
    assert_eq!(b.advert_wanted, None);
    // Uptime 6 at 8 s: started at 2 s, within the slack of B's first hearing (about 0 s).
    let t = Instant::from_secs(8);
    b.handle_receive(t, L, &flood_pdu(Kind::Announcement, X, 7, 0, &announce(6))).unwrap();
    assert_eq!(b.advert_wanted, None);
    // Uptime 6 again at 12 s (not lower than before): started at 6 s, but B heard of it
    // 12 s ago. It restarted.
    let t = Instant::from_secs(12);
    b.handle_receive(t, L, &flood_pdu(Kind::Announcement, X, 8, 0, &announce(6))).unwrap();
    assert_eq!(b.advert_wanted, Some(t), "its advert is wanted: flooded advert_min_gap from now");
}
