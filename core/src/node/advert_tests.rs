//! When a node floods its topology advert: on a change, on a refresh, when nodes join its
//! view — not every check interval.

use alloc::vec::Vec;
use core::time::Duration;

use super::tests::heartbeat_from_peer;
use crate::wire::link::LinkPdu;
use crate::wire::{Frame, Kind};
use crate::{Config, Instant, LinkId, LinkReport, Node, NodeId, Output};

const ME: NodeId = NodeId(1);
const L: LinkId = LinkId(7);

/// Runs a node with one neighbour (heartbeats every 250 ms, no link acknowledgements) until
/// `until`, calling `poke` before each heartbeat; returns the node and when it flooded each
/// frame of `kind` (ms; link ARQ retransmissions are not new floods). Shared with
/// `announce_tests.rs`.
pub(super) fn flood_times(
    config: Config,
    until: Duration,
    kind: Kind,
    mut poke: impl FnMut(&mut Node, Instant),
) -> (Node, Vec<u64>) {
    let mut n = Node::new(config, Instant::ZERO).unwrap();
    n.handle_link_up(Instant::ZERO, L, LinkReport::new(185)).unwrap();
    let mut sent = Vec::new();
    let mut seqs = Vec::new();
    let mut seq = 1;
    let mut t = Instant::ZERO;
    while t < Instant::ZERO + until {
        poke(&mut n, t);
        n.handle_receive(t, L, &heartbeat_from_peer(ME, seq)).unwrap();
        seq += 1;
        let next = t + Duration::from_millis(250);
        loop {
            n.handle_timeout(t).unwrap();
            let at;
            loop {
                match n.poll_output() {
                    Output::Transmit(tx) => {
                        let LinkPdu::Whole(f) = LinkPdu::new_checked(tx.bytes, 4096).unwrap() else { continue };
                        let f = Frame::new_checked(f, 4096).unwrap();
                        if f.kind() == kind && !seqs.contains(&f.message_id().seq) {
                            seqs.push(f.message_id().seq);
                            sent.push(t.as_micros() / 1000);
                        }
                    }
                    Output::Timeout(d) => {
                        at = d;
                        break;
                    }
                    _ => {}
                }
            }
            if at >= next {
                break;
            }
            t = at.max(t);
        }
        t = next;
    }
    (n, sent)
}

/// When [`flood_times`] saw the node flood its topology advert.
fn advert_times(config: Config, until: Duration) -> Vec<u64> {
    flood_times(config, until, Kind::TopologyUpdate, |_, _| {}).1
}

/// With the link and its metrics steady, the advert goes out when the link is confirmed and
/// then once per `advert_refresh` (30 s), not at each 5 s check.
#[test]
fn an_unchanged_advert_is_flooded_only_on_refresh() {
    // The peer never acknowledges: without link ARQ, so that unanswered retransmissions do
    // not move the link's metric (and with it the advert's content).
    let config = Config { link_arq: false, ..Config::new(ME, 5) };
    let times = advert_times(config, Duration::from_secs(95));
    assert_eq!(times.first(), Some(&100), "once the link is confirmed (advert_min_gap)");
    let later: Vec<u64> = times.iter().copied().filter(|t| *t >= 10_000).collect();
    assert!(!later.is_empty());
    for pair in later.windows(2) {
        assert_eq!(pair[1] - pair[0], 30_000, "refreshes 30 s apart: {times:?}");
    }
    assert!(times.len() <= 6, "no flood per check: {times:?}");
}

/// A shorter refresh is honoured, and the old behaviour (refresh = check interval) floods at
/// every check.
#[test]
fn the_refresh_interval_is_configurable() {
    let mut c = Config::new(ME, 5);
    c.advert_refresh = Duration::from_secs(5);
    c.advert_max_age = Duration::from_secs(16);
    let times = advert_times(c, Duration::from_secs(41));
    let later: Vec<u64> = times.iter().copied().filter(|t| *t >= 10_000).collect();
    assert_eq!(later.len(), 7, "{times:?}");
    for pair in later.windows(2) {
        assert_eq!(pair[1] - pair[0], 5_000, "{times:?}");
    }
}
