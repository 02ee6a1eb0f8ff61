//! Players the mesh lost: the sequencer places a `Left` entry with [`LeaveReason::Lost`] for
//! a player its partition has not held for [`super::SessionConfig::lost_grace`].

use super::state::Phase;
use super::{EntryBody, LeaveReason, Session};
use crate::{Instant, NodeId};

impl Session {
    /// The node's view of its partition changed, or time passed: `held` says whether the
    /// partition holds a node (the mesh's neighbour and partition detection). Sequencer
    /// only; members ignore it. A player missing since `lost_grace` ago is placed as lost;
    /// one held again before that is forgotten.
    pub fn on_partition(&mut self, now: Instant, held: impl Fn(NodeId) -> bool) {
        let me = self.me;
        let grace = self.config.lost_grace;
        let Some(seq) = self.sequencer.as_mut().filter(|s| s.phase == Phase::Active) else { return };
        seq.missing.retain(|p, _| self.players.contains_key(p) && !held(*p));
        for &p in self.players.keys().filter(|&&p| p != me && !held(p)) {
            seq.missing.entry(p).or_insert(now);
        }
        let lost: alloc::vec::Vec<NodeId> =
            seq.missing.iter().filter(|(_, since)| **since + grace <= now).map(|(p, _)| *p).collect();
        for player in lost {
            self.sequencer.as_mut().expect("checked above").missing.remove(&player);
            self.metrics.players_lost += 1;
            self.place(now, EntryBody::Left { player, reason: LeaveReason::Lost });
        }
    }

    /// When a missing player is placed as lost, if one is missing.
    pub(super) fn next_loss(&self) -> Option<Instant> {
        let seq = self.sequencer.as_ref().filter(|s| s.phase == Phase::Active)?;
        seq.missing.values().min().map(|since| *since + self.config.lost_grace)
    }
}
