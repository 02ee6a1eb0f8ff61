//! The seam between a driver and a transport back end (in-memory hub, UDP, BLE).
//!
//! A transport is two halves, handed to the driver together as a [`Transport`]:
//!
//! * **inbound**, a bounded channel of [`LinkEvent`]s the back end fills from its own task
//!   (or callback): links appear ([`LinkEvent::Up`]) and disappear ([`LinkEvent::Down`]), their
//!   radio changes ([`LinkEvent::Report`]), frames arrive ([`LinkEvent::Frame`]);
//! * **outbound**, a [`LinkSink`] the driver calls synchronously for every
//!   [`blemesh_core::Output::Transmit`]. It must not block: a link is lossy, so a frame that
//!   cannot be queued is dropped with a [`TransmitError`] (the driver counts it and the
//!   core's heartbeats and link estimator see the loss).
//!
//! The sink also receives the core's radio decisions ([`blemesh_core::Output::Radio`]):
//! connection parameters per link, the channel map and the advertising schedule. Applying
//! them is optional: the default methods answer [`ApplyError::Unsupported`] (UDP and the
//! in-memory hub have no radio), a BLE back end overrides them. A back end that applies new
//! connection parameters should report what the controller negotiated with a
//! [`LinkEvent::Report`] carrying the new connection interval.
//!
//! Link ids are chosen by the back end and unique among its links that are up; one may be
//! reused after its `Down`. The back end owns its tasks; [`LinkSink::close`] ends them when
//! the driver stops.
//!
//! A channel rather than an async trait keeps the seam runtime-agnostic (the same back end
//! serves the tokio and async-std drivers) and object-safe.

use core::fmt;

use blemesh_core::ble::{AdvertisingSchedule, ChannelMap, LinkParameters};
use blemesh_core::{LinkId, LinkReport};
use bytes::Bytes;
use tokio::sync::mpsc;

/// What a transport reports to its driver.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum LinkEvent {
    /// A link opened (a BLE connection, a UDP peer heard or configured).
    Up {
        /// The back end's handle for it.
        link: LinkId,
        /// Its radio properties (at least the MTU).
        report: LinkReport,
    },
    /// New radio properties of a link that is up.
    Report {
        /// The link.
        link: LinkId,
        /// The new properties.
        report: LinkReport,
    },
    /// A link closed.
    Down {
        /// The link.
        link: LinkId,
    },
    /// One PDU arrived on a link, exactly as the peer wrote it.
    Frame {
        /// The link.
        link: LinkId,
        /// The bytes.
        bytes: Bytes,
    },
}

/// Why a frame could not be handed to a link.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TransmitError {
    /// The link's outgoing buffer is full; the frame is dropped.
    Full,
    /// The link is not (or no longer) up.
    UnknownLink,
    /// The back end is closed.
    Closed,
    /// The operating system refused the write.
    Io,
    /// The PDU is longer than the link can carry (larger than the MTU it reported).
    TooLarge,
}

impl fmt::Display for TransmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransmitError::Full => "link buffer full",
            TransmitError::UnknownLink => "link not up",
            TransmitError::Closed => "transport closed",
            TransmitError::Io => "write failed",
            TransmitError::TooLarge => "frame larger than the link's MTU",
        })
    }
}

impl std::error::Error for TransmitError {}

/// Why a radio decision was not applied. Like a dropped frame, it is counted and logged by
/// the driver, never fatal: the core keeps working with whatever the radio does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum ApplyError {
    /// The back end has no such control (UDP, an in-memory hub, a platform API that does not
    /// expose it).
    Unsupported,
    /// The link is not (or no longer) up.
    UnknownLink,
    /// The radio or the operating system refused the request.
    Rejected,
    /// The back end is closed.
    Closed,
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApplyError::Unsupported => "not supported by this transport",
            ApplyError::UnknownLink => "link not up",
            ApplyError::Rejected => "refused by the radio",
            ApplyError::Closed => "transport closed",
        })
    }
}

impl std::error::Error for ApplyError {}

/// The outbound half of a transport. Called from the driver task; never blocks.
pub trait LinkSink: Send + 'static {
    /// Writes one PDU to `link`, or drops it with a reason.
    fn transmit(&mut self, link: LinkId, bytes: &[u8]) -> Result<(), TransmitError>;

    /// Requests connection parameters and transmit power on `link` (a BLE connection
    /// parameter update; on a peripheral, a request to the central). Must not block: start
    /// the request and return. Default: [`ApplyError::Unsupported`].
    fn apply_link_parameters(&mut self, link: LinkId, params: &LinkParameters) -> Result<(), ApplyError> {
        let _ = (link, params);
        Err(ApplyError::Unsupported)
    }

    /// Restricts every connection to the channels of `map` (the host channel
    /// classification). Default: [`ApplyError::Unsupported`].
    fn apply_channel_map(&mut self, map: ChannelMap) -> Result<(), ApplyError> {
        let _ = map;
        Err(ApplyError::Unsupported)
    }

    /// Advertises on `schedule` from now on. Default: [`ApplyError::Unsupported`].
    fn apply_advertising(&mut self, schedule: &AdvertisingSchedule) -> Result<(), ApplyError> {
        let _ = schedule;
        Err(ApplyError::Unsupported)
    }

    /// The driver stopped: release the back end (stop its tasks, close sockets). Frames
    /// already handed to [`LinkSink::transmit`] must still go out if the back end can.
    fn close(&mut self) {}
}

/// A transport as a driver takes it: the inbound events and the outbound sink.
pub struct Transport {
    /// Events from the back end.
    pub events: mpsc::Receiver<LinkEvent>,
    /// Frames to the back end.
    pub sink: Box<dyn LinkSink>,
}

impl Transport {
    /// Puts the two halves together.
    pub fn new(events: mpsc::Receiver<LinkEvent>, sink: impl LinkSink) -> Self {
        Transport { events, sink: Box::new(sink) }
    }

    /// A channel for a back end's inbound half: the back end keeps the sender.
    pub fn channel(capacity: usize) -> (mpsc::Sender<LinkEvent>, mpsc::Receiver<LinkEvent>) {
        mpsc::channel(capacity.max(1))
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport").field("events", &self.events).finish_non_exhaustive()
    }
}
