//! Signed ballots of the current term, and double-vote detection.
//!
//! A *ballot* is a vote request (the candidate's vote for itself) or a granted real vote
//! ([`ElectionMessage::is_ballot`]). Grants are broadcast, so every node sees them. The book
//! keeps the first ballot of each voter in the current term; a second ballot of the same
//! voter for a different candidate is a double vote: both signed ballots become
//! [`DoubleVoteEvidence`], and the voter is *convicted* (its ballots stop counting) for the
//! rest of the term. Each voter is convicted at most once per term.

use alloc::vec::Vec;

use super::{BallotVerifier, ElectionMessage, Signature, Verification};
use crate::NodeId;

/// A ballot with the voter's signature: verifiable by anyone who knows the voter's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedBallot {
    /// The voter (the message's sender).
    pub voter: NodeId,
    /// The ballot.
    pub message: ElectionMessage,
    /// The voter's signature over `message.signing_bytes(voter)`.
    pub signature: Signature,
}

impl SignedBallot {
    /// Whether the signature is the voter's.
    pub fn verify(&self, verifier: &impl BallotVerifier) -> bool {
        verifier.verify(self.voter, &self.message.signing_bytes(self.voter), &self.signature) == Verification::Valid
    }
}

/// Proof that `voter` signed ballots for two different candidates in `term`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DoubleVoteEvidence {
    /// The offender.
    pub voter: NodeId,
    /// The term.
    pub term: u32,
    /// The ballot seen first.
    pub first: SignedBallot,
    /// The conflicting ballot.
    pub second: SignedBallot,
}

impl DoubleVoteEvidence {
    /// Checks the evidence independently: both are validly signed ballots of `voter` in
    /// `term`, for different candidates.
    pub fn verify(&self, verifier: &impl BallotVerifier) -> bool {
        [&self.first, &self.second].iter().all(|b| {
            b.voter == self.voter && b.message.term == self.term && b.message.is_ballot() && b.verify(verifier)
        }) && self.first.message.candidate != self.second.message.candidate
    }
}

/// A recorded ballot without its signature, which is kept apart: a mesh without ballot
/// signatures (every signature zero) then holds about 40 bytes per voter instead of 112.
#[derive(Clone, Debug)]
struct Entry {
    voter: NodeId,
    message: ElectionMessage,
    /// Index of the signature in `BallotBook::signatures`, or [`ZERO_SIGNATURE`].
    signature: u32,
    convicted: bool,
}

/// `Entry::signature` of a ballot whose signature is all zero (an unsigned mesh).
const ZERO_SIGNATURE: u32 = u32::MAX;

/// The ballots of one term, sorted by voter.
#[derive(Clone, Debug)]
pub(super) struct BallotBook {
    term: u32,
    entries: Vec<Entry>,
    /// The non-zero signatures of `entries`, in the order they were recorded.
    signatures: Vec<Signature>,
    capacity: usize,
}

impl BallotBook {
    pub(super) fn new(capacity: usize) -> Self {
        BallotBook { term: 0, entries: Vec::new(), signatures: Vec::new(), capacity }
    }

    /// Forgets everything and starts recording `term`.
    pub(super) fn reset(&mut self, term: u32) {
        self.term = term;
        self.entries.clear();
        self.signatures.clear();
    }

    /// Whether `voter` double-voted in the current term.
    pub(super) fn is_convicted(&self, voter: NodeId) -> bool {
        self.find(voter).is_ok_and(|i| self.entries[i].convicted)
    }

    fn find(&self, voter: NodeId) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&voter, |e| e.voter)
    }

    /// The signed ballot of entry `e`, as it was recorded.
    fn ballot(&self, e: &Entry) -> SignedBallot {
        let signature = self.signatures.get(e.signature as usize).copied().unwrap_or(Signature([0; 64]));
        SignedBallot { voter: e.voter, message: e.message, signature }
    }

    /// Records a verified ballot of the current term; returns evidence the first time the
    /// voter is caught with two different candidates. Ballots of other terms are ignored, and
    /// new voters beyond the capacity are not remembered.
    pub(super) fn record(&mut self, ballot: SignedBallot) -> Option<DoubleVoteEvidence> {
        if ballot.message.term != self.term || !ballot.message.is_ballot() {
            return None;
        }
        match self.find(ballot.voter) {
            Ok(i) => {
                let e = &self.entries[i];
                if e.convicted || e.message.candidate == ballot.message.candidate {
                    return None;
                }
                let first = self.ballot(e);
                self.entries[i].convicted = true;
                Some(DoubleVoteEvidence { voter: ballot.voter, term: self.term, first, second: ballot })
            }
            Err(i) => {
                if self.entries.len() < self.capacity {
                    // Grown a quarter at a time (not doubled), never beyond the capacity.
                    if self.entries.len() == self.entries.capacity() {
                        let room = self.capacity - self.entries.len();
                        self.entries.reserve_exact((self.entries.len() / 4).max(4).min(room));
                    }
                    let signature = if ballot.signature.0 == [0; 64] {
                        ZERO_SIGNATURE
                    } else {
                        self.signatures.push(ballot.signature);
                        (self.signatures.len() - 1) as u32
                    };
                    let entry = Entry { voter: ballot.voter, message: ballot.message, signature, convicted: false };
                    self.entries.insert(i, entry);
                }
                None
            }
        }
    }
}
