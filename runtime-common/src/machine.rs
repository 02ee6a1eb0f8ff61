//! The synchronous half of a driver, shared by every runtime.
//!
//! [`DriverCore`] owns the [`Node`] and applies the drain contract: each input (a command
//! from a handle, a transport event, a timeout) is fed with the current time, then
//! [`DriverCore::drain`] polls every output, writes transmits to the transport's sink and
//! publishes events, deliveries and session entries (to every subscriber, and to the
//! session's own streams), and returns the next deadline. A runtime's driver is
//! then only a loop that waits for the next input or that deadline. There is no protocol
//! logic here: everything the mesh does is the node's.

use std::sync::Arc;

use blemesh_core::ble::RadioDecision;
use blemesh_core::session::{SessionId, SubmitError};
use blemesh_core::{Config, Event, Instant, Node, Output};
use tokio::sync::{mpsc, oneshot};

use crate::handle::NeighbourInfo;
use crate::{ApplyError, Command, Delivery, Error, LinkEvent, LinkSink, MeshEvent, Publisher, SessionUpdate, Transport};

/// What the driver loop does after a command.
#[derive(Debug)]
#[must_use]
pub enum Flow {
    /// Keep going.
    Continue,
    /// Start the graceful shutdown; answer this sender when stopped.
    Shutdown(oneshot::Sender<()>),
}

/// Counters of the driver itself (the node's are in [`blemesh_core::Metrics`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct DriverStats {
    /// Frames the transport refused (buffer full, link gone); lost like radio frames.
    pub transmit_failed: u64,
    /// Transport events the node rejected (a link id reused while up, too many links...).
    pub link_errors: u64,
    /// Commands carried out.
    pub commands: u64,
    /// Radio decisions of the node the transport applied.
    pub radio_applied: u64,
    /// Radio decisions the transport does not support (every one on UDP).
    pub radio_unsupported: u64,
    /// Radio decisions the transport failed to apply (link gone, refused by the radio).
    pub radio_failed: u64,
}

/// The node, its transport sink and its event publisher.
pub struct DriverCore {
    node: Node,
    sink: Box<dyn LinkSink>,
    events: Publisher,
    stats: DriverStats,
}

impl core::fmt::Debug for DriverCore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DriverCore").field("node", &self.node.id()).field("stats", &self.stats).finish_non_exhaustive()
    }
}

impl DriverCore {
    /// A node from `config`, started at `now`, writing to `sink` and publishing to `events`.
    pub fn new(config: Config, now: Instant, sink: Box<dyn LinkSink>, events: Publisher) -> Result<Self, Error> {
        let node = Node::new(config, now)?;
        Ok(DriverCore { node, sink, events, stats: DriverStats::default() })
    }

    /// Splits a transport: the sink goes into [`DriverCore::new`], the events to the loop.
    pub fn split(transport: Transport) -> (Box<dyn LinkSink>, mpsc::Receiver<LinkEvent>) {
        (transport.sink, transport.events)
    }

    /// The node (read-only).
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The driver's own counters.
    pub fn stats(&self) -> DriverStats {
        self.stats
    }

    /// Feeds one transport event.
    pub fn on_link_event(&mut self, now: Instant, event: LinkEvent) {
        let result = match event {
            LinkEvent::Frame { link, bytes } => {
                tracing::trace!(link = link.0, len = bytes.len(), "frame in");
                self.node.handle_receive(now, link, &bytes)
            }
            LinkEvent::Up { link, report } => {
                tracing::debug!(link = link.0, mtu = report.mtu, "link up");
                self.publish(MeshEvent::LinkUp { link, mtu: report.mtu });
                self.node.handle_link_up(now, link, report)
            }
            LinkEvent::Report { link, report } => {
                tracing::debug!(link = link.0, ?report, "link report");
                self.node.handle_link_report(now, link, report)
            }
            LinkEvent::Down { link } => {
                tracing::debug!(link = link.0, "link down");
                self.publish(MeshEvent::LinkDown { link });
                self.node.handle_link_down(now, link)
            }
        };
        if let Err(e) = result {
            self.stats.link_errors += 1;
            tracing::warn!(error = %e, "transport event rejected by the node");
        }
    }

    /// Carries out one command from a handle.
    pub fn on_command(&mut self, now: Instant, command: Command) -> Flow {
        self.stats.commands += 1;
        match command {
            Command::Send { to, payload, qos, reply } => {
                let r = self.node.send(now, to, &payload, qos).map_err(Error::from);
                tracing::debug!(to = %to, len = payload.len(), ?qos, result = ?r, "send");
                let _ = reply.send(r);
            }
            Command::Broadcast { payload, qos, reply } => {
                let r = self.node.broadcast(now, &payload, qos).map_err(Error::from);
                tracing::debug!(len = payload.len(), ?qos, result = ?r, "broadcast");
                let _ = reply.send(r);
            }
            Command::Metrics(reply) => {
                let _ = reply.send(Ok(self.node.metrics().clone()));
            }
            Command::Neighbours(reply) => {
                let list = self
                    .node
                    .neighbours()
                    .map(|l| NeighbourInfo { link: l.link, node: l.peer, status: l.status, mtu: l.mtu })
                    .collect();
                let _ = reply.send(Ok(list));
            }
            Command::JoinSession { session, info, reply } => {
                let max = self.node.config().session.max_info;
                let r = self.node.join_session(now, session, &info).map_err(|e| session_refusal(session, info.len(), max, e));
                tracing::debug!(session = session.0, len = info.len(), result = ?r, "join session");
                let _ = reply.send(r);
            }
            Command::LeaveSession { session, reply } => {
                let r = self.node.leave_session(now, session).map_err(|e| session_refusal(session, 0, 0, e));
                tracing::debug!(session = session.0, result = ?r, "leave session");
                let _ = reply.send(r);
            }
            Command::Submit { session, payload, reply } => {
                let max = self.node.config().session.max_payload;
                let r = self.node.submit(now, session, &payload).map_err(|e| session_refusal(session, payload.len(), max, e));
                tracing::debug!(session = session.0, len = payload.len(), result = ?r, "submit");
                let _ = reply.send(r);
            }
            Command::ProvideSnapshot { session, index, data, reply } => {
                let max = self.node.config().session.max_snapshot;
                let r = self.node.provide_snapshot(now, session, index, &data).map_err(|e| match e {
                    blemesh_core::Error::Snapshot(blemesh_core::session::SnapshotError::TooLarge) => {
                        Error::SessionTooLarge { session, len: data.len(), max }
                    }
                    e => session_refusal(session, data.len(), max, e),
                });
                tracing::debug!(session = session.0, index, len = data.len(), result = ?r, "provide snapshot");
                let _ = reply.send(r);
            }
            Command::Shutdown(reply) => return Flow::Shutdown(reply),
        }
        Flow::Continue
    }

    /// The deadline passed.
    pub fn on_timeout(&mut self, now: Instant) {
        tracing::trace!(?now, "timeout");
        if let Err(e) = self.node.handle_timeout(now) {
            tracing::warn!(error = %e, "timeout rejected by the node");
        }
    }

    /// Polls every output: events and deliveries to subscribers, transmits to the sink.
    /// Returns the node's next deadline ([`Instant::MAX`] for none).
    pub fn drain(&mut self) -> Instant {
        loop {
            match self.node.poll_output() {
                Output::Transmit(t) => {
                    if let Err(e) = self.sink.transmit(t.link, t.bytes) {
                        self.stats.transmit_failed += 1;
                        tracing::debug!(link = t.link.0, error = %e, "frame dropped by the transport");
                    } else {
                        tracing::trace!(link = t.link.0, len = t.bytes.len(), "frame out");
                    }
                }
                Output::Deliver(d) => {
                    tracing::debug!(origin = %d.origin, seq = d.seq, hops = d.hops, len = d.payload.len(), "deliver");
                    let delivery = Delivery::from_core(&d);
                    self.publish(MeshEvent::Delivery(delivery));
                }
                Output::Sequenced { session, entry } => {
                    tracing::debug!(session = session.0, index = entry.index, player = %entry.player(), "sequenced");
                    let entry = Arc::new(entry.clone());
                    self.events.publish_session(session, SessionUpdate::Entry(entry.clone()));
                    self.publish(MeshEvent::Sequenced { session, entry });
                }
                Output::Snapshot { session, index, data } => {
                    tracing::debug!(session = session.0, index, len = data.len(), "snapshot");
                    let data = bytes::Bytes::copy_from_slice(data);
                    self.events.publish_session(session, SessionUpdate::Snapshot { index, data: data.clone() });
                    self.publish(MeshEvent::Snapshot { session, index, data });
                }
                Output::Event(e) => {
                    tracing::info!(event = ?e, "mesh event");
                    if let Event::Session { session, event } = e {
                        self.events.publish_session(session, SessionUpdate::Event(event));
                    }
                    self.publish(MeshEvent::Core(e));
                }
                Output::Radio(decision) => self.apply(decision),
                Output::Timeout(at) => return at,
                // `Output` grows as the core does (radio parameter and connect decisions);
                // a driver that predates a variant logs it and carries on draining.
                other => tracing::warn!(output = ?other, "core output this driver does not act on"),
            }
        }
    }

    /// First step of a graceful shutdown: refuses new commands and carries out those already
    /// queued. Shutdown requests among them are added to `waiters`.
    pub fn finish_commands(&mut self, now: Instant, commands: &mut mpsc::Receiver<Command>, waiters: &mut Vec<oneshot::Sender<()>>) {
        commands.close();
        while let Ok(command) = commands.try_recv() {
            if let Flow::Shutdown(w) = self.on_command(now, command) {
                waiters.push(w);
            }
        }
    }

    /// Closes the transport. Call once, when the loop ends.
    pub fn close(&mut self) {
        let m = self.node.metrics();
        tracing::info!(
            sent = m.pdus_sent,
            received = m.pdus_received,
            delivered = m.delivered,
            transmit_failed = self.stats.transmit_failed,
            "driver stopped"
        );
        self.sink.close();
    }

    /// Hands a radio decision to the sink, counts the outcome and publishes it.
    fn apply(&mut self, decision: RadioDecision) {
        let result = match &decision {
            RadioDecision::LinkParameters { link, params } => self.sink.apply_link_parameters(*link, params),
            RadioDecision::ChannelMap(map) => self.sink.apply_channel_map(*map),
            RadioDecision::Advertising(schedule) => self.sink.apply_advertising(schedule),
            _ => Err(ApplyError::Unsupported),
        };
        match result {
            Ok(()) => {
                self.stats.radio_applied += 1;
                tracing::debug!(?decision, "radio decision applied");
            }
            Err(ApplyError::Unsupported) => {
                self.stats.radio_unsupported += 1;
                tracing::trace!(?decision, "radio decision not supported by the transport");
            }
            Err(e) => {
                self.stats.radio_failed += 1;
                tracing::debug!(?decision, error = %e, "radio decision not applied");
            }
        }
        self.publish(MeshEvent::Radio(decision));
    }

    fn publish(&self, event: MeshEvent) {
        self.events.publish(event);
    }
}

/// The node's refusal of a call on `session` in the runtime's words: not a player (never
/// joined, which the node calls an unknown session, or left), or `len` bytes above `max`.
fn session_refusal(session: SessionId, len: usize, max: usize, e: blemesh_core::Error) -> Error {
    match e {
        blemesh_core::Error::UnknownSession(_) | blemesh_core::Error::Session(SubmitError::NotJoined) => {
            Error::NotJoined { session }
        }
        blemesh_core::Error::Session(SubmitError::TooLarge) => Error::SessionTooLarge { session, len, max },
        e => Error::Core(e),
    }
}

/// Everything a driver task needs, prepared the same way for every runtime: the application
/// handle and a first subscription (made before the task runs, so no event is missed), the
/// clock, the core, and the receiving ends of commands and link events. The runtime's
/// adapter only spawns its task over it.
#[derive(Debug)]
pub struct Prepared<I> {
    /// The application's handle.
    pub handle: crate::Handle,
    /// The first subscription.
    pub subscription: crate::Subscription,
    /// The driver's clock.
    pub clock: crate::Clock<I>,
    /// The core.
    pub core: DriverCore,
    /// Commands from the handles.
    pub commands: mpsc::Receiver<crate::Command>,
    /// Link events from the transport.
    pub links: mpsc::Receiver<LinkEvent>,
}

impl<I> Prepared<I>
where
    I: Copy + core::ops::Sub<I, Output = core::time::Duration> + core::ops::Add<core::time::Duration, Output = I>,
{
    /// Prepares a driver for a node with `config` on `transport`; `now` reads the runtime's
    /// monotonic clock.
    pub fn new(config: Config, transport: Transport, options: &crate::DriverOptions, now: impl Fn() -> I) -> Result<Self, Error> {
        let (handle, commands, events) = crate::Handle::new(config.node_id, options);
        let subscription = handle.subscribe();
        let mut clock = crate::Clock::new(now());
        let (sink, links) = DriverCore::split(transport);
        let core = DriverCore::new(config, clock.core_time(now()), sink, events)?;
        Ok(Prepared { handle, subscription, clock, core, commands, links })
    }
}
