//! Message priority and the quality-of-service options of a send.

/// The four priority classes. Each selects a routing policy and a share of the radio.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
#[repr(u8)]
pub enum Priority {
    /// Most reliable path; game-state commits, votes. Wire value 0.
    Critical = 0,
    /// Balanced latency and reliability; player input. Wire value 1.
    High = 1,
    /// Shortest path; ordinary game data. Wire value 2.
    Normal = 2,
    /// Least congested path; bulk and telemetry. Wire value 3.
    Background = 3,
}

impl Priority {
    /// All priorities, most important first.
    pub const ALL: [Priority; 4] =
        [Priority::Critical, Priority::High, Priority::Normal, Priority::Background];

    /// Parses the 2-bit wire value (only the two low bits are looked at).
    pub const fn from_bits(bits: u8) -> Priority {
        match bits & 0b11 {
            0 => Priority::Critical,
            1 => Priority::High,
            2 => Priority::Normal,
            _ => Priority::Background,
        }
    }

    /// A stable lowercase name.
    pub const fn name(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Background => "background",
        }
    }
}

/// Options of one application send.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Qos {
    /// Priority class.
    pub priority: Priority,
    /// Hop limit; `None` uses [`crate::Config::default_ttl`].
    pub ttl: Option<u8>,
    /// Ask the destination for an end-to-end acknowledgement (unicast only). The message is
    /// retried over the backup route, then by flooding, and its fate is reported as
    /// [`crate::Event::Delivered`] or [`crate::Event::DeliveryFailed`].
    pub ack: bool,
}

impl Qos {
    /// Default options at `priority`.
    pub const fn new(priority: Priority) -> Self {
        Qos { priority, ttl: None, ack: false }
    }

    /// Acknowledged delivery at `priority` (see [`Qos::ack`]).
    pub const fn reliable(priority: Priority) -> Self {
        Qos { priority, ttl: None, ack: true }
    }

    /// The same options with an explicit hop limit.
    pub const fn with_ttl(mut self, ttl: u8) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

impl Default for Qos {
    fn default() -> Self {
        Qos::new(Priority::Normal)
    }
}
