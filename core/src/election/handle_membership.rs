//! Input: this node's component changed (topology update).
//!
//! Per partition, the component *is* the voter set; in quorum mode the voters stay the
//! configured membership and the component only tells who is reachable.
//!
//! * **The component grew** (a heal, or a node joined, possibly bringing the coordinator it
//!   elected on its own): nobody in the merged component can know yet which coordinators the
//!   newcomers follow, so keeping a coordinator could put two of one term in one partition
//!   while their claims travel. A coordinator steps down (`Merged`), a follower forgets its
//!   coordinator, and the merged component elects afresh (one election, a few hundred ms).
//! * Coordinator: if fewer voters than the threshold are reachable, it steps down at once
//!   (`LostQuorum`); otherwise, if the voters changed, it restarts its check-quorum window (new
//!   members get a full window to acknowledge) and heartbeats at once.
//! * Follower whose coordinator left the component: `CoordinatorLost`, and a fresh election
//!   timeout (no lease any more).
//! * (Pre-)candidate: grants from non-voters stop counting; a smaller voter set may complete
//!   the campaign.

use rand_core::RngCore;

use super::{BallotSigner, BallotVerifier, Election, ElectionMode, Role, StepDownReason};
use crate::{Instant, NodeId};

impl<S: BallotSigner, V: BallotVerifier> Election<S, V> {
    /// This node's component is now `component` (any order; this node is added if missing),
    /// as of `topology_version`.
    pub fn on_membership(&mut self, now: Instant, component: &[NodeId], topology_version: u32, rng: &mut impl RngCore) {
        let now = self.advance(now);
        let mut reachable = component.to_vec();
        reachable.push(self.me);
        reachable.retain(|n| n.is_unicast());
        reachable.sort_unstable();
        reachable.dedup();
        let grew = reachable.iter().any(|n| self.reachable.binary_search(n).is_err());
        self.reachable = reachable;
        self.topology_version = topology_version;
        let voters = match self.cfg.mode {
            ElectionMode::PerPartition => self.reachable.clone(),
            ElectionMode::Quorum => self.cfg.membership.clone(),
        };
        let changed = voters != self.voters;
        self.voters = voters;
        let voters = core::mem::take(&mut self.voters);
        self.grants.retain(|n| voters.binary_search(n).is_ok());
        self.heard.retain(|n| voters.binary_search(n).is_ok());
        self.voters = voters;
        if grew && self.cfg.mode == ElectionMode::PerPartition {
            match self.role {
                Role::Coordinator => return self.step_down(StepDownReason::Merged, now, rng),
                Role::Follower if self.coordinator.is_some() => {
                    self.lose_coordinator();
                    self.reset_election_deadline(now, rng);
                    return;
                }
                _ => {}
            }
        }
        match self.role {
            Role::Coordinator => {
                let reachable_voters = self.reachable.iter().filter(|n| self.is_voter(**n)).count();
                if reachable_voters < self.threshold() {
                    self.step_down(StepDownReason::LostQuorum, now, rng);
                } else if changed {
                    self.heard.clear();
                    self.quorum_deadline = now + self.cfg.check_quorum_interval;
                    self.broadcast_heartbeat(now);
                }
            }
            Role::Follower => {
                if let Some(c) = self.coordinator {
                    if self.reachable.binary_search(&c.node).is_err() {
                        self.lose_coordinator();
                        self.reset_election_deadline(now, rng);
                    }
                }
            }
            Role::PreCandidate | Role::Candidate => self.check_campaign(now, rng),
        }
    }
}
