//! The [`Election`] state machine: its state, accessors, output queue and the role
//! transitions shared by the handlers (`handle_*.rs`, one file per input).

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::time::Duration;

use rand_core::RngCore;

use super::ballots::BallotBook;
use super::{
    Action, BallotSigner, BallotVerifier, ElectionConfig, ElectionEvent, ElectionKind, ElectionMessage, ElectionMetrics,
    ElectionMode, Rank, Signature, SignedBallot, SignedMessage, StepDownReason, ViewDigest, sign_message,
};
use crate::time::duration_micros;
use crate::{ConfigError, Instant, NodeId};

/// The role of this node in the current term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Follows a coordinator, or waits for its election timeout.
    Follower,
    /// Asks for pre-votes; has not changed the term.
    PreCandidate,
    /// Incremented the term, voted for itself, asks for votes.
    Candidate,
    /// Won the term; sends heartbeats.
    Coordinator,
}

/// Coordinator election for one node: Raft-style roles and terms with pre-vote, priority
/// preference, check-quorum, signed ballots and merge after heal.
///
/// Sans-IO: feed it [`Election::on_timeout`], [`Election::on_message`] and
/// [`Election::on_membership`]; drain [`Election::poll_action`]; call `on_timeout` again at
/// [`Election::next_deadline`]. A `now` earlier than one seen before is treated as the latest.
#[derive(Debug)]
pub struct Election<S, V> {
    pub(super) cfg: ElectionConfig,
    pub(super) me: NodeId,
    signer: S,
    pub(super) verifier: V,
    pub(super) role: Role,
    pub(super) term: u32,
    pub(super) voted_for: Option<NodeId>,
    /// The known coordinator of `term` (this node itself when coordinator).
    pub(super) coordinator: Option<Rank>,
    /// The last coordinator announced with `CoordinatorElected`: never another in that term.
    pub(super) announced: Option<(u32, NodeId)>,
    /// When the coordinator was last heard from.
    pub(super) last_contact: Instant,
    /// Voters, sorted.
    pub(super) voters: Vec<NodeId>,
    /// The digest of `voters`: what this node's votes and heartbeats agree to.
    pub(super) view: ViewDigest,
    /// This node's component, sorted.
    pub(super) reachable: Vec<NodeId>,
    /// Requests for a view other than this node's, answered once the views match (see
    /// `handle_request.rs`).
    pub(super) deferred: Vec<DeferredRequest>,
    pub(super) priority_milli: u32,
    /// Pre-votes or votes granted to this node in the current campaign, sorted.
    pub(super) grants: Vec<NodeId>,
    /// As coordinator: the voters that elected it in this term (sorted), still in its view.
    /// It keeps the term across a view change only while they are enough to win it under
    /// the new view (see `handle_membership.rs`).
    pub(super) electors: Vec<NodeId>,
    /// The latest coordinator heartbeat of a current term that carried another view,
    /// followed at once if this node's view changes to it (see `handle_membership.rs`).
    pub(super) pending_heartbeat: Option<PendingHeartbeat>,
    /// A (pre-)candidate whose view changed asks again then (see `handle_membership.rs`):
    /// view changes come in bursts while a mesh forms, and one request per burst is enough.
    pub(super) reask_at: Option<Instant>,
    /// Voters heard from in the current check-quorum window, sorted.
    pub(super) heard: Vec<NodeId>,
    pub(super) election_deadline: Instant,
    pub(super) heartbeat_deadline: Instant,
    pub(super) quorum_deadline: Instant,
    pub(super) last_ack: Option<Instant>,
    pub(super) failed_campaigns: u8,
    /// This node stepped down as coordinator for a newer term it learnt of (`HigherTerm`):
    /// its followers still hold its lease, deny every other candidate until it runs out and
    /// grant only this node, so its next election timeout campaigns (soon) instead of
    /// standing aside for a better-ranked rival.
    pub(super) resume_campaign: bool,
    /// The best-ranked campaign heard recently (see `handle_request.rs`).
    pub(super) rival: Option<Rival>,
    pub(super) book: BallotBook,
    actions: VecDeque<Action>,
    pub(super) metrics: ElectionMetrics,
    now: Instant,
}

/// A campaign of another node, remembered so that lower-ranked nodes stand aside while it
/// runs: in a multi-hop mesh a flooded request takes hundreds of milliseconds to reach
/// everybody, and without this every node's timeout would start a campaign of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rival {
    pub(super) rank: Rank,
    /// The campaign counts as running until then (`election_timeout_max` after its last
    /// request).
    pub(super) until: Instant,
    /// When it was first heard. A campaign still running `priority_denials + 1` full rounds
    /// later is not deferred to any more: a top-ranked node that cannot win (one-way links,
    /// say) must not block the others for ever.
    pub(super) since: Instant,
}

/// A (pre-)vote request heard while this node's view differed from the candidate's: in a
/// forming mesh the candidate's view often runs ahead of a voter's by one advert, and
/// answering it once the views agree saves a whole election timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct DeferredRequest {
    pub(super) from: NodeId,
    pub(super) message: ElectionMessage,
    pub(super) signature: Signature,
    /// Forgotten after this (`election_timeout_max` after it was heard).
    pub(super) until: Instant,
}

/// A coordinator heartbeat heard while this node's view differed from the coordinator's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PendingHeartbeat {
    pub(super) from: NodeId,
    pub(super) message: ElectionMessage,
    /// Forgotten after this (one heartbeat interval after it was heard).
    pub(super) until: Instant,
}

/// Requests kept for a later view, at most (one per candidate, the latest).
pub(super) const MAX_DEFERRED: usize = 4;

pub(super) fn insert_sorted(v: &mut Vec<NodeId>, n: NodeId) {
    if let Err(i) = v.binary_search(&n) {
        v.insert(i, n);
    }
}

impl<S: BallotSigner, V: BallotVerifier> Election<S, V> {
    /// A follower in term 0 with priority `priority_milli`. Its voters are the configured
    /// membership (quorum mode) or itself alone until [`Election::on_membership`] (per
    /// partition). The first election timeout is drawn from `rng`.
    pub fn new(
        cfg: ElectionConfig,
        me: NodeId,
        priority_milli: u32,
        signer: S,
        verifier: V,
        now: Instant,
        rng: &mut impl RngCore,
    ) -> Result<Self, ConfigError> {
        cfg.validate()?;
        if !me.is_unicast() {
            return Err(ConfigError { field: "node_id", problem: "0 and u64::MAX are reserved" });
        }
        let mut cfg = cfg;
        cfg.membership.sort_unstable();
        cfg.membership.dedup();
        let voters = match cfg.mode {
            ElectionMode::PerPartition => alloc::vec![me],
            ElectionMode::Quorum => cfg.membership.clone(),
        };
        let book = BallotBook::new(cfg.max_ballots);
        let mut e = Election {
            cfg,
            me,
            signer,
            verifier,
            role: Role::Follower,
            term: 0,
            voted_for: None,
            coordinator: None,
            announced: None,
            last_contact: now,
            view: ViewDigest::of(&voters),
            voters,
            reachable: alloc::vec![me],
            deferred: Vec::new(),
            electors: Vec::new(),
            pending_heartbeat: None,
            reask_at: None,
            priority_milli,
            grants: Vec::new(),
            heard: Vec::new(),
            election_deadline: Instant::MAX,
            heartbeat_deadline: Instant::MAX,
            quorum_deadline: Instant::MAX,
            last_ack: None,
            failed_campaigns: 0,
            resume_campaign: false,
            rival: None,
            book,
            actions: VecDeque::new(),
            metrics: ElectionMetrics::default(),
            now,
        };
        e.reset_election_deadline(now, rng);
        Ok(e)
    }

    /// This node.
    pub fn node_id(&self) -> NodeId {
        self.me
    }
    /// The configuration (membership sorted).
    pub fn config(&self) -> &ElectionConfig {
        &self.cfg
    }
    /// The current role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// The current term.
    pub fn term(&self) -> u32 {
        self.term
    }
    /// The coordinator of the current term, if known (this node when coordinator).
    pub fn coordinator(&self) -> Option<NodeId> {
        self.coordinator.map(|r| r.node)
    }
    /// Whom this node voted for in the current term.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }
    /// The voters, sorted.
    pub fn voters(&self) -> &[NodeId] {
        &self.voters
    }
    /// The digest of the voters: the view this node's votes and heartbeats agree to.
    pub fn view(&self) -> ViewDigest {
        self.view
    }
    /// This node's priority in thousandths.
    pub fn priority_milli(&self) -> u32 {
        self.priority_milli
    }
    /// Sets this node's priority (see [`super::PriorityInputs::priority_milli`]); carried by
    /// the next messages.
    pub fn set_priority(&mut self, priority_milli: u32) {
        self.priority_milli = priority_milli;
        if self.role == Role::Coordinator {
            self.coordinator = Some(self.my_rank());
        }
    }
    /// The counters.
    pub fn metrics(&self) -> &ElectionMetrics {
        &self.metrics
    }

    /// Valid votes needed to win: a majority of the voters. In Byzantine mode, with
    /// `f = n/3`, at least `2f+1` and at least `⌈(n+f+1)/2⌉`, so that any two winning sets
    /// share `f+1` voters, one of them honest: two coordinators of one term would need an
    /// honest double vote. (`2f+1` alone is that bound only when `n = 3f+1`; with 5 voters
    /// it would let one Byzantine voter elect two coordinators of one term with 3 votes
    /// each.)
    pub fn threshold(&self) -> usize {
        let n = self.voters.len();
        let majority = n / 2 + 1;
        if self.cfg.byzantine {
            let f = n / 3;
            majority.max(2 * f + 1).max((n + f + 2) / 2)
        } else {
            majority
        }
    }

    /// When [`Election::on_timeout`] must be called next.
    pub fn next_deadline(&self) -> Instant {
        match self.role {
            Role::Coordinator if self.cfg.check_quorum => self.heartbeat_deadline.min(self.quorum_deadline),
            Role::Coordinator => self.heartbeat_deadline,
            _ => self.reask_at.map_or(self.election_deadline, |t| t.min(self.election_deadline)),
        }
    }

    /// How long announcements of a view change wait, so that a burst of changes (a forming
    /// or merging mesh) costs one flood: a quarter of the minimum election timeout.
    pub(super) fn view_change_delay(&self) -> Duration {
        self.cfg.election_timeout_min / 4
    }

    /// The next output, oldest first.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// All pending outputs, oldest first.
    pub fn drain_actions(&mut self) -> impl Iterator<Item = Action> + '_ {
        self.actions.drain(..)
    }

    // ----- shared helpers for the handlers -----

    pub(super) fn advance(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    pub(super) fn my_rank(&self) -> Rank {
        Rank::new(self.priority_milli, self.me)
    }

    pub(super) fn is_voter(&self, n: NodeId) -> bool {
        self.voters.binary_search(&n).is_ok()
    }

    pub(super) fn message(&self, kind: ElectionKind, term: u32, candidate: NodeId) -> ElectionMessage {
        ElectionMessage {
            kind,
            mode: self.cfg.mode,
            term,
            candidate,
            priority_milli: self.priority_milli,
            view: self.view,
        }
    }

    fn signed(&mut self, message: ElectionMessage) -> SignedMessage {
        let signature = sign_message(&mut self.signer, self.me, &message);
        SignedMessage { message, signature }
    }

    pub(super) fn broadcast(&mut self, message: ElectionMessage) -> SignedMessage {
        let s = self.signed(message);
        self.actions.push_back(Action::Broadcast(s));
        s
    }

    pub(super) fn send(&mut self, to: NodeId, message: ElectionMessage) {
        let s = self.signed(message);
        self.actions.push_back(Action::Send { to, message: s });
    }

    pub(super) fn emit(&mut self, event: ElectionEvent) {
        self.actions.push_back(Action::Event(event));
    }

    pub(super) fn record_own_ballot(&mut self, s: SignedMessage) {
        self.book.record(SignedBallot { voter: self.me, message: s.message, signature: s.signature });
    }

    pub(super) fn random_timeout(&self, rng: &mut impl RngCore) -> Duration {
        let min = duration_micros(self.cfg.election_timeout_min);
        let span = duration_micros(self.cfg.election_timeout_max) - min;
        Duration::from_micros(min + rng.next_u64() % (span + 1))
    }

    pub(super) fn reset_election_deadline(&mut self, now: Instant, rng: &mut impl RngCore) {
        self.election_deadline = now + self.random_timeout(rng);
    }

    /// Restarts the follower lease: a randomised deadline within
    /// `lease_timeout_min..=lease_timeout_max` of `now`.
    pub(super) fn reset_lease_deadline(&mut self, now: Instant, rng: &mut impl RngCore) {
        let min = duration_micros(self.cfg.lease_timeout_min);
        let span = duration_micros(self.cfg.lease_timeout_max) - min;
        self.election_deadline = now + Duration::from_micros(min + rng.next_u64() % (span + 1));
    }

    /// Whether a coordinator heard recently protects the term against other candidates:
    /// this node coordinates, or heard its coordinator within one and a half heartbeat
    /// intervals (at least `election_timeout_min`). Shorter than the lease, so that a
    /// coordinator that stepped down does not block the next election for a whole lease.
    pub(super) fn coordinator_protects(&self, now: Instant) -> bool {
        let window = self.cfg.election_timeout_min.max(self.cfg.heartbeat_interval * 3 / 2);
        self.role == Role::Coordinator || (self.coordinator.is_some() && now < self.last_contact + window)
    }

    /// Whether this node coordinates, or heard its coordinator within `lease_timeout_min`.
    pub(super) fn coordinator_live(&self, now: Instant) -> bool {
        self.role == Role::Coordinator || (self.coordinator.is_some() && now < self.last_contact + self.cfg.lease_timeout_min)
    }

    /// Remembers a campaign of `candidate` (a request just heard) if it is the best running.
    pub(super) fn note_campaign(&mut self, now: Instant, candidate: Rank) {
        let until = now + self.cfg.election_timeout_max;
        match &mut self.rival {
            Some(r) if r.rank.node == candidate.node && now < r.until => {
                r.rank = candidate;
                r.until = until;
            }
            Some(r) if now < r.until && r.rank > candidate => {}
            _ => self.rival = Some(Rival { rank: candidate, until, since: now }),
        }
    }

    /// Whether a running, still deferred-to campaign outranks `rank`.
    pub(super) fn rival_outranks(&self, now: Instant, rank: &Rank) -> bool {
        let round = self.cfg.election_timeout_max + self.vote_round();
        let patience = round * u32::from(self.cfg.priority_denials.saturating_add(1));
        self.cfg.priority_denials > 0
            && self.rival.is_some_and(|r| now < r.until && now < r.since + patience && r.rank > *rank)
    }

    /// The extra time a candidate gives its vote round ([`ElectionConfig::vote_round_per_member`]).
    pub(super) fn vote_round(&self) -> Duration {
        self.cfg.vote_round_per_member * u32::try_from(self.voters.len()).unwrap_or(u32::MAX)
    }

    /// Grants counted for this node's campaign: voters only, double voters excluded.
    pub(super) fn grant_count(&self) -> usize {
        self.grants.iter().filter(|n| self.is_voter(**n) && !self.book.is_convicted(**n)).count()
    }

    /// Voters heard from in the check-quorum window, this node included.
    pub(super) fn heard_count(&self) -> usize {
        let me = usize::from(self.is_voter(self.me) && self.heard.binary_search(&self.me).is_err());
        me + self.heard.iter().filter(|n| self.is_voter(**n)).count()
    }

    /// Emits `CoordinatorElected` unless another node was already announced for this term.
    /// Returns whether `node` may be the coordinator of the current term.
    pub(super) fn announce(&mut self, node: NodeId) -> bool {
        match self.announced {
            Some((t, n)) if t == self.term && n != node => false,
            _ => {
                if self.coordinator.map(|r| r.node) != Some(node) {
                    self.emit(ElectionEvent::CoordinatorElected { term: self.term, node });
                }
                self.announced = Some((self.term, node));
                true
            }
        }
    }

    /// Forgets the coordinator of the current term (emitting `CoordinatorLost`).
    pub(super) fn lose_coordinator(&mut self) {
        if let Some(c) = self.coordinator.take() {
            self.emit(ElectionEvent::CoordinatorLost { term: self.term, node: c.node });
        }
    }

    /// Stops being coordinator (if it is): `SteppedDown`, `CoordinatorLost`, fresh timeout.
    pub(super) fn step_down(&mut self, reason: StepDownReason, now: Instant, rng: &mut impl RngCore) {
        if self.role != Role::Coordinator {
            return;
        }
        self.emit(ElectionEvent::SteppedDown { term: self.term, reason });
        self.metrics.step_downs += 1;
        self.lose_coordinator();
        self.role = Role::Follower;
        self.heard.clear();
        self.electors.clear();
        self.reset_election_deadline(now, rng);
    }

    /// Moves to a newer term as a follower without a coordinator or a vote.
    pub(super) fn adopt_term(&mut self, term: u32, now: Instant, rng: &mut impl RngCore) {
        debug_assert!(term > self.term);
        let resigned = self.role == Role::Coordinator;
        if resigned {
            self.step_down(StepDownReason::HigherTerm, now, rng);
        } else {
            self.lose_coordinator();
        }
        self.term = term;
        self.voted_for = None;
        self.role = Role::Follower;
        self.grants.clear();
        self.book.reset(term);
        if resigned {
            // Only this node resumes, so no jitter is needed (nor an RNG draw).
            self.resume_campaign = true;
            let soon = now + self.cfg.election_timeout_min / 4;
            self.election_deadline = self.election_deadline.min(soon);
        }
    }

    pub(super) fn broadcast_heartbeat(&mut self, now: Instant) {
        let m = self.message(ElectionKind::Heartbeat, self.term, self.me);
        self.broadcast(m);
        self.heartbeat_deadline = now + self.cfg.heartbeat_interval;
    }

    pub(super) fn become_coordinator(&mut self, now: Instant) {
        self.role = Role::Coordinator;
        let fresh = self.announce(self.me);
        debug_assert!(fresh, "a candidate's term never had another coordinator announced");
        self.coordinator = Some(self.my_rank());
        self.failed_campaigns = 0;
        self.rival = None;
        self.electors = core::mem::take(&mut self.grants);
        self.heard.clear();
        self.metrics.elections_won += 1;
        self.quorum_deadline = now + self.cfg.check_quorum_interval;
        self.broadcast_heartbeat(now);
    }

    /// Advances a campaign that has enough grants.
    pub(super) fn check_campaign(&mut self, now: Instant, rng: &mut impl RngCore) {
        if self.grant_count() < self.threshold() {
            return;
        }
        match self.role {
            Role::PreCandidate => self.start_election(now, rng),
            Role::Candidate => self.become_coordinator(now),
            _ => {}
        }
    }
}
