//! When a node floods its announcement: on its first link, on a material change, and
//! otherwise on a jittered refresh — and that any flooded frame keeps a node alive in the
//! registry.

use alloc::vec::Vec;
use core::time::Duration;

use super::tests::{heartbeat_from, heartbeat_from_peer};
use zerocopy::IntoBytes;
use zerocopy::network_endian::{I16, U16, U32, U64};

use crate::wire::link::LinkPdu;
use crate::wire::messages::{LinkEntry, TopologyHeader};
use crate::wire::{Frame, FrameHeader, Kind, encode_frame};
use crate::{Config, Destination, Instant, LinkId, LinkReport, Node, NodeId, NodeStatus, Output, Priority};

const ME: NodeId = NodeId(1);
const L: LinkId = LinkId(7);

/// When the node flooded its announcement (see [`super::advert_tests::flood_times`]), checked
/// against its `announcements_sent` counter.
fn announce_times(config: Config, until: Duration, poke: impl FnMut(&mut Node, Instant)) -> Vec<u64> {
    let (n, sent) = super::advert_tests::flood_times(config, until, Kind::Announcement, poke);
    assert_eq!(n.metrics().announcements_sent, sent.len() as u64);
    sent
}

/// The first announcement goes out when the link is confirmed; the refreshes follow every
/// `announce_interval` less a random part of up to a tenth of it, differently per seed.
#[test]
fn refreshes_are_jittered_within_a_tenth_of_the_interval() {
    let mut gaps_by_seed = Vec::new();
    for seed in [5, 6] {
        let times = announce_times(Config::new(ME, seed), Duration::from_secs(600), |_, _| {});
        assert_eq!(times.first(), Some(&0), "at once on the first confirmed link: {times:?}");
        let gaps: Vec<u64> = times.windows(2).map(|p| p[1] - p[0]).collect();
        assert!(gaps.len() >= 9, "one refresh per minute or a little sooner: {times:?}");
        for g in &gaps {
            // Timers are served at 250 ms granularity here (the heartbeat loop).
            assert!((54_000..=60_250).contains(g), "gap {g} ms: {times:?}");
        }
        assert!(gaps.iter().any(|g| *g != gaps[0]), "jittered, not periodic: {gaps:?}");
        gaps_by_seed.push(gaps);
    }
    assert_ne!(gaps_by_seed[0], gaps_by_seed[1], "seeded: nodes do not move in step");
}

/// A battery change of 5 points or more (or to unknown) is announced within a second; a
/// smaller drift waits for the refresh; uptime alone never triggers one.
#[test]
fn a_material_change_is_announced_at_once_and_drift_is_not() {
    let times = announce_times(Config::new(ME, 5), Duration::from_secs(50), |n, t| {
        let level = match t.as_micros() / 1000 {
            0 => Some(80),
            10_000 => Some(77),
            20_000 => Some(75),
            30_000 => None,
            _ => return,
        };
        n.set_battery(level);
    });
    // 0 s: the first link; 77 is 3 points from 80 (no flood); 75 is 5 (flood); unknown (flood).
    assert_eq!(times, [0, 20_000, 30_000], "{times:?}");

    // Two changes within a second: the second waits out the minimum gap.
    let times = announce_times(Config::new(ME, 5), Duration::from_secs(5), |n, t| {
        if t == Instant::from_millis(500) {
            n.set_battery(Some(50));
        }
    });
    assert_eq!(times, [0, 1000], "the battery became known at 0.5 s, announced 1 s after the first");
}

/// Any flooded frame a node originated proves it alive, not only its announcements: a far
/// node heard only through its topology adverts and game messages stays active, and goes
/// suspect and gone `node_gone_after / 2` and `node_gone_after` (90 s) after the last.
#[test]
fn registry_liveness_follows_any_flooded_frame() {
    let mut n = Node::new(Config::new(ME, 5), Instant::ZERO).unwrap();
    n.handle_link_up(Instant::ZERO, L, LinkReport::new(185)).unwrap();
    n.handle_receive(Instant::ZERO, L, &heartbeat_from_peer(ME, 1)).unwrap();
    let far = NodeId(9);
    let advert = |seq: u32| {
        let head = TopologyHeader { advert_version: U32::new(seq), entry_count: 0, reserved: [0; 3] };
        flooded(Kind::TopologyUpdate, far, seq, head.as_bytes())
    };
    let at = Instant::from_secs;
    n.handle_receive(at(10), L, &advert(1)).unwrap();
    n.handle_receive(at(40), L, &advert(2)).unwrap();
    n.handle_receive(at(70), L, &flooded(Kind::GameData, far, 3, b"move")).unwrap();
    assert_eq!(n.metrics().frames_accepted, 3);
    let info = n.registry().get(far).expect("heard of through its adverts");
    assert_eq!((info.first_seen, info.last_seen), (at(10), at(70)));
    assert_eq!(info.processing_power, 0, "its announcement was never heard");
    assert_eq!(n.registry().status(far, at(114)), Some(NodeStatus::Active));
    assert_eq!(n.registry().status(far, at(115)), Some(NodeStatus::Suspect));
    assert_eq!(n.registry().status(far, at(160)), Some(NodeStatus::Gone));
}

/// A whole-frame link PDU carrying a broadcast of `kind` from `origin`.
fn flooded(kind: Kind, origin: NodeId, seq: u32, body: &[u8]) -> Vec<u8> {
    let h = FrameHeader::new(kind, Priority::High, 8, origin, Destination::Broadcast, seq);
    let mut frame = Vec::new();
    encode_frame(&mut frame, &h, &[body]);
    let mut pdu = alloc::vec![0u8];
    pdu.extend_from_slice(&frame);
    pdu
}

/// A new link announces this node only when it reaches nodes outside its component: a
/// neighbour already reachable through the mesh has heard the announcement.
#[test]
fn a_new_link_inside_the_component_is_not_announced() {
    let mut n = Node::new(Config::new(ME, 5), Instant::ZERO).unwrap();
    let mut seen = Vec::new();
    let mut links: Vec<(LinkId, NodeId)> = alloc::vec![(L, NodeId(2))];
    n.handle_link_up(Instant::ZERO, L, LinkReport::new(185)).unwrap();
    let mut seq = 0;
    // Steps to `until` in 50 ms ticks, heartbeats from every neighbour every 250 ms; returns
    // when each new announcement went out (ms).
    let mut run = |n: &mut Node, links: &[(LinkId, NodeId)], from: u64, until: u64| {
        let mut sent = Vec::new();
        for ms in (from..until).step_by(50) {
            let t = Instant::from_millis(ms);
            if ms % 250 == 0 {
                seq += 1;
                for (link, peer) in links {
                    n.handle_receive(t, *link, &heartbeat_from(*peer, ME, seq)).unwrap();
                }
            }
            n.handle_timeout(t).unwrap();
            if drain_announcements(n, &mut seen) {
                sent.push(ms);
            }
        }
        sent
    };
    assert_eq!(run(&mut n, &links, 0, 300), [0], "the first link");
    // Node 2 links this node and node 3; node 3 links node 2: node 3 is in this component.
    n.handle_receive(Instant::from_millis(300), L, &advert(NodeId(2), 1, &[ME, NodeId(3)])).unwrap();
    n.handle_receive(Instant::from_millis(300), L, &advert(NodeId(3), 1, &[NodeId(2)])).unwrap();
    assert!(run(&mut n, &links, 300, 2000).is_empty());
    assert_eq!(n.component(), [ME, NodeId(2), NodeId(3)]);

    n.handle_link_up(Instant::from_millis(2000), LinkId(8), LinkReport::new(185)).unwrap();
    links.push((LinkId(8), NodeId(3)));
    assert!(run(&mut n, &links, 2000, 4000).is_empty(), "node 3 was reachable already");
    assert_eq!(n.metrics().neighbours_up, 2);

    n.handle_link_up(Instant::from_millis(4000), LinkId(9), LinkReport::new(185)).unwrap();
    links.push((LinkId(9), NodeId(4)));
    assert_eq!(run(&mut n, &links, 4000, 6000), [4000], "node 4 was not");
}

/// Drains the node; whether a new announcement (a sequence number not in `seen`) went out.
fn drain_announcements(n: &mut Node, seen: &mut Vec<u32>) -> bool {
    let mut found = false;
    loop {
        match n.poll_output() {
            Output::Transmit(tx) => {
                let LinkPdu::Whole(f) = LinkPdu::new_checked(tx.bytes, 4096).unwrap() else { continue };
                let f = Frame::new_checked(f, 4096).unwrap();
                let seq = f.message_id().seq;
                if f.kind() == Kind::Announcement && !seen.contains(&seq) {
                    seen.push(seq);
                    found = true;
                }
            }
            Output::Timeout(_) => return found,
            _ => {}
        }
    }
}

/// A topology advert of `origin` listing links to `neighbours`, as a whole-frame link PDU.
fn advert(origin: NodeId, version: u32, neighbours: &[NodeId]) -> Vec<u8> {
    let head = TopologyHeader { advert_version: U32::new(version), entry_count: neighbours.len() as u8, reserved: [0; 3] };
    let entries: Vec<LinkEntry> = neighbours
        .iter()
        .map(|nb| LinkEntry {
            neighbour: U64::new(nb.0),
            latency_ms: U16::new(10),
            reliability: 255,
            congestion: 0,
            bandwidth_kbps: U16::new(500),
            rssi: I16::new(-60),
        })
        .collect();
    let mut body = head.as_bytes().to_vec();
    body.extend_from_slice(entries.as_bytes());
    flooded(Kind::TopologyUpdate, origin, version, &body)
}
