//! Trust: a score in `0.0..=1.0` per node that follows its observed behaviour.
//!
//! Scores start at [`TrustConfig::neutral`], drop sharply on provable misbehaviour, rise
//! slowly on good behaviour, and decay exponentially back towards neutral with a configurable
//! half-life (time is an input: [`crate::Instant`]). Routing should avoid nodes for which
//! [`TrustTable::is_trusted`] is false.
//!
//! **Attribution matters.** A frame with a bad signature or a mismatched key proves nothing
//! about the origin it claims (any holder of the network key can forge the header), so the
//! node should report [`Behaviour::InvalidSignature`] against the *neighbour that transmitted
//! it*: every node opens a frame before relaying it, so an honest neighbour never forwards
//! one. A [`Behaviour::DoubleVote`] is proven by two validly signed ballots of the same voter
//! ([`VoteLedger`]) and is charged to the voter. [`Behaviour::RelayWithheld`] (a next hop that
//! was not heard relaying while end-to-end acknowledgements went missing) is only
//! circumstantial, so its penalty is small.
//!
//! Arithmetic is plain `f32` (no `libm`): deterministic on every IEEE-754 target.

use alloc::vec::Vec;
use core::time::Duration;

use crate::{Instant, NodeId};

/// Parameters of a [`TrustTable`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrustConfig {
    /// Score of unknown nodes and the value scores decay towards. Default 0.5.
    pub neutral: f32,
    /// Nodes scoring below this are not trusted. Default 0.25.
    pub threshold: f32,
    /// Time for a score's distance from neutral to halve. Default 10 minutes.
    pub half_life: Duration,
}

impl Default for TrustConfig {
    fn default() -> Self {
        TrustConfig { neutral: 0.5, threshold: 0.25, half_life: Duration::from_secs(600) }
    }
}

/// Something a node was seen doing.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[non_exhaustive]
pub enum Behaviour {
    /// Transmitted a frame whose signature did not verify. −0.25.
    InvalidSignature,
    /// Transmitted a frame whose carried key does not derive its origin. −0.25.
    IdentityMismatch,
    /// Signed two different ballots in the same term. −0.5.
    DoubleVote,
    /// Was not heard relaying while acknowledgements through it went missing. −0.05.
    RelayWithheld,
    /// Was heard relaying a frame it was expected to relay. +0.01.
    RelayConfirmed,
    /// An acknowledgement came back over a path through it. +0.01.
    AckDelivered,
}

impl Behaviour {
    /// How far one occurrence moves the score.
    pub const fn delta(self) -> f32 {
        match self {
            Behaviour::InvalidSignature | Behaviour::IdentityMismatch => -0.25,
            Behaviour::DoubleVote => -0.5,
            Behaviour::RelayWithheld => -0.05,
            Behaviour::RelayConfirmed | Behaviour::AckDelivered => 0.01,
        }
    }

    /// A stable snake_case name, for logs and metric labels.
    pub const fn name(self) -> &'static str {
        match self {
            Behaviour::InvalidSignature => "invalid_signature",
            Behaviour::IdentityMismatch => "identity_mismatch",
            Behaviour::DoubleVote => "double_vote",
            Behaviour::RelayWithheld => "relay_withheld",
            Behaviour::RelayConfirmed => "relay_confirmed",
            Behaviour::AckDelivered => "ack_delivered",
        }
    }
}

/// `2^-x` for `x >= 0`, to about 1e-4: whole halvings, then a Taylor series for the rest.
fn exp2_neg(x: f32) -> f32 {
    if x.is_nan() || x <= 0.0 {
        return 1.0;
    }
    if x >= 64.0 {
        return 0.0;
    }
    // 0 <= x < 64: the cast is exact for the integer part.
    let whole = x as u32;
    let y = (x - whole as f32) * core::f32::consts::LN_2;
    let mut r = 1.0 - y + y * y / 2.0 - y * y * y / 6.0 + y * y * y * y / 24.0 - y * y * y * y * y / 120.0;
    for _ in 0..whole {
        r *= 0.5;
    }
    r
}

#[derive(Clone, Copy, Debug)]
struct Score {
    value: f32,
    updated: Instant,
}

/// Trust scores of at most `capacity` nodes (others count as neutral).
#[derive(Clone, Debug)]
pub struct TrustTable {
    /// Sorted by node id.
    scores: Vec<(NodeId, Score)>,
    capacity: usize,
    config: TrustConfig,
}

impl TrustTable {
    /// An empty table; allocated once.
    pub fn new(config: TrustConfig, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        TrustTable { scores: Vec::with_capacity(capacity), capacity, config }
    }

    /// The parameters.
    pub fn config(&self) -> &TrustConfig {
        &self.config
    }

    fn decayed(&self, s: Score, now: Instant) -> f32 {
        let half_life = self.config.half_life.as_secs_f32();
        let elapsed = now.saturating_duration_since(s.updated).as_secs_f32();
        let factor = if half_life > 0.0 { exp2_neg(elapsed / half_life) } else { 0.0 };
        (self.config.neutral + (s.value - self.config.neutral) * factor).clamp(0.0, 1.0)
    }

    /// `node`'s score at `now` (neutral if unknown).
    pub fn score(&self, node: NodeId, now: Instant) -> f32 {
        match self.scores.binary_search_by_key(&node, |e| e.0) {
            Ok(i) => self.decayed(self.scores[i].1, now),
            Err(_) => self.config.neutral,
        }
    }

    /// Whether routing may use `node`: its score is at least the threshold.
    pub fn is_trusted(&self, node: NodeId, now: Instant) -> bool {
        self.score(node, now) >= self.config.threshold
    }

    /// Records one occurrence of `behaviour` by `node` and returns the new score. When the
    /// table is full, the entry closest to neutral (the least informative) makes room.
    pub fn record(&mut self, node: NodeId, behaviour: Behaviour, now: Instant) -> f32 {
        let i = match self.scores.binary_search_by_key(&node, |e| e.0) {
            Ok(i) => i,
            Err(mut i) => {
                if self.scores.len() >= self.capacity {
                    let neutral = self.config.neutral;
                    let victim = self
                        .scores
                        .iter()
                        .enumerate()
                        .map(|(j, e)| (j, (self.decayed(e.1, now) - neutral).abs()))
                        .min_by(|a, b| a.1.total_cmp(&b.1))
                        .map_or(0, |(j, _)| j);
                    self.scores.remove(victim);
                    if victim < i {
                        i -= 1;
                    }
                }
                self.scores.insert(i, (node, Score { value: self.config.neutral, updated: now }));
                i
            }
        };
        let current = self.decayed(self.scores[i].1, now);
        let value = (current + behaviour.delta()).clamp(0.0, 1.0);
        self.scores[i].1 = Score { value, updated: now.max(self.scores[i].1.updated) };
        value
    }

    /// Forgets `node` (back to neutral).
    pub fn forget(&mut self, node: NodeId) {
        if let Ok(i) = self.scores.binary_search_by_key(&node, |e| e.0) {
            self.scores.remove(i);
        }
    }

    /// Nodes with a recorded score.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// Whether no score is recorded.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
}

/// What [`VoteLedger::record`] found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum VoteCheck {
    /// The voter's first ballot of this term.
    First,
    /// The same ballot again (a retransmission).
    Repeat,
    /// A second, different ballot in the same term: report [`Behaviour::DoubleVote`].
    Double {
        /// The candidate of the earlier ballot.
        earlier: NodeId,
    },
    /// A ballot for a term older than the voter's latest: too old to judge.
    Outdated,
}

/// The latest granted ballot of each voter, to detect double votes. Bounded; allocated once.
///
/// Feed it only ballots whose signature [`super::trailer::open`] verified, so that a double
/// vote is proof of the voter's misbehaviour.
#[derive(Clone, Debug)]
pub struct VoteLedger {
    /// `(voter, term, candidate)`, sorted by voter.
    ballots: Vec<(NodeId, u32, NodeId)>,
    capacity: usize,
}

impl VoteLedger {
    /// A ledger remembering at most `capacity` voters; when full, the voter with the oldest
    /// term is forgotten.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        VoteLedger { ballots: Vec::with_capacity(capacity), capacity }
    }

    /// Records that `voter` granted its vote to `candidate` in `term`.
    pub fn record(&mut self, voter: NodeId, term: u32, candidate: NodeId) -> VoteCheck {
        match self.ballots.binary_search_by_key(&voter, |b| b.0) {
            Ok(i) => {
                let (_, t, c) = &mut self.ballots[i];
                if term < *t {
                    VoteCheck::Outdated
                } else if term > *t {
                    (*t, *c) = (term, candidate);
                    VoteCheck::First
                } else if *c == candidate {
                    VoteCheck::Repeat
                } else {
                    VoteCheck::Double { earlier: *c }
                }
            }
            Err(mut i) => {
                if self.ballots.len() >= self.capacity {
                    let oldest = self.ballots.iter().enumerate().min_by_key(|(_, b)| b.1).map_or(0, |(j, _)| j);
                    self.ballots.remove(oldest);
                    if oldest < i {
                        i -= 1;
                    }
                }
                self.ballots.insert(i, (voter, term, candidate));
                VoteCheck::First
            }
        }
    }
}
