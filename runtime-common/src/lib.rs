//! # blemesh-runtime
//!
//! The runtime-agnostic parts of the blemesh drivers, shared by `blemesh-tokio` and
//! `blemesh-async-std` so that both offer the same API:
//!
//! * the application's [`Handle`] (send, broadcast, metrics, subscribe, shutdown, game
//!   sessions) and its bounded [`Command`] queue; the event stream of [`MeshEvent`]s
//!   ([`Subscription`]) and the ordered per-session streams ([`SessionStream`]);
//! * the transport seam: [`Transport`] = inbound [`LinkEvent`] channel + outbound
//!   [`LinkSink`]; the in-memory [`MemoryHub`]; the UDP link table and sink ([`udp`]);
//! * [`DriverCore`], the synchronous half of a driver that applies the core's drain
//!   contract (including the core's radio decisions, handed to the [`LinkSink`]); a runtime
//!   adds only the loop that waits for inputs and deadlines;
//! * with the `testsuite` feature, the behaviour tests every runtime must pass.
//!
//! Channels are `tokio::sync` ones, which need no tokio runtime and work on any executor.
//! Nothing here spawns a task or reads a clock.

mod error;
mod event;
mod handle;
mod machine;
mod memory;
mod session;
mod transport;
pub mod udp;

#[cfg(feature = "testsuite")]
pub mod testsuite;

pub use error::{Error, RecvError};
pub use event::{Delivery, MeshEvent, Publisher, Subscription};
pub use handle::{Command, DriverOptions, Handle, NeighbourInfo, Reply};
pub use machine::{DriverCore, DriverStats, Flow, Prepared};
pub use memory::{Endpoint, MemoryHub};
pub use session::{SessionStream, SessionUpdate};
pub use transport::{ApplyError, LinkEvent, LinkSink, TransmitError, Transport};

/// Maps a runtime's monotonic clock to the core's [`blemesh_core::Instant`]: microseconds
/// since the driver started, never going backwards.
#[derive(Clone, Copy, Debug)]
pub struct Clock<I> {
    start: I,
    last: blemesh_core::Instant,
}

impl<I> Clock<I>
where
    I: Copy + core::ops::Sub<I, Output = core::time::Duration> + core::ops::Add<core::time::Duration, Output = I>,
{
    /// A clock whose epoch is `start`.
    pub fn new(start: I) -> Self {
        Clock { start, last: blemesh_core::Instant::ZERO }
    }

    /// `now` in core time; never earlier than the previous call's result.
    pub fn core_time(&mut self, now: I) -> blemesh_core::Instant {
        let micros = u64::try_from((now - self.start).as_micros()).unwrap_or(u64::MAX);
        self.last = self.last.max(blemesh_core::Instant::from_micros(micros));
        self.last
    }

    /// The runtime instant of a core deadline; `None` for [`blemesh_core::Instant::MAX`].
    pub fn runtime_time(&self, at: blemesh_core::Instant) -> Option<I> {
        (at != blemesh_core::Instant::MAX).then(|| self.start + core::time::Duration::from_micros(at.as_micros()))
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;
    use core::time::Duration;
    use std::time::Instant;

    #[test]
    fn clock_maps_to_micros_and_never_goes_back() {
        let start = Instant::now();
        let mut clock = Clock::new(start);
        let t = clock.core_time(start + Duration::from_millis(5));
        assert_eq!(t, blemesh_core::Instant::from_millis(5));
        assert_eq!(clock.core_time(start), t, "an earlier reading does not go back");
        assert_eq!(clock.runtime_time(blemesh_core::Instant::from_secs(1)), Some(start + Duration::from_secs(1)));
        assert_eq!(clock.runtime_time(blemesh_core::Instant::MAX), None);
    }
}
