//! Exact heartbeat outputs of a node: one round per node, heartbeats left out on busy links,
//! the max-quiet bound, and heartbeats at once when the neighbour list changes.

use alloc::vec::Vec;
use core::time::Duration;

use crate::wire::link::LinkPdu;
use crate::wire::{Frame, FrameHeader, Kind, Message, encode_frame};
use crate::{Config, Destination, Instant, LinkId, LinkReport, Node, NodeId, Output, Priority};

const ME: NodeId = NodeId(1);
/// Neighbour `n` is on link `n * 10`.
const PEERS: [u64; 3] = [2, 3, 4];

fn link_of(n: u64) -> LinkId {
    LinkId(n as u32 * 10)
}

/// A heartbeat from `from` to this node, listing this node (the peer confirmed the link).
fn heartbeat_from(from: u64, seq: u32) -> Vec<u8> {
    super::relay_tests::heartbeat_listing(from, seq, &[ME.0])
}

/// A game frame from `from` to this node (not a heartbeat: it keeps the link alive).
fn data_from(from: u64, seq: u32) -> Vec<u8> {
    let h = FrameHeader::new(Kind::GameData, Priority::Normal, 4, NodeId(from), Destination::Node(ME), seq);
    let mut frame = Vec::new();
    encode_frame(&mut frame, &h, &[b"move"]);
    let mut pdu = alloc::vec![0u8];
    pdu.extend_from_slice(&frame);
    pdu
}

/// One frame sent: its link, kind and, for a heartbeat, the neighbours it lists.
#[derive(Debug, PartialEq)]
struct Sent {
    link: LinkId,
    kind: Kind,
    listed: Vec<u64>,
}

/// Everything sent in one drain.
fn drain(node: &mut Node) -> (Vec<Sent>, Instant) {
    let mut sent = Vec::new();
    loop {
        match node.poll_output() {
            Output::Transmit(t) => {
                let LinkPdu::Whole(f) = LinkPdu::new_checked(t.bytes, 4096).unwrap() else { panic!("fragment") };
                let frame = Frame::new_checked(f, 4096).unwrap();
                let listed = match Message::parse(&frame).unwrap() {
                    Message::Heartbeat(_, list) => list.iter().map(|n| n.get()).collect(),
                    _ => Vec::new(),
                };
                sent.push(Sent { link: t.link, kind: frame.kind(), listed });
            }
            Output::Timeout(at) => return (sent, at),
            _ => {}
        }
    }
}

fn config() -> Config {
    let mut c = Config::new(ME, 5);
    c.link_arq = false;
    c
}

/// A node whose links to every peer are confirmed at time zero, drained.
fn confirmed_node(config: Config) -> Node {
    let mut n = Node::new(config, Instant::ZERO).unwrap();
    for p in PEERS {
        n.handle_link_up(Instant::ZERO, link_of(p), LinkReport::new(185)).unwrap();
        n.handle_receive(Instant::ZERO, link_of(p), &heartbeat_from(p, 1)).unwrap();
    }
    n.handle_timeout(Instant::ZERO).unwrap();
    drain(&mut n);
    n
}

const TICK: Duration = Duration::from_millis(100);

/// Runs the node from its last input to `end`, waking at its deadlines and every 100 ms
/// (when the peers' heartbeats arrive, every other tick, keeping the links alive, and
/// `traffic` may send). Returns every transmission with its time.
fn run(n: &mut Node, end: Instant, mut traffic: impl FnMut(&mut Node, Instant)) -> Vec<(Instant, Sent)> {
    let mut log = Vec::new();
    let mut seq = 2;
    let mut tick = n.now() + TICK;
    let (_, mut at) = drain(n);
    while at.min(tick) <= end {
        let now = at.min(tick);
        if now == tick {
            if seq % 2 == 0 {
                for p in PEERS {
                    if n.neighbours().any(|l| l.link == link_of(p)) {
                        n.handle_receive(now, link_of(p), &heartbeat_from(p, seq / 2 + 1)).unwrap();
                    }
                }
            }
            seq += 1;
            traffic(n, now);
            tick = now + TICK;
        }
        n.handle_timeout(now).unwrap();
        let (sent, next) = drain(n);
        log.extend(sent.into_iter().map(|s| (now, s)));
        at = next;
    }
    log
}

/// The instants at which heartbeats went out on `link`.
fn heartbeats_on(log: &[(Instant, Sent)], link: LinkId) -> Vec<Instant> {
    log.iter().filter(|(_, s)| s.link == link && s.kind == Kind::Heartbeat).map(|(t, _)| *t).collect()
}

/// Gaps between consecutive instants.
fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

const INTERVAL: Duration = Duration::from_millis(250);
const JITTER: Duration = Duration::from_millis(40);

/// Sends a game message to peer 2 (on its direct link) at every tick.
fn busy_link_20(n: &mut Node, now: Instant) {
    n.send(now, NodeId(2), b"move", crate::Qos::default()).unwrap();
}

#[test]
fn a_quiet_link_sends_one_heartbeat_per_interval() {
    let mut n = confirmed_node(config());
    let log = run(&mut n, Instant::from_secs(4), |_, _| {});
    for p in PEERS {
        let link = link_of(p);
        let beats = heartbeats_on(&log, link);
        let mut quiet_pairs = 0;
        for w in beats.windows(2) {
            let other = log.iter().any(|(t, s)| s.link == link && s.kind != Kind::Heartbeat && *t >= w[0] && *t < w[1]);
            let gap = w[1] - w[0];
            // Frames this node sends anyway (its advert, election heartbeats) may stand in for
            // one; then the next follows within two intervals.
            assert!(gap <= 2 * INTERVAL, "link {p}: {gap:?} between heartbeats at {:?}", w[0]);
            if !other {
                quiet_pairs += 1;
                assert!(gap > INTERVAL - JITTER && gap <= INTERVAL, "link {p}: {gap:?} on a quiet link at {:?}", w[0]);
            }
        }
        assert!(quiet_pairs >= 8, "link {p}: {quiet_pairs} quiet intervals in 4 s");
    }
}

#[test]
fn a_busy_link_sends_no_heartbeat_until_the_max_quiet_bound() {
    for max_quiet in [1u8, 2, 4] {
        let mut config = config();
        config.heartbeat_max_quiet = max_quiet;
        let mut n = confirmed_node(config);
        let log = run(&mut n, Instant::from_secs(6), busy_link_20);
        let busy = heartbeats_on(&log, link_of(2));
        let quiet = heartbeats_on(&log, link_of(3));
        let bound = INTERVAL * u32::from(max_quiet);
        // For max_quiet after the links confirmed (the neighbour list changed), every round
        // sends; from then on the busy link's heartbeats are left out.
        let settled: Vec<Instant> = busy.iter().copied().filter(|t| *t >= Instant::ZERO + bound).collect();
        for gap in gaps(&settled) {
            // Left out while the next round is within the bound, so sent at the last round
            // before it: within one round period (at most an interval) of the bound.
            assert!(gap <= bound && gap + INTERVAL > bound, "max_quiet {max_quiet}: {gap:?} between heartbeats: {busy:?}");
        }
        let expected = 6_000 / (250 * u32::from(max_quiet));
        assert!(busy.len() as u32 >= expected, "max_quiet {max_quiet}: {} heartbeats in 6 s", busy.len());
        if max_quiet == 1 {
            assert_eq!(busy, quiet, "every round serves the busy link too");
            assert_eq!(n.metrics().heartbeats_skipped, 0);
        } else {
            assert!(busy.len() < quiet.len(), "{busy:?} vs {quiet:?}");
            assert!(n.metrics().heartbeats_skipped >= (quiet.len() - busy.len()) as u64);
        }
    }
}

#[test]
fn a_nodes_heartbeats_go_out_in_one_round() {
    let mut n = confirmed_node(config());
    let log = run(&mut n, Instant::from_secs(4), |_, _| {});
    let mut instants: Vec<Instant> = log.iter().filter(|(_, s)| s.kind == Kind::Heartbeat).map(|(t, _)| *t).collect();
    let beats = instants.len();
    instants.dedup();
    // Floods go to every link, so a round serves all three links or none.
    assert_eq!(beats, 3 * instants.len(), "{log:?}");
    for gap in gaps(&instants) {
        assert!(gap > INTERVAL - JITTER && gap <= 2 * INTERVAL, "rounds {gap:?} apart");
    }
    // Three links, one wake-up per round: about four a second, not twelve.
    assert!(instants.len() <= 4 * 4, "{} heartbeat wake-ups in 4 s", instants.len());
    assert!(n.metrics().heartbeat_rounds >= instants.len() as u64);
}

#[test]
fn a_neighbour_list_change_sends_a_heartbeat_at_once() {
    let mut n = confirmed_node(config());
    let busy_all = |n: &mut Node, now: Instant| {
        for p in PEERS {
            n.send(now, NodeId(p), b"move", crate::Qos::default()).unwrap();
        }
    };
    run(&mut n, Instant::from_millis(2_000), busy_all);
    // A fourth neighbour confirms mid-interval: every link hears of it at once.
    let t = Instant::from_millis(2_030);
    n.handle_link_up(t, link_of(5), LinkReport::new(185)).unwrap();
    n.handle_receive(t, link_of(5), &heartbeat_from(5, 1)).unwrap();
    let (_, at) = drain(&mut n);
    assert_eq!(at, t, "the round is due at once");
    n.handle_timeout(t).unwrap();
    let (sent, _) = drain(&mut n);
    let mut links: Vec<LinkId> = sent.iter().filter(|s| s.kind == Kind::Heartbeat).map(|s| s.link).collect();
    links.sort();
    assert_eq!(links, [link_of(2), link_of(3), link_of(4), link_of(5)]);
    for s in sent.iter().filter(|s| s.kind == Kind::Heartbeat) {
        let mut listed = s.listed.clone();
        listed.sort();
        assert_eq!(listed, [2, 3, 4, 5], "on {:?}", s.link);
    }
    // A neighbour leaving does the same.
    let t = Instant::from_millis(2_100);
    n.handle_link_down(t, link_of(4)).unwrap();
    n.handle_timeout(t).unwrap();
    let (sent, _) = drain(&mut n);
    let beats: Vec<&Sent> = sent.iter().filter(|s| s.kind == Kind::Heartbeat).collect();
    assert_eq!(beats.len(), 3, "{sent:?}");
    assert!(beats.iter().all(|s| s.link != link_of(4) && s.listed.len() == 3 && !s.listed.contains(&4)));
    // Another change within a hello interval: the news waits for the next round (heartbeats
    // on a link stay at least a hello interval apart), which sends it on every link however
    // busy.
    let t = Instant::from_millis(2_120);
    n.handle_link_down(t, link_of(5)).unwrap();
    n.handle_timeout(t).unwrap();
    let (sent, mut at) = drain(&mut n);
    assert!(!sent.iter().any(|s| s.kind == Kind::Heartbeat), "{sent:?}");
    let beats = loop {
        assert!(at > t && at <= t + INTERVAL, "no round by {at:?}");
        n.handle_timeout(at).unwrap();
        let (sent, next) = drain(&mut n);
        let beats: Vec<Sent> = sent.into_iter().filter(|s| s.kind == Kind::Heartbeat).collect();
        if !beats.is_empty() {
            break beats;
        }
        at = next;
    };
    assert_eq!(beats.len(), 2, "{sent:?}");
    assert!(beats.iter().all(|s| s.listed.len() == 2 && !s.listed.contains(&5)), "{beats:?}");
}

#[test]
fn a_busy_neighbour_is_not_charged_for_silence() {
    let mut n = Node::new(config(), Instant::ZERO).unwrap();
    let l = link_of(2);
    n.handle_link_up(Instant::ZERO, l, LinkReport::new(185)).unwrap();
    n.handle_receive(Instant::ZERO, l, &heartbeat_from(2, 1)).unwrap();
    let rx = |n: &Node| n.neighbours().next().unwrap().estimator.rx_ratio();
    let start = rx(&n);
    // Data every 200 ms, a heartbeat only every second: no silence, nothing missed.
    let mut seq = 2;
    for ms in (200..=3_000).step_by(200) {
        let now = Instant::from_millis(ms);
        n.handle_receive(now, l, &data_from(2, ms as u32)).unwrap();
        if ms % 1_000 == 0 {
            n.handle_receive(now, l, &heartbeat_from(2, seq)).unwrap();
            seq += 1;
        }
        n.handle_timeout(now).unwrap();
        drain(&mut n);
    }
    assert!(rx(&n) >= start, "{} after {start}", rx(&n));
    // The neighbour's busy link falls quiet: its next heartbeat may take up to two intervals.
    // The first silent interval is not charged; the second is, until the heartbeat settles it.
    let fresh = n.neighbours().next().unwrap().estimator.clone();
    n.handle_timeout(Instant::from_millis(3_000) + INTERVAL * 3 / 2 + Duration::from_millis(10)).unwrap();
    let after_one = rx(&n);
    assert_eq!(after_one, fresh.rx_ratio(), "one silent interval: no charge");
    n.handle_timeout(Instant::from_millis(3_000) + INTERVAL * 5 / 2 + Duration::from_millis(10)).unwrap();
    assert!(rx(&n) < after_one, "the second silent interval is charged");
    n.handle_receive(Instant::from_millis(3_700), l, &heartbeat_from(2, seq)).unwrap();
    let mut reference = fresh;
    reference.on_heartbeat(seq);
    assert!((rx(&n) - reference.rx_ratio()).abs() < 1e-6, "a heartbeat that was only late gets its charge back");
    let events: Vec<_> = core::iter::from_fn(|| match n.poll_output() {
        Output::Timeout(_) => None,
        Output::Event(e) => Some(Some(e)),
        _ => Some(None),
    })
    .flatten()
    .collect();
    assert!(!events.iter().any(|e| matches!(e, crate::Event::NeighbourDegraded { .. })), "{events:?}");
}

