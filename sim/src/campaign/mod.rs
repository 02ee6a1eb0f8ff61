//! `blemesh-sim campaign`: many random fault schedules ([`draw`]), each run with every
//! invariant checked after every step, on all cores; a summary of what broke and how the
//! mesh did, and each failing schedule written as a TOML file that reproduces it alone
//! (`blemesh-sim run FILE --check`).
//!
//! A schedule ends in one [`Outcome`]: it passed, an invariant was violated (the first one,
//! with its time), the run panicked, or it used more wall-clock time than the limit (the
//! only outcome that depends on the machine). Everything else in the summary is a function
//! of the campaign seed and the schedule count.

mod draw;
mod summary;

pub use draw::{MAX_NODES, MIN_NODES, draw};
pub use summary::Summary;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant as WallClock};

use crate::engine::Engine;
use crate::report::Report;
use crate::scenario::Scenario;

/// What a campaign runs.
#[derive(Clone, Debug)]
pub struct CampaignConfig {
    /// Seed of the whole campaign; schedule `i` is [`draw`]`(seed, i, max_nodes)`.
    pub seed: u64,
    /// Schedules to run.
    pub schedules: u64,
    /// Largest mesh drawn.
    pub max_nodes: usize,
    /// Worker threads (one schedule each at a time).
    pub jobs: usize,
    /// Wall-clock time after which a schedule is stopped and counted as timed out.
    pub wall_limit: Duration,
}

/// How one schedule ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Ran to its end with every invariant holding.
    Passed,
    /// The first invariant violated.
    Violated {
        /// The invariant's name.
        invariant: &'static str,
        /// Virtual time of the step that broke it, µs.
        at_us: u64,
        /// The checker's description.
        message: String,
    },
    /// The run panicked (in the core or the simulator).
    Panicked(String),
    /// Stopped at virtual time `at_us` after the wall-clock limit.
    TimedOut {
        /// Virtual time reached, µs.
        at_us: u64,
    },
    /// The engine refused the scenario (a defect of the generator).
    Refused(String),
}

impl Outcome {
    /// Whether the schedule failed (anything but [`Outcome::Passed`]).
    pub fn failed(&self) -> bool {
        *self != Outcome::Passed
    }
}

/// One schedule's result.
#[derive(Clone, Debug)]
pub struct ScheduleResult {
    /// Index in the campaign.
    pub index: u64,
    /// The schedule run.
    pub scenario: Scenario,
    /// How it ended.
    pub outcome: Outcome,
    /// Figures of a run that reached its end.
    pub figures: Option<Figures>,
}

/// Figures of one completed schedule, from its report.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    /// Delivered over expected receivers, all priorities (`None` without messages).
    pub delivery: Option<f64>,
    /// Delivered over reachable receivers (joined to the sender by usable links when it
    /// sent), all priorities (`None` without any).
    pub delivery_reachable: Option<f64>,
    /// Reachable receivers missed, by cause (`crate::loss`), all priorities.
    pub reachable_lost: crate::loss::LossCounts,
    /// Time from the mesh forming to every node following one coordinator, s.
    pub election_s: Option<f64>,
    /// Mean time from a cut to its detection, over the cuts detected, s.
    pub detection_s: Option<f64>,
    /// Scripted restarts whose node came back and confirmed a link: the slowest time to
    /// routable again over those that got there, s (`None`: none did), how many did not
    /// within the probing time, and how many of those had their partner reachable by usable
    /// radio links in at least half of the probe rounds.
    pub restart_s: (Option<f64>, usize, usize),
}

/// Runs schedule `index` of `cfg` with every invariant checked.
pub fn run_schedule(cfg: &CampaignConfig, index: u64) -> ScheduleResult {
    let scenario = draw(cfg.seed, index, cfg.max_nodes);
    let (outcome, figures) = match catch_unwind(AssertUnwindSafe(|| run_checked(&scenario, cfg.wall_limit))) {
        Ok(r) => r,
        Err(panic) => {
            let text = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".into());
            (Outcome::Panicked(text), None)
        }
    };
    ScheduleResult { index, scenario, outcome, figures }
}

/// Runs `s` with every invariant checked after every step, stopping at the first violation
/// or after `wall_limit` of wall-clock time (a panic is not caught here: see [`run_schedule`]).
pub fn run_checked(s: &Scenario, wall_limit: Duration) -> (Outcome, Option<Figures>) {
    let mut engine = match Engine::new(s.clone()) {
        Ok(e) => e,
        Err(e) => return (Outcome::Refused(e), None),
    };
    let start = WallClock::now();
    let mut checkers = crate::invariants::all();
    engine.record_steps = true;
    let mut steps = 0u64;
    while engine.step() {
        for c in checkers.iter_mut() {
            if let Err(message) = c.check(&engine) {
                return (Outcome::Violated { invariant: c.name(), at_us: engine.now, message }, None);
            }
        }
        steps += 1;
        if steps % 4096 == 0 && start.elapsed() > wall_limit {
            return (Outcome::TimedOut { at_us: engine.now }, None);
        }
    }
    engine.finish();
    let r = Report::build(&engine, None).deterministic;
    let detected: Vec<f64> = r.mesh.partitions.cuts.iter().filter_map(|c| c.detection_s).collect();
    let figures = Figures {
        delivery: (r.overall.expected > 0).then_some(r.overall.delivery_ratio),
        delivery_reachable: r.overall.reachable_ratio,
        reachable_lost: r.overall.reachable_lost,
        election_s: r.mesh.election.election_after_formed_s,
        detection_s: (!detected.is_empty()).then(|| detected.iter().sum::<f64>() / detected.len() as f64),
        restart_s: {
            let held: Vec<_> = r.restarts.iter().filter(|x| x.linked_after_s.is_some()).collect();
            let routable: Vec<f64> = held.iter().filter_map(|x| x.routable_s()).collect();
            let unroutable: Vec<_> = held.iter().filter(|x| x.routable_s().is_none()).collect();
            let mostly_reachable = unroutable
                .iter()
                .filter(|x| x.probes_partner_reachable.1 > 0 && 2 * x.probes_partner_reachable.0 >= x.probes_partner_reachable.1)
                .count();
            (routable.iter().copied().reduce(f64::max), unroutable.len(), mostly_reachable)
        },
    };
    (Outcome::Passed, Some(figures))
}

/// Runs the whole campaign on `cfg.jobs` threads; `progress` is called after each schedule
/// with the number done. Results are in index order whatever the threads did.
pub fn run(cfg: &CampaignConfig, progress: &(dyn Fn(u64) + Sync)) -> Summary {
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let results = Mutex::new(Vec::with_capacity(usize::try_from(cfg.schedules).unwrap_or(0)));
    std::thread::scope(|scope| {
        for _ in 0..cfg.jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= cfg.schedules {
                        break;
                    }
                    let r = run_schedule(cfg, index);
                    results.lock().unwrap_or_else(|p| p.into_inner()).push(r);
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|r| r.index);
    Summary::new(cfg.clone(), results)
}

/// The TOML file reproducing a failed schedule: a comment saying how it failed, then the
/// scenario (its own seed included).
pub fn reproducer(r: &ScheduleResult) -> String {
    let how = match &r.outcome {
        Outcome::Passed => "passed".to_owned(),
        Outcome::Violated { invariant, at_us, message } => format!("invariant {invariant} violated at {at_us} µs: {message}"),
        Outcome::Panicked(m) => format!("panicked: {m}"),
        Outcome::TimedOut { at_us } => format!("timed out at {at_us} µs of virtual time"),
        Outcome::Refused(m) => format!("refused: {m}"),
    };
    let how = how.replace('\n', " ");
    let body = toml::to_string(&r.scenario).expect("a scenario serialises");
    format!("# {how}\n# reproduce: blemesh-sim run {}.toml --check\n{body}", r.scenario.name)
}
