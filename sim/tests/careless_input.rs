//! Careless scenario files: every value the simulator cannot run in bounded time and memory
//! is refused before the run starts, with an error that names the field (and, through
//! `scenario_check`, the value and the allowed range). Each case here once panicked, hung or
//! grew without bound, or ran silently as nonsense.

use blemesh_sim::engine::Engine;
use blemesh_sim::scenario::Scenario;

/// The error `toml` gives, from parsing or from building the engine.
fn refusal(toml: &str) -> String {
    match Scenario::from_toml(toml) {
        Err(e) => e,
        Ok(s) => match Engine::new(s) {
            Err(e) => e,
            Ok(_) => panic!("accepted:\n{toml}"),
        },
    }
}

#[test]
fn every_careless_value_is_refused_naming_its_field() {
    let cases: &[(&str, &str)] = &[
        // Panics.
        ("[area]\nwidth_m = inf", "area.width_m"),
        ("[node]\nrelay_jitter_ms = 9223372036854775807", "relay_jitter"),
        // Hangs.
        ("duration_s = inf", "duration_s"),
        ("[load]\nrate_per_node = nan", "load.rate_per_node"),
        ("[load]\nrate_per_node = inf", "load.rate_per_node"),
        ("[load]\nrate_per_node = 1e9", "load.rate_per_node"),
        ("sample_interval_s = 1e-7", "sample_interval_s"),
        ("sample_interval_s = nan", "sample_interval_s"),
        // Unbounded memory.
        ("[churn]\nstart_s = nan", "churn.start_s"),
        ("[churn]\nevents_per_min = inf", "churn.events_per_min"),
        ("[churn]\nevents_per_min = 1e12", "churn.events_per_min"),
        ("nodes = 1000000", "nodes"),
        ("[load]\npayload_bytes = 1000000000000", "load.payload_bytes"),
        // Silently accepted nonsense.
        ("[area]\nheight_m = nan", "area.height_m"),
        ("[radio]\ntx_power_dbm = nan", "radio.tx_power_dbm"),
        ("[radio]\nshadowing_sigma_db = -1.0", "radio.shadowing_sigma_db"),
        ("delivery_horizon_s = nan", "delivery_horizon_s"),
        ("[load]\npriorities = { critical = nan }", "load.priorities.critical"),
        ("[load]\nstart_s = nan", "load.start_s"),
        ("[[cut]]\nat_s = 30.0\nheal_s = 20.0\nsplit_x_m = 10.0", "cut[0].heal_s"),
        ("[[cut]]\nat_s = 30.0\ngroup = [1, 2, 99]", "cut[0].group"),
        ("[[cut]]\nat_s = 30.0", "cut[0]"),
        (
            "[[byzantine]]\nnode = 3\nbehaviour = \"blackhole\"\n[[byzantine]]\nnode = 3\nbehaviour = \"forge\"",
            "byzantine[1].node",
        ),
        ("[[byzantine]]\nnode = 3\nbehaviour = \"replay\"\nfrom_s = nan", "byzantine[0].from_s"),
        ("[mobility]\nspeed_min_mps = -1.0", "mobility.speed_min_mps"),
        ("[mobility]\nspeed_min_mps = 2.0\nspeed_max_mps = 1.0", "mobility.speed_max_mps"),
        ("[mobility]\ntick_ms = 18446744073709552", "mobility.tick_ms"),
    ];
    for (toml, field) in cases {
        let e = refusal(toml);
        assert!(e.contains(field), "{toml:?}: error {e:?} does not name {field}");
    }
}

#[test]
fn a_range_error_says_the_value_and_the_range() {
    let e = refusal("[area]\nwidth_m = inf");
    assert_eq!(e, "area.width_m = inf: must be a finite number from 0.1 to 100000");
    let e = refusal("nodes = 1000000");
    assert_eq!(e, "nodes = 1000000: must be from 1 to 20000");
}

#[test]
fn the_limits_leave_room_for_every_builtin() {
    for (name, _) in blemesh_sim::builtin::BUILTINS {
        let s = blemesh_sim::builtin::by_name(name).unwrap();
        s.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// The command refuses, before it starts, a run over its memory budget and a scenario file
/// that never ends, and names the override or the limit.
#[test]
fn the_command_refuses_runs_over_budget_and_endless_files() {
    let exe = env!("CARGO_BIN_EXE_blemesh-sim");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(exe).args(args).output().expect("run blemesh-sim");
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, err) = run(&["run", "large", "-q", "--memory-budget-mib", "1000"]);
    assert!(!ok && err.contains("above the memory budget of 1000 MiB") && err.contains("--memory-budget-mib"), "{err}");
    #[cfg(unix)]
    {
        let (ok, err) = run(&["run", "/dev/zero", "-q"]);
        assert!(!ok && err.contains("larger than the 1048576 bytes read at most"), "{err}");
    }
    let (ok, err) = run(&["run", "tiny", "-q", "--duration", "nan"]);
    assert!(!ok && err.contains("duration_s = NaN"), "{err}");
    let (ok, _) = run(&["run", "tiny", "-q", "--duration", "2", "--memory-budget-mib", "64"]);
    assert!(ok, "a small run within its budget runs");
}
