//! Source-tree relaying of floods (`Config::relay_tree`) on a real community mesh: the
//! largest component (141 nodes, 185 links) of Ninux Roma
//! (`tests/data/ninux-roma.netjson.json`), in the deterministic harness.

use std::path::Path;
use std::time::Duration;

use blemesh_core::{Instant, Metrics, Qos};
use blemesh_tests::{Harness, HarnessConfig, Topology};

/// The Ninux Roma graph: node ids in file order, links by index.
fn ninux_roma() -> Topology {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/ninux-roma.netjson.json");
    let text = std::fs::read_to_string(path).unwrap();
    let (nodes, links) = text.split_once("\"links\"").unwrap();
    let ids: Vec<&str> = quoted_after(nodes, "\"id\"").collect();
    let index = |id: &str| ids.iter().position(|x| *x == id).unwrap();
    let sources = quoted_after(links, "\"source\"").map(index);
    let targets = quoted_after(links, "\"target\"").map(index);
    let edges: Vec<(usize, usize)> = sources.zip(targets).collect();
    assert_eq!((ids.len(), edges.len()), (147, 191));
    // The component of the first node (the file's other 6 nodes form another).
    let reach = Topology::new(ids.len(), edges.clone()).distances(0);
    let kept: Vec<usize> = (0..ids.len()).filter(|i| reach[*i].is_some()).collect();
    let new_index = |i: usize| kept.iter().position(|k| *k == i);
    let edges: Vec<(usize, usize)> = edges.iter().filter_map(|(a, b)| Some((new_index(*a)?, new_index(*b)?))).collect();
    assert_eq!((kept.len(), edges.len()), (141, 185));
    Topology::new(kept.len(), edges)
}

/// The string values following each occurrence of `key` in `text`.
fn quoted_after<'a>(text: &'a str, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    text.split(key).skip(1).map(|rest| rest.split('"').nth(1).unwrap())
}

/// The mesh with `parents` parents per node, settled: every advert spread and the graph
/// unchanged for longer than the 2 s the nodes wait before relaying along trees.
fn settled(parents: u8) -> Harness {
    let topo = ninux_roma();
    assert!(topo.is_connected());
    let mut h = Harness::with_config(topo, HarnessConfig::default(), |_, mut c| {
        c.max_links = 16;
        c.relay_tree = parents;
        c
    });
    h.run_until(Instant::from_secs(20));
    h
}

fn total(h: &Harness, f: impl Fn(&Metrics) -> u64) -> u64 {
    h.nodes.iter().map(|n| f(n.metrics())).sum()
}

/// Link PDUs carrying game data with `payload` transmitted so far (whole-frame PDUs: control
/// byte 0, then the frame, whose kind is its second byte).
fn copies_sent(h: &Harness, payload: &[u8]) -> usize {
    let carries = |b: &[u8]| b.len() > 3 && b[0] == 0 && b[2] == 5 && b.windows(payload.len()).any(|w| w == payload);
    h.transmitted.iter().flatten().filter(|(_, _, b)| carries(b)).count()
}

/// Floods one broadcast from each of `origins`; returns the link transmissions of those
/// floods and the relays that fell back to plain relaying meanwhile, after checking that
/// every node delivered each broadcast exactly once.
fn flood_from(h: &mut Harness, origins: &[usize]) -> (usize, u64) {
    h.record_transmissions = true;
    let before = (total(h, |m| m.tree_fallbacks), total(h, |m| m.tree_relays));
    let mut sent = 0;
    for (k, origin) in origins.iter().enumerate() {
        let payload = format!("flood {k}");
        // The mesh is 18 hops across: more than the default TTL of 16.
        h.send(*origin, None, payload.as_bytes(), Qos::default().with_ttl(32)).unwrap();
        h.run_for(Duration::from_secs(2));
        for (i, got) in h.received.iter().enumerate() {
            let copies = got.iter().filter(|m| m.payload == payload.as_bytes()).count();
            assert_eq!(copies, usize::from(i != *origin), "node {i}, flood from {origin}");
        }
        sent += copies_sent(h, payload.as_bytes());
    }
    let tree_relays = total(h, |m| m.tree_relays) - before.1;
    assert!(tree_relays >= origins.len() as u64 * 100, "relayed along trees: {tree_relays}");
    (sent, total(h, |m| m.tree_fallbacks) - before.0)
}

/// With one parent each flood follows one spanning tree: every node delivers it once, from
/// 140 transmissions per flood (one per node reached) but for the few relays that fell back
/// to plain relaying (a node whose view of a distant advert still differs).
#[test]
fn one_parent_reaches_every_node_with_one_copy_each() {
    let mut h = settled(1);
    let (sent, fallbacks) = flood_from(&mut h, &[0, 70, 140]);
    assert!(fallbacks <= 3 * 140 / 20, "at most 5 % of the relays fall back: {fallbacks}");
    assert!(sent >= 3 * 140 && sent <= 3 * 140 + 10 * fallbacks as usize, "sent {sent}, fallbacks {fallbacks}");
}

/// With two parents every node still delivers the flood once, from at most two copies
/// each (but for fallbacks).
#[test]
fn two_parents_reach_every_node_with_at_most_two_copies() {
    let mut h = settled(2);
    let (sent, fallbacks) = flood_from(&mut h, &[0, 70, 140]);
    assert!(fallbacks <= 3 * 140 / 20, "at most 5 % of the relays fall back: {fallbacks}");
    assert!(sent > 3 * 140 && sent <= 2 * 3 * 140 + 10 * fallbacks as usize, "sent {sent}, fallbacks {fallbacks}");
}

/// The same mesh without trees, for scale: plain relaying with pruning sends more copies
/// than two-parent trees.
#[test]
fn trees_send_fewer_copies_than_pruned_flooding() {
    let mut plain = settled(0);
    plain.record_transmissions = true;
    plain.send(0, None, b"flood 0", Qos::default().with_ttl(32)).unwrap();
    plain.run_for(Duration::from_secs(2));
    let plain_sent = copies_sent(&plain, b"flood 0");
    let mut trees = settled(2);
    let (tree_sent, _) = flood_from(&mut trees, &[0]);
    assert!(tree_sent < plain_sent, "trees {tree_sent}, plain {plain_sent}");
}
