//! The typed election message and its conversion to and from the wire's
//! [`ElectionBody`] (28 bytes, network byte order).
//!
//! Field meanings:
//!
//! * `term` — for requests, the term asked for (a pre-vote asks for the sender's term + 1
//!   without taking it); for votes, the term of the ballot (for a [`DenyReason::StaleTerm`]
//!   denial: the voter's newer term); for heartbeats, the coordinator's term.
//! * `candidate` — the candidate (requests, votes) or the coordinator (heartbeats). A
//!   heartbeat whose sender is not the named coordinator is a follower's acknowledgement.
//! * `priority_milli` — always the **sender's** priority in thousandths.
//! * `view` — the sender's [`ViewDigest`]: what a vote agrees to (see `view.rs`).
//!
//! Vote answers use the `reason` byte as: bit 7 set = answer to a pre-vote request, bits 0..=6
//! = the [`DenyReason`] code (0 for a grant). This keeps pre-vote grants, which bind nothing,
//! distinguishable from real (signed, binding) ballots.

use zerocopy::network_endian::{U32, U64};
use zerocopy::{FromBytes, IntoBytes};

use super::{ElectionMode, ViewDigest};
use crate::NodeId;
use crate::wire::messages::{ElectionBody, ElectionOp};

/// Bit of the `reason` byte marking an answer to a pre-vote request.
pub const PRE_VOTE_FLAG: u8 = 0x80;

/// Why a voter denied a (pre-)vote. Wire codes 1..=5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DenyReason {
    /// The request's term is not newer than the voter's (the answer carries the voter's term).
    StaleTerm = 1,
    /// The voter already voted for another candidate in this term.
    AlreadyVoted = 2,
    /// The voter hears a live coordinator the candidate does not outrank by the takeover margin.
    CoordinatorAlive = 3,
    /// The voter outranks the candidate and campaigns itself.
    LowerPriority = 4,
    /// The candidate is not a voter (not in the component / membership).
    NotMember = 5,
}

impl DenyReason {
    /// Parses a wire code.
    pub const fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => DenyReason::StaleTerm,
            2 => DenyReason::AlreadyVoted,
            3 => DenyReason::CoordinatorAlive,
            4 => DenyReason::LowerPriority,
            5 => DenyReason::NotMember,
            _ => return None,
        })
    }
}

/// What an [`ElectionMessage`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElectionKind {
    /// Would you vote for me in `term`? Does not change anybody's term.
    PreVoteRequest,
    /// Vote for me in `term`. Also the candidate's own signed ballot.
    VoteRequest,
    /// An answer to a (pre-)vote request.
    Vote {
        /// Whether it answers a pre-vote request (binds nothing).
        pre_vote: bool,
        /// `None`: granted; otherwise why it was denied.
        denied: Option<DenyReason>,
    },
    /// The coordinator is alive (sender = `candidate`), or a follower acknowledges it.
    Heartbeat,
}

/// One election message, as carried in an [`ElectionBody`]. See the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ElectionMessage {
    /// What it is.
    pub kind: ElectionKind,
    /// The sender's election mode.
    pub mode: ElectionMode,
    /// The term.
    pub term: u32,
    /// Candidate or coordinator.
    pub candidate: NodeId,
    /// The sender's priority in thousandths.
    pub priority_milli: u32,
    /// The sender's view (a digest of the voters it counts).
    pub view: ViewDigest,
}

/// Why bytes are not a valid election message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Not exactly 28 bytes.
    Length,
    /// Unknown op.
    Op,
    /// Mode other than 0 or 1.
    Mode,
    /// `granted`/`reason` inconsistent with the op (or an unknown deny code).
    Verdict,
    /// Candidate is 0 or the broadcast id.
    Candidate,
}

/// Length of [`ElectionMessage::signing_bytes`].
pub const SIGNING_LEN: usize = 4 + 8 + 28;
const DOMAIN: &[u8; 4] = b"BMEL";

impl ElectionMessage {
    /// Whether this is a binding ballot: a vote request (the candidate's vote for itself) or a
    /// granted real vote. Two ballots of one voter for different candidates in one term are a
    /// double vote.
    pub fn is_ballot(&self) -> bool {
        matches!(self.kind, ElectionKind::VoteRequest | ElectionKind::Vote { pre_vote: false, denied: None })
    }

    /// The wire body.
    pub fn to_body(&self) -> ElectionBody {
        let (op, granted, reason) = match self.kind {
            ElectionKind::PreVoteRequest => (ElectionOp::PreVoteRequest, 0, 0),
            ElectionKind::VoteRequest => (ElectionOp::VoteRequest, 0, 0),
            ElectionKind::Vote { pre_vote, denied } => {
                let flag = if pre_vote { PRE_VOTE_FLAG } else { 0 };
                (ElectionOp::Vote, u8::from(denied.is_none()), flag | denied.map_or(0, |d| d as u8))
            }
            ElectionKind::Heartbeat => (ElectionOp::CoordinatorHeartbeat, 0, 0),
        };
        ElectionBody {
            op: op as u8,
            granted,
            reason,
            mode: self.mode.to_u8(),
            term: U32::new(self.term),
            candidate: U64::new(self.candidate.0),
            priority_milli: U32::new(self.priority_milli),
            view: U64::new(self.view.0),
        }
    }

    /// The 28 wire bytes.
    pub fn to_bytes(&self) -> [u8; 28] {
        let mut out = [0u8; 28];
        out.copy_from_slice(self.to_body().as_bytes());
        out
    }

    /// Parses a wire body (as returned by `wire::Message::parse`).
    pub fn from_body(body: &ElectionBody) -> Result<Self, DecodeError> {
        let mode = ElectionMode::from_u8(body.mode).ok_or(DecodeError::Mode)?;
        let plain = |kind| if body.granted == 0 && body.reason == 0 { Ok(kind) } else { Err(DecodeError::Verdict) };
        let kind = match ElectionOp::from_u8(body.op).ok_or(DecodeError::Op)? {
            ElectionOp::PreVoteRequest => plain(ElectionKind::PreVoteRequest)?,
            ElectionOp::VoteRequest => plain(ElectionKind::VoteRequest)?,
            ElectionOp::CoordinatorHeartbeat => plain(ElectionKind::Heartbeat)?,
            ElectionOp::Vote => {
                let pre_vote = body.reason & PRE_VOTE_FLAG != 0;
                let code = body.reason & !PRE_VOTE_FLAG;
                let denied = match (body.granted, code) {
                    (1, 0) => None,
                    (0, c) => Some(DenyReason::from_u8(c).ok_or(DecodeError::Verdict)?),
                    _ => return Err(DecodeError::Verdict),
                };
                ElectionKind::Vote { pre_vote, denied }
            }
        };
        let candidate = NodeId(body.candidate.get());
        if !candidate.is_unicast() {
            return Err(DecodeError::Candidate);
        }
        Ok(ElectionMessage {
            kind,
            mode,
            term: body.term.get(),
            candidate,
            priority_milli: body.priority_milli.get(),
            view: ViewDigest(body.view.get()),
        })
    }

    /// Parses 28 wire bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let body = ElectionBody::read_from_bytes(bytes).map_err(|_| DecodeError::Length)?;
        Self::from_body(&body)
    }

    /// The bytes a sender signs: the domain tag `BMEL`, the sender's id (big-endian), then the
    /// 28 body bytes. Binding the sender stops a ballot being replayed as another node's.
    pub fn signing_bytes(&self, sender: NodeId) -> [u8; SIGNING_LEN] {
        let mut out = [0u8; SIGNING_LEN];
        out[..4].copy_from_slice(DOMAIN);
        out[4..12].copy_from_slice(&sender.0.to_be_bytes());
        out[12..].copy_from_slice(&self.to_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::messages::Message;
    use crate::wire::{Frame, FrameHeader, Kind, encode_frame};
    use crate::{Destination, Priority};

    fn sample(kind: ElectionKind) -> ElectionMessage {
        ElectionMessage {
            kind,
            mode: ElectionMode::Quorum,
            term: 0x0102_0304,
            candidate: NodeId(0x1122_3344_5566_7788),
            priority_milli: 4080,
            view: ViewDigest(0x0a0b_0c0d_0e0f_1011),
        }
    }

    #[test]
    fn exact_wire_layout() {
        let m = sample(ElectionKind::Vote { pre_vote: true, denied: Some(DenyReason::LowerPriority) });
        assert_eq!(
            m.to_bytes(),
            [3, 0, 0x84, 1, 1, 2, 3, 4, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0, 0, 0x0f, 0xf0, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11]
        );
        let s = m.signing_bytes(NodeId(7));
        assert_eq!(&s[..12], b"BMEL\0\0\0\0\0\0\0\x07");
        assert_eq!(&s[12..], &m.to_bytes());
    }

    #[test]
    fn every_kind_round_trips_and_passes_the_frame_parser() {
        let mut kinds = alloc::vec![ElectionKind::PreVoteRequest, ElectionKind::VoteRequest, ElectionKind::Heartbeat];
        for pre_vote in [false, true] {
            kinds.push(ElectionKind::Vote { pre_vote, denied: None });
            for code in 1..=5 {
                kinds.push(ElectionKind::Vote { pre_vote, denied: DenyReason::from_u8(code) });
            }
        }
        for kind in kinds {
            let m = sample(kind);
            assert_eq!(ElectionMessage::from_bytes(&m.to_bytes()), Ok(m));
            let h = FrameHeader::new(Kind::Election, Priority::Normal, 1, NodeId(1), Destination::Broadcast, 1);
            let mut frame = alloc::vec::Vec::new();
            encode_frame(&mut frame, &h, &[&m.to_bytes(), &[0x5a; 64]]);
            let f = Frame::new_checked(&frame, 4096).unwrap();
            let Message::Election(body, signature) = Message::parse(&f).unwrap() else { panic!() };
            assert_eq!(ElectionMessage::from_body(body), Ok(m));
            assert_eq!(signature, &[0x5a; 64]);
        }
        assert!(sample(ElectionKind::VoteRequest).is_ballot());
        assert!(sample(ElectionKind::Vote { pre_vote: false, denied: None }).is_ballot());
        assert!(!sample(ElectionKind::Vote { pre_vote: true, denied: None }).is_ballot());
        assert!(!sample(ElectionKind::PreVoteRequest).is_ballot());
    }

    #[test]
    fn invalid_bytes_are_named() {
        let good = sample(ElectionKind::Vote { pre_vote: false, denied: None }).to_bytes();
        let with = |i: usize, v: u8| {
            let mut b = good;
            b[i] = v;
            ElectionMessage::from_bytes(&b)
        };
        assert_eq!(ElectionMessage::from_bytes(&good[..27]), Err(DecodeError::Length));
        assert_eq!(with(0, 9), Err(DecodeError::Op));
        assert_eq!(with(3, 2), Err(DecodeError::Mode));
        assert_eq!(with(2, 1), Err(DecodeError::Verdict)); // granted with a reason
        assert_eq!(with(1, 0), Err(DecodeError::Verdict)); // denied without one
        let mut hb = sample(ElectionKind::Heartbeat).to_bytes();
        hb[1] = 1;
        assert_eq!(ElectionMessage::from_bytes(&hb), Err(DecodeError::Verdict));
        let mut zero = good;
        zero[8..16].fill(0);
        assert_eq!(ElectionMessage::from_bytes(&zero), Err(DecodeError::Candidate));
    }
}
