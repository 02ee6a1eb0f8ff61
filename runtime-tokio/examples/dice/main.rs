//! A turn-based dice game over a blemesh game session: one process per player, over UDP on
//! 127.0.0.1. Three terminals:
//!
//! ```text
//! cargo run -p blemesh-tokio --example dice -- --id 1 --name alice
//! cargo run -p blemesh-tokio --example dice -- --id 2 --name bob --peer 9001
//! cargo run -p blemesh-tokio --example dice -- --id 3 --name carol --peer 9001 --peer 9002
//! ```
//!
//! Press Enter (or type `roll`) when it is your turn; `board` shows the standings, `quit`
//! (or Ctrl-C) leaves the table. `--auto-roll MS` rolls by itself. Stop one player and start
//! it again with the same command: it sits down again and catches up from a snapshot of
//! another player's game, then shows the same rolls as the others.
//!
//! The die is cast locally, but what every process shows comes only from the session's
//! sequenced stream (`game.rs`): the same rolls in the same order everywhere, and a roll
//! out of turn is ignored by every process alike.

mod game;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use blemesh_core::session::{SessionEvent, SessionId, SubmitId};
use blemesh_core::{Config, NodeId};
use blemesh_tokio::{Handle, RecvError, SessionStream, SessionUpdate, UdpConfig};
use clap::Parser;
use tokio::io::AsyncBufReadExt;
use tokio::time::Instant;

/// A turn-based dice game: one player per process, over UDP on 127.0.0.1.
#[derive(Parser, Debug)]
#[command(about)]
struct Args {
    /// This player's node id (not 0); unique among the players.
    #[arg(long)]
    id: u64,
    /// The player's name shown to everyone (at most 16 bytes).
    #[arg(long)]
    name: Option<String>,
    /// UDP port to bind on 127.0.0.1 (default 9000 + id; 0: any free port).
    #[arg(long)]
    port: Option<u16>,
    /// Another player to link to: `127.0.0.1:PORT` or just `PORT`. Repeat for several.
    #[arg(long = "peer", value_parser = parse_peer)]
    peers: Vec<SocketAddr>,
    /// Roll by itself: every this many milliseconds, look whether it is this player's turn.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    auto_roll: Option<u64>,
    /// The game session (the table) to play at.
    #[arg(long, default_value_t = 1)]
    session: u64,
    /// Heartbeat interval in milliseconds: a stopped player is noticed after about eight
    /// of them, and given up for lost three seconds later.
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    heartbeat_ms: u64,
    /// Log level on stderr: error, warn, info, debug, trace.
    #[arg(long, default_value = "warn")]
    log: tracing::Level,
}

fn parse_peer(s: &str) -> Result<SocketAddr, String> {
    match s.parse::<u16>() {
        Ok(port) => Ok(SocketAddr::from(([127, 0, 0, 1], port))),
        Err(_) => s.parse().map_err(|e| format!("`{s}`: {e}")),
    }
}

/// 64 bits from the operating system's entropy (the standard library's hasher keys), mixed
/// with the clock and the process id.
fn entropy() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    h.write_u128(now.as_nanos());
    h.write_u32(std::process::id());
    h.finish()
}

/// A small die: splitmix64 seeded from [`entropy`].
#[derive(Debug)]
struct Die(u64);

impl Die {
    fn roll(&mut self) -> u8 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        1 + ((u128::from(z) * 6) >> 64) as u8
    }
}

/// Prints one line for the player.
#[allow(clippy::print_stdout)] // the example talks to its player
fn say(line: &str) {
    println!("{line}");
}

fn config(args: &Args) -> Config {
    // A new seed at every start: a restarted player draws new submit ids, so its rolls are
    // not taken for its previous run's.
    let mut c = Config::new(NodeId(args.id), entropy());
    c.heartbeat_interval = Duration::from_millis(args.heartbeat_ms);
    c.hello_interval = (c.heartbeat_interval / 8).max(Duration::from_millis(5));
    c.heartbeat_jitter = c.hello_interval / 2;
    c
}

/// The name, cut to the session's 16 bytes of player info at a character boundary.
fn player_name(args: &Args) -> String {
    let mut name = args.name.clone().unwrap_or_else(|| format!("player {}", args.id));
    while name.len() > 16 {
        name.pop();
    }
    name
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_max_level(args.log).init();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(args));
    // Reading standard input blocks a runtime thread until a line comes: it must not hold
    // the exit.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves at SIGTERM (on Unix; never elsewhere).
async fn terminated() {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        term.recv().await;
        return;
    }
    std::future::pending::<()>().await
}

/// This player's side of the game.
struct Player {
    handle: Handle,
    session: SessionId,
    me: NodeId,
    table: game::Table,
    die: Die,
    /// Whether this node is seated (its `Joined` event came, and no `Lost` since).
    seated: bool,
    /// This player's roll on its way, and when it was sent.
    pending: Option<(SubmitId, Instant)>,
}

impl Player {
    /// Casts the die and submits the roll, if it is this player's turn and no roll of its
    /// own is on its way.
    async fn roll(&mut self, asked: bool) {
        let waiting = self.pending.is_some_and(|(_, at)| at.elapsed() < Duration::from_secs(5));
        if !self.seated || waiting {
            if asked {
                say(if self.seated { "  (your roll is on its way)" } else { "  (not seated at the table yet)" });
            }
            return;
        }
        if !self.table.my_turn(self.me) {
            if asked {
                let whose = self.table.state().turn_of().map_or("nobody's: waiting for a second player".into(), |p| format!("{}'s", p.name));
                say(&format!("  (not your turn: it is {whose})"));
            }
            return;
        }
        let value = self.die.roll();
        match self.handle.submit(self.session, format!("roll {value}")).await {
            Ok(id) => self.pending = Some((id, Instant::now())),
            Err(e) => say(&format!("  (your roll was refused: {e})")),
        }
    }

    /// Follows one update of the session's stream.
    async fn on_update(&mut self, update: SessionUpdate) {
        match update {
            SessionUpdate::Entry(entry) => self.table.apply(&entry).iter().for_each(|l| say(l)),
            SessionUpdate::Snapshot { index, data } => self.table.restore(index, &data).iter().for_each(|l| say(l)),
            SessionUpdate::Event(event) => self.on_event(event).await,
            _ => {}
        }
    }

    async fn on_event(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::SnapshotWanted { .. } => {
                if let Some((index, data)) = self.table.snapshot() {
                    if let Err(e) = self.handle.provide_snapshot(self.session, index, data).await {
                        tracing::warn!("snapshot not provided: {e}");
                    }
                }
            }
            SessionEvent::Joined { index } => {
                self.seated = true;
                say(&format!("you are seated at the table (#{index})"));
            }
            SessionEvent::Lost { index } => {
                self.seated = false;
                self.pending = None;
                say(&format!("the mesh lost you at #{index}: sitting down again"));
            }
            SessionEvent::JoinFailed { reason } => say(&format!("the table refused you ({reason:?}): type `join` to try again")),
            SessionEvent::Rebased { fork, undone, resubmitted } => {
                if resubmitted == 0 {
                    self.pending = None;
                }
                self.table.rollback(fork, undone).iter().for_each(|l| say(l));
            }
            SessionEvent::NoSnapshot { from } => {
                say(&format!("no player sent the game so far: playing on from #{from} without it"));
            }
            SessionEvent::Sequenced { submit, .. } => {
                if self.pending.is_some_and(|(id, _)| id == submit) {
                    self.pending = None;
                }
            }
            SessionEvent::SubmitFailed { submit, reason } => {
                if self.pending.is_some_and(|(id, _)| id == submit) {
                    self.pending = None;
                    say(&format!("  (your roll did not go through: {reason:?}; roll again)"));
                }
            }
        }
    }

    /// Carries out one typed command; `false` to quit.
    async fn command(&mut self, line: &str, name: &str) -> bool {
        match line {
            "" | "roll" | "r" => self.roll(true).await,
            "board" | "b" => {
                let state = self.table.state();
                say(&format!("standings at #{}: {}", state.index, state.standings()));
                say(&state.next_line());
            }
            "join" => join(&self.handle, self.session, name).await,
            "quit" | "q" | "leave" => return false,
            _ => say("  commands: Enter or `roll`, `board`, `join`, `quit`"),
        }
        true
    }

    /// Leaves the table, waiting (a little) until the others were told.
    async fn leave(&mut self, stream: &mut SessionStream) {
        if !self.seated || self.handle.leave_session(self.session).await.is_err() {
            return;
        }
        let me = self.me;
        let left = async {
            while let Ok(update) = stream.recv().await {
                if update.as_entry().is_some_and(|e| e.player() == me && matches!(e.body, blemesh_core::session::EntryBody::Left { .. })) {
                    return;
                }
            }
        };
        if tokio::time::timeout(Duration::from_secs(1), left).await.is_ok() {
            say("you left the table");
        }
    }
}

async fn join(handle: &Handle, session: SessionId, name: &str) {
    if let Err(e) = handle.join_session(session, name.to_owned()).await {
        say(&format!("cannot join the table: {e}"));
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let port = args.port.unwrap_or_else(|| u16::try_from(9000 + args.id).unwrap_or(0));
    let mut udp = UdpConfig::new(SocketAddr::from(([127, 0, 0, 1], port)));
    for peer in &args.peers {
        udp = udp.with_peer(*peer);
    }
    let (transport, addr) = blemesh_tokio::udp::bind(udp)?;
    let (handle, _events) = blemesh_tokio::spawn(config(&args), transport)?;
    let name = player_name(&args);
    let session = SessionId(args.session);
    say(&format!("{name} (node {}) listening on {addr}; sitting down at table {}", args.id, session.0));
    if args.peers.is_empty() {
        say(&format!("  others join with: --peer {}", addr.port()));
    }
    say("  press Enter (or type `roll`) on your turn; `board`, `quit`");
    // Opened before joining: the stream holds everything from this node's own join on.
    let mut stream = handle.session_events(session);
    join(&handle, session, &name).await;

    let mut player = Player { handle, session, me: NodeId(args.id), table: game::Table::default(), die: Die(entropy()), seated: false, pending: None };
    let mut stdin = Some(tokio::io::BufReader::new(tokio::io::stdin()).lines());
    let period = Duration::from_millis(args.auto_roll.unwrap_or(1000));
    let mut tick = tokio::time::interval(period);
    let interrupted = tokio::signal::ctrl_c();
    let term = terminated();
    tokio::pin!(interrupted, term);
    loop {
        tokio::select! {
            update = stream.recv() => match update {
                Ok(update) => player.on_update(update).await,
                Err(RecvError::Lagged { missed }) => {
                    say(&format!("this process fell {missed} updates behind: its table may differ from the others' (restart it)"));
                }
                Err(RecvError::Closed) => break,
            },
            line = async { stdin.as_mut()?.next_line().await.ok().flatten() }, if stdin.is_some() => match line {
                Some(line) => {
                    if !player.command(line.trim(), &name).await {
                        break;
                    }
                }
                None => stdin = None, // no more input: keep playing (with --auto-roll)
            },
            _ = tick.tick(), if args.auto_roll.is_some() => player.roll(false).await,
            _ = &mut interrupted => break,
            () = &mut term => break,
        }
    }
    player.leave(&mut stream).await;
    player.handle.shutdown().await;
    Ok(())
}
