//! The fault campaign: schedules are drawn reproducibly, run with every invariant checked,
//! summarised in index order, and a failing one is written as a file that runs alone.

use std::time::Duration;

use blemesh_sim::campaign::{self, CampaignConfig, Outcome, ScheduleResult};
use blemesh_sim::scenario::Scenario;

fn config(schedules: u64, jobs: usize) -> CampaignConfig {
    CampaignConfig { seed: 11, schedules, max_nodes: 10, jobs, wall_limit: Duration::from_secs(600) }
}

#[test]
fn a_campaign_is_the_same_on_one_thread_and_on_two() {
    let one = campaign::run(&config(4, 1), &|_| {});
    let two = campaign::run(&config(4, 2), &|_| {});
    assert_eq!(one.results.len(), 4);
    let indices: Vec<u64> = two.results.iter().map(|r| r.index).collect();
    assert_eq!(indices, [0, 1, 2, 3], "results in schedule order");
    for (a, b) in one.results.iter().zip(&two.results) {
        assert_eq!(a.scenario, b.scenario);
        assert_eq!(a.outcome, b.outcome);
        assert_eq!(a.figures, b.figures, "{}", a.scenario.name);
    }
    for r in &one.results {
        if r.outcome == Outcome::Passed {
            assert!(r.figures.is_some(), "{}: a completed run has figures", r.scenario.name);
        }
    }
    let text = one.render();
    assert!(text.contains("campaign seed 11: 4 schedules"), "{text}");
}

#[test]
fn a_reproducer_file_runs_the_same_schedule_alone() {
    let r = campaign::run_schedule(&config(1, 1), 0);
    let failed = ScheduleResult {
        outcome: Outcome::Violated { invariant: "example", at_us: 1_500_000, message: "two\nlines".into() },
        ..r.clone()
    };
    let text = campaign::reproducer(&failed);
    assert!(text.starts_with("# invariant example violated at 1500000 µs: two lines\n"), "{text}");
    let back = Scenario::from_toml(&text).unwrap();
    assert_eq!(back, r.scenario);
    // The file's scenario run alone ends as it did in the campaign.
    assert_eq!(campaign::run_checked(&back, Duration::from_secs(600)), (r.outcome, r.figures));
}

#[test]
fn a_schedule_over_the_wall_clock_limit_is_a_timeout_not_a_hang() {
    let cfg = CampaignConfig { wall_limit: Duration::ZERO, ..config(1, 1) };
    let r = campaign::run_schedule(&cfg, 0);
    assert!(matches!(r.outcome, Outcome::TimedOut { at_us } if at_us > 0), "{:?}", r.outcome);
    assert!(r.figures.is_none());
}
