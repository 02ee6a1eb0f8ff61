//! Multi-node behaviour of discovery and flooding, in the deterministic harness.

use std::time::Duration;

use blemesh_core::{DropReason, Instant, Qos};
use blemesh_tests::{Harness, HarnessConfig, Topology, random_connected};

const SEEDS: [u64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

fn settled(topology: Topology, cfg: HarnessConfig) -> Harness {
    let mut h = Harness::new(topology, cfg);
    h.run_until(Instant::from_secs(3));
    h
}

/// Deliveries of `payload` at each node.
fn copies(h: &Harness, payload: &[u8]) -> Vec<usize> {
    h.received.iter().map(|r| r.iter().filter(|m| m.payload == payload).count()).collect()
}

#[test]
fn every_node_confirms_exactly_its_graph_neighbours() {
    for seed in SEEDS {
        let topo = random_connected(20, 12, 7, seed);
        let h = settled(topo.clone(), HarnessConfig { seed, ..Default::default() });
        for i in 0..20 {
            assert_eq!(h.confirmed_neighbours(i), topo.neighbours(i), "seed {seed} node {i}");
        }
    }
}

#[test]
fn one_flood_reaches_every_node_exactly_once() {
    for seed in SEEDS {
        let topo = random_connected(20, 12, 7, seed);
        let mut h = settled(topo, HarnessConfig { seed, ..Default::default() });
        h.send(0, None, b"flood", Qos::default()).unwrap();
        h.run_for(Duration::from_secs(2));
        let mut want = vec![1; 20];
        want[0] = 0;
        assert_eq!(copies(&h, b"flood"), want, "seed {seed}");
    }
}

#[test]
fn ttl_bounds_the_reach() {
    let topo = Topology::line(8);
    let mut h = settled(topo.clone(), HarnessConfig::default());
    h.send(0, None, b"near", Qos::default().with_ttl(3)).unwrap();
    h.run_for(Duration::from_secs(2));
    let dist = topo.distances(0);
    let got = copies(&h, b"near");
    for i in 1..8 {
        let want = usize::from(dist[i].unwrap() <= 3);
        assert_eq!(got[i], want, "node {i} at distance {:?}", dist[i]);
    }
    let hops: Vec<u8> = (1..4).map(|i| h.received[i].iter().find(|m| m.payload == b"near").unwrap().hops).collect();
    assert_eq!(hops, vec![1, 2, 3]);
    assert!(h.nodes[3].metrics().ttl_expired >= 1);
}

#[test]
fn replayed_frames_are_rejected() {
    let topo = Topology::line(3);
    let mut h = settled(topo, HarnessConfig::default());
    h.record_transmissions = true;
    h.send(0, None, b"once", Qos::default()).unwrap();
    h.run_for(Duration::from_secs(1));
    assert_eq!(copies(&h, b"once"), vec![0, 1, 1]);
    // Capture what node 0 sent to node 1 and replay it later, twice.
    let captured: Vec<Vec<u8>> = h.transmitted[0]
        .iter()
        .filter(|(_, link, bytes)| link.0 == 1 && bytes.windows(4).any(|w| w == b"once"))
        .map(|(_, _, b)| b.clone())
        .collect();
    assert!(!captured.is_empty());
    let before = h.nodes[1].metrics().drops.get(DropReason::Duplicate);
    h.run_for(Duration::from_secs(5));
    for bytes in &captured {
        h.inject(1, 0, bytes);
        h.inject(1, 0, bytes);
    }
    h.run_for(Duration::from_secs(1));
    assert_eq!(copies(&h, b"once"), vec![0, 1, 1], "replays delivered nothing");
    let after = h.nodes[1].metrics().drops.get(DropReason::Duplicate);
    assert_eq!(after - before, 2 * captured.len() as u64);
}

#[test]
fn flood_survives_twenty_percent_loss() {
    for seed in SEEDS {
        let topo = random_connected(20, 12, 7, seed);
        let cfg = HarnessConfig { seed, loss: 0.2, ..Default::default() };
        let mut h = settled(topo.clone(), cfg);
        for i in 0..20 {
            assert_eq!(h.confirmed_neighbours(i), topo.neighbours(i), "seed {seed} node {i} confirmed under loss");
        }
        for k in 0..5u8 {
            h.send(usize::from(k), None, &[b'L', k], Qos::default()).unwrap();
        }
        h.run_for(Duration::from_secs(3));
        for k in 0..5u8 {
            let mut want = vec![1; 20];
            want[usize::from(k)] = 0;
            assert_eq!(copies(&h, &[b'L', k]), want, "seed {seed} flood {k}");
        }
    }
}

#[test]
fn unicast_reaches_only_its_destination() {
    let topo = Topology::line(5);
    let mut h = settled(topo, HarnessConfig::default());
    h.send(0, Some(4), b"to four", Qos::default()).unwrap();
    h.send(4, Some(3), b"to three", Qos::default()).unwrap();
    h.run_for(Duration::from_secs(1));
    assert_eq!(copies(&h, b"to four"), vec![0, 0, 0, 0, 1]);
    assert_eq!(copies(&h, b"to three"), vec![0, 0, 0, 1, 0]);
    let m = &h.received[4][0];
    assert_eq!((m.origin, m.hops), (blemesh_core::NodeId(1), 4));
}

#[test]
fn small_mtu_fragments_and_reassembles() {
    let cfg = HarnessConfig { mtu: 20, ..Default::default() };
    let mut h = settled(Topology::line(3), cfg);
    let payload: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
    h.send(0, None, &payload, Qos::default()).unwrap();
    h.run_for(Duration::from_secs(1));
    assert_eq!(copies(&h, &payload), vec![0, 1, 1]);
    assert!(h.nodes[1].metrics().reassembled >= 1);
    assert!(h.nodes[0].metrics().fragments_sent >= 600 / 13);
}

#[test]
fn cut_is_detected_on_both_sides_and_the_flood_goes_around() {
    // A ring of 6: cutting one link keeps it connected.
    let topo = Topology::new(6, (0..6).map(|i| (i, (i + 1) % 6)));
    let mut h = settled(topo, HarnessConfig::default());
    h.cut(0, 1);
    h.run_for(Duration::from_secs(1));
    assert_eq!(h.confirmed_neighbours(0), vec![5]);
    assert_eq!(h.confirmed_neighbours(1), vec![2]);
    h.send(0, None, b"around", Qos::default()).unwrap();
    h.run_for(Duration::from_secs(1));
    assert_eq!(copies(&h, b"around"), vec![0, 1, 1, 1, 1, 1]);
}

#[test]
fn same_seed_same_run() {
    let run = || {
        let topo = random_connected(12, 6, 7, 9);
        let mut h = Harness::new(topo, HarnessConfig { seed: 9, loss: 0.1, ..Default::default() });
        h.run_until(Instant::from_secs(2));
        h.send(3, None, b"det", Qos::default()).unwrap();
        h.run_until(Instant::from_secs(4));
        (h.received, h.nodes.iter().map(|n| n.metrics().clone()).collect::<Vec<_>>())
    };
    assert_eq!(run(), run());
}

#[test]
fn suppression_saves_relays_in_a_dense_mesh_without_starving_a_leaf() {
    // Nodes 0..6 form a clique (every node hears every copy); node 6 hangs off node 5 only.
    let mut edges: Vec<(usize, usize)> = (0..6).flat_map(|a| (a + 1..6).map(move |b| (a, b))).collect();
    edges.push((5, 6));
    let mut relays = 0;
    let seeds: Vec<u64> = (1..=64).collect();
    for &seed in &seeds {
        let mut h = settled(Topology::new(7, edges.clone()), HarnessConfig { seed, ..Default::default() });
        h.record_transmissions = true;
        h.send(0, None, b"dense", Qos::default()).unwrap();
        h.run_for(Duration::from_secs(1));
        assert_eq!(copies(&h, b"dense"), vec![0, 1, 1, 1, 1, 1, 1], "seed {seed}");
        // Which nodes put the frame on the air (other traffic, like the election, shares it).
        let sent = |i: usize| h.transmitted[i].iter().any(|(_, _, b)| b.windows(5).any(|w| w == b"dense"));
        assert!(sent(5), "seed {seed}: the leaf's only neighbour must relay");
        relays += (1..5).filter(|i| sent(*i)).count() as u64;
    }
    // Without suppression nodes 1..5 all relay: 4 × seeds relays among nodes 1..=4.
    let without = 4 * seeds.len() as u64;
    assert!(relays * 4 <= without * 3, "{relays} of {without} relays: suppression saved under a quarter");
}

#[test]
fn link_arq_retransmits_only_under_loss() {
    let quiet = settled(random_connected(10, 5, 7, 3), HarnessConfig { seed: 3, ..Default::default() });
    let mut quiet = quiet;
    quiet.send(0, None, b"q", Qos::default()).unwrap();
    quiet.run_for(Duration::from_secs(2));
    assert_eq!(quiet.nodes.iter().map(|n| n.metrics().retransmissions).sum::<u64>(), 0);
    let mut lossy = settled(random_connected(10, 5, 7, 3), HarnessConfig { seed: 3, loss: 0.3, ..Default::default() });
    for k in 0..10u8 {
        lossy.send(0, None, &[b'r', k], Qos::default()).unwrap();
    }
    lossy.run_for(Duration::from_secs(3));
    assert!(lossy.nodes.iter().map(|n| n.metrics().retransmissions).sum::<u64>() > 0);
    for k in 0..10u8 {
        let got = copies(&lossy, &[b'r', k]);
        assert!(got[1..].iter().all(|c| *c == 1), "flood {k} at 30 % loss: {got:?}");
    }
}
