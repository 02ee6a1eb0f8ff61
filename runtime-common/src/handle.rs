//! The application's handle on a running driver, and the commands it sends.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use std::sync::Arc;

use blemesh_core::session::{SessionId, SubmitId};
use blemesh_core::{LinkId, LinkStatus, MessageId, Metrics, NodeId, Qos};
use bytes::Bytes;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::event::Publisher;
use crate::session::SessionChannels;
use crate::{Error, MeshEvent, Subscription};

/// Sizes and delays of a driver, beside the node's own [`blemesh_core::Config`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DriverOptions {
    /// Requests from handles waiting for the driver. When full, requests fail at once with
    /// [`Error::CommandQueueFull`]. Default 256.
    pub command_queue: usize,
    /// Events buffered per subscriber before the oldest are dropped. Default 1024.
    pub event_capacity: usize,
    /// Updates buffered per session stream ([`crate::SessionStream`]), rounded up to a power
    /// of two, before the oldest are dropped and the stream reports
    /// [`crate::RecvError::Lagged`]. Default 4096.
    pub session_capacity: usize,
    /// After a shutdown request, how long the driver keeps running timers and reading links
    /// (without accepting new requests) so that jittered relays already scheduled go out.
    /// Default 50 ms.
    pub linger: Duration,
}

impl Default for DriverOptions {
    fn default() -> Self {
        DriverOptions { command_queue: 256, event_capacity: 1024, session_capacity: 4096, linger: Duration::from_millis(50) }
    }
}

impl DriverOptions {
    /// The same options with a command queue of `n` requests.
    pub fn with_command_queue(mut self, n: usize) -> Self {
        self.command_queue = n;
        self
    }

    /// The same options with `n` events buffered per subscriber.
    pub fn with_event_capacity(mut self, n: usize) -> Self {
        self.event_capacity = n;
        self
    }

    /// The same options with `n` updates buffered per session stream.
    pub fn with_session_capacity(mut self, n: usize) -> Self {
        self.session_capacity = n;
        self
    }

    /// The same options with another shutdown linger.
    pub fn with_linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }
}

/// One neighbour link as seen by the node (a snapshot).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NeighbourInfo {
    /// The transport's handle.
    pub link: LinkId,
    /// The neighbour on it, [`NodeId::NONE`] while the handshake has not heard it.
    pub node: NodeId,
    /// Liveness.
    pub status: LinkStatus,
    /// The link's MTU.
    pub mtu: u16,
}

/// A request from a handle to the driver task.
#[derive(Debug)]
#[non_exhaustive]
pub enum Command {
    /// [`blemesh_core::Node::send`].
    Send {
        /// Destination node.
        to: NodeId,
        /// Payload.
        payload: Bytes,
        /// Options.
        qos: Qos,
        /// Where the node's verdict goes.
        reply: oneshot::Sender<Result<MessageId, Error>>,
    },
    /// [`blemesh_core::Node::broadcast`].
    Broadcast {
        /// Payload.
        payload: Bytes,
        /// Options.
        qos: Qos,
        /// Where the node's verdict goes.
        reply: oneshot::Sender<Result<MessageId, Error>>,
    },
    /// A copy of the node's counters.
    Metrics(oneshot::Sender<Result<Metrics, Error>>),
    /// The node's links.
    Neighbours(oneshot::Sender<Result<Vec<NeighbourInfo>, Error>>),
    /// [`blemesh_core::Node::join_session`].
    JoinSession {
        /// The session.
        session: SessionId,
        /// The player's description.
        info: Bytes,
        /// Where the node's verdict goes.
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// [`blemesh_core::Node::leave_session`].
    LeaveSession {
        /// The session.
        session: SessionId,
        /// Where the node's verdict goes.
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// [`blemesh_core::Node::submit`].
    Submit {
        /// The session.
        session: SessionId,
        /// The game event.
        payload: Bytes,
        /// Where the node's verdict goes.
        reply: oneshot::Sender<Result<SubmitId, Error>>,
    },
    /// [`blemesh_core::Node::provide_snapshot`].
    ProvideSnapshot {
        /// The session.
        session: SessionId,
        /// The entry the state is as of.
        index: u64,
        /// The game's state.
        data: Bytes,
        /// Where the node's verdict goes.
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// Stop after flushing; the sender is answered once the driver has stopped.
    Shutdown(oneshot::Sender<()>),
}

/// The answer to a request, as a future. The request is queued when the method that
/// returns it is called, not when it is awaited: dropping a `Reply` unawaited is a
/// fire-and-forget send.
#[derive(Debug)]
#[must_use = "the request is queued already; await the reply to learn the node's verdict"]
pub struct Reply<T> {
    state: ReplyState<T>,
}

#[derive(Debug)]
enum ReplyState<T> {
    Ready(Option<Error>),
    Waiting(oneshot::Receiver<Result<T, Error>>),
}

impl<T> Reply<T> {
    fn failed(e: Error) -> Self {
        Reply { state: ReplyState::Ready(Some(e)) }
    }
}

impl<T> Future for Reply<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `Reply` holds no self-references, so it is `Unpin`.
        match &mut self.get_mut().state {
            ReplyState::Ready(e) => Poll::Ready(Err(e.take().unwrap_or(Error::Shutdown))),
            ReplyState::Waiting(rx) => Pin::new(rx).poll(cx).map(|r| r.unwrap_or(Err(Error::Shutdown))),
        }
    }
}

/// A cheap, cloneable handle on one running driver.
///
/// Requests go through a bounded queue; when it is full they fail at once with
/// [`Error::CommandQueueFull`]. The driver stops on [`Handle::shutdown`] or when every handle
/// is dropped. Game sessions: [`Handle::join_session`], [`Handle::submit`] and the ordered
/// [`Handle::session_events`].
#[derive(Clone, Debug)]
pub struct Handle {
    node_id: NodeId,
    commands: mpsc::Sender<Command>,
    /// Weak, so that the stream ends (subscribers see `Closed`) when the driver stops even
    /// while handles live on.
    events: broadcast::WeakSender<MeshEvent>,
    /// The per-session streams; the driver closes them when it stops.
    pub(crate) sessions: Arc<SessionChannels>,
    capacity: usize,
}

impl Handle {
    /// A handle and the driver's ends: the command receiver and the publisher of the event
    /// streams.
    pub fn new(node_id: NodeId, options: &DriverOptions) -> (Handle, mpsc::Receiver<Command>, Publisher) {
        let (commands, rx) = mpsc::channel(options.command_queue.max(1));
        let (events, _) = broadcast::channel(options.event_capacity.max(1));
        let sessions = Arc::new(SessionChannels::new(options.session_capacity));
        let capacity = options.command_queue.max(1);
        let handle = Handle { node_id, commands, events: events.downgrade(), sessions: sessions.clone(), capacity };
        (handle, rx, Publisher::new(events, sessions))
    }

    /// The id of the node this driver runs.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// Sends `payload` to one node: directly to a neighbour, else through the mesh. The
    /// reply carries the message's id, or the node's refusal ([`Error::Core`]).
    pub fn send(&self, to: NodeId, payload: impl Into<Bytes>, qos: Qos) -> Reply<MessageId> {
        let payload = payload.into();
        self.request(|reply| Command::Send { to, payload, qos, reply })
    }

    /// Floods `payload` to every node of the mesh.
    pub fn broadcast(&self, payload: impl Into<Bytes>, qos: Qos) -> Reply<MessageId> {
        let payload = payload.into();
        self.request(|reply| Command::Broadcast { payload, qos, reply })
    }

    /// A snapshot of the node's counters.
    pub fn metrics(&self) -> Reply<Metrics> {
        self.request(Command::Metrics)
    }

    /// A snapshot of the node's links.
    pub fn neighbours(&self) -> Reply<Vec<NeighbourInfo>> {
        self.request(Command::Neighbours)
    }

    /// A new subscriber to the event stream; it sees events from now on. If the driver has
    /// stopped, the subscription is already closed.
    pub fn subscribe(&self) -> Subscription {
        match self.events.upgrade() {
            Some(events) => Subscription::new(events.subscribe()),
            None => Subscription::new(broadcast::channel(1).1),
        }
    }

    /// Stops the driver gracefully and waits until it has: requests already queued are
    /// carried out, the node's output is written to the transport, jittered relays get
    /// [`DriverOptions::linger`] to go out, then the transport is closed and subscribers see
    /// the end of the stream. Returns at once if the driver already stopped.
    ///
    /// Dropping every handle also stops the driver, the same way.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        } else {
            // Another shutdown is under way: wait for the end of the event stream.
            let mut events = self.subscribe();
            while events.recv().await != Err(crate::RecvError::Closed) {}
        }
    }

    /// Whether the driver has stopped.
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }

    pub(crate) fn request<T>(&self, make: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> Command) -> Reply<T> {
        let (tx, rx) = oneshot::channel();
        match self.commands.try_send(make(tx)) {
            Ok(()) => Reply { state: ReplyState::Waiting(rx) },
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::debug!(node = %self.node_id, capacity = self.capacity, "command queue full");
                Reply::failed(Error::CommandQueueFull { capacity: self.capacity })
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Reply::failed(Error::Shutdown),
        }
    }
}
