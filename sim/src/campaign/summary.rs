//! What a campaign found: counts by outcome and by invariant, and the distributions of the
//! figures of the schedules that ran to their end.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{CampaignConfig, Outcome, ScheduleResult};

/// The results of a campaign, in schedule order.
#[derive(Clone, Debug)]
pub struct Summary {
    /// What was run.
    pub config: CampaignConfig,
    /// One result per schedule, by index.
    pub results: Vec<ScheduleResult>,
}

/// Percentiles of one figure over the schedules that have it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// Schedules with a value.
    pub count: usize,
    /// Smallest value.
    pub min: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 90th percentile (nearest rank).
    pub p90: f64,
    /// Largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (`None` when empty).
    pub fn of(mut values: Vec<f64>) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let rank = |q: f64| values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
        Some(Spread { count: values.len(), min: values[0], p50: rank(0.5), p90: rank(0.9), max: values[values.len() - 1] })
    }
}

impl Summary {
    pub(super) fn new(config: CampaignConfig, results: Vec<ScheduleResult>) -> Self {
        Summary { config, results }
    }

    /// The schedules that failed.
    pub fn failures(&self) -> impl Iterator<Item = &ScheduleResult> {
        self.results.iter().filter(|r| r.outcome.failed())
    }

    /// Schedules whose run panicked.
    pub fn panics(&self) -> usize {
        self.results.iter().filter(|r| matches!(r.outcome, Outcome::Panicked(_))).count()
    }

    /// Schedules stopped at the wall-clock limit.
    pub fn timeouts(&self) -> usize {
        self.results.iter().filter(|r| matches!(r.outcome, Outcome::TimedOut { .. })).count()
    }

    /// Schedules the engine refused.
    pub fn refused(&self) -> usize {
        self.results.iter().filter(|r| matches!(r.outcome, Outcome::Refused(_))).count()
    }

    /// Violations by invariant name (the first violation of each schedule).
    pub fn violations(&self) -> BTreeMap<&'static str, usize> {
        let mut by = BTreeMap::new();
        for r in &self.results {
            if let Outcome::Violated { invariant, .. } = r.outcome {
                *by.entry(invariant).or_default() += 1;
            }
        }
        by
    }

    /// Spread of one figure over the completed schedules.
    pub fn spread(&self, f: impl Fn(&super::Figures) -> Option<f64>) -> Option<Spread> {
        Spread::of(self.results.iter().filter_map(|r| r.figures.as_ref().and_then(&f)).collect())
    }

    /// Completed schedules in which no coordinator was ever followed by every node.
    pub fn never_agreed(&self) -> usize {
        self.results.iter().filter(|r| r.figures.as_ref().is_some_and(|f| f.election_s.is_none())).count()
    }

    /// The summary as text.
    pub fn render(&self) -> String {
        let c = &self.config;
        let mut out = String::new();
        let failed = self.failures().count();
        let _ = writeln!(out, "campaign seed {}: {} schedules of {}–{} nodes, {} jobs", c.seed, self.results.len(), super::MIN_NODES, c.max_nodes, c.jobs);
        let _ = writeln!(out, "  passed               {}", self.results.len() - failed);
        let _ = writeln!(out, "  panics               {}", self.panics());
        let violations = self.violations();
        let _ = writeln!(out, "  invariant violations {}", violations.values().sum::<usize>());
        for (name, n) in &violations {
            let _ = writeln!(out, "    {name:<44} {n}");
        }
        let _ = writeln!(out, "  timeouts             {} (wall-clock limit {} s)", self.timeouts(), c.wall_limit.as_secs());
        if self.refused() > 0 {
            let _ = writeln!(out, "  refused scenarios    {}", self.refused());
        }
        let _ = writeln!(out, "\nfigures of the {} schedules that ran to their end (min / p50 / p90 / max):", self.results.iter().filter(|r| r.figures.is_some()).count());
        let line = |out: &mut String, what: &str, s: Option<Spread>, scale: f64, unit: &str| {
            let _ = match s {
                Some(s) => writeln!(out, "  {what:<36} {:.1} / {:.1} / {:.1} / {:.1} {unit} ({} schedules)", s.min * scale, s.p50 * scale, s.p90 * scale, s.max * scale, s.count),
                None => writeln!(out, "  {what:<36} none"),
            };
        };
        line(&mut out, "delivery to all receivers", self.spread(|f| f.delivery), 100.0, "%");
        line(&mut out, "delivery to reachable receivers", self.spread(|f| f.delivery_reachable), 100.0, "%");
        let mut lost = crate::loss::LossCounts::default();
        self.results.iter().filter_map(|r| r.figures.as_ref()).for_each(|f| lost.merge(&f.reachable_lost));
        let _ = writeln!(out, "  {:<36} {}", "reachable but missed, by cause", crate::table::causes(&lost));
        line(&mut out, "coordinator agreed after formation", self.spread(|f| f.election_s), 1.0, "s");
        let _ = writeln!(out, "  {:<36} {}", "never agreed on a coordinator", self.never_agreed());
        line(&mut out, "cut detected after (mean per run)", self.spread(|f| f.detection_s), 1.0, "s");
        line(&mut out, "restart routable after (slowest)", self.spread(|f| f.restart_s.0), 1.0, "s");
        let unroutable: usize = self.results.iter().filter_map(|r| r.figures.as_ref()).map(|f| f.restart_s.1).sum();
        let reachable: usize = self.results.iter().filter_map(|r| r.figures.as_ref()).map(|f| f.restart_s.2).sum();
        let _ = writeln!(
            out,
            "  {:<36} {unroutable} (of those that came back and linked), {reachable} with the partner reachable in most probe rounds",
            "restarts not routable within 30 s"
        );
        if failed > 0 {
            let _ = writeln!(out, "\nfailed schedules:");
            for r in self.failures() {
                let what = match &r.outcome {
                    Outcome::Violated { invariant, at_us, message } => format!("{invariant} at {:.2} s: {message}", *at_us as f64 / 1e6),
                    Outcome::Panicked(m) => format!("panic: {m}"),
                    Outcome::TimedOut { at_us } => format!("timed out at {:.1} s virtual", *at_us as f64 / 1e6),
                    Outcome::Refused(m) => format!("refused: {m}"),
                    Outcome::Passed => continue,
                };
                let _ = writeln!(out, "  {:<24} {what}", r.scenario.name);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_uses_nearest_ranks() {
        let s = Spread::of((1..=10).map(f64::from).collect()).unwrap();
        assert_eq!((s.count, s.min, s.p50, s.p90, s.max), (10, 1.0, 5.0, 9.0, 10.0));
        assert_eq!(Spread::of(vec![]), None);
        let one = Spread::of(vec![3.0]).unwrap();
        assert_eq!((one.p50, one.p90), (3.0, 3.0));
    }
}
