//! What the session workload records during a run: each player's history and game state,
//! every submit and how it ended, and every join and how long it took to play.

use std::collections::BTreeMap;

use blemesh_core::session::{EntryBody, Epoch, FailReason, SessionEvent, SubmitId};
use blemesh_core::NodeId;

use super::SessionLoad;
use crate::rng::{SimRng, stream};

/// Why a player joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum JoinKind {
    /// At the session's start (`join_s`).
    First,
    /// Late (`late_join_s`).
    Late,
    /// Its node powered on again (a restart or a churn rejoin).
    PowerOn,
}

/// One player's join and how long it took to play.
#[derive(Clone, Debug)]
pub(super) struct Catchup {
    pub(super) device: u32,
    pub(super) kind: JoinKind,
    pub(super) asked: u64,
    /// Its first confirmed link since (a restarted node's radio must connect first).
    pub(super) linked: Option<u64>,
    pub(super) joined: Option<u64>,
}

/// What held when a player submitted: whom its event could reach, and whom it waited for.
#[derive(Clone, Debug)]
pub(super) struct AtSubmit {
    /// The devices usable links joined to the submitter, itself included (bit `i` for
    /// device `i`).
    pub(super) reachable: Vec<u64>,
    /// Those of them that were not playing (joining again, or their game still catching up
    /// from a snapshot).
    pub(super) not_playing: Vec<u64>,
    /// The epoch the submitter followed.
    pub(super) followed: Option<Epoch>,
}

impl AtSubmit {
    pub(super) fn has(set: &[u64], i: usize) -> bool {
        set.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// What the session workload recorded during a run.
#[derive(Debug)]
pub struct SessionRun {
    pub(super) rng: SimRng,
    /// Whether each device plays.
    pub player: Vec<bool>,
    /// Whether each player joins late.
    pub(super) late: Vec<bool>,
    /// Submits accepted and not yet ended, by (submitter, submit id): when.
    pub(super) open: BTreeMap<(NodeId, SubmitId), u64>,
    /// Submit time of every accepted submit, by (submitter, submit id) (the latest).
    pub(super) submitted_at: BTreeMap<(NodeId, SubmitId), u64>,
    /// What held at each accepted submit, by the same key.
    pub(super) submitted_from: BTreeMap<(NodeId, SubmitId), AtSubmit>,
    /// When each device first applied each event: (submitter, submit id, device) → µs.
    pub(super) first_applied: BTreeMap<(NodeId, SubmitId, u32), u64>,
    /// Each device's history as it stands: (index, epoch), when it was delivered, and the
    /// game's state digest after it.
    pub(super) history: Vec<Vec<(u64, Epoch, u64, u64)>>,
    /// The snapshot each device's game started from: (index, state digest).
    pub(super) base: Vec<Option<(u64, u64)>>,
    /// Snapshots provided, handed to a catching-up game, and catch-ups without one.
    pub(super) snapshots: (u64, u64, u64),
    /// Event entries ever delivered: (index, epoch) → (submitter, submit id).
    pub(super) events: BTreeMap<(u64, Epoch), (NodeId, SubmitId)>,
    pub(super) catchups: Vec<Catchup>,
    pub(super) accepted: u64,
    pub(super) refused_at_call: u64,
    pub(super) sequenced: u64,
    pub(super) failed: BTreeMap<&'static str, u64>,
    pub(super) lost_with_node: u64,
    pub(super) rebases: u64,
    pub(super) undone: u64,
    pub(super) lost_events: u64,
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
            submitted_from: BTreeMap::new(),
            first_applied: BTreeMap::new(),
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
            self.first_applied.entry((*submitter, *submit, i)).or_insert(now);
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
    pub(super) fn state(&self, i: u32) -> Option<(u64, u64)> {
        self.history[i as usize].last().map(|&(index, _, _, digest)| (index, digest)).or(self.base[i as usize])
    }

}

/// The game state after `entry`, from the state before it: a digest chained over the entries
/// applied (their place, epoch and what they say).
pub(super) fn chain(before: u64, entry: &blemesh_core::session::Entry) -> u64 {
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
