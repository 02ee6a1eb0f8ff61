//! The `blemesh-sim` command: run scenarios, print reports, export topologies.
#![allow(clippy::print_stdout)]

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant as WallClock;

use blemesh_sim::engine::{Engine, SEC};
use blemesh_sim::report::Report;
use blemesh_sim::scenario::Scenario;
use blemesh_sim::{builtin, campaign, html, netjson, routes, table};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Deterministic simulator of blemesh meshes over a modelled BLE radio.
#[derive(Parser, Debug)]
#[command(name = "blemesh-sim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs a scenario (built-in name or TOML file; default: "default") and prints a report.
    Run {
        /// Built-in scenario name or path to a TOML scenario file.
        scenario: Option<String>,
        /// Seed (overrides the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// Virtual duration in seconds (overrides the scenario's).
        #[arg(long)]
        duration: Option<f64>,
        /// Prints the report as JSON (deterministic part under "deterministic", wall-clock
        /// figures under "timing").
        #[arg(long)]
        json: bool,
        /// Also writes a self-contained HTML report with SVG charts.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
        /// Checks the invariants after every step (slower).
        #[arg(long)]
        check: bool,
        /// Refuse a run whose estimated peak memory exceeds this many MiB (default: three
        /// quarters of this machine's memory).
        #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..))]
        memory_budget_mib: Option<u64>,
    },
    /// Exports the mesh of a scenario, after running it, as a NetJSON NetworkGraph.
    Topology {
        /// Built-in scenario name or TOML file.
        #[arg(long, default_value = "default")]
        scenario: String,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Virtual seconds to run before exporting (default: the scenario's duration).
        #[arg(long)]
        at: Option<f64>,
    },
    /// Computes routes over a NetJSON NetworkGraph with the core's routing code and prints
    /// them as JSON (`{"partitions": [...], "routes": {SRC: {DST: {next_hop, hops, cost}}}}`).
    Routes {
        /// NetJSON NetworkGraph file (links with `source`, `target`, ETX-like `cost`).
        #[arg(long)]
        topology: PathBuf,
        /// shortest (Normal), reliable (Critical), balanced (High) or congestion (Background).
        #[arg(long, default_value = "shortest")]
        policy: String,
        /// Only the routes of this node.
        #[arg(long)]
        from: Option<String>,
    },
    /// Runs many random fault schedules (nodes, area, shadowing, churn, cuts and heals,
    /// mobility, Byzantine nodes up to a third, secured or open), each with every invariant
    /// checked, on all cores; prints a summary and writes each failing schedule as a TOML file
    /// that reproduces it alone. Exits with status 1 when any schedule failed.
    Campaign {
        /// Campaign seed: schedule i is the same on every machine.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Schedules to run.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        schedules: u64,
        /// Largest mesh drawn, nodes (6 to 200).
        #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(6..=200))]
        max_nodes: u64,
        /// Worker threads (default: every core).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
        jobs: Option<u64>,
        /// Wall-clock seconds after which one schedule is stopped and counted as timed out.
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        wall_limit_s: u64,
        /// Directory for the failing schedules' TOML files (created when needed).
        #[arg(long, default_value = "campaign-failures")]
        out: PathBuf,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Lists the built-in scenarios.
    List,
}

/// Largest scenario file read, bytes.
const MAX_SCENARIO_FILE: u64 = 1 << 20;
/// Largest NetJSON file read, bytes (Ninux Roma's 147 nodes take 60 KB).
const MAX_TOPOLOGY_FILE: u64 = 256 << 20;

/// Reads the text file `path`, refusing one larger than `limit` bytes (or a device that
/// never ends) instead of reading it whole.
fn read_bounded(path: &std::path::Path, limit: u64) -> Result<String, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut text = String::new();
    file.take(limit + 1).read_to_string(&mut text).map_err(|e| e.to_string())?;
    if text.len() as u64 > limit {
        return Err(format!("larger than the {limit} bytes read at most"));
    }
    Ok(text)
}

fn load(name: &str) -> Result<Scenario, String> {
    if let Some(s) = builtin::by_name(name) {
        return Ok(s);
    }
    let text = read_bounded(name.as_ref(), MAX_SCENARIO_FILE).map_err(|e| format!("{name}: not a built-in scenario, and {e}"))?;
    Scenario::from_toml(&text).map_err(|e| format!("{name}: {e}"))
}

/// This machine's memory, bytes (`MemTotal` of `/proc/meminfo`), where it can be read.
fn machine_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib = info.lines().find_map(|l| l.strip_prefix("MemTotal:"))?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
    Some(kib * 1024)
}

/// Refuses a run whose estimated peak memory exceeds the budget (`--memory-budget-mib`, or
/// three quarters of the machine's memory; no budget where neither is known).
fn within_memory_budget(s: &Scenario, budget_mib: Option<u64>) -> Result<(), String> {
    let Some(budget) = budget_mib.map(|m| m.saturating_mul(1 << 20)).or_else(|| machine_memory().map(|m| m / 4 * 3)) else {
        return Ok(());
    };
    let need = blemesh_sim::scenario_check::estimated_memory_bytes(s);
    if need > budget {
        return Err(format!(
            "the run needs about {} MiB ({} nodes × {} KB and the records of its messages), above the memory budget of {} MiB (--memory-budget-mib; default three quarters of this machine's memory)",
            need >> 20,
            s.nodes,
            blemesh_sim::scenario_check::BYTES_PER_NODE / 1000,
            budget >> 20
        ));
    }
    Ok(())
}

/// A progress bar of `len` steps on stderr, hidden when `quiet` or stderr is not a terminal.
fn progress(quiet: bool, len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if quiet || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
    bar
}

/// Runs the engine to the end with a progress bar that appears after one second.
fn drive(engine: &mut Engine, quiet: bool, check: bool) -> Result<f64, String> {
    let start = WallClock::now();
    let bar = progress(quiet, engine.end / SEC, "{spinner} {wide_bar} {pos}/{len} virtual s  {elapsed_precise} (eta {eta})");
    let mut checkers = if check { blemesh_sim::invariants::all() } else { Vec::new() };
    engine.record_steps = check;
    let mut n = 0u64;
    while engine.step() {
        for c in checkers.iter_mut() {
            c.check(engine).map_err(|e| format!("invariant {} violated at {} µs: {e}", c.name(), engine.now))?;
        }
        n += 1;
        if n % 65_536 == 0 && start.elapsed().as_secs_f64() > 1.0 {
            bar.set_position(engine.now / SEC);
        }
    }
    engine.finish();
    bar.finish_and_clear();
    Ok(start.elapsed().as_secs_f64())
}

fn run() -> Result<(), String> {
    let cli = Cli::parse();
    match cli.command {
        Command::List => {
            for (name, about) in builtin::BUILTINS {
                println!("{name:<16} {about}");
            }
        }
        Command::Run { scenario, seed, duration, json, html, quiet, check, memory_budget_mib } => {
            let mut s = load(scenario.as_deref().unwrap_or("default"))?;
            if let Some(seed) = seed {
                s.seed = seed;
            }
            if let Some(d) = duration {
                s.duration_s = d;
            }
            s.validate()?;
            within_memory_budget(&s, memory_budget_mib)?;
            let mut engine = Engine::new(s)?;
            let wall = drive(&mut engine, quiet, check)?;
            let report = Report::build(&engine, Some(wall));
            if let Some(path) = html {
                std::fs::write(&path, html::render(&report, &engine)).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            if json {
                println!("{}", report.to_json());
            } else {
                print!("{}", table::render(&report));
            }
        }
        Command::Campaign { seed, schedules, max_nodes, jobs, wall_limit_s, out, quiet } => {
            let jobs = jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |j| j as usize);
            let cfg = campaign::CampaignConfig {
                seed,
                schedules,
                max_nodes: max_nodes as usize,
                jobs,
                wall_limit: std::time::Duration::from_secs(wall_limit_s),
            };
            let bar = progress(quiet, schedules, "{wide_bar} {pos}/{len} schedules  {elapsed_precise} (eta {eta})");
            let summary = campaign::run(&cfg, &|done| bar.set_position(done));
            bar.finish_and_clear();
            print!("{}", summary.render());
            let failed: Vec<_> = summary.failures().collect();
            if !failed.is_empty() {
                std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
                for r in &failed {
                    let path = out.join(format!("{}.toml", r.scenario.name));
                    std::fs::write(&path, campaign::reproducer(r)).map_err(|e| format!("{}: {e}", path.display()))?;
                }
                return Err(format!("{} of {schedules} schedules failed; their scenarios are in {}", failed.len(), out.display()));
            }
        }
        Command::Routes { topology, policy, from } => {
            let policy = routes::RoutePolicy::parse(&policy)?;
            let text = read_bounded(&topology, MAX_TOPOLOGY_FILE).map_err(|e| format!("{}: {e}", topology.display()))?;
            let topo = routes::Topology::from_netjson(&text).map_err(|e| format!("{}: {e}", topology.display()))?;
            // Streamed one source at a time: all-pairs routes of a large graph are never held.
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            match routes::write_json(&topo, policy, from.as_deref(), &mut out).and_then(|()| out.flush()) {
                // A closed pipe (`| head`) ends the output quietly.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other.map_err(|e| e.to_string())?,
            }
        }
        Command::Topology { scenario, out, seed, at } => {
            let mut s = load(&scenario)?;
            if let Some(seed) = seed {
                s.seed = seed;
            }
            if let Some(at) = at {
                s.duration_s = at;
            }
            let mut engine = Engine::new(s)?;
            drive(&mut engine, true, false)?;
            let graph = netjson::network_graph(&engine);
            let text = serde_json::to_string_pretty(&graph).expect("serialisable");
            std::fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("blemesh-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
