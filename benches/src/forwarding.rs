//! Forwarding through a node: the middle node of a 3-node line receives a flooded game frame
//! from one end, delivers it and relays it to the other end (`handle_receive` +
//! `handle_timeout` + drain), measured in frames per second.
//!
//! The line is built and converged by the in-process harness (handshakes done, two-hop
//! neighbourhood known); the middle node is then taken out and driven alone. Virtual time is
//! held at the convergence instant so its links never time out while the benchmark feeds it
//! millions of frames; `relay_jitter` is 0 so the relay is due at once, and link-layer ARQ is
//! off (no acknowledgements come back from the ends in this set-up).
//!
//! A routed unicast runs twice more in the same group: as plain data, and as the data of a
//! reserved flow (`FLOW` flag; node 0 opened the flow to node 2 through the middle node,
//! which holds the confirmed reservation): the cost of finding the reservation and charging
//! its token bucket (`policing`). The reservation's burst allowance is made large enough for
//! every benchmark frame to conform at the frozen virtual time.
//!
//! The same relay runs twice in the same group: unsecured nodes ([`Node::new`]) and secured
//! ones ([`Node::new_secure`]: identities from fixed seeds, one network key), for a flooded
//! game frame and for a routed unicast one. Secured frames carry the tag-only trailer
//! (HMAC-SHA256 under the network key); the middle node verifies the tag and relays the frame
//! as it came (a unicast body is end-to-end encrypted for its destination, which the middle
//! node never decrypts). Every frame has a fresh sequence number, and a secured one is sealed
//! again for it: frames are prepared outside the timed part (`iter_batched`), for both
//! variants alike.

use core::time::Duration;
use std::hint::black_box;

use blemesh_core::security::{NetworkKey, TrailerLayout, seal};
use blemesh_core::flow::FlowState;
use blemesh_core::routing::QosConstraints;
use blemesh_core::wire::{Kind, flags};
use blemesh_core::{Config, Destination, DropReason, Instant, LinkId, Node, NodeId, Output, Priority, Security};
use blemesh_tests::secure::{MESH_KEY, identity};
use blemesh_tests::{Harness, HarnessConfig, Topology};
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput};

/// The converged middle node of a 3-node line and the instant it was taken at. Its link to
/// node 0 (id 1) is `LinkId(0)`, to node 2 (id 3) `LinkId(2)`.
pub fn middle_node() -> (Node, Instant) {
    let (node, now, _) = middle_of_line(false);
    (node, now)
}

/// Seed of the secured line's identities.
pub const IDENTITY_SEED: u64 = 0x5eed;

/// The converged middle node of a 3-node line, secured (identities from
/// [`IDENTITY_SEED`], network key [`MESH_KEY`]) or not, the instant it was taken at and the
/// ids of the three nodes. Its link to node 0 is `LinkId(0)`, to node 2 `LinkId(2)`.
pub fn middle_of_line(secure: bool) -> (Node, Instant, [NodeId; 3]) {
    let adjust = |mut c: Config| {
        c.relay_jitter = Duration::ZERO;
        c.link_arq = false;
        c
    };
    let mut h = if secure {
        Harness::with_nodes(Topology::line(3), HarnessConfig::default(), |i, seed, now| {
            let id = identity(i, IDENTITY_SEED);
            let config = adjust(Config::new(id.node_id(), seed));
            Node::new_secure(config, Security::new(id, NetworkKey::new(&MESH_KEY)), now).expect("valid secured node")
        })
    } else {
        Harness::with_config(Topology::line(3), HarnessConfig::default(), |_, c| adjust(c))
    };
    h.run_for(Duration::from_secs(2));
    assert_eq!(h.confirmed_neighbours(1), vec![0, 2], "line converged");
    let ids = [h.nodes[0].id(), h.nodes[1].id(), h.nodes[2].id()];
    let now = h.now();
    let node = h.nodes.swap_remove(1);
    assert_eq!(node.is_secure(), secure);
    (node, now, ids)
}

/// The converged middle node of a 3-node line holding the confirmed reservation of a normal-
/// priority flow of 8 kbit/s from node 0 to node 2; the instant; the three ids; the sequence
/// number of node 0's last frame (one sent on the flow).
pub fn middle_with_flow() -> (Node, Instant, [NodeId; 3], u32) {
    let adjust = |mut c: Config| {
        c.relay_jitter = Duration::ZERO;
        c.link_arq = false;
        // Frozen time refills no bucket: a burst of ~3 years at 8 kbit/s covers any run.
        c.reservation_burst = Duration::from_secs(100_000_000);
        c
    };
    let mut h = Harness::with_config(Topology::line(3), HarnessConfig::default(), |_, c| adjust(c));
    h.run_for(Duration::from_secs(2));
    let c = QosConstraints { min_bandwidth_kbps: 8, ..QosConstraints::new(Priority::Normal) };
    let flow = h.open_flow(0, 2, c).expect("admitted locally");
    h.run_for(Duration::from_millis(300));
    assert_eq!(h.nodes[0].flow_state(flow), Some(FlowState::Admitted));
    let last = h.send_on_flow(0, flow, b"first").expect("admitted").seq;
    h.run_for(Duration::from_millis(100));
    assert_eq!(h.received[2].len(), 1, "the flow carries data");
    let ids = [h.nodes[0].id(), h.nodes[1].id(), h.nodes[2].id()];
    let now = h.now();
    let node = h.nodes.swap_remove(1);
    assert_eq!(node.reservations().len(), 1);
    (node, now, ids, last)
}

/// Feeds one flooded frame (as a whole link PDU) to `node` and drains it; returns
/// (transmits, deliveries).
pub fn forward_one(node: &mut Node, now: Instant, pdu: &[u8]) -> (usize, usize) {
    node.handle_receive(now, LinkId(0), pdu).expect("link is up");
    node.handle_timeout(now).expect("time is monotonic");
    let (mut tx, mut rx) = (0, 0);
    loop {
        match node.poll_output() {
            Output::Transmit(t) => {
                black_box(t.bytes);
                tx += 1;
            }
            Output::Deliver(d) => {
                black_box(d.payload);
                rx += 1;
            }
            Output::Timeout(_) => break,
            _ => {}
        }
    }
    (tx, rx)
}

/// Origin of the benchmark's frames: a node beyond the line's first node (ids 1..=3 are the
/// line; its sequence space is fresh to the middle node).
pub const ORIGIN: u64 = 99;

/// A whole-frame link PDU: game data broadcast by [`ORIGIN`] with sequence `seq`.
pub fn flood_pdu(seq: u32, payload: usize) -> Vec<u8> {
    let mut pdu = vec![0u8];
    pdu.extend_from_slice(&crate::frame(Kind::GameData, ORIGIN, Destination::Broadcast, seq, 8, &vec![0x5A; payload]));
    pdu
}

/// A frame to relay, re-sequenced (and re-sealed when secured) for every use.
#[derive(Debug)]
pub struct RelayFrame {
    /// `header ‖ body` as the origin encoded it (auth length set when secured).
    frame: Vec<u8>,
    network: Option<NetworkKey>,
}

impl RelayFrame {
    /// Game data from `origin` to `dst`; with `network`, tag-only sealed under it.
    pub fn new(origin: NodeId, dst: Destination, payload: usize, network: Option<NetworkKey>) -> Self {
        let mut frame = crate::frame(Kind::GameData, origin.0, dst, 0, 8, &vec![0x5A; payload]);
        if network.is_some() {
            frame[5] = TrailerLayout::Tag.auth_len() as u8;
        }
        RelayFrame { frame, network }
    }

    /// The whole-frame link PDU of this frame with sequence `seq`.
    pub fn pdu(&mut self, seq: u32) -> Vec<u8> {
        // The sequence number sits at bytes 24..28 of the header.
        self.frame[24..28].copy_from_slice(&seq.to_be_bytes());
        let mut pdu = Vec::with_capacity(1 + self.frame.len() + 64);
        pdu.push(0);
        pdu.extend_from_slice(&self.frame);
        if let Some(network) = &self.network {
            let mut trailer = [0u8; 64];
            let n = seal(&self.frame, TrailerLayout::Tag, network, None, &mut trailer).expect("sealable");
            pdu.extend_from_slice(&trailer[..n]);
        }
        pdu
    }
}

/// Benchmarks `forward_one` of `frame` under `id`, each iteration with the next sequence
/// number after `seq` (the frame is prepared, and sealed when secured, outside the timed part).
fn bench_fresh_frames(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: BenchmarkId,
    node: &mut Node,
    now: Instant,
    frame: &mut RelayFrame,
    seq: &mut u32,
) {
    g.bench_function(id, |b| {
        b.iter_batched(
            || {
                *seq += 1;
                frame.pdu(*seq)
            },
            |pdu| {
                let r = forward_one(node, now, &pdu);
                (pdu, r)
            },
            BatchSize::SmallInput,
        )
    });
}

/// Registers the forwarding benchmarks.
pub fn benchmarks(c: &mut Criterion) {
    let mut g = c.benchmark_group("forwarding");
    g.throughput(Throughput::Elements(1));
    for payload in [32usize, 150] {
        let (mut node, now) = middle_node();
        // Check the path once: one relay to node 3, one delivery.
        let mut seq = 1_000_000u32;
        assert_eq!(forward_one(&mut node, now, &flood_pdu(seq, payload)), (1, 1), "relayed and delivered");
        let mut pdu = flood_pdu(seq, payload);
        g.bench_function(BenchmarkId::new("line3_middle_relay", payload), |b| {
            b.iter(|| {
                seq += 1;
                // The sequence number sits at bytes 1 + 24..1 + 28 (after the control byte).
                pdu[25..29].copy_from_slice(&seq.to_be_bytes());
                forward_one(&mut node, now, &pdu)
            })
        });
        assert_eq!(forward_one(&mut node, now, &flood_pdu(seq + 1, payload)), (1, 1), "still relaying");
    }
    // Routed unicast from node 0 to node 2, as plain data and as reserved-flow data.
    for label in ["plain", "flow"] {
        let (mut node, now, ids, last) = middle_with_flow();
        let mut frame = RelayFrame::new(ids[0], Destination::Node(ids[2]), 32, None);
        if label == "flow" {
            frame.frame[2] |= flags::FLOW;
        }
        // Node 0's own sequence space: continue after its last frame.
        let mut seq = last.wrapping_add(1);
        let first = forward_one(&mut node, now, &frame.pdu(seq));
        let drops: Vec<_> = node.metrics().drops.iter().filter(|(_, n)| *n > 0).collect();
        assert_eq!(first, (1, 0), "{label} forwarded; drops {drops:?}");
        // Flow data went through the reservation (traffic refreshes it to now + lifetime).
        let refreshed = node.reservations().iter().all(|e| e.expires_at == now + node.config().reservation_lifetime);
        assert_eq!(refreshed, label == "flow", "{label}: charged to the reservation");
        let forwarded = node.metrics().forwarded;
        let id = BenchmarkId::new("line3_middle_unicast_32_policing", label);
        bench_fresh_frames(&mut g, id, &mut node, now, &mut frame, &mut seq);
        seq += 1;
        assert_eq!(forward_one(&mut node, now, &frame.pdu(seq)), (1, 0), "{label} still forwarded");
        assert!(node.metrics().forwarded > forwarded);
        assert_eq!(node.metrics().drops.get(DropReason::Policed), 0, "every frame conformed");
    }
    // Security off and on, same frames, same harness: a flood frame (relayed and delivered)
    // and a unicast to node 2 arriving from node 0 (routed, relayed only).
    for secure in [false, true] {
        let label = if secure { "secure" } else { "plain" };
        for (kind, payload) in [("flood", 32usize), ("unicast", 32)] {
            let (mut node, now, ids) = middle_of_line(secure);
            let network = secure.then(|| NetworkKey::new(&MESH_KEY));
            let (origin, dst, expect) = match kind {
                "flood" => (NodeId(ORIGIN), Destination::Broadcast, (1, 1)),
                // From beyond node 0 (a fresh sequence space, like the flood's origin).
                _ => (NodeId(ORIGIN), Destination::Node(ids[2]), (1, 0)),
            };
            let mut frame = RelayFrame::new(origin, dst, payload, network);
            let mut seq = 1_000_000u32;
            let first = forward_one(&mut node, now, &frame.pdu(seq));
            assert_eq!(first, expect, "{label} {kind} relayed; drops {:?}", node.metrics().drops.iter().filter(|(_, n)| *n > 0).collect::<Vec<_>>());
            let drops = node.metrics().drops.total();
            let id = BenchmarkId::new(format!("line3_middle_{kind}_{payload}"), label);
            bench_fresh_frames(&mut g, id, &mut node, now, &mut frame, &mut seq);
            seq += 1;
            assert_eq!(forward_one(&mut node, now, &frame.pdu(seq)), expect, "{label} {kind} still relayed");
            assert_eq!(node.metrics().drops.total(), drops, "{label} {kind}: nothing dropped");
            if secure {
                assert_eq!(node.metrics().security.total(), 0, "every frame authenticated");
            }
        }
    }
    g.finish();
}
