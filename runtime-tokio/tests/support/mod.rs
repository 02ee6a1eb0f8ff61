//! What the process tests share: a `blemesh-node` child and its JSON lines, and bounded
//! waiting. Each test file includes it with `mod support;` and uses what it needs.

#![allow(dead_code)] // each test file uses a part

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Polls `f` until it returns `Some`, for at most `wait`; panics naming `what` after that.
pub(crate) fn wait_for<T>(what: &str, wait: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < wait, "timed out after {wait:?} waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// One `blemesh-node` child process (on a free port, heartbeats every 100 ms, 30 s at most)
/// and the JSON lines it printed so far; killed when dropped.
pub(crate) struct NodeProcess {
    /// Its node id.
    pub(crate) id: u64,
    child: Child,
    stdin: ChildStdin,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl NodeProcess {
    /// Starts node `id` with `extra` arguments.
    pub(crate) fn spawn(id: u64, extra: &[String]) -> NodeProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_blemesh-node"));
        cmd.args(["--id", &id.to_string(), "--port", "0", "--heartbeat-ms", "100", "--duration", "30"]).args(extra);
        let mut child =
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn blemesh-node");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad JSON line {line:?}: {e}"));
                sink.lock().expect("lock").push(v);
            }
        });
        NodeProcess { id, child, stdin, lines }
    }

    /// Every line so far.
    pub(crate) fn lines(&self) -> Vec<Value> {
        self.lines.lock().expect("lock").clone()
    }

    /// The lines of one `type`.
    pub(crate) fn of_type(&self, ty: &str) -> Vec<Value> {
        self.lines().into_iter().filter(|v| v["type"] == ty).collect()
    }

    /// Writes one stdin command.
    pub(crate) fn command(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to node");
        self.stdin.flush().expect("flush");
    }

    /// Its UDP address, from its `ready` line (waiting at most `wait`).
    pub(crate) fn addr(&self, wait: Duration) -> String {
        wait_for(&format!("node {} ready", self.id), wait, || {
            self.of_type("ready").first().map(|v| v["addr"].as_str().expect("addr").to_owned())
        })
    }

    /// Its exit status, if it has exited.
    pub(crate) fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("wait")
    }

    /// Kills the process at once (SIGKILL).
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
