//! The report's coordination sections: election (formation to first agreed coordinator,
//! counters), partitions (detection of each scripted cut, healing success) and trust, built
//! from [`crate::timeline`] and the core's counters.
//!
//! Nodes are named by device number (index + 1), as in the rest of the report, also in a
//! secured mesh where node ids are derived from public keys.

use std::collections::BTreeMap;

use blemesh_core::election::RejectReason;
use blemesh_core::security::TrustConfig;
use blemesh_core::NodeId;
use serde::Serialize;

use crate::engine::{Engine, SEC};
use crate::timeline::CutRecord;

/// A snake_case name for an election rejection.
pub fn reject_name(r: RejectReason) -> &'static str {
    match r {
        RejectReason::FromSelf => "from_self",
        RejectReason::ModeMismatch => "mode_mismatch",
        RejectReason::UnknownSigner => "unknown_signer",
        RejectReason::BadSignature => "bad_signature",
        RejectReason::SenderMismatch => "sender_mismatch",
        RejectReason::WrongTerm => "wrong_term",
        RejectReason::NotMember => "not_member",
        RejectReason::InvalidCandidate => "invalid_candidate",
        RejectReason::ViewMismatch => "view_mismatch",
    }
}

/// Coordinator election.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ElectionReport {
    /// When the links confirmed so far first connected every mesh device, s.
    pub mesh_formed_s: Option<f64>,
    /// From the start to every live device following one coordinator, s.
    pub first_coordinator_s: Option<f64>,
    /// Same, from the mesh forming, s.
    pub election_after_formed_s: Option<f64>,
    /// The first agreed coordinator: `(node, term)`.
    pub first_coordinator: Option<(u64, u32)>,
    /// At the end: `(node, term, followers)` of every coordinator live devices follow.
    pub coordinators_end: Vec<(u64, u32, u32)>,
    /// Times a node became coordinator (tenures started).
    pub coordinator_changes: u64,
    /// Core events summed: `CoordinatorElected` (every node's), `CoordinatorLost`, `SteppedDown`.
    pub events: (u64, u64, u64),
    /// Core counters: pre-votes started, elections started, won, votes granted, denied.
    pub rounds: (u64, u64, u64, u64, u64),
    /// `Event::DoubleVote`s (a voter signed two ballots in one term).
    pub double_votes: u64,
    /// Election messages rejected by reason (nonzero only).
    pub rejected: BTreeMap<&'static str, u64>,
}

/// One scripted cut.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CutReport {
    /// When it started, s.
    pub at_s: f64,
    /// When it healed, s.
    pub healed_s: Option<f64>,
    /// Devices whose component the cut split.
    pub affected: u32,
    /// How many of them reported `Event::Partitioned` before the heal.
    pub detected: u32,
    /// Affected devices that powered off before detecting it.
    pub left: u32,
    /// From the cut to the last affected device's `Partitioned`, s (`None` unless all did).
    pub detection_s: Option<f64>,
    /// Mean detection delay over the devices that detected it, s.
    pub mean_detection_s: Option<f64>,
    /// From the cut to every side following one coordinator of its own, s.
    pub sides_elected_s: Option<f64>,
}

/// One heal.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HealReport {
    /// When the cut was lifted, s.
    pub at_s: f64,
    /// From the heal to one component in the link graph and in every device's view, s.
    pub merged_s: Option<f64>,
    /// From the heal to merged with one agreed coordinator, s.
    pub one_coordinator_s: Option<f64>,
    /// Whether that happened within the deadline.
    pub success: bool,
}

/// Partition detection and healing.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PartitionReport {
    /// Core events summed: `Partitioned`, `Healed`, `Joined`.
    pub events: (u64, u64, u64),
    /// Every scripted cut.
    pub cuts: Vec<CutReport>,
    /// Heal deadline, s.
    pub heal_deadline_s: f64,
    /// Heals that succeeded within the deadline.
    pub heals_succeeded: u64,
    /// `succeeded / heals`; `None` without a heal.
    pub heal_success_ratio: Option<f64>,
    /// Every heal.
    pub heals: Vec<HealReport>,
    /// Runs with Byzantine nodes only: `Partitioned` events while the reporting node's
    /// confirmed links still reached nodes its view had lost, and of those, events that lost
    /// only nodes whose origin a forge node had claimed or nodes behind them
    /// ([`crate::partition_causes`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_radio_split: Option<(u64, u64)>,
}

/// Trust at the end of a secured run (every live mesh device's view of every other device,
/// against the core's default [`TrustConfig`]).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TrustReport {
    /// `(observer, subject)` pairs scored below neutral.
    pub lowered: u64,
    /// Pairs scored below the trust threshold (routing avoids the subject).
    pub distrusted: u64,
    /// `(subject, observers)` for every device some observer scores below neutral.
    pub subjects: Vec<(u64, u32)>,
}

fn secs(us: u64) -> f64 {
    us as f64 / SEC as f64
}

impl Engine {
    /// The device number (index + 1) of node `id`, or its raw id when unknown.
    pub fn device_number(&self, id: NodeId) -> u64 {
        self.index_of(id).map_or(id.0, |i| u64::from(i) + 1)
    }
}

/// The election section of `e`'s report.
pub fn election(e: &Engine) -> ElectionReport {
    let tl = &e.stats.timeline;
    let t = &e.stats.election;
    let first = tl.first_agreed;
    let mut end: BTreeMap<(u64, u32), u32> = BTreeMap::new();
    for (i, d) in e.devices.iter().enumerate() {
        if let (Some(n), true) = (&d.node, tl.is_mesh(i)) {
            if let Some((term, c)) = n.coordinator() {
                *end.entry((e.device_number(c), term)).or_default() += 1;
            }
        }
    }
    ElectionReport {
        mesh_formed_s: tl.formed_at.map(secs),
        first_coordinator_s: first.map(|f| secs(f.0)),
        election_after_formed_s: first.zip(tl.formed_at).map(|(f, m)| secs(f.0.saturating_sub(m))),
        first_coordinator: first.map(|(_, term, i)| (u64::from(i) + 1, term)),
        coordinators_end: end.into_iter().map(|((n, t), f)| (n, t, f)).collect(),
        coordinator_changes: tl.tenures.len() as u64 + tl.tenures_dropped,
        events: (tl.coordinator_events[0], tl.coordinator_events[1], tl.coordinator_events[2]),
        rounds: (t.pre_votes_started, t.elections_started, t.elections_won, t.votes_granted, t.votes_denied),
        double_votes: tl.double_votes,
        rejected: RejectReason::ALL
            .iter()
            .map(|r| (r, t.rejected(*r)))
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| (reject_name(*r), n))
            .collect(),
    }
}

fn cut_report(c: &CutRecord) -> CutReport {
    let delays: Vec<u64> = c.detected.iter().flatten().copied().collect();
    let detected = delays.len() as u32;
    let still = c.affected.iter().filter(|a| **a).count() as u32;
    CutReport {
        at_s: secs(c.at),
        healed_s: c.healed_at.map(secs),
        affected: c.affected_count,
        detected,
        left: c.left,
        detection_s: (detected == still && detected > 0).then(|| secs(delays.iter().copied().max().unwrap_or(0))),
        mean_detection_s: (detected > 0).then(|| secs(delays.iter().sum::<u64>()) / f64::from(detected)),
        sides_elected_s: c.sides_elected_at.map(|t| secs(t - c.at)),
    }
}

/// The partition section of `e`'s report.
pub fn partitions(e: &Engine) -> PartitionReport {
    let tl = &e.stats.timeline;
    let deadline = e.scenario.heal_deadline_s;
    let heals: Vec<HealReport> = tl
        .heals
        .iter()
        .map(|h| {
            let one = h.one_coordinator_at.map(|t| secs(t - h.at));
            HealReport { at_s: secs(h.at), merged_s: h.merged_at.map(|t| secs(t - h.at)), one_coordinator_s: one, success: one.is_some_and(|s| s <= deadline) }
        })
        .collect();
    let succeeded = heals.iter().filter(|h| h.success).count() as u64;
    let [p, h, j] = tl.partition_events;
    PartitionReport {
        events: (p, h, j),
        cuts: tl.cuts.iter().map(cut_report).collect(),
        heal_deadline_s: deadline,
        heals_succeeded: succeeded,
        heal_success_ratio: (!heals.is_empty()).then(|| succeeded as f64 / heals.len() as f64),
        heals,
        not_radio_split: e.stats.partition_causes.as_ref().map(|c| (c.radio_connected, c.forged_only)),
    }
}

/// Trust at the end of a secured run.
pub fn trust(e: &Engine) -> TrustReport {
    let cfg = TrustConfig::default();
    let mut report = TrustReport { lowered: 0, distrusted: 0, subjects: Vec::new() };
    let mut observers = vec![0u32; e.devices.len()];
    for (i, d) in e.devices.iter().enumerate() {
        let Some(n) = d.node.as_ref().filter(|_| e.stats.timeline.is_mesh(i)) else { continue };
        for (j, subject) in e.devices.iter().enumerate() {
            let Some(score) = n.trust(subject.id).filter(|_| i != j) else { continue };
            if score < cfg.neutral {
                report.lowered += 1;
                observers[j] += 1;
            }
            if score < cfg.threshold {
                report.distrusted += 1;
            }
        }
    }
    report.subjects = observers.iter().enumerate().filter(|(_, o)| **o > 0).map(|(j, o)| (j as u64 + 1, *o)).collect();
    report
}
