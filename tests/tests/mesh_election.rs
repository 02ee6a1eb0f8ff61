//! Coordinator election and partition handling across a mesh, in the harness.

use std::collections::HashMap;
use std::time::Duration;

use blemesh_core::{Event, Instant, NodeId};
use blemesh_tests::{Harness, HarnessConfig, Topology, random_connected};

/// How long two nodes that count each other, but not yet the same component, may follow
/// different coordinators of one term (`docs/PROTOCOL.md` §6.7; the simulator's
/// `one_coordinator` invariant uses the same bound).
const VIEW_SETTLE: Duration = Duration::from_secs(5);

/// At most one coordinator per partition and term, as `docs/PROTOCOL.md` §6.7 promises it:
/// two nodes in the same term with the same view (the digest of the component each counts)
/// must follow the same coordinator; two that count each other while their views still differ
/// (a merge that has reached one of them) may disagree for at most [`VIEW_SETTLE`]. (A link
/// that merges two meshes which elected in the same term joins them physically at once, but
/// each node's view, and so the election, only when adverts cross it.) `split` remembers
/// since when each pair of the second kind disagrees.
fn assert_one_coordinator_per_partition_and_term(h: &Harness, split: &mut HashMap<(usize, usize), Instant>, what: &str) {
    let n = h.nodes.len();
    for i in 0..n {
        for j in i + 1..n {
            let (Some((term, ci)), Some((tj, cj))) = (h.nodes[i].coordinator(), h.nodes[j].coordinator()) else {
                split.remove(&(i, j));
                continue;
            };
            if tj != term || ci == cj {
                split.remove(&(i, j));
                continue;
            }
            let (a, b) = (&h.nodes[i], &h.nodes[j]);
            assert_ne!(a.election().view(), b.election().view(), "{what}: nodes {i} and {j} of one view follow {ci} and {cj} in term {term}");
            if a.component().contains(&h.id(j)) && b.component().contains(&h.id(i)) {
                let since = *split.entry((i, j)).or_insert(h.now());
                assert!(
                    h.now().saturating_duration_since(since) <= VIEW_SETTLE,
                    "{what}: nodes {i} and {j} see each other and follow {ci} and {cj} in term {term} since {since:?}"
                );
            } else {
                split.remove(&(i, j));
            }
        }
    }
}

/// Steps the harness until `until`, checking the invariant after every step.
fn run_checked(h: &mut Harness, until: Instant, what: &str) {
    let mut split = HashMap::new();
    while h.now() < until && h.step() {
        assert_one_coordinator_per_partition_and_term(h, &mut split, what);
    }
    h.run_until(until);
}

/// Whether every node of `nodes` follows the same coordinator.
fn agreed(h: &Harness, nodes: &[usize]) -> Option<NodeId> {
    let first = h.nodes[nodes[0]].coordinator()?.1;
    nodes.iter().all(|i| h.nodes[*i].coordinator().map(|c| c.1) == Some(first)).then_some(first)
}

#[test]
fn a_coordinator_is_elected_quickly_and_alone() {
    let mut times = Vec::new();
    for seed in 0..100u64 {
        let topo = random_connected(10, 5, 7, 1000 + seed);
        let mut h = Harness::new(topo.clone(), HarnessConfig { seed, ..Default::default() });
        // The mesh is stable once every node confirmed all its neighbours.
        let mut stable = None;
        let mut elected = None;
        let all: Vec<usize> = (0..10).collect();
        let mut split = HashMap::new();
        while h.now() < Instant::from_secs(6) && h.step() {
            assert_one_coordinator_per_partition_and_term(&h, &mut split, &format!("seed {seed}"));
            if stable.is_none() && (0..10).all(|i| h.confirmed_neighbours(i) == topo.neighbours(i)) {
                stable = Some(h.now());
            }
            if let (Some(s), None) = (stable, elected) {
                if agreed(&h, &all).is_some() {
                    elected = Some(h.now() - s);
                }
            }
        }
        times.push(elected.unwrap_or_else(|| panic!("seed {seed}: no agreed coordinator within 6 s")));
    }
    times.sort();
    let (median, worst) = (times[times.len() / 2], times[times.len() - 1]);
    eprintln!("time to an agreed coordinator over 100 seeds: median {median:?}, worst {worst:?}");
    assert!(median <= Duration::from_secs(1), "median {median:?}");
    assert!(worst <= Duration::from_secs(2), "worst {worst:?}");
}

/// A line 24 nodes long (23 hops, more than `default_ttl`, 16): topology updates and election
/// messages are flooded with `max_ttl` (32), so every node learns the whole line, all views
/// agree and one coordinator is followed by all, soon after the adverts spread. With the
/// control floods at `default_ttl`, the ends never heard of each other and no view reached a
/// majority: no coordinator at all, and campaigns flooding the line without end.
#[test]
fn a_line_longer_than_the_default_ttl_agrees_on_one_view_and_coordinator() {
    let mut h = Harness::new(Topology::line(24), HarnessConfig::default());
    run_checked(&mut h, Instant::from_secs(8), "line of 24");
    let views: std::collections::BTreeSet<u64> = h.nodes.iter().map(|n| n.election().view().0).collect();
    assert_eq!(views.len(), 1, "one view over the line");
    assert!(h.nodes.iter().all(|n| n.election().voters().len() == 24), "every node counts all 24 voters");
    let all: Vec<usize> = (0..24).collect();
    assert!(agreed(&h, &all).is_some(), "one coordinator for the whole line");
    let campaigns: u64 = h.nodes.iter().map(|n| n.election().metrics().pre_votes_started).sum();
    assert!(campaigns < 24 * 4, "pre-vote rounds over 8 s: {campaigns}");
}

/// Two clusters of 5 (each a ring with a chord) joined by the link 4 - 5.
fn dumbbell() -> Topology {
    let mut e = Vec::new();
    for base in [0, 5] {
        for i in 0..5 {
            e.push((base + i, base + (i + 1) % 5));
        }
        e.push((base, base + 2));
    }
    e.push((4, 5));
    Topology::new(10, e)
}

#[test]
fn a_cut_is_detected_by_every_node_and_healing_leaves_one_coordinator() {
    for seed in 0..10u64 {
        let what = format!("seed {seed}");
        let mut h = Harness::new(dumbbell(), HarnessConfig { seed, ..Default::default() });
        run_checked(&mut h, Instant::from_secs(4), &what);
        let all: Vec<usize> = (0..10).collect();
        assert!(agreed(&h, &all).is_some(), "{what}: one coordinator before the cut");

        let cut_at = h.now();
        h.cut(4, 5);
        run_checked(&mut h, cut_at + Duration::from_secs(3), &what);
        for i in 0..10 {
            let detected = h.events[i].iter().any(|(t, e)| *t >= cut_at && matches!(e, Event::Partitioned { .. }));
            assert!(detected, "{what}: node {i} did not detect the cut within 3 s");
            assert_eq!(h.nodes[i].component().len(), 5, "{what}: node {i}");
        }
        // Per-partition mode: each side keeps (or elects) its own coordinator.
        run_checked(&mut h, cut_at + Duration::from_secs(5), &what);
        assert!(agreed(&h, &[0, 1, 2, 3, 4]).is_some(), "{what}: left side leaderless");
        assert!(agreed(&h, &[5, 6, 7, 8, 9]).is_some(), "{what}: right side leaderless");

        let heal_at = h.now();
        h.connect(4, 5);
        let mut healed = None;
        let mut split = HashMap::new();
        while h.now() < heal_at + Duration::from_secs(4) && h.step() {
            assert_one_coordinator_per_partition_and_term(&h, &mut split, &what);
            if healed.is_none() && agreed(&h, &all).is_some() {
                healed = Some(h.now() - heal_at);
            }
        }
        let healed = healed.unwrap_or_else(|| panic!("{what}: no single coordinator after the heal"));
        eprintln!("{what}: one coordinator {healed:?} after the heal");
        assert!(healed <= Duration::from_secs(2), "{what}: one coordinator after {healed:?}");
        assert!(h.events[0].iter().any(|(t, e)| *t >= heal_at && matches!(e, Event::Healed { .. })));
    }
}

#[test]
fn bridge_search_advises_the_link_that_heals_a_partition() {
    // The dumbbell without its middle link: two meshes of 5 that cannot hear each other
    // except node 4 (bridge-capable) overhearing node 5.
    let mut topo = dumbbell();
    topo.edges.retain(|e| *e != (4, 5));
    let mut h = Harness::with_config(topo, HarnessConfig::default(), |i, mut c| {
        if i == 4 {
            c.capabilities |= blemesh_core::Capabilities::BRIDGE;
        }
        c
    });
    run_checked(&mut h, Instant::from_secs(4), "two meshes");
    assert!(agreed(&h, &[0, 1, 2, 3, 4]).is_some() && agreed(&h, &[5, 6, 7, 8, 9]).is_some());
    assert_ne!(agreed(&h, &[0, 1, 2, 3, 4]), agreed(&h, &[5, 6, 7, 8, 9]), "one coordinator per mesh");

    // Node 5 overhears node 4 too, but only the bridge-capable side dials.
    let id5 = h.id(5);
    h.overhear(5, 4, -60);
    h.overhear(4, 5, -60);
    let advised = |i: usize| h.events[i].iter().any(|(_, e)| matches!(e, Event::ConnectAdvised { .. }));
    assert!(!advised(5), "the plain node leaves the dialling to the bridge");
    let to = h.events[4].iter().find_map(|(_, e)| match e {
        Event::ConnectAdvised { node, bridge } => Some((*node, *bridge)),
        _ => None,
    });
    assert_eq!(to, Some((id5, true)));

    // The runtime connects; union-find over the new topology confirms the heal.
    let heal_at = h.now();
    h.connect(4, 5);
    run_checked(&mut h, heal_at + Duration::from_secs(3), "bridged");
    let all: Vec<usize> = (0..10).collect();
    assert!(agreed(&h, &all).is_some(), "one coordinator for the bridged mesh");
    for i in [0, 9] {
        // Node 0 never knew the other mesh: for it, its nodes joined.
        let merged = |e: &Event| matches!(e, Event::Healed { .. } | Event::Joined { .. });
        assert!(h.events[i].iter().any(|(t, e)| *t >= heal_at && merged(e)), "node {i} saw the merge");
        assert_eq!(h.nodes[i].component().len(), 10);
    }
}
