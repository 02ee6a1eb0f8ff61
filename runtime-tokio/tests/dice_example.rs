//! The dice example (`examples/dice`), three processes on 127.0.0.1 rolling by themselves
//! (`--auto-roll`): every process prints the same roll lines for the same entries; one is
//! killed (SIGKILL) and started again with the same command, catches up from a snapshot,
//! and from there prints the same rolls and leaderboards as the others.
//!
//! The example is built first with `cargo build --workspace --example dice` into this test's
//! own target directory, so the test never runs a stale binary; with the workspace's features
//! unified as `cargo test --workspace` unifies them, that is a no-op after `cargo test` (built
//! for one package alone, a dozen dependencies would be compiled again with other features).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

/// Builds the example with the profile and target directory of this test; its path.
fn dice_exe() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps").to_path_buf();
    let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_owned(),
        Some(other) => other.to_owned(),
    };
    let out = Command::new(env!("CARGO"))
        .args(["build", "--workspace", "--example", "dice", "--message-format=json-render-diagnostics", "--profile", &profile])
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo build --example dice");
    assert!(out.status.success(), "cargo build --example dice failed: {:?}", out.status);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == "dice")
        .find_map(|v| v["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| profile_dir.join("examples").join("dice"))
}

/// One player process and the lines it printed so far.
struct Player {
    name: &'static str,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Player {
    fn spawn(exe: &PathBuf, id: u64, name: &'static str, port: u16, peers: &[u16]) -> Player {
        let mut cmd = Command::new(exe);
        cmd.args(["--id", &id.to_string(), "--name", name, "--port", &port.to_string(), "--auto-roll", "50", "--heartbeat-ms", "100"]);
        for p in peers {
            cmd.args(["--peer", &p.to_string()]);
        }
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn dice");
        let stdout = child.stdout.take().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().expect("lock").push(line);
            }
        });
        Player { name, child, lines }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lock").clone()
    }

    /// The port from the first line, `... listening on 127.0.0.1:PORT; ...`.
    fn port(&self) -> u16 {
        wait_for(&format!("{} listening", self.name), || {
            let first = self.lines().into_iter().next()?;
            let addr = first.split("listening on ").nth(1)?.split(';').next()?;
            addr.rsplit(':').next()?.parse().ok()
        })
    }

    /// Roll lines by entry index (a rolled-back entry's line printed again replaces the
    /// first one; the recent rolls a snapshot shows count).
    fn rolls(&self) -> BTreeMap<u64, String> {
        let mut rolls = BTreeMap::new();
        for line in self.lines() {
            if let Some(index) = roll_index(&line) {
                rolls.insert(index, line);
            }
        }
        rolls
    }

    /// Leaderboard lines by round (the newest per round).
    fn leaderboards(&self) -> BTreeMap<u64, String> {
        let mut boards = BTreeMap::new();
        for line in self.lines() {
            let round = line.strip_prefix("leaderboard after round ").and_then(|r| r.split(':').next()?.parse().ok());
            if let Some(round) = round {
                boards.insert(round, line);
            }
        }
        boards
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `#12 round 4: alice rolled 5 (total 17)` → 12.
fn roll_index(line: &str) -> Option<u64> {
    let (index, rest) = line.strip_prefix('#')?.split_once(' ')?;
    let (_, roll) = rest.split_once(": ")?;
    let value = roll.split(" rolled ").nth(1)?.split(' ').next()?;
    value.parse::<u8>().ok()?;
    index.parse().ok()
}

mod support;

/// Polls `f` until it returns `Some`, for at most [`WAIT`].
fn wait_for<T>(what: &str, f: impl FnMut() -> Option<T>) -> T {
    support::wait_for(what, WAIT, f)
}

/// The roll lines after entry `after` of every player, if each holds at least `n` of them
/// up to the lowest newest index among the players and all agree on every one.
fn agree(players: &[Player], after: u64, n: usize) -> Option<Vec<BTreeMap<u64, String>>> {
    let rolls: Vec<BTreeMap<u64, String>> = players.iter().map(|p| p.rolls().split_off(&(after + 1))).collect();
    let upto = rolls.iter().map(|r| r.keys().next_back().copied().unwrap_or(0)).min()?;
    let upto_all: Vec<BTreeMap<u64, String>> =
        rolls.iter().map(|r| r.iter().filter(|(i, _)| **i <= upto).map(|(i, l)| (*i, l.clone())).collect()).collect();
    let enough = upto_all.iter().all(|r| r.len() >= n);
    (enough && upto_all.windows(2).all(|w| w[0] == w[1])).then_some(upto_all)
}

fn dump(players: &[Player]) -> String {
    players.iter().map(|p| format!("--- {}:\n{}", p.name, p.lines().join("\n"))).collect::<Vec<_>>().join("\n")
}

#[test]
fn three_players_roll_the_same_dice_and_a_restarted_one_catches_up() {
    let exe = dice_exe();
    let mut players: Vec<Player> = Vec::new();
    let mut ports = Vec::new();
    for (id, name) in [(1, "alice"), (2, "bob"), (3, "carol")] {
        let player = Player::spawn(&exe, id, name, 0, &ports);
        ports.push(player.port());
        players.push(player);
    }

    // Every process prints the same roll lines, in index order (which is the order printed,
    // rollbacks aside), for the entries all three applied: at least ten of them.
    let start = Instant::now();
    while agree(&players, 0, 10).is_none() {
        assert!(start.elapsed() < WAIT, "no ten rolls agreed on by all three:\n{}", dump(&players));
        thread::sleep(Duration::from_millis(50));
    }

    // Kill bob outright; the others see him lost, and play on.
    let _ = players[1].child.kill();
    let _ = players[1].child.wait();
    let lost = |p: &Player| p.lines().iter().any(|l| l.starts_with('#') && l.contains("bob was lost by the mesh"));
    let start = Instant::now();
    while !(lost(&players[0]) && lost(&players[2])) {
        assert!(start.elapsed() < WAIT, "bob never lost:\n{}", dump(&players));
        thread::sleep(Duration::from_millis(50));
    }

    // Start him again with the same command: he catches up from a snapshot.
    players[1] = Player::spawn(&exe, 2, "bob", ports[1], &[ports[0], ports[2]]);
    let snapshot = wait_for("bob's snapshot", || {
        players[1].lines().iter().find_map(|l| l.strip_prefix("caught up from a snapshot at #")?.split(':').next()?.parse::<u64>().ok())
    });

    // From the snapshot on, the same rolls everywhere (five at least), and the same
    // leaderboards: bob's state is the others'.
    let start = Instant::now();
    let rolls = loop {
        if let Some(rolls) = agree(&players, snapshot, 5) {
            break rolls;
        }
        assert!(start.elapsed() < WAIT, "no five rolls after #{snapshot} agreed on:\n{}", dump(&players));
        thread::sleep(Duration::from_millis(50));
    };
    assert!(rolls[1].values().any(|l| l.contains("bob rolled")), "bob rolls again: {:?}", rolls[1]);
    let boards = wait_for("a leaderboard printed by all three after the restart", || {
        // Bob's lines are all from after the restart.
        let boards: Vec<BTreeMap<u64, String>> = players.iter().map(|p| p.leaderboards()).collect();
        let round = *boards[1].keys().next()?;
        boards.iter().all(|b| b.contains_key(&round)).then(|| boards.iter().map(|b| b[&round].clone()).collect::<Vec<_>>())
    });
    assert!(boards.iter().all(|b| *b == boards[0]), "leaderboards differ: {boards:?}\n{}", dump(&players));
    assert!(boards[0].contains("bob"), "{}", boards[0]);
}
