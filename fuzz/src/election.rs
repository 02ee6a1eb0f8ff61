//! Election message sequences: 3–7 real [`Election`] instances exchanging signed messages
//! over a network the fuzzer controls: it picks which message is delivered next (any order),
//! drops and duplicates messages, fires timers, moves time, changes priorities, injects
//! forged and replayed messages, and may make one node Byzantine (it grants every vote
//! request it sees, signing two different votes in one term).
//!
//! Every voter is in every node's membership for the whole run (per-partition mode with one
//! component, or quorum mode), so the Raft safety properties must hold, whatever the
//! interleaving:
//! * **election safety**: at most one coordinator is announced per term, over all honest
//!   nodes (with the Byzantine voter, only in Byzantine mode, where `2f+1` votes are needed);
//! * an honest node's term never goes backwards, and its vote never changes within a term;
//! * a node that is coordinator has announced itself for its term, and a known coordinator
//!   was announced for that term;
//! * double-vote evidence always verifies and only ever names the Byzantine node;
//! * forged messages (wrong signer) are rejected and counted, never acted on;
//! * deadlines: after `on_timeout(now)`, the next deadline lies after `now`;
//! * the output queue is bounded: every call produces a handful of actions at most.

use std::collections::{BTreeMap, VecDeque};

use blemesh_core::election::{
    Action, Election, ElectionConfig, ElectionEvent, ElectionKind, ElectionMessage, ElectionMode, RejectReason, Role,
    SignedMessage, TestKeys, TestSigner, TestVerifier, sign_message,
};
use blemesh_core::{Instant, NodeId};
use bolero::TypeGenerator;
use core::time::Duration;

const KEYS: TestKeys = TestKeys::new(0xE1EC);
/// Messages in flight at most; older ones are lost when it overflows (a lossy network).
const MAX_IN_FLIGHT: usize = 256;

/// The shape of a run.
#[derive(Debug, Clone, Copy, TypeGenerator)]
pub struct Setup {
    /// Nodes 1..=n, n = 3 + this (3..=7).
    #[generator(0..=4u8)]
    extra_nodes: u8,
    quorum: bool,
    byzantine_mode: bool,
    /// Node 1 grants every vote request it sees (only honoured in Byzantine mode with at
    /// least 3 nodes: otherwise a double voter may legitimately break safety).
    double_voter: bool,
    pre_vote: bool,
    check_quorum: bool,
    /// Priority denials before giving up (0 = plain Raft).
    #[generator(0..=3u8)]
    priority_denials: u8,
    seed: u64,
}

/// What happens next.
#[derive(Debug, Clone, Copy, TypeGenerator)]
pub enum Op {
    /// Delivers the in-flight message at this index (modulo the queue length) and removes it.
    Deliver(u8),
    /// Delivers it and keeps it in flight (a duplicate will follow).
    Duplicate(u8),
    /// Loses it.
    Drop(u8),
    /// Advances time by this many milliseconds and runs every node's timers.
    Advance(#[generator(0..600u16)] u16),
    /// Jumps to the earliest deadline and runs the timers.
    Fire,
    /// Sets a node's priority.
    Priority { node: u8, #[generator(0..20_000u32)] milli: u32 },
    /// A message claiming to come from `from`, signed by another node (forged).
    Forge { from: u8, to: u8, kind: u8, term_delta: u8, candidate: u8 },
}

/// One message in flight.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    from: u64,
    message: SignedMessage,
}

type Node = Election<TestSigner, TestVerifier>;

struct Cluster {
    nodes: Vec<Node>,
    ids: Vec<NodeId>,
    rng: Xorshift,
    now: Instant,
    net: VecDeque<(u64, InFlight)>,
    announced: BTreeMap<u32, NodeId>,
    terms: Vec<(u32, Option<NodeId>)>,
    byzantine: Option<u64>,
}

/// A tiny deterministic generator for the elections' timeout draws.
struct Xorshift(u64);

impl rand_core::RngCore for Xorshift {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dst)
    }
}

/// One run: a setup and up to 200 operations.
#[derive(Debug, TypeGenerator)]
pub struct Input {
    setup: Setup,
    #[generator(bolero::produce::<Vec<Op>>().with().len(0usize..200))]
    ops: Vec<Op>,
}

/// Runs one sequence and checks the invariants after every operation.
pub fn check(input: &Input) {
    let mut c = Cluster::new(&input.setup);
    for op in &input.ops {
        c.apply(*op);
        c.check_invariants();
    }
}

impl Cluster {
    fn new(s: &Setup) -> Self {
        let n = 3 + u64::from(s.extra_nodes);
        let ids: Vec<NodeId> = (1..=n).map(NodeId).collect();
        let mut cfg = if s.quorum { ElectionConfig::quorum(&ids) } else { ElectionConfig::new(ElectionMode::PerPartition) };
        cfg.byzantine = s.byzantine_mode;
        cfg.pre_vote = s.pre_vote;
        cfg.check_quorum = s.check_quorum;
        cfg.priority_denials = s.priority_denials;
        let mut rng = Xorshift(s.seed | 1);
        let nodes: Vec<Node> = ids
            .iter()
            .map(|id| {
                let mut e = Election::new(
                    cfg.clone(),
                    *id,
                    1_000 + id.0 as u32 * 10,
                    KEYS.signer(*id),
                    KEYS.verifier(&ids),
                    Instant::ZERO,
                    &mut rng,
                )
                .expect("valid configuration");
                e.on_membership(Instant::ZERO, &ids, &mut rng);
                e
            })
            .collect();
        let byzantine = (s.double_voter && s.byzantine_mode).then_some(1);
        let terms = vec![(0, None); nodes.len()];
        let mut c = Cluster { nodes, ids, rng, now: Instant::ZERO, net: VecDeque::new(), announced: BTreeMap::new(), terms, byzantine };
        for i in 0..c.nodes.len() {
            c.collect(i);
        }
        c
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Deliver(i) | Op::Duplicate(i) | Op::Drop(i) if !self.net.is_empty() => {
                let at = usize::from(i) % self.net.len();
                let (dst, m) = self.net[at];
                if !matches!(op, Op::Duplicate(_)) {
                    self.net.remove(at);
                }
                if !matches!(op, Op::Drop(_)) {
                    self.deliver(dst, m);
                }
            }
            Op::Deliver(_) | Op::Duplicate(_) | Op::Drop(_) => {}
            Op::Advance(ms) => {
                self.now += Duration::from_millis(u64::from(ms));
                self.timers();
            }
            Op::Fire => {
                let next = self.nodes.iter().map(Election::next_deadline).min().unwrap_or(self.now);
                if next != Instant::MAX {
                    self.now = self.now.max(next);
                }
                self.timers();
            }
            Op::Priority { node, milli } => {
                let i = usize::from(node) % self.nodes.len();
                self.nodes[i].set_priority(milli);
            }
            Op::Forge { from, to, kind, term_delta, candidate } => {
                let n = self.nodes.len() as u64;
                let from = u64::from(from) % n + 1;
                let to = u64::from(to) % n + 1;
                let signer = from % n + 1; // never `from` itself
                let kind = match kind % 4 {
                    0 => ElectionKind::PreVoteRequest,
                    1 => ElectionKind::VoteRequest,
                    2 => ElectionKind::Vote { pre_vote: false, denied: None },
                    _ => ElectionKind::Heartbeat,
                };
                let target = &self.nodes[(to - 1) as usize];
                let message = ElectionMessage {
                    kind,
                    mode: target.config().mode,
                    term: target.term() + u32::from(term_delta % 4),
                    candidate: NodeId(u64::from(candidate) % n + 1),
                    priority_milli: 50_000,
                    view: target.view(),
                };
                let signature = sign_message(&mut KEYS.signer(NodeId(signer)), NodeId(signer), &message);
                let i = (to - 1) as usize;
                let reason = if from == to { RejectReason::FromSelf } else { RejectReason::BadSignature };
                let before = self.nodes[i].metrics().rejected(reason);
                let (term, vote, role) = (self.nodes[i].term(), self.nodes[i].voted_for(), self.nodes[i].role());
                self.nodes[i].on_message(self.now, NodeId(from), &message, &signature, &mut self.rng);
                assert_eq!(self.nodes[i].metrics().rejected(reason), before + 1, "forgery not counted as {reason:?}");
                assert_eq!(
                    (self.nodes[i].term(), self.nodes[i].voted_for(), self.nodes[i].role()),
                    (term, vote, role),
                    "a forgery changed the state"
                );
                assert_eq!(self.nodes[i].drain_actions().count(), 0, "a forgery produced output");
            }
        }
    }

    fn timers(&mut self) {
        for i in 0..self.nodes.len() {
            if self.nodes[i].next_deadline() <= self.now {
                self.nodes[i].on_timeout(self.now, &mut self.rng);
                assert!(self.nodes[i].next_deadline() > self.now, "node {i}: a deadline due again at once");
                self.collect(i);
            }
        }
    }

    fn deliver(&mut self, dst: u64, m: InFlight) {
        let i = (dst - 1) as usize;
        if Some(dst) == self.byzantine {
            self.byzantine_answer(m);
            return;
        }
        self.nodes[i].on_message(self.now, NodeId(m.from), &m.message.message, &m.message.signature, &mut self.rng);
        self.collect(i);
    }

    /// The Byzantine node grants every vote request it receives, whatever it granted before.
    fn byzantine_answer(&mut self, m: InFlight) {
        let Some(b) = self.byzantine else { return };
        if m.message.message.kind != ElectionKind::VoteRequest {
            return;
        }
        let grant = ElectionMessage {
            kind: ElectionKind::Vote { pre_vote: false, denied: None },
            candidate: NodeId(m.from),
            priority_milli: 0,
            ..m.message.message
        };
        let signature = sign_message(&mut KEYS.signer(NodeId(b)), NodeId(b), &grant);
        self.send(b, None, SignedMessage { message: grant, signature });
    }

    /// Moves node `i`'s actions into the network and checks its announcements.
    fn collect(&mut self, i: usize) {
        let from = self.ids[i].0;
        let actions: Vec<Action> = self.nodes[i].drain_actions().collect();
        assert!(actions.len() <= 8, "node {from}: {} actions from one input", actions.len());
        if Some(from) == self.byzantine {
            return; // the Byzantine node speaks through `byzantine_answer` only
        }
        for a in actions {
            match a {
                Action::Broadcast(m) => self.send(from, None, m),
                Action::Send { to, message } => self.send(from, Some(to.0), message),
                Action::Event(ElectionEvent::CoordinatorElected { term, node }) => {
                    let prev = self.announced.insert(term, node);
                    assert!(prev.is_none_or(|p| p == node), "term {term}: coordinators {prev:?} and {node:?}");
                }
                Action::Event(ElectionEvent::DoubleVote { evidence }) => {
                    assert!(evidence.verify(&KEYS.verifier(&self.ids)), "evidence does not verify");
                    assert_eq!(Some(evidence.voter.0), self.byzantine, "an honest node accused of a double vote");
                }
                Action::Event(_) => {}
            }
        }
    }

    fn send(&mut self, from: u64, to: Option<u64>, message: SignedMessage) {
        for dst in self.ids.iter().map(|id| id.0) {
            if dst != from && to.is_none_or(|t| t == dst) {
                if self.net.len() == MAX_IN_FLIGHT {
                    self.net.pop_front();
                }
                self.net.push_back((dst, InFlight { from, message }));
            }
        }
    }

    fn check_invariants(&mut self) {
        for (i, n) in self.nodes.iter().enumerate() {
            if Some(self.ids[i].0) == self.byzantine {
                continue;
            }
            let (term, vote) = self.terms[i];
            assert!(n.term() >= term, "node {}: term went backwards", i + 1);
            if n.term() == term && vote.is_some() {
                assert_eq!(n.voted_for(), vote, "node {}: vote changed within term {term}", i + 1);
            }
            self.terms[i] = (n.term(), n.voted_for());
            if n.role() == Role::Coordinator {
                assert_eq!(self.announced.get(&n.term()), Some(&self.ids[i]), "coordinator not announced");
            }
            if let Some(c) = n.coordinator() {
                assert_eq!(self.announced.get(&n.term()), Some(&c), "a coordinator nobody announced");
            }
        }
    }
}
