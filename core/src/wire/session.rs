//! The body of a [`Kind::Session`](super::Kind::Session) frame: one [`SessionMessage`] of
//! one session (`docs/PROTOCOL.md` §6.10).
//!
//! Layout: a 12-byte [`SessionHeader`] (session id, message type), then the message's fixed
//! part, then its variable bytes (payload, player info, roster). Every field is validated
//! before a message is built ([`decode`]): a type, body kind or reason outside its set, a
//! zero index, an empty or inverted repair range, a roster whose count or info lengths do not
//! add up to the body, a sequencer that is not a unicast id — each is
//! [`DropReason::MalformedBody`]. [`encode`] writes what [`decode`] reads.

use alloc::vec::Vec;

use zerocopy::network_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::session::{Entry, EntryBody, Epoch, LeaveReason, RefuseReason, SessionId, SessionMessage, SubmitId};
use crate::{DropReason, NodeId};

/// Fixed start of every session body.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct SessionHeader {
    /// The application's session id.
    pub session: U64,
    /// Message type, [`MessageType`].
    pub message: u8,
    /// Zero in version 5.
    pub reserved: [u8; 3],
}

/// An epoch on the wire: the election term and the sequencer.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct EpochField {
    /// The term.
    pub term: U32,
    /// The sequencer (a unicast id).
    pub sequencer: U64,
}

/// Fixed part of an entry (message type [`MessageType::Entry`]); the body kind's part follows.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct EntryHeader {
    /// Place in the stream, from 1.
    pub index: U64,
    /// Epoch of the sequencer that placed it.
    pub epoch: EpochField,
    /// Epoch of the entry before it in the sequencer's history; all zero for none.
    pub prev: EpochField,
    /// 1 event, 2 joined, 3 left.
    pub body: u8,
    /// For a `left` entry the [`LeaveReason`] (1 left, 2 lost); zero otherwise.
    pub reason: u8,
    /// Zero in version 5.
    pub reserved: [u8; 2],
    /// The submitter, joiner or leaver.
    pub player: U64,
}

/// Fixed part of a roster ([`MessageType::Roster`]); `count` players follow, each a
/// `u64` id, a `u8` info length and that many bytes of info, then `placed` marks of 12
/// bytes (`u64` player, `u32` highest submit id).
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct RosterHeader {
    /// The sequencer's epoch.
    pub epoch: EpochField,
    /// The entry the list is as of.
    pub index: U64,
    /// That entry's epoch; all zero for none (`index` 0).
    pub last: EpochField,
    /// Players that follow.
    pub count: U16,
    /// Placed-submit marks that follow the players (`u64` player, `u32` submit id each).
    pub placed: U16,
}

/// An epoch and one index ([`MessageType::Tip`], [`MessageType::StateReply`],
/// [`MessageType::Begin`]).
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct EpochIndex {
    /// The epoch.
    pub epoch: EpochField,
    /// `last`, `delivered` or `start`.
    pub index: U64,
}

/// Fixed part of a [`MessageType::StateReply`]; `count` [`RunField`]s follow.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct StateReplyHeader {
    /// The epoch asked for, or followed.
    pub epoch: EpochField,
    /// The last index the member delivered.
    pub delivered: U64,
    /// Players as of that entry.
    pub players: U16,
    /// Runs that follow, at most [`crate::session::MAX_RUNS`].
    pub count: u8,
    /// Zero in version 5.
    pub reserved: u8,
}

/// One epoch run of a member's history: the epoch and the first index of its run.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct RunField {
    /// The epoch of the run's entries.
    pub epoch: EpochField,
    /// Its first index.
    pub first: U64,
}

/// A [`MessageType::Rebase`].
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct RebaseBody {
    /// The sequencer's epoch.
    pub epoch: EpochField,
    /// The last index both histories hold alike (valid when `known` is 1).
    pub fork: U64,
    /// The sequencer's last index.
    pub last: U64,
    /// 1: `fork` is known; 0: the fork is older than the sequencer's log (`fork` is 0).
    pub known: u8,
    /// Zero in version 5.
    pub reserved: [u8; 3],
}

/// One placed-submit mark of a roster: a player and its highest submit id placed.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct PlacedMark {
    /// The player.
    pub player: U64,
    /// Its highest submit id in the sender's log.
    pub submit: U32,
}

/// A [`MessageType::Tip`].
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct TipBody {
    /// The sequencer's epoch.
    pub epoch: EpochField,
    /// Its last index placed (0: none).
    pub last: U64,
    /// That entry's epoch; all zero when `last` is 0.
    pub tail: EpochField,
}

/// A refusal ([`MessageType::Refused`]; a [`MessageType::JoinRefused`] is `reason` and
/// `reserved` only).
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct RefusedBody {
    /// The submit refused.
    pub submit: U32,
    /// 1 not a member, 2 too large, 3 full.
    pub reason: u8,
    /// Zero in version 5.
    pub reserved: [u8; 3],
}

/// A [`MessageType::SnapshotRequest`].
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct SnapshotRequestBody {
    /// The oldest index the snapshot may be as of.
    pub after: U64,
    /// The snapshot whose chunks are asked for again (at least `after`); 0 for a new one.
    pub index: U64,
    /// The chunks asked for again, bit `n` for chunk `n` (not 0); 0 for a new one.
    pub missing: U64,
}

/// Fixed part of a [`MessageType::SnapshotChunk`]; the chunk's bytes follow.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct SnapshotChunkHeader {
    /// The entry the state is as of (at least 1).
    pub index: U64,
    /// That entry's epoch.
    pub tail: EpochField,
    /// Bytes of the whole snapshot.
    pub total: U32,
    /// Bytes of every chunk but the last (at least 1); the snapshot has
    /// `max(1, ⌈total / size⌉)` chunks, at most 64.
    pub size: U16,
    /// This chunk's number, below the chunk count; the bytes that follow are `size` long,
    /// or what remains of `total` for the last.
    pub number: u8,
    /// Zero in version 6.
    pub reserved: u8,
}

/// Bytes of the header of every session body.
pub const SESSION_HEADER_LEN: usize = size_of::<SessionHeader>();

/// The `message` byte of a [`SessionHeader`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum MessageType {
    /// [`SessionMessage::Submit`]: `submit: u32`, then the payload.
    Submit = 1,
    /// [`SessionMessage::Join`]: the player info (at most 255 bytes).
    Join = 2,
    /// [`SessionMessage::Leave`]: nothing.
    Leave = 3,
    /// [`SessionMessage::Entry`]: [`EntryHeader`]; for an event `submit: u32` and the
    /// payload, for a join the info, for a leave nothing.
    Entry = 4,
    /// [`SessionMessage::Roster`]: [`RosterHeader`] and the players.
    Roster = 5,
    /// [`SessionMessage::Tip`]: [`TipBody`].
    Tip = 6,
    /// [`SessionMessage::StateRequest`]: [`EpochField`].
    StateRequest = 7,
    /// [`SessionMessage::StateReply`]: [`StateReplyHeader`] and the runs.
    StateReply = 8,
    /// [`SessionMessage::Begin`]: [`EpochField`], `start: u64` (at least 1).
    Begin = 9,
    /// [`SessionMessage::Nack`]: `from: u64`, `to: u64`, `1 <= from < to`.
    Nack = 10,
    /// [`SessionMessage::Refused`]: `submit: u32`, `reason: u8`, three zero bytes.
    Refused = 11,
    /// [`SessionMessage::JoinRefused`]: `reason: u8`, three zero bytes.
    JoinRefused = 12,
    /// [`SessionMessage::Rebase`]: [`RebaseBody`].
    Rebase = 13,
    /// [`SessionMessage::RosterRequest`]: [`EpochField`].
    RosterRequest = 14,
    /// [`SessionMessage::SnapshotRequest`]: [`SnapshotRequestBody`].
    SnapshotRequest = 15,
    /// [`SessionMessage::SnapshotChunk`]: [`SnapshotChunkHeader`] and the chunk's bytes.
    SnapshotChunk = 16,
    /// [`SessionMessage::NoSnapshot`]: `after: u64`.
    NoSnapshot = 17,
}

/// Longest player info a roster or join carries.
pub const MAX_INFO: usize = u8::MAX as usize;

fn refuse_code(r: RefuseReason) -> u8 {
    match r {
        RefuseReason::NotMember => 1,
        RefuseReason::TooLarge => 2,
        RefuseReason::Full => 3,
    }
}

fn refuse_reason(code: u8) -> Result<RefuseReason, DropReason> {
    Ok(match code {
        1 => RefuseReason::NotMember,
        2 => RefuseReason::TooLarge,
        3 => RefuseReason::Full,
        _ => return Err(DropReason::MalformedBody),
    })
}

fn epoch_field(e: Epoch) -> EpochField {
    EpochField { term: e.term.into(), sequencer: e.sequencer.0.into() }
}

fn opt_epoch_field(e: Option<Epoch>) -> EpochField {
    e.map_or(EpochField { term: 0.into(), sequencer: 0.into() }, epoch_field)
}

/// Bytes of the body of an entry carrying a `payload`-byte event (the largest entry):
/// `60 + payload`.
pub const fn largest_entry(payload: usize) -> usize {
    SESSION_HEADER_LEN + size_of::<EntryHeader>() + 4 + payload
}

/// Bytes of the body of a roster of `players` players of `info` bytes each, with a
/// placed mark for each: `48 + players × (21 + info)`.
pub const fn largest_roster(players: usize, info: usize) -> usize {
    SESSION_HEADER_LEN + size_of::<RosterHeader>() + players * (9 + info + 12)
}

/// Bytes [`encode`] writes for `message`.
pub fn encoded_len(message: &SessionMessage) -> usize {
    let epoch = size_of::<EpochField>();
    SESSION_HEADER_LEN
        + match message {
            SessionMessage::Submit { payload, .. } => 4 + payload.len(),
            SessionMessage::Join { info } => info.len(),
            SessionMessage::Leave => 0,
            SessionMessage::Entry(entry) => {
                size_of::<EntryHeader>()
                    + match &entry.body {
                        EntryBody::Event { payload, .. } => 4 + payload.len(),
                        EntryBody::Joined { info, .. } => info.len(),
                        EntryBody::Left { .. } => 0,
                    }
            }
            SessionMessage::Roster { players, placed, .. } => {
                size_of::<RosterHeader>() + players.iter().map(|(_, info)| 9 + info.len()).sum::<usize>() + 12 * placed.len()
            }
            SessionMessage::StateRequest { .. } | SessionMessage::RosterRequest { .. } => epoch,
            SessionMessage::Tip { .. } => size_of::<TipBody>(),
            SessionMessage::Begin { .. } => epoch + 8,
            SessionMessage::StateReply { runs, .. } => size_of::<StateReplyHeader>() + runs.len() * size_of::<RunField>(),
            SessionMessage::Rebase { .. } => size_of::<RebaseBody>(),
            SessionMessage::Nack { .. } => 16,
            SessionMessage::Refused { .. } => size_of::<RefusedBody>(),
            SessionMessage::JoinRefused { .. } => 4,
            SessionMessage::SnapshotRequest { .. } => size_of::<SnapshotRequestBody>(),
            SessionMessage::SnapshotChunk { data, .. } => size_of::<SnapshotChunkHeader>() + data.len(),
            SessionMessage::NoSnapshot { .. } => 8,
        }
}

/// Appends the body of `session`'s `message` to `out`. A player info longer than
/// [`MAX_INFO`] or a roster of more than 65,535 players cannot be written: the caller
/// bounds them ([`crate::session::SessionConfig::max_info`], `max_players`).
pub fn encode(out: &mut Vec<u8>, session: SessionId, message: &SessionMessage) {
    let ty = match message {
        SessionMessage::Submit { .. } => MessageType::Submit,
        SessionMessage::Join { .. } => MessageType::Join,
        SessionMessage::Leave => MessageType::Leave,
        SessionMessage::Entry(_) => MessageType::Entry,
        SessionMessage::Roster { .. } => MessageType::Roster,
        SessionMessage::Tip { .. } => MessageType::Tip,
        SessionMessage::StateRequest { .. } => MessageType::StateRequest,
        SessionMessage::StateReply { .. } => MessageType::StateReply,
        SessionMessage::Begin { .. } => MessageType::Begin,
        SessionMessage::Nack { .. } => MessageType::Nack,
        SessionMessage::Refused { .. } => MessageType::Refused,
        SessionMessage::JoinRefused { .. } => MessageType::JoinRefused,
        SessionMessage::Rebase { .. } => MessageType::Rebase,
        SessionMessage::RosterRequest { .. } => MessageType::RosterRequest,
        SessionMessage::SnapshotRequest { .. } => MessageType::SnapshotRequest,
        SessionMessage::SnapshotChunk { .. } => MessageType::SnapshotChunk,
        SessionMessage::NoSnapshot { .. } => MessageType::NoSnapshot,
    };
    let header = SessionHeader { session: session.0.into(), message: ty as u8, reserved: [0; 3] };
    out.extend_from_slice(header.as_bytes());
    match message {
        SessionMessage::Submit { submit, payload } => {
            out.extend_from_slice(&submit.0.to_be_bytes());
            out.extend_from_slice(payload);
        }
        SessionMessage::Join { info } => out.extend_from_slice(info),
        SessionMessage::Leave => {}
        SessionMessage::Entry(entry) => encode_entry(out, entry),
        SessionMessage::Roster { epoch, index, last, players, placed } => {
            debug_assert!(players.len() <= usize::from(u16::MAX) && placed.len() <= usize::from(u16::MAX));
            let count = u16::try_from(players.len()).unwrap_or(u16::MAX);
            let marks = u16::try_from(placed.len()).unwrap_or(u16::MAX);
            let head = RosterHeader {
                epoch: epoch_field(*epoch),
                index: (*index).into(),
                last: opt_epoch_field(*last),
                count: count.into(),
                placed: marks.into(),
            };
            out.extend_from_slice(head.as_bytes());
            for (id, info) in players.iter().take(usize::from(count)) {
                debug_assert!(info.len() <= MAX_INFO);
                let info = &info[..info.len().min(MAX_INFO)];
                out.extend_from_slice(&id.0.to_be_bytes());
                out.push(info.len() as u8);
                out.extend_from_slice(info);
            }
            for (player, submit) in placed.iter().take(usize::from(marks)) {
                out.extend_from_slice(&player.0.to_be_bytes());
                out.extend_from_slice(&submit.0.to_be_bytes());
            }
        }
        SessionMessage::StateRequest { epoch } | SessionMessage::RosterRequest { epoch } => {
            out.extend_from_slice(epoch_field(*epoch).as_bytes());
        }
        SessionMessage::Tip { epoch, last, tail } => {
            out.extend_from_slice(TipBody { epoch: epoch_field(*epoch), last: (*last).into(), tail: opt_epoch_field(*tail) }.as_bytes());
        }
        SessionMessage::Begin { epoch, start } => {
            out.extend_from_slice(EpochIndex { epoch: epoch_field(*epoch), index: (*start).into() }.as_bytes());
        }
        SessionMessage::StateReply { epoch, delivered, players, runs } => {
            debug_assert!(runs.len() <= crate::session::MAX_RUNS);
            let runs = &runs[..runs.len().min(crate::session::MAX_RUNS)];
            let head = StateReplyHeader {
                epoch: epoch_field(*epoch),
                delivered: (*delivered).into(),
                players: (*players).into(),
                count: runs.len() as u8,
                reserved: 0,
            };
            out.extend_from_slice(head.as_bytes());
            for (e, first) in runs {
                out.extend_from_slice(RunField { epoch: epoch_field(*e), first: (*first).into() }.as_bytes());
            }
        }
        SessionMessage::Rebase { epoch, fork, last } => {
            let body = RebaseBody {
                epoch: epoch_field(*epoch),
                fork: fork.unwrap_or(0).into(),
                last: (*last).into(),
                known: u8::from(fork.is_some()),
                reserved: [0; 3],
            };
            out.extend_from_slice(body.as_bytes());
        }
        SessionMessage::Nack { from, to } => {
            out.extend_from_slice(&from.to_be_bytes());
            out.extend_from_slice(&to.to_be_bytes());
        }
        SessionMessage::Refused { submit, reason } => {
            out.extend_from_slice(RefusedBody { submit: submit.0.into(), reason: refuse_code(*reason), reserved: [0; 3] }.as_bytes());
        }
        SessionMessage::JoinRefused { reason } => out.extend_from_slice(&[refuse_code(*reason), 0, 0, 0]),
        SessionMessage::SnapshotRequest { after, index, missing } => {
            let body = SnapshotRequestBody { after: (*after).into(), index: (*index).into(), missing: (*missing).into() };
            out.extend_from_slice(body.as_bytes());
        }
        SessionMessage::SnapshotChunk { index, tail, total, size, number, data } => {
            let head = SnapshotChunkHeader {
                index: (*index).into(),
                tail: epoch_field(*tail),
                total: (*total).into(),
                size: (*size).into(),
                number: *number,
                reserved: 0,
            };
            out.extend_from_slice(head.as_bytes());
            out.extend_from_slice(data);
        }
        SessionMessage::NoSnapshot { after } => out.extend_from_slice(&after.to_be_bytes()),
    }
}

fn encode_entry(out: &mut Vec<u8>, entry: &Entry) {
    let (body, reason) = match &entry.body {
        EntryBody::Event { .. } => (1, 0),
        EntryBody::Joined { .. } => (2, 0),
        EntryBody::Left { reason: LeaveReason::Left, .. } => (3, 1),
        EntryBody::Left { reason: LeaveReason::Lost, .. } => (3, 2),
    };
    let head = EntryHeader {
        index: entry.index.into(),
        epoch: epoch_field(entry.epoch),
        prev: opt_epoch_field(entry.prev),
        body,
        reason,
        reserved: [0; 2],
        player: entry.player().0.into(),
    };
    out.extend_from_slice(head.as_bytes());
    match &entry.body {
        EntryBody::Event { submit, payload, .. } => {
            out.extend_from_slice(&submit.0.to_be_bytes());
            out.extend_from_slice(payload);
        }
        EntryBody::Joined { info, .. } => out.extend_from_slice(info),
        EntryBody::Left { .. } => {}
    }
}

/// The session id of a body, without decoding the rest (`None`: too short).
pub fn session_of(body: &[u8]) -> Option<SessionId> {
    SessionHeader::ref_from_prefix(body).ok().map(|(h, _)| SessionId(h.session.get()))
}

/// Validates and decodes a session body.
pub fn decode(body: &[u8]) -> Result<(SessionId, SessionMessage), DropReason> {
    read(body, true)
}

/// Validates a session body as [`decode`] does, without building the message (nothing is
/// allocated: the relay path's check). Returns its session id.
pub fn validate(body: &[u8]) -> Result<SessionId, DropReason> {
    read(body, false).map(|(session, _)| session)
}

/// Decodes `body`; with `build` false the variable bytes are checked but not copied (the
/// message's byte fields are left empty, which allocates nothing).
fn read(body: &[u8], build: bool) -> Result<(SessionId, SessionMessage), DropReason> {
    let bad = DropReason::MalformedBody;
    let bytes = |b: &[u8]| if build { b.to_vec() } else { Vec::new() };
    let (head, rest) = SessionHeader::ref_from_prefix(body).map_err(|_| bad)?;
    let session = SessionId(head.session.get());
    let message = match head.message {
        1 => {
            let (submit, payload) = U32::ref_from_prefix(rest).map_err(|_| bad)?;
            SessionMessage::Submit { submit: submit_id(submit.get())?, payload: bytes(payload) }
        }
        2 if rest.len() <= MAX_INFO => SessionMessage::Join { info: bytes(rest) },
        3 if rest.is_empty() => SessionMessage::Leave,
        4 => SessionMessage::Entry(read_entry(rest, bytes)?),
        5 => read_roster(rest, build)?,
        7 => SessionMessage::StateRequest { epoch: epoch_of(EpochField::ref_from_bytes(rest).map_err(|_| bad)?)? },
        14 => SessionMessage::RosterRequest { epoch: epoch_of(EpochField::ref_from_bytes(rest).map_err(|_| bad)?)? },
        6 => {
            let body = TipBody::ref_from_bytes(rest).map_err(|_| bad)?;
            let (last, tail) = (body.last.get(), opt_epoch_of(&body.tail)?);
            if (last == 0) != tail.is_none() {
                return Err(bad);
            }
            SessionMessage::Tip { epoch: epoch_of(&body.epoch)?, last, tail }
        }
        9 => {
            let body = EpochIndex::ref_from_bytes(rest).map_err(|_| bad)?;
            let (epoch, start) = (epoch_of(&body.epoch)?, body.index.get());
            if start == 0 {
                return Err(bad);
            }
            SessionMessage::Begin { epoch, start }
        }
        8 => read_state_reply(rest, build)?,
        13 => {
            let body = RebaseBody::ref_from_bytes(rest).map_err(|_| bad)?;
            let (fork, last) = (body.fork.get(), body.last.get());
            let fork = match body.known {
                1 if fork <= last => Some(fork),
                0 if fork == 0 => None,
                _ => return Err(bad),
            };
            SessionMessage::Rebase { epoch: epoch_of(&body.epoch)?, fork, last }
        }
        10 => {
            let range = <[U64; 2]>::ref_from_bytes(rest).map_err(|_| bad)?;
            let (from, to) = (range[0].get(), range[1].get());
            if from == 0 || from >= to {
                return Err(bad);
            }
            SessionMessage::Nack { from, to }
        }
        11 => {
            let body = RefusedBody::ref_from_bytes(rest).map_err(|_| bad)?;
            SessionMessage::Refused { submit: submit_id(body.submit.get())?, reason: refuse_reason(body.reason)? }
        }
        12 => {
            let tail = <[u8; 4]>::ref_from_bytes(rest).map_err(|_| bad)?;
            SessionMessage::JoinRefused { reason: refuse_reason(tail[0])? }
        }
        15 => {
            let body = SnapshotRequestBody::ref_from_bytes(rest).map_err(|_| bad)?;
            let (after, index, missing) = (body.after.get(), body.index.get(), body.missing.get());
            if (index == 0) != (missing == 0) || (index != 0 && index < after) {
                return Err(bad);
            }
            SessionMessage::SnapshotRequest { after, index, missing }
        }
        16 => read_snapshot_chunk(rest, bytes)?,
        17 => SessionMessage::NoSnapshot { after: U64::ref_from_bytes(rest).map_err(|_| bad)?.get() },
        _ => return Err(bad),
    };
    Ok((session, message))
}

fn read_snapshot_chunk(rest: &[u8], bytes: impl Fn(&[u8]) -> Vec<u8>) -> Result<SessionMessage, DropReason> {
    let bad = DropReason::MalformedBody;
    let (head, data) = SnapshotChunkHeader::ref_from_prefix(rest).map_err(|_| bad)?;
    let (index, total, size, number) = (head.index.get(), head.total.get(), head.size.get(), head.number);
    if index == 0 || size == 0 || head.reserved != 0 {
        return Err(bad);
    }
    let (total_, size_) = (total as usize, usize::from(size));
    let count = total_.div_ceil(size_).max(1);
    let start = usize::from(number) * size_;
    let expected = if usize::from(number) + 1 == count { total_ - start.min(total_) } else { size_ };
    if count > crate::session::MAX_CHUNKS || usize::from(number) >= count || data.len() != expected {
        return Err(bad);
    }
    let tail = epoch_of(&head.tail)?;
    Ok(SessionMessage::SnapshotChunk { index, tail, total, size, number, data: bytes(data) })
}

fn submit_id(raw: u32) -> Result<SubmitId, DropReason> {
    if raw == 0 { Err(DropReason::MalformedBody) } else { Ok(SubmitId(raw)) }
}

fn player_id(raw: u64) -> Result<NodeId, DropReason> {
    let id = NodeId(raw);
    if id.is_unicast() { Ok(id) } else { Err(DropReason::MalformedBody) }
}

fn epoch_of(e: &EpochField) -> Result<Epoch, DropReason> {
    Ok(Epoch { term: e.term.get(), sequencer: player_id(e.sequencer.get())? })
}

/// An epoch field that may be all zero (none).
fn opt_epoch_of(e: &EpochField) -> Result<Option<Epoch>, DropReason> {
    if e.term.get() == 0 && e.sequencer.get() == 0 { Ok(None) } else { epoch_of(e).map(Some) }
}

/// A state reply's runs: at most `MAX_RUNS`, first indices rising from 1 and at most
/// `delivered`.
fn read_state_reply(rest: &[u8], build: bool) -> Result<SessionMessage, DropReason> {
    let bad = DropReason::MalformedBody;
    let (head, tail) = StateReplyHeader::ref_from_prefix(rest).map_err(|_| bad)?;
    let fields = <[RunField]>::ref_from_bytes(tail).map_err(|_| bad)?;
    let delivered = head.delivered.get();
    if fields.len() != usize::from(head.count) || fields.len() > crate::session::MAX_RUNS {
        return Err(bad);
    }
    let mut runs = Vec::new();
    let mut floor = 0;
    for f in fields {
        let first = f.first.get();
        if first <= floor || first > delivered {
            return Err(bad);
        }
        floor = first;
        let epoch = epoch_of(&f.epoch)?;
        if build {
            runs.push((epoch, first));
        }
    }
    Ok(SessionMessage::StateReply { epoch: epoch_of(&head.epoch)?, delivered, players: head.players.get(), runs })
}

fn read_entry(rest: &[u8], bytes: impl Fn(&[u8]) -> Vec<u8>) -> Result<Entry, DropReason> {
    let bad = DropReason::MalformedBody;
    let (head, tail) = EntryHeader::ref_from_prefix(rest).map_err(|_| bad)?;
    let index = head.index.get();
    if index == 0 {
        return Err(bad);
    }
    let player = player_id(head.player.get())?;
    let body = match (head.body, head.reason) {
        (1, 0) => {
            let (submit, payload) = U32::ref_from_prefix(tail).map_err(|_| bad)?;
            EntryBody::Event { submitter: player, submit: submit_id(submit.get())?, payload: bytes(payload) }
        }
        (2, 0) if tail.len() <= MAX_INFO => EntryBody::Joined { player, info: bytes(tail) },
        (3, 1) if tail.is_empty() => EntryBody::Left { player, reason: LeaveReason::Left },
        (3, 2) if tail.is_empty() => EntryBody::Left { player, reason: LeaveReason::Lost },
        _ => return Err(bad),
    };
    let prev = opt_epoch_of(&head.prev)?;
    if (index == 1) != prev.is_none() {
        return Err(bad);
    }
    Ok(Entry { index, epoch: epoch_of(&head.epoch)?, prev, body })
}

/// A roster's players; a player listed twice is the session's to collapse (its list is a
/// map), not a wire error.
fn read_roster(rest: &[u8], build: bool) -> Result<SessionMessage, DropReason> {
    let bad = DropReason::MalformedBody;
    let (head, mut tail) = RosterHeader::ref_from_prefix(rest).map_err(|_| bad)?;
    let count = usize::from(head.count.get());
    // Each player takes at least 9 bytes: a count the body cannot hold allocates nothing.
    if count > tail.len() / 9 {
        return Err(bad);
    }
    let mut players = if build { Vec::with_capacity(count) } else { Vec::new() };
    for _ in 0..count {
        let (id, after) = U64::ref_from_prefix(tail).map_err(|_| bad)?;
        let (&len, after) = after.split_first().ok_or(bad)?;
        let info = after.get(..usize::from(len)).ok_or(bad)?;
        let id = player_id(id.get())?;
        if build {
            players.push((id, info.to_vec()));
        }
        tail = &after[usize::from(len)..];
    }
    let marks = <[PlacedMark]>::ref_from_bytes(tail).map_err(|_| bad)?;
    if marks.len() != usize::from(head.placed.get()) {
        return Err(bad);
    }
    let mut placed = Vec::new();
    for m in marks {
        let id = player_id(m.player.get())?;
        let submit = submit_id(m.submit.get())?;
        if build {
            placed.push((id, submit));
        }
    }
    let (index, last) = (head.index.get(), opt_epoch_of(&head.last)?);
    if (index == 0) != last.is_none() {
        return Err(bad);
    }
    Ok(SessionMessage::Roster { epoch: epoch_of(&head.epoch)?, index, last, players, placed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const E: Epoch = Epoch { term: 7, sequencer: NodeId(0x0a) };
    const OLD: Epoch = Epoch { term: 6, sequencer: NodeId(0x0b) };

    fn every_message() -> Vec<SessionMessage> {
        let event = EntryBody::Event { submitter: NodeId(2), submit: SubmitId(3), payload: b"roll 6".to_vec() };
        vec![
            SessionMessage::Submit { submit: SubmitId(1), payload: b"hi".to_vec() },
            SessionMessage::Join { info: b"alice".to_vec() },
            SessionMessage::Leave,
            SessionMessage::Entry(Entry { index: 9, epoch: E, prev: Some(OLD), body: event }),
            SessionMessage::Entry(Entry { index: 1, epoch: E, prev: None, body: EntryBody::Joined { player: NodeId(2), info: vec![] } }),
            SessionMessage::Entry(Entry { index: 2, epoch: E, prev: Some(E), body: EntryBody::Left { player: NodeId(2), reason: LeaveReason::Lost } }),
            SessionMessage::Roster {
                epoch: E,
                index: 4,
                last: Some(OLD),
                players: vec![(NodeId(2), b"a".to_vec()), (NodeId(3), vec![])],
                placed: vec![(NodeId(3), SubmitId(77))],
            },
            SessionMessage::Roster { epoch: E, index: 0, last: None, players: vec![], placed: vec![] },
            SessionMessage::Tip { epoch: E, last: 0, tail: None },
            SessionMessage::Tip { epoch: E, last: 9, tail: Some(OLD) },
            SessionMessage::StateRequest { epoch: E },
            SessionMessage::RosterRequest { epoch: E },
            SessionMessage::StateReply { epoch: E, delivered: 12, players: 4, runs: vec![(OLD, 3), (E, 10)] },
            SessionMessage::StateReply { epoch: E, delivered: 0, players: 0, runs: vec![] },
            SessionMessage::Rebase { epoch: E, fork: Some(4), last: 11 },
            SessionMessage::Rebase { epoch: E, fork: None, last: 11 },
            SessionMessage::Begin { epoch: E, start: 13 },
            SessionMessage::Nack { from: 3, to: 5 },
            SessionMessage::Refused { submit: SubmitId(4), reason: RefuseReason::TooLarge },
            SessionMessage::JoinRefused { reason: RefuseReason::Full },
            SessionMessage::SnapshotRequest { after: 4, index: 0, missing: 0 },
            SessionMessage::SnapshotRequest { after: 4, index: 6, missing: 0b1010 },
            SessionMessage::SnapshotChunk { index: 6, tail: E, total: 10, size: 4, number: 2, data: b"ab".to_vec() },
            SessionMessage::SnapshotChunk { index: 6, tail: OLD, total: 10, size: 4, number: 1, data: b"abcd".to_vec() },
            SessionMessage::SnapshotChunk { index: 1, tail: E, total: 0, size: 512, number: 0, data: vec![] },
            SessionMessage::NoSnapshot { after: 4 },
        ]
    }

    #[test]
    fn every_message_decodes_to_what_was_encoded_at_its_announced_length() {
        for m in every_message() {
            let mut out = Vec::new();
            encode(&mut out, SessionId(0x5e55), &m);
            assert_eq!(out.len(), encoded_len(&m), "{m:?}");
            assert_eq!(session_of(&out), Some(SessionId(0x5e55)));
            assert_eq!(validate(&out), Ok(SessionId(0x5e55)));
            assert_eq!(decode(&out), Ok((SessionId(0x5e55), m)));
        }
    }

    #[test]
    fn every_truncation_and_every_bad_field_is_malformed() {
        for m in every_message() {
            let mut out = Vec::new();
            encode(&mut out, SessionId(1), &m);
            // Bodies that end in variable bytes decode when cut inside those bytes; every
            // cut into the fixed part is malformed.
            let mut fixed = m.clone();
            match &mut fixed {
                SessionMessage::Submit { payload, .. } => payload.clear(),
                SessionMessage::Join { info } => info.clear(),
                SessionMessage::Entry(Entry { body: EntryBody::Event { payload, .. }, .. }) => payload.clear(),
                SessionMessage::Entry(Entry { body: EntryBody::Joined { info, .. }, .. }) => info.clear(),
                _ => {}
            }
            let variable = fixed != m;
            for cut in 0..out.len() {
                let r = decode(&out[..cut]);
                assert_eq!(r.as_ref().err().copied(), validate(&out[..cut]).err(), "validate agrees with decode");
                if !variable || cut < encoded_len(&fixed) {
                    assert_eq!(r.map(|_| ()), Err(DropReason::MalformedBody), "{m:?} cut at {cut}");
                }
            }
        }
        let mut nack = Vec::new();
        encode(&mut nack, SessionId(1), &SessionMessage::Nack { from: 5, to: 6 });
        nack[SESSION_HEADER_LEN + 15] = 5; // to == from
        assert_eq!(decode(&nack), Err(DropReason::MalformedBody));
        let mut refused = Vec::new();
        encode(&mut refused, SessionId(1), &SessionMessage::JoinRefused { reason: RefuseReason::Full });
        refused[SESSION_HEADER_LEN] = 9;
        assert_eq!(decode(&refused), Err(DropReason::MalformedBody));
        let mut ty = refused.clone();
        ty[8] = 13;
        assert_eq!(decode(&ty), Err(DropReason::MalformedBody));
        // Snapshot requests and chunks whose fields disagree.
        for m in [
            SessionMessage::SnapshotRequest { after: 4, index: 3, missing: 1 },
            SessionMessage::SnapshotRequest { after: 4, index: 5, missing: 0 },
            SessionMessage::SnapshotRequest { after: 4, index: 0, missing: 1 },
            SessionMessage::SnapshotChunk { index: 6, tail: E, total: 10, size: 4, number: 2, data: b"abc".to_vec() },
            SessionMessage::SnapshotChunk { index: 6, tail: E, total: 10, size: 4, number: 3, data: vec![] },
            SessionMessage::SnapshotChunk { index: 6, tail: E, total: 10, size: 4, number: 1, data: b"ab".to_vec() },
            SessionMessage::SnapshotChunk { index: 6, tail: E, total: 65, size: 1, number: 0, data: b"a".to_vec() },
            SessionMessage::SnapshotChunk { index: 0, tail: E, total: 1, size: 1, number: 0, data: b"a".to_vec() },
            SessionMessage::SnapshotChunk { index: 6, tail: E, total: 1, size: 0, number: 0, data: b"a".to_vec() },
        ] {
            let mut out = Vec::new();
            encode(&mut out, SessionId(1), &m);
            assert_eq!(decode(&out), Err(DropReason::MalformedBody), "{m:?}");
        }
    }

    #[test]
    fn a_roster_count_the_body_cannot_hold_is_refused_before_allocating() {
        let mut out = Vec::new();
        encode(&mut out, SessionId(1), &SessionMessage::Roster { epoch: E, index: 1, last: Some(E), players: vec![], placed: vec![] });
        out[SESSION_HEADER_LEN + 32..SESSION_HEADER_LEN + 34].copy_from_slice(&u16::MAX.to_be_bytes());
        assert_eq!(decode(&out), Err(DropReason::MalformedBody));
        let broadcast = SessionMessage::Roster { epoch: E, index: 1, last: Some(E), players: vec![(NodeId::BROADCAST, vec![])], placed: vec![] };
        let mut out = Vec::new();
        encode(&mut out, SessionId(1), &broadcast);
        assert_eq!(decode(&out), Err(DropReason::MalformedBody), "a player that is not a node");
        assert_eq!(validate(&out), Err(DropReason::MalformedBody));
    }
}
