//! Game-session sequences (target `session_sequences`): one sequencer and three players
//! over a network that loses, duplicates, delays and reorders every message, with time as an
//! operation, hand-overs to any node once the stream has settled, and partitions: the nodes
//! split in two sides that each elect their own coordinator (two in one term) and sequence
//! apart, amid loss, until they heal under one coordinator.
//!
//! Whatever happens: each node's history (what it delivered, less what its rebases undid)
//! has no gap and no duplicate event, and goes back only to the fork its rebase names; two
//! nodes of one side agree at every index both hold; every submit ends once more than the
//! rebases that reopened it. After the network heals and turns reliable and time passes,
//! every player holds the same history to the same last index, has the same player list,
//! and every submit has ended.
//!
//! Each player's game state is its history: a player that joins after others catches up
//! from a snapshot another player's game provides (its history up to then, looked up by a
//! token the snapshot's bytes carry, padded to several chunks that the lossy network
//! carries), so the checks above hold of the state it started from too.

use std::collections::BTreeMap;
use std::time::Duration;

use blemesh_core::session::*;
use blemesh_core::{Instant, NodeId};
use bolero::{TypeGenerator, produce};

const SEQ: NodeId = NodeId(1);
const PLAYERS: [NodeId; 3] = [NodeId(2), NodeId(3), NodeId(4)];

/// One step of the world the fuzzer drives.
#[derive(Debug, Clone, Copy, TypeGenerator)]
pub enum Op {
    /// A player (0..3) submits.
    Submit(#[generator(0..3u8)] u8),
    /// The message at this position of the in-flight queue (modulo its length) arrives.
    Arrive(u8),
    /// It is lost.
    Lose(u8),
    /// It arrives and stays in flight (a duplicate to come).
    Duplicate(u8),
    /// Time passes; every node handles its timeouts.
    Advance(#[generator(0..500u16)] u16),
    /// The election names another coordinator (0: the first sequencer, 1..=3 a player);
    /// what is in flight arrives first, and the hand-over itself runs over a reliable
    /// network.
    Handover(#[generator(0..4u8)] u8),
    /// The nodes split: bit `i` of the mask puts node `i` on the second side. Each side's
    /// lowest node coordinates it, both in the next term; nothing crosses between sides.
    Split(#[generator(1..15u8)] u8),
    /// The sides heal under one coordinator (0..=3), a settled hand-over as above.
    Heal(#[generator(0..4u8)] u8),
}

/// A message in flight.
#[derive(Debug, Clone)]
struct Flight {
    from: NodeId,
    to: NodeId,
    message: SessionMessage,
}

struct World {
    now: Instant,
    nodes: BTreeMap<NodeId, Session>,
    flights: Vec<Flight>,
    /// Each node's history: what it delivered, less what its rebases undid.
    delivered: BTreeMap<NodeId, Vec<Entry>>,
    ended: BTreeMap<(NodeId, SubmitId), u32>,
    /// Submits whose entry a rebase undid (each may end once more).
    reopened: BTreeMap<(NodeId, SubmitId), u32>,
    /// Snapshots the games provided: a token's history (the token leads the bytes).
    snapshots: Vec<Vec<Entry>>,
    submitted: Vec<(NodeId, SubmitId)>,
    term: u32,
    /// The side of each node while split.
    sides: Option<BTreeMap<NodeId, bool>>,
    /// Healed, and not settled since: the losing side rebases node by node, so histories
    /// may disagree until the stream settles.
    healing: bool,
}

impl World {
    fn new() -> Self {
        let epoch = Epoch { term: 1, sequencer: SEQ };
        let mut w = World {
            now: Instant::from_secs(1),
            nodes: BTreeMap::new(),
            flights: Vec::new(),
            delivered: BTreeMap::new(),
            ended: BTreeMap::new(),
            reopened: BTreeMap::new(),
            snapshots: Vec::new(),
            submitted: Vec::new(),
            term: 1,
            sides: None,
            healing: false,
        };
        for id in [SEQ].into_iter().chain(PLAYERS) {
            w.nodes.insert(id, Session::new(SessionConfig::default(), id));
        }
        // The hand-over of a fresh session: asked, nobody has history, begun at index 1.
        for id in [SEQ].into_iter().chain(PLAYERS) {
            w.nodes.get_mut(&id).unwrap().on_coordinator(w.now, Some(epoch));
            w.drain(id);
        }
        while !w.flights.is_empty() {
            let f = w.flights.remove(0);
            w.arrive(f);
        }
        w.advance(SessionConfig::default().recovery_timeout.as_millis() as u64);
        while !w.flights.is_empty() {
            let f = w.flights.remove(0);
            w.arrive(f);
        }
        assert!(w.nodes[&SEQ].is_sequencer());
        for p in PLAYERS {
            w.nodes.get_mut(&p).unwrap().join(w.now, b"player").unwrap();
            w.drain(p);
        }
        w
    }

    fn drain(&mut self, id: NodeId) {
        while let Some(action) = self.nodes.get_mut(&id).unwrap().poll_action() {
            match action {
                SessionAction::Broadcast(message) => {
                    for to in self.nodes.keys().copied().filter(|&n| n != id) {
                        self.flights.push(Flight { from: id, to, message: message.clone() });
                    }
                }
                SessionAction::Send { to, message } => self.flights.push(Flight { from: id, to, message }),
                SessionAction::Deliver(entry) => self.deliver(id, entry),
                SessionAction::Event(SessionEvent::Sequenced { submit, .. } | SessionEvent::SubmitFailed { submit, .. }) => {
                    *self.ended.entry((id, submit)).or_default() += 1;
                }
                SessionAction::Event(SessionEvent::Joined { .. } | SessionEvent::Lost { .. }) => {}
                SessionAction::Event(SessionEvent::SnapshotWanted { after }) => {
                    // The game provides its state: its history, padded to three chunks.
                    let history = self.delivered.get(&id).cloned().unwrap_or_default();
                    let index = history.last().map_or(0, |e| e.index);
                    assert!(index >= after, "{id:?} asked for a snapshot after {after}, its game at {index}");
                    let mut data = (self.snapshots.len() as u32).to_be_bytes().to_vec();
                    data.resize(1100, 0x5a);
                    self.snapshots.push(history);
                    let node = self.nodes.get_mut(&id).unwrap();
                    assert_eq!(node.provide_snapshot(self.now, index, &data), Ok(()));
                }
                SessionAction::Snapshot { index, data } => {
                    assert_eq!(data.len(), 1100, "{id:?}: the snapshot arrived whole");
                    assert!(data[4..].iter().all(|b| *b == 0x5a), "{id:?}: the snapshot arrived intact");
                    let token = u32::from_be_bytes(data[..4].try_into().unwrap()) as usize;
                    let state = self.snapshots[token].clone();
                    assert_eq!(state.last().map(|e| e.index), Some(index), "{id:?}: the snapshot is as of its index");
                    self.delivered.insert(id, state);
                }
                SessionAction::Event(SessionEvent::NoSnapshot { .. }) => {
                    self.delivered.remove(&id); // the game knows nothing before what follows
                }
                SessionAction::Event(SessionEvent::JoinFailed { reason }) => {
                    panic!("{id:?}'s join refused: {reason:?}")
                }
                SessionAction::Event(SessionEvent::Rebased { fork, resubmitted, .. }) => {
                    let history = self.delivered.entry(id).or_default();
                    assert!(history.last().is_some_and(|e| e.index > fork), "{id:?} rebased to {fork} with nothing after it");
                    while history.last().is_some_and(|e| e.index > fork) {
                        let undone = history.pop().expect("checked");
                        if let EntryBody::Event { submitter, submit, .. } = undone.body {
                            if submitter == id && resubmitted > 0 {
                                *self.reopened.entry((id, submit)).or_default() += 1;
                            }
                        }
                    }
                }
            }
        }
    }

    /// One more entry of `id`'s history: the next index, or (its own `Joined` entry, after
    /// it was lost or started over) a later one.
    fn deliver(&mut self, id: NodeId, entry: Entry) {
        let history = self.delivered.entry(id).or_default();
        if let Some(last) = history.last() {
            let rejoined = matches!(entry.body, EntryBody::Joined { player, .. } if player == id);
            assert!(
                entry.index == last.index + 1 || (rejoined && entry.index > last.index),
                "{id:?}: {} after {}",
                entry.index,
                last.index
            );
        }
        history.push(entry);
    }

    fn same_side(&self, a: NodeId, b: NodeId) -> bool {
        self.sides.as_ref().is_none_or(|s| s[&a] == s[&b])
    }

    fn arrive(&mut self, f: Flight) {
        if !self.same_side(f.from, f.to) {
            return; // the partition drops it
        }
        self.nodes.get_mut(&f.to).unwrap().on_message(self.now, f.from, f.message);
        self.drain(f.to);
    }

    fn advance(&mut self, ms: u64) {
        self.now += Duration::from_millis(ms);
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        for id in ids {
            let sides = self.sides.clone();
            let held = |p: NodeId| sides.as_ref().is_none_or(|s| s[&p] == s[&id]);
            let node = self.nodes.get_mut(&id).unwrap();
            node.on_partition(self.now, held);
            if node.next_deadline().is_some_and(|d| d <= self.now) {
                node.on_timeout(self.now);
            }
            self.drain(id);
        }
    }

    /// Every node follows `epoch` (its own side's while split).
    fn name_coordinator(&mut self, epoch_of: impl Fn(NodeId) -> Epoch) {
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        for id in ids {
            self.nodes.get_mut(&id).unwrap().on_coordinator(self.now, Some(epoch_of(id)));
            self.drain(id);
        }
    }

    /// Lets the stream repair and the submits end over a reliable network.
    fn settle(&mut self) {
        for _ in 0..60 {
            self.flush();
            self.advance(100);
        }
        self.healing = false;
    }

    /// Runs a hand-over over a reliable network, until every coordinator sequences.
    fn finish_handover(&mut self) {
        for _ in 0..4 {
            self.flush();
            self.advance(SessionConfig::default().recovery_timeout.as_millis() as u64);
        }
    }

    fn apply(&mut self, op: Op) {
        let pick = |n: u8, len: usize| (len > 0).then(|| usize::from(n) % len);
        match op {
            Op::Submit(p) => {
                let id = PLAYERS[usize::from(p)];
                if let Ok(submit) = self.nodes.get_mut(&id).unwrap().submit(self.now, &[p, self.submitted.len() as u8]) {
                    self.submitted.push((id, submit));
                }
                self.drain(id);
            }
            Op::Arrive(k) => {
                if let Some(k) = pick(k, self.flights.len()) {
                    let f = self.flights.remove(k);
                    self.arrive(f);
                }
            }
            Op::Lose(k) => {
                if let Some(k) = pick(k, self.flights.len()) {
                    self.flights.remove(k);
                }
            }
            Op::Duplicate(k) => {
                if let Some(k) = pick(k, self.flights.len()) {
                    let f = self.flights[k].clone();
                    self.arrive(f);
                }
            }
            Op::Advance(ms) => self.advance(u64::from(ms)),
            Op::Handover(k) | Op::Heal(k) => {
                if matches!(op, Op::Handover(_)) && self.sides.is_some() {
                    return; // a hand-over within a split is the split's
                }
                // A settled hand-over: the stream first repairs and every submit ends (a
                // hand-over amid loss is the next step's; see the module doc).
                self.settle();
                self.healing = self.sides.take().is_some();
                self.term += 1;
                let sequencer = [SEQ].into_iter().chain(PLAYERS).nth(usize::from(k)).unwrap();
                let epoch = Epoch { term: self.term, sequencer };
                self.name_coordinator(|_| epoch);
                self.finish_handover();
                assert!(self.nodes[&sequencer].is_sequencer(), "the hand-over to {sequencer:?} ended");
            }
            Op::Split(mask) => {
                if self.sides.is_some() {
                    return;
                }
                self.settle();
                let all: Vec<NodeId> = [SEQ].into_iter().chain(PLAYERS).collect();
                let sides: BTreeMap<NodeId, bool> = all.iter().enumerate().map(|(i, id)| (*id, mask & (1 << i) != 0)).collect();
                self.term += 1;
                let term = self.term;
                let lowest = |side: bool| *all.iter().find(|id| sides[id] == side).expect("both sides hold a node");
                let (a, b) = (lowest(false), lowest(true));
                self.sides = Some(sides.clone());
                self.name_coordinator(|id| Epoch { term, sequencer: if sides[&id] { b } else { a } });
                self.finish_handover();
            }
        }
    }

    /// Everything in flight arrives, in order.
    fn flush(&mut self) {
        while !self.flights.is_empty() {
            let f = self.flights.remove(0);
            self.arrive(f);
        }
    }

    /// Two nodes of one side agree at every index both hold (one history per side; everyone
    /// once healed); no history holds an event twice; every submit ended at most once more
    /// than rebases reopened it.
    fn check_order(&self) {
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        for (k, &a) in ids.iter().enumerate() {
            for &b in &ids[k + 1..] {
                if self.healing || !self.same_side(a, b) {
                    continue;
                }
                let theirs: BTreeMap<u64, &Entry> = self.history_of(b).map(|e| (e.index, e)).collect();
                for e in self.history_of(a) {
                    if let Some(other) = theirs.get(&e.index) {
                        assert_eq!(*other, e, "{a:?} and {b:?} disagree at index {}", e.index);
                    }
                }
            }
        }
        for p in PLAYERS {
            let mut events = std::collections::BTreeSet::new();
            for e in self.delivered.get(&p).into_iter().flatten() {
                if let EntryBody::Event { submitter, submit, .. } = &e.body {
                    assert!(events.insert((*submitter, *submit)), "{p:?}: {submitter:?}'s {submit:?} delivered twice");
                }
            }
        }
        for (key, n) in &self.ended {
            let reopened = self.reopened.get(key).copied().unwrap_or(0);
            assert!(*n <= 1 + reopened, "{key:?} ended {n} times, reopened {reopened}");
        }
    }

    /// What node `id` holds: its history (as delivered) and, for a node that does not play
    /// (the first sequencer), its log.
    fn history_of(&self, id: NodeId) -> impl Iterator<Item = &Entry> {
        let log = (!PLAYERS.contains(&id)).then(|| self.nodes[&id].log().range(0, u64::MAX));
        self.delivered.get(&id).into_iter().flatten().chain(log.into_iter().flatten())
    }
}

/// A run: up to 120 steps.
#[derive(Debug, Clone, TypeGenerator)]
pub struct Input(#[generator(produce::<Vec<Op>>().with().len(0usize..120))] pub Vec<Op>);

/// Runs `input`'s steps, checking the order after each, then heals, settles and checks that
/// everyone ends in one history with every submit ended.
pub fn check(input: &Input) {
    run(&input.0);
}

fn run(ops: &[Op]) {
    let mut w = World::new();
    for &op in ops {
        w.apply(op);
        w.check_order();
    }
    // The network heals (under the first sequencer) and turns reliable: everything in
    // flight arrives, time passes.
    if w.sides.is_some() {
        w.apply(Op::Heal(0));
    }
    for _ in 0..200 {
        w.flush();
        w.advance(100);
    }
    w.healing = false;
    w.check_order();
    let sequencer = w.nodes.values().find(|s| s.is_sequencer()).expect("one sequencer");
    let last = sequencer.delivered();
    for p in PLAYERS {
        let s = &w.nodes[&p];
        assert!(s.is_member(), "{p:?} joined in the end");
        assert_eq!(s.delivered(), last, "{p:?} caught up with everything placed");
        let players: Vec<NodeId> = s.players().map(|(id, _)| id).collect();
        assert_eq!(players, PLAYERS.to_vec(), "{p:?}: the same player list");
    }
    // Every player that delivered anything ends on the same entry (one joined by a roster
    // of the stream's last entry may have delivered nothing since).
    let lasts: Vec<&Entry> = PLAYERS.iter().filter_map(|p| w.delivered.get(p).and_then(|h| h.last())).collect();
    for e in &lasts {
        assert_eq!(*e, lasts[0], "every player ends on the same entry");
    }
    for key in &w.submitted {
        let reopened = w.reopened.get(key).copied().unwrap_or(0);
        assert_eq!(w.ended.get(key), Some(&(1 + reopened)), "{key:?} ended once, and once after each rebase that reopened it");
    }
}

#[test]
fn a_clean_run_delivers_every_submit_everywhere() {
    let ops: Vec<Op> = (0..30).flat_map(|k| [Op::Submit((k % 3) as u8), Op::Advance(20)]).collect();
    let mut w = World::new();
    // Joins first, reliably.
    while !w.flights.is_empty() {
        let f = w.flights.remove(0);
        w.arrive(f);
    }
    for op in ops {
        w.apply(op);
        while !w.flights.is_empty() {
            let f = w.flights.remove(0);
            w.arrive(f);
        }
    }
    w.check_order();
    assert_eq!(w.nodes[&SEQ].log().last(), Some(33), "3 joins and 30 events");
    for p in PLAYERS {
        // The first player's history starts with its own `Joined` entry at 1; the others
        // caught up from a snapshot of another's: everyone's game holds all 33.
        let indices: Vec<u64> = w.delivered[&p].iter().map(|e| e.index).collect();
        assert_eq!(indices, (1..=33).collect::<Vec<u64>>(), "{p:?}: everything, from a snapshot and after it");
        assert_eq!(w.nodes[&p].metrics().snapshots_installed, u64::from(p != PLAYERS[0]));
    }
}
