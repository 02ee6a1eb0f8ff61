//! Catching up: a node that becomes a player gets its game's state as a snapshot another
//! player's application provides, then the entries after it (the design's "state
//! pre-positioning").
//!
//! 1. **Become a player.** At its own `Joined` entry (or a roster that already lists it), a
//!    node whose game was handed nothing yet needs the state as of the entry before its
//!    history. If its log still holds every entry since the last one its game was handed (a
//!    player lost for a while and back), those are handed out and nothing else is needed.
//! 2. **Ask.** Otherwise, with other players in the session and snapshots on
//!    ([`super::SessionConfig::max_snapshot`]), it asks one player for a snapshot as of that
//!    entry or later ([`SessionMessage::SnapshotRequest`]): the sequencer first if it plays,
//!    then the others in turn, one every [`super::SessionConfig::snapshot_retry`]. Meanwhile
//!    it delivers the stream as usual (players, log, repairs) but hands nothing to its game.
//! 3. **Provide.** A player whose game has caught up and reached that entry raises
//!    [`SessionEvent::SnapshotWanted`]; its application answers with
//!    [`super::Session::provide_snapshot`] (the index of the last entry it applied, and its
//!    state). The snapshot is kept for [`super::SessionConfig::snapshot_timeout`] and serves
//!    every player that asks meanwhile. A player that cannot answers
//!    [`SessionMessage::NoSnapshot`], and the asker moves on.
//! 4. **Transfer.** Chunks of `max_payload` bytes, at most [`super::MAX_CHUNKS`], at most
//!    [`super::SessionConfig::max_repair`] per request; the asker asks for the next window
//!    when the last chunk of one arrives, and for the missing ones again on its timer.
//! 5. **Install.** Once whole, and once the stream reached the snapshot's index, the
//!    snapshot is taken only if this node holds that entry under the same epoch (the same
//!    history): [`SessionAction::Snapshot`], then the entries after it, then the events that
//!    arose meanwhile, each after its entry. A game cannot roll back below its snapshot: a
//!    rebase to before it starts over ([`SessionEvent::Rebased`] with fork 0).
//! 6. **Give up.** No snapshot within `snapshot_timeout`: [`SessionEvent::NoSnapshot`], and
//!    the game is handed what the log holds from the node's history on. Such a game lacks
//!    the state before it and serves no snapshot (it answers `NoSnapshot`), so that later
//!    joiners look for a player holding the whole state.

use alloc::vec::Vec;

use super::snapshot::{Assembly, Catchup, Served, SnapshotError, Wanted, chunk_range, chunks};
use super::state::Membership;
use super::{Epoch, Session, SessionAction, SessionEvent, SessionMessage};
use crate::{Instant, NodeId};

impl Session {
    /// Provides a snapshot of the game's state as of entry `index` (the last entry the game
    /// applied), for players catching up ([`SessionEvent::SnapshotWanted`]; providing one
    /// unasked keeps it ready for the next). It is kept for
    /// [`super::SessionConfig::snapshot_timeout`] after it was last asked for.
    pub fn provide_snapshot(&mut self, now: Instant, index: u64, data: &[u8]) -> Result<(), SnapshotError> {
        if !self.plays() {
            return Err(SnapshotError::NotPlaying);
        }
        if data.len() > self.config.max_snapshot {
            return Err(SnapshotError::TooLarge);
        }
        if index > self.shown {
            return Err(SnapshotError::Ahead);
        }
        let tail = if index == self.delivered() { self.tail } else { self.log.get(index).map(|e| e.epoch) };
        let Some(tail) = tail.filter(|_| index > 0) else { return Err(SnapshotError::TooOld) };
        self.metrics.snapshots_provided += 1;
        self.served = Some(Served { index, tail, data: data.to_vec(), until: now + self.config.snapshot_timeout });
        for (to, after) in self.wanted.take().map(|w| w.from).unwrap_or_default() {
            if after <= index {
                self.send_chunks(to, u64::MAX);
            } else {
                self.refuse_snapshot(to, after);
            }
        }
        Ok(())
    }

    /// Whether this node plays and its game has caught up (it is handed the stream).
    pub(super) fn plays(&self) -> bool {
        self.membership == Membership::In && self.catchup.is_none()
    }

    /// This node became a player (or, sequencing, skipped entries it could not fetch); its
    /// game needs the state as of entry `as_of`.
    pub(super) fn catch_up(&mut self, now: Instant, as_of: u64) {
        let covered = self.log.first().is_some_and(|f| f <= self.shown + 1) && self.log.last().is_some_and(|l| l >= as_of);
        if self.shown > 0 && covered {
            // Back after a while: the log holds everything since the game's last entry.
            let from = self.shown + 1;
            self.hand_from_log(from, as_of + 1);
            return;
        }
        let others = self.players.keys().any(|&p| p != self.me);
        if self.config.max_snapshot == 0 || as_of == 0 || !others {
            return;
        }
        let deadline = now + self.config.snapshot_timeout;
        self.catchup = Some(Catchup { after: as_of, asks: 0, refusals: 0, retry_at: now, deadline, assembly: None, deferred: Vec::new() });
        self.ask_snapshot(now);
    }

    /// An event for the game: deferred while catching up, after the entry at `index`.
    pub(super) fn emit(&mut self, index: u64, event: SessionEvent) {
        match &mut self.catchup {
            Some(c) => c.deferred.push((index, event)),
            None => self.actions.push_back(SessionAction::Event(event)),
        }
    }

    /// Stops catching up (this node is no longer a player): what was deferred is handed out.
    pub(super) fn cancel_catchup(&mut self) {
        if let Some(c) = self.catchup.take() {
            self.actions.extend(c.deferred.into_iter().map(|(_, e)| SessionAction::Event(e)));
        }
    }

    /// Asks for the snapshot (again): the missing chunks from the player sending it while
    /// it keeps sending, else a new one from the next player.
    fn ask_snapshot(&mut self, now: Instant) {
        let window = self.config.max_repair;
        let sources = self.snapshot_sources();
        let Some(c) = self.catchup.as_mut() else { return };
        c.retry_at = now + self.config.snapshot_retry;
        if let Some(a) = c.assembly.as_mut().filter(|a| a.stalls < 2) {
            a.stalls += 1;
            let (missing, last) = a.next_window(window);
            a.window_end = last;
            let message = SessionMessage::SnapshotRequest { after: c.after, index: a.index, missing };
            let to = a.from;
            self.actions.push_back(SessionAction::Send { to, message });
            return;
        }
        c.assembly = None;
        if sources.is_empty() {
            return;
        }
        let to = sources[c.asks as usize % sources.len()];
        c.asks = c.asks.wrapping_add(1);
        let message = SessionMessage::SnapshotRequest { after: c.after, index: 0, missing: 0 };
        self.actions.push_back(SessionAction::Send { to, message });
    }

    /// The players to ask, in turn: the sequencer first when it plays (it holds the newest
    /// state), then the others.
    fn snapshot_sources(&self) -> Vec<NodeId> {
        let sequencer = self.sequencer_node().filter(|s| self.players.contains_key(s));
        let rest = self.players.keys().copied().filter(|&p| Some(p) != sequencer);
        sequencer.into_iter().chain(rest).filter(|&p| p != self.me).collect()
    }

    /// `from` asks for a snapshot as of `after` or later (`index` 0), or for chunks of
    /// snapshot `index` again.
    pub(super) fn on_snapshot_request(&mut self, now: Instant, from: NodeId, after: u64, index: u64, missing: u64) {
        let keep = now + self.config.snapshot_timeout;
        let fits = |s: &Served| if index == 0 { s.index >= after } else { s.index == index };
        if let Some(served) = self.served.as_mut().filter(|s| fits(s)) {
            served.until = keep;
            return self.send_chunks(from, if index == 0 { u64::MAX } else { missing });
        }
        if index != 0 || !self.plays() || self.stateless || self.shown < after || from == self.me {
            return self.refuse_snapshot(from, after);
        }
        let until = now + self.config.snapshot_retry;
        match &mut self.wanted {
            Some(w) => {
                if !w.from.iter().any(|(p, _)| *p == from) && w.from.len() < self.config.max_players {
                    w.from.push((from, after));
                }
            }
            None => {
                self.wanted = Some(Wanted { from: alloc::vec![(from, after)], until });
                self.actions.push_back(SessionAction::Event(SessionEvent::SnapshotWanted { after }));
            }
        }
    }

    /// Sends the chunks of the snapshot held that `missing` lists, at most `max_repair`.
    fn send_chunks(&mut self, to: NodeId, missing: u64) {
        let Some(s) = &self.served else { return };
        let size = self.config.chunk_size();
        let total = s.data.len();
        let n = chunks(total, size);
        let numbers = (0..n).filter(|&k| missing & (1 << k) != 0).take(self.config.max_repair);
        for number in numbers {
            let data = s.data[chunk_range(total, size, number)].to_vec();
            let message = SessionMessage::SnapshotChunk {
                index: s.index,
                tail: s.tail,
                total: total as u32,
                size: size as u16,
                number: number as u8,
                data,
            };
            self.metrics.snapshot_chunks_sent += 1;
            self.actions.push_back(SessionAction::Send { to, message });
        }
    }

    fn refuse_snapshot(&mut self, to: NodeId, after: u64) {
        self.metrics.snapshots_refused += 1;
        self.actions.push_back(SessionAction::Send { to, message: SessionMessage::NoSnapshot { after } });
    }

    /// A chunk of a snapshot for this node's catch-up.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_snapshot_chunk(
        &mut self,
        now: Instant,
        from: NodeId,
        (index, tail): (u64, Epoch),
        total: u32,
        size: u16,
        number: u8,
        data: &[u8],
    ) {
        let (total, size, number) = (total as usize, usize::from(size), usize::from(number));
        let (max, window) = (self.config.max_snapshot, self.config.max_repair);
        let Some(c) = self.catchup.as_mut() else { return };
        if index < c.after || total > max || chunks(total, size) > super::MAX_CHUNKS {
            return;
        }
        let a = c.assembly.get_or_insert_with(|| Assembly::new(from, index, tail, total, size, window));
        if a.from != from || !a.fits(index, tail, total, size, number, data.len()) || !a.put(number, data) {
            return;
        }
        if a.missing == 0 {
            self.try_install(now);
        } else if number >= a.window_end {
            self.ask_snapshot(now);
        }
    }

    /// The player asked has no snapshot: ask the next one now, unless every player has
    /// said so since the timer last ran (then the timer asks again).
    pub(super) fn on_no_snapshot(&mut self, now: Instant, from: NodeId, after: u64) {
        let players = self.players.len() as u32;
        let Some(c) = self.catchup.as_mut().filter(|c| c.after == after) else { return };
        if c.assembly.as_ref().is_some_and(|a| a.from != from) {
            return;
        }
        c.assembly = None;
        c.refusals += 1;
        if c.refusals + 1 < players {
            self.ask_snapshot(now);
        }
    }

    /// Installs the snapshot once it is whole and the stream has reached it, if it is of
    /// this node's history and the entries after it are still held.
    pub(super) fn try_install(&mut self, now: Instant) {
        let Some(a) = self.catchup.as_ref().and_then(|c| c.assembly.as_ref()).filter(|a| a.missing == 0) else { return };
        if self.delivered() < a.index {
            return; // the stream has not reached it yet
        }
        let oldest = self.log.first().unwrap_or(self.next);
        let mine = if a.index + 1 == self.next {
            self.tail
        } else if a.index + 1 == oldest {
            self.log.range(oldest, oldest + 1).next().and_then(|e| e.prev)
        } else {
            self.log.get(a.index).map(|e| e.epoch)
        };
        let (index, tail) = (a.index, a.tail);
        if mine != Some(tail) || oldest > index + 1 {
            // Another history's state, or the entries after it are gone: ask for a fresher one.
            self.metrics.snapshots_discarded += 1;
            let c = self.catchup.as_mut().expect("catching up");
            c.after = c.after.max(oldest.saturating_sub(1));
            c.assembly = None;
            return self.ask_snapshot(now);
        }
        let c = self.catchup.take().expect("catching up");
        let data = c.assembly.expect("whole").data;
        self.metrics.snapshots_installed += 1;
        self.actions.push_back(SessionAction::Snapshot { index, data });
        self.shown = index;
        self.floor = index;
        self.stateless = false;
        self.finish_catchup(index + 1, c.deferred);
    }

    /// Hands the game the entries from `from` on and the deferred events, each after its entry.
    fn finish_catchup(&mut self, from: u64, deferred: Vec<(u64, SessionEvent)>) {
        let mut deferred = deferred.into_iter().peekable();
        while let Some((_, e)) = deferred.next_if(|(i, _)| *i < from) {
            self.actions.push_back(SessionAction::Event(e));
        }
        for entry in self.log.range(from, self.next) {
            self.metrics.delivered += 1;
            self.shown = entry.index;
            self.actions.push_back(SessionAction::Deliver(entry.clone()));
            while let Some((_, e)) = deferred.next_if(|(i, _)| *i <= entry.index) {
                self.actions.push_back(SessionAction::Event(e));
            }
        }
        self.actions.extend(deferred.map(|(_, e)| SessionAction::Event(e)));
    }

    /// Hands the game the entries `from..to` the log holds (a player back after a while).
    fn hand_from_log(&mut self, from: u64, to: u64) {
        for entry in self.log.range(from, to) {
            self.metrics.delivered += 1;
            self.shown = entry.index;
            self.actions.push_back(SessionAction::Deliver(entry.clone()));
        }
    }

    /// Runs the catch-up's and the provider's clocks.
    pub(super) fn snapshot_timeout(&mut self, now: Instant) {
        if let Some(c) = &self.catchup {
            if c.deadline <= now {
                let c = self.catchup.take().expect("catching up");
                self.metrics.snapshots_missed += 1;
                let from = self.log.first().unwrap_or(self.next).max(c.after + 1);
                self.floor = from - 1;
                self.stateless = true;
                self.actions.push_back(SessionAction::Event(SessionEvent::NoSnapshot { from }));
                self.finish_catchup(from, c.deferred);
            } else if c.retry_at <= now {
                self.catchup.as_mut().expect("catching up").refusals = 0;
                self.ask_snapshot(now);
            }
        }
        if self.wanted.as_ref().is_some_and(|w| w.until <= now) {
            for (to, after) in self.wanted.take().map(|w| w.from).unwrap_or_default() {
                self.refuse_snapshot(to, after);
            }
        }
        if self.served.as_ref().is_some_and(|s| s.until <= now) {
            self.served = None;
        }
    }

    /// When the catch-up's or the provider's clock is due next.
    pub(super) fn next_snapshot_deadline(&self) -> Option<Instant> {
        let catchup = self.catchup.as_ref().map(|c| c.retry_at.min(c.deadline));
        let wanted = self.wanted.as_ref().map(|w| w.until);
        let served = self.served.as_ref().map(|s| s.until);
        catchup.into_iter().chain(wanted).chain(served).min()
    }
}
