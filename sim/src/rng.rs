//! Seeded randomness for the simulator.
//!
//! Every random draw of a run comes from a [`SimRng`] derived from the scenario seed with
//! [`derive_seed`], one stream per purpose (radio, workload, mobility, ...), so adding draws
//! to one purpose does not shift another. Distributions are computed here with `libm` rather
//! than taken from a crate, so the numbers cannot change with a dependency update and are the
//! same on every platform.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// Mixes `seed` and a stream label into an independent 64-bit seed (SplitMix64 finaliser).
pub fn derive_seed(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Stream labels for [`derive_seed`].
pub mod stream {
    /// Node placement.
    pub const PLACEMENT: u64 = 1;
    /// Per-pair shadowing.
    pub const SHADOWING: u64 = 2;
    /// Packet success draws.
    pub const RADIO: u64 = 3;
    /// Application load.
    pub const WORKLOAD: u64 = 4;
    /// Random waypoint movement.
    pub const MOBILITY: u64 = 5;
    /// Churn (which node leaves, when).
    pub const CHURN: u64 = 6;
    /// Discovery and connection timing.
    pub const DISCOVERY: u64 = 7;
    /// Byzantine behaviour.
    pub const BYZANTINE: u64 = 8;
    /// Core node seeds (mixed with the node id and incarnation).
    pub const NODES: u64 = 9;
    /// The game-session workload.
    pub const SESSION: u64 = 10;
}

/// A seeded pseudo-random generator with the distributions the simulator needs.
#[derive(Clone, Debug)]
pub struct SimRng(ChaCha8Rng);

impl SimRng {
    /// A generator for `stream` of the run seeded with `seed`.
    pub fn new(seed: u64, stream: u64) -> Self {
        SimRng(ChaCha8Rng::seed_from_u64(derive_seed(seed, stream)))
    }

    /// A raw 64-bit draw.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in `[0, n)`; `0` when `n == 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.0.next_u64() % n }
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal draw (Box–Muller, one value per call).
    pub fn gaussian(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]
        let u2 = self.unit();
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * core::f64::consts::PI * u2)
    }

    /// Exponential draw with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * libm::log(1.0 - self.unit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let mut a = SimRng::new(42, stream::RADIO);
        let mut b = SimRng::new(42, stream::RADIO);
        let mut c = SimRng::new(42, stream::WORKLOAD);
        let xa: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let xc: Vec<u64> = (0..4).map(|_| c.next_u64()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn distributions_have_plausible_moments() {
        let mut r = SimRng::new(7, 0);
        let n = 20_000;
        let g: Vec<f64> = (0..n).map(|_| r.gaussian()).collect();
        let mean = g.iter().sum::<f64>() / n as f64;
        let var = g.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.05 && (var - 1.0).abs() < 0.05, "{mean} {var}");
        let e = (0..n).map(|_| r.exponential(2.0)).sum::<f64>() / n as f64;
        assert!((e - 2.0).abs() < 0.1, "{e}");
    }
}
