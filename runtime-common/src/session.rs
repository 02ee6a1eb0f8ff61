//! Game sessions through the driver: the handle's session calls and the ordered
//! per-session stream of [`SessionUpdate`]s.
//!
//! The core hands a session's entries ([`blemesh_core::Output::Sequenced`]) and its events
//! ([`blemesh_core::Event::Session`]) out of one queue, so an entry always comes before the
//! events it causes (a submit's [`SessionEvent::Sequenced`] after its entry). The driver
//! keeps that order twice:
//!
//! * on the generic event stream ([`crate::Subscription`]), as [`MeshEvent::Sequenced`] and
//!   [`MeshEvent::Core`], among every other event;
//! * on a [`SessionStream`] per session ([`Handle::session_events`]), which carries only that
//!   session's updates, in a buffer of its own ([`crate::DriverOptions::session_capacity`]):
//!   deliveries and link events never crowd a game's entries out.
//!
//! The driver never waits for a slow reader. A stream that falls more than its capacity
//! behind loses the oldest updates and says so: the next [`SessionStream::recv`] is
//! [`RecvError::Lagged`] with the number lost, never a silent skip. A game that lagged no
//! longer holds the stream every other player holds.
//!
//! [`MeshEvent::Sequenced`]: crate::MeshEvent::Sequenced
//! [`MeshEvent::Core`]: crate::MeshEvent::Core

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use blemesh_core::session::{Entry, SessionEvent, SessionId, SubmitId};
use bytes::Bytes;
use tokio::sync::broadcast;

use crate::{Command, Handle, RecvError, Reply};

/// One update of a session's ordered stream, owned.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum SessionUpdate {
    /// The next entry of the stream (a game event, a join or a leave): every player gets the
    /// same entries in the same index order. Shared, not copied, between the streams and
    /// [`crate::MeshEvent::Sequenced`].
    Entry(Arc<Entry>),
    /// Something happened to this node in the session: its submit was sequenced or failed,
    /// it joined, its join was refused, the partition lost it, or its history was rebased
    /// ([`SessionEvent::Rebased`]: roll back to `fork`, the entries after it follow again).
    /// [`SessionEvent::SnapshotWanted`] asks this node's game for its state: answer with
    /// [`Handle::provide_snapshot`].
    Event(SessionEvent),
    /// This node joined (or joined again after a restart) a session others already play:
    /// its game starts from this state, which another player's game provided, as of entry
    /// `index`; the entries after it follow. It comes before any entry of the node's own
    /// history is handed out.
    Snapshot {
        /// The entry the state is as of.
        index: u64,
        /// The other game's bytes.
        data: Bytes,
    },
}

impl SessionUpdate {
    /// The entry, if this is one.
    pub fn as_entry(&self) -> Option<&Entry> {
        match self {
            SessionUpdate::Entry(e) => Some(e),
            SessionUpdate::Event(_) | SessionUpdate::Snapshot { .. } => None,
        }
    }

    /// The event, if this is one.
    pub fn as_event(&self) -> Option<&SessionEvent> {
        match self {
            SessionUpdate::Event(e) => Some(e),
            SessionUpdate::Entry(_) | SessionUpdate::Snapshot { .. } => None,
        }
    }
}

/// One session's ordered stream of [`SessionUpdate`]s, from [`Handle::session_events`].
///
/// It ends ([`RecvError::Closed`]) when the driver stops. Leaving the session does not end
/// it: joining again continues on the same stream.
#[derive(Debug)]
pub struct SessionStream {
    session: SessionId,
    rx: broadcast::Receiver<SessionUpdate>,
}

impl SessionStream {
    /// The session it follows.
    pub fn session(&self) -> SessionId {
        self.session
    }

    /// The next update. [`RecvError::Lagged`] if updates were lost since the last call (the
    /// call after it returns the oldest still held); [`RecvError::Closed`] once the driver
    /// stopped and all was read.
    pub async fn recv(&mut self) -> Result<SessionUpdate, RecvError> {
        self.rx.recv().await.map_err(|e| match e {
            broadcast::error::RecvError::Lagged(missed) => RecvError::Lagged { missed },
            broadcast::error::RecvError::Closed => RecvError::Closed,
        })
    }

    /// The next update if one is ready, without waiting (`Ok(None)` if none is).
    pub fn try_recv(&mut self) -> Result<Option<SessionUpdate>, RecvError> {
        match self.rx.try_recv() {
            Ok(u) => Ok(Some(u)),
            Err(broadcast::error::TryRecvError::Empty) => Ok(None),
            Err(broadcast::error::TryRecvError::Lagged(missed)) => Err(RecvError::Lagged { missed }),
            Err(broadcast::error::TryRecvError::Closed) => Err(RecvError::Closed),
        }
    }
}

/// The per-session channels, shared by the handles (which open streams) and the driver
/// (which publishes and, when it stops, closes them all).
#[derive(Debug)]
pub(crate) struct SessionChannels {
    capacity: usize,
    inner: Mutex<Channels>,
}

#[derive(Debug, Default)]
struct Channels {
    closed: bool,
    by_session: HashMap<SessionId, broadcast::Sender<SessionUpdate>>,
}

impl SessionChannels {
    /// No channel yet; each will buffer `capacity` updates per stream.
    pub(crate) fn new(capacity: usize) -> Self {
        SessionChannels { capacity: capacity.max(1), inner: Mutex::default() }
    }

    fn lock(&self) -> MutexGuard<'_, Channels> {
        // A panic elsewhere while holding the lock leaves the map itself intact.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new stream of `session`: it sees every update published from now on.
    pub(crate) fn subscribe(&self, session: SessionId) -> SessionStream {
        let mut channels = self.lock();
        let rx = if channels.closed {
            broadcast::channel(1).1
        } else {
            let capacity = self.capacity;
            channels.by_session.entry(session).or_insert_with(|| broadcast::channel(capacity).0).subscribe()
        };
        SessionStream { session, rx }
    }

    /// Hands `update` to every stream of `session`; forgets a channel nobody reads any more.
    pub(crate) fn publish(&self, session: SessionId, update: SessionUpdate) {
        let mut channels = self.lock();
        let Some(tx) = channels.by_session.get(&session) else { return };
        if tx.send(update).is_err() {
            // No stream left: the next subscribe opens a fresh channel.
            channels.by_session.remove(&session);
        }
    }

    /// Ends every stream (they read what is buffered, then [`RecvError::Closed`]); streams
    /// opened afterwards are closed at once.
    pub(crate) fn close(&self) {
        let mut channels = self.lock();
        channels.closed = true;
        channels.by_session.clear();
    }
}

impl Handle {
    /// Joins `session` as a player described by `info` (at most the session's `max_info`
    /// bytes, [`blemesh_core::session::SessionConfig`]). The node is a player once its own
    /// `Joined` entry is delivered ([`SessionEvent::Joined`] on the session's stream); until
    /// a coordinator is elected the join waits. Joining a session already joined is a no-op.
    ///
    /// Open the stream ([`Handle::session_events`]) before joining to see the session from
    /// this node's own `Joined` entry on.
    pub fn join_session(&self, session: SessionId, info: impl Into<Bytes>) -> Reply<()> {
        let info = info.into();
        self.request(|reply| Command::JoinSession { session, info, reply })
    }

    /// Leaves `session`: nothing more of it is delivered, submits still waiting fail
    /// ([`blemesh_core::session::FailReason::Left`]) and the others see this node's `Left`
    /// entry. [`crate::Error::NotJoined`] if this node never joined it.
    pub fn leave_session(&self, session: SessionId) -> Reply<()> {
        self.request(|reply| Command::LeaveSession { session, reply })
    }

    /// Submits a game event to `session`. The reply carries its [`SubmitId`]; the submit then
    /// ends on the session's stream in exactly one of [`SessionEvent::Sequenced`] (after its
    /// entry) or [`SessionEvent::SubmitFailed`]. [`crate::Error::NotJoined`] unless this node
    /// is a player (its `Joined` entry delivered, and not left since).
    pub fn submit(&self, session: SessionId, payload: impl Into<Bytes>) -> Reply<SubmitId> {
        let payload = payload.into();
        self.request(|reply| Command::Submit { session, payload, reply })
    }

    /// Provides a snapshot of this node's game state in `session` as of entry `index` (the
    /// last entry the game applied), answering [`SessionEvent::SnapshotWanted`]: a player
    /// catching up starts its game from it ([`SessionUpdate::Snapshot`]). At most the
    /// session's `max_snapshot` bytes ([`blemesh_core::session::SessionConfig`]).
    pub fn provide_snapshot(&self, session: SessionId, index: u64, data: impl Into<Bytes>) -> Reply<()> {
        let data = data.into();
        self.request(|reply| Command::ProvideSnapshot { session, index, data, reply })
    }

    /// A new ordered stream of `session`'s entries and events, from now on: it sees every
    /// update the driver produces after this call, so also everything a join or submit
    /// made afterwards causes. If the driver has stopped, the stream is already closed.
    pub fn session_events(&self, session: SessionId) -> SessionStream {
        self.sessions.subscribe(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blemesh_core::session::{EntryBody, Epoch};
    use blemesh_core::NodeId;

    fn entry(index: u64) -> SessionUpdate {
        let epoch = Epoch { term: 1, sequencer: NodeId(1) };
        let body = EntryBody::Event { submitter: NodeId(2), submit: SubmitId(index as u32), payload: vec![index as u8] };
        SessionUpdate::Entry(Arc::new(Entry { index, epoch, prev: (index > 1).then_some(epoch), body }))
    }

    #[test]
    fn a_lagging_stream_says_how_many_it_lost_then_goes_on_in_order() {
        let channels = SessionChannels::new(4);
        let (game, other) = (SessionId(7), SessionId(8));
        let mut stream = channels.subscribe(game);
        let mut quiet = channels.subscribe(other);
        for i in 1..=10 {
            channels.publish(game, entry(i));
        }
        assert_eq!(stream.try_recv(), Err(RecvError::Lagged { missed: 6 }));
        let rest: Vec<u64> = std::iter::from_fn(|| stream.try_recv().expect("held")).map(|u| u.as_entry().expect("entry").index).collect();
        assert_eq!(rest, vec![7, 8, 9, 10], "the newest four, in order");
        assert_eq!(quiet.try_recv(), Ok(None), "another session's stream sees none of it");
    }

    #[test]
    fn streams_see_updates_from_their_opening_and_end_when_closed() {
        let channels = SessionChannels::new(16);
        let game = SessionId(7);
        channels.publish(game, entry(1)); // nobody listens: dropped
        let mut stream = channels.subscribe(game);
        channels.publish(game, entry(2));
        channels.publish(game, SessionUpdate::Event(SessionEvent::Joined { index: 2 }));
        channels.close();
        assert_eq!(stream.try_recv().expect("held").and_then(|u| u.as_entry().map(|e| e.index)), Some(2));
        assert_eq!(stream.try_recv(), Ok(Some(SessionUpdate::Event(SessionEvent::Joined { index: 2 }))));
        assert_eq!(stream.try_recv(), Err(RecvError::Closed));
        assert_eq!(channels.subscribe(game).try_recv(), Err(RecvError::Closed), "opened after the close");
    }

    #[test]
    fn a_channel_nobody_reads_is_forgotten_and_opened_afresh() {
        let channels = SessionChannels::new(4);
        let game = SessionId(7);
        drop(channels.subscribe(game));
        channels.publish(game, entry(1));
        assert!(channels.lock().by_session.is_empty());
        let mut stream = channels.subscribe(game);
        channels.publish(game, entry(2));
        assert_eq!(stream.try_recv().expect("held").and_then(|u| u.as_entry().map(|e| e.index)), Some(2));
    }
}
