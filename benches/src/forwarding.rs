//! Forwarding through a node: the middle node of a 3-node line receives a flooded game frame
//! from one end, delivers it and relays it to the other end (`handle_receive` +
//! `handle_timeout` + drain), measured in frames per second.
//!
//! The line is built and converged by the in-process harness (handshakes done, two-hop
//! neighbourhood known); the middle node is then taken out and driven alone. Virtual time is
//! held at the convergence instant so its links never time out while the benchmark feeds it
//! millions of frames; `relay_jitter` is 0 so the relay is due at once, and link-layer ARQ is
//! off (no acknowledgements come back from the ends in this set-up).

use core::time::Duration;
use std::hint::black_box;

use blemesh_core::wire::Kind;
use blemesh_core::{Destination, Instant, LinkId, Node, Output};
use blemesh_tests::{Harness, HarnessConfig, Topology};
use criterion::{BenchmarkId, Criterion, Throughput};

/// The converged middle node of a 3-node line and the instant it was taken at. Its link to
/// node 0 (id 1) is `LinkId(0)`, to node 2 (id 3) `LinkId(2)`.
pub fn middle_node() -> (Node, Instant) {
    let mut h = Harness::with_config(Topology::line(3), HarnessConfig::default(), |_, mut c| {
        c.relay_jitter = Duration::ZERO;
        c.link_arq = false;
        c
    });
    h.run_for(Duration::from_secs(2));
    assert_eq!(h.confirmed_neighbours(1), vec![0, 2], "line converged");
    let now = h.now();
    (h.nodes.swap_remove(1), now)
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
    g.finish();
}
