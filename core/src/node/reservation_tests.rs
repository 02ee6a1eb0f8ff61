//! Exact outputs of one hop for reservation messages: reserve and forward, refuse with the
//! reason, confirm, refuse and teardown passed back, release, soft-state expiry, link
//! loss, policing, and the drops for misrouted or unknown messages.

use alloc::vec::Vec;
use core::time::Duration;

use zerocopy::IntoBytes;
use zerocopy::network_endian::{U16, U32, U64};

use crate::flow::ReservationRefusal;
use crate::wire::link::LinkPdu;
use crate::wire::reservation::{ReservationHeader, ReservationOp, TEARDOWN_LINK_LOST};
use crate::wire::{Frame, FrameHeader, Kind, Message, encode_frame, flags};
use crate::{Config, Destination, DropReason, Instant, LinkId, LinkReport, Node, NodeId, Output, Priority};

/// The hop under test: node 2, between node 1 (link 1) and node 3 (link 3).
const ME: NodeId = NodeId(2);
const UP: LinkId = LinkId(1);
const DOWN: LinkId = LinkId(3);
const FLOW: u32 = 77;

/// A reservation message as the test reads it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sent {
    link: LinkId,
    to: NodeId,
    op: ReservationOp,
    hop: u8,
    reason: u8,
    at: u64,
    bandwidth: u32,
}

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn pdu(frame: &[u8]) -> Vec<u8> {
    let mut p = alloc::vec![0u8];
    p.extend_from_slice(frame);
    p
}

/// A reservation message from `from` to `ME`.
#[allow(clippy::too_many_arguments)]
fn message(from: NodeId, seq: u32, op: ReservationOp, path: &[u64], hop: u8, bw: u32, reason: u8, at: u64) -> Vec<u8> {
    let head = ReservationHeader {
        op: op as u8,
        reason,
        priority: Priority::High as u8,
        path_len: path.len() as u8,
        hop,
        reserved: 0,
        max_latency_ms: U16::new(0),
        flow_id: U32::new(FLOW),
        bandwidth_kbps: U32::new(bw),
        latency_ms: U16::new(0),
        reserved2: U16::new(0),
        at: U64::new(at),
    };
    let ids: Vec<U64> = path.iter().map(|n| U64::new(*n)).collect();
    let h = FrameHeader::new(Kind::RoutingUpdate, Priority::Critical, 1, from, Destination::Node(ME), seq);
    let mut frame = Vec::new();
    encode_frame(&mut frame, &h, &[head.as_bytes(), ids.as_bytes()]);
    pdu(&frame)
}

fn data(seq: u32, len: usize) -> Vec<u8> {
    let mut h = FrameHeader::new(Kind::GameData, Priority::High, 8, NodeId(1), Destination::Node(NodeId(3)), seq);
    h.flags |= flags::FLOW;
    let mut frame = Vec::new();
    encode_frame(&mut frame, &h, &[&alloc::vec![7u8; len]]);
    pdu(&frame)
}

/// Drains `n`: the reservation messages it sent, and the links its game data went on.
fn drain(n: &mut Node) -> (Vec<Sent>, Vec<LinkId>) {
    let (mut sent, mut data) = (Vec::new(), Vec::new());
    loop {
        match n.poll_output() {
            Output::Transmit(tx) => {
                let Ok(LinkPdu::Whole(bytes)) = LinkPdu::new_checked(tx.bytes, 4096) else { continue };
                let f = Frame::new_checked(bytes, 4096).unwrap();
                match Message::parse(&f).unwrap() {
                    Message::RoutingUpdate(m) => sent.push(Sent {
                        link: tx.link,
                        to: f.header().destination().to_node_id(),
                        op: m.op(),
                        hop: m.head.hop,
                        reason: m.head.reason,
                        at: m.head.at.get(),
                        bandwidth: m.head.bandwidth_kbps.get(),
                    }),
                    Message::GameData { .. } => data.push(tx.link),
                    _ => {}
                }
            }
            Output::Timeout(_) => return (sent, data),
            _ => {}
        }
    }
}

/// The hop with both links confirmed, and the capacity of its link to node 3, kbit/s.
/// Soft state lasts 500 ms (the peers send no heartbeat after the first: links last 2 s).
fn hop() -> (Node, u32) {
    hop_with(|c| c)
}

fn hop_with(adjust: impl Fn(Config) -> Config) -> (Node, u32) {
    let mut c = Config::new(ME, 9);
    c.reservation_refresh = Duration::from_millis(200);
    c.reservation_lifetime = Duration::from_millis(500);
    c.reservation_setup_timeout = Duration::from_millis(300);
    c.link_arq = false; // the peers here never acknowledge: no retransmissions
    let mut n = Node::new(adjust(c), Instant::ZERO).unwrap();
    for link in [UP, DOWN] {
        n.handle_link_up(Instant::ZERO, link, LinkReport::new(185)).unwrap();
    }
    for (link, peer) in [(UP, NodeId(1)), (DOWN, NodeId(3))] {
        n.handle_receive(t(1), link, &super::tests::heartbeat_from(peer, ME, 1)).unwrap();
    }
    drain(&mut n);
    let cap = n.neighbours().find(|l| l.peer == NodeId(3)).unwrap().estimator.bandwidth_bps() / 1000;
    assert!(cap > 20, "a fresh link has a capacity estimate: {cap}");
    (n, cap)
}

fn sent(link: LinkId, to: u64, op: ReservationOp, hop: u8, reason: u8, at: u64, bandwidth: u32) -> Sent {
    Sent { link, to: NodeId(to), op, hop, reason, at, bandwidth }
}

/// The hop after admitting and confirming flow `FLOW` of 1 → 3 at `bw`.
fn confirmed(bw: u32) -> Node {
    let (mut n, _) = hop();
    n.handle_receive(t(2), UP, &message(NodeId(1), 10, ReservationOp::Reserve, &[1, 2, 3], 1, bw, 0, 0)).unwrap();
    n.handle_receive(t(3), DOWN, &message(NodeId(3), 10, ReservationOp::Confirm, &[1, 2, 3], 1, bw, 0, 0)).unwrap();
    drain(&mut n);
    assert!(n.reservations().get(NodeId(1), FLOW).unwrap().confirmed);
    n
}

#[test]
fn reserve_is_held_tentatively_and_forwarded_then_confirm_goes_back() {
    let (mut n, _) = hop();
    n.handle_receive(t(2), UP, &message(NodeId(1), 10, ReservationOp::Reserve, &[1, 2, 3], 1, 20, 0, 0)).unwrap();
    assert_eq!(drain(&mut n).0, alloc::vec![sent(DOWN, 3, ReservationOp::Reserve, 2, 0, 0, 20)]);
    let e = *n.reservations().get(NodeId(1), FLOW).unwrap();
    assert_eq!((e.prev(), e.next(), e.bandwidth_kbps, e.confirmed), (Some(NodeId(1)), Some(NodeId(3)), 20, false));
    assert_eq!(e.expires_at, t(2) + n.config().reservation_lifetime);
    assert_eq!(n.reservations().reserved_towards(NodeId(3)), 20);

    n.handle_receive(t(3), DOWN, &message(NodeId(3), 10, ReservationOp::Confirm, &[1, 2, 3], 1, 20, 0, 0)).unwrap();
    assert_eq!(drain(&mut n).0, alloc::vec![sent(UP, 1, ReservationOp::Confirm, 0, 0, 0, 20)]);
    assert!(n.reservations().get(NodeId(1), FLOW).unwrap().confirmed);
    assert_eq!(n.metrics().reservation_messages, 2);
}

#[test]
fn a_reserve_beyond_the_free_capacity_is_refused_naming_this_hop() {
    let (mut n, cap) = hop();
    n.handle_receive(t(2), UP, &message(NodeId(1), 10, ReservationOp::Reserve, &[1, 2, 3], 1, cap - 5, 0, 0)).unwrap();
    drain(&mut n);
    // Another source's flow through the same link: 10 more do not fit beside cap − 5.
    let other = message(NodeId(1), 11, ReservationOp::Reserve, &[4, 1, 2, 3], 2, 10, 0, 0);
    n.handle_receive(t(3), UP, &other).unwrap();
    let code = ReservationRefusal::InsufficientBandwidth.code();
    assert_eq!(drain(&mut n).0, alloc::vec![sent(UP, 1, ReservationOp::Refuse, 1, code, ME.0, 10)]);
    assert_eq!(n.reservations().len(), 1);
    assert!(n.reservations().get(NodeId(4), FLOW).is_none());
    // 5 still fit.
    let small = message(NodeId(1), 12, ReservationOp::Reserve, &[4, 1, 2, 3], 2, 5, 0, 0);
    n.handle_receive(t(4), UP, &small).unwrap();
    assert_eq!(drain(&mut n).0, alloc::vec![sent(DOWN, 3, ReservationOp::Reserve, 3, 0, 0, 5)]);
    assert_eq!(n.reservations().reserved_towards(NodeId(3)), u64::from(cap));
}

#[test]
fn a_full_table_and_a_missing_next_link_are_refused() {
    let (mut n, _) = hop_with(|c| Config { max_reservations: 1, ..c });
    n.handle_receive(t(2), UP, &message(NodeId(1), 10, ReservationOp::Reserve, &[1, 2, 3], 1, 1, 0, 0)).unwrap();
    n.handle_receive(t(2), UP, &message(NodeId(1), 11, ReservationOp::Reserve, &[5, 1, 2, 3], 2, 1, 0, 0)).unwrap();
    n.handle_receive(t(2), UP, &message(NodeId(1), 12, ReservationOp::Reserve, &[6, 1, 2, 9], 2, 1, 0, 0)).unwrap();
    let (full, none) = (ReservationRefusal::TableFull.code(), ReservationRefusal::NoLink.code());
    assert_eq!(
        drain(&mut n).0,
        alloc::vec![
            sent(DOWN, 3, ReservationOp::Reserve, 2, 0, 0, 1),
            sent(UP, 1, ReservationOp::Refuse, 1, full, ME.0, 1),
            sent(UP, 1, ReservationOp::Refuse, 1, none, ME.0, 1),
        ]
    );
}

#[test]
fn refuse_and_teardown_from_downstream_drop_the_state_and_go_back() {
    let (mut n, _) = hop();
    n.handle_receive(t(2), UP, &message(NodeId(1), 10, ReservationOp::Reserve, &[1, 2, 3, 4], 1, 8, 0, 0)).unwrap();
    drain(&mut n);
    let code = ReservationRefusal::Congested.code();
    n.handle_receive(t(3), DOWN, &message(NodeId(3), 10, ReservationOp::Refuse, &[1, 2, 3, 4], 1, 8, code, 3)).unwrap();
    assert_eq!(drain(&mut n).0, alloc::vec![sent(UP, 1, ReservationOp::Refuse, 0, code, 3, 8)]);
    assert!(n.reservations().is_empty());

    let mut n = confirmed(8);
    let down = message(NodeId(3), 11, ReservationOp::Teardown, &[1, 2, 3], 1, 8, TEARDOWN_LINK_LOST, 3);
    n.handle_receive(t(5), DOWN, &down).unwrap();
    assert_eq!(drain(&mut n).0, alloc::vec![sent(UP, 1, ReservationOp::Teardown, 0, TEARDOWN_LINK_LOST, 3, 8)]);
    assert!(n.reservations().is_empty());
}

#[test]
fn release_drops_the_state_and_goes_on() {
    let mut n = confirmed(8);
    n.handle_receive(t(5), UP, &message(NodeId(1), 11, ReservationOp::Release, &[1, 2, 3], 1, 8, 0, 0)).unwrap();
    assert_eq!(drain(&mut n).0, alloc::vec![sent(DOWN, 3, ReservationOp::Release, 2, 0, 0, 8)]);
    assert!(n.reservations().is_empty());
}

#[test]
fn unrefreshed_state_expires_and_refresh_or_traffic_keeps_it() {
    let mut n = confirmed(8);
    let life = n.config().reservation_lifetime.as_millis() as u64;
    let at = 3 + life; // confirmed at 3 ms
    n.handle_timeout(t(at - 1)).unwrap();
    assert_eq!(n.reservations().len(), 1);
    // A refresh at `at − 1 ms` moves the expiry; it is passed on.
    n.handle_receive(t(at - 1), UP, &message(NodeId(1), 11, ReservationOp::Refresh, &[1, 2, 3], 1, 8, 0, 0)).unwrap();
    assert_eq!(drain(&mut n).0, alloc::vec![sent(DOWN, 3, ReservationOp::Refresh, 2, 0, 0, 8)]);
    n.handle_timeout(t(at)).unwrap();
    assert_eq!(n.reservations().len(), 1);
    // Flow traffic refreshes too.
    let later = at + life - 2;
    n.handle_receive(t(later), UP, &data(20, 10)).unwrap();
    n.handle_timeout(t(later + life - 1)).unwrap();
    assert_eq!(n.reservations().len(), 1);
    n.handle_timeout(t(later + life)).unwrap();
    assert!(n.reservations().is_empty());
    assert_eq!(n.metrics().reservations_expired, 1);
    assert!(drain(&mut n).0.is_empty(), "expiry sends nothing");
}

#[test]
fn losing_a_link_tears_down_upstream_or_releases_downstream() {
    let mut n = confirmed(8);
    n.handle_link_down(t(5), DOWN).unwrap();
    assert_eq!(drain(&mut n).0, alloc::vec![sent(UP, 1, ReservationOp::Teardown, 0, TEARDOWN_LINK_LOST, ME.0, 8)]);
    assert!(n.reservations().is_empty());

    let mut n = confirmed(8);
    n.handle_link_down(t(5), UP).unwrap();
    assert_eq!(drain(&mut n).0, alloc::vec![sent(DOWN, 3, ReservationOp::Release, 2, 0, 0, 8)]);
    assert!(n.reservations().is_empty());
}

#[test]
fn flow_traffic_beyond_the_reservation_is_policed() {
    // 8 kbit/s = 1,000 bytes/s; the burst is one maximum-size message (2,048 bytes).
    let mut n = confirmed(8);
    let burst = n.config().max_message_size;
    let frame_len = 28 + 100;
    let mut sent = 0;
    for k in 0..40u32 {
        n.handle_receive(t(10), UP, &data(100 + k, 100)).unwrap();
        sent += drain(&mut n).1.len();
    }
    assert_eq!(sent, burst / frame_len, "the burst passes, the rest is dropped");
    assert_eq!(n.metrics().drops.get(DropReason::Policed), 40 - sent as u64);
    // A second later 1,000 bytes of credit came back: 7 frames of 128 bytes.
    let mut later = 0;
    for k in 0..20u32 {
        n.handle_receive(t(1010), UP, &data(200 + k, 100)).unwrap();
        later += drain(&mut n).1.iter().filter(|l| **l == DOWN).count();
    }
    assert_eq!(later, 1000 / frame_len);
}

#[test]
fn misrouted_and_unknown_messages_are_dropped_with_their_reason() {
    let (mut n, _) = hop();
    // The path puts node 9 before this hop, but node 1 sent it.
    n.handle_receive(t(2), UP, &message(NodeId(1), 10, ReservationOp::Reserve, &[9, 2, 3], 1, 8, 0, 0)).unwrap();
    // The path does not put this node at `hop`.
    n.handle_receive(t(2), UP, &message(NodeId(1), 11, ReservationOp::Reserve, &[1, 3, 2], 1, 8, 0, 0)).unwrap();
    // A second path for a flow this hop holds.
    n.handle_receive(t(2), UP, &message(NodeId(1), 13, ReservationOp::Reserve, &[1, 2, 3], 1, 8, 0, 0)).unwrap();
    drain(&mut n);
    n.handle_receive(t(2), UP, &message(NodeId(1), 14, ReservationOp::Reserve, &[1, 2, 5], 1, 8, 0, 0)).unwrap();
    assert_eq!(n.metrics().drops.get(DropReason::ReservationMisrouted), 3);
    n.handle_receive(t(2), UP, &message(NodeId(1), 15, ReservationOp::Release, &[1, 2, 3], 1, 8, 0, 0)).unwrap();
    drain(&mut n);
    n.handle_receive(t(2), DOWN, &message(NodeId(3), 12, ReservationOp::Confirm, &[1, 2, 3], 1, 8, 0, 0)).unwrap();
    assert_eq!(n.metrics().drops.get(DropReason::UnknownReservation), 1);
    assert!(drain(&mut n).0.is_empty());
    assert!(n.reservations().is_empty());
}
