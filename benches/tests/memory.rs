//! Memory held by one node of a converged 50-node mesh stays under its documented cap
//! (`docs/PERFORMANCE.md`, "Memory per node"). Measured with the counting allocator: the
//! heap each node frees when dropped, plus `size_of::<Node>()`.
//!
//! The design goal is 64 KiB per node, asserted for the defaults: a converged node holds
//! 64,678 B on average (63.2 KiB; max 88,260 B, the busiest relay's buffer pool), of which
//! 5,952 B inline. `sized_for_64` now differs from the defaults only in caps the mesh never
//! reaches, so it measures the same. The caps below are regression guards at today's
//! figures plus about 10 %.
//!
//! With one active session of all 50 nodes (issue #17; `SessionLoad::default()`: 16-byte
//! events, one per player a second for 20 s, about 1,000 entries, each node's log full at
//! 256) a node holds 115,010 B on average (112.3 KiB; max 195,312 B), of which 35,109 B
//! (max 46,472 B) are its game session: the log (256 entries of 88 B inline plus their
//! payloads, 26,624 B), the player list (50 players, 3,440 B), the session itself (896 B)
//! and its queues. The 64 KiB goal is not met with a session: the test of it is ignored
//! (`cargo test -p blemesh-benches --test memory -- --ignored`) until it is.

use std::sync::Mutex;

use blemesh_benches::memory::{CountingAlloc, SessionLoad, default_config, measure, measure_session, sized_for_64};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Cap of the largest node with `Config::new` defaults (today 88,260 B).
const DEFAULTS_CAP: usize = 95 * 1024;
/// Cap of the largest node with `sized_for_64` (today 88,260 B).
const SIZED_CAP: usize = 95 * 1024;
/// The goal of issue #8: mean bytes per node with the defaults (today 64,678 B).
const GOAL_MEAN: usize = 64 * 1024;

// The counter is process-wide, so two measurements must not overlap: each test holds this.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Cap of the mean node with one active 50-member session (today 115,010 B: the joins'
/// catch-up moves 49 snapshots of 4 KiB, and the buffer pools keep the room it took).
const SESSION_MEAN_CAP: usize = 120 * 1024;
/// Cap of the largest node with one active 50-member session (today 195,312 B: the first
/// player's pool, which served most of the snapshots).
const SESSION_MAX_CAP: usize = 205 * 1024;
/// Cap of the mean heap of a node's game session (today 34,227 B).
const SESSION_HEAP_CAP: usize = 37 * 1024;

#[test]
fn bytes_per_node_in_a_converged_50_node_mesh() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for (adjust, cap) in [(default_config as fn(_) -> _, DEFAULTS_CAP), (sized_for_64, SIZED_CAP)] {
        let r = measure("", adjust);
        eprintln!(
            "{}: mean {} B, max {} B per node (fresh heap {} B, inline {} B)",
            if cap == DEFAULTS_CAP { "defaults" } else { "sized for 64" },
            r.mean_per_node(),
            r.max_per_node(),
            r.fresh_heap,
            r.inline
        );
        assert!(r.max_per_node() <= cap, "{} B per node exceeds the cap of {cap} B", r.max_per_node());
        if cap == DEFAULTS_CAP {
            assert!(r.mean_per_node() <= GOAL_MEAN, "{} B per node on average exceeds 64 KiB", r.mean_per_node());
        }
        // A fresh node allocates almost nothing (the output queues' first room, today
        // 1,620 B); converging adds what grows with the mesh: the routing database, graph and
        // table of 50 nodes (about 20 KiB), the duplicate cache, windows, registry, and the
        // buffers of the traffic seen (today 57,106 B on average).
        assert!(r.fresh_heap <= 1792, "a fresh node holds {} B of heap", r.fresh_heap);
        assert!(r.mean_per_node() <= r.inline + r.fresh_heap + 62 * 1024, "a converged node grew by more than 62 KiB");
    }
}

/// Measures the mesh with one active session of all 50 nodes (`SessionLoad::default()`).
fn with_one_session() -> blemesh_benches::memory::SessionMemoryReport {
    let load = SessionLoad::default();
    let r = measure_session("defaults", default_config, load);
    eprintln!(
        "defaults, one 50-member session: mean {} B, max {} B per node; the session's heap mean {} B, max {} B; {} submits, {} entries delivered by every node, logs of {}",
        r.memory.mean_per_node(),
        r.memory.max_per_node(),
        r.session_mean(),
        r.session_max(),
        r.submitted,
        r.delivered_min,
        r.log_min
    );
    // The session was played: every submit sequenced and delivered by every node (with the
    // 50 joins), every log full.
    assert_eq!(r.delivered_min, (r.submitted + 50) as u64, "every node delivered every join and event");
    assert_eq!(r.log_min, blemesh_core::session::SessionConfig::default().log_entries, "every log is full");
    r
}

#[test]
fn bytes_per_node_with_one_active_50_member_session() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let r = with_one_session();
    assert!(r.memory.mean_per_node() <= SESSION_MEAN_CAP, "{} B per node on average exceeds the cap of {SESSION_MEAN_CAP} B", r.memory.mean_per_node());
    assert!(r.memory.max_per_node() <= SESSION_MAX_CAP, "{} B per node exceeds the cap of {SESSION_MAX_CAP} B", r.memory.max_per_node());
    assert!(r.session_mean() <= SESSION_HEAP_CAP, "a node's session holds {} B on average, above {SESSION_HEAP_CAP} B", r.session_mean());
    // What the session adds is the session's own heap and a little more of the buffers
    // that carry its traffic, not a node grown elsewhere.
    let without = measure("", default_config);
    let grown = r.memory.mean_per_node() - without.mean_per_node();
    assert!(grown >= r.session_mean(), "the session's heap is part of what the node grew by");
    // The rest is the buffers that carried the session's traffic, the joins' snapshots
    // the most of it (today 14.4 KiB).
    assert!(grown <= r.session_mean() + 16 * 1024, "a node grew by {grown} B, {} B of it its session", r.session_mean());
}

/// Issue #17: memory per node stays within the 64 KiB goal with one active session of 50
/// members. Not met (115,010 B on average today, see the module documentation).
#[test]
#[ignore = "not met: a 50-member session adds about 48 KiB per node (issue #17)"]
fn bytes_per_node_with_one_active_50_member_session_meet_the_64_kib_goal() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let r = with_one_session();
    assert!(r.memory.mean_per_node() <= GOAL_MEAN, "{} B per node on average exceeds 64 KiB", r.memory.mean_per_node());
}
