//! Game-session workload: players join one session (`Node::join_session`), some late, and
//! submit game events as a Poisson process (`Node::submit`); a restarted or rejoining player
//! joins again, as a game app does when it starts. What the players deliver and what their
//! submits became is recorded here, and summarised for the report:
//!
//! * **Latency.** Over the events of the final history, from the submit to each member's
//!   first application of the event, and to the last member's ("applied by all"); counted,
//!   as a plain message's delivery is, only at members that usable links joined to the
//!   submitter when it submitted, and were playing then. Beside them the same run's plain
//!   High-priority broadcasts (the session's frames travel at High): per reachable receiver,
//!   and to the last of them.
//!   The events placed under the epoch their submitter followed are told apart from those
//!   a coordinator change delayed (the former measure sequencing, the latter failover).
//!   What happened to the rest is said: members cut off from the submitter at the submit,
//!   members joining or catching up then (they apply the event once caught up), and events
//!   that a merge sequenced again (their final placement's latency, which includes the cut).
//! * **Catch-up.** From a late player's join, or a restarted player's power-on, to its own
//!   `Joined` event (a player again, its game caught up from a snapshot another player's
//!   game provided) — the node asks at once; the mesh must first elect. Each game's state
//!   is a digest chained over the entries it applied; a snapshot carries it
//!   (`snapshot_bytes` long), so at the end the members' states can be compared.
//! * **Ends.** Every accepted submit ends sequenced or failed (by reason); one that did
//!   neither by the end of the run, with its submitter still on, is *silent* (the goal is
//!   none); one whose submitter powered off first is *lost with its node*.
//! * **Agreement.** At the end, how many members hold the same entry at every index they
//!   share with the longest member history; rebases and the entries they undid.

mod record;
mod summary;

pub use record::SessionRun;
pub use summary::SessionSummary;

use blemesh_core::session::SessionId;
use serde::{Deserialize, Serialize};

use crate::engine::{Engine, us};
use crate::queue::SimEvent;
use record::{AtSubmit, Catchup, JoinKind};

/// The session every player of a scenario joins.
pub const GAME: SessionId = SessionId(0x6a6d);

/// The `[session]` section of a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionLoad {
    /// Players: the first `players` devices that are not outsiders. 0: no session.
    pub players: usize,
    /// When the players join, s. Default 5.
    pub join_s: f64,
    /// The last this many players join late, at `late_join_s`. Default 0.
    pub late_joiners: usize,
    /// When the late players join, s. Default 30.
    pub late_join_s: f64,
    /// Mean submits per second per player (Poisson arrivals). Default 0.5.
    pub rate_per_player: f64,
    /// Bytes of each game event. Default 16.
    pub payload_bytes: usize,
    /// First submit, s. Default 15.
    pub start_s: f64,
    /// Last submit, s; default 10 s before the end (every submit then has time to end).
    pub end_s: Option<f64>,
    /// Bytes of the snapshot each game provides when a player catches up. Default 4096.
    pub snapshot_bytes: usize,
}

impl Default for SessionLoad {
    fn default() -> Self {
        SessionLoad {
            players: 0,
            join_s: 5.0,
            late_joiners: 0,
            late_join_s: 30.0,
            rate_per_player: 0.5,
            payload_bytes: 16,
            start_s: 15.0,
            end_s: None,
            snapshot_bytes: 4096,
        }
    }
}

impl Engine {
    /// Schedules the joins of the session workload (none without a `[session]` section).
    pub(crate) fn schedule_session(&mut self) {
        let Some(run) = &self.session else { return };
        let load = self.scenario.session.clone().unwrap_or_default();
        let players: Vec<u32> = (0..run.player.len() as u32).filter(|&i| run.player[i as usize]).collect();
        let late_from = players.len().saturating_sub(load.late_joiners);
        for (k, &i) in players.iter().enumerate() {
            let late = k >= late_from;
            if let Some(run) = self.session.as_mut() {
                run.late[i as usize] = late;
            }
            let at = us(if late { load.late_join_s } else { load.join_s });
            self.queue.push(at, SimEvent::SessionJoin { node: i, restart: false });
            if load.rate_per_player > 0.0 {
                let first = us(load.start_s.max(if late { load.late_join_s } else { 0.0 }));
                let gap = self.session_gap();
                self.queue.push(first + gap, SimEvent::SessionSubmit { node: i });
            }
        }
    }

    fn session_gap(&mut self) -> u64 {
        let rate = self.scenario.session.as_ref().map_or(1.0, |l| l.rate_per_player);
        let run = self.session.as_mut().expect("a session workload");
        us(run.rng.exponential(1.0 / rate)).max(1)
    }

    /// Player `i` joins (again): at its scheduled join, or as its app starts after a
    /// restart or a rejoin.
    pub(crate) fn session_join(&mut self, i: u32, at: u64, restart: bool) {
        if !self.devices[i as usize].alive() {
            return;
        }
        let info = format!("p{}", i + 1);
        if let Some(run) = self.session.as_mut() {
            let kind = if restart { JoinKind::PowerOn } else if run.late[i as usize] { JoinKind::Late } else { JoinKind::First };
            // A join still waiting (its node went off) is superseded.
            run.catchups.retain(|c| c.device != i || c.joined.is_some());
            run.catchups.push(Catchup { device: i, kind, asked: at, linked: None, joined: None });
        }
        self.with_node_drained(i, at, at, |n, now| n.join_session(now, GAME, info.as_bytes()));
    }

    /// Player `i`'s game answers a snapshot request with its state: the index it applied
    /// last and its digest, padded to `snapshot_bytes`.
    pub(crate) fn session_provide(&mut self, i: u32, at: u64) {
        let bytes = self.scenario.session.as_ref().map_or(4096, |l| l.snapshot_bytes);
        let Some(run) = self.session.as_mut() else { return };
        let Some((index, digest)) = run.state(i) else { return };
        let mut data = vec![0x5au8; bytes.max(16)];
        data[..8].copy_from_slice(&index.to_be_bytes());
        data[8..16].copy_from_slice(&digest.to_be_bytes());
        if self.with_node_drained(i, at, at, |n, now| n.provide_snapshot(now, GAME, index, &data)).is_some() {
            if let Some(run) = self.session.as_mut() {
                run.snapshots.0 += 1;
            }
        }
    }

    /// Player `i` submits its next game event.
    pub(crate) fn session_submit(&mut self, i: u32, at: u64) {
        let end = self.scenario.session.as_ref().and_then(|l| l.end_s).unwrap_or(self.scenario.duration_s - 10.0);
        if at > us(end) {
            return;
        }
        let gap = self.session_gap();
        self.queue.push(at + gap, SimEvent::SessionSubmit { node: i });
        if !self.devices[i as usize].alive() {
            return;
        }
        let id = self.devices[i as usize].id;
        let payload = vec![0x6du8; self.scenario.session.as_ref().map_or(16, |l| l.payload_bytes)];
        let player = self.devices[i as usize].node.as_ref().and_then(|n| n.session(GAME)).is_some_and(|s| s.is_member());
        if !player {
            return; // not (yet, or again) a player: the game waits for its join
        }
        let followed = self.devices[i as usize].node.as_ref().and_then(|n| n.session(GAME)).and_then(|s| s.epoch());
        let result = self.with_node(i, at, |n, now| n.submit(now, GAME, &payload));
        let blackholes = self.active_blackholes(at);
        let snapshot = self.reach.snapshot(at, &self.devices, &self.links, &blackholes);
        let mut reachable = vec![0u64; self.devices.len().div_ceil(64)];
        let mut not_playing = reachable.clone();
        for j in self.reach.members(snapshot, i).chain([i]) {
            reachable[j as usize / 64] |= 1 << (j % 64);
            let session = self.devices[j as usize].node.as_ref().and_then(|n| n.session(GAME));
            if !session.is_some_and(|s| s.is_member()) {
                not_playing[j as usize / 64] |= 1 << (j % 64);
            }
        }
        let run = self.session.as_mut().expect("a session workload");
        match result {
            Some(submit) => {
                run.accepted += 1;
                run.open.insert((id, submit), at);
                run.submitted_at.insert((id, submit), at);
                run.submitted_from.insert((id, submit), AtSubmit { reachable, not_playing, followed });
            }
            None => run.refused_at_call += 1,
        }
        self.drain(i, at);
    }
}
