//! A counting allocator proves the hot paths allocate nothing in steady state: decoding,
//! duplicate checks, relaying, link acknowledgements, retransmission bookkeeping and
//! draining outputs, for a flood relayed through the middle of a three-node line, a routed
//! unicast forwarded there, and unicast sent on a QoS flow; and, for a game session played
//! by the two ends, the middle node's relaying of the sequenced entries (it does not hold the
//! session).
//!
//! Only allocations made on this test's thread inside `blemesh_tests::alloc::count` are
//! counted, so the test framework's other threads do not interfere.

use std::collections::VecDeque;
use std::time::Duration;

use blemesh_core::flow::FlowState;
use blemesh_core::routing::QosConstraints;
use blemesh_core::session::SessionId;
use blemesh_core::{Config, Instant, LinkId, LinkReport, Node, NodeId, Output, Priority, Qos};

#[global_allocator]
static GLOBAL: blemesh_tests::alloc::Counting = blemesh_tests::alloc::Counting;

/// A line 0 - 1 - 2 with zero-latency links, driven without allocating in the driver itself:
/// PDUs in flight live in recycled buffers.
struct Line {
    nodes: Vec<Node>,
    deadlines: Vec<Instant>,
    in_flight: VecDeque<(usize, LinkId, Vec<u8>)>,
    spare: Vec<Vec<u8>>,
    delivered: Vec<u64>,
    /// Entries handed out by `Output::Sequenced`, per node.
    sequenced: Vec<u64>,
    /// Allocations made by each node's calls (`handle_*`, `poll_output`) while counted.
    allocations: Vec<u64>,
    /// Which nodes' calls are counted (see [`Line::call`]).
    counted: [bool; 3],
}

impl Line {
    fn new(seed: u64) -> Self {
        Line::with(seed, |_, _| {})
    }

    /// A line whose node `i` has the configuration `adjust(i, …)` made of the defaults.
    fn with(seed: u64, adjust: fn(u64, &mut Config)) -> Self {
        let nodes: Vec<Node> = (0..3)
            .map(|i| {
                let mut c = Config::new(NodeId(i + 1), seed * 1000 + i * 7 + 1);
                // The flow test sends faster than the 8 kbit/s it reserves: a burst allowance
                // of ten minutes at that rate lets all of it conform, so every frame still
                // goes through the policing path (drops are tested in the core).
                c.reservation_burst = Duration::from_secs(600);
                adjust(i, &mut c);
                Node::new(c, Instant::ZERO).unwrap()
            })
            .collect();
        let mut line = Line {
            nodes,
            deadlines: vec![Instant::ZERO; 3],
            in_flight: VecDeque::with_capacity(4096),
            spare: (0..4096).map(|_| Vec::with_capacity(256)).collect(),
            delivered: vec![0; 3],
            sequenced: vec![0; 3],
            allocations: vec![0; 3],
            counted: [false; 3],
        };
        for (a, b) in [(0usize, 1usize), (1, 2)] {
            line.nodes[a].handle_link_up(Instant::ZERO, LinkId(b as u32), LinkReport::new(185)).unwrap();
            line.nodes[b].handle_link_up(Instant::ZERO, LinkId(a as u32), LinkReport::new(185)).unwrap();
        }
        line
    }

    /// Runs `f` (node `i`'s calls), counting its allocations if node `i` is counted.
    fn call(&mut self, i: usize, f: impl FnOnce(&mut Self)) {
        if self.counted[i] {
            let n = blemesh_tests::alloc::count(|| f(self));
            self.allocations[i] += n;
        } else {
            f(self);
        }
    }

    fn drain(&mut self, i: usize) {
        self.call(i, |line| line.drain_now(i));
    }

    fn drain_now(&mut self, i: usize) {
        loop {
            match self.nodes[i].poll_output() {
                Output::Transmit(t) => {
                    let mut buf = self.spare.pop().expect("enough spare buffers");
                    buf.clear();
                    buf.extend_from_slice(t.bytes);
                    let to = t.link.0 as usize;
                    self.in_flight.push_back((to, LinkId(i as u32), buf));
                }
                Output::Deliver(_) => self.delivered[i] += 1,
                Output::Sequenced { .. } => self.sequenced[i] += 1,
                Output::Timeout(at) => {
                    self.deadlines[i] = at;
                    break;
                }
                _ => {}
            }
        }
    }

    /// Advances to `now`: due timers first, then every PDU in flight, until quiet.
    fn run_to(&mut self, now: Instant) {
        for i in 0..3 {
            if self.deadlines[i] <= now {
                self.call(i, |line| line.nodes[i].handle_timeout(now).unwrap());
            }
            self.drain(i);
        }
        while let Some((to, link, buf)) = self.in_flight.pop_front() {
            self.call(to, |line| {
                line.nodes[to].handle_receive(now, link, &buf).unwrap();
                line.drain_now(to);
            });
            self.spare.push(buf);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Traffic {
    /// Node 0 broadcasts; node 1 relays the flood.
    Flood,
    /// Node 0 sends to node 2; node 1 forwards along its route.
    Unicast,
    /// Node 0 sends to node 2 on a QoS flow (admitted after warm-up); node 1 forwards.
    Flow,
}

#[test]
fn relaying_floods_allocates_nothing_in_steady_state() {
    for seed in 1..=6 {
        relay_without_allocating(seed, Traffic::Flood);
    }
}

#[test]
fn sending_and_forwarding_on_a_qos_flow_allocates_nothing_in_steady_state() {
    for seed in 1..=6 {
        relay_without_allocating(seed, Traffic::Flow);
    }
}

#[test]
fn forwarding_unicast_allocates_nothing_in_steady_state() {
    for seed in 1..=6 {
        relay_without_allocating(seed, Traffic::Unicast);
    }
}

fn relay_without_allocating(seed: u64, traffic: Traffic) {
    let mut line = Line::new(seed);
    let payload = [0x5a; 64];
    let mut now = Instant::ZERO;
    let step = Duration::from_millis(2);
    let mut flow: Option<u32> = None;
    // Handshakes first, then warm-up: announcements, pools and tables grow to working size.
    while now < Instant::from_millis(500) {
        now += step;
        line.run_to(now);
    }
    if traffic == Traffic::Flow {
        let c = QosConstraints { min_bandwidth_kbps: 8, ..QosConstraints::new(Priority::High) };
        let f = line.nodes[0].open_flow(now, NodeId(3), c).expect("admitted locally");
        line.drain(0);
        while now < Instant::from_millis(700) {
            now += step;
            line.run_to(now);
        }
        assert_eq!(line.nodes[0].flow_state(f), Some(FlowState::Admitted));
        assert_eq!(line.nodes[1].reservations().len(), 1, "the relay holds the reservation");
        flow = Some(f);
    }
    // Steady state includes full duplicate caches (they grow on demand up to
    // `duplicate_cache` ids): nodes 1 and 2 flood enough for every node to have cached more
    // ids than that, which light control traffic alone would take minutes to do.
    let warm = Config::new(NodeId(1), 0).duplicate_cache + 100;
    for _ in 0..warm {
        now += step;
        for i in [1, 2] {
            line.nodes[i].broadcast(now, &payload, Qos::default()).unwrap();
            line.drain(i);
        }
        line.run_to(now + Duration::from_millis(1));
    }
    let warm_deliveries = line.delivered.clone();
    let run = |line: &mut Line, steps: u32, now: &mut Instant| {
        for _ in 0..steps {
            *now += step;
            line.run_to(*now);
            match traffic {
                Traffic::Flood => line.nodes[0].broadcast(*now, &payload, Qos::default()).unwrap(),
                Traffic::Unicast => line.nodes[0].send(*now, NodeId(3), &payload, Qos::default()).unwrap(),
                Traffic::Flow => line.nodes[0].send_on_flow(*now, flow.expect("opened"), &payload).unwrap(),
            };
            line.drain(0);
            line.run_to(*now + Duration::from_millis(1));
        }
    };
    run(&mut line, 3000, &mut now);
    let passed = |n: &Node| match traffic {
        Traffic::Flood => n.metrics().relayed,
        Traffic::Unicast | Traffic::Flow => n.metrics().forwarded,
    };
    let relayed_before = passed(&line.nodes[1]);

    let allocations = blemesh_tests::alloc::count(|| run(&mut line, 1000, &mut now));
    let relayed = passed(&line.nodes[1]) - relayed_before;
    assert!(relayed >= 990, "{traffic:?}: node 1 passed on {relayed} frames in the measured window");
    assert_eq!(allocations, 0, "{traffic:?} seed {seed}: {allocations} allocations for {relayed} frames");
    // Let the last relays land, then every one of the 4000 floods reached both other nodes.
    for _ in 0..50 {
        now += step;
        line.run_to(now);
    }
    // (Every send above was unwrapped: node 0 sent exactly 4000 game frames, alongside its
    // control traffic: heartbeats, adverts, announcements, election.)
    let through = if traffic == Traffic::Flood { 4000 } else { 0 };
    assert_eq!(line.delivered[1] - warm_deliveries[1], through, "{traffic:?}");
    assert_eq!(line.delivered[2] - warm_deliveries[2], 4000, "{traffic:?}");
    if traffic != Traffic::Flood {
        assert_eq!(line.nodes[1].metrics().flood_fallbacks, 0, "every unicast frame was routed");
    }
}

const GAME: SessionId = SessionId(0x6a6d);

/// Node 0 outranks the middle node in the election (which favours nodes with more links),
/// so the coordinator, and with it the session's sequencer, is at an end.
fn coordinator_at_node_0(i: u64, c: &mut Config) {
    if i == 0 {
        c.processing_power = 10_000;
    }
}

/// [`coordinator_at_node_0`], and node 1 relays floods without a random delay, so node 2
/// receives the entries in order.
fn coordinator_at_node_0_relays_in_order(i: u64, c: &mut Config) {
    coordinator_at_node_0(i, c);
    if i == 1 {
        c.relay_jitter = Duration::ZERO;
    }
}

/// Nodes 0 and 2 play a session that node 0 sequences; node 1 between them does not hold it
/// and only relays: the entries node 0 floods, and node 2's submits on their way to node 0.
/// Node 1's calls (receiving, relaying, forwarding, timers, draining) allocate nothing.
#[test]
fn relaying_a_sessions_sequenced_entries_allocates_nothing_in_steady_state() {
    for seed in 1..=16 {
        let member = relay_session_without_allocating(seed, coordinator_at_node_0);
        // With the relay's random delay entries reach node 2 out of order now and then:
        // held ahead of the gap, asked for again (the gap's clock runs from the oldest gap
        // still open), and received twice. Each costs the member a few allocations more.
        assert!(member.allocations >= 2 * member.entries, "seed {seed}: {member:?}");
        let extra = member.allocations - 2 * member.entries;
        let repairs = member.duplicates + member.nacks;
        assert!(extra <= 3 * repairs + 4, "seed {seed}: {extra} allocations beyond two per entry for {repairs} repairs: {member:?}");
    }
}

/// A member's delivery of an entry allocates twice: the decoded entry (its payload), which
/// its log keeps to repair others' gaps, and the copy handed out in `Output::Sequenced`.
#[test]
fn a_members_delivery_allocates_the_entry_it_hands_out_and_the_one_its_log_keeps() {
    for seed in 1..=6 {
        let member = relay_session_without_allocating(seed, coordinator_at_node_0_relays_in_order);
        assert_eq!((member.duplicates, member.nacks), (0, 0), "seed {seed}: in order, nothing to repair");
        assert_eq!(member.allocations, 2 * member.entries, "seed {seed}: {member:?}");
    }
}

/// What node 2, a member, did in the measured window.
#[derive(Debug)]
struct MemberWindow {
    /// Entries it handed out (`Output::Sequenced`).
    entries: u64,
    /// Allocations its calls made.
    allocations: u64,
    /// Entries it received twice (repairs of gaps that filled meanwhile).
    duplicates: u64,
    /// Gaps it asked for.
    nacks: u64,
}

/// Runs the session on the line (configured by `adjust`), asserts that node 1 relays the
/// window's 1,000 entries without allocating, and returns what node 2 did meanwhile.
fn relay_session_without_allocating(seed: u64, adjust: fn(u64, &mut Config)) -> MemberWindow {
    let mut line = Line::with(seed, adjust);
    let mut now = Instant::ZERO;
    let step = Duration::from_millis(2);
    let advance = |line: &mut Line, now: &mut Instant, by: Duration| {
        let until = *now + by;
        while *now < until {
            *now += step;
            line.run_to(*now);
        }
    };
    advance(&mut line, &mut now, Duration::from_millis(500));
    while !line.nodes.iter().all(|n| n.coordinator().is_some_and(|c| c.1 == NodeId(1))) {
        assert!(now < Instant::from_secs(10), "seed {seed}: node 0 was not elected");
        advance(&mut line, &mut now, Duration::from_millis(50));
    }
    for i in [0, 2] {
        line.nodes[i].join_session(now, GAME, b"player").unwrap();
        line.drain(i);
    }
    while ![0, 2].iter().all(|&i| line.nodes[i].session(GAME).is_some_and(|s| s.is_member())) {
        assert!(now < Instant::from_secs(20), "seed {seed}: the ends did not join");
        advance(&mut line, &mut now, Duration::from_millis(50));
    }
    let mut payload = [0u8; 16];
    let mut submit = |line: &mut Line, now: Instant, end: usize| {
        payload[..4].copy_from_slice(&(line.sequenced[0] as u32).to_be_bytes());
        line.nodes[end].submit(now, GAME, &payload).unwrap();
        line.drain(end);
    };
    // A burst first: a dozen submits from each end at once leave node 1 two dozen relays
    // pending, more than the steady rate below ever does (one entry every 2 ms, relay delays
    // up to 20 ms), so its relay table and their buffers are at working size.
    now += step;
    for end in [0, 2] {
        for _ in 0..12 {
            submit(&mut line, now, end);
        }
    }
    advance(&mut line, &mut now, Duration::from_millis(300));
    // Each step one end submits (in turn); the entry is sequenced at node 0 and flooded
    // through node 1 to node 2.
    let mut run = |line: &mut Line, steps: u32, now: &mut Instant| {
        for k in 0..steps {
            *now += step;
            line.run_to(*now);
            submit(line, *now, if k % 2 == 0 { 0 } else { 2 });
            line.run_to(*now + Duration::from_millis(1));
        }
    };
    // Warm-up: more entries than the duplicate caches hold ids and than the logs keep.
    let warm = Config::new(NodeId(1), 0).duplicate_cache.max(blemesh_core::session::SessionConfig::default().log_entries) as u32 + 2000;
    run(&mut line, warm, &mut now);
    // A quiet while lets the last relays land (and gaps be repaired): the window below
    // counts its own entries.
    advance(&mut line, &mut now, Duration::from_millis(300));
    assert_eq!(line.nodes[1].sessions().count(), 0, "node 1 holds no session");
    let metrics = |line: &Line| {
        let (m, s) = (line.nodes[1].metrics(), line.nodes[2].session(GAME).expect("held").metrics());
        [m.session_frames_not_held, m.relayed, m.forwarded, s.duplicate_entries, s.nacks_sent, line.sequenced[0], line.sequenced[2]]
    };
    let before = metrics(&line);

    line.counted = [false, true, true];
    run(&mut line, 1000, &mut now);
    line.counted = [false; 3];
    let in_window = line.sequenced[2] - before[6];
    advance(&mut line, &mut now, Duration::from_millis(300));

    let after = metrics(&line);
    let [not_held, relayed, forwarded, duplicates, nacks, at_0, at_2] = [0, 1, 2, 3, 4, 5, 6].map(|k| after[k] - before[k]);
    // Every submit of the window was sequenced and delivered at both ends; node 1 saw each
    // entry (a broadcast, so for it too, but of a session it does not hold) and passed it
    // on, and forwarded node 2's submits towards node 0.
    assert_eq!((at_0, at_2), (1000, 1000), "seed {seed}: both ends delivered every entry of the window");
    assert!(not_held >= 1000, "seed {seed}: node 1 read {not_held} session frames as not held");
    assert!(relayed >= 1000, "seed {seed}: node 1 relayed {relayed} frames");
    assert!(forwarded >= 500, "seed {seed}: node 1 forwarded {forwarded} of node 2's submits");
    assert_eq!(line.nodes[1].sessions().count(), 0, "node 1 still holds no session");
    let relay = line.allocations[1];
    assert_eq!(relay, 0, "seed {seed}: node 1 allocated {relay} times relaying {relayed} frames");
    let member = MemberWindow { entries: in_window, allocations: line.allocations[2], duplicates, nacks };
    eprintln!("seed {seed}: node 1 relayed {relayed} frames with 0 allocations; node 2 {member:?}");
    member
}
