//! Counters of what a BLE transport drops from peers, each under a named reason.
//!
//! Malformed link PDUs are the core's business (it counts them under its own drop reasons);
//! these are the few things only the transport can see.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a BLE transport dropped something a peer sent.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum BleDrop {
    /// Peripheral: a central wrote before subscribing to the notify characteristic, so it
    /// has no link yet to deliver to.
    WriteBeforeSubscribe,
    /// Central: a notification arrived for a characteristic other than blemesh's notify one.
    ForeignNotification,
}

impl BleDrop {
    /// Every reason, in counter order.
    pub const ALL: [BleDrop; 2] = [BleDrop::WriteBeforeSubscribe, BleDrop::ForeignNotification];

    /// A short name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            BleDrop::WriteBeforeSubscribe => "write_before_subscribe",
            BleDrop::ForeignNotification => "foreign_notification",
        }
    }

    fn index(self) -> usize {
        match self {
            BleDrop::WriteBeforeSubscribe => 0,
            BleDrop::ForeignNotification => 1,
        }
    }
}

/// Drop counters of one transport. Cheap to clone: clones share the counters, so keep a
/// clone of the one in the config to read them while the transport runs.
#[derive(Clone, Debug, Default)]
pub struct BleStats {
    drops: Arc<[AtomicU64; BleDrop::ALL.len()]>,
}

impl BleStats {
    /// Counts one drop and logs it with its reason.
    pub fn count(&self, reason: BleDrop) {
        self.drops[reason.index()].fetch_add(1, Ordering::Relaxed);
        tracing::debug!(reason = reason.name(), "ble transport dropped peer input");
    }

    /// How many times `reason` happened.
    pub fn drops(&self, reason: BleDrop) -> u64 {
        self.drops[reason.index()].load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_counters_per_reason() {
        let stats = BleStats::default();
        let reader = stats.clone();
        stats.count(BleDrop::WriteBeforeSubscribe);
        stats.count(BleDrop::WriteBeforeSubscribe);
        assert_eq!(reader.drops(BleDrop::WriteBeforeSubscribe), 2);
        assert_eq!(reader.drops(BleDrop::ForeignNotification), 0);
        let names: Vec<_> = BleDrop::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(names, ["write_before_subscribe", "foreign_notification"]);
        for (i, r) in BleDrop::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }
}
