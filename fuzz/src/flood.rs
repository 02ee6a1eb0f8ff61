//! The flood path: a small mesh of real nodes in the deterministic harness, under
//! interleavings of sends, time, link cuts and re-connections, and replays of PDUs that were
//! on the air.
//!
//! Invariants, checked after every operation:
//! * no node delivers the same (origin, seq) twice (all runs stay inside `node_gone_after`,
//!   the horizon of the duplicate windows) while its tables can hold every origin (with
//!   `small_caps`, 4 sequence windows for up to 5 origins, a late or replayed copy after its
//!   origin's window was evicted is delivered again: see `tests/regressions.rs`), and no node
//!   delivers its own messages;
//! * every delivered payload is the one its origin sent under that sequence number, and a
//!   unicast is delivered only at its destination;
//! * every bounded structure of every node stays within its configured cap;
//! * with no loss, no topology change, no replay, within its TTL and no frame dropped for a full queue (a
//!   documented, counted drop: see `fuzz/tests/regressions.rs`), every broadcast made after
//!   convergence reaches every other node.

use core::time::Duration;
use std::collections::{BTreeMap, BTreeSet};

use bolero::TypeGenerator;
use blemesh_core::{Config, DropReason, Instant, NodeId, Qos};
use blemesh_tests::{Harness, HarnessConfig, Topology};

/// Nodes in the mesh (at most).
pub const MAX_NODES: usize = 6;

/// What happens next.
#[derive(Debug, TypeGenerator)]
pub enum Op {
    /// Node `from` broadcasts `len` bytes.
    Broadcast { from: u8, len: u8, ttl: u8 },
    /// Node `from` sends `len` bytes to `to`.
    Unicast { from: u8, to: u8, len: u8 },
    /// Run the mesh for `millis`.
    Run { millis: u16 },
    /// Process `n` single events (fine interleaving).
    Step { n: u8 },
    /// Take a link down.
    Cut { a: u8, b: u8 },
    /// Bring a link up.
    Connect { a: u8, b: u8 },
    /// Re-inject the `k`-th PDU node `node` transmitted, if its link is still up.
    Replay { node: u8, k: u16 },
}

/// The target's input.
#[derive(Debug, TypeGenerator)]
pub struct Input {
    nodes: u8,
    /// Extra edges beyond a line, as pairs.
    edges: Vec<(u8, u8)>,
    seed: u64,
    loss: u8,
    small_caps: bool,
    ops: Vec<Op>,
}

fn payload(origin: usize, n: u32, len: u8) -> Vec<u8> {
    let mut p = vec![origin as u8];
    p.extend_from_slice(&n.to_be_bytes());
    p.extend((0..len).map(|i| i ^ origin as u8));
    p
}

/// Runs one input.
pub fn check(input: &Input) {
    let n = 2 + usize::from(input.nodes) % (MAX_NODES - 1);
    let mut edges: Vec<(usize, usize)> = (1..n).map(|i| (i - 1, i)).collect();
    edges.extend(input.edges.iter().take(8).map(|(a, b)| (usize::from(*a) % n, usize::from(*b) % n)));
    let topo = Topology::new(n, edges);
    let loss = f64::from(input.loss % 4) * 0.1;
    let cfg = HarnessConfig { seed: input.seed, loss, ..HarnessConfig::default() };
    let small = input.small_caps;
    let mut h = Harness::with_config(topo, cfg, |_, mut c: Config| {
        if small {
            c.duplicate_cache = 8;
            c.max_pending_relays = 2;
            c.max_sources = 4;
            c.delivery_queue = 4;
            c.event_queue = 4;
        }
        c
    });
    h.record_transmissions = true;
    h.run_for(Duration::from_secs(1));
    let converged = h.now();
    let mut stable = loss == 0.0;
    // (origin index, seq) -> (payload, destination index or None for broadcast)
    let mut sent: BTreeMap<(usize, u32), (Vec<u8>, Option<usize>)> = BTreeMap::new();
    let mut count = 0u32;
    let mut ttls: BTreeMap<(usize, u32), u8> = BTreeMap::new();
    let horizon = Instant::ZERO + (Config::new(NodeId(1), 0).node_gone_after - Duration::from_secs(2));
    for op in input.ops.iter().take(24) {
        if h.now() >= horizon {
            break;
        }
        match op {
            Op::Broadcast { from, len, ttl } => {
                let i = usize::from(*from) % n;
                count += 1;
                let p = payload(i, count, *len);
                let qos = if *ttl % 4 == 0 { Qos::default() } else { Qos::default().with_ttl(1 + ttl % 16) };
                if let Ok(id) = h.send(i, None, &p, qos) {
                    ttls.insert((i, id.seq), qos.ttl.unwrap_or(h.nodes[i].config().default_ttl));
                    sent.insert((i, id.seq), (p, None));
                }
            }
            Op::Unicast { from, to, len } => {
                let (i, j) = (usize::from(*from) % n, usize::from(*to) % n);
                count += 1;
                let p = payload(i, count, *len);
                if let Ok(id) = h.send(i, Some(j), &p, Qos::default()) {
                    sent.insert((i, id.seq), (p, Some(j)));
                }
            }
            Op::Run { millis } => h.run_for(Duration::from_millis(u64::from(*millis % 1500))),
            Op::Step { n } => {
                for _ in 0..*n % 32 {
                    h.step();
                }
            }
            Op::Cut { a, b } => {
                let (a, b) = (usize::from(*a) % n, usize::from(*b) % n);
                if h.topology.edges.contains(&(a.min(b), a.max(b))) {
                    h.cut(a, b);
                    stable = false;
                }
            }
            Op::Connect { a, b } => {
                let (a, b) = (usize::from(*a) % n, usize::from(*b) % n);
                if a != b && !h.topology.edges.contains(&(a.min(b), a.max(b))) {
                    h.connect(a, b);
                    stable = false;
                }
            }
            Op::Replay { node, k } => {
                let x = usize::from(*node) % n;
                if !h.transmitted[x].is_empty() {
                    let (_, link, bytes) = h.transmitted[x][usize::from(*k) % h.transmitted[x].len()].clone();
                    let to = link.0 as usize;
                    if h.topology.edges.contains(&(x.min(to), x.max(to))) {
                        h.inject(to, x, &bytes);
                        stable = false;
                    }
                }
            }
        }
        check_invariants(&h, &sent, small);
    }
    // Liveness on a stable, lossless mesh: broadcasts made after convergence reach everyone.
    if stable && h.now() < horizon {
        h.run_for(Duration::from_secs(2));
        check_invariants(&h, &sent, small);
        if capacity_drops(&h) > 0 {
            return;
        }
        for (&(o, seq), (_, dst)) in &sent {
            if dst.is_some() {
                continue;
            }
            // A broadcast travels at most its TTL in hops.
            let dist = h.topology.distances(o);
            for i in (0..n).filter(|i| *i != o && dist[*i].is_some_and(|d| d <= usize::from(ttls[&(o, seq)]))) {
                assert!(
                    h.received[i].iter().any(|r| r.origin == NodeId(o as u64 + 1) && r.seq == seq),
                    "broadcast ({o}, {seq}) sent after {converged:?} never reached node {i}"
                );
            }
        }
    }
}

/// Frames the nodes dropped because a bounded queue was full (counted, by design).
pub fn capacity_drops(h: &Harness) -> u64 {
    let full = [DropReason::TransmitQueueFull, DropReason::DeliveryQueueFull, DropReason::RelayTableFull];
    h.nodes.iter().map(|n| full.iter().map(|r| n.metrics().drops.get(*r)).sum::<u64>()).sum()
}

/// Broadcasts sent, by (sender, sequence): the payload and, for a limited TTL, the hop reach.
type Sent = BTreeMap<(usize, u32), (Vec<u8>, Option<usize>)>;

fn check_invariants(h: &Harness, sent: &Sent, small_caps: bool) {
    for (i, node) in h.nodes.iter().enumerate() {
        node.occupancy().check(node.config()).unwrap_or_else(|cap| panic!("node {i}: {cap} over its cap"));
        let mut seen = BTreeSet::new();
        for r in &h.received[i] {
            let o = (r.origin.0 - 1) as usize;
            assert_ne!(o, i, "node {i} delivered its own message");
            let first = seen.insert((r.origin, r.seq));
            assert!(first || small_caps, "node {i} delivered ({:?}, {}) twice", r.origin, r.seq);
            let (payload, dst) = sent.get(&(o, r.seq)).unwrap_or_else(|| panic!("node {i} delivered an unsent message {r:?}"));
            assert_eq!(&r.payload, payload, "payload corrupted");
            if let Some(d) = dst {
                assert_eq!(*d, i, "unicast to {d} delivered at {i}");
            }
        }
    }
}
