//! `blemesh-node`: one mesh node over UDP on 127.0.0.1 (or over BLE with `--ble`),
//! printing JSON lines.
//!
//! Every delivery and event is printed to stdout as one JSON object per line (see
//! `json.rs`); logs go to stderr (`--log debug`). Besides the periodic sends of
//! `--send-every`, lines on stdin are commands:
//!
//! ```text
//! broadcast <text>          flood <text> to every node
//! send <id> <text>          send <text> to node <id>
//! join <session> [info]     join game session <session> (a number) as a player, [info] its description
//! leave <session>           leave game session <session>
//! submit <session> <text>   submit the game event <text> to session <session>
//! metrics                   print the node's counters
//! quit                      shut down gracefully
//! ```
//!
//! A session's entries are printed in its order as `sequenced` lines, and this node's
//! session events (its submits sequenced or failed, its join, ...) as `session_event`
//! lines; `--join <session>` joins at start. The node's game state in a session is the list
//! of game events it printed: it provides it when a joining player asks
//! (`snapshot_provided`), and a node that joins a session others play starts from another's
//! (a `snapshot` line with the `state`, `[index, submitter, payload]` each, before the
//! entries after it).
//!
//! Example, a line of three nodes:
//!
//! ```text
//! blemesh-node --id 1 --port 9001
//! blemesh-node --id 2 --port 9002 --peer 9001
//! blemesh-node --id 3 --port 9003 --peer 9002 --send-every 500
//! ```
//!
//! Over Bluetooth (feature `ble`, see `docs/BLE.md`), one node serves and one connects:
//!
//! ```text
//! blemesh-node --id 1 --ble peripheral
//! blemesh-node --id 2 --ble central --send-every 500
//! ```

mod game;
mod json;

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use blemesh_core::session::SessionId;
use blemesh_core::{Config, NodeId, Qos};
use blemesh_tokio::{Handle, MeshEvent, RecvError, Transport, UdpConfig};
use clap::Parser;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

/// The BLE role of `--ble`.
#[cfg(feature = "ble")]
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum BleRole {
    /// Scan for blemesh peripherals and connect to them.
    Central,
    /// Advertise the blemesh service and serve centrals.
    Peripheral,
}

/// One blemesh node over UDP on loopback (or BLE).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// This node's id (not 0).
    #[arg(long)]
    id: u64,
    /// UDP port to bind on 127.0.0.1 (0: any free port, printed in the `ready` line).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// A peer to link to: `127.0.0.1:PORT` or just `PORT`. Repeat for several.
    #[arg(long = "peer", value_parser = parse_peer)]
    peers: Vec<SocketAddr>,
    /// Discover peers by beacons to this port range of 127.0.0.1, e.g. `9000-9010`.
    #[arg(long, value_parser = parse_range)]
    discover: Option<(u16, u16)>,
    /// Send a game message every this many milliseconds.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    send_every: Option<u64>,
    /// Periodic messages go to this node instead of everyone.
    #[arg(long)]
    send_to: Option<u64>,
    /// Stop after this many seconds, above 0 and at most 10,000,000 (default: run until
    /// `quit`, Ctrl-C or SIGTERM).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Heartbeat interval in milliseconds, 10 to 60000: a silent neighbour is suspected
    /// after three intervals and reported lost after eight.
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    heartbeat_ms: u64,
    /// Seed of the node's randomness, first sequence number included (default: drawn from
    /// the operating system's entropy at each start, so a restarted node does not repeat
    /// the sequence numbers of its previous run; give one for a reproducible run).
    #[arg(long)]
    seed: Option<u64>,
    /// Join this game session (a number) at start, with no player info. Repeat for several.
    #[arg(long = "join")]
    join: Vec<u64>,
    /// Log level on stderr: error, warn, info, debug, trace.
    #[arg(long, default_value = "warn")]
    log: tracing::Level,
    /// Use a BLE transport in this role instead of UDP (`--port`, `--peer`, `--discover`
    /// are then ignored).
    #[cfg(feature = "ble")]
    #[arg(long, value_enum)]
    ble: Option<BleRole>,
}

fn parse_peer(s: &str) -> Result<SocketAddr, String> {
    match s.parse::<u16>() {
        Ok(port) => Ok(SocketAddr::from(([127, 0, 0, 1], port))),
        Err(_) => s.parse().map_err(|e| format!("`{s}`: {e}")),
    }
}

/// Seconds as a finite number above 0 and at most 10,000,000.
fn parse_duration(s: &str) -> Result<Duration, String> {
    const MAX_S: f64 = 10_000_000.0;
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= MAX_S => Ok(Duration::from_secs_f64(v)),
        _ => Err(format!("`{s}`: must be a number of seconds above 0 and at most {MAX_S}")),
    }
}

/// A seed no earlier run of this process drew: the standard library's hasher keys come from
/// the operating system's entropy, mixed with the clock and the process id.
fn entropy_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    h.write_u128(now.as_nanos());
    h.write_u32(std::process::id());
    h.finish()
}

fn parse_range(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s.split_once('-').ok_or("expected START-END")?;
    let (a, b) = (a.parse::<u16>().map_err(|e| e.to_string())?, b.parse::<u16>().map_err(|e| e.to_string())?);
    if a > b { Err("START must not exceed END".into()) } else { Ok((a, b)) }
}

/// Writes one JSON line to stdout.
fn emit(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

fn config(args: &Args) -> Config {
    let mut c = Config::new(NodeId(args.id), args.seed.unwrap_or_else(entropy_seed));
    c.heartbeat_interval = Duration::from_millis(args.heartbeat_ms);
    c.hello_interval = (c.heartbeat_interval / 8).max(Duration::from_millis(5));
    c.heartbeat_jitter = c.hello_interval / 2;
    c
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_max_level(args.log).init();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            emit(&json!({"type": "error", "error": format!("cannot start the runtime: {e}")}));
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(args));
    // Reading standard input blocks a runtime thread until a line comes; an open pipe or a
    // terminal must not hold the exit after `--duration`, Ctrl-C or SIGTERM.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            emit(&json!({"type": "error", "error": e.to_string()}));
            ExitCode::FAILURE
        }
    }
}

/// Resolves at SIGTERM (on Unix; never elsewhere), so a service manager's stop is a clean
/// shutdown like Ctrl-C.
async fn terminated() {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        term.recv().await;
        return;
    }
    std::future::pending::<()>().await
}

/// The transport `args` ask for and the address to print (`ble-central`... for BLE).
async fn transport(args: &Args) -> Result<(Transport, String), Box<dyn std::error::Error>> {
    #[cfg(feature = "ble")]
    match args.ble {
        Some(BleRole::Central) => {
            return Ok((blemesh_tokio::ble::central(Default::default()).await?, "ble-central".into()));
        }
        Some(BleRole::Peripheral) => {
            return Ok((blemesh_tokio::ble::peripheral(Default::default()).await?, "ble-peripheral".into()));
        }
        None => {}
    }
    let mut udp = UdpConfig::new(SocketAddr::from(([127, 0, 0, 1], args.port)));
    for peer in &args.peers {
        udp = udp.with_peer(*peer);
    }
    if let Some((a, b)) = args.discover {
        udp = udp.with_discovery(a..=b);
    }
    let (transport, addr) = blemesh_tokio::udp::bind(udp)?;
    Ok((transport, addr.to_string()))
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let (transport, addr) = transport(&args).await?;
    let (handle, mut events) = blemesh_tokio::spawn(config(&args), transport)?;
    emit(&json!({"type": "ready", "id": args.id, "addr": addr}));
    for session in &args.join {
        join(&handle, SessionId(*session), "").await;
    }

    let mut stdin = Some(tokio::io::BufReader::new(tokio::io::stdin()).lines());
    let period = Duration::from_millis(args.send_every.unwrap_or(1000).max(1));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let stop = tokio::time::sleep(args.duration.unwrap_or(Duration::MAX / 4));
    // Listening from the start, so a signal between two turns of the loop is not missed.
    let interrupted = tokio::signal::ctrl_c();
    let term = terminated();
    tokio::pin!(stop, interrupted, term);
    let mut counter = 0u64;
    let mut games = game::Games::default();
    let max_snapshot = config(&args).session.max_snapshot;
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(e) => {
                    if !matches!(e, MeshEvent::Snapshot { .. }) {
                        emit(&json::event(&e));
                    }
                    match games.on_event(&e, max_snapshot) {
                        Some(game::Ask::Provide(session, index, data)) => {
                            report_provided(session, index, handle.provide_snapshot(session, index, data).await);
                        }
                        Some(game::Ask::Line(line)) => emit(&line),
                        None => {}
                    }
                }
                Err(RecvError::Lagged { missed }) => emit(&json!({"type": "lagged", "missed": missed})),
                Err(RecvError::Closed) => break,
            },
            line = async { stdin.as_mut()?.next_line().await.ok().flatten() }, if stdin.is_some() => match line {
                Some(line) => {
                    if !command(&handle, line.trim()).await {
                        break;
                    }
                }
                None => stdin = None, // stdin closed: keep running
            },
            _ = tick.tick(), if args.send_every.is_some() => {
                counter += 1;
                let text = format!("tick {counter} from {}", args.id);
                let verdict = match args.send_to {
                    Some(to) => handle.send(NodeId(to), text, Qos::default()).await,
                    None => handle.broadcast(text, Qos::default()).await,
                };
                report("sent", verdict);
            },
            () = &mut stop => break,
            _ = &mut interrupted => break,
            () = &mut term => break,
        }
    }
    handle.shutdown().await;
    // What the driver published while stopping.
    while let Ok(e) = events.recv().await {
        emit(&json::event(&e));
    }
    emit(&json!({"type": "stopped"}));
    Ok(())
}

/// Prints a `snapshot_provided` line, or the refusal.
fn report_provided(session: SessionId, index: u64, verdict: Result<(), blemesh_tokio::Error>) {
    match verdict {
        Ok(()) => emit(&json!({"type": "snapshot_provided", "session": session.0, "index": index})),
        Err(e) => emit(&json!({"type": "error", "error": e.to_string()})),
    }
}

/// Carries out one stdin command; `false` to quit.
async fn command(handle: &Handle, line: &str) -> bool {
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    match verb {
        "" => {}
        "broadcast" => report("sent", handle.broadcast(rest.to_owned(), Qos::default()).await),
        "send" => {
            let (to, text) = rest.split_once(' ').unwrap_or((rest, ""));
            match to.parse::<u64>() {
                Ok(to) => report("sent", handle.send(NodeId(to), text.to_owned(), Qos::default()).await),
                Err(_) => emit(&json!({"type": "error", "error": format!("bad node id `{to}`")})),
            }
        }
        "join" => {
            let (session, info) = rest.split_once(' ').unwrap_or((rest, ""));
            if let Some(session) = session_id(session) {
                join(handle, session, info).await;
            }
        }
        "leave" => {
            if let Some(session) = session_id(rest) {
                match handle.leave_session(session).await {
                    Ok(()) => emit(&json!({"type": "leaving", "session": session.0})),
                    Err(e) => emit(&json!({"type": "error", "error": e.to_string()})),
                }
            }
        }
        "submit" => {
            let (session, text) = rest.split_once(' ').unwrap_or((rest, ""));
            if let Some(session) = session_id(session) {
                match handle.submit(session, text.to_owned()).await {
                    Ok(id) => emit(&json!({"type": "submitted", "session": session.0, "submit": id.0})),
                    Err(e) => emit(&json!({"type": "error", "error": e.to_string()})),
                }
            }
        }
        "metrics" => match handle.metrics().await {
            Ok(m) => emit(&json::metrics(&m)),
            Err(e) => emit(&json!({"type": "error", "error": e.to_string()})),
        },
        "quit" => return false,
        other => emit(&json!({"type": "error", "error": format!("unknown command `{other}`")})),
    }
    true
}

/// A session number, or `None` after printing why it is not one.
fn session_id(s: &str) -> Option<SessionId> {
    match s.parse::<u64>() {
        Ok(n) => Some(SessionId(n)),
        Err(_) => {
            emit(&json!({"type": "error", "error": format!("bad session `{s}`: expected a number")}));
            None
        }
    }
}

/// Joins `session` and prints a `joining` line (the `session_event` `joined` line follows
/// once the join is sequenced), or the refusal.
async fn join(handle: &Handle, session: SessionId, info: &str) {
    match handle.join_session(session, info.to_owned()).await {
        Ok(()) => emit(&json!({"type": "joining", "session": session.0})),
        Err(e) => emit(&json!({"type": "error", "error": e.to_string()})),
    }
}

fn report(what: &str, verdict: Result<blemesh_core::MessageId, blemesh_tokio::Error>) {
    match verdict {
        Ok(id) => emit(&json!({"type": what, "seq": id.seq})),
        Err(e) => emit(&json!({"type": "error", "error": e.to_string()})),
    }
}
