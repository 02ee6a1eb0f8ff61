//! The session figures at the end of a run (the report's session section), from what
//! [`super::SessionRun`] recorded: how submits ended, latency beside the same run's plain
//! broadcasts, catch-ups, agreement of histories and game states.

use std::collections::BTreeMap;

use blemesh_core::session::{Epoch, SubmitId};
use blemesh_core::NodeId;
use serde::Serialize;

use super::record::{AtSubmit, Catchup, JoinKind};
use super::{GAME, SessionRun};
use crate::engine::{Engine, us};
use crate::histogram::Histogram;
use crate::stats::PriorityStats;

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
    /// Submit to each member's first application, ms: p50, p99, over the final history's
    /// events and the members joined to the submitter by usable links at the submit and
    /// playing then.
    pub member_latency_ms: (f64, f64),
    /// Submit to the last of those members' first application ("applied by all"), ms.
    pub applied_by_all_ms: (f64, f64),
    /// The same run's plain High-priority broadcasts, per reachable receiver, ms: p50, p99.
    pub plain_high_ms: Option<(f64, f64)>,
    /// The same broadcasts that reached every reachable receiver: to the last, ms; and how
    /// many missed at least one.
    pub plain_high_to_all_ms: (Option<(f64, f64)>, u64),
    /// Events placed under the epoch their submitter followed at the submit (no coordinator
    /// change in between): count, submit to each member and to applied by all, ms.
    pub steady: (u64, (f64, f64), (f64, f64)),
    /// Events placed after a coordinator change (the submitter's coordinator was lost or
    /// replaced before it placed them): count, and submit to applied by all, ms.
    pub after_change: (u64, Option<(f64, f64)>),
    /// (Event, member) pairs of the final history where the member was cut off from the
    /// submitter at the submit (it applied the event after a heal, or from a merge).
    pub applied_after_cut: u64,
    /// (Event, member) pairs of the final history where the member was not playing at the
    /// submit (joining again, or its game catching up from a snapshot): it applied the event
    /// once it had caught up.
    pub applied_after_catchup: u64,
    /// Events of the final history that a merge sequenced again, and the latency of their
    /// final placement at its last member (cut included), ms.
    pub resequenced: (u64, Option<(f64, f64)>),
    /// Events some member delivered that the final history does not hold at all: undone by
    /// a rebase and not sequenced again (a member that starts over voids its own), or
    /// placed on a side whose members all restarted.
    pub voided: u64,
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
    /// The summary at the end of a run, `high` the run's plain High-priority figures.
    pub fn summary(&self, end: u64, member: &[bool], high: &PriorityStats) -> SessionSummary {
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
        // Latencies of the final history's events, over the members that hold them and were
        // joined to the submitter at the submit; what happened to the others is counted.
        let (mut each, mut all, mut again) = (Histogram::default(), Histogram::default(), Histogram::default());
        let mut placements: BTreeMap<(NodeId, SubmitId), u32> = BTreeMap::new();
        for key in self.events.values() {
            *placements.entry(*key).or_default() += 1;
        }
        let (mut applied_after_cut, mut applied_after_catchup) = (0, 0);
        let (mut each_steady, mut all_steady, mut changed) = (Histogram::default(), Histogram::default(), Histogram::default());
        for (&(index, epoch), key) in &self.events {
            if by_index.get(&index) != Some(&epoch) {
                continue; // undone by a rebase, or never in the members' history
            }
            let (Some(&at), Some(context)) = (self.submitted_at.get(key), self.submitted_from.get(key)) else { continue };
            let steady = context.followed == Some(epoch);
            let (mut last, mut last_final) = (None, None);
            for &i in &members {
                let Some(&(.., t, _)) = self.history[i].iter().find(|(k, e, ..)| *k == index && *e == epoch) else { continue };
                last_final = last_final.max(Some(t));
                if !AtSubmit::has(&context.reachable, i) {
                    applied_after_cut += 1;
                    continue;
                }
                if AtSubmit::has(&context.not_playing, i) {
                    applied_after_catchup += 1;
                    continue;
                }
                let first = self.first_applied.get(&(key.0, key.1, i as u32)).copied().unwrap_or(t);
                each.record(first.saturating_sub(at));
                if steady {
                    each_steady.record(first.saturating_sub(at));
                }
                last = last.max(Some(first));
            }
            if let Some(last) = last {
                all.record(last.saturating_sub(at));
                if steady {
                    all_steady.record(last.saturating_sub(at));
                } else {
                    changed.record(last.saturating_sub(at));
                }
            }
            if placements.get(key).is_some_and(|&n| n > 1) {
                again.record(last_final.unwrap_or(at).saturating_sub(at));
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
            plain_high_ms: (high.broadcast_latency.count() > 0).then(|| ms(&high.broadcast_latency)),
            plain_high_to_all_ms: ((high.broadcast_to_all.count() > 0).then(|| ms(&high.broadcast_to_all)), high.broadcast_not_all),
            applied_after_cut,
            applied_after_catchup,
            steady: (all_steady.count(), ms(&each_steady), ms(&all_steady)),
            after_change: (changed.count(), (changed.count() > 0).then(|| ms(&changed))),
            resequenced: (again.count(), (again.count() > 0).then(|| ms(&again))),
            voided: {
                let kept: std::collections::BTreeSet<&(NodeId, SubmitId)> =
                    self.events.iter().filter(|((k, e), _)| by_index.get(k) == Some(e)).map(|(_, key)| key).collect();
                placements.keys().filter(|key| !kept.contains(key)).count() as u64
            },
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
        let high = &self.stats.priority[blemesh_core::Priority::High as usize];
        Some(run.summary(self.end, &member, high))
    }
}

impl SessionSummary {
    /// Sequenced latency over the plain broadcasts' in the same run: each member against
    /// each receiver, and applied by all against the last receiver, at p50 and p99.
    pub fn ratios(&self, each: (f64, f64), all: (f64, f64)) -> String {
        let r = |a: (f64, f64), b: Option<(f64, f64)>| {
            b.filter(|b| b.0 > 0.0 && b.1 > 0.0).map_or_else(|| "-".to_string(), |b| format!("p50 {:.2}x, p99 {:.2}x", a.0 / b.0, a.1 / b.1))
        };
        format!("each {}; all {}", r(each, self.plain_high_ms), r(all, self.plain_high_to_all_ms.0))
    }

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
            ("submit to each member", format!("{} (first applied, members reachable at the submit)", ms(self.member_latency_ms))),
            ("plain High broadcasts", format!("{} (each reachable receiver)", self.plain_high_ms.map_or_else(|| "-".to_string(), ms))),
            ("submit to applied by all", format!("{} (the last of those members)", ms(self.applied_by_all_ms))),
            ("plain High to all", format!("{} (the last reachable receiver; {} missed one)", self.plain_high_to_all_ms.0.map_or_else(|| "-".to_string(), ms), self.plain_high_to_all_ms.1)),
            ("sequenced / plain", self.ratios(self.member_latency_ms, self.applied_by_all_ms)),
            ("  no coordinator change", format!("{} events: each {}, all {}", self.steady.0, ms(self.steady.1), ms(self.steady.2))),
            ("  sequenced / plain", self.ratios(self.steady.1, self.steady.2)),
            ("  after a change", format!("{} events: all {}", self.after_change.0, self.after_change.1.map_or_else(|| "-".to_string(), ms))),
            ("not counted above", format!("(event, member) pairs: {} cut off from the submitter at the submit, {} joining or catching up then", self.applied_after_cut, self.applied_after_catchup)),
            ("sequenced again at a merge", format!("{} events, final placement {}", self.resequenced.0, self.resequenced.1.map_or_else(|| "-".to_string(), ms))),
            ("undone, not sequenced again", format!("{} events", self.voided)),
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
