//! A whole node under arbitrary typed input sequences, time being one of the operations.
//!
//! Richer than the core's own property test (`core/src/node/properties.rs`): frames can also
//! arrive **fragmented** (any MTU, any order, fragments dropped or repeated), the node's own
//! transmissions can be **echoed back** to it on any link (as a cycle in the mesh would), and
//! link acknowledgements and topology adverts are generated as well-formed bodies. Every input
//! is given to **two** nodes built from the same configuration.
//!
//! Invariants after every operation:
//! * determinism: both nodes produce byte-identical outputs and metrics;
//! * every bounded structure stays within its cap; every transmit fits its link's MTU;
//! * deadlines are never in the past; a regressing `now` is refused;
//! * no (origin, seq) is delivered twice while the node's sequence windows can hold every
//!   multi-hop origin fed (with more origins than `max_sources`, an evicted origin's late
//!   copy that also left the duplicate cache is new again: the documented bound, see
//!   `tests/regressions.rs`); only broadcast or own-id frames are delivered, and a
//!   delivered payload is one that was fed under that (origin, seq).

use core::time::Duration;
use std::collections::{BTreeMap, BTreeSet};

use bolero::TypeGenerator;
use blemesh_core::wire::link::Fragmenter;
use blemesh_core::wire::messages::{Heartbeat, LinkAckEntry, LinkAckHeader, LinkEntry, TopologyHeader};
use blemesh_core::wire::{Kind, MIN_MTU};
use blemesh_core::{Config, Destination, Instant, LinkId, LinkReport, Node, NodeId, Output, Qos};
use zerocopy::IntoBytes;
use zerocopy::network_endian::{I16, U16, U32, U64};

const ME: NodeId = NodeId(1000);
const LINKS: u32 = 4;

/// What happens next.
#[derive(Debug, TypeGenerator)]
pub enum Op {
    /// A link comes up with MTU `20 + mtu`.
    LinkUp { link: u8, mtu: u8 },
    /// A link goes down.
    LinkDown { link: u8 },
    /// Time passes.
    Advance { millis: u16 },
    /// A peer's heartbeat listing `neighbours`.
    Heartbeat { link: u8, peer: u8, to_me: bool, seq: u8, neighbours: Vec<u8> },
    /// Game data from `origin` (broadcast, to me, or to someone else).
    Data { link: u8, origin: u8, seq: u8, dst: u8, ttl: u8, len: u16, fill: u8, frag: Option<Frag> },
    /// A topology advert from `origin`.
    Topology { link: u8, origin: u8, seq: u8, version: u8, neighbours: Vec<u8> },
    /// A link acknowledgement from the peer on `link`.
    LinkAck { link: u8, peer: u8, acks: Vec<(u8, u8)> },
    /// Feed the node's `k`-th transmitted PDU back to it on `link`.
    Echo { link: u8, k: u16 },
    /// Raw bytes.
    Raw { link: u8, bytes: Vec<u8> },
    /// The application broadcasts.
    Broadcast { len: u16, ttl: u8 },
    /// The application sends to a peer.
    Send { to: u8, len: u16 },
}

/// How a frame is cut up: MTU, which fragments are skipped and repeated, and the order.
#[derive(Debug, TypeGenerator)]
pub struct Frag {
    mtu: u8,
    /// The link-layer message id all its fragments carry.
    pub msg_id: u8,
    skip: u8,
    repeat: u8,
    reverse: bool,
}

/// The target's input.
#[derive(Debug, TypeGenerator)]
pub struct Input {
    arq: bool,
    /// What happens, in order.
    pub ops: Vec<Op>,
}

fn frame(kind: Kind, origin: NodeId, dst: NodeId, seq: u32, ttl: u8, body: &[&[u8]]) -> Vec<u8> {
    crate::frame(kind, origin.0, Destination::from_node_id(dst), seq, ttl, body)
}

fn pdus(frame: &[u8], frag: &Option<Frag>) -> Vec<Vec<u8>> {
    let Some(f) = frag else { return vec![crate::whole_pdu(frame)] };
    let Some(plan) = Fragmenter::new(frame, MIN_MTU + usize::from(f.mtu % 64)) else { return Vec::new() };
    let mut order: Vec<usize> = (0..plan.count()).collect();
    if f.reverse {
        order.reverse();
    }
    let mut out = Vec::new();
    for (n, i) in order.into_iter().enumerate() {
        if plan.count() > 1 && f.skip != 0 && n == usize::from(f.skip) % plan.count() {
            continue;
        }
        let mut pdu = Vec::new();
        plan.write_pdu(frame, u16::from(f.msg_id), i, &mut pdu);
        if f.repeat != 0 && n == usize::from(f.repeat) % plan.count() {
            out.push(pdu.clone());
        }
        out.push(pdu);
    }
    out
}

fn peer(p: u8) -> NodeId {
    NodeId(u64::from(p % 6) + 1)
}

/// Everything one drain produced, for the determinism comparison.
#[derive(Debug, PartialEq, Eq)]
enum Out {
    Tx(LinkId, Vec<u8>),
    Deliver(NodeId, Destination, u32, Vec<u8>),
    Event(String),
    Timeout(Instant),
}

fn drain(node: &mut Node) -> Vec<Out> {
    let mut out = Vec::new();
    loop {
        match node.poll_output() {
            Output::Transmit(t) => out.push(Out::Tx(t.link, t.bytes.to_vec())),
            Output::Deliver(d) => out.push(Out::Deliver(d.origin, d.destination, d.seq, d.payload.to_vec())),
            Output::Event(e) => out.push(Out::Event(format!("{e:?}"))),
            Output::Timeout(at) => {
                out.push(Out::Timeout(at));
                return out;
            }
            other => out.push(Out::Event(format!("{other:?}"))),
        }
    }
}

/// Runs one input.
pub fn check(input: &Input) {
    let mut config = Config::new(ME, 7);
    config.max_links = LINKS as usize;
    config.max_sources = 6;
    config.duplicate_cache = 12;
    config.max_pending_relays = 3;
    config.max_reassemblies = 2;
    config.max_nodes = 6;
    config.link_arq = input.arq;
    config.delivery_queue = 8;
    config.event_queue = 8;
    let mut nodes = [Node::new(config.clone(), Instant::ZERO).unwrap(), Node::new(config.clone(), Instant::ZERO).unwrap()];
    let mut now = Instant::ZERO;
    let mut mtus = [0usize; LINKS as usize];
    let mut up = [false; LINKS as usize];
    let mut fed: BTreeMap<(NodeId, u32), BTreeSet<Vec<u8>>> = BTreeMap::new();
    let mut delivered = BTreeSet::new();
    // Origins of the multi-hop frames fed (each may take a sequence window).
    let mut origins: BTreeSet<NodeId> = BTreeSet::new();
    let mut transmitted: Vec<Vec<u8>> = Vec::new();
    let horizon = Instant::ZERO + config.node_gone_after;
    for op in input.ops.iter().take(64) {
        let link = |l: &u8| LinkId(u32::from(*l) % LINKS);
        // Each input: (link, pdu bytes) to receive, or a direct call.
        let mut receive: Vec<(LinkId, Vec<u8>)> = Vec::new();
        let mut results = Vec::new();
        match op {
            Op::LinkUp { link: l, mtu } => {
                let mtu = 20 + u16::from(*mtu);
                for n in &mut nodes {
                    results.push(n.handle_link_up(now, link(l), LinkReport::new(mtu)).is_ok());
                }
                if results[0] {
                    mtus[link(l).0 as usize] = usize::from(mtu);
                    up[link(l).0 as usize] = true;
                }
            }
            Op::LinkDown { link: l } => {
                for n in &mut nodes {
                    results.push(n.handle_link_down(now, link(l)).is_ok());
                }
                up[link(l).0 as usize] = false;
            }
            Op::Advance { millis } => {
                now += Duration::from_millis(u64::from(*millis % 2000));
                for n in &mut nodes {
                    results.push(n.handle_timeout(now).is_ok());
                }
            }
            Op::Heartbeat { link: l, peer: p, to_me, seq, neighbours } => {
                let list: Vec<U64> = neighbours.iter().take(16).map(|x| U64::new(peer(*x).0)).collect();
                let hb = Heartbeat {
                    rx_quality: 255,
                    battery: 60,
                    connections: list.len() as u8,
                    neighbour_count: list.len() as u8,
                    tx_time: U32::new(u32::from(*seq) * 1000),
                    echo_time: U32::new(0),
                    echo_delay: U32::new(0),
                    capabilities: U16::new(0),
                    reserved2: U16::new(0),
                };
                let dst = if *to_me { ME } else { NodeId::BROADCAST };
                let f = frame(Kind::Heartbeat, peer(*p), dst, u32::from(*seq), 1, &[hb.as_bytes(), list.as_bytes()]);
                receive.push((link(l), crate::whole_pdu(&f)));
            }
            Op::Data { link: l, origin, seq, dst, ttl, len, fill, frag } => {
                let origin = NodeId(u64::from(*origin % 8) + 1);
                let dst = match dst % 3 {
                    0 => NodeId::BROADCAST,
                    1 => ME,
                    _ => peer(*dst),
                };
                let payload: Vec<u8> = (0..usize::from(*len % 600)).map(|i| (i as u8) ^ fill).collect();
                let f = frame(Kind::GameData, origin, dst, u32::from(*seq), *ttl, &[&payload]);
                origins.insert(origin);
                if dst == ME || dst == NodeId::BROADCAST {
                    fed.entry((origin, u32::from(*seq))).or_default().insert(payload);
                }
                receive.extend(pdus(&f, frag).into_iter().map(|p| (link(l), p)));
            }
            Op::Topology { link: l, origin, seq, version, neighbours } => {
                let entries: Vec<LinkEntry> = neighbours
                    .iter()
                    .take(8)
                    .map(|x| LinkEntry {
                        neighbour: U64::new(peer(*x).0),
                        latency_ms: U16::new(10),
                        reliability: 200,
                        congestion: 5,
                        bandwidth_kbps: U16::new(800),
                        rssi: I16::new(-55),
                    })
                    .collect();
                let head = TopologyHeader { advert_version: U32::new(u32::from(*version)), entry_count: entries.len() as u8, reserved: [0; 3] };
                let f = frame(Kind::TopologyUpdate, peer(*origin), NodeId::BROADCAST, u32::from(*seq), 4, &[head.as_bytes(), entries.as_bytes()]);
                origins.insert(peer(*origin));
                receive.push((link(l), crate::whole_pdu(&f)));
            }
            Op::LinkAck { link: l, peer: p, acks } => {
                let entries: Vec<LinkAckEntry> = acks
                    .iter()
                    .take(12)
                    .map(|(o, s)| LinkAckEntry { origin: U64::new(if *o % 2 == 0 { ME.0 } else { peer(*o).0 }), seq: U32::new(u32::from(*s)) })
                    .collect();
                let head = LinkAckHeader { count: entries.len() as u8, reserved: [0; 3] };
                let f = frame(Kind::LinkAck, peer(*p), ME, 0, 1, &[head.as_bytes(), entries.as_bytes()]);
                receive.push((link(l), crate::whole_pdu(&f)));
            }
            Op::Echo { link: l, k } => {
                if !transmitted.is_empty() {
                    receive.push((link(l), transmitted[usize::from(*k) % transmitted.len()].clone()));
                }
            }
            Op::Raw { link: l, bytes } => receive.push((link(l), bytes.clone())),
            Op::Broadcast { len, ttl } => {
                let payload = vec![9u8; usize::from(*len % 3000)];
                for n in &mut nodes {
                    results.push(n.broadcast(now, &payload, Qos::default().with_ttl(*ttl)).is_ok());
                }
            }
            Op::Send { to, len } => {
                let payload = vec![7u8; usize::from(*len % 3000)];
                for n in &mut nodes {
                    results.push(n.send(now, peer(*to), &payload, Qos::default()).is_ok());
                }
            }
        }
        let mut outs: [Vec<Out>; 2] = [Vec::new(), Vec::new()];
        if receive.is_empty() {
            for (n, out) in nodes.iter_mut().zip(&mut outs) {
                out.extend(drain(n));
            }
        }
        for (l, bytes) in &receive {
            for (n, out) in nodes.iter_mut().zip(&mut outs) {
                let before = n.metrics().pdus_received;
                let ok = n.handle_receive(now, *l, bytes).is_ok();
                results.push(ok);
                // Input from peers never fails; only an unknown link is refused.
                assert_eq!(ok, up[l.0 as usize], "receive on {l:?}");
                assert_eq!(n.metrics().pdus_received, before + u64::from(ok));
                out.extend(drain(n));
            }
        }
        assert_eq!(results.iter().step_by(2).collect::<Vec<_>>(), results.iter().skip(1).step_by(2).collect::<Vec<_>>(), "twins answered differently");
        assert_eq!(outs[0], outs[1], "twin nodes diverged");
        assert_eq!(format!("{:?}", nodes[0].metrics()), format!("{:?}", nodes[1].metrics()));
        if now > Instant::ZERO {
            let earlier = Instant::from_micros(now.as_micros() - 1);
            assert!(nodes[0].handle_timeout(earlier).is_err(), "time going backwards is refused");
            assert!(nodes[1].handle_timeout(earlier).is_err());
        }
        nodes[0].occupancy().check(&config).unwrap();
        for o in &outs[0] {
            match o {
                Out::Tx(l, bytes) => {
                    let mtu = mtus[l.0 as usize];
                    assert!(bytes.len() <= mtu, "{} > mtu {mtu} on {l:?}", bytes.len());
                    if transmitted.len() < 256 {
                        transmitted.push(bytes.clone());
                    }
                }
                Out::Deliver(origin, dst, seq, payload) => {
                    assert_ne!(*origin, ME, "own frame delivered");
                    assert!(matches!(dst, Destination::Broadcast) || *dst == Destination::Node(ME), "delivered {dst:?}");
                    let known = fed.get(&(*origin, *seq)).is_some_and(|s| s.contains(payload));
                    assert!(known, "delivered a payload never fed under ({origin:?}, {seq})");
                    let first = delivered.insert((*origin, *seq));
                    if now < horizon && origins.len() <= config.max_sources {
                        assert!(first, "({origin:?}, {seq}) delivered twice");
                    }
                }
                Out::Event(_) => {}
                Out::Timeout(at) => assert!(*at >= now || *at == Instant::ZERO, "deadline {at:?} before {now:?}"),
            }
        }
    }
}
