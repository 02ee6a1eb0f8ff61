//! Which receivers a message could physically reach: the truth a delivery ratio is judged
//! against.
//!
//! A receiver is **reachable** by a message when, at the instant it is sent, a path of
//! usable radio links joins it to the sender: links that are up and whose signal is usable
//! (not cut, not below sensitivity, both ends powered: [`RadioLink::weak_since`] is `None`).
//! Whether the core had confirmed them is not asked: finding and using links is the
//! protocol's job. The report counts deliveries to reachable receivers against the reachable
//! ones, and names the rest *unreachable at send*.
//!
//! The engine bumps [`Reachability::changed`] wherever a link's usability can change (a link
//! opens or breaks, its signal crosses the usable line); a send labels the components of
//! the usable-link graph only when something changed since the last label, and messages
//! sent under one labelling share it. Labellings no open message refers to any more are
//! dropped, so memory stays bounded by the delivery horizon.
//!
//! [`RadioLink::weak_since`]: crate::engine::RadioLink::weak_since

use std::collections::VecDeque;

use crate::engine::{Device, RadioLink};

/// One labelling of the usable-link graph: `label[i]` names device `i`'s component.
#[derive(Clone, Debug)]
struct Snapshot {
    label: Vec<u32>,
    /// The last send (µs) that used it.
    last_used: u64,
}

/// Component labellings of the usable-link graph, taken at sends.
#[derive(Clone, Debug, Default)]
pub struct Reachability {
    /// Bumped when a link's usability may have changed.
    version: u64,
    /// The version the newest snapshot was taken at.
    taken_at: Option<u64>,
    snapshots: VecDeque<Snapshot>,
    /// Id of `snapshots[0]`.
    base: u32,
}

impl Reachability {
    /// A link opened, broke, or its signal crossed the usable line.
    pub fn changed(&mut self) {
        self.version += 1;
    }

    /// The id of a labelling that holds at `at` (taken now if the graph changed since the
    /// last one).
    pub(crate) fn snapshot(&mut self, at: u64, devices: &[Device], links: &[RadioLink]) -> u32 {
        if self.taken_at != Some(self.version) || self.snapshots.is_empty() {
            self.snapshots.push_back(Snapshot { label: label(devices, links), last_used: at });
            self.taken_at = Some(self.version);
        }
        let last = self.snapshots.back_mut().expect("pushed above");
        last.last_used = at;
        self.base + self.snapshots.len() as u32 - 1
    }

    /// Whether devices `a` and `b` were joined by usable links in labelling `id`.
    pub(crate) fn joined(&self, id: u32, a: u32, b: u32) -> bool {
        let Some(s) = id.checked_sub(self.base).and_then(|k| self.snapshots.get(k as usize)) else { return false };
        s.label.get(a as usize).is_some_and(|x| s.label.get(b as usize) == Some(x))
    }

    /// Devices joined to `a` in labelling `id`, `a` excluded, among those `count` accepts.
    pub(crate) fn count_joined(&self, id: u32, a: u32, count: impl Fn(usize) -> bool) -> u32 {
        let Some(s) = id.checked_sub(self.base).and_then(|k| self.snapshots.get(k as usize)) else { return 0 };
        let root = s.label[a as usize];
        s.label.iter().enumerate().filter(|&(j, &l)| j != a as usize && l == root && count(j)).count() as u32
    }

    /// Drops labellings last used before `before` µs (their messages are written off),
    /// keeping the newest.
    pub(crate) fn forget_older(&mut self, before: u64) {
        while self.snapshots.len() > 1 && self.snapshots.front().is_some_and(|s| s.last_used < before) {
            self.snapshots.pop_front();
            self.base += 1;
        }
    }

    /// Labellings held.
    pub fn held(&self) -> usize {
        self.snapshots.len()
    }
}

/// Components of the usable-link graph (union-find), labelled by their root.
fn label(devices: &[Device], links: &[RadioLink]) -> Vec<u32> {
    let mut parent: Vec<u32> = (0..devices.len() as u32).collect();
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    for l in links.iter().filter(|l| l.up && l.weak_since.is_none()) {
        let (ra, rb) = (find(&mut parent, l.a), find(&mut parent, l.b));
        if ra != rb {
            parent[ra as usize] = rb;
        }
    }
    (0..devices.len() as u32).map(|i| find(&mut parent, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labellings_are_shared_until_a_change_and_forgotten_when_unused() {
        let mut r = Reachability::default();
        let (devices, links) = (Vec::new(), Vec::new());
        let a = r.snapshot(10, &devices, &links);
        assert_eq!(r.snapshot(20, &devices, &links), a, "nothing changed: the same labelling");
        r.changed();
        let b = r.snapshot(30, &devices, &links);
        assert_eq!(b, a + 1);
        r.forget_older(25);
        assert_eq!(r.held(), 1, "the first was last used at 20");
        assert!(!r.joined(a, 0, 0), "a forgotten labelling joins nothing");
        r.forget_older(1000);
        assert_eq!(r.held(), 1, "the newest is kept");
    }
}
