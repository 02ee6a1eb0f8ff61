//! The application's event stream: core events, deliveries, session entries and link
//! changes; and the driver's end of it, the [`Publisher`].

use std::sync::Arc;

use blemesh_core::ble::RadioDecision;
use blemesh_core::session::{Entry, SessionId};
use blemesh_core::{Destination, Event, LinkId, NodeId, Priority};
use bytes::Bytes;
use tokio::sync::broadcast;

use crate::session::{SessionChannels, SessionUpdate};
use crate::RecvError;

/// A payload delivered to this node, owned (the core's [`blemesh_core::Delivery`] borrows).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Delivery {
    /// The node that sent it.
    pub origin: NodeId,
    /// Whether it was sent to this node or to everyone.
    pub destination: Destination,
    /// The origin's sequence number of the message.
    pub seq: u32,
    /// Its priority class.
    pub priority: Priority,
    /// Hops it travelled (1 for a direct neighbour).
    pub hops: u8,
    /// The payload.
    pub payload: Bytes,
}

impl Delivery {
    /// Copies a core delivery out of the node's buffers.
    pub fn from_core(d: &blemesh_core::Delivery<'_>) -> Self {
        Delivery {
            origin: d.origin,
            destination: d.destination,
            seq: d.seq,
            priority: d.priority,
            hops: d.hops,
            payload: Bytes::copy_from_slice(d.payload),
        }
    }
}

/// One item of the event stream of a driver.
///
/// Every core [`Event`] is forwarded unchanged in [`MeshEvent::Core`]: as the core grows new
/// events (route changes, coordinator election, partitions), they arrive here without a
/// change to the driver.
#[derive(Clone, PartialEq, Debug)]
#[non_exhaustive]
pub enum MeshEvent {
    /// An event of the node (neighbour up, degraded, recovered, lost, ...).
    Core(Event),
    /// A payload for the application.
    Delivery(Delivery),
    /// The next entry of a game session's ordered stream, before the
    /// [`Event::Session`]s it causes (in [`MeshEvent::Core`]). A game usually reads one
    /// session's entries and events from its own [`crate::SessionStream`] instead, whose
    /// buffer other events do not fill.
    Sequenced {
        /// The session.
        session: SessionId,
        /// The entry (index, epoch, and the event, join or leave it places).
        entry: Arc<Entry>,
    },
    /// This node's game in `session` starts from another player's state as of entry
    /// `index` (it joined a session others play); the entries after it follow as
    /// [`MeshEvent::Sequenced`]. Also on the session's stream, as
    /// [`crate::SessionUpdate::Snapshot`].
    Snapshot {
        /// The session.
        session: SessionId,
        /// The entry the state is as of.
        index: u64,
        /// The other game's bytes.
        data: bytes::Bytes,
    },
    /// The transport opened a link (before the neighbour handshake).
    LinkUp {
        /// The transport's handle for it.
        link: LinkId,
        /// Its MTU.
        mtu: u16,
    },
    /// The transport closed a link.
    LinkDown {
        /// The transport's handle for it.
        link: LinkId,
    },
    /// The node decided new radio settings (connection parameters, channel map, advertising)
    /// and the driver handed them to the transport; published whether or not the transport
    /// could apply them (see [`crate::DriverStats`]).
    Radio(RadioDecision),
}

impl MeshEvent {
    /// The delivery, if this is one.
    pub fn as_delivery(&self) -> Option<&Delivery> {
        match self {
            MeshEvent::Delivery(d) => Some(d),
            _ => None,
        }
    }

    /// The core event, if this is one.
    pub fn as_core(&self) -> Option<&Event> {
        match self {
            MeshEvent::Core(e) => Some(e),
            _ => None,
        }
    }

    /// The session and its entry, if this is one.
    pub fn as_sequenced(&self) -> Option<(SessionId, &Entry)> {
        match self {
            MeshEvent::Sequenced { session, entry } => Some((*session, entry)),
            _ => None,
        }
    }
}

/// The driver's end of the event streams: the broadcast of [`MeshEvent`]s to every
/// [`Subscription`] and the per-session [`crate::SessionStream`]s. Dropping it (when the
/// driver stops) ends them all.
#[derive(Debug)]
pub struct Publisher {
    events: broadcast::Sender<MeshEvent>,
    sessions: Arc<SessionChannels>,
}

impl Publisher {
    pub(crate) fn new(events: broadcast::Sender<MeshEvent>, sessions: Arc<SessionChannels>) -> Self {
        Publisher { events, sessions }
    }

    /// Hands `event` to every subscriber; nobody listening is not an error.
    pub fn publish(&self, event: MeshEvent) {
        let _ = self.events.send(event);
    }

    /// Hands `update` to the streams of `session`, if any is open.
    pub fn publish_session(&self, session: SessionId, update: SessionUpdate) {
        self.sessions.publish(session, update);
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        // The handles hold the session channels too: without this their streams would not
        // end while a handle lives.
        self.sessions.close();
    }
}

/// A subscriber's view of the event stream.
///
/// Each subscription has its own bounded buffer ([`crate::DriverOptions::event_capacity`]);
/// the driver never waits for a slow subscriber: the subscriber loses the oldest events and
/// learns how many with [`RecvError::Lagged`].
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<MeshEvent>,
}

impl Subscription {
    pub(crate) fn new(rx: broadcast::Receiver<MeshEvent>) -> Self {
        Subscription { rx }
    }

    /// The next event. [`RecvError::Closed`] once the driver stopped and all was read.
    pub async fn recv(&mut self) -> Result<MeshEvent, RecvError> {
        self.rx.recv().await.map_err(|e| match e {
            broadcast::error::RecvError::Lagged(missed) => RecvError::Lagged { missed },
            broadcast::error::RecvError::Closed => RecvError::Closed,
        })
    }

    /// The next event if one is ready, without waiting (`Ok(None)` if none is).
    pub fn try_recv(&mut self) -> Result<Option<MeshEvent>, RecvError> {
        match self.rx.try_recv() {
            Ok(e) => Ok(Some(e)),
            Err(broadcast::error::TryRecvError::Empty) => Ok(None),
            Err(broadcast::error::TryRecvError::Lagged(missed)) => Err(RecvError::Lagged { missed }),
            Err(broadcast::error::TryRecvError::Closed) => Err(RecvError::Closed),
        }
    }

    /// The next delivery, skipping other events (lags are skipped too: a test or a game
    /// loop that only wants payloads). `None` once the driver stopped.
    pub async fn next_delivery(&mut self) -> Option<Delivery> {
        loop {
            match self.recv().await {
                Ok(MeshEvent::Delivery(d)) => return Some(d),
                Ok(_) | Err(RecvError::Lagged { .. }) => {}
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
