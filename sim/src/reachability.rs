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
//! When a reachable receiver is missed, later labellings tell whether the path broke after
//! the send (a labelling taken within the delivery horizon no longer joins them), and a
//! second labelling that leaves out the blackhole nodes misbehaving at the send tells
//! whether every usable path ran through one of them, and a third with only the links both
//! ends' cores had confirmed tells whether every usable path used an unconfirmed one
//! ([`crate::loss`]).
//!
//! [`RadioLink::weak_since`]: crate::engine::RadioLink::weak_since

use std::collections::VecDeque;

use crate::engine::{Device, RadioLink};

/// One labelling of the usable-link graph: `label[i]` names device `i`'s component.
#[derive(Clone, Debug)]
struct Snapshot {
    label: Vec<u32>,
    /// The same graph without the blackholes active when it was taken (`None` with none).
    honest: Option<Vec<u32>>,
    /// The same graph with only the links both ends' cores had confirmed.
    confirmed: Vec<u32>,
    /// Those blackholes, by device index.
    blackholes: Vec<u32>,
    /// When it was taken, µs.
    taken: u64,
    /// The last send (µs) that used it.
    last_used: u64,
}

impl Snapshot {
    fn joined(&self, a: u32, b: u32) -> bool {
        self.label.get(a as usize).is_some_and(|x| self.label.get(b as usize) == Some(x))
    }

    /// Whether `a` and `b` are joined here but apart in the narrower labelling `narrower`.
    fn split_in(&self, narrower: &[u32], a: u32, b: u32) -> bool {
        self.joined(a, b) && narrower.get(a as usize) != narrower.get(b as usize)
    }
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

    /// The id of a labelling that holds at `at` (taken now if the graph or the set of
    /// active `blackholes` changed since the last one).
    pub(crate) fn snapshot(&mut self, at: u64, devices: &[Device], links: &[RadioLink], blackholes: &[u32]) -> u32 {
        let same_blackholes = self.snapshots.back().is_some_and(|s| s.blackholes == blackholes);
        if self.taken_at != Some(self.version) || !same_blackholes {
            let usable = |l: &RadioLink| l.up && l.weak_since.is_none();
            let honest = (!blackholes.is_empty())
                .then(|| label(devices, links, |l| usable(l) && !blackholes.contains(&l.a) && !blackholes.contains(&l.b)));
            let confirmed = label(devices, links, |l| usable(l) && l.confirmed == [true, true]);
            let label = label(devices, links, usable);
            let blackholes = blackholes.to_vec();
            self.snapshots.push_back(Snapshot { label, honest, confirmed, blackholes, taken: at, last_used: at });
            self.taken_at = Some(self.version);
        }
        let last = self.snapshots.back_mut().expect("pushed above");
        last.last_used = at;
        self.base + self.snapshots.len() as u32 - 1
    }

    fn get(&self, id: u32) -> Option<&Snapshot> {
        id.checked_sub(self.base).and_then(|k| self.snapshots.get(k as usize))
    }

    /// Whether devices `a` and `b` were joined by usable links in labelling `id`.
    pub(crate) fn joined(&self, id: u32, a: u32, b: u32) -> bool {
        self.get(id).is_some_and(|s| s.joined(a, b))
    }

    /// Devices joined to `a` in labelling `id`, `a` excluded, among those `count` accepts.
    pub(crate) fn count_joined(&self, id: u32, a: u32, count: impl Fn(usize) -> bool) -> u32 {
        self.members(id, a).filter(|&j| count(j as usize)).count() as u32
    }

    /// Devices joined to `a` in labelling `id`, `a` excluded.
    pub(crate) fn members(&self, id: u32, a: u32) -> impl Iterator<Item = u32> + '_ {
        let s = self.get(id);
        let root = s.and_then(|s| s.label.get(a as usize).copied());
        s.into_iter()
            .flat_map(|s| s.label.iter().enumerate())
            .filter(move |&(j, &l)| j != a as usize && Some(l) == root)
            .map(|(j, _)| j as u32)
    }

    /// Whether a labelling taken after `id`, up to `until` µs, no longer joins `a` and `b`:
    /// the path that joined them at the send broke (as seen at later sends and probes).
    pub(crate) fn broke_after(&self, id: u32, a: u32, b: u32, until: u64) -> bool {
        let Some(k) = id.checked_sub(self.base) else { return false };
        self.snapshots.iter().skip(k as usize + 1).take_while(|s| s.taken <= until).any(|s| !s.joined(a, b))
    }

    /// Whether, in labelling `id`, every usable path from `a` to `b` ran through a
    /// blackhole that was misbehaving (false when none was).
    pub(crate) fn only_through_blackholes(&self, id: u32, a: u32, b: u32) -> bool {
        self.get(id).is_some_and(|s| s.honest.as_ref().is_some_and(|h| s.split_in(h, a, b)))
    }

    /// Drops labellings last used before `before` µs (their messages are written off),
    /// keeping the newest.
    pub(crate) fn forget_older(&mut self, before: u64) {
        while self.snapshots.len() > 1 && self.snapshots.front().is_some_and(|s| s.last_used < before) {
            self.snapshots.pop_front();
            self.base += 1;
        }
    }

    /// Whether, in labelling `id`, every usable path from `a` to `b` used a link that one of
    /// its ends' cores had not confirmed.
    pub(crate) fn only_through_unconfirmed(&self, id: u32, a: u32, b: u32) -> bool {
        self.get(id).is_some_and(|s| s.split_in(&s.confirmed, a, b))
    }

    /// Labellings held.
    pub fn held(&self) -> usize {
        self.snapshots.len()
    }
}

/// Components of the graph of the links `keep` accepts (union-find), labelled by their root.
fn label(devices: &[Device], links: &[RadioLink], keep: impl Fn(&RadioLink) -> bool) -> Vec<u32> {
    let mut parent: Vec<u32> = (0..devices.len() as u32).collect();
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    for l in links.iter().filter(|l| keep(l)) {
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
        let a = r.snapshot(10, &devices, &links, &[]);
        assert_eq!(r.snapshot(20, &devices, &links, &[]), a, "nothing changed: the same labelling");
        r.changed();
        let b = r.snapshot(30, &devices, &links, &[]);
        assert_eq!(b, a + 1);
        r.forget_older(25);
        assert_eq!(r.held(), 1, "the first was last used at 20");
        assert!(!r.joined(a, 0, 0), "a forgotten labelling joins nothing");
        r.forget_older(1000);
        assert_eq!(r.held(), 1, "the newest is kept");
    }
}
