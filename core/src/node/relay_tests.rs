//! Exact links a flood relay goes to under neighbour-coverage pruning (`Node::run_relay`).
//!
//! This node (1) has four confirmed links, to 2, 3, 4 and 5; each neighbour's heartbeat
//! lists its own neighbours, which is all the two-hop knowledge the pruning uses.

use alloc::vec::Vec;
use core::time::Duration;

use zerocopy::IntoBytes;
use zerocopy::network_endian::{U16, U32, U64};

use crate::wire::link::LinkPdu;
use crate::wire::messages::Heartbeat;
use crate::wire::{Frame, FrameHeader, Kind, encode_frame, flags};
use crate::{Config, Destination, Instant, LinkId, LinkReport, MessageId, Node, NodeId, Output, Priority};

const ME: NodeId = NodeId(1);
const ORIGIN: NodeId = NodeId(9);
/// Neighbour `n` (2..=5) is on link `n * 10`.
const NEIGHBOURS: [u64; 4] = [2, 3, 4, 5];

fn link_of(n: u64) -> LinkId {
    LinkId(n as u32 * 10)
}

/// A whole-frame link PDU carrying a heartbeat from `from` to this node listing `neighbours`
/// (also used by `heartbeat_tests.rs`).
pub(super) fn heartbeat_listing(from: u64, seq: u32, neighbours: &[u64]) -> Vec<u8> {
    let list: Vec<U64> = neighbours.iter().map(|n| U64::new(*n)).collect();
    let body = Heartbeat {
        rx_quality: 255,
        battery: 80,
        connections: list.len() as u8,
        neighbour_count: list.len() as u8,
        tx_time: U32::new(1000),
        echo_time: U32::new(0),
        echo_delay: U32::new(0),
        capabilities: U16::new(0),
        reserved2: U16::new(0),
    };
    let h = FrameHeader::new(Kind::Heartbeat, Priority::Critical, 1, NodeId(from), Destination::Node(ME), seq);
    let mut frame = Vec::new();
    encode_frame(&mut frame, &h, &[body.as_bytes(), list.as_bytes()]);
    let mut pdu = alloc::vec![0u8];
    pdu.extend_from_slice(&frame);
    pdu
}

/// A game frame from [`ORIGIN`] to `dst` as a whole-frame link PDU.
fn game_frame(dst: Destination, ttl: u8, extra_flags: u8) -> Vec<u8> {
    let mut h = FrameHeader::new(Kind::GameData, Priority::Normal, ttl, ORIGIN, dst, 77);
    h.flags |= extra_flags;
    let mut frame = Vec::new();
    encode_frame(&mut frame, &h, &[b"move"]);
    let mut pdu = alloc::vec![0u8];
    pdu.extend_from_slice(&frame);
    pdu
}

const ID: MessageId = MessageId { origin: ORIGIN, seq: 77 };

/// A node whose links to 2..=5 are confirmed, neighbour `n` listing `lists[n - 2]`.
fn node_with(relay_suppression: u8, lists: [&[u64]; 4]) -> Node {
    let mut config = Config::new(ME, 5);
    config.relay_suppression = relay_suppression;
    config.relay_jitter = Duration::from_millis(20);
    let mut n = Node::new(config, Instant::ZERO).unwrap();
    for (peer, list) in NEIGHBOURS.iter().zip(lists) {
        n.handle_link_up(Instant::ZERO, link_of(*peer), LinkReport::new(185)).unwrap();
        n.handle_receive(Instant::ZERO, link_of(*peer), &heartbeat_listing(*peer, 1, list)).unwrap();
    }
    n.handle_timeout(Instant::ZERO).unwrap();
    relayed_to(&mut n);
    n
}

/// The links the game frame [`ID`] went out on during one drain, in order.
fn relayed_to(node: &mut Node) -> Vec<LinkId> {
    let mut links = Vec::new();
    loop {
        match node.poll_output() {
            Output::Transmit(t) => {
                let LinkPdu::Whole(f) = LinkPdu::new_checked(t.bytes, 4096).unwrap() else { panic!("fragment") };
                let f = Frame::new_checked(f, 4096).unwrap();
                if f.kind() == Kind::GameData && f.message_id() == ID {
                    assert_eq!(f.header().ttl, 15, "relayed with one hop less");
                    links.push(t.link);
                }
            }
            Output::Timeout(_) => return links,
            _ => {}
        }
    }
}

/// Receives `frame` on the first neighbour's link, then the copies in `copies` (neighbour,
/// TTL), all before the 20 ms jitter runs out; returns where the relay went.
fn relay(n: &mut Node, first: u64, frame: &[u8], copies: &[(u64, u8)]) -> Vec<LinkId> {
    let t = Instant::from_millis(100);
    n.handle_receive(t, link_of(first), frame).unwrap();
    for (peer, ttl) in copies {
        let copy = game_frame(Destination::Broadcast, *ttl, 0);
        n.handle_receive(t, link_of(*peer), &copy).unwrap();
    }
    assert!(relayed_to(n).is_empty(), "nothing relayed before the jitter ran out");
    n.handle_timeout(t + Duration::from_millis(20)).unwrap();
    relayed_to(n)
}

/// 2 lists 3, and 3 lists 2: the first copy's sender (2) sent it to 3, so only 4 and 5 get
/// the relay.
#[test]
fn the_first_senders_neighbours_are_pruned() {
    let mut n = node_with(1, [&[1, 3], &[1, 2], &[1], &[1]]);
    let to = relay(&mut n, 2, &game_frame(Destination::Broadcast, 16, 0), &[]);
    assert_eq!(to, [link_of(4), link_of(5)]);
    assert_eq!(n.metrics().relay_targets_pruned, 1);
    assert_eq!((n.metrics().relayed, n.metrics().relays_suppressed), (1, 0));
}

/// A second copy from 3 (which lists 5, listed back by 5) prunes 5 as well; 3 itself
/// delivered a copy, so it is no target either.
#[test]
fn every_covering_copy_heard_before_the_jitter_prunes() {
    let mut n = node_with(1, [&[1], &[1, 5], &[1], &[1, 3]]);
    let to = relay(&mut n, 2, &game_frame(Destination::Broadcast, 16, 0), &[(3, 16)]);
    assert_eq!(to, [link_of(4)]);
    assert_eq!(n.metrics().relay_targets_pruned, 1);
}

/// A copy that came with a lower TTL than the relay would carry covers nothing: the
/// neighbour passed it on with too little TTL left.
#[test]
fn a_copy_with_less_ttl_does_not_cover() {
    let mut n = node_with(1, [&[1], &[1, 5], &[1], &[1, 3]]);
    let to = relay(&mut n, 2, &game_frame(Destination::Broadcast, 16, 0), &[(3, 14)]);
    assert_eq!(to, [link_of(4), link_of(5)]);
    assert_eq!(n.metrics().relay_targets_pruned, 0);
}

/// Coverage needs both heartbeats: 2 lists 3 but 3 does not list 2 (3 may not accept
/// frames from 2), and 2 does not list 4 although 4 lists 2 (2 may not send there).
#[test]
fn one_sided_two_hop_knowledge_covers_nothing() {
    let mut n = node_with(1, [&[1, 3], &[1], &[1, 2], &[1]]);
    let to = relay(&mut n, 2, &game_frame(Destination::Broadcast, 16, 0), &[]);
    assert_eq!(to, [link_of(3), link_of(4), link_of(5)]);
}

/// `relay_suppression = 2` prunes a target only when two relayers cover it; 0 disables
/// pruning.
#[test]
fn the_threshold_counts_coverers() {
    let lists: [&[u64]; 4] = [&[1, 4, 5], &[1, 5], &[1, 2], &[1, 2, 3]];
    for (k, expected) in [(2, &[link_of(4)][..]), (1, &[][..]), (0, &[link_of(4), link_of(5)][..])] {
        let mut n = node_with(k, lists);
        let to = relay(&mut n, 2, &game_frame(Destination::Broadcast, 16, 0), &[(3, 16)]);
        assert_eq!(to, expected, "relay_suppression {k}");
        let suppressed = u64::from(expected.is_empty());
        assert_eq!(n.metrics().relays_suppressed, suppressed, "relay_suppression {k}");
    }
}

/// A unicast frame that falls back to flooding here may have come hop by hop from a
/// neighbour that sent it to us alone: no pruning. One flagged as flooded is pruned, and
/// one addressed to a direct neighbour goes only there.
#[test]
fn only_flood_copies_cover() {
    let lists: [&[u64]; 4] = [&[1, 3, 4], &[1, 2], &[1, 2], &[1]];
    let mut n = node_with(1, lists);
    let unknown = Destination::Node(NodeId(99));
    let to = relay(&mut n, 2, &game_frame(unknown, 16, 0), &[]);
    assert_eq!(to, [link_of(3), link_of(4), link_of(5)], "fallback: no coverage");
    let mut n = node_with(1, lists);
    let to = relay(&mut n, 2, &game_frame(unknown, 16, flags::FLOODED), &[]);
    assert_eq!(to, [link_of(5)], "flooded: 3 and 4 pruned");
    let mut n = node_with(1, lists);
    let to = relay(&mut n, 2, &game_frame(Destination::Node(NodeId(5)), 16, flags::FLOODED), &[]);
    assert_eq!(to, [link_of(5)], "to a direct neighbour: only its link");
    let mut n = node_with(1, lists);
    let to = relay(&mut n, 2, &game_frame(Destination::Node(NodeId(4)), 16, flags::FLOODED), &[]);
    assert!(to.is_empty(), "the direct neighbour is covered by the first sender");
    assert_eq!(n.metrics().relays_suppressed, 1);
}

/// A neighbour whose heartbeat added a node after our copy arrived may have sent its copy
/// before confirming that node: it covers nothing for this relay. A heartbeat repeating the
/// same list changes nothing.
#[test]
fn a_list_that_grew_after_the_copy_covers_nothing() {
    for (late_list, expected) in [(&[1u64, 3][..], &[link_of(4), link_of(5)][..]), (&[1, 3, 4][..], &[link_of(3), link_of(4), link_of(5)][..])] {
        let mut n = node_with(1, [&[1, 3], &[1, 2], &[1, 2], &[1]]);
        let t = Instant::from_millis(100);
        n.handle_receive(t, link_of(2), &game_frame(Destination::Broadcast, 16, 0)).unwrap();
        n.handle_receive(t + Duration::from_millis(5), link_of(2), &heartbeat_listing(2, 2, late_list)).unwrap();
        n.handle_timeout(t + Duration::from_millis(20)).unwrap();
        assert_eq!(relayed_to(&mut n), expected, "late list {late_list:?}");
    }
}
