//! A restarted node is routable again within 3 s (`docs/PROTOCOL.md` §8.9): measured from its
//! first confirmed link after powering on fresh to (a) the first broadcast of another node
//! it delivers and (b) the first routed unicast each way between it and the node farthest
//! from it, over 20 seeds, unsecured and secured.

use std::time::Duration;

use blemesh_core::security::NetworkKey;
use blemesh_core::{Config, Event, Instant, Node, Priority, Qos, Security};
use blemesh_tests::harness::node_id;
use blemesh_tests::secure::{MESH_KEY, identity, secure_node};
use blemesh_tests::{Harness, HarnessConfig, random_connected};

const NODES: usize = 10;
/// The restart: power off at 20 s, on again at 23 s.
const OFF_AT: Duration = Duration::from_secs(20);
const DOWN: Duration = Duration::from_secs(3);
/// Probes every 50 ms after the restart, for at most 15 s.
const PROBE_EVERY: Duration = Duration::from_millis(50);
const PROBE_FOR: Duration = Duration::from_secs(15);

/// Seconds from the restarted node's first confirmed link to each measure; `None`: never
/// within [`PROBE_FOR`].
#[derive(Debug)]
struct Restart {
    broadcast_in: Option<f64>,
    unicast_out: Option<f64>,
    unicast_in: Option<f64>,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// One run: a random 10-node mesh with every node broadcasting each second, node `x`
/// restarted fresh (new seed; a secured node keeps its identity and the sequence high
/// water it persisted) a little elsewhere, then probes between it and the node `p` farthest
/// from it.
fn run(seed: u64, secured: bool) -> Restart {
    let topology = random_connected(NODES, 4, 4, seed);
    let x = (seed as usize) % NODES;
    let dist = topology.distances(x);
    let p = (0..NODES).max_by_key(|&v| (dist[v], v)).unwrap();
    let cfg = HarnessConfig { seed, loss: 0.02, ..HarnessConfig::default() };
    let mut h = if secured {
        Harness::with_nodes(topology, cfg, |i, _, now| secure_node(i, seed, now, &MESH_KEY))
    } else {
        Harness::new(topology, cfg)
    };
    let quiet = Qos::new(Priority::Normal);
    let mut t = Duration::ZERO;
    while t < OFF_AT {
        t += Duration::from_secs(1);
        h.run_until(Instant::ZERO + t);
        for i in 0..NODES {
            let _ = h.send(i, None, b"tick", quiet);
        }
    }
    h.run_until(Instant::ZERO + OFF_AT);
    let neighbours = h.power_off(x);
    h.run_for(DOWN);
    let on = h.now();
    let fresh_seed = seed ^ 0x5e57_a127;
    let node = if secured {
        let high_water = h.events[x]
            .iter()
            .filter_map(|(_, e)| match e {
                Event::PersistSequence { high_water } => Some(*high_water),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let id = identity(x, seed);
        let config = Config::new(id.node_id(), fresh_seed);
        let security = Security::new(id, NetworkKey::new(&MESH_KEY)).restored(high_water);
        Node::new_secure(config, security, on).unwrap()
    } else {
        Node::new(Config::new(node_id(x), fresh_seed), on).unwrap()
    };
    // It comes back a little elsewhere: without its first old neighbour, with a new one, so
    // that the links of its previous advert no longer describe it.
    let newcomer = (0..NODES).find(|v| *v != x && !neighbours.contains(v)).unwrap();
    let mut links: Vec<usize> = neighbours[1..].to_vec();
    links.push(newcomer);
    h.power_on(x, node, &links);
    let (xid, pid) = (h.id(x), h.id(p));
    while h.now() < on + PROBE_FOR {
        let _ = h.send(p, None, b"probe-b", quiet);
        if h.nodes[x].route_info(pid, Priority::Normal).is_some() {
            let _ = h.send(x, Some(p), b"probe-out", quiet);
        }
        if h.nodes[p].route_info(xid, Priority::Normal).is_some() {
            let _ = h.send(p, Some(x), b"probe-in", quiet);
        }
        h.run_for(PROBE_EVERY);
    }
    let linked = h.events[x]
        .iter()
        .find(|(at, e)| *at >= on && matches!(e, Event::NeighbourUp { .. }))
        .map(|(at, _)| *at)
        .expect("the restarted node confirms a link");
    let first = |at: usize, origin: blemesh_core::NodeId, payload: Option<&[u8]>| {
        h.received[at]
            .iter()
            .find(|r| r.at >= on && r.origin == origin && payload.is_none_or(|p| r.payload == p))
            .map(|r| secs(r.at - linked))
    };
    let broadcast_in = h.received[x].iter().find(|r| r.at >= on && r.origin != xid).map(|r| secs(r.at - linked));
    Restart {
        broadcast_in,
        unicast_out: first(p, xid, Some(b"probe-out")),
        unicast_in: first(x, pid, Some(b"probe-in")),
    }
}

fn check(secured: bool) {
    let mut worst = [0.0f64; 3];
    for seed in 1..=20 {
        let r = run(seed, secured);
        let all = [r.broadcast_in, r.unicast_out, r.unicast_in];
        for (w, m) in worst.iter_mut().zip(all) {
            let m = m.unwrap_or_else(|| panic!("seed {seed}, secured {secured}: {r:?}"));
            assert!(m <= 3.0, "seed {seed}, secured {secured}: {r:?}");
            *w = w.max(m);
        }
    }
    eprintln!("secured {secured}: max over 20 seeds: broadcast in {:.3} s, unicast out {:.3} s, in {:.3} s", worst[0], worst[1], worst[2]);
}

#[test]
fn a_restarted_unsecured_node_is_routable_within_3_s() {
    check(false);
}

#[test]
fn a_restarted_secured_node_is_routable_within_3_s() {
    check(true);
}
