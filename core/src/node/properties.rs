//! Property test of a whole node under arbitrary input sequences, time being one of the
//! operations. Inputs are typed so that deep paths are reached: besides raw bytes the
//! generator builds well-formed heartbeats (so links get confirmed) and flooded frames.
//!
//! Invariants checked after every operation: no panic; every bounded structure within its
//! configured cap (the reservation table included); every reservation held names this node
//! at its hop, once per flow; every transmit within its link's MTU; deadlines never in the
//! past; no payload delivered twice; API misuse answered with an error, never a panic.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::time::Duration;

use bolero::TypeGenerator;
use zerocopy::IntoBytes;
use zerocopy::network_endian::{U16, U32, U64};

use crate::routing::QosConstraints;
use crate::wire::messages::Heartbeat;
use crate::wire::reservation::ReservationHeader;
use crate::wire::{FrameHeader, Kind, encode_frame};
use crate::{Config, Destination, Instant, LinkId, LinkReport, Node, NodeId, Output, Priority, Qos};

#[derive(Debug, TypeGenerator)]
enum Op {
    LinkUp { link: u8, mtu: u8 },
    LinkDown { link: u8 },
    Report { link: u8, mtu: u8, rssi: i8 },
    Advance { millis: u16 },
    Raw { link: u8, bytes: Vec<u8> },
    Heartbeat { link: u8, peer: u8, to_me: bool, seq: u8 },
    Flood { link: u8, origin: u8, seq: u8, kind: u8, ttl: u8, dst: u8, body: Vec<u8> },
    Send { to: u8, len: u16 },
    Broadcast { len: u16, ttl: u8 },
    /// A reservation message from a peer: path of 2–4 nodes drawn from this node and peers
    /// 1–4, any op, hop, reason and `at` (well-formed or not), flow id 1 or 2.
    Reservation { link: u8, sender: u8, seq: u8, op: u8, hop: u8, ids: [u8; 4], len: u8, bw: u8, reason: u8 },
    /// This node opens a flow (refused without routes, admitted or pending with them).
    OpenFlow { to: u8, bw: u8 },
}

const ME: NodeId = NodeId(1000);

fn frame(kind: Kind, origin: u64, dst: NodeId, seq: u32, ttl: u8, body: &[&[u8]]) -> Vec<u8> {
    let h = FrameHeader::new(kind, Priority::Normal, ttl, NodeId(origin), Destination::from_node_id(dst), seq);
    let mut out = alloc::vec![0u8];
    let mut f = Vec::new();
    encode_frame(&mut f, &h, body);
    out.extend_from_slice(&f);
    out
}

#[test]
fn node_survives_arbitrary_inputs_within_its_caps() {
    bolero::check!().with_type::<Vec<Op>>().for_each(|ops| {
        let mut config = Config::new(ME, 7);
        config.max_links = 4;
        config.max_sources = 8;
        config.duplicate_cache = 16;
        config.max_pending_relays = 4;
        config.max_reassemblies = 2;
        config.max_nodes = 8;
        config.max_reservations = 3;
        let mut node = Node::new(config.clone(), Instant::ZERO).unwrap();
        let mut now = Instant::ZERO;
        let mut mtus = [0u16; 8];
        let mut delivered = BTreeSet::new();
        for op in ops {
            let timed_out = matches!(op, Op::Advance { .. });
            let link = |l: &u8| LinkId(u32::from(*l % 8));
            // Results are API errors for misuse (unknown link, no neighbours...): allowed.
            let _ = match op {
                Op::LinkUp { link: l, mtu } => {
                    let mtu = 20 + u16::from(*mtu);
                    let r = node.handle_link_up(now, link(l), LinkReport::new(mtu));
                    if r.is_ok() {
                        mtus[usize::from(*l % 8)] = mtu;
                    }
                    r
                }
                Op::LinkDown { link: l } => node.handle_link_down(now, link(l)),
                Op::Report { link: l, mtu, rssi } => {
                    let mtu = 20 + u16::from(*mtu);
                    let r = node.handle_link_report(now, link(l), LinkReport::new(mtu).with_rssi(*rssi));
                    if r.is_ok() {
                        mtus[usize::from(*l % 8)] = mtu;
                    }
                    r
                }
                Op::Advance { millis } => {
                    now += Duration::from_millis(u64::from(*millis));
                    node.handle_timeout(now)
                }
                Op::Raw { link: l, bytes } => node.handle_receive(now, link(l), bytes),
                Op::Heartbeat { link: l, peer, to_me, seq } => {
                    let body = Heartbeat {
                        rx_quality: 255,
                        battery: 50,
                        connections: 1,
                        neighbour_count: 1,
                        tx_time: U32::new(1),
                        echo_time: U32::new(0),
                        echo_delay: U32::new(0),
                        capabilities: U16::new(0),
                        reserved2: U16::new(0),
                    };
                    let dst = if *to_me { ME } else { NodeId::BROADCAST };
                    let list = [U64::new(u64::from(*peer % 4) + 1)];
                    let bytes = frame(Kind::Heartbeat, u64::from(*peer % 4) + 1, dst, u32::from(*seq), 1, &[body.as_bytes(), list.as_bytes()]);
                    node.handle_receive(now, link(l), &bytes)
                }
                Op::Flood { link: l, origin, seq, kind, ttl, dst, body } => {
                    let kind = Kind::from_u8(kind % 8 + 1).unwrap_or(Kind::GameData);
                    let dst = match dst % 3 {
                        0 => NodeId::BROADCAST,
                        1 => ME,
                        _ => NodeId(u64::from(*dst)),
                    };
                    let origin = u64::from(*origin % 12) + 1;
                    let bytes = frame(kind, origin, dst, u32::from(*seq), *ttl, &[body]);
                    node.handle_receive(now, link(l), &bytes)
                }
                Op::Send { to, len } => {
                    let payload = alloc::vec![7u8; usize::from(*len % 3000)];
                    node.send(now, NodeId(u64::from(*to % 6)), &payload, Qos::default()).map(|_| ())
                }
                Op::Broadcast { len, ttl } => {
                    let payload = alloc::vec![9u8; usize::from(*len % 3000)];
                    node.broadcast(now, &payload, Qos::default().with_ttl(*ttl)).map(|_| ())
                }
                Op::Reservation { link: l, sender, seq, op, hop, ids, len, bw, reason } => {
                    let from = u64::from(*sender % 4) + 1;
                    let (op, mut hop) = (op % 7, hop % 5);
                    let id = |i: u8| if i % 5 == 0 { ME.0 } else { u64::from(i % 5) };
                    let mut path: Vec<U64> = ids[..2 + usize::from(*len % 3)].iter().map(|i| U64::new(id(*i))).collect();
                    if reason & 16 != 0 {
                        // Aligned: this node at `hop`, the sender beside it on the right side.
                        let third = U64::new(u64::from(ids[0] % 4) + 1);
                        let (f, me) = (U64::new(from), U64::new(ME.0));
                        path = match (matches!(op, 1 | 4 | 5), len % 2 == 0) {
                            (true, true) => alloc::vec![f, me, third],
                            (true, false) => alloc::vec![f, me],
                            (false, true) => alloc::vec![third, me, f],
                            (false, false) => alloc::vec![me, f],
                        };
                        hop = path.iter().position(|n| n.get() == ME.0).unwrap_or(0) as u8;
                    }
                    let n = path.len();
                    // The sender's link when it is a neighbour, so aligned messages get through.
                    let on = node.neighbours().find(|l| l.peer.0 == from).map_or(link(l), |l| l.link);
                    let head = ReservationHeader {
                        op,
                        reason: reason % 8,
                        priority: 1,
                        path_len: n as u8,
                        hop,
                        reserved: 0,
                        max_latency_ms: U16::new(0),
                        flow_id: U32::new(1 + u32::from(bw % 2)),
                        bandwidth_kbps: U32::new(1 + u32::from(*bw)),
                        latency_ms: U16::new(0),
                        reserved2: U16::new(0),
                        at: U64::new(if reason & 8 != 0 { path[0].get() } else { 0 }),
                    };
                    let bytes = frame(Kind::RoutingUpdate, from, ME, 1000 + u32::from(*seq), 1, &[head.as_bytes(), path.as_bytes()]);
                    node.handle_receive(now, on, &bytes)
                }
                Op::OpenFlow { to, bw } => {
                    let c = QosConstraints { min_bandwidth_kbps: 1 + u32::from(*bw), ..QosConstraints::new(Priority::High) };
                    let _ = node.open_flow(now, NodeId(u64::from(*to % 4) + 1), c);
                    Ok(())
                }
            };
            let mut keys = BTreeSet::new();
            for r in node.reservations().iter() {
                assert_eq!(r.path()[usize::from(r.hop)], ME, "{r:?}");
                assert!(keys.insert((r.source(), r.flow)), "one entry per flow: {r:?}");
            }
            if now > Instant::ZERO {
                let earlier = Instant::from_micros(now.as_micros() - 1);
                assert!(node.handle_timeout(earlier).is_err(), "time going backwards is refused");
            }
            node.occupancy().check(&config).unwrap();
            loop {
                match node.poll_output() {
                    Output::Transmit(t) => {
                        let mtu = mtus[t.link.0 as usize];
                        assert!(t.bytes.len() <= usize::from(mtu), "{} > mtu {mtu}", t.bytes.len());
                    }
                    Output::Deliver(d) => {
                        // Windows reset after `node_gone_after` of silence, so only check
                        // duplicates inside that horizon.
                        if now < Instant::ZERO + config.node_gone_after {
                            assert!(delivered.insert((d.origin, d.seq)), "delivered twice: {d:?}");
                        }
                    }
                    Output::Event(_) => {}
                    Output::Sequenced { .. } | Output::Snapshot { .. } => panic!("no session was joined"),
                    Output::Radio(crate::ble::RadioDecision::LinkParameters { link, params }) => {
                        assert!(params.check().is_ok(), "{params:?}");
                        assert!(node.neighbours().any(|l| l.link == link), "decision for a link that is down");
                    }
                    Output::Radio(_) => {}
                    Output::Timeout(at) => {
                        assert!(at >= now, "deadline {at:?} before now {now:?}");
                        // After the timers ran, nothing may be due at once (a busy loop).
                        assert!(!timed_out || at > now, "handle_timeout({now:?}) left work due at {at:?}");
                        break;
                    }
                }
            }
        }
    });
}
