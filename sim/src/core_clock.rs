//! The stopwatch behind the report's "core CPU" figure: wall time spent inside core calls.
//!
//! Every core call of a run (about two per event) is one span, so the clock is read some
//! ten million times in `hour50`. `std::time::Instant` costs a `clock_gettime` call per read
//! plus a checked `timespec` subtraction per span (together ~7 % of the run's CPU); this
//! stopwatch reads the CPU's time-stamp counter through [`quanta::Clock::raw`] (one `rdtsc`),
//! adds up raw tick differences, and converts the sum to time once, with quanta's
//! calibration of the counter against the monotonic clock (done once per process). Where
//! the CPU has no invariant counter quanta reads the monotonic clock instead, in
//! nanoseconds, and the figure is the same sum. `rdtsc` is not serialising, so a single
//! span may be off by a few cycles of out-of-order execution either way; over millions of
//! spans those cancel, and the figure stays what it was: wall time inside the core, which
//! includes any time the process was descheduled during a call.

use std::time::Duration;

/// Accumulates the wall time of spans (see the module documentation).
#[derive(Debug, Clone)]
pub struct CoreClock {
    clock: quanta::Clock,
    /// Sum of the spans' raw counter differences.
    ticks: u64,
}

impl Default for CoreClock {
    fn default() -> Self {
        Self::new()
    }
}

impl CoreClock {
    /// A stopwatch at zero (the first one of a process calibrates the counter, ~a few ms).
    pub fn new() -> Self {
        Self { clock: quanta::Clock::new(), ticks: 0 }
    }

    /// Starts a span: the raw counter now.
    #[inline]
    pub fn start(&self) -> u64 {
        self.clock.raw()
    }

    /// Ends the span begun at `started` and adds it to the total. A counter that reads
    /// lower than at the start (a migration between cores whose counters disagree) adds
    /// nothing rather than a wrapped-around giant.
    #[inline]
    pub fn stop(&mut self, started: u64) {
        self.ticks += self.clock.raw().saturating_sub(started);
    }

    /// The total of every span so far.
    pub fn total(&self) -> Duration {
        self.clock.delta(0, self.ticks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_add_up_to_the_time_they_covered() {
        let mut c = CoreClock::new();
        assert_eq!(c.total(), Duration::ZERO);
        let wall = std::time::Instant::now();
        for _ in 0..4 {
            let t0 = c.start();
            std::thread::sleep(Duration::from_millis(5));
            c.stop(t0);
        }
        let outer = wall.elapsed();
        let total = c.total();
        // Four 5 ms sleeps: at least 20 ms, and no more than the wall time around them
        // (plus 5 % for the counter's calibration error).
        assert!(total >= Duration::from_millis(19), "{total:?}");
        assert!(total.as_secs_f64() <= outer.as_secs_f64() * 1.05, "{total:?} > {outer:?}");
    }
}
