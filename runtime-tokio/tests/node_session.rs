//! Three `blemesh-node` processes on 127.0.0.1 in a line (1-2-3) play one game session
//! through stdin commands: node 1 joins with `--join`, the others with `join`; a submit
//! before joining is refused; each node submits twice and every node prints the same
//! `sequenced` lines in the same order, each `submitted` id ending in a `session_event`
//! `sequenced` line after its entry; a `leave` is a `left` entry on the others.

use std::time::Duration;

use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);
const GAME: u64 = 7;

mod support;

use support::NodeProcess as Node;

/// Polls `f` until it returns `Some`, for at most [`WAIT`].
fn wait_for<T>(what: &str, f: impl FnMut() -> Option<T>) -> T {
    support::wait_for(what, WAIT, f)
}

/// The session's game-event entries as (index, submitter, submit, payload).
fn events(node: &Node) -> Vec<(u64, u64, u64, String)> {
    let field = |v: &Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    node.of_type("sequenced")
        .into_iter()
        .filter(|v| v["session"] == GAME && v["kind"] == "event")
        .map(|v| (field(&v, "index"), field(&v, "submitter"), field(&v, "submit"), v["payload"].as_str().expect("payload").to_owned()))
        .collect()
}

/// The session's `session_event` lines of one `event` name.
fn session_events(node: &Node, event: &str) -> Vec<Value> {
    node.of_type("session_event").into_iter().filter(|v| v["session"] == GAME && v["event"] == event).collect()
}

#[test]
fn three_processes_play_one_session_in_one_order() {
    let mut nodes: Vec<Node> = Vec::new();
    for id in 1..=3u64 {
        let mut extra = Vec::new();
        if let Some(prev) = nodes.last() {
            extra.extend(["--peer".to_owned(), prev.addr(WAIT)]);
        }
        if id == 1 {
            extra.extend(["--join".to_owned(), GAME.to_string()]);
        }
        nodes.push(Node::spawn(id, &extra));
    }
    let latest = |n: &Node| n.of_type("coordinator_elected").last().map(|e| e["node"].clone());
    wait_for("one coordinator for all three", || {
        let first = latest(&nodes[0])?;
        nodes.iter().all(|n| latest(n).as_ref() == Some(&first)).then_some(())
    });

    // Before joining: refused, with the reason.
    nodes[2].command(&format!("submit {GAME} too early"));
    let error = wait_for("the early submit's error", || nodes[2].of_type("error").first().cloned());
    let text = error["error"].as_str().expect("error text");
    assert!(text.contains(&format!("not a player of session {GAME}")), "{text}");

    for node in &mut nodes[1..] {
        let line = format!("join {GAME} p{}", node.id);
        node.command(&line);
    }
    wait_for("every node joined", || nodes.iter().all(|n| !session_events(n, "joined").is_empty()).then_some(()));
    assert!(nodes.iter().all(|n| n.of_type("joining").len() == 1), "one joining line each");

    for k in 0..2 {
        for node in &mut nodes {
            let line = format!("submit {GAME} n{}-{k}", node.id);
            node.command(&line);
        }
    }
    wait_for("six events everywhere, two sequenced each", || {
        nodes.iter().all(|n| events(n).len() == 6 && session_events(n, "sequenced").len() == 2).then_some(())
    });
    let reference = events(&nodes[0]);
    for node in &nodes {
        assert_eq!(events(node), reference, "node {} prints node 1's order", node.id);
        let submitted: Vec<u64> = node.of_type("submitted").iter().filter_map(|v| v["submit"].as_u64()).collect();
        assert_eq!(submitted.len(), 2, "node {}", node.id);
        let lines = node.lines();
        for done in session_events(node, "sequenced") {
            let (submit, index) = (done["submit"].as_u64().expect("submit"), done["index"].as_u64().expect("index"));
            assert!(submitted.contains(&submit), "node {}: {done}", node.id);
            let entry_at = lines.iter().position(|v| {
                v["type"] == "sequenced" && v["index"] == index && v["submitter"] == node.id && v["submit"] == submit
            });
            let done_at = lines.iter().position(|v| *v == done);
            assert!(entry_at.is_some() && entry_at < done_at, "node {}: entry {index} before {done}", node.id);
        }
        let entry = node.of_type("sequenced").into_iter().find(|v| v["kind"] == "event").expect("an entry");
        assert!(entry["epoch"]["term"].is_u64() && entry["epoch"]["sequencer"].is_u64(), "{entry}");
        assert!(entry["prev"]["term"].is_u64(), "an event follows a join: {entry}");
    }

    nodes[2].command(&format!("leave {GAME}"));
    wait_for("the leave on nodes 1 and 2", || {
        nodes[..2]
            .iter()
            .all(|n| n.of_type("sequenced").iter().any(|v| v["kind"] == "left" && v["player"] == 3 && v["reason"] == "left"))
            .then_some(())
    });
    assert_eq!(nodes[2].of_type("leaving").len(), 1);

    for node in &mut nodes {
        node.command("quit");
    }
    for node in &mut nodes {
        let status = wait_for("a clean stop", || node.try_wait());
        assert!(status.success(), "node {}: {status:?}", node.id);
    }
}
