//! The election and partition timeline of a run: coordinator tenures, the core's partition
//! events, and the instants the report measures from them.
//!
//! * **Mesh formed**: the first instant at which the links confirmed so far (`NeighbourUp`,
//!   kept in a union-find; losses are ignored) connect every mesh device.
//! * **Agreed coordinator**: every live mesh device follows the same coordinator (same term
//!   and node, [`Node::coordinator`](blemesh_core::Node::coordinator)), which is itself live.
//! * **Cuts**: the devices a scripted cut affects are the live mesh devices whose component
//!   (confirmed links at the cut) spans both sides. Detection is each one's first
//!   `Event::Partitioned` after the cut and before its heal; a device that powers off first is
//!   left out. Also measured: the first instant every side follows one coordinator of its own.
//! * **Heals**: after a heal, *merged* is the first instant the confirmed-link graph is one
//!   component and every live mesh device's own view ([`Node::component`]) holds every other;
//!   the heal *succeeds* when, merged, they all follow one coordinator within
//!   [`Scenario::heal_deadline_s`](crate::scenario::Scenario::heal_deadline_s).
//!
//! Events only mark the timeline dirty; the engine calls [`Engine::check_timeline`](crate::engine::Engine::check_timeline) after a
//! step that did, and it scans the devices only while a measurement is open (the agreement
//! scan stops at the first device that disagrees). Outsiders (forge nodes of a secured mesh)
//! are not mesh devices. Memory is bounded: at most [`MAX_TENURES`] tenures are kept (further
//! ones are counted), and partition events are counted in [`MARK_COLUMNS`] time columns over
//! the run.
//!
//! [`Node::component`]: blemesh_core::Node::component

use std::collections::HashMap;

use blemesh_core::{Event, NodeId};

use crate::engine::Device;

/// Most coordinator tenures kept for the picture.
pub const MAX_TENURES: usize = 4096;
/// Root of devices outside every component (see `Engine::mesh_roots`).
pub(crate) const NO_COMPONENT: u32 = u32::MAX;
/// Time columns over the run in which partition events are counted for the picture.
pub const MARK_COLUMNS: usize = 512;

/// One device's time as coordinator.
#[derive(Clone, Debug, PartialEq)]
pub struct Tenure {
    /// Device index.
    pub device: u32,
    /// The term it won.
    pub term: u32,
    /// When it won, µs.
    pub start: u64,
    /// When it stepped down or powered off, µs (`None`: still coordinator at the end).
    pub end: Option<u64>,
}

/// Kind of a partition mark, in counter order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    /// `Event::Partitioned`.
    Partitioned,
    /// `Event::Healed`.
    Healed,
    /// `Event::Joined`.
    Joined,
}

/// Partition events of every device in one time column.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MarkColumn {
    /// Events per [`MarkKind`].
    pub counts: [u32; 3],
    /// The first event of each kind in the column, µs.
    pub first: [u64; 3],
}

/// A scripted cut and how the nodes noticed it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CutRecord {
    /// Index of the cut in the scenario.
    pub index: usize,
    /// When it started, µs.
    pub at: u64,
    /// When it healed, µs.
    pub healed_at: Option<u64>,
    /// Per device: affected and not (yet) gone.
    pub affected: Vec<bool>,
    /// Devices affected at the cut.
    pub affected_count: u32,
    /// Affected devices that powered off before detecting it.
    pub left: u32,
    /// Per device: delay of its first `Partitioned` after the cut, µs.
    pub detected: Vec<Option<u64>>,
    /// First instant every side followed one coordinator of its own, µs.
    pub sides_elected_at: Option<u64>,
    set_up: bool,
}

/// A heal and how the mesh came together again.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HealRecord {
    /// When the cut was lifted, µs.
    pub at: u64,
    /// First instant the graph and every view were whole again, µs.
    pub merged_at: Option<u64>,
    /// First instant, merged, with every device following one coordinator, µs.
    pub one_coordinator_at: Option<u64>,
    /// Closed by a later cut before it completed.
    pub interrupted: bool,
}

/// Everything the timeline keeps.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    end: u64,
    index: HashMap<NodeId, u32>,
    mesh: Vec<bool>,
    uf: Vec<u32>,
    sets: usize,
    open_tenure: Vec<Option<usize>>,
    dirty: bool,
    /// Coordinator tenures, in start order.
    pub tenures: Vec<Tenure>,
    /// Tenures not kept (over [`MAX_TENURES`]).
    pub tenures_dropped: u64,
    /// Partition events per time column (column `k` covers `[k, k + 1) × end / MARK_COLUMNS`).
    pub marks: Vec<MarkColumn>,
    /// Core events: `Partitioned`, `Healed`, `Joined`.
    pub partition_events: [u64; 3],
    /// Core events: `CoordinatorElected` (all nodes), `CoordinatorLost`, `SteppedDown`.
    pub coordinator_events: [u64; 3],
    /// `Event::DoubleVote`s reported.
    pub double_votes: u64,
    /// When the mesh first formed, µs.
    pub formed_at: Option<u64>,
    /// First agreed coordinator: when, term, device.
    pub first_agreed: Option<(u64, u32, u32)>,
    /// Scripted cuts, in order.
    pub cuts: Vec<CutRecord>,
    /// Heals, in order.
    pub heals: Vec<HealRecord>,
}

impl CutRecord {
    /// Whether the affected devices have been determined.
    pub fn set_up(&self) -> bool {
        self.set_up
    }

    /// Determines the affected devices: live mesh devices (`roots[i]` not
    /// [`NO_COMPONENT`]) whose component has members on both sides of `group` (`None`: the
    /// cut is no longer active, nothing is affected).
    pub(crate) fn set_up_with(&mut self, n: usize, roots: &[u32], group: Option<&[bool]>) {
        self.set_up = true;
        self.detected = vec![None; n];
        self.affected = vec![false; n];
        let Some(group) = group else { return };
        let (mut inside, mut outside) = (vec![false; n], vec![false; n]);
        for i in (0..n).filter(|&i| roots[i] != NO_COMPONENT) {
            let r = roots[i] as usize;
            if group[i] { inside[r] = true } else { outside[r] = true }
        }
        for i in (0..n).filter(|&i| roots[i] != NO_COMPONENT) {
            let r = roots[i] as usize;
            self.affected[i] = inside[r] && outside[r];
        }
        self.affected_count = self.affected.iter().filter(|a| **a).count() as u32;
    }

    /// Affected devices that detected the cut.
    pub fn detected_count(&self) -> u32 {
        self.detected.iter().flatten().count() as u32
    }
}

fn find(p: &mut [u32], mut x: u32) -> u32 {
    while p[x as usize] != x {
        p[x as usize] = p[p[x as usize] as usize];
        x = p[x as usize];
    }
    x
}

impl Timeline {
    /// An empty timeline for a run ending at `end` µs.
    pub fn new(end: u64) -> Self {
        Timeline { end: end.max(1), marks: vec![MarkColumn::default(); MARK_COLUMNS], ..Timeline::default() }
    }

    /// Starts the timeline for `devices`; `outsider[i]` leaves device `i` out of the mesh.
    pub(crate) fn start(&mut self, devices: &[Device], outsider: &[bool]) {
        let n = devices.len();
        self.index = devices.iter().enumerate().map(|(i, d)| (d.id, i as u32)).collect();
        self.mesh = (0..n).map(|i| !outsider.get(i).copied().unwrap_or(false)).collect();
        self.uf = (0..n as u32).collect();
        self.sets = self.mesh.iter().filter(|m| **m).count();
        self.open_tenure = vec![None; n];
        self.dirty = true;
    }

    /// Whether device `i` is part of the mesh (not an outsider).
    pub fn is_mesh(&self, i: usize) -> bool {
        self.mesh.get(i).copied().unwrap_or(false)
    }

    fn mark(&mut self, at: u64, kind: MarkKind) {
        let k = kind as usize;
        self.partition_events[k] += 1;
        let column = (u128::from(at) * MARK_COLUMNS as u128 / u128::from(self.end)) as usize;
        if let Some(c) = self.marks.get_mut(column.min(MARK_COLUMNS - 1)) {
            if c.counts[k] == 0 {
                c.first[k] = at;
            }
            c.counts[k] += 1;
        }
    }

    fn close_tenure(&mut self, i: u32, at: u64) {
        if let Some(t) = self.open_tenure.get_mut(i as usize).and_then(Option::take) {
            self.tenures[t].end = Some(at);
        }
    }

    fn measuring(&self) -> bool {
        self.first_agreed.is_none()
            || self.heals.last().is_some_and(|h| h.one_coordinator_at.is_none() && !h.interrupted)
            || self.cuts.iter().any(|c| !c.set_up || (c.healed_at.is_none() && c.sides_elected_at.is_none()))
    }

    /// Takes core event `e` of device `i` at `now` µs.
    pub(crate) fn on_event(&mut self, now: u64, i: u32, e: &Event) {
        match e {
            Event::NeighbourUp { node, .. } => {
                let Some(&j) = self.index.get(node) else { return };
                if self.is_mesh(i as usize) && self.is_mesh(j as usize) {
                    let (a, b) = (find(&mut self.uf, i), find(&mut self.uf, j));
                    if a != b {
                        self.uf[a as usize] = b;
                        self.sets -= 1;
                        if self.sets == 1 {
                            self.formed_at.get_or_insert(now);
                        }
                    }
                }
                self.dirty |= self.measuring();
            }
            Event::NeighbourLost { .. } => self.dirty |= self.measuring(),
            Event::CoordinatorElected { term, node } => {
                self.coordinator_events[0] += 1;
                let me = self.index.get(node) == Some(&i);
                if me && self.open_tenure[i as usize].is_none() {
                    self.close_tenure(i, now);
                    if self.tenures.len() < MAX_TENURES {
                        self.open_tenure[i as usize] = Some(self.tenures.len());
                        self.tenures.push(Tenure { device: i, term: *term, start: now, end: None });
                    } else {
                        self.tenures_dropped += 1;
                    }
                }
                self.dirty = true;
            }
            Event::CoordinatorLost { .. } => {
                self.coordinator_events[1] += 1;
                self.dirty = true;
            }
            Event::SteppedDown { .. } => {
                self.coordinator_events[2] += 1;
                self.close_tenure(i, now);
                self.dirty = true;
            }
            Event::DoubleVote { .. } => self.double_votes += 1,
            Event::Partitioned { .. } => {
                self.mark(now, MarkKind::Partitioned);
                for c in self.cuts.iter_mut().filter(|c| c.healed_at.is_none()) {
                    if c.affected.get(i as usize).copied().unwrap_or(false) && c.detected[i as usize].is_none() {
                        c.detected[i as usize] = Some(now - c.at);
                    }
                }
                self.dirty = true;
            }
            Event::Healed { .. } => {
                self.mark(now, MarkKind::Healed);
                self.dirty = true;
            }
            Event::Joined { .. } => {
                self.mark(now, MarkKind::Joined);
                self.dirty = true;
            }
            _ => {}
        }
    }

    /// Scripted cut number `index` starts at `at` µs.
    pub(crate) fn on_cut(&mut self, at: u64, index: usize) {
        if let Some(h) = self.heals.last_mut() {
            h.interrupted |= h.one_coordinator_at.is_none();
        }
        self.cuts.push(CutRecord { index, at, ..CutRecord::default() });
        self.dirty = true;
    }

    /// Scripted cut number `index` heals at `at` µs.
    pub(crate) fn on_heal(&mut self, at: u64, index: usize) {
        for c in self.cuts.iter_mut().filter(|c| c.index == index && c.healed_at.is_none()) {
            c.healed_at = Some(at);
        }
        self.heals.push(HealRecord { at, ..HealRecord::default() });
        self.dirty = true;
    }

    /// Device `i` powers off (`on = false`) or on at `at` µs.
    pub(crate) fn on_power(&mut self, at: u64, i: u32, on: bool) {
        if !on {
            self.close_tenure(i, at);
            for c in self.cuts.iter_mut().filter(|c| c.healed_at.is_none()) {
                if c.affected.get(i as usize).copied().unwrap_or(false) && c.detected[i as usize].is_none() {
                    c.affected[i as usize] = false;
                    c.left += 1;
                }
            }
        }
        self.dirty = true;
    }

    /// Whether a step changed something an open measurement waits for.
    pub fn dirty(&self) -> bool {
        self.dirty
    }

    /// Clears the dirty flag; returns whether a measurement is open and waits for the check.
    pub(crate) fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty) && self.measuring()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_events_land_in_their_time_column() {
        let mut t = Timeline::new(1_000_000);
        let e = Event::Partitioned { members: 3, unreachable: 2 };
        t.on_event(0, 0, &e);
        t.on_event(1_000, 1, &e);
        t.on_event(999_999, 0, &Event::Healed { members: 5, rejoined: 2 });
        t.on_event(1_000_000, 0, &Event::Joined { members: 6, joined: 1 });
        assert_eq!(t.partition_events, [2, 1, 1]);
        assert_eq!(t.marks[0].counts, [2, 0, 0]);
        assert_eq!(t.marks[0].first[0], 0);
        assert_eq!(t.marks[MARK_COLUMNS - 1].counts, [0, 1, 1]);
        assert_eq!(t.marks.iter().map(|c| c.counts.iter().sum::<u32>()).sum::<u32>(), 4);
    }
}
