//! Property test (bolero, typed generators via `produce()`): arbitrary sequences of timeouts,
//! messages (valid, forged, stale, future, every kind and verdict), membership changes and
//! priority changes never panic, never move the term backwards, never announce two
//! coordinators for one term, never change a vote within a term, and keep the role consistent.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::time::Duration;

use bolero::{TypeGenerator, check, produce};

use super::test_support::{KEYS, Node, ids, rng, signed_by};
use super::*;
use crate::{Instant, NodeId};

#[derive(Debug, Clone, Copy, TypeGenerator)]
struct Setup {
    quorum: bool,
    byzantine: bool,
    pre_vote: bool,
    check_quorum: bool,
}

#[derive(Debug, Clone, Copy, TypeGenerator)]
enum Kind {
    Pre,
    Req,
    Vote {
        pre_vote: bool,
        #[generator(0..=5u8)]
        code: u8,
    },
    Heartbeat,
}

#[derive(Debug, Clone, Copy, TypeGenerator)]
struct Msg {
    /// 1 is the node itself; 8 and 9 are outside the initial component; 70 has no known key.
    #[generator(1..=9u64)]
    from: u64,
    kind: Kind,
    /// Term relative to the node's: `term + delta - 2`, clamped at 0.
    #[generator(0..=5u32)]
    term_delta: u32,
    #[generator(1..=9u64)]
    candidate: u64,
    #[generator(0..20_000u32)]
    priority: u32,
    forged: bool,
    unknown: bool,
    other_mode: bool,
}

#[derive(Debug, Clone, Copy, TypeGenerator)]
enum Op {
    /// Advances time by this many milliseconds and handles timeouts.
    Advance(#[generator(0..400u16)] u16),
    /// Jumps to the next deadline.
    Fire,
    Message(Msg),
    /// New component: node 1 plus the nodes 2..=9 whose bit is set.
    Membership(u8),
    Priority(#[generator(0..20_000u32)] u32),
}

fn run(setup: Setup, ops: &[Op]) {
    let r = &mut rng(99);
    let members = ids(&[1, 2, 3, 4, 5, 6, 7]);
    let mut cfg = if setup.quorum { ElectionConfig::quorum(&members) } else { ElectionConfig::default() };
    cfg.byzantine = setup.byzantine;
    cfg.pre_vote = setup.pre_vote;
    cfg.check_quorum = setup.check_quorum;
    let mode = cfg.mode;
    let known: Vec<NodeId> = (1..=64).map(NodeId).collect();
    let mut n: Node =
        Election::new(cfg, NodeId(1), 5_000, KEYS.signer(NodeId(1)), KEYS.verifier(&known), Instant::ZERO, r).unwrap();
    n.on_membership(Instant::ZERO, &members, r);
    let mut now = Instant::ZERO;
    let mut announced: BTreeMap<u32, NodeId> = BTreeMap::new();
    let (mut term, mut vote) = (n.term(), n.voted_for());
    for op in ops.iter() {
        match *op {
            Op::Advance(ms) => {
                now += Duration::from_millis(u64::from(ms));
                n.on_timeout(now, r);
            }
            Op::Fire => {
                now = now.max(n.next_deadline());
                n.on_timeout(now, r);
            }
            Op::Message(m) => {
                let kind = match m.kind {
                    Kind::Pre => ElectionKind::PreVoteRequest,
                    Kind::Req => ElectionKind::VoteRequest,
                    Kind::Heartbeat => ElectionKind::Heartbeat,
                    Kind::Vote { pre_vote, code } => ElectionKind::Vote { pre_vote, denied: DenyReason::from_u8(code) },
                };
                let from = if m.unknown { 70 } else { m.from };
                let message = ElectionMessage {
                    kind,
                    mode: if m.other_mode {
                        match mode {
                            ElectionMode::Quorum => ElectionMode::PerPartition,
                            ElectionMode::PerPartition => ElectionMode::Quorum,
                        }
                    } else {
                        mode
                    },
                    term: (n.term() + m.term_delta).saturating_sub(2),
                    candidate: NodeId(m.candidate),
                    priority_milli: m.priority,
                    // Mostly this node's view, so that requests and grants are decided.
                    view: if m.priority % 5 == 0 { ViewDigest(7) } else { n.view() },
                };
                let signer = if m.forged { from % 9 + 1 } else { from };
                let s = signed_by(signer, message);
                n.on_message(now, NodeId(from), &s.message, &s.signature, r);
            }
            Op::Membership(bits) => {
                let mut comp = alloc::vec![NodeId(1)];
                comp.extend((0..8).filter(|b| bits & (1 << b) != 0).map(|b| NodeId(b + 2)));
                n.on_membership(now, &comp, r);
            }
            Op::Priority(p) => n.set_priority(p),
        }
        for a in n.drain_actions() {
            if let Action::Event(ElectionEvent::CoordinatorElected { term, node }) = a {
                let prev = announced.insert(term, node);
                assert!(prev.is_none_or(|p| p == node), "two coordinators for term {term}: {prev:?}, {node:?}");
            }
            if let Action::Event(ElectionEvent::DoubleVote { evidence }) = a {
                assert!(evidence.verify(&KEYS.verifier(&known)));
            }
        }
        assert!(n.term() >= term, "term went backwards");
        if n.term() == term && vote.is_some() {
            assert_eq!(n.voted_for(), vote, "vote changed within term {term}");
        }
        (term, vote) = (n.term(), n.voted_for());
        if n.role() == Role::Coordinator {
            assert_eq!(n.coordinator(), Some(NodeId(1)));
            assert_eq!(announced.get(&n.term()), Some(&NodeId(1)));
        }
        if let Some(c) = n.coordinator() {
            assert_eq!(announced.get(&n.term()), Some(&c), "the known coordinator was announced for this term");
        }
    }
}

#[test]
fn arbitrary_inputs_keep_the_invariants() {
    check!()
        .with_generator((produce::<Setup>(), produce::<Vec<Op>>().with().len(0usize..80)))
        .for_each(|(setup, ops)| run(*setup, ops));
}
