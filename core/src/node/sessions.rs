//! Game sessions on the node: the application's calls, [`Kind::Session`] frames in and out,
//! the election's coordinator handed to every session as its epoch, and the partition's
//! members as the sequencer's test of who is lost.
//!
//! A node holds a [`Session`] for each session it plays and for each it sequences as its
//! partition's coordinator (created when a player's submit, join or leave reaches it), at
//! most [`crate::Config::max_sessions`]. A session's messages travel as `Session` frames at
//! [`Priority::High`] with the partition-wide TTL (`max_ttl`): broadcasts (entries, tips,
//! hand-over steps) are flooded, the rest routed. Entries and session events reach the
//! application in the order the session produced them, through [`Output::Sequenced`] and
//! [`Event::Session`].

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::Node;
use super::delivery::Attempt;
use crate::session::{Entry, Epoch, Session, SessionAction, SessionId, SessionMessage, SubmitId};
use crate::wire::Kind;
use crate::{Destination, DropReason, Error, Event, Instant, NodeId, Output, Priority};

/// The sessions a node holds and what they have for the application.
#[derive(Debug, Default)]
pub(super) struct Sessions {
    /// By session id, in the order they were created.
    list: Vec<(SessionId, Session)>,
    /// The epoch last handed to every session (the election's coordinator and term).
    followed: Option<Epoch>,
    /// Entries and events for the application, in the order the sessions produced them.
    out: VecDeque<(SessionId, SessionAction)>,
    /// The entry handed out by the last [`Output::Sequenced`], kept until the next poll.
    lent: Option<Entry>,
    /// The snapshot handed out by the last [`Output::Snapshot`], kept until the next poll.
    lent_snapshot: Vec<u8>,
    /// Encoding buffer for session bodies.
    body: Vec<u8>,
}

impl Sessions {
    fn index(&self, id: SessionId) -> Option<usize> {
        self.list.iter().position(|(s, _)| *s == id)
    }

    /// Every session held.
    pub(super) fn iter(&self) -> impl Iterator<Item = (SessionId, &Session)> {
        self.list.iter().map(|(id, s)| (*id, s))
    }

    /// The earliest session deadline.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.list.iter().filter_map(|(_, s)| s.next_deadline()).min()
    }

    /// Whether an entry or session event waits for the application.
    pub(super) fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Releases the entry the last [`Output::Sequenced`] lent (at every poll).
    pub(super) fn release(&mut self) {
        self.lent = None;
        self.lent_snapshot = Vec::new();
    }

    /// The next entry or session event for the application.
    pub(super) fn poll(&mut self) -> Option<Output<'_>> {
        let (session, action) = self.out.pop_front()?;
        Some(match action {
            SessionAction::Deliver(entry) => Output::Sequenced { session, entry: self.lent.insert(entry) },
            SessionAction::Event(event) => Output::Event(Event::Session { session, event }),
            SessionAction::Snapshot { index, data } => {
                self.lent_snapshot = data;
                Output::Snapshot { session, index, data: &self.lent_snapshot }
            }
            SessionAction::Broadcast(_) | SessionAction::Send { .. } => unreachable!("sent, never queued"),
        })
    }
}

impl Node {
    // ----- the application's calls --------------------------------------------------------

    /// Joins `session` as a player described by `info` (at most
    /// [`crate::session::SessionConfig::max_info`] bytes). The node is a player once its
    /// own `Joined` entry is delivered ([`crate::session::SessionEvent::Joined`]); until a
    /// coordinator is elected the join waits. Joining a session already joined is a no-op.
    pub fn join_session(&mut self, now: Instant, session: SessionId, info: &[u8]) -> Result<(), Error> {
        self.advance(now)?;
        let i = self.session_index_or_create(now, session)?;
        self.sessions.list[i].1.join(now, info).map_err(Error::Session)?;
        self.run_session(i);
        Ok(())
    }

    /// Leaves `session`: nothing more of it is delivered, waiting submits fail with
    /// [`crate::session::FailReason::Left`], and the sequencer places the leave.
    pub fn leave_session(&mut self, now: Instant, session: SessionId) -> Result<(), Error> {
        self.advance(now)?;
        let i = self.sessions.index(session).ok_or(Error::UnknownSession(session))?;
        self.sessions.list[i].1.leave(now);
        self.run_session(i);
        Ok(())
    }

    /// Submits a game event to `session`. It ends in exactly one of
    /// [`crate::session::SessionEvent::Sequenced`] (its entry was delivered here, in the
    /// order every player delivers it) or [`crate::session::SessionEvent::SubmitFailed`].
    pub fn submit(&mut self, now: Instant, session: SessionId, payload: &[u8]) -> Result<SubmitId, Error> {
        self.advance(now)?;
        let i = self.sessions.index(session).ok_or(Error::UnknownSession(session))?;
        let id = self.sessions.list[i].1.submit(now, payload).map_err(Error::Session)?;
        self.run_session(i);
        Ok(id)
    }

    /// Provides a snapshot of `session`'s game state as of entry `index` (the last entry the
    /// game applied) for players catching up: the answer to
    /// [`crate::session::SessionEvent::SnapshotWanted`] (providing one unasked keeps it ready).
    /// At most [`crate::session::SessionConfig::max_snapshot`] bytes; it travels in chunks.
    pub fn provide_snapshot(&mut self, now: Instant, session: SessionId, index: u64, data: &[u8]) -> Result<(), Error> {
        self.advance(now)?;
        let i = self.sessions.index(session).ok_or(Error::UnknownSession(session))?;
        self.sessions.list[i].1.provide_snapshot(now, index, data).map_err(Error::Snapshot)?;
        self.run_session(i);
        Ok(())
    }

    /// The state of one session held here (players, delivered index, counters).
    pub fn session(&self, session: SessionId) -> Option<&Session> {
        self.sessions.index(session).map(|i| &self.sessions.list[i].1)
    }

    /// Every session held here.
    pub fn sessions(&self) -> impl Iterator<Item = (SessionId, &Session)> {
        self.sessions.iter()
    }

    // ----- inputs from the mesh -----------------------------------------------------------

    /// A `Session` frame of `session` for this node (or broadcast) from `origin`, its body
    /// validated. The body is decoded only for a session held here, or on the sequencer (which
    /// may create the session): a relay of a session it does not hold reads nothing more than
    /// the id, and allocates nothing (decoding would copy the payload or info).
    pub(super) fn on_session_frame(&mut self, now: Instant, origin: NodeId, session: SessionId, body: &[u8]) {
        let held = self.sessions.index(session);
        if held.is_none() && !self.sequences_now() {
            self.metrics.session_frames_not_held += 1;
            return;
        }
        let (id, message) = match crate::wire::session::decode(body) {
            Ok(decoded) => decoded,
            Err(reason) => return self.metrics.drop(reason),
        };
        debug_assert_eq!(id, session, "validated and decoded from the same header");
        let i = match held {
            Some(i) => i,
            // A sequencer's work for a session it does not play: a player's request.
            None if self.sequences_now() && is_for_sequencer(&message) => match self.create_session(now, id) {
                Ok(i) => i,
                Err(_) => return self.metrics.drop(DropReason::SessionsFull),
            },
            None => {
                self.metrics.session_frames_not_held += 1;
                return;
            }
        };
        self.sessions.list[i].1.on_message(now, origin, message);
        self.run_session(i);
    }

    /// The election's coordinator may have changed: every session follows the new epoch.
    pub(super) fn sessions_follow_coordinator(&mut self) {
        let epoch = self.coordinator().map(|(term, sequencer)| Epoch { term, sequencer });
        if epoch == self.sessions.followed {
            return;
        }
        self.sessions.followed = epoch;
        let now = self.now;
        for i in 0..self.sessions.list.len() {
            self.sessions.list[i].1.on_coordinator(now, epoch);
            self.run_session(i);
        }
    }

    /// Time passed: each session's timers, and the sequencer's view of who its partition
    /// holds.
    pub(super) fn sessions_timeout(&mut self, now: Instant) {
        for i in 0..self.sessions.list.len() {
            let component = self.components.component_of(self.config.node_id);
            let held = |p: NodeId| component.is_some_and(|c| c.binary_search(&p).is_ok());
            let session = &mut self.sessions.list[i].1;
            session.on_partition(now, held);
            if session.next_deadline().is_some_and(|d| d <= now) {
                session.on_timeout(now);
            }
            self.run_session(i);
        }
    }

    pub(super) fn next_session_deadline(&self) -> Option<Instant> {
        self.sessions.next_deadline()
    }

    // ----- internals ----------------------------------------------------------------------

    fn sequences_now(&self) -> bool {
        self.coordinator().is_some_and(|(_, c)| c == self.config.node_id)
    }

    fn session_index_or_create(&mut self, now: Instant, id: SessionId) -> Result<usize, Error> {
        match self.sessions.index(id) {
            Some(i) => Ok(i),
            None => self.create_session(now, id),
        }
    }

    /// A new session following the current epoch. When the node is full, a session it
    /// neither plays nor sequences (kept only for others' repairs) makes room.
    fn create_session(&mut self, now: Instant, id: SessionId) -> Result<usize, Error> {
        if self.sessions.list.len() >= self.config.max_sessions {
            let idle = self.sessions.list.iter().position(|(_, s)| s.is_idle());
            let Some(k) = idle else { return Err(Error::TooManySessions { max: self.config.max_sessions }) };
            self.sessions.list.remove(k);
        }
        // Submit ids start at a random base below 2^31: a restarted node's do not repeat.
        let base = rand_core::RngCore::next_u32(&mut self.rng) >> 1;
        let mut session = Session::new(self.config.session, self.config.node_id).with_submit_base(base);
        session.on_coordinator(now, self.sessions.followed);
        // Room for this one only: a session is about 900 bytes inline, and a first push
        // would make room for four.
        self.sessions.list.reserve_exact(1);
        self.sessions.list.push((id, session));
        let i = self.sessions.list.len() - 1;
        self.run_session(i);
        Ok(i)
    }

    /// Carries out what session `i` asked for: messages onto the mesh, entries and events
    /// into the application's queue.
    fn run_session(&mut self, i: usize) {
        loop {
            let (id, session) = &mut self.sessions.list[i];
            let id = *id;
            let Some(action) = session.poll_action() else { return };
            match action {
                SessionAction::Broadcast(message) => self.send_session(id, None, &message),
                SessionAction::Send { to, message } => self.send_session(id, Some(to), &message),
                other => self.sessions.out.push_back((id, other)),
            }
        }
    }

    fn send_session(&mut self, id: SessionId, to: Option<NodeId>, message: &SessionMessage) {
        let mut body = core::mem::take(&mut self.sessions.body);
        body.clear();
        crate::wire::session::encode(&mut body, id, message);
        let ttl = self.config.max_ttl;
        let sent = if self.links.confirmed() == 0 {
            None
        } else {
            match to {
                None => self.originate(Kind::Session, Destination::Broadcast, Priority::High, ttl, &[&body], None),
                Some(to) => self.take_seq().and_then(|seq| {
                    self.send_unicast(seq, Kind::Session, to, Priority::High, ttl, &[&body], 0, Attempt::Route)
                }),
            }
        };
        if sent.is_some() {
            self.metrics.session_frames_sent += 1;
        } else {
            // The session repairs and retries on its own timers.
            self.metrics.session_frames_unsent += 1;
        }
        self.sessions.body = body;
    }
}

/// Whether `message` is one a sequencer acts on for a session it may not hold yet.
fn is_for_sequencer(message: &SessionMessage) -> bool {
    matches!(message, SessionMessage::Submit { .. } | SessionMessage::Join { .. } | SessionMessage::Leave)
}
