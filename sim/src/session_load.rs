//! Game-session workload: players join one session (`Node::join_session`), some late, and
//! submit game events as a Poisson process (`Node::submit`); a restarted or rejoining player
//! joins again, as a game app does when it starts. What the players deliver and what their
//! submits became is recorded here, and summarised for the report:
//!
//! * **Latency.** Submit to each member's delivery, and submit to the last member's
//!   ("applied by all"), over the events of the final history; beside them the same run's
//!   plain High-priority messages, per receiver (the session's frames travel at High).
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

use std::collections::BTreeMap;

use blemesh_core::session::{EntryBody, Epoch, FailReason, SessionEvent, SessionId, SubmitId};
use blemesh_core::NodeId;
use serde::{Deserialize, Serialize};

use crate::engine::{Engine, us};
use crate::histogram::Histogram;
use crate::queue::SimEvent;
use crate::rng::{SimRng, stream};

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

/// Why a player joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JoinKind {
    /// At the session's start (`join_s`).
    First,
    /// Late (`late_join_s`).
    Late,
    /// Its node powered on again (a restart or a churn rejoin).
    PowerOn,
}

/// One player's join and how long it took to play.
#[derive(Clone, Debug)]
struct Catchup {
    device: u32,
    kind: JoinKind,
    asked: u64,
    /// Its first confirmed link since (a restarted node's radio must connect first).
    linked: Option<u64>,
    joined: Option<u64>,
}

/// What the session workload recorded during a run.
#[derive(Debug)]
pub struct SessionRun {
    rng: SimRng,
    /// Whether each device plays.
    pub player: Vec<bool>,
    /// Whether each player joins late.
    late: Vec<bool>,
    /// Submits accepted and not yet ended, by (submitter, submit id): when.
    open: BTreeMap<(NodeId, SubmitId), u64>,
    /// Submit time of every accepted submit, by (submitter, submit id) (the latest).
    submitted_at: BTreeMap<(NodeId, SubmitId), u64>,
    /// Each device's history as it stands: (index, epoch), when it was delivered, and the
    /// game's state digest after it.
    history: Vec<Vec<(u64, Epoch, u64, u64)>>,
    /// The snapshot each device's game started from: (index, state digest).
    base: Vec<Option<(u64, u64)>>,
    /// Snapshots provided, handed to a catching-up game, and catch-ups without one.
    snapshots: (u64, u64, u64),
    /// Event entries ever delivered: (index, epoch) → (submitter, submit id).
    events: BTreeMap<(u64, Epoch), (NodeId, SubmitId)>,
    catchups: Vec<Catchup>,
    accepted: u64,
    refused_at_call: u64,
    sequenced: u64,
    failed: BTreeMap<&'static str, u64>,
    lost_with_node: u64,
    rebases: u64,
    undone: u64,
    lost_events: u64,
}

/// The session figures of a run (the report's session section).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SessionSummary {
    /// Players (devices that joined at least once).
    pub players: u32,
    /// Submits the core accepted, and those it refused at the call (not a player yet, too
    /// many waiting).
    pub submits: (u64, u64),
    /// Submits sequenced (the submitter delivered its own event).
    pub sequenced: u64,
    /// Submits failed, by reason.
    pub failed: BTreeMap<&'static str, u64>,
    /// Submits that neither ended nor lost their submitter by the end (the goal is 0).
    pub silent: u64,
    /// Submits whose submitter powered off before they ended.
    pub lost_with_node: u64,
    /// Submit to each member's delivery, ms: p50, p99, over the final history's events.
    pub member_latency_ms: (f64, f64),
    /// Submit to the last member's delivery ("applied by all"), ms: p50, p99.
    pub applied_by_all_ms: (f64, f64),
    /// The same run's plain High-priority messages, per receiver, ms: p50, p99.
    pub plain_high_ms: Option<(f64, f64)>,
    /// Joins at the start: count, and the longest time from the join to a player, s.
    pub first_joins: (u32, Option<f64>),
    /// Late joins: count, and the longest time to a player, s.
    pub late_joins: (u32, Option<f64>),
    /// Players whose node powered on again (restart, churn): count, and the longest time
    /// from power-on to a player again (its game caught up), s.
    pub rejoins: (u32, Option<f64>),
    /// The same, from the restarted node's first confirmed link: p50 and max, s.
    pub rejoins_from_link: Option<(f64, f64)>,
    /// Players that never became a player again after a join or restart.
    pub never_joined: u32,
    /// Members at the end, and those whose history agrees with the longest member history at
    /// every index both hold.
    pub agreement: (u32, u32),
    /// Members whose game state could be compared with the longest member history's at the
    /// same index (a digest chained over the entries applied, carried by snapshots), and
    /// those whose state is the same.
    pub state_agreement: (u32, u32),
    /// Snapshots the games provided, snapshots handed to catching-up games, and catch-ups
    /// that found none in time.
    pub snapshots: (u64, u64, u64),
    /// Rebases, and entries they undid.
    pub rebases: (u64, u64),
    /// Times a player learnt the partition had lost it (and joined again).
    pub players_lost: u64,
}

impl SessionRun {
    /// The run's session state for `load` over `devices` devices (`outsider` excluded).
    pub fn new(seed: u64, load: &SessionLoad, outsider: &[bool]) -> Self {
        let mut player = vec![false; outsider.len()];
        for (i, _) in outsider.iter().enumerate().filter(|(_, o)| !**o).take(load.players) {
            player[i] = true;
        }
        SessionRun {
            rng: SimRng::new(seed, stream::SESSION),
            late: vec![false; player.len()],
            player,
            open: BTreeMap::new(),
            submitted_at: BTreeMap::new(),
            history: vec![Vec::new(); outsider.len()],
            base: vec![None; outsider.len()],
            snapshots: (0, 0, 0),
            events: BTreeMap::new(),
            catchups: Vec::new(),
            accepted: 0,
            refused_at_call: 0,
            sequenced: 0,
            failed: BTreeMap::new(),
            lost_with_node: 0,
            rebases: 0,
            undone: 0,
            lost_events: 0,
        }
    }

    /// Device `i` delivered `entry` of the session at `now`.
    pub fn on_entry(&mut self, now: u64, i: u32, entry: &blemesh_core::session::Entry) {
        let h = &mut self.history[i as usize];
        h.retain(|(index, ..)| *index < entry.index); // a restart's fresh history starts anew
        let before = match h.last() {
            Some(&(index, _, _, digest)) if index + 1 == entry.index => digest,
            _ => self.base[i as usize].filter(|(b, _)| b + 1 == entry.index).map_or(0, |(_, d)| d),
        };
        h.push((entry.index, entry.epoch, now, chain(before, entry)));
        if let EntryBody::Event { submitter, submit, .. } = &entry.body {
            self.events.insert((entry.index, entry.epoch), (*submitter, *submit));
        }
    }

    /// Device `i` (node `id`) reported `event` of the session at `now`.
    pub fn on_event(&mut self, now: u64, i: u32, id: NodeId, event: &SessionEvent) {
        match *event {
            SessionEvent::Sequenced { submit, .. } => {
                if self.open.remove(&(id, submit)).is_some() {
                    self.sequenced += 1;
                }
            }
            SessionEvent::SubmitFailed { submit, reason } => {
                if self.open.remove(&(id, submit)).is_some() {
                    let name = match reason {
                        FailReason::Timeout => "timeout",
                        FailReason::Refused(_) => "refused",
                        FailReason::Left => "left",
                    };
                    *self.failed.entry(name).or_default() += 1;
                }
            }
            SessionEvent::Rebased { fork, undone, .. } => {
                self.rebases += 1;
                self.undone += undone;
                self.history[i as usize].retain(|(index, ..)| *index <= fork);
                if self.base[i as usize].is_some_and(|(b, _)| b > fork) {
                    self.base[i as usize] = None;
                }
            }
            SessionEvent::NoSnapshot { .. } => self.snapshots.2 += 1,
            SessionEvent::SnapshotWanted { .. } => {}
            SessionEvent::Lost { .. } => self.lost_events += 1,
            SessionEvent::Joined { .. } => {
                for c in self.catchups.iter_mut().filter(|c| c.device == i && c.joined.is_none()) {
                    c.joined = Some(now);
                }
            }
            SessionEvent::JoinFailed { .. } => {}
        }
    }

    /// Device `i` confirmed a link at `now`.
    pub fn on_link_up(&mut self, now: u64, i: u32) {
        for c in self.catchups.iter_mut().filter(|c| c.device == i && c.linked.is_none()) {
            c.linked = Some(now);
        }
    }

    /// Device `i` (node `id`) powered off: its open submits are lost with it, its history
    /// with its state.
    pub fn on_power_off(&mut self, i: u32, id: NodeId) {
        let before = self.open.len();
        self.open.retain(|(submitter, _), _| *submitter != id);
        self.lost_with_node += (before - self.open.len()) as u64;
        self.history[i as usize].clear();
        self.base[i as usize] = None;
    }

    /// Device `i`'s game was handed a snapshot as of `index` at `now`: its state from now on.
    pub fn on_snapshot(&mut self, _now: u64, i: u32, index: u64, data: &[u8]) {
        let digest = data.get(8..16).and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes);
        self.history[i as usize].clear();
        self.base[i as usize] = Some((index, digest));
        self.snapshots.1 += 1;
    }

    /// Device `i`'s game state: the index of the last entry it applied and its digest.
    fn state(&self, i: u32) -> Option<(u64, u64)> {
        self.history[i as usize].last().map(|&(index, _, _, digest)| (index, digest)).or(self.base[i as usize])
    }

    /// The summary at the end of a run, `high` the run's plain High-priority latencies.
    pub fn summary(&self, end: u64, member: &[bool], high: &Histogram) -> SessionSummary {
        let ms = |h: &Histogram| (h.quantile(0.5) as f64 / 1000.0, h.quantile(0.99) as f64 / 1000.0);
        // The reference history: the longest member's.
        let members: Vec<usize> = (0..member.len()).filter(|&i| member[i]).collect();
        let reference = members.iter().map(|&i| &self.history[i]).max_by_key(|h| (h.len(), h.last().map(|e| e.0)));
        let by_index: BTreeMap<u64, Epoch> = reference.map(|h| h.iter().map(|(k, e, ..)| (*k, *e)).collect()).unwrap_or_default();
        let agree = members
            .iter()
            .filter(|&&i| self.history[i].iter().all(|(k, e, ..)| by_index.get(k).is_none_or(|r| r == e)))
            .count() as u32;
        // Game states: each member's digest against the reference's at the same index.
        let digests: BTreeMap<u64, u64> = reference.map(|h| h.iter().map(|(k, .., d)| (*k, *d)).collect()).unwrap_or_default();
        let compared: Vec<bool> = members
            .iter()
            .filter_map(|&i| self.state(i as u32))
            .filter_map(|(k, d)| digests.get(&k).map(|r| *r == d))
            .collect();
        let state_agreement = (compared.len() as u32, compared.iter().filter(|ok| **ok).count() as u32);
        // Latencies of the final history's events, over the members that hold them.
        let (mut each, mut all) = (Histogram::default(), Histogram::default());
        for (&(index, epoch), key) in &self.events {
            if by_index.get(&index) != Some(&epoch) {
                continue; // undone by a rebase, or never in the members' history
            }
            let Some(&at) = self.submitted_at.get(key) else { continue };
            let times: Vec<u64> = members
                .iter()
                .filter_map(|&i| self.history[i].iter().find(|(k, e, ..)| *k == index && *e == epoch).map(|(_, _, t, _)| *t))
                .collect();
            for t in &times {
                each.record(t.saturating_sub(at));
            }
            if let Some(last) = times.iter().max() {
                all.record(last.saturating_sub(at));
            }
        }
        let secs = |us: u64| us as f64 / 1e6;
        let span = |kind: JoinKind| {
            let c: Vec<&Catchup> = self.catchups.iter().filter(|c| c.kind == kind).collect();
            let max = c.iter().filter_map(|c| c.joined.map(|j| j - c.asked)).max().map(secs);
            (c.len() as u32, max)
        };
        let silent = self.open.values().filter(|&&at| at + us(SILENT_AFTER_S) <= end).count() as u64;
        SessionSummary {
            players: self.player.iter().filter(|p| **p).count() as u32,
            submits: (self.accepted, self.refused_at_call),
            sequenced: self.sequenced,
            failed: self.failed.clone(),
            silent,
            lost_with_node: self.lost_with_node,
            member_latency_ms: ms(&each),
            applied_by_all_ms: ms(&all),
            plain_high_ms: (high.count() > 0).then(|| ms(high)),
            first_joins: span(JoinKind::First),
            late_joins: span(JoinKind::Late),
            rejoins: span(JoinKind::PowerOn),
            rejoins_from_link: {
                let mut t: Vec<u64> = self
                    .catchups
                    .iter()
                    .filter(|c| c.kind == JoinKind::PowerOn)
                    .filter_map(|c| Some(c.joined?.saturating_sub(c.linked?)))
                    .collect();
                t.sort_unstable();
                (!t.is_empty()).then(|| (secs(t[(t.len() - 1) / 2]), secs(t[t.len() - 1])))
            },
            never_joined: self.catchups.iter().filter(|c| c.joined.is_none()).count() as u32,
            agreement: (members.len() as u32, agree),
            state_agreement,
            snapshots: self.snapshots,
            rebases: (self.rebases, self.undone),
            players_lost: self.lost_events,
        }
    }
}

/// A submit still open this long before the end of the run is silent (the core's submit
/// timeout is 3 s; the rest is slack for the last retry and the event's delivery).
const SILENT_AFTER_S: f64 = 5.0;

impl Engine {
    /// The session's figures at the end of the run (`None` without a session workload).
    pub fn session_summary(&self) -> Option<SessionSummary> {
        let run = self.session.as_ref()?;
        let member: Vec<bool> = self
            .devices
            .iter()
            .map(|d| d.node.as_ref().and_then(|n| n.session(GAME)).is_some_and(|s| s.is_member()))
            .collect();
        let high = &self.stats.priority[blemesh_core::Priority::High as usize].latency;
        Some(run.summary(self.end, &member, high))
    }

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
        let result = self.with_node(i, at, |n, now| n.submit(now, GAME, &payload));
        let run = self.session.as_mut().expect("a session workload");
        match result {
            Some(submit) => {
                run.accepted += 1;
                run.open.insert((id, submit), at);
                run.submitted_at.insert((id, submit), at);
            }
            None => run.refused_at_call += 1,
        }
        self.drain(i, at);
    }
}

impl SessionSummary {
    /// The report lines (text report and HTML), one figure each.
    pub fn lines(&self) -> Vec<(&'static str, String)> {
        let ms = |(p50, p99): (f64, f64)| format!("p50 {p50:.1} ms, p99 {p99:.1} ms");
        let secs = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.2} s"));
        let failed: Vec<String> = self.failed.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let failed = if failed.is_empty() { "none".to_string() } else { failed.join(", ") };
        vec![
            ("players", self.players.to_string()),
            ("submits", format!("{} accepted ({} refused at the call)", self.submits.0, self.submits.1)),
            ("ended", format!("{} sequenced; failed: {failed}; silent {}; lost with their node {}", self.sequenced, self.silent, self.lost_with_node)),
            ("submit to each member", ms(self.member_latency_ms)),
            ("submit to applied by all", ms(self.applied_by_all_ms)),
            ("plain High messages", self.plain_high_ms.map_or_else(|| "-".to_string(), ms)),
            ("first joins", format!("{}, a player after at most {}", self.first_joins.0, secs(self.first_joins.1))),
            ("late joins", format!("{}, a player after at most {}", self.late_joins.0, secs(self.late_joins.1))),
            ("nodes on again", format!("{}, a player again after at most {}", self.rejoins.0, secs(self.rejoins.1))),
            ("  from their first link", self.rejoins_from_link.map_or_else(|| "-".to_string(), |(p50, max)| format!("p50 {p50:.2} s, max {max:.2} s"))),
            ("never a player again", self.never_joined.to_string()),
            ("members agreeing at the end", format!("{} of {}", self.agreement.1, self.agreement.0)),
            ("game states agreeing", format!("{} of {} compared at the end", self.state_agreement.1, self.state_agreement.0)),
            ("snapshots", format!("{} provided, {} caught up from, {} catch-ups without one", self.snapshots.0, self.snapshots.1, self.snapshots.2)),
            ("rebases", format!("{} (entries undone {})", self.rebases.0, self.rebases.1)),
            ("players lost by a partition", self.players_lost.to_string()),
        ]
    }
}

/// The game state after `entry`, from the state before it: a digest chained over the entries
/// applied (their place, epoch and what they say).
fn chain(before: u64, entry: &blemesh_core::session::Entry) -> u64 {
    let body = match &entry.body {
        EntryBody::Event { submitter, submit, payload } => submitter.0 ^ (u64::from(submit.0) << 20) ^ payload.len() as u64,
        EntryBody::Joined { player, info } => player.0.rotate_left(7) ^ info.len() as u64,
        EntryBody::Left { player, .. } => player.0.rotate_left(13),
    };
    let epoch = (u64::from(entry.epoch.term) << 32) ^ entry.epoch.sequencer.0;
    let mut x = before ^ entry.index.rotate_left(17) ^ epoch ^ body.rotate_left(29);
    // splitmix64's finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
