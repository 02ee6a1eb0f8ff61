//! `blemesh-node` as a careless user or a service manager drives it: bad arguments are
//! refused with the allowed range named, and `--duration` and SIGTERM end the process
//! promptly although standard input stays an open pipe.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn node() -> Command {
    Command::new(env!("CARGO_BIN_EXE_blemesh-node"))
}

#[test]
fn bad_arguments_are_refused_naming_the_range() {
    let cases: &[(&[&str], &str)] = &[
        (&["--duration=-1"], "above 0"),
        (&["--duration=NaN"], "above 0"),
        (&["--duration=inf"], "above 0"),
        (&["--send-every", "0"], "--send-every"),
        (&["--heartbeat-ms", "1"], "--heartbeat-ms"),
    ];
    for (args, says) in cases {
        let out = node().args(["--id", "1"]).args(*args).stdin(Stdio::null()).output().expect("run blemesh-node");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// Waits for the child to exit within `limit`; kills it and fails otherwise.
fn exits_within(child: &mut std::process::Child, limit: Duration, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn duration_ends_the_process_while_stdin_is_an_open_pipe() {
    let mut child = node()
        .args(["--id", "1", "--port", "0", "--duration", "0.5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let _stdin = child.stdin.take(); // held open, never written
    let status = exits_within(&mut child, Duration::from_secs(10), "--duration 0.5");
    assert!(status.success(), "{status:?}");
    let mut out = String::new();
    child.stdout.take().expect("stdout").read_to_string(&mut out).expect("read");
    assert!(out.lines().last().is_some_and(|l| l.contains("\"stopped\"")), "{out}");
}

#[cfg(unix)]
#[test]
fn sigterm_shuts_down_like_ctrl_c() {
    let mut child = node()
        .args(["--id", "1", "--port", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let _stdin = child.stdin.take();
    let mut stdout = child.stdout.take().expect("stdout");
    // Wait for the ready line, so the signal handlers are installed.
    let mut first = [0u8; 16];
    let n = stdout.read(&mut first).expect("read ready");
    assert!(n > 0);
    std::thread::sleep(Duration::from_millis(200));
    // The shell's built-in kill: no procps needed on the machine.
    let killed = Command::new("sh").args(["-c", &format!("kill -TERM {}", child.id())]).status().expect("sh");
    assert!(killed.success());
    let status = exits_within(&mut child, Duration::from_secs(10), "SIGTERM");
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("read");
    assert!(rest.contains("\"stopped\""), "{rest}");
}
