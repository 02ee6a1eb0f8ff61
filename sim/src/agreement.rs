//! Coordinator agreement and merged views, evaluated over the engine's devices for the
//! [`crate::timeline`] measurements: whole-mesh agreement, agreement inside every component
//! of the confirmed-link graph, and views that hold the whole mesh again.

use blemesh_core::NodeId;

use crate::engine::Engine;
use crate::timeline::NO_COMPONENT as NONE;

impl Engine {
    /// Whether device `i` is a live mesh device.
    fn live_mesh(&self, i: usize) -> bool {
        self.devices[i].alive() && self.stats.timeline.is_mesh(i)
    }

    /// Per device, a representative of its component of the graph of confirmed links between
    /// live mesh devices (a link counts when either end has confirmed it); [`NONE`] for
    /// devices that are off or outsiders.
    pub(crate) fn mesh_roots(&self) -> Vec<u32> {
        self.mesh_roots_where(|_| true)
    }

    /// As [`Engine::mesh_roots`] over the devices `keep` accepts only: the others are
    /// [`NONE`] and carry no link.
    pub(crate) fn mesh_roots_where(&self, keep: impl Fn(usize) -> bool) -> Vec<u32> {
        let live = |i: usize| self.live_mesh(i) && keep(i);
        let n = self.devices.len();
        let mut p: Vec<u32> = (0..n as u32).collect();
        fn find(p: &mut [u32], mut x: u32) -> u32 {
            while p[x as usize] != x {
                p[x as usize] = p[p[x as usize] as usize];
                x = p[x as usize];
            }
            x
        }
        for (i, d) in self.devices.iter().enumerate() {
            let Some(node) = &d.node else { continue };
            if !live(i) {
                continue;
            }
            for l in node.neighbours().filter(|l| l.is_confirmed()) {
                let Some(j) = self.index_of(l.peer) else { continue };
                if live(j as usize) {
                    let (a, b) = (find(&mut p, i as u32), find(&mut p, j));
                    p[a as usize] = b;
                }
            }
        }
        (0..n).map(|i| if live(i) { find(&mut p, i as u32) } else { NONE }).collect()
    }

    /// The `(term, coordinator)` every live mesh device follows, if they all follow the same
    /// live one. Stops at the first device that disagrees.
    pub(crate) fn agreed_coordinator(&self) -> Option<(u32, NodeId)> {
        let mut agreed = None;
        for (i, d) in self.devices.iter().enumerate() {
            if !self.live_mesh(i) {
                continue;
            }
            let c = d.node.as_ref()?.coordinator()?;
            match agreed {
                None => agreed = Some(c),
                Some(a) if a != c => return None,
                Some(_) => {}
            }
        }
        let (_, c) = agreed?;
        self.index_of(c).filter(|&j| self.live_mesh(j as usize))?;
        agreed
    }

    /// Whether the confirmed-link graph has split (`roots` from [`Engine::mesh_roots`]) and
    /// every component follows one coordinator of its own, a member of that component.
    pub(crate) fn sides_agreed(&self, roots: &[u32]) -> bool {
        let live: Vec<usize> = (0..roots.len()).filter(|&i| roots[i] != NONE).collect();
        let Some(&first) = live.first() else { return false };
        if live.iter().all(|&i| roots[i] == roots[first]) {
            return false;
        }
        // Per component root: the coordinator its first member follows.
        let mut chosen: Vec<Option<(u32, NodeId)>> = vec![None; roots.len()];
        for &i in &live {
            let Some(c) = self.devices[i].node.as_ref().and_then(|n| n.coordinator()) else { return false };
            let r = roots[i] as usize;
            match chosen[r] {
                None => {
                    let member = self.index_of(c.1).is_some_and(|j| roots[j as usize] == roots[i]);
                    if !member {
                        return false;
                    }
                    chosen[r] = Some(c);
                }
                Some(x) if x != c => return false,
                Some(_) => {}
            }
        }
        true
    }

    /// Whether the confirmed-link graph is one component and every live mesh device's own
    /// view holds every other live mesh device.
    pub(crate) fn views_merged(&self, roots: &[u32]) -> bool {
        let live: Vec<usize> = (0..roots.len()).filter(|&i| roots[i] != NONE).collect();
        let Some(&first) = live.first() else { return false };
        if live.iter().any(|&i| roots[i] != roots[first]) {
            return false;
        }
        live.iter().all(|&i| {
            let Some(node) = &self.devices[i].node else { return false };
            let view = node.component();
            live.iter().all(|&j| view.binary_search(&self.devices[j].id).is_ok())
        })
    }

    /// Brings the timeline's measurements up to date after a step at `at` µs that changed
    /// something they wait for (see [`crate::timeline`]).
    pub fn check_timeline(&mut self, at: u64) {
        let tl = &mut self.stats.timeline;
        if !tl.take_dirty() {
            return;
        }
        let heal_open = tl.heals.last().is_some_and(|h| h.one_coordinator_at.is_none() && !h.interrupted);
        let cut_open = tl.cuts.iter().any(|c| !c.set_up() || (c.healed_at.is_none() && c.sides_elected_at.is_none()));
        let roots = (heal_open || cut_open).then(|| self.mesh_roots());
        let agreed = self.agreed_coordinator();
        let merged = heal_open && self.stats.timeline.heals.last().is_some_and(|h| h.merged_at.is_none());
        let merged = merged && roots.as_deref().is_some_and(|r| self.views_merged(r));
        let sides = roots.as_deref().is_some_and(|r| self.sides_agreed(r));
        let agreed_at = agreed.map(|(t, c)| (at, t, self.index_of(c).unwrap_or(u32::MAX)));
        let n = self.devices.len();
        let Engine { stats, active_cuts, .. } = self;
        let tl = &mut stats.timeline;
        if tl.first_agreed.is_none() {
            tl.first_agreed = agreed_at;
        }
        if let (Some(h), true) = (tl.heals.last_mut(), heal_open) {
            if merged {
                h.merged_at = Some(at);
            }
            if h.merged_at.is_some() && agreed.is_some() {
                h.one_coordinator_at = Some(at);
            }
        }
        for c in tl.cuts.iter_mut() {
            if !c.set_up() {
                let roots = roots.as_deref().expect("computed while a cut is not set up");
                let group = active_cuts.get(c.index).and_then(Option::as_ref);
                c.set_up_with(n, roots, group.map(Vec::as_slice));
            } else if c.healed_at.is_none() && c.sides_elected_at.is_none() && sides {
                c.sides_elected_at = Some(at);
            }
        }
    }
}
