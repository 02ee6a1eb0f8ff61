//! Game sessions keep one order: checked on every session output of every step.
//!
//! * **One entry per place.** Every `(index, epoch)` any node ever delivered is the same
//!   entry everywhere: an epoch's sequencer places each index once.
//! * **Histories chain.** Each node's history (per incarnation: a restarted node starts a
//!   fresh one) grows by the next index, and each entry names as `prev` the epoch of the
//!   entry before it there. With the first rule this is log matching: two nodes holding the
//!   same `(index, epoch)` hold the same history up to it — within one history, every
//!   member's delivered sequence is a prefix of every other's.
//! * **Rebases go back to their fork only.** A `Rebased { fork }` event takes the node's
//!   history back to `fork`, and the next entry it delivers is `fork + 1` (a history the
//!   rebase emptied starts again where the node's new join places it); the other jump a
//!   history may make is to the node's own `Joined` entry after it was lost (entries while
//!   it was not a player are not its).
//! * **A snapshot is a history's start.** A game handed a snapshot as of index `s` (its
//!   catch-up) holds nothing before it: the next entry it is handed is `s + 1`. It holds
//!   the state as of `s` until a rebase goes below `s`: a rebase to `s` itself undoes the
//!   entries after the snapshot and leaves the snapshot's state.
//! * **No event twice** in one history.
//!
//! That rebased members converge on the winner's history, and that no submit ends in
//! silence, are measured at the end of the run (the report's session section: members
//! agreeing, silent submits).

use std::collections::{BTreeMap, BTreeSet};

use blemesh_core::session::{Entry, EntryBody, Epoch, SessionEvent, SubmitId};
use blemesh_core::NodeId;

use super::Invariant;
use crate::engine::{Engine, SessionOutput};

/// One node incarnation's history as the invariant follows it.
#[derive(Debug, Default)]
struct History {
    /// `(index, epoch)` of each entry, in order.
    entries: Vec<(u64, Epoch)>,
    /// Events held, by (submitter, submit id), with their index.
    events: BTreeMap<(NodeId, SubmitId), u64>,
    /// The snapshot the history starts from, until a rebase goes below it.
    snapshot: Option<u64>,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct SessionOrder {
    /// The entry at each `(index, epoch)` ever delivered.
    placed: BTreeMap<(u64, Epoch), Entry>,
    /// By (device, incarnation).
    histories: BTreeMap<(u32, u32), History>,
    checks: u64,
}

impl SessionOrder {
    fn on_entry(&mut self, node: (u32, u32), me: NodeId, entry: &Entry) -> Result<(), String> {
        let who = format!("node {} (incarnation {})", node.0 + 1, node.1);
        match self.placed.get(&(entry.index, entry.epoch)) {
            Some(held) if held != entry => {
                return Err(format!("{who} delivered {entry:?} where another node delivered {held:?}"));
            }
            Some(_) => {}
            None => {
                self.placed.insert((entry.index, entry.epoch), entry.clone());
            }
        }
        let h = self.histories.entry(node).or_default();
        if let (Some(s), true) = (h.snapshot, h.entries.is_empty()) {
            if entry.index != s + 1 {
                return Err(format!("{who} was handed entry {} after a snapshot as of {s}", entry.index));
            }
        }
        if let Some(&(last, last_epoch)) = h.entries.last() {
            let own_join = matches!(entry.body, EntryBody::Joined { player, .. } if player == me);
            if entry.index == last + 1 {
                if entry.prev != Some(last_epoch) {
                    return Err(format!("{who}: entry {} names prev {:?} after an entry of {last_epoch:?}", entry.index, entry.prev));
                }
            } else if !(own_join && entry.index > last) {
                return Err(format!("{who} delivered {} after {last}", entry.index));
            }
        }
        // (A history emptied by a rebase starts again wherever the node's join places it.)
        if let EntryBody::Event { submitter, submit, .. } = &entry.body {
            if let Some(at) = h.events.insert((*submitter, *submit), entry.index) {
                return Err(format!("{who} holds {submitter}'s {submit:?} at {at} and {}", entry.index));
            }
        }
        h.entries.push((entry.index, entry.epoch));
        Ok(())
    }

    fn on_rebase(&mut self, node: (u32, u32), fork: u64) -> Result<(), String> {
        let h = self.histories.entry(node).or_default();
        // A game that started from a snapshot holds the state up to its index.
        let last = h.entries.last().map(|(index, _)| *index).or(h.snapshot);
        if last.is_none_or(|last| last <= fork) {
            return Err(format!("node {} rebased to {fork} with nothing delivered after it", node.0 + 1));
        }
        if h.snapshot.is_some_and(|s| s > fork) {
            h.snapshot = None; // rolled back below it: it starts over
        }
        h.entries.retain(|(index, _)| *index <= fork);
        let kept: BTreeSet<u64> = h.entries.iter().map(|(i, _)| *i).collect();
        h.events.retain(|_, index| kept.contains(index));
        Ok(())
    }
}

impl Invariant for SessionOrder {
    fn name(&self) -> &'static str {
        "one order per session history"
    }

    fn check(&mut self, engine: &Engine) -> Result<(), String> {
        for (device, incarnation, output) in &engine.step_log.session {
            self.checks += 1;
            let node = (*device, *incarnation);
            match output {
                SessionOutput::Entry(entry) => self.on_entry(node, engine.devices[*device as usize].id, entry)?,
                SessionOutput::Event(SessionEvent::Rebased { fork, .. }) => self.on_rebase(node, *fork)?,
                SessionOutput::Event(_) => {}
                SessionOutput::Snapshot(index) => {
                    let h = self.histories.entry(node).or_default();
                    *h = History { snapshot: Some(*index), ..History::default() };
                }
            }
        }
        Ok(())
    }

    fn evaluations(&self) -> u64 {
        self.checks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blemesh_core::session::LeaveReason;

    const E: Epoch = Epoch { term: 1, sequencer: NodeId(1) };
    const F: Epoch = Epoch { term: 1, sequencer: NodeId(2) };

    fn left(index: u64, epoch: Epoch, prev: Option<Epoch>, player: u64) -> Entry {
        Entry { index, epoch, prev, body: EntryBody::Left { player: NodeId(player), reason: LeaveReason::Left } }
    }

    #[test]
    fn two_entries_at_one_place_a_broken_chain_and_a_jump_are_violations() {
        let mut c = SessionOrder::default();
        c.on_entry((0, 0), NodeId(1), &left(1, E, None, 5)).unwrap();
        c.on_entry((0, 0), NodeId(1), &left(2, E, Some(E), 5)).unwrap();
        assert!(c.on_entry((1, 0), NodeId(2), &left(2, E, Some(E), 6)).unwrap_err().contains("another node"));
        assert!(c.on_entry((0, 0), NodeId(1), &left(3, F, Some(F), 5)).unwrap_err().contains("names prev"));
        assert!(c.on_entry((0, 0), NodeId(1), &left(5, E, Some(E), 5)).unwrap_err().contains("after 2"));
        // A rebase to 1, then 2 of another epoch: fine; a rebase with nothing after it: not.
        c.on_rebase((0, 0), 1).unwrap();
        c.on_entry((0, 0), NodeId(1), &left(2, F, Some(E), 7)).unwrap();
        assert!(c.on_rebase((0, 0), 2).unwrap_err().contains("nothing delivered"));
    }

    #[test]
    fn a_snapshot_stays_the_start_of_its_history_until_a_rebase_goes_below_it() {
        let mut c = SessionOrder::default();
        let snapshot = |c: &mut SessionOrder, index| c.histories.insert((0, 0), History { snapshot: Some(index), ..History::default() });
        snapshot(&mut c, 5);
        assert!(c.on_entry((0, 0), NodeId(1), &left(7, E, Some(E), 5)).unwrap_err().contains("after a snapshot as of 5"));
        snapshot(&mut c, 5);
        c.on_entry((0, 0), NodeId(1), &left(6, E, Some(E), 5)).unwrap();
        // Back to the snapshot: its state is still held, so a start-over later is one.
        c.on_rebase((0, 0), 5).unwrap();
        c.on_rebase((0, 0), 0).unwrap();
        assert!(c.on_rebase((0, 0), 0).unwrap_err().contains("nothing delivered"), "nothing is held after the start-over");
    }
}
