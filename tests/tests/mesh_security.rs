//! Secured meshes under attack, in the harness: outsiders, replays, forgeries, black holes.

use std::time::Duration;

use blemesh_core::security::{NetworkKey, SecurityDrop};
use blemesh_core::wire::messages::{LinkEntry, TopologyHeader};
use blemesh_core::wire::{FrameHeader, Kind, encode_frame};
use blemesh_core::{Destination, Event, Instant, NodeId, Priority, Qos};
use blemesh_tests::secure::{MESH_KEY, identity, secure_node};
use blemesh_tests::{Harness, HarnessConfig, Topology, random_connected};
use zerocopy::IntoBytes;
use zerocopy::network_endian::{I16, U16, U32, U64};

fn secure_mesh(topo: Topology, cfg: HarnessConfig) -> Harness {
    Harness::with_nodes(topo, cfg, |i, seed, now| secure_node(i, seed, now, &MESH_KEY))
}

fn copies(h: &Harness, payload: &[u8]) -> Vec<usize> {
    h.received.iter().map(|r| r.iter().filter(|m| m.payload == payload).count()).collect()
}

#[test]
fn a_secured_mesh_floods_routes_and_encrypts() {
    let topo = random_connected(12, 6, 7, 21);
    let mut h = secure_mesh(topo.clone(), HarnessConfig { seed: 21, ..Default::default() });
    h.record_transmissions = true;
    h.run_until(Instant::from_secs(3));
    for i in 0..12 {
        assert_eq!(h.confirmed_neighbours(i), topo.neighbours(i), "node {i}");
    }
    h.send(0, None, b"open to all", Qos::default()).unwrap();
    h.send(0, Some(11), b"secret-move-e2e4", Qos::reliable(Priority::Critical)).unwrap();
    h.run_for(Duration::from_secs(2));
    let mut want = vec![1; 12];
    want[0] = 0;
    assert_eq!(copies(&h, b"open to all"), want);
    assert_eq!(copies(&h, b"secret-move-e2e4")[11], 1);
    assert!(h.events[0].iter().any(|(_, e)| matches!(e, Event::Delivered { .. })));
    // The unicast payload never crossed a link in clear.
    let leaked = h.transmitted.iter().flatten().any(|(_, _, b)| b.windows(16).any(|w| w == b"secret-move-e2e4"));
    assert!(!leaked, "the encrypted payload appeared on a link");
    for n in &h.nodes {
        assert_eq!(n.metrics().security.total(), 0, "honest traffic is never rejected");
    }
}

#[test]
fn frames_from_outside_the_mesh_are_never_accepted() {
    // Nodes 0..8 share the mesh key; node 8 has another key and links to 0, 1 and 2.
    let mut edges = random_connected(8, 4, 6, 3).edges;
    edges.extend([(0, 8), (1, 8), (2, 8)]);
    let outsider_key = [0x13; 32];
    let mut h = Harness::with_nodes(Topology::new(9, edges), HarnessConfig { seed: 3, ..Default::default() }, |i, seed, now| {
        secure_node(i, seed, now, if i == 8 { &outsider_key } else { &MESH_KEY })
    });
    h.run_until(Instant::from_secs(3));
    let outsider = h.id(8);
    for i in 0..8 {
        assert!(!h.confirmed_neighbours(i).contains(&8), "node {i} confirmed the outsider");
        assert!(h.events[i].iter().all(|(_, e)| !matches!(e, Event::NeighbourUp { node, .. } if *node == outsider)));
    }
    // The outsider crafts game data under its own key and pushes it at its links.
    let header = FrameHeader::new(Kind::GameData, Priority::High, 8, outsider, Destination::Broadcast, 99);
    let mut frame = Vec::new();
    encode_frame(&mut frame, &header, &[b"let me in"]);
    blemesh_core::security::seal_in_place(&mut frame, blemesh_core::security::TrailerLayout::Tag, &NetworkKey::new(&outsider_key), None)
        .unwrap();
    let pdu: Vec<u8> = [&[0u8][..], &frame].concat();
    for target in [0, 1, 2] {
        h.inject(target, 8, &pdu);
    }
    h.run_for(Duration::from_secs(1));
    assert!(h.received.iter().take(8).all(|r| r.iter().all(|m| m.origin != outsider)), "0 frames accepted");
    let bad_tags: u64 = (0..3).map(|i| h.nodes[i].metrics().security.get(SecurityDrop::BadTag)).sum();
    assert!(bad_tags >= 3, "{bad_tags} frames dropped for their tag");
}

#[test]
fn replayed_frames_are_rejected_even_long_after() {
    let mut h = secure_mesh(Topology::line(3), HarnessConfig::default());
    h.run_until(Instant::from_secs(3));
    h.record_transmissions = true;
    h.send(0, None, b"once only", Qos::default()).unwrap();
    h.run_for(Duration::from_secs(1));
    assert_eq!(copies(&h, b"once only"), vec![0, 1, 1]);
    let captured: Vec<Vec<u8>> = h.transmitted[0].iter().filter(|(_, l, _)| l.0 == 1).map(|(_, _, b)| b.clone()).collect();
    // Well past the 30 s after which an unsecured node would give a silent origin a fresh window.
    h.run_for(Duration::from_secs(45));
    for bytes in &captured {
        h.inject(1, 0, bytes);
    }
    h.run_for(Duration::from_secs(1));
    assert_eq!(copies(&h, b"once only"), vec![0, 1, 1], "0 replays accepted");
}

/// A frame whose origin is `victim`, signed with the attacker's key and tagged with the mesh
/// key (which an insider has): only the signature can expose it.
fn forged_advert(victim: NodeId, fake_neighbour: NodeId, attacker_seed: u64, attacker_index: usize) -> Vec<u8> {
    let head = TopologyHeader { advert_version: U32::new(1_000_000), entry_count: 1, reserved: [0; 3] };
    let entry = LinkEntry {
        neighbour: U64::new(fake_neighbour.0),
        latency_ms: U16::new(1),
        reliability: 255,
        congestion: 0,
        bandwidth_kbps: U16::new(1000),
        rssi: I16::new(-40),
    };
    let mut header = FrameHeader::new(Kind::TopologyUpdate, Priority::High, 16, victim, Destination::Broadcast, 0x7fff_0000);
    header.auth_len = 80;
    let mut frame = Vec::new();
    encode_frame(&mut frame, &header, &[head.as_bytes(), entry.as_bytes()]);
    let signature = identity(attacker_index, attacker_seed).sign(&frame);
    let mut canonical = frame[..28].to_vec();
    canonical[3] = 0;
    canonical[4] = 0;
    let tag = NetworkKey::new(&MESH_KEY).tag(&[&canonical, &frame[28..], &signature]);
    frame.extend_from_slice(&signature);
    frame.extend_from_slice(&tag);
    [&[0u8][..], &frame].concat()
}

#[test]
fn forged_adverts_are_rejected_and_the_forger_loses_trust() {
    let topo = Topology::line(4);
    let mut h = secure_mesh(topo, HarnessConfig { seed: 8, ..Default::default() });
    h.run_until(Instant::from_secs(3));
    let (attacker, victim) = (h.id(1), h.id(3));
    let trust_before = h.nodes[0].trust(attacker).unwrap();
    // Node 1 forges adverts of node 3 claiming a direct link between 3 and 1, and pushes them
    // at node 0. It holds the mesh key, but signs with a key that is not the victim's.
    for _ in 0..3 {
        let pdu = forged_advert(victim, attacker, 999, 77);
        h.inject(0, 1, &pdu);
    }
    h.run_for(Duration::from_secs(1));
    let m = h.nodes[0].metrics();
    assert_eq!(m.security.get(SecurityDrop::BadSignature), 3, "all 3 forgeries refused");
    let advert = h.nodes[0].router().lsdb().advert(victim).map(|a| a.version);
    assert_ne!(advert, Some(1_000_000), "0 forged adverts accepted");
    assert!(h.nodes[0].router().graph().edge_between(victim, attacker).is_none());
    let trust_after = h.nodes[0].trust(attacker).unwrap();
    // Three proven forgeries at -0.25 each: from neutral to below the 0.25 threshold.
    assert!(trust_after < 0.25 && trust_after < trust_before, "trust {trust_before} -> {trust_after}");
}

/// A copy of a frame a node already accepted is dropped as a duplicate before its Ed25519
/// signature is checked (the costly part of receiving), so an insider's copy with a broken
/// signature counts as a duplicate, not a forgery; an outsider's copy still fails its tag.
#[test]
fn copies_of_accepted_frames_are_not_verified_again_but_still_need_the_tag() {
    let mut h = secure_mesh(Topology::line(3), HarnessConfig { seed: 5, ..Default::default() });
    h.record_transmissions = true;
    h.run_until(Instant::from_secs(3));
    // The last advert node 2 wrote to node 1 (a whole frame: control byte, then the frame).
    let advert = h.transmitted[2]
        .iter()
        .rev()
        .map(|(_, l, b)| (l, b))
        .find(|(l, b)| l.0 == 1 && b[0] == 0 && b[1 + 1] == Kind::TopologyUpdate as u8)
        .map(|(_, b)| b[1..].to_vec())
        .expect("node 2 advertised to node 1");
    let (header, body_end) = (&advert[..28], advert.len() - 80);
    let mut canonical = header.to_vec();
    canonical[3] = 0;
    canonical[4] = 0;
    let reseal = |key: &[u8; 32]| {
        let mut signature = advert[body_end..body_end + 64].to_vec();
        signature[0] ^= 0x01;
        let tag = NetworkKey::new(key).tag(&[&canonical, &advert[28..body_end], &signature]);
        [&[0u8][..], &advert[..body_end], &signature, &tag].concat()
    };
    let before = h.nodes[1].metrics().clone();
    h.inject(1, 2, &reseal(&MESH_KEY));
    let after = h.nodes[1].metrics().clone();
    assert_eq!(after.security.get(SecurityDrop::BadSignature), before.security.get(SecurityDrop::BadSignature));
    assert_eq!(after.drops.get(blemesh_core::DropReason::Duplicate), before.drops.get(blemesh_core::DropReason::Duplicate) + 1);
    h.inject(1, 2, &reseal(&[0x13; 32]));
    let outsider = h.nodes[1].metrics().clone();
    assert_eq!(outsider.security.get(SecurityDrop::BadTag), after.security.get(SecurityDrop::BadTag) + 1);
    assert_eq!(outsider.drops.get(blemesh_core::DropReason::Duplicate), after.drops.get(blemesh_core::DropReason::Duplicate));
    // The same broken signature on a frame not seen before is a forgery.
    let mut fresh = advert.clone();
    fresh[24..28].copy_from_slice(&(u32::from_be_bytes(advert[24..28].try_into().unwrap()) + 7).to_be_bytes());
    let mut canonical = fresh[..28].to_vec();
    canonical[3] = 0;
    canonical[4] = 0;
    let mut signature = advert[body_end..body_end + 64].to_vec();
    signature[0] ^= 0x01;
    let tag = NetworkKey::new(&MESH_KEY).tag(&[&canonical, &fresh[28..body_end], &signature]);
    h.inject(1, 2, &[&[0u8][..], &fresh[..body_end], &signature, &tag].concat());
    let forged = h.nodes[1].metrics().security.get(SecurityDrop::BadSignature);
    assert_eq!(forged, after.security.get(SecurityDrop::BadSignature) + 1);
}

#[test]
fn critical_delivery_survives_a_third_of_relays_dropping_traffic() {
    let mut total = 0;
    let mut delivered = 0;
    for seed in [31u64, 32, 33] {
        let topo = random_connected(18, 16, 7, seed);
        // A third of the nodes become black holes, chosen so the honest graph stays connected.
        let mut holes = Vec::new();
        let mut k = seed as usize;
        while holes.len() < 6 {
            k = (k * 13 + 5) % 18;
            if holes.contains(&k) {
                continue;
            }
            let mut trial = holes.clone();
            trial.push(k);
            let honest = Topology::new(18, topo.edges.iter().copied().filter(|(a, b)| !trial.contains(a) && !trial.contains(b)));
            let reach = honest.distances((0..18).find(|i| !trial.contains(i)).unwrap());
            if (0..18).filter(|i| !trial.contains(i)).all(|i| reach[i].is_some()) {
                holes = trial;
            } else {
                k += 1;
            }
        }
        let mut h = secure_mesh(topo, HarnessConfig { seed, ..Default::default() });
        h.run_until(Instant::from_secs(4));
        for &b in &holes {
            h.black_holes[b] = true;
        }
        let honest: Vec<usize> = (0..18).filter(|i| !holes.contains(i)).collect();
        for m in 0..40usize {
            let src = honest[m % honest.len()];
            let dst = honest[(m * 7 + 3) % honest.len()];
            if src == dst {
                continue;
            }
            total += 1;
            h.send(src, Some(dst), &[b'c', m as u8, seed as u8], Qos::reliable(Priority::Critical)).unwrap();
            h.run_for(Duration::from_millis(100));
        }
        h.run_for(Duration::from_secs(10));
        for m in 0..40usize {
            let dst = honest[(m * 7 + 3) % honest.len()];
            if honest[m % honest.len()] != dst && copies(&h, &[b'c', m as u8, seed as u8])[dst] == 1 {
                delivered += 1;
            }
        }
    }
    let ratio = delivered as f64 / total as f64;
    assert!(ratio >= 0.99, "critical delivery {delivered}/{total} = {ratio:.3} with a third of relays black holes");
}

/// A frame from `voter` (its own identity: frame and ballot validly signed) carrying an
/// election `message`, whose ballot signature is over `ballot` (normally the message's
/// signing bytes).
fn election_frame(
    voter: &blemesh_core::security::Identity,
    seq: u32,
    message: &blemesh_core::election::ElectionMessage,
    ballot: &[u8],
) -> Vec<u8> {
    let header = FrameHeader::new(Kind::Election, Priority::Critical, 16, voter.node_id(), Destination::Broadcast, seq);
    let mut frame = Vec::new();
    encode_frame(&mut frame, &header, &[&message.to_bytes(), &voter.sign(ballot)]);
    let layout = blemesh_core::security::TrailerLayout::Signed;
    blemesh_core::security::seal_in_place(&mut frame, layout, &NetworkKey::new(&MESH_KEY), Some(voter)).unwrap();
    [&[0u8][..], &frame].concat()
}

/// A secured ring of 4 that elected a coordinator, with the seeds of its nodes' identities.
fn elected_ring() -> (Harness, Vec<u64>) {
    let seeds = std::cell::RefCell::new(Vec::new());
    let topo = Topology::new(4, [(0, 1), (1, 2), (2, 3), (3, 0)]);
    let mut h = Harness::with_nodes(topo, HarnessConfig { seed: 17, ..Default::default() }, |i, seed, now| {
        seeds.borrow_mut().push(seed);
        secure_node(i, seed, now, &MESH_KEY)
    });
    h.run_until(Instant::from_secs(4));
    assert!(h.nodes[0].coordinator().is_some(), "the ring elected a coordinator");
    (h, seeds.into_inner())
}

#[test]
fn forged_ballots_are_refused_and_counted() {
    let (mut h, seeds) = elected_ring();
    let voter = identity(1, seeds[1]);
    let (term, coordinator) = h.nodes[0].coordinator().unwrap();
    let vote = blemesh_core::election::ElectionMessage {
        kind: blemesh_core::election::ElectionKind::Vote { pre_vote: false, denied: None },
        mode: blemesh_core::election::ElectionMode::PerPartition,
        term,
        candidate: coordinator,
        priority_milli: 1,
        // Any view: a ballot is a ballot of its term whatever view it names.
        view: blemesh_core::election::ViewDigest(0),
    };
    let before = h.nodes[0].metrics().security.get(SecurityDrop::BadSignature);
    // A valid frame from node 1 whose ballot signature covers other bytes.
    h.inject(0, 1, &election_frame(&voter, 0x7000_0000, &vote, b"not the ballot"));
    h.run_for(Duration::from_millis(100));
    assert_eq!(h.nodes[0].metrics().security.get(SecurityDrop::BadSignature), before + 1);
    assert!(h.events[0].iter().all(|(_, e)| !matches!(e, Event::DoubleVote { .. })));
}

#[test]
fn a_double_vote_is_detected_and_costs_the_voter_trust() {
    let (mut h, seeds) = elected_ring();
    let voter = identity(1, seeds[1]);
    let (term, _) = h.nodes[0].coordinator().unwrap();
    let trust_before = h.nodes[0].trust(voter.node_id()).unwrap();
    for (seq, candidate) in (0x7000_0000..).zip([h.id(2), h.id(3)]) {
        let vote = blemesh_core::election::ElectionMessage {
            kind: blemesh_core::election::ElectionKind::Vote { pre_vote: false, denied: None },
            mode: blemesh_core::election::ElectionMode::PerPartition,
            term,
            candidate,
            priority_milli: 1,
            view: blemesh_core::election::ViewDigest(0),
        };
        let ballot = vote.signing_bytes(voter.node_id());
        h.inject(0, 1, &election_frame(&voter, seq, &vote, &ballot));
    }
    h.run_for(Duration::from_millis(100));
    let caught = h.events[0].iter().any(|(_, e)| matches!(e, Event::DoubleVote { voter: v, term: t } if *v == voter.node_id() && *t == term));
    assert!(caught, "node 0 reported the double vote: {:?}", h.events[0].iter().rev().take(5).collect::<Vec<_>>());
    let trust_after = h.nodes[0].trust(voter.node_id()).unwrap();
    assert!(trust_after < trust_before - 0.4, "trust {trust_before} -> {trust_after}");
}
