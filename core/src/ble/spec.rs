//! The BLE Core Specification's limits, carried by unit types that cannot hold a value
//! outside them.
//!
//! | quantity | unit | range (spec) | reference |
//! |---|---|---|---|
//! | connection interval | 1.25 ms | 6..=3200 (7.5 ms to 4 s) | Core 5.4, Vol 6, Part B, 4.5.1 |
//! | peripheral latency | events | 0..=499 | Vol 6, Part B, 4.5.1 |
//! | supervision timeout | 10 ms | 10..=3200 (100 ms to 32 s), and more than `(1 + latency) × interval × 2` | Vol 6, Part B, 4.5.2; Vol 4, Part E, 7.8.12 |
//! | advertising interval | 0.625 ms | 32..=16384 (20 ms to 10.24 s) | Vol 6, Part B, 4.4.2.2 |
//! | transmit power | dBm | -127..=+20 | Vol 4, Part E, 7.8.117 |

use core::time::Duration;

/// Microseconds in one connection-interval unit (1.25 ms).
pub const CONNECTION_INTERVAL_UNIT_US: u32 = 1250;
/// Microseconds in one supervision-timeout unit (10 ms).
pub const SUPERVISION_TIMEOUT_UNIT_US: u32 = 10_000;
/// Microseconds in one advertising-interval unit (0.625 ms).
pub const ADVERTISING_INTERVAL_UNIT_US: u32 = 625;
/// Largest peripheral latency the specification allows, in connection events.
pub const MAX_PERIPHERAL_LATENCY: u16 = 499;
/// Lowest transmit power a controller can be asked for, dBm.
pub const MIN_TX_POWER_DBM: i8 = -127;
/// Highest transmit power the specification allows (power class 1), dBm.
pub const MAX_TX_POWER_DBM: i8 = 20;

/// Rounds `d` down to whole units of `unit_us` microseconds, saturating.
fn units_floor(d: Duration, unit_us: u32) -> u32 {
    u32::try_from(d.as_micros() / u128::from(unit_us)).unwrap_or(u32::MAX)
}

/// A BLE connection interval: a multiple of 1.25 ms from 7.5 ms to 4 s.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ConnectionInterval(u16);

impl ConnectionInterval {
    /// 7.5 ms, the shortest interval.
    pub const MIN: ConnectionInterval = ConnectionInterval(6);
    /// 4 s, the longest interval.
    pub const MAX: ConnectionInterval = ConnectionInterval(3200);

    /// The interval of `units` × 1.25 ms, if within 6..=3200.
    pub const fn from_units(units: u16) -> Option<Self> {
        if units >= Self::MIN.0 && units <= Self::MAX.0 { Some(ConnectionInterval(units)) } else { None }
    }

    /// The longest valid interval not longer than `d`, or [`ConnectionInterval::MIN`] if `d`
    /// is shorter than that.
    pub fn at_most(d: Duration) -> Self {
        let units = units_floor(d, CONNECTION_INTERVAL_UNIT_US).clamp(6, 3200);
        ConnectionInterval(units as u16)
    }

    /// The interval in 1.25 ms units, as an HCI command carries it.
    pub const fn units(self) -> u16 {
        self.0
    }

    /// The interval as a duration.
    pub const fn as_duration(self) -> Duration {
        Duration::from_micros(self.0 as u64 * CONNECTION_INTERVAL_UNIT_US as u64)
    }
}

/// A peripheral latency: connection events the peripheral may skip, 0..=499.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct PeripheralLatency(u16);

impl PeripheralLatency {
    /// No event skipped.
    pub const ZERO: PeripheralLatency = PeripheralLatency(0);

    /// The latency of `events`, if at most 499.
    pub const fn new(events: u16) -> Option<Self> {
        if events <= MAX_PERIPHERAL_LATENCY { Some(PeripheralLatency(events)) } else { None }
    }

    /// Events that may be skipped.
    pub const fn events(self) -> u16 {
        self.0
    }
}

/// A supervision timeout: a multiple of 10 ms from 100 ms to 32 s.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct SupervisionTimeout(u16);

impl SupervisionTimeout {
    /// 100 ms, the shortest timeout.
    pub const MIN: SupervisionTimeout = SupervisionTimeout(10);
    /// 32 s, the longest timeout.
    pub const MAX: SupervisionTimeout = SupervisionTimeout(3200);

    /// The timeout of `units` × 10 ms, if within 10..=3200.
    pub const fn from_units(units: u16) -> Option<Self> {
        if units >= Self::MIN.0 && units <= Self::MAX.0 { Some(SupervisionTimeout(units)) } else { None }
    }

    /// The longest valid timeout not longer than `d`, clamped into 100 ms..=32 s.
    pub fn at_most(d: Duration) -> Self {
        let units = units_floor(d, SUPERVISION_TIMEOUT_UNIT_US).clamp(10, 3200);
        SupervisionTimeout(units as u16)
    }

    /// The shortest timeout the specification allows for `interval` and `latency`: more
    /// than `(1 + latency) × interval × 2`, and at least 100 ms. `None` if even 32 s is not
    /// enough (the pair is unusable).
    pub fn floor_for(interval: ConnectionInterval, latency: PeripheralLatency) -> Option<Self> {
        // (1 + latency) × units × 1.25 ms × 2 = (1 + latency) × units / 4 in 10 ms units;
        // the timeout must be strictly greater, hence the next whole unit.
        let span = (1 + u32::from(latency.0)) * u32::from(interval.0);
        let units = (span / 4 + 1).max(10);
        u16::try_from(units).ok().and_then(SupervisionTimeout::from_units)
    }

    /// The timeout in 10 ms units, as an HCI command carries it.
    pub const fn units(self) -> u16 {
        self.0
    }

    /// The timeout as a duration.
    pub const fn as_duration(self) -> Duration {
        Duration::from_millis(self.0 as u64 * 10)
    }
}

/// An advertising interval: a multiple of 0.625 ms from 20 ms to 10.24 s.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct AdvertisingInterval(u16);

impl AdvertisingInterval {
    /// 20 ms, the shortest interval.
    pub const MIN: AdvertisingInterval = AdvertisingInterval(32);
    /// 10.24 s, the longest interval.
    pub const MAX: AdvertisingInterval = AdvertisingInterval(16384);

    /// The interval of `units` × 0.625 ms, if within 32..=16384.
    pub const fn from_units(units: u16) -> Option<Self> {
        if units >= Self::MIN.0 && units <= Self::MAX.0 { Some(AdvertisingInterval(units)) } else { None }
    }

    /// The longest valid interval not longer than `d`, clamped into 20 ms..=10.24 s.
    pub fn at_most(d: Duration) -> Self {
        let units = units_floor(d, ADVERTISING_INTERVAL_UNIT_US).clamp(32, 16384);
        AdvertisingInterval(units as u16)
    }

    /// The interval in 0.625 ms units, as an HCI command carries it.
    pub const fn units(self) -> u16 {
        self.0
    }

    /// The interval as a duration.
    pub const fn as_duration(self) -> Duration {
        Duration::from_micros(self.0 as u64 * ADVERTISING_INTERVAL_UNIT_US as u64)
    }
}

/// Whether `d` is a whole number of `unit_us` microseconds within `min..=max` units: for
/// validating configured durations that must be representable exactly.
pub(crate) fn representable(d: Duration, unit_us: u32, min: u32, max: u32) -> bool {
    d.as_micros() % u128::from(unit_us) == 0 && (min..=max).contains(&units_floor(d, unit_us))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_types_hold_the_spec_ranges_exactly() {
        assert_eq!(ConnectionInterval::from_units(5), None);
        assert_eq!(ConnectionInterval::from_units(6).unwrap().as_duration(), Duration::from_micros(7500));
        assert_eq!(ConnectionInterval::from_units(3200).unwrap().as_duration(), Duration::from_secs(4));
        assert_eq!(ConnectionInterval::from_units(3201), None);
        assert_eq!(PeripheralLatency::new(499).unwrap().events(), 499);
        assert_eq!(PeripheralLatency::new(500), None);
        assert_eq!(SupervisionTimeout::from_units(9), None);
        assert_eq!(SupervisionTimeout::from_units(3200).unwrap().as_duration(), Duration::from_secs(32));
        assert_eq!(SupervisionTimeout::from_units(3201), None);
        assert_eq!(AdvertisingInterval::from_units(31), None);
        assert_eq!(AdvertisingInterval::MIN.as_duration(), Duration::from_millis(20));
        assert_eq!(AdvertisingInterval::MAX.as_duration(), Duration::from_millis(10_240));
        assert_eq!(AdvertisingInterval::from_units(16385), None);
    }

    #[test]
    fn at_most_rounds_down_and_clamps() {
        assert_eq!(ConnectionInterval::at_most(Duration::from_millis(16)).units(), 12); // 15 ms
        assert_eq!(ConnectionInterval::at_most(Duration::from_millis(1)), ConnectionInterval::MIN);
        assert_eq!(ConnectionInterval::at_most(Duration::from_secs(60)), ConnectionInterval::MAX);
        assert_eq!(SupervisionTimeout::at_most(Duration::from_millis(2_019)).units(), 201);
        assert_eq!(AdvertisingInterval::at_most(Duration::from_micros(152_500)).units(), 244);
    }

    #[test]
    fn supervision_floor_is_strictly_above_twice_the_effective_interval() {
        // 7.5 ms, no latency: 15 ms × ... is under 100 ms, so the spec minimum applies.
        let floor = SupervisionTimeout::floor_for(ConnectionInterval::MIN, PeripheralLatency::ZERO).unwrap();
        assert_eq!(floor, SupervisionTimeout::MIN);
        // 100 ms interval (80 units), latency 4: 2 × 5 × 100 ms = 1000 ms; must exceed it.
        let ci = ConnectionInterval::from_units(80).unwrap();
        let floor = SupervisionTimeout::floor_for(ci, PeripheralLatency::new(4).unwrap()).unwrap();
        assert_eq!(floor.as_duration(), Duration::from_millis(1010));
        // 4 s × 2 × 5 = 40 s: no valid timeout exists.
        assert_eq!(SupervisionTimeout::floor_for(ConnectionInterval::MAX, PeripheralLatency::new(4).unwrap()), None);
        // 4 s, no latency: 8 s, so 8.01 s.
        let floor = SupervisionTimeout::floor_for(ConnectionInterval::MAX, PeripheralLatency::ZERO).unwrap();
        assert_eq!(floor.units(), 801);
    }
}
