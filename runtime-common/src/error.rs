//! Errors of the runtime drivers and their application handle.

use core::fmt;
use std::io;

use blemesh_core::session::{SessionId, SubmitError};

/// Why a driver operation failed.
///
/// Errors from the core node ([`blemesh_core::Error`]) are wrapped in [`Error::Core`]; the
/// others come from the driver itself: its bounded command queue, its lifecycle and the
/// set-up of transports.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The node refused the request (no neighbour yet, payload too large, core queue full...).
    Core(blemesh_core::Error),
    /// The node could not be created from its configuration.
    Config(blemesh_core::ConfigError),
    /// The driver's bounded command queue is full: the application sends faster than the
    /// driver can hand messages to the node. Back off and retry.
    CommandQueueFull {
        /// Capacity of the queue ([`crate::DriverOptions::command_queue`]).
        capacity: usize,
    },
    /// The driver has stopped (shut down, or every handle and the transport are gone).
    Shutdown,
    /// A transport could not be set up (socket bind, address rejected...).
    Io(io::Error),
    /// A transport was asked to use a non-loopback address. The UDP transport only ever
    /// talks to 127.0.0.0/8 or ::1; real radios are the BLE back end's job.
    NotLoopback(std::net::SocketAddr),
    /// A submit or a leave for a session this node is not a player of: it never joined, it
    /// left, or its join is not sequenced yet (wait for
    /// [`blemesh_core::session::SessionEvent::Joined`]).
    NotJoined {
        /// The session.
        session: SessionId,
    },
    /// A submit's payload or a join's player info larger than the session takes
    /// ([`blemesh_core::session::SessionConfig`]'s `max_payload`, `max_info`).
    SessionTooLarge {
        /// The session.
        session: SessionId,
        /// The bytes given.
        len: usize,
        /// The most it takes.
        max: usize,
    },
}

impl Error {
    /// Whether retrying later may succeed because a bounded queue was full (the driver's
    /// command queue or one of the core's queues).
    pub fn is_queue_full(&self) -> bool {
        matches!(
            self,
            Error::CommandQueueFull { .. }
                | Error::Core(blemesh_core::Error::QueueFull(_))
                | Error::Core(blemesh_core::Error::Session(SubmitError::TooManyPending))
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Core(e) => write!(f, "node refused: {e}"),
            Error::Config(e) => write!(f, "{e}"),
            Error::CommandQueueFull { capacity } => {
                write!(f, "driver command queue is full ({capacity} requests waiting): back off and retry")
            }
            Error::Shutdown => f.write_str("the driver has stopped"),
            Error::Io(e) => write!(f, "transport I/O: {e}"),
            Error::NotLoopback(a) => write!(f, "{a} is not a loopback address: the UDP transport only uses loopback"),
            Error::NotJoined { session } => write!(
                f,
                "not a player of session {}: join it first and wait for its Joined event (after a leave, join again)",
                session.0
            ),
            Error::SessionTooLarge { session, len, max } => {
                write!(f, "{len} bytes are more than session {} takes (at most {max})", session.0)
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Core(e) => Some(e),
            Error::Config(e) => Some(e),
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<blemesh_core::Error> for Error {
    fn from(e: blemesh_core::Error) -> Self {
        Error::Core(e)
    }
}

impl From<blemesh_core::ConfigError> for Error {
    fn from(e: blemesh_core::ConfigError) -> Self {
        Error::Config(e)
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

/// Why [`crate::Subscription::recv`] returned no event.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RecvError {
    /// The subscriber fell behind and `missed` events were dropped for it; the next call
    /// returns the oldest event still held.
    Lagged {
        /// How many events were lost.
        missed: u64,
    },
    /// The driver stopped and every event was received.
    Closed,
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Lagged { missed } => write!(f, "subscriber lagged: {missed} events lost"),
            RecvError::Closed => f.write_str("the driver stopped"),
        }
    }
}

impl std::error::Error for RecvError {}
