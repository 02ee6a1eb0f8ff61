//! What the runtime reports about a link's radio.

use core::time::Duration;

/// Properties of a link, given when it comes up and whenever they change.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct LinkReport {
    /// Largest PDU one write carries: the ATT MTU minus 3 on BLE (20 before MTU exchange),
    /// the datagram budget on UDP. At least 20.
    pub mtu: u16,
    /// Received signal strength, dBm, if the radio measures it.
    pub rssi: Option<i8>,
    /// BLE connection interval, if known (7.5 ms to 4 s).
    pub connection_interval: Option<Duration>,
}

impl LinkReport {
    /// A report of just the MTU.
    pub const fn new(mtu: u16) -> Self {
        LinkReport { mtu, rssi: None, connection_interval: None }
    }

    /// The same report with an RSSI reading.
    pub const fn with_rssi(mut self, dbm: i8) -> Self {
        self.rssi = Some(dbm);
        self
    }

    /// The same report with a connection interval.
    pub const fn with_connection_interval(mut self, interval: Duration) -> Self {
        self.connection_interval = Some(interval);
        self
    }
}
