//! Coordinator priority, weighed exactly as the seed weighs it:
//!
//! ```text
//! uptime_hours * 0.3 + connection_count * 0.25 + trust * 0.2
//!     + processing_power / 1000 * 0.15 + battery / 100 * 0.1
//! ```
//!
//! Unknown battery (mains power) counts as 100; trust is clamped to 0.0..=1.0. On the wire the
//! priority travels as `priority_milli`, thousandths rounded to nearest. Nodes compare by
//! [`Rank`]: priority first, then node id (the higher id wins a tie).

use crate::NodeId;

/// The inputs of a node's election priority.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PriorityInputs {
    /// Hours since the node started (fractional). Negative or NaN counts as 0.
    pub uptime_hours: f64,
    /// Links currently confirmed.
    pub connection_count: u32,
    /// Local trust in the node, 0.0..=1.0 (clamped; NaN counts as 0).
    pub trust: f64,
    /// Processing power in arbitrary units (1000 = reference device).
    pub processing_power: u32,
    /// Battery percentage 0..=100 (clamped); `None` when unknown or mains powered (counts 100).
    pub battery: Option<u8>,
}

impl PriorityInputs {
    /// The priority: see the module documentation.
    pub fn priority(&self) -> f64 {
        let uptime = if self.uptime_hours > 0.0 { self.uptime_hours } else { 0.0 };
        let trust = if self.trust > 0.0 { self.trust.min(1.0) } else { 0.0 };
        let battery = f64::from(self.battery.map_or(100, |b| b.min(100)));
        uptime * 0.3
            + f64::from(self.connection_count) * 0.25
            + trust * 0.2
            + f64::from(self.processing_power) / 1000.0 * 0.15
            + battery / 100.0 * 0.1
    }

    /// The priority in thousandths, rounded to nearest, saturating at `u32::MAX`.
    pub fn priority_milli(&self) -> u32 {
        // `as` saturates (and maps NaN to 0); the priority is never negative.
        (self.priority() * 1000.0 + 0.5) as u32
    }
}

/// How two nodes compare in an election: higher priority wins, then higher node id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rank {
    /// Priority in thousandths.
    pub priority_milli: u32,
    /// The node.
    pub node: NodeId,
}

impl Rank {
    /// The rank of `node` with priority `priority_milli`.
    pub const fn new(priority_milli: u32, node: NodeId) -> Self {
        Rank { priority_milli, node }
    }

    /// Whether `self` outranks `other` by more than `margin_milli` of priority (with a zero
    /// margin: simply outranks, ties broken by id).
    pub fn outranks_by(&self, other: &Rank, margin_milli: u32) -> bool {
        if margin_milli == 0 { self > other } else { self.priority_milli > other.priority_milli.saturating_add(margin_milli) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_matches_the_seed() {
        let p = PriorityInputs { uptime_hours: 10.0, connection_count: 3, trust: 0.5, processing_power: 1000, battery: Some(80) };
        // 3.0 + 0.75 + 0.1 + 0.15 + 0.08
        assert!((p.priority() - 4.08).abs() < 1e-9);
        assert_eq!(p.priority_milli(), 4080);
        let mains = PriorityInputs { battery: None, ..p };
        assert_eq!(mains.priority_milli(), 4100);
        let clamped = PriorityInputs { trust: 7.0, battery: Some(250), uptime_hours: f64::NAN, ..p };
        assert_eq!(clamped.priority_milli(), 750 + 200 + 150 + 100);
        let zero = PriorityInputs { uptime_hours: -1.0, connection_count: 0, trust: f64::NAN, processing_power: 0, battery: Some(0) };
        assert_eq!(zero.priority_milli(), 0);
        let huge = PriorityInputs { uptime_hours: 1e300, ..p };
        assert_eq!(huge.priority_milli(), u32::MAX);
    }

    #[test]
    fn rank_orders_by_priority_then_id() {
        let a = Rank::new(1000, NodeId(1));
        let b = Rank::new(1000, NodeId(2));
        let c = Rank::new(1050, NodeId(1));
        assert!(b > a && c > b);
        assert!(b.outranks_by(&a, 0));
        assert!(!b.outranks_by(&a, 10));
        assert!(!c.outranks_by(&a, 50));
        assert!(c.outranks_by(&a, 49));
    }
}
