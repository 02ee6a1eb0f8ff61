//! Oracle tests: [`Components`] agrees with petgraph's connected components on seeded random
//! graphs and on the Ninux Roma community-network topology with random links removed.

use alloc::string::String;
use alloc::vec::Vec;

use petgraph::graph::{NodeIndex, UnGraph};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::{Components, PartitionEvent, PartitionTracker, UnionFind};
use crate::NodeId;

/// petgraph's view: strongly connected components of the undirected graph (= connected
/// components), normalised to sorted members, components sorted by smallest member.
fn oracle(nodes: &[NodeId], links: &[(NodeId, NodeId)]) -> Vec<Vec<NodeId>> {
    let mut all: Vec<NodeId> = nodes.to_vec();
    all.extend(links.iter().flat_map(|&(a, b)| [a, b]));
    all.sort_unstable();
    all.dedup();
    let mut g = UnGraph::<NodeId, ()>::new_undirected();
    let idx: Vec<NodeIndex> = all.iter().map(|&n| g.add_node(n)).collect();
    for &(a, b) in links {
        let (ia, ib) = (all.binary_search(&a).unwrap(), all.binary_search(&b).unwrap());
        g.add_edge(idx[ia], idx[ib], ());
    }
    let mut comps: Vec<Vec<NodeId>> = petgraph::algo::kosaraju_scc(&g)
        .into_iter()
        .map(|c| {
            let mut m: Vec<NodeId> = c.into_iter().map(|i| g[i]).collect();
            m.sort_unstable();
            m
        })
        .collect();
    comps.sort_unstable_by_key(|c| c[0]);
    assert_eq!(petgraph::algo::connected_components(&g), comps.len());
    comps
}

#[test]
fn random_graphs_match_petgraph() {
    for seed in 0..200u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = 1 + (rng.next_u32() % 60) as u64;
        let m = rng.next_u32() % (2 * n as u32 + 1);
        // Sparse ids, so dense indexing is exercised.
        let node = |i: u64| NodeId(1 + i * 7919 % 100_003);
        let nodes: Vec<NodeId> = (0..n).map(node).collect();
        let links: Vec<(NodeId, NodeId)> = (0..m)
            .map(|_| (node(u64::from(rng.next_u32()) % n), node(u64::from(rng.next_u32()) % n)))
            .collect();
        let c = Components::build(&nodes, &links);
        assert_eq!(c.components(), oracle(&nodes, &links).as_slice(), "seed {seed}");
        let mut uf = UnionFind::new(nodes.len());
        let mut sorted = nodes.clone();
        sorted.sort_unstable();
        for &(a, b) in &links {
            uf.union(sorted.binary_search(&a).unwrap(), sorted.binary_search(&b).unwrap());
        }
        assert_eq!(uf.set_count(), c.count(), "seed {seed}");
    }
}

/// The Ninux Roma topology: node ids are the positions of the NetJSON node ids, plus one.
fn ninux() -> (Vec<NodeId>, Vec<(NodeId, NodeId)>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/ninux-roma.netjson.json");
    let text = std::fs::read_to_string(path).expect("read the Ninux Roma sample");
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid NetJSON");
    let names: Vec<String> = json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| String::from(n["id"].as_str().unwrap()))
        .collect();
    let id = |name: &str| NodeId(names.iter().position(|n| n == name).expect("link to a listed node") as u64 + 1);
    let links = json["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (id(l["source"].as_str().unwrap()), id(l["target"].as_str().unwrap())))
        .collect();
    ((1..=names.len() as u64).map(NodeId).collect(), links)
}

#[test]
fn ninux_roma_with_links_removed_matches_petgraph() {
    let (nodes, links) = ninux();
    assert_eq!((nodes.len(), links.len()), (147, 191));
    let full = Components::build(&nodes, &links);
    assert_eq!(full.components(), oracle(&nodes, &links).as_slice());
    for seed in 0..50u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let keep_per_mille = 500 + rng.next_u32() % 500;
        let kept: Vec<(NodeId, NodeId)> =
            links.iter().copied().filter(|_| rng.next_u32() % 1000 < keep_per_mille).collect();
        let c = Components::build(&nodes, &kept);
        assert_eq!(c.components(), oracle(&nodes, &kept).as_slice(), "seed {seed}");
        assert!(c.count() >= full.count());
    }
}

#[test]
fn ninux_roma_partition_tracker_sees_the_oracle_split_and_heal() {
    let (nodes, links) = ninux();
    let full = Components::build(&nodes, &links);
    // The smallest node of the largest component; then a quarter of the links fail.
    let me = full.components().iter().max_by_key(|c| c.len()).unwrap()[0];
    let mut t = PartitionTracker::new(me);
    t.update(&full);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let cut: Vec<(NodeId, NodeId)> = links.iter().copied().filter(|_| rng.next_u32() % 4 != 0).collect();
    let split = Components::build(&nodes, &cut);
    let expected_lost: Vec<NodeId> = full
        .component_of(me)
        .unwrap()
        .iter()
        .copied()
        .filter(|n| !oracle(&nodes, &cut).iter().any(|c| c.contains(&me) && c.contains(n)))
        .collect();
    let ev = t.update(&split);
    assert!(!expected_lost.is_empty(), "cutting a quarter of the links splits the mesh");
    assert!(matches!(&ev[0], PartitionEvent::Partitioned { unreachable, .. } if *unreachable == expected_lost));
    let healed = t.update(&full);
    assert!(matches!(&healed[0], PartitionEvent::Healed { rejoined, .. } if *rejoined == expected_lost));
}

#[test]
fn bridge_connects_on_ninux_roma_heal_exactly_what_petgraph_predicts() {
    use super::{BridgePolicy, bridge_candidates};
    let (nodes, links) = ninux();
    let mut checked = 0;
    for seed in 0..40u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(100 + seed);
        // A third of the links go down, but their endpoints still hear each other.
        let (kept, down): (Vec<_>, Vec<_>) = links.iter().copied().partition(|_| rng.next_u32() % 3 != 0);
        let topo = Components::build(&nodes, &kept);
        let me = down[(rng.next_u32() as usize) % down.len()].0;
        let heard: Vec<(NodeId, i8)> = down
            .iter()
            .filter_map(|&(a, b)| if a == me { Some(b) } else if b == me { Some(a) } else { None })
            .map(|n| (n, -40 - (rng.next_u32() % 40) as i8))
            .collect();
        let policy = BridgePolicy { max_connects: 8, ..BridgePolicy::default() };
        let connects = bridge_candidates(me, &topo, &heard, &[me], 8, &policy);
        // One connection per foreign component heard: petgraph agrees on the merge.
        let mut foreign: Vec<NodeId> = heard
            .iter()
            .filter(|(n, _)| !topo.same_component(me, *n))
            .map(|(n, _)| topo.component_of(*n).unwrap()[0])
            .collect();
        foreign.sort_unstable();
        foreign.dedup();
        assert_eq!(connects.len(), foreign.len(), "seed {seed}");
        let mut with: Vec<(NodeId, NodeId)> = kept.clone();
        let mut after = topo.clone();
        for c in &connects {
            assert!(c.heals(me, &after), "seed {seed}: {c:?}");
            after = after.with_link(me, c.node);
            with.push((me, c.node));
        }
        assert_eq!(after.components(), oracle(&nodes, &with).as_slice(), "seed {seed}");
        assert_eq!(after.count(), topo.count() - connects.len(), "seed {seed}");
        checked += connects.len();
    }
    assert!(checked > 10, "the sample exercises real heals ({checked})");
}

#[test]
fn arbitrary_edge_lists_match_petgraph() {
    bolero::check!()
        .with_generator(bolero::produce::<Vec<(u8, u8)>>().with().len(0usize..120))
        .for_each(|edges| {
            let links: Vec<(NodeId, NodeId)> =
                edges.iter().map(|&(a, b)| (NodeId(u64::from(a % 40) + 1), NodeId(u64::from(b % 40) + 1))).collect();
            let nodes: Vec<NodeId> = (1..=8).map(NodeId).collect();
            assert_eq!(Components::build(&nodes, &links).components(), oracle(&nodes, &links).as_slice());
        });
}
