//! Routing policies: how each priority prices a link.
//!
//! A [`Policy`] is a weighted sum over a directed link's metrics, in integer units so that
//! path costs add up exactly (no floating-point ties that differ from node to node):
//!
//! ```text
//! cost(link) = per_hop
//!            + per_latency_ms     × latency_ms
//!            + per_unreliability  × −ln(reliability) in micro-nats
//!            + per_congestion     × congestion (0..=255)
//!            + per_energy_deficit × (100 − battery % of the far end; 0 when unknown)
//! ```
//!
//! Path costs are compared as [`PathCost`]: the summed cost first, then the hop count. The
//! hop count tie-break makes next hops strictly approach the destination even across links of
//! zero cost (a perfectly reliable link under [`Priority::Critical`]), which is what makes
//! hop-by-hop forwarding loop-free on a consistent view.
//!
//! The four default policies ([`Policy::for_priority`]):
//!
//! | priority | weights | meaning |
//! | --- | --- | --- |
//! | Critical | unreliability 1 | most reliable: maximises Π r (minimises Σ −ln r) |
//! | High | latency 10 000/ms, unreliability 1 | balanced: 1 nat of unreliability (r ≈ 0.37) weighs as 100 ms |
//! | Normal | hop 2³², latency 1/ms | shortest: fewest hops, then lowest latency (lexicographic while Σ latency < 2³² ms) |
//! | Background | congestion 1 000/unit, energy 500/%, hop 1 000 | least congested; spares drained relays; a hop weighs as one congestion unit |

use crate::Priority;

use super::graph::LinkMetrics;

/// Weights of one routing policy. See the [module documentation](self).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Policy {
    /// Added once per link.
    pub per_hop: u64,
    /// Per millisecond of latency.
    pub per_latency_ms: u64,
    /// Per micro-nat of `−ln(reliability)`.
    pub per_unreliability: u64,
    /// Per unit of congestion (0..=255).
    pub per_congestion: u64,
    /// Per percent of the far end's battery deficit.
    pub per_energy_deficit: u64,
}

impl Policy {
    /// Most reliable path.
    pub const CRITICAL: Policy =
        Policy { per_hop: 0, per_latency_ms: 0, per_unreliability: 1, per_congestion: 0, per_energy_deficit: 0 };
    /// Balanced latency and reliability.
    pub const HIGH: Policy =
        Policy { per_hop: 0, per_latency_ms: 10_000, per_unreliability: 1, per_congestion: 0, per_energy_deficit: 0 };
    /// Fewest hops, then lowest latency.
    pub const NORMAL: Policy =
        Policy { per_hop: 1 << 32, per_latency_ms: 1, per_unreliability: 0, per_congestion: 0, per_energy_deficit: 0 };
    /// Least congested, sparing drained relays.
    pub const BACKGROUND: Policy = Policy {
        per_hop: 1_000,
        per_latency_ms: 0,
        per_unreliability: 0,
        per_congestion: 1_000,
        per_energy_deficit: 500,
    };

    /// The default policy of a priority.
    pub const fn for_priority(p: Priority) -> Policy {
        match p {
            Priority::Critical => Policy::CRITICAL,
            Priority::High => Policy::HIGH,
            Priority::Normal => Policy::NORMAL,
            Priority::Background => Policy::BACKGROUND,
        }
    }

    /// The four default policies, indexed by `Priority as usize`.
    pub const DEFAULTS: [Policy; 4] = [Policy::CRITICAL, Policy::HIGH, Policy::NORMAL, Policy::BACKGROUND];

    /// The cost of one directed link (saturating).
    pub fn link_cost(&self, m: &LinkMetrics) -> u64 {
        self.per_hop
            .saturating_add(self.per_latency_ms.saturating_mul(u64::from(m.latency_ms)))
            .saturating_add(self.per_unreliability.saturating_mul(m.unreliability))
            .saturating_add(self.per_congestion.saturating_mul(u64::from(m.congestion)))
            .saturating_add(self.per_energy_deficit.saturating_mul(u64::from(m.energy_deficit())))
    }
}

/// A path's cost: summed link cost, then hop count (compared in that order).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
pub struct PathCost {
    /// Σ [`Policy::link_cost`] over the path's links.
    pub cost: u64,
    /// Number of links.
    pub hops: u32,
}

impl PathCost {
    /// The empty path.
    pub const ZERO: PathCost = PathCost { cost: 0, hops: 0 };
    /// Unreachable.
    pub const INFINITE: PathCost = PathCost { cost: u64::MAX, hops: u32::MAX };

    /// This path extended by one link of cost `link`.
    pub fn extend(self, link: u64) -> PathCost {
        PathCost { cost: self.cost.saturating_add(link), hops: self.hops.saturating_add(1) }
    }

    /// Whether this is [`PathCost::INFINITE`].
    pub fn is_infinite(&self) -> bool {
        *self == PathCost::INFINITE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_link_costs() {
        let mut m = LinkMetrics::new(12, 0.5, 40, 1000);
        m.far_battery = Some(30);
        assert_eq!(Policy::CRITICAL.link_cost(&m), 693_147);
        assert_eq!(Policy::HIGH.link_cost(&m), 120_000 + 693_147);
        assert_eq!(Policy::NORMAL.link_cost(&m), (1 << 32) + 12);
        assert_eq!(Policy::BACKGROUND.link_cost(&m), 1_000 + 40_000 + 70 * 500);
        assert_eq!(Policy::for_priority(Priority::High), Policy::DEFAULTS[Priority::High as usize]);
        let huge = Policy { per_hop: u64::MAX, ..Policy::NORMAL };
        assert_eq!(huge.link_cost(&m), u64::MAX);
    }

    #[test]
    fn path_costs_compare_cost_then_hops() {
        let a = PathCost::ZERO.extend(5);
        let b = PathCost::ZERO.extend(2).extend(3);
        assert_eq!(a.cost, b.cost);
        assert!(a < b);
        assert!(PathCost::ZERO.extend(4).extend(0) < a);
        assert!(b < PathCost::INFINITE);
        assert!(PathCost::INFINITE.is_infinite());
    }
}
