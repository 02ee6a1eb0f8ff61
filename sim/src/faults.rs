//! Scripted and random faults: cuts and heals between groups, churn (leave and rejoin), and
//! the start of Byzantine behaviour.
//!
//! * **Cut**: at `at_s` every link between the group and the rest stops carrying packets
//!   (every attempt fails), and no new link forms across; the supervision timeout then
//!   breaks those links, so both ends see `handle_link_down` (and, earlier, their own
//!   missed-heartbeat detection). At `heal_s` the cut is lifted and discovery reconnects.
//! * **Churn**: departures arrive as a Poisson process over the whole mesh; a random live
//!   node powers off (its node state is gone; its peers notice by supervision timeout) and
//!   comes back `downtime_s` later as a fresh node with a new incarnation seed.
//! * **Restart**: the same for one scripted node at a scripted time (`crate::restarts`, which
//!   also measures how soon it is routable again).


use crate::byzantine::ByzantineState;
use crate::engine::{Engine, us};
use crate::queue::SimEvent;
use crate::scenario::Behaviour;

/// One entry of the fault plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Cut number `n` of the scenario starts.
    Cut(usize),
    /// Cut number `n` heals.
    Heal(usize),
    /// A random live node powers off.
    Leave,
    /// Device `d` powers on again.
    Join(u32),
    /// Scripted restart number `k` powers its node off.
    Restart(usize),
    /// Scripted restart number `k` powers its node on again.
    RestartOn(usize),
}

impl Engine {
    /// Turns the scenario's cuts, churn and Byzantine entries into scheduled events.
    pub(crate) fn plan_faults(&mut self) {
        let cuts = self.scenario.cut.clone();
        for (n, cut) in cuts.iter().enumerate() {
            self.push_fault(us(cut.at_s), FaultAction::Cut(n));
            if let Some(heal) = cut.heal_s {
                self.push_fault(us(heal), FaultAction::Heal(n));
            }
        }
        if let Some(churn) = self.scenario.churn.clone() {
            if churn.events_per_min > 0.0 {
                let mut t = churn.start_s;
                loop {
                    t += self.rng.churn.exponential(60.0 / churn.events_per_min);
                    if t >= self.scenario.duration_s {
                        break;
                    }
                    self.push_fault(us(t), FaultAction::Leave);
                }
            }
        }
        for (k, r) in self.scenario.restart.clone().iter().enumerate() {
            self.push_fault(us(r.at_s), FaultAction::Restart(k));
        }
        let entries = self.scenario.byzantine.clone();
        for (k, b) in entries.iter().enumerate() {
            self.byzantine.push(ByzantineState::new(b));
            self.byzantine_of[(b.node - 1) as usize] = Some(k as u32);
            if b.behaviour != Behaviour::Blackhole {
                self.queue.push(us(b.from_s), SimEvent::Byzantine { index: k as u32 });
            }
        }
    }

    pub(crate) fn push_fault(&mut self, at: u64, action: FaultAction) {
        let index = self.faults.len() as u32;
        self.faults.push(action);
        self.queue.push(at, SimEvent::Fault { index });
    }

    pub(crate) fn apply_fault(&mut self, index: usize, at: u64) {
        match self.faults[index] {
            FaultAction::Cut(n) => self.cut(n, at),
            FaultAction::Heal(n) => self.heal(n, at),
            FaultAction::Leave => self.leave(at),
            FaultAction::Join(d) => self.join(d, at),
            FaultAction::Restart(k) => self.restart_off(k, at),
            FaultAction::RestartOn(k) => self.restart_on(k, at),
        }
    }

    fn cut(&mut self, n: usize, at: u64) {
        let cut = &self.scenario.cut[n];
        let group: Vec<bool> = self
            .devices
            .iter()
            .map(|d| match cut.split_x_m {
                Some(x) => d.pos.x < x,
                None => cut.group.contains(&d.id.0),
            })
            .collect();
        self.active_cuts[n] = Some(group);
        self.stats.on_cut(at, n);
        self.reevaluate_blocking(at);
    }

    fn heal(&mut self, n: usize, at: u64) {
        self.active_cuts[n] = None;
        self.stats.on_heal(at, n);
        self.reevaluate_blocking(at);
        for i in 0..self.devices.len() as u32 {
            self.start_discovery(i);
        }
    }

    fn reevaluate_blocking(&mut self, at: u64) {
        for l in 0..self.links.len() as u32 {
            let link = &self.links[l as usize];
            if !link.up {
                continue;
            }
            let blocked = self.separated(link.a, link.b) || link.attached.contains(&false);
            self.links[l as usize].blocked = blocked;
            self.check_signal(l, at);
        }
    }

    fn leave(&mut self, at: u64) {
        let alive: Vec<u32> = (0..self.devices.len() as u32).filter(|&i| self.devices[i as usize].alive()).collect();
        if alive.len() <= 1 {
            return;
        }
        let d = alive[self.rng.churn.below(alive.len() as u64) as usize];
        self.power_off(d, at);
        let downtime = us(self.scenario.churn.as_ref().map_or(15.0, |c| c.downtime_s));
        self.push_fault(at + downtime, FaultAction::Join(d));
    }

    /// Device `d` powers off: its node state is gone, and every packet on its links fails
    /// until supervision breaks them.
    pub(crate) fn power_off(&mut self, d: u32, at: u64) {
        self.stats.on_leave(at, d, &self.reach);
        if let Some(run) = self.session.as_mut() {
            run.on_power_off(d, self.devices[d as usize].id);
        }
        if let Some(n) = &self.devices[d as usize].node {
            self.stats.absorb_node(n);
        }
        let dev = &mut self.devices[d as usize];
        dev.node = None;
        dev.timer_at = u64::MAX;
        dev.discovering = false;
        let links = dev.links.clone();
        for l in links {
            let link = &mut self.links[l as usize];
            let side = link.side_of(d);
            link.attached[side] = false;
            // The powered-off end stops answering: every packet fails until supervision.
            link.blocked = true;
            self.check_signal(l, at);
        }
    }

    /// Device `d` powers on as a fresh node of its next incarnation.
    pub(crate) fn join(&mut self, d: u32, at: u64) {
        let incarnation = self.devices[d as usize].incarnation + 1;
        let high_water = self.devices[d as usize].high_water;
        let node = self.make_node(d as usize, incarnation, at, high_water).expect("validated at start");
        let dev = &mut self.devices[d as usize];
        dev.incarnation = incarnation;
        dev.node = Some(node);
        dev.timer_at = u64::MAX;
        self.stats.on_join(at, d);
        self.drain(d, at);
        self.start_discovery(d);
        // A player's game app starts with the node, and joins the session again.
        if self.session.as_ref().is_some_and(|run| run.player[d as usize]) {
            self.queue.push(at, SimEvent::SessionJoin { node: d, restart: true });
        }
    }
}
