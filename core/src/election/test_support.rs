//! Helpers shared by the election tests: deterministic keys, priorities and message builders.

use alloc::vec::Vec;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use super::*;
use crate::{Instant, NodeId};

/// Keys of every test node.
pub(super) const KEYS: TestKeys = TestKeys::new(0xB1E);
/// The state machine under test.
pub(super) type Node = Election<TestSigner, TestVerifier>;

/// Test priorities: a lower id ranks higher.
pub(super) fn prio(id: u64) -> u32 {
    10_000 - id as u32 * 100
}

pub(super) fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

pub(super) fn ids(v: &[u64]) -> Vec<NodeId> {
    v.iter().map(|&x| NodeId(x)).collect()
}

/// A node whose verifier knows nodes 1..=64, fed `component` at time zero (outputs drained).
pub(super) fn node(id: u64, cfg: ElectionConfig, component: &[u64], rng: &mut ChaCha8Rng) -> Node {
    let known: Vec<NodeId> = (1..=64).map(NodeId).collect();
    let mut n = Election::new(cfg, NodeId(id), prio(id), KEYS.signer(NodeId(id)), KEYS.verifier(&known), Instant::ZERO, rng)
        .unwrap();
    n.on_membership(Instant::ZERO, &ids(component), rng);
    n.drain_actions().for_each(drop);
    n
}

/// A message from `sender` with the sender's test priority and the view of voters
/// `1..=members`.
pub(super) fn msg(mode: ElectionMode, kind: ElectionKind, term: u32, candidate: u64, sender: u64, members: u16) -> ElectionMessage {
    let voters: Vec<u64> = (1..=u64::from(members)).collect();
    msg_in(mode, kind, term, candidate, sender, &voters)
}

/// A message from `sender` with the sender's test priority and the view of `voters`.
pub(super) fn msg_in(mode: ElectionMode, kind: ElectionKind, term: u32, candidate: u64, sender: u64, voters: &[u64]) -> ElectionMessage {
    let mut v = ids(voters);
    v.sort_unstable();
    ElectionMessage { kind, mode, term, candidate: NodeId(candidate), priority_milli: prio(sender), view: ViewDigest::of(&v) }
}

pub(super) fn signed_by(sender: u64, message: ElectionMessage) -> SignedMessage {
    SignedMessage { message, signature: sign_message(&mut KEYS.signer(NodeId(sender)), NodeId(sender), &message) }
}

/// Delivers `m` from `from`, signed with `from`'s key, through the wire encoding.
pub(super) fn deliver(n: &mut Node, now: Instant, from: u64, m: ElectionMessage, rng: &mut ChaCha8Rng) {
    let s = signed_by(from, m);
    let decoded = ElectionMessage::from_bytes(&s.message.to_bytes()).unwrap();
    n.on_message(now, NodeId(from), &decoded, &s.signature, rng);
}

pub(super) fn drain(n: &mut Node) -> Vec<Action> {
    n.drain_actions().collect()
}

pub(super) fn bcast(sender: u64, m: ElectionMessage) -> Action {
    Action::Broadcast(signed_by(sender, m))
}

pub(super) fn send(to: u64, sender: u64, m: ElectionMessage) -> Action {
    Action::Send { to: NodeId(to), message: signed_by(sender, m) }
}

pub(super) fn ev(e: ElectionEvent) -> Action {
    Action::Event(e)
}

pub(super) const PRE: ElectionKind = ElectionKind::PreVoteRequest;
pub(super) const REQ: ElectionKind = ElectionKind::VoteRequest;
pub(super) const HB: ElectionKind = ElectionKind::Heartbeat;
pub(super) const PRE_GRANT: ElectionKind = ElectionKind::Vote { pre_vote: true, denied: None };
pub(super) const GRANT: ElectionKind = ElectionKind::Vote { pre_vote: false, denied: None };

pub(super) fn deny(pre_vote: bool, reason: DenyReason) -> ElectionKind {
    ElectionKind::Vote { pre_vote, denied: Some(reason) }
}

pub(super) const PP: ElectionMode = ElectionMode::PerPartition;
pub(super) const Q: ElectionMode = ElectionMode::Quorum;

pub(super) fn ms(v: u64) -> Instant {
    Instant::from_millis(v)
}

/// Node 1 of {1,2,3} through pre-vote, vote and coordinator; returns it at `now`.
pub(super) fn elected_node1(mode: ElectionMode, r: &mut ChaCha8Rng) -> (Node, Instant) {
    let cfg = match mode {
        PP => ElectionConfig::default(),
        Q => ElectionConfig::quorum(&ids(&[1, 2, 3])),
    };
    let mut n = node(1, cfg, &[1, 2, 3], r);
    let t = n.next_deadline();
    n.on_timeout(t, r);
    drain(&mut n);
    deliver(&mut n, t, 2, msg(mode, PRE_GRANT, 1, 1, 2, 3), r);
    drain(&mut n);
    deliver(&mut n, t, 3, msg(mode, GRANT, 1, 1, 3, 3), r);
    drain(&mut n);
    assert_eq!(n.role(), Role::Coordinator);
    (n, t)
}
