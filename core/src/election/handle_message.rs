//! Input: a message from another node. Authenticates it (mode, signer, signature, sender
//! consistency) and dispatches it to the handler of its kind; anything rejected here is
//! counted by [`RejectReason`] and otherwise ignored.

use rand_core::RngCore;

use super::{
    BallotSigner, BallotVerifier, Election, ElectionKind, ElectionMessage, RejectReason, Signature, Verification,
    verify_message,
};
use crate::{Instant, NodeId};

impl<S: BallotSigner, V: BallotVerifier> Election<S, V> {
    /// Handles `message` received from `from` with its `signature` (from the frame's
    /// authentication trailer).
    pub fn on_message(
        &mut self,
        now: Instant,
        from: NodeId,
        message: &ElectionMessage,
        signature: &Signature,
        rng: &mut impl RngCore,
    ) {
        let now = self.advance(now);
        if let Err(reason) = self.authenticate(from, message, signature) {
            self.metrics.reject(reason);
            return;
        }
        match message.kind {
            ElectionKind::PreVoteRequest => self.handle_request(now, from, message, signature, true, rng),
            ElectionKind::VoteRequest => self.handle_request(now, from, message, signature, false, rng),
            ElectionKind::Vote { pre_vote, denied } => {
                self.handle_vote(now, from, message, signature, pre_vote, denied, rng)
            }
            ElectionKind::Heartbeat if from == message.candidate => self.handle_heartbeat(now, from, message, rng),
            ElectionKind::Heartbeat => self.handle_ack(now, from, message, rng),
        }
    }

    fn authenticate(&self, from: NodeId, m: &ElectionMessage, sig: &Signature) -> Result<(), RejectReason> {
        if from == self.me {
            return Err(RejectReason::FromSelf);
        }
        if m.mode != self.cfg.mode {
            return Err(RejectReason::ModeMismatch);
        }
        match verify_message(&self.verifier, from, m, sig) {
            Verification::Valid => {}
            Verification::BadSignature => return Err(RejectReason::BadSignature),
            Verification::UnknownSigner => return Err(RejectReason::UnknownSigner),
        }
        if !m.candidate.is_unicast() {
            return Err(RejectReason::InvalidCandidate);
        }
        if matches!(m.kind, ElectionKind::PreVoteRequest | ElectionKind::VoteRequest) && m.candidate != from {
            return Err(RejectReason::SenderMismatch);
        }
        Ok(())
    }
}
