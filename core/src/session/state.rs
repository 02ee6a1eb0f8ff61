//! The session state machine: its parts, the outputs queue and the transitions the handlers
//! share (delivering an entry, placing one as sequencer).

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec::Vec;

use super::snapshot::{Catchup, Served, Wanted};
use super::{Entry, EntryBody, Epoch, LeaveReason, Log, SessionAction, SessionConfig, SessionEvent, SessionMessage, SessionMetrics, SubmitId};
use crate::{Instant, NodeId};

/// Whether this node plays in the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Membership {
    /// Not a player (never joined, or left): it may still sequence for the partition.
    Out,
    /// Asked to join; its own `Joined` entry has not been delivered yet.
    Joining {
        /// Its player info.
        info: Vec<u8>,
        /// When the join is sent again.
        retry_at: Instant,
    },
    /// A player: it delivers every entry from its `Joined` entry on.
    In,
}

/// A submit of this node not yet seen in the stream.
#[derive(Clone, Debug)]
pub(super) struct Pending {
    pub(super) submit: SubmitId,
    pub(super) payload: Vec<u8>,
    pub(super) deadline: Instant,
    pub(super) retry_at: Instant,
    /// The sequencer refused it as not a member's (it waits for this node's join).
    pub(super) refused: bool,
}

/// The submits of one submitter a sequencer has placed: the highest, and the 64 below it.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct SubmitWindow {
    top: u32,
    below: u64,
}

/// A submit id this far from the window's top is a new instance of the submitter's
/// session (its node restarted and drew a new base, [`Session::with_submit_base`]).
const NEW_INSTANCE: u32 = 1 << 20;

impl SubmitWindow {
    /// A window that counts `top` and every id below it as placed (what a new sequencer
    /// knows from a roster: the highest submit id in the sender's log).
    pub(super) fn through(top: SubmitId) -> Self {
        SubmitWindow { top: top.0, below: u64::MAX }
    }

    /// Records `id`; false if it was placed before (or is too old to tell).
    pub(super) fn insert(&mut self, id: SubmitId) -> bool {
        let id = id.0;
        if self.top != 0 && id.abs_diff(self.top) > NEW_INSTANCE {
            *self = SubmitWindow::default();
        }
        if id > self.top {
            // The old top moves to bit `shift - 1`; at a shift of 64 it is the window's last.
            let shift = id - self.top;
            self.below = self.below.checked_shl(shift).unwrap_or(0) | 1u64.checked_shl(shift - 1).unwrap_or(0);
            if self.top == 0 {
                self.below = 0;
            }
            self.top = id;
            return true;
        }
        let back = self.top - id;
        if back == 0 || back > 64 {
            return false;
        }
        let bit = 1u64 << (back - 1);
        let fresh = self.below & bit == 0;
        self.below |= bit;
        fresh
    }
}

/// Where a sequencer is in taking over the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Asked the members how far they delivered; waiting for `waiting` until `until`.
    Recovering {
        until: Instant,
        waiting: BTreeSet<NodeId>,
        /// The history to adopt so far (`handle_merge.rs`).
        best: Best,
    },
    /// Fetching the entries up to `target` from `from` (who delivered them), asked for up
    /// to (not including) `asked_to` so far; `last` is the epoch of entry `target`.
    Fetching { from: NodeId, target: u64, last: Option<Epoch>, asked_to: u64, until: Instant },
    /// Placing entries.
    Active,
}

/// A member's history as a new sequencer compares them: who, how far, and its epoch runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Best {
    pub(super) from: NodeId,
    pub(super) delivered: u64,
    pub(super) players: u16,
    pub(super) runs: Vec<(Epoch, u64)>,
}

impl Best {
    /// The epoch of its last entry.
    pub(super) fn last_epoch(&self) -> Option<Epoch> {
        self.runs.last().map(|(e, _)| *e)
    }

    /// Whether `other` is a prefix of this history (or too old to tell apart from one).
    fn extends(&self, other: &Best) -> bool {
        other.delivered <= self.delivered
            && (other.delivered == 0
                || Log::epoch_in(&self.runs, self.delivered, other.delivered).is_none_or(|e| Some(e) == other.last_epoch()))
    }

    /// Whether this history is adopted rather than `other` (`handle_merge.rs`): of two
    /// where one extends the other, the longer; of two forked ones, the one with more
    /// players, then the later last epoch, then the longer, then the lower node.
    pub(super) fn beats(&self, other: &Best) -> bool {
        if self.extends(other) {
            return self.delivered > other.delivered;
        }
        if other.extends(self) {
            return false;
        }
        let key = |b: &Best| (b.players, b.last_epoch(), b.delivered, core::cmp::Reverse(b.from));
        key(self) > key(other)
    }
}

/// What this node does while it sequences the session for its partition.
#[derive(Clone, Debug)]
pub(super) struct Sequencer {
    pub(super) epoch: Epoch,
    pub(super) phase: Phase,
    /// Index the next entry gets (once active).
    pub(super) next_index: u64,
    /// Submits placed, per submitter.
    pub(super) placed: BTreeMap<NodeId, SubmitWindow>,
    /// When the stream's tip is announced next.
    pub(super) tip_at: Instant,
    /// Players the partition does not hold, since when (`handle_loss.rs`).
    pub(super) missing: BTreeMap<NodeId, Instant>,
    /// The members' replies to the hand-over (at most `max_players`), to rebase at `Begin`
    /// those whose history forked from the adopted one.
    pub(super) replies: Vec<Best>,
}

/// One node's part in one game session: member (delivering the ordered stream, submitting)
/// and, while its partition's coordinator, sequencer.
///
/// Driving it: call [`Session::on_coordinator`] whenever the election names a coordinator
/// (or loses one), the `join`/`leave`/`submit` methods for the application, and
/// [`Session::on_message`] for each message from another node; call
/// [`Session::on_timeout`] at [`Session::next_deadline`]; after each call drain
/// [`Session::poll_action`].
#[derive(Clone, Debug)]
pub struct Session {
    pub(super) config: SessionConfig,
    pub(super) me: NodeId,
    /// The epoch this node follows (`None`: no coordinator known).
    pub(super) epoch: Option<Epoch>,
    pub(super) membership: Membership,
    /// Players and their info, as of the last delivered entry.
    pub(super) players: BTreeMap<NodeId, Vec<u8>>,
    /// Delivered entries kept for repair (and, while sequencing, the entries placed).
    pub(super) log: Log,
    /// Index of the next entry to deliver (0: not started, waiting for the own `Joined`).
    pub(super) next: u64,
    /// The epoch of entry `next − 1` (`None` before the first): the next entry's `prev`
    /// must name it.
    pub(super) tail: Option<Epoch>,
    /// Since the last report, an entry showed that this node's history forked from the
    /// followed epoch's; it is reported to the sequencer (`handle_merge.rs`).
    pub(super) forked: bool,
    /// When a fork was last reported (reports are at most every `repair_retry`).
    pub(super) fork_reported: Option<Instant>,
    /// Index of the last entry handed to the game (0: none).
    pub(super) shown: u64,
    /// Entries received beyond a gap.
    pub(super) ahead: BTreeMap<u64, Entry>,
    /// Highest index known to exist (entries and tips seen).
    pub(super) known_last: u64,
    /// Since when entries are known to be missing, and when they were last asked for.
    pub(super) gap: Option<(Instant, Option<Instant>)>,
    /// Negative acknowledgements sent for the open gap (who is asked rotates).
    pub(super) gap_asks: u32,
    pub(super) sequencer: Option<Sequencer>,
    /// The first index the followed epoch places (from its `Begin`), once known.
    pub(super) epoch_start: Option<u64>,
    pub(super) last_submit: u32,
    pub(super) pending: VecDeque<Pending>,
    /// This node's catch-up, while its game waits for a snapshot (`handle_snapshot.rs`).
    pub(super) catchup: Option<Catchup>,
    /// The snapshot its application last provided, while others may ask for it.
    pub(super) served: Option<Served>,
    /// Players waiting for its application to provide one.
    pub(super) wanted: Option<Wanted>,
    /// The index the game's state was installed at (a snapshot's): it cannot roll back below.
    pub(super) floor: u64,
    /// The game plays on without the state before `floor` (no snapshot came): it provides
    /// none, so that a joiner finds a player that holds the whole state.
    pub(super) stateless: bool,
    pub(super) actions: VecDeque<SessionAction>,
    pub(super) metrics: SessionMetrics,
}

impl Session {
    /// A session this node does not play in yet (see [`Session::join`]). `config` must
    /// validate ([`SessionConfig::validate`]).
    pub fn new(config: SessionConfig, me: NodeId) -> Self {
        Session {
            config,
            me,
            epoch: None,
            membership: Membership::Out,
            players: BTreeMap::new(),
            log: Log::new(config.log_entries),
            next: 0,
            tail: None,
            forked: false,
            fork_reported: None,
            shown: 0,
            ahead: BTreeMap::new(),
            known_last: 0,
            gap: None,
            gap_asks: 0,
            sequencer: None,
            epoch_start: None,
            last_submit: 0,
            pending: VecDeque::new(),
            catchup: None,
            served: None,
            wanted: None,
            floor: 0,
            stateless: false,
            actions: VecDeque::new(),
            metrics: SessionMetrics::default(),
        }
    }

    /// The next output, in the order they arose.
    pub fn poll_action(&mut self) -> Option<SessionAction> {
        self.actions.pop_front()
    }

    /// The epoch this node follows.
    pub fn epoch(&self) -> Option<Epoch> {
        self.epoch
    }

    /// Whether this node sequences the session now (its hand-over done: it places entries).
    pub fn is_sequencer(&self) -> bool {
        self.sequencer.as_ref().is_some_and(|s| s.phase == Phase::Active)
    }

    /// Whether this node is a player (its own `Joined` entry was delivered) whose game has
    /// caught up (from a snapshot, when it needed one): it may submit.
    pub fn is_member(&self) -> bool {
        self.plays()
    }

    /// Whether this node is a player still waiting for the snapshot its game starts from.
    pub fn is_catching_up(&self) -> bool {
        self.catchup.is_some()
    }

    /// The players, as of the last delivered entry, with their info.
    pub fn players(&self) -> impl Iterator<Item = (NodeId, &[u8])> {
        self.players.iter().map(|(id, info)| (*id, info.as_slice()))
    }

    /// The same session whose submit ids start after `base` (the node draws it at random:
    /// a restarted node's new session does not reuse its old one's ids, which a sequencer
    /// would take for retries of events it placed).
    pub fn with_submit_base(mut self, base: u32) -> Self {
        self.last_submit = base;
        self
    }

    /// Whether the session is kept only for others' repairs: this node neither plays, nor
    /// joins, nor sequences it, and waits for no submit.
    pub fn is_idle(&self) -> bool {
        self.membership == Membership::Out && self.sequencer.is_none() && self.pending.is_empty()
    }

    /// The players and their info, as a roster lists them.
    pub(super) fn roster_players(&self) -> Vec<(NodeId, Vec<u8>)> {
        self.players.iter().map(|(id, info)| (*id, info.clone())).collect()
    }

    /// Index of the last entry delivered (0: none).
    pub fn delivered(&self) -> u64 {
        self.next.saturating_sub(1)
    }

    /// Counters.
    pub fn metrics(&self) -> &SessionMetrics {
        &self.metrics
    }

    /// The log of delivered entries.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// When [`Session::on_timeout`] is due next (`None`: nothing to wait for).
    pub fn next_deadline(&self) -> Option<Instant> {
        let pending = self.pending.iter().map(|p| p.retry_at.min(p.deadline));
        let joining = match &self.membership {
            Membership::Joining { retry_at, .. } => Some(*retry_at),
            _ => None,
        };
        let gap = self.gap.map(|(since, asked)| match asked {
            None => since + self.config.repair_delay,
            Some(at) => at + self.config.repair_retry,
        });
        let tip = self.sequencer.as_ref().map(|s| match &s.phase {
            Phase::Recovering { until, .. } | Phase::Fetching { until, .. } => *until,
            Phase::Active => s.tip_at,
        });
        pending.chain(joining).chain(gap).chain(tip).chain(self.next_loss()).chain(self.next_snapshot_deadline()).min()
    }

    /// The node the messages for the sequencer go to, and whether that is this node.
    pub(super) fn sequencer_node(&self) -> Option<NodeId> {
        self.epoch.map(|e| e.sequencer)
    }

    /// Queues `message` for the sequencer (handled here when this node sequences).
    pub(super) fn send_to_sequencer(&mut self, now: Instant, message: SessionMessage) {
        match self.sequencer_node() {
            Some(s) if s == self.me => self.on_message(now, self.me, message),
            Some(to) => self.actions.push_back(SessionAction::Send { to, message }),
            None => {}
        }
    }

    /// Delivers `entry` (the next index) and whatever it unblocks ahead of it. An entry
    /// that does not follow this node's last one (its `prev` names another epoch) is
    /// dropped: the histories forked, which is reported to the sequencer.
    pub(super) fn deliver_in_order(&mut self, now: Instant, entry: Entry) {
        if !self.follows_tail(&entry) {
            return;
        }
        self.apply(now, entry);
        while let Some(next) = self.ahead.remove(&self.next) {
            if !self.follows_tail(&next) {
                break;
            }
            self.apply(now, next);
        }
        if self.ahead.is_empty() && self.known_last < self.next {
            self.gap = None;
            self.gap_asks = 0;
        }
        if self.catchup.is_some() {
            self.try_install(now);
        }
    }

    /// Whether `entry` continues this node's history; if not, the fork is noted.
    fn follows_tail(&mut self, entry: &Entry) -> bool {
        // A history that starts here (nothing delivered, no roster) follows anything.
        if entry.prev == self.tail || (self.tail.is_none() && self.log.is_empty()) {
            return true;
        }
        self.metrics.forked_entries += 1;
        self.forked = true;
        false
    }

    /// Applies one entry at `self.next`: players, own submits and join, log, and delivery
    /// to the game while this node plays (the entry first, then what it meant for this node:
    /// its submit sequenced, its join, or its loss, after which it asks to join again).
    fn apply(&mut self, now: Instant, entry: Entry) {
        debug_assert_eq!(entry.index, self.next);
        self.next = entry.index + 1;
        self.tail = Some(entry.epoch);
        self.known_last = self.known_last.max(entry.index);
        let mut event = None;
        let mut rejoin = None;
        let mut removed = None;
        match &entry.body {
            EntryBody::Joined { player, info } => {
                self.players.insert(*player, info.clone());
                if *player == self.me && matches!(self.membership, Membership::Joining { .. }) {
                    self.membership = Membership::In;
                    event = Some(SessionEvent::Joined { index: entry.index });
                    // Its game needs the state before this entry (`handle_snapshot.rs`).
                    self.catch_up(now, entry.index - 1);
                }
            }
            EntryBody::Left { player, reason } => {
                removed = self.players.remove(player);
                if *player == self.me && *reason == LeaveReason::Lost && self.membership == Membership::In {
                    rejoin = removed.clone();
                }
            }
            EntryBody::Event { submitter, submit, .. } if *submitter == self.me => {
                if let Some(k) = self.pending.iter().position(|p| p.submit == *submit) {
                    self.pending.remove(k);
                    event = Some(SessionEvent::Sequenced { submit: *submit, index: entry.index });
                }
            }
            EntryBody::Event { .. } => {}
        }
        if self.plays() {
            self.metrics.delivered += 1;
            self.shown = entry.index;
            self.actions.push_back(SessionAction::Deliver(entry.clone()));
        }
        match removed {
            Some(info) => self.log.push_left(entry, info),
            None => self.log.push(entry),
        }
        if let Some(info) = rejoin {
            // Lost, not leaving: it asks to join again at once (the next timeout sends it).
            event = Some(SessionEvent::Lost { index: self.next - 1 });
            self.membership = Membership::Joining { info, retry_at: Instant::from_micros(0) };
            self.cancel_catchup();
        }
        if let Some(event) = event {
            self.emit(self.next - 1, event);
        }
    }
}
