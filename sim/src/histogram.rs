//! A fixed-size log-linear histogram of latencies (3 % resolution, constant memory), so that
//! hours of traffic do not need every sample kept.

const SUB: u64 = 32;
const LINEAR: u64 = 2 * SUB;
const BUCKETS: usize = (LINEAR + (64 - 6) * SUB) as usize;

/// Latency samples in microseconds. Exact below 64 µs, then 32 buckets per power of two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: vec![0; BUCKETS], count: 0, sum: 0, max: 0 }
    }
}

fn index(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let e = 63 - u64::from(v.leading_zeros()); // >= 6
    let mantissa = v >> (e - 5); // 32..64
    (LINEAR + (e - 6) * SUB + (mantissa - SUB)) as usize
}

/// The lowest value of bucket `i` and the bucket's width.
fn bounds(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < LINEAR {
        return (i, 1);
    }
    let e = (i - LINEAR) / SUB + 6;
    let mantissa = (i - LINEAR) % SUB + SUB;
    (mantissa << (e - 5), 1 << (e - 5))
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one sample.
    pub fn record(&mut self, us: u64) {
        self.counts[index(us)] += 1;
        self.count += 1;
        self.sum += u128::from(us);
        self.max = self.max.max(us);
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Exact mean, µs (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.sum as f64 / self.count as f64 }
    }

    /// Exact maximum, µs.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The `q`-quantile (0..=1), µs: the midpoint of the bucket holding it (0 when empty).
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, width) = bounds(i);
                return (lo + width / 2).min(self.max);
            }
        }
        self.max
    }

    /// Points `(value_us, cumulative fraction)` of the CDF, one per non-empty bucket.
    pub fn cdf(&self) -> Vec<(u64, f64)> {
        let mut out = Vec::new();
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            if *c > 0 {
                seen += c;
                let (lo, width) = bounds(i);
                out.push(((lo + width).min(self.max.max(lo)), seen as f64 / self.count as f64));
            }
        }
        out
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_trip() {
        for v in [0u64, 1, 63, 64, 65, 1000, 15_000, 1 << 40, u64::MAX] {
            let (lo, w) = bounds(index(v));
            assert!(lo <= v && v - lo < w, "{v}: {lo}+{w}");
        }
    }

    #[test]
    fn quantiles_are_within_resolution() {
        let mut h = Histogram::new();
        for v in 1..=10_000u64 {
            h.record(v * 10);
        }
        assert_eq!(h.count(), 10_000);
        assert!((h.mean() - 50_005.0).abs() < 1e-6);
        let p50 = h.quantile(0.5) as f64;
        let p99 = h.quantile(0.99) as f64;
        assert!((p50 / 50_000.0 - 1.0).abs() < 0.04, "{p50}");
        assert!((p99 / 99_000.0 - 1.0).abs() < 0.04, "{p99}");
        assert_eq!(h.max(), 100_000);
        assert_eq!(h.cdf().last().unwrap().1, 1.0);
    }
}
