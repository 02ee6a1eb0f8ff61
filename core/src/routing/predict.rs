//! Prediction: Holt forecasts of link load and signal, failure risk, route ranking, handoff.
//!
//! [`Holt`] is double exponential smoothing (level + trend) adapted to irregular samples: the
//! trend is per second and the forecast step uses the real time between samples.
//!
//! ```text
//! forecast(dt) = level + trend × dt
//! level'       = α·x + (1 − α)·forecast(dt)
//! trend'       = β·(level' − level)/dt + (1 − β)·trend
//! error        = α·|x − forecast(dt)| + (1 − α)·error      (mean absolute one-step error)
//! confidence   = min(1, (n − 1)/4) × s/(s + error),  s = max(|level|, 1)
//! ```
//!
//! [`LinkPredictor`] keeps one forecast of utilisation (0..1) and one of RSSI per undirected
//! link. The **failure risk** of a link at a time is a ramp on the forecast RSSI: 0 at or above
//! `floor + margin`, 1 at or below `floor` (defaults −90 dBm and 10 dB). The **handoff
//! predicate** [`LinkPredictor::will_fail_within`] says whether the RSSI trend reaches the floor
//! within a horizon. Routes are ranked by `(cost + 1) × (1 + peak load) / survival`, with
//! survival `Π (1 − risk)` over their links.

use super::sorted_map::SortedMap;
use alloc::vec::Vec;
use core::time::Duration;

use crate::{Instant, NodeId};

/// Online Holt (double exponential) smoothing over timestamped samples.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Holt {
    /// Level smoothing factor, `0..=1`.
    pub alpha: f64,
    /// Trend smoothing factor, `0..=1`.
    pub beta: f64,
    level: f64,
    trend: f64,
    error: f64,
    samples: u32,
    last: Instant,
}

impl Holt {
    /// A forecaster with smoothing factors `alpha` (level) and `beta` (trend).
    pub fn new(alpha: f64, beta: f64) -> Self {
        Holt { alpha, beta, level: 0.0, trend: 0.0, error: 0.0, samples: 0, last: Instant::ZERO }
    }

    /// Adds sample `x` taken at `now` (times must not go backwards).
    pub fn update(&mut self, now: Instant, x: f64) {
        let (a, b) = (self.alpha, self.beta);
        if self.samples == 0 {
            self.level = x;
            self.trend = 0.0;
        } else {
            let dt = now.saturating_duration_since(self.last).as_secs_f64();
            let predicted = self.level + self.trend * dt;
            let err = libm::fabs(x - predicted);
            self.error = if self.samples == 1 { err } else { a * err + (1.0 - a) * self.error };
            let level = a * x + (1.0 - a) * predicted;
            if dt > 0.0 {
                self.trend = b * (level - self.level) / dt + (1.0 - b) * self.trend;
            }
            self.level = level;
        }
        self.last = self.last.max(now);
        self.samples = self.samples.saturating_add(1);
    }

    /// Samples seen.
    pub fn samples(&self) -> u32 {
        self.samples
    }

    /// Smoothed level (at the last sample).
    pub fn level(&self) -> f64 {
        self.level
    }

    /// Smoothed trend, units per second.
    pub fn trend(&self) -> f64 {
        self.trend
    }

    /// Time of the last sample.
    pub fn last_sample(&self) -> Instant {
        self.last
    }

    /// The forecast at `at` (`None` before any sample).
    pub fn forecast(&self, at: Instant) -> Option<f64> {
        (self.samples > 0).then(|| self.level + self.trend * at.saturating_duration_since(self.last).as_secs_f64())
    }

    /// Confidence in the forecast, `0..=1` (see the module documentation).
    pub fn confidence(&self) -> f64 {
        if self.samples < 2 {
            return 0.0;
        }
        let ramp = (f64::from(self.samples - 1) / 4.0).min(1.0);
        let scale = libm::fabs(self.level).max(1.0);
        ramp * scale / (scale + self.error)
    }

    /// When the trend takes the level down to `floor`: `Some(last sample)` if already there,
    /// `None` if it is not falling.
    pub fn reaches_floor_at(&self, floor: f64) -> Option<Instant> {
        if self.samples == 0 {
            return None;
        }
        if self.level <= floor {
            return Some(self.last);
        }
        if self.trend >= 0.0 {
            return None;
        }
        let secs = (self.level - floor) / -self.trend;
        let micros = libm::floor(secs * 1e6);
        Some(self.last + Duration::from_micros(if micros >= u64::MAX as f64 { u64::MAX } else { micros as u64 }))
    }
}

/// Forecasts of one undirected link.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct LinkTrend {
    /// Utilisation, `0..=1`.
    pub load: Holt,
    /// RSSI, dBm.
    pub rssi: Holt,
}

impl LinkTrend {
    /// Confidence in this link's forecasts: the smaller of the two forecasts' confidences,
    /// counting only forecasts that have samples (a runtime may never report RSSI); 0 when
    /// neither has.
    pub fn confidence(&self) -> f64 {
        let of = |h: &Holt| (h.samples() > 0).then(|| h.confidence());
        match (of(&self.load), of(&self.rssi)) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => 0.0,
        }
    }
}

/// The outlook of one candidate route, as returned by [`LinkPredictor::rank_routes`].
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct RouteOutlook {
    /// Position of the route in the input.
    pub index: usize,
    /// Ranking score; lower is better.
    pub score: f64,
    /// Predicted probability that no link of the route fails, `Π (1 − risk)`.
    pub survival: f64,
    /// Highest predicted utilisation along the route.
    pub peak_load: f64,
    /// Smallest link confidence along the route ([`LinkTrend::confidence`]; 0 for a link
    /// never observed).
    pub confidence: f64,
}

/// Per-link forecasts. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct LinkPredictor {
    /// Smoothing factors of new forecasts `(alpha, beta)`.
    pub smoothing: (f64, f64),
    /// RSSI at which a link is considered failed, dBm. Default −90.
    pub rssi_floor_dbm: f64,
    /// Width of the risk ramp above the floor, dB. Default 10.
    pub margin_db: f64,
    /// By link, in a sorted vector (this node's few links: a `BTreeMap` node is mostly empty).
    links: SortedMap<(NodeId, NodeId), LinkTrend>,
}

impl Default for LinkPredictor {
    fn default() -> Self {
        LinkPredictor { smoothing: (0.5, 0.3), rssi_floor_dbm: -90.0, margin_db: 10.0, links: SortedMap::default() }
    }
}

fn key(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    (a.min(b), a.max(b))
}

impl LinkPredictor {
    /// A predictor with default smoothing (α 0.5, β 0.3), floor −90 dBm and margin 10 dB.
    pub fn new() -> Self {
        LinkPredictor::default()
    }

    fn trend_mut(&mut self, a: NodeId, b: NodeId) -> &mut LinkTrend {
        let (al, be) = self.smoothing;
        self.links.get_or_insert_with(key(a, b), || LinkTrend { load: Holt::new(al, be), rssi: Holt::new(al, be) })
    }

    /// The forecasts of link `a — b`.
    pub fn link(&self, a: NodeId, b: NodeId) -> Option<&LinkTrend> {
        self.links.get(key(a, b))
    }

    /// Records the utilisation (`0..=1`) of link `a — b` at `now`.
    pub fn observe_load(&mut self, a: NodeId, b: NodeId, now: Instant, utilisation: f64) {
        self.trend_mut(a, b).load.update(now, utilisation.clamp(0.0, 1.0));
    }

    /// Records the RSSI (dBm) of link `a — b` at `now`.
    pub fn observe_rssi(&mut self, a: NodeId, b: NodeId, now: Instant, rssi_dbm: f64) {
        self.trend_mut(a, b).rssi.update(now, rssi_dbm);
    }

    /// Forgets link `a — b` (it went down).
    pub fn forget(&mut self, a: NodeId, b: NodeId) {
        self.links.remove(key(a, b));
    }

    /// Predicted utilisation of `a — b` at `at`, clamped to `0..=1`.
    pub fn predicted_load(&self, a: NodeId, b: NodeId, at: Instant) -> Option<f64> {
        Some(self.link(a, b)?.load.forecast(at)?.clamp(0.0, 1.0))
    }

    /// Risk (`0..=1`) that `a — b` has failed at `at`; 0 for a link without RSSI samples.
    pub fn failure_risk(&self, a: NodeId, b: NodeId, at: Instant) -> f64 {
        let Some(rssi) = self.link(a, b).and_then(|l| l.rssi.forecast(at)) else { return 0.0 };
        ((self.rssi_floor_dbm + self.margin_db - rssi) / self.margin_db).clamp(0.0, 1.0)
    }

    /// When the RSSI trend of `a — b` reaches the floor, if it is falling.
    pub fn predicted_failure(&self, a: NodeId, b: NodeId) -> Option<Instant> {
        self.link(a, b)?.rssi.reaches_floor_at(self.rssi_floor_dbm)
    }

    /// Handoff predicate: the link `a — b` is predicted to fail within `horizon` of `now`.
    pub fn will_fail_within(&self, a: NodeId, b: NodeId, now: Instant, horizon: Duration) -> bool {
        self.predicted_failure(a, b).is_some_and(|t| t <= now + horizon)
    }

    /// The outlook at `at` of one route of cost `cost` along `path` (`index` 0). Does not
    /// allocate: the node calls it per forwarded frame.
    pub fn outlook(&self, cost: u64, path: &[NodeId], at: Instant) -> RouteOutlook {
        let (mut survival, mut peak_load, mut confidence) = (1.0, 0.0f64, 1.0f64);
        for w in path.windows(2) {
            survival *= 1.0 - self.failure_risk(w[0], w[1], at);
            peak_load = peak_load.max(self.predicted_load(w[0], w[1], at).unwrap_or(0.0));
            confidence = confidence.min(self.link(w[0], w[1]).map_or(0.0, LinkTrend::confidence));
        }
        let score = (cost as f64 + 1.0) * (1.0 + peak_load) / survival.max(1e-3);
        RouteOutlook { index: 0, score, survival, peak_load, confidence }
    }

    /// Ranks candidate routes `(cost, path)` by their outlook at `at`, best first (ties keep
    /// input order).
    pub fn rank_routes(&self, routes: &[(u64, &[NodeId])], at: Instant) -> Vec<RouteOutlook> {
        let mut out: Vec<RouteOutlook> = routes
            .iter()
            .enumerate()
            .map(|(index, (cost, path))| RouteOutlook { index, ..self.outlook(*cost, path, at) })
            .collect();
        out.sort_by(|x, y| x.score.total_cmp(&y.score).then(x.index.cmp(&y.index)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        libm::fabs(a - b) < 1e-9
    }

    fn falling() -> Holt {
        let mut h = Holt::new(0.5, 0.5);
        h.update(Instant::from_secs(0), -60.0);
        h.update(Instant::from_secs(1), -62.0);
        h.update(Instant::from_secs(2), -64.0);
        h
    }

    #[test]
    fn holt_level_trend_and_forecast() {
        let mut h = Holt::new(0.5, 0.5);
        assert_eq!(h.forecast(Instant::ZERO), None);
        assert_eq!(h.confidence(), 0.0);
        h.update(Instant::from_secs(0), -60.0);
        assert_eq!((h.level(), h.trend(), h.confidence()), (-60.0, 0.0, 0.0));
        h.update(Instant::from_secs(1), -62.0);
        assert_eq!((h.level(), h.trend()), (-61.0, -0.5));
        let h = falling();
        // forecast −61.5, error 2.5; level −62.75; trend ½·(−1.75) + ½·(−0.5).
        assert_eq!((h.level(), h.trend(), h.samples()), (-62.75, -1.125, 3));
        assert_eq!(h.forecast(Instant::from_secs(4)), Some(-65.0));
        assert_eq!(h.last_sample(), Instant::from_secs(2));
        // error ½·2.5 + ½·2 = 2.25; ramp (3 − 1)/4.
        assert!(close(h.confidence(), 0.5 * 62.75 / 65.0));
        // 27.25 dB above −90 at 1.125 dB/s: 24.222222 s after the last sample.
        assert_eq!(h.reaches_floor_at(-90.0), Some(Instant::from_micros(26_222_222)));
        assert_eq!(h.reaches_floor_at(-50.0), Some(Instant::from_secs(2)));
    }

    #[test]
    fn irregular_samples_use_real_time() {
        let mut h = Holt::new(0.5, 0.5);
        h.update(Instant::from_secs(0), 0.0);
        h.update(Instant::from_secs(4), 8.0);
        // level 4 after 4 s: trend ½ · 4/4 = 0.5 per second.
        assert_eq!((h.level(), h.trend()), (4.0, 0.5));
        h.update(Instant::from_secs(4), 6.0); // same instant: level only
        assert_eq!((h.level(), h.trend()), (5.0, 0.5));
        assert_eq!(h.reaches_floor_at(-1.0), None);
        let mut steady = Holt::new(0.5, 0.5);
        for t in 0..10 {
            steady.update(Instant::from_secs(t), 10.0);
        }
        assert_eq!(steady.confidence(), 1.0);
    }

    fn predictor() -> LinkPredictor {
        let mut p = LinkPredictor { smoothing: (0.5, 0.5), ..LinkPredictor::new() };
        for (t, rssi) in [(0, -60.0), (1, -62.0), (2, -64.0)] {
            p.observe_rssi(NodeId(2), NodeId(1), Instant::from_secs(t), rssi);
        }
        p.observe_load(NodeId(1), NodeId(3), Instant::from_secs(0), 0.25);
        p.observe_load(NodeId(1), NodeId(3), Instant::from_secs(1), 0.75);
        p
    }

    #[test]
    fn failure_risk_and_handoff() {
        let p = predictor();
        assert_eq!(p.link(NodeId(1), NodeId(2)).unwrap().rssi, falling());
        assert_eq!(p.failure_risk(NodeId(1), NodeId(2), Instant::from_secs(4)), 0.0);
        assert_eq!(p.failure_risk(NodeId(1), NodeId(2), Instant::from_secs(20)), 0.3);
        assert_eq!(p.failure_risk(NodeId(1), NodeId(2), Instant::from_secs(60)), 1.0);
        assert_eq!(p.failure_risk(NodeId(1), NodeId(3), Instant::from_secs(60)), 0.0);
        assert_eq!(p.predicted_failure(NodeId(1), NodeId(2)), Some(Instant::from_micros(26_222_222)));
        let now = Instant::from_secs(2);
        assert!(!p.will_fail_within(NodeId(1), NodeId(2), now, Duration::from_secs(24)));
        assert!(p.will_fail_within(NodeId(2), NodeId(1), now, Duration::from_secs(25)));
        assert!(!p.will_fail_within(NodeId(1), NodeId(3), now, Duration::from_secs(1000)));
        // Load: level 0.5, trend ½ · 0.25/s; forecast at 2 s is 0.625, clamped at 1 later.
        assert_eq!(p.predicted_load(NodeId(3), NodeId(1), Instant::from_secs(2)), Some(0.625));
        assert_eq!(p.predicted_load(NodeId(1), NodeId(3), Instant::from_secs(10)), Some(1.0));
        assert_eq!(p.predicted_load(NodeId(1), NodeId(9), Instant::from_secs(10)), None);
        let mut p = p;
        p.forget(NodeId(2), NodeId(1));
        assert_eq!(p.predicted_failure(NodeId(1), NodeId(2)), None);
    }

    #[test]
    fn ranking_weighs_cost_load_and_risk() {
        let mut p = predictor();
        p.observe_rssi(NodeId(1), NodeId(3), Instant::from_secs(1), -50.0);
        let via2 = [NodeId(1), NodeId(2), NodeId(4)];
        let via3 = [NodeId(1), NodeId(3), NodeId(4)];
        let routes: [(u64, &[NodeId]); 2] = [(100, &via2), (120, &via3)];
        // At 20 s: via 2 survives 0.7 → 101/0.7; via 3 is fully loaded → 121 × 2.
        let r = p.rank_routes(&routes, Instant::from_secs(20));
        assert_eq!((r[0].index, r[1].index), (0, 1));
        assert!(close(r[0].score, 101.0 / 0.7));
        assert!(close(r[0].survival, 0.7));
        assert_eq!((r[1].score, r[1].peak_load, r[1].survival), (242.0, 1.0, 1.0));
        // 2 — 4 and 3 — 4 were never observed: no confidence.
        assert_eq!(r[0].confidence, 0.0);
        // A link with load samples only is as confident as its load forecast.
        let mut q = LinkPredictor::new();
        for t in 0..6 {
            q.observe_load(NodeId(5), NodeId(6), Instant::from_secs(t), 0.5);
        }
        assert_eq!(q.link(NodeId(5), NodeId(6)).unwrap().confidence(), 1.0);
        q.observe_rssi(NodeId(5), NodeId(6), Instant::from_secs(6), -70.0);
        assert_eq!(q.link(NodeId(5), NodeId(6)).unwrap().confidence(), 0.0, "one RSSI sample: no trend yet");
        // At 26 s the 1 — 2 link is at −89.75 dBm: risk 0.975, the other route wins.
        let r = p.rank_routes(&routes, Instant::from_secs(26));
        assert_eq!((r[0].index, r[1].index), (1, 0));
        assert!(close(r[1].survival, 0.025));
        // Equal scores keep input order.
        let same: [(u64, &[NodeId]); 2] = [(5, &[NodeId(7), NodeId(8)]), (5, &[NodeId(8), NodeId(9)])];
        let r = p.rank_routes(&same, Instant::ZERO);
        assert_eq!((r[0].index, r[0].score, r[1].index), (0, 6.0, 1));
    }
}
