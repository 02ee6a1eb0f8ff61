//! Exact outputs of a node for given inputs, step by step.

use alloc::vec::Vec;
use core::time::Duration;

use zerocopy::IntoBytes;
use zerocopy::network_endian::{U16, U32};

use crate::wire::link::LinkPdu;
use crate::wire::messages::Heartbeat;
use crate::wire::{Frame, FrameHeader, Kind, Message, encode_frame};
use crate::{
    Config, Destination, Error, Event, Instant, LinkId, LinkReport, Node, NodeId, Output, Priority, Qos, Queue,
};

const ME: NodeId = NodeId(1);
const PEER: NodeId = NodeId(2);
const L: LinkId = LinkId(7);

/// What one drain produced: transmits as (link, frame bytes), deliveries, events, timeout.
type Drained = (Vec<(LinkId, Vec<u8>)>, Vec<Vec<u8>>, Vec<Event>, Instant);

fn drain(node: &mut Node) -> Drained {
    let (mut tx, mut rx, mut ev) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        match node.poll_output() {
            Output::Transmit(t) => {
                let LinkPdu::Whole(f) = LinkPdu::new_checked(t.bytes, 4096).unwrap() else { panic!("fragment") };
                tx.push((t.link, f.to_vec()));
            }
            Output::Deliver(d) => rx.push(d.payload.to_vec()),
            Output::Event(e) => ev.push(e),
            Output::Radio(_) => {}
            Output::Sequenced { .. } | Output::Snapshot { .. } => panic!("no session was joined"),
            Output::Timeout(at) => return (tx, rx, ev, at),
        }
    }
}

pub(super) fn heartbeat_from_peer(dst: NodeId, seq: u32) -> Vec<u8> {
    heartbeat_from(PEER, dst, seq)
}

/// A whole-frame link PDU carrying a heartbeat from `from` to `dst`.
pub(super) fn heartbeat_from(from: NodeId, dst: NodeId, seq: u32) -> Vec<u8> {
    let body = Heartbeat {
        rx_quality: 255,
        battery: 80,
        connections: 1,
        neighbour_count: 0,
        tx_time: U32::new(1000),
        echo_time: U32::new(0),
        echo_delay: U32::new(0),
        capabilities: U16::new(0),
        reserved2: U16::new(0),
    };
    let h = FrameHeader::new(Kind::Heartbeat, Priority::Critical, 1, from, Destination::from_node_id(dst), seq);
    let mut f = alloc::vec![0u8];
    let mut frame = Vec::new();
    encode_frame(&mut frame, &h, &[body.as_bytes()]);
    f.extend_from_slice(&frame);
    f
}

fn heartbeat_fields(frame: &[u8]) -> (NodeId, Destination, u32, Vec<u64>) {
    let f = Frame::new_checked(frame, 4096).unwrap();
    let Message::Heartbeat(_, n) = Message::parse(&f).unwrap() else { panic!("not a heartbeat") };
    let h = f.header();
    (h.origin(), h.destination(), h.seq.get(), n.iter().map(|x| x.get()).collect())
}

fn node() -> Node {
    Node::new(Config::new(ME, 5), Instant::ZERO).unwrap()
}

#[test]
fn handshake_step_by_step() {
    let mut n = node();
    n.handle_link_up(Instant::ZERO, L, LinkReport::new(185)).unwrap();
    let (tx, _, ev, at) = drain(&mut n);
    assert!(tx.is_empty() && ev.is_empty());
    assert_eq!(at, Instant::ZERO, "the first hello is due at once");

    // 1. The first hello goes to broadcast: no neighbour heard yet.
    n.handle_timeout(at).unwrap();
    let (tx, _, ev, at) = drain(&mut n);
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].0, L);
    assert_eq!(heartbeat_fields(&tx[0].1), (ME, Destination::Broadcast, 1, alloc::vec![]));
    assert!(ev.is_empty());
    assert!(at > Instant::ZERO && at <= Instant::from_millis(50), "next hello within hello_interval: {at:?}");

    // 2. The peer's hello (to broadcast) is answered at once, addressed to the peer.
    let t = Instant::from_millis(10);
    n.handle_receive(t, L, &heartbeat_from_peer(NodeId::BROADCAST, 1)).unwrap();
    n.handle_timeout(t).unwrap();
    let (tx, _, ev, _) = drain(&mut n);
    assert_eq!(tx.len(), 1);
    assert_eq!(heartbeat_fields(&tx[0].1), (ME, Destination::Node(PEER), 2, alloc::vec![]));
    assert!(
        !ev.iter().any(|e| matches!(e, Event::NeighbourUp { .. })),
        "not confirmed until the peer shows it heard us: {ev:?}"
    );
    assert!(!n.neighbours().next().unwrap().is_confirmed());

    // 3. The peer's heartbeat addressed to us confirms the link, and we answer at once so the
    //    peer can confirm too; our heartbeat now lists the peer as a neighbour.
    let t = Instant::from_millis(20);
    n.handle_receive(t, L, &heartbeat_from_peer(ME, 2)).unwrap();
    let (_, _, ev, at) = drain(&mut n);
    assert_eq!(ev, alloc::vec![Event::NeighbourUp { node: PEER, link: L }]);
    assert_eq!(at, t);
    n.handle_timeout(t).unwrap();
    let (tx, _, _, _) = drain(&mut n);
    assert_eq!(heartbeat_fields(&tx[0].1), (ME, Destination::Node(PEER), 3, alloc::vec![2]));
    assert_eq!(n.metrics().neighbours_up, 1);
}

#[test]
fn silence_makes_a_neighbour_suspect_then_lost() {
    let mut n = node();
    n.handle_link_up(Instant::ZERO, L, LinkReport::new(185)).unwrap();
    n.handle_receive(Instant::ZERO, L, &heartbeat_from_peer(ME, 1)).unwrap();
    let (_, _, first, _) = drain(&mut n);
    let mut events: Vec<_> = first.into_iter().map(|e| (Instant::ZERO, e)).collect();
    let mut now = Instant::ZERO;
    while now < Instant::from_secs(3) {
        n.handle_timeout(now).unwrap();
        let (_, _, ev, at) = drain(&mut n);
        events.extend(ev.into_iter().map(|e| (now, e)));
        now = at;
    }
    events.retain(|(_, e)| {
        matches!(
            e,
            Event::NeighbourUp { .. } | Event::NeighbourDegraded { .. } | Event::NeighbourLost { .. }
        )
    });
    let degraded = Event::NeighbourDegraded { node: PEER, link: L, reason: crate::Degradation::MissedHeartbeats };
    let lost = Event::NeighbourLost { node: PEER, link: L, reason: crate::LossReason::MissedHeartbeats };
    assert_eq!(events[0], (Instant::ZERO, Event::NeighbourUp { node: PEER, link: L }));
    assert_eq!(events[1], (Instant::from_millis(875), degraded), "3 silent intervals of 250 ms, plus grace");
    assert_eq!(events[2], (Instant::from_millis(2125), lost), "8 silent intervals, plus grace");
    assert_eq!(events.len(), 3);
    assert!(!n.neighbours().next().unwrap().is_confirmed(), "the handshake starts over");
}

#[test]
fn shrinking_mtu_discards_pdus_cut_for_the_old_one() {
    // Found by the node property test: a hello queued at MTU 23 went out after the MTU fell to 20.
    let mut n = node();
    n.handle_link_up(Instant::ZERO, L, LinkReport::new(100)).unwrap();
    n.handle_timeout(Instant::ZERO).unwrap();
    n.handle_link_report(Instant::ZERO, L, LinkReport::new(20)).unwrap();
    let mut sizes = Vec::new();
    loop {
        match n.poll_output() {
            Output::Transmit(t) => sizes.push(t.bytes.len()),
            Output::Timeout(_) => break,
            _ => {}
        }
    }
    assert!(sizes.is_empty(), "{sizes:?}");
}

#[test]
fn api_misuse_is_a_clear_error() {
    let mut n = node();
    let t = Instant::from_secs(1);
    n.handle_timeout(t).unwrap();
    let earlier = Instant::from_millis(999);
    assert_eq!(n.handle_timeout(earlier), Err(Error::TimeWentBackwards { last: t, now: earlier }));
    assert_eq!(n.now(), t, "a refused input changes nothing");
    assert_eq!(n.handle_receive(t, L, b"x"), Err(Error::UnknownLink(L)));
    assert_eq!(n.handle_link_up(t, L, LinkReport::new(19)), Err(Error::InvalidMtu(19)));
    n.handle_link_up(t, L, LinkReport::new(185)).unwrap();
    assert_eq!(n.handle_link_up(t, L, LinkReport::new(185)), Err(Error::LinkAlreadyUp(L)));
    for l in 0..7 {
        n.handle_link_up(t, LinkId(100 + l), LinkReport::new(185)).unwrap();
    }
    assert_eq!(n.handle_link_up(t, LinkId(200), LinkReport::new(185)), Err(Error::TooManyLinks { max: 8 }));
    assert_eq!(n.broadcast(t, b"hi", Qos::default()), Err(Error::NoNeighbours));
    assert_eq!(n.send(t, ME, b"hi", Qos::default()), Err(Error::InvalidDestination(ME)));
    assert_eq!(n.send(t, NodeId::BROADCAST, b"hi", Qos::default()), Err(Error::InvalidDestination(NodeId::BROADCAST)));
    let big = alloc::vec![0u8; 3000];
    assert_eq!(n.broadcast(t, &big, Qos::default()), Err(Error::PayloadTooLarge { len: 3000, max: 2020 }));
    assert_eq!(n.broadcast(t, b"hi", Qos::default().with_ttl(0)), Err(Error::InvalidTtl(0)));
    assert_eq!(n.broadcast(t, b"hi", Qos::default().with_ttl(33)), Err(Error::InvalidTtl(33)));
    let _ = Queue::Transmit;
}

#[test]
fn a_broadcast_goes_to_every_confirmed_link_and_is_acknowledged_per_hop() {
    let mut n = node();
    n.handle_link_up(Instant::ZERO, L, LinkReport::new(185)).unwrap();
    n.handle_receive(Instant::ZERO, L, &heartbeat_from_peer(ME, 1)).unwrap();
    n.handle_timeout(Instant::ZERO).unwrap();
    drain(&mut n);
    let t = Instant::from_millis(1);
    let id = n.broadcast(t, b"game", Qos::new(Priority::High)).unwrap();
    let (tx, _, _, at) = drain(&mut n);
    assert_eq!(tx.len(), 1);
    let f = Frame::new_checked(&tx[0].1, 4096).unwrap();
    assert_eq!((f.kind(), f.body(), f.header().priority(), f.header().ttl), (Kind::GameData, &b"game"[..], Priority::High, 16));
    assert_eq!(f.message_id(), id);
    // Not acknowledged: sent again once the initial 250 ms retransmission timeout passes.
    assert!(at <= t + Duration::from_millis(250));
    n.handle_timeout(t + Duration::from_millis(250)).unwrap();
    let (tx, _, _, _) = drain(&mut n);
    let resent: Vec<&Vec<u8>> = tx
        .iter()
        .map(|(_, b)| b)
        .filter(|b| Frame::new_checked(b, 4096).unwrap().kind() == Kind::GameData)
        .collect();
    assert_eq!(resent.len(), 1, "the game frame goes out once more, unchanged");
    assert_eq!(Frame::new_checked(resent[0], 4096).unwrap().message_id(), id);
    // The announcement and topology advert sent when the neighbour appeared are
    // unacknowledged too, and are retransmitted alongside.
    assert!(n.metrics().retransmissions >= 2);
}

/// After a computation, a topology change waits `route_holddown` for the next one, and the
/// drained timeout names that deadline; a zero hold-down recomputes at once.
#[test]
fn route_recomputation_waits_out_the_holddown() {
    use crate::routing::LinkAdvert;
    let link = |n: u64| LinkAdvert {
        neighbour: NodeId(n),
        latency_ms: 5,
        reliability: 255,
        congestion: 0,
        bandwidth_kbps: 1000,
        rssi: -60,
    };
    for holddown_ms in [200u64, 0] {
        let mut config = Config::new(ME, 5);
        config.route_holddown = Duration::from_millis(holddown_ms);
        let t0 = Instant::from_secs(1);
        let mut n = Node::new(config, t0).unwrap();
        drain(&mut n);
        n.router.handle_links(NodeId(5), 1, [link(6)], t0);
        n.handle_timeout(t0).unwrap();
        assert_eq!(
            n.metrics().route_computations,
            1,
            "the first change is computed at once"
        );
        n.router.handle_links(NodeId(5), 2, [link(7)], t0);
        let due = t0 + Duration::from_millis(holddown_ms);
        let (_, _, _, at) = drain(&mut n);
        assert_eq!(at, due, "the pending recomputation is the next deadline");
        if holddown_ms > 0 {
            n.handle_timeout(t0 + Duration::from_millis(holddown_ms - 1))
                .unwrap();
            assert_eq!(n.metrics().route_computations, 1, "within the hold-down");
        }
        n.handle_timeout(due).unwrap();
        assert_eq!(n.metrics().route_computations, 2);
        let (_, _, events, at) = drain(&mut n);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::RoutesChanged { .. }))
        );
        assert!(at > due, "nothing pending once computed");
    }
}
