//! Application load: every node sends messages as a Poisson process with a priority mix,
//! part broadcast and part unicast to a random live node.
//!
//! Each send goes through the real API (`Node::broadcast` / `Node::send`). A message the core
//! accepts is tracked by its `(origin, seq)` with the receivers expected at that instant
//! (every other live node for a broadcast, the destination for a unicast); one it refuses
//! (no neighbour yet, queue full) is counted as rejected at the source.
//!
//! Critical unicasts (and a configurable fraction of the others) use `Qos::reliable`: the
//! core acknowledges them end to end and reports `Delivered` / `DeliveryFailed`, counted per
//! priority in `Metrics::delivery` and shown in the report's routing section.

use blemesh_core::{Priority, Qos};

use crate::engine::{Engine, us};
use crate::queue::SimEvent;
use crate::stats::Sent;

impl Engine {
    /// Schedules device `i`'s first message.
    pub(crate) fn schedule_first_send(&mut self, i: u32) {
        let load = &self.scenario.load;
        if load.rate_per_node <= 0.0 {
            return;
        }
        let first = us(load.start_s) + self.next_gap();
        self.queue.push(first, SimEvent::AppSend { node: i });
    }

    fn next_gap(&mut self) -> u64 {
        us(self.rng.workload.exponential(1.0 / self.scenario.load.rate_per_node)).max(1)
    }

    pub(crate) fn app_send(&mut self, i: u32, at: u64) {
        if at > us(self.scenario.load_end_s()) {
            return;
        }
        let gap = self.next_gap();
        self.queue.push(at + gap, SimEvent::AppSend { node: i });
        if !self.devices[i as usize].alive() || self.outsider[i as usize] {
            return; // outsiders are not players: they neither send nor are expected to receive
        }
        let load = &self.scenario.load;
        let priority = pick_priority(load.priorities.weights(), self.rng.workload.unit());
        let unicast = self.rng.workload.chance(load.unicast_fraction);
        let payload = vec![0xA5u8; load.payload_bytes];
        let alive = self.devices.iter().zip(&self.outsider).filter(|(d, o)| d.alive() && !**o).count() as u32;
        let reliable = unicast
            && ((priority == Priority::Critical && load.reliable_critical)
                || (load.reliable_fraction > 0.0 && self.rng.workload.chance(load.reliable_fraction)));
        let qos = if reliable { Qos::reliable(priority) } else { Qos::new(priority) };
        let blackholes = self.active_blackholes(at);
        let snapshot = self.reach.snapshot(at, &self.devices, &self.links, &blackholes);
        let (result, expected, reachable, to) = if unicast && alive > 1 {
            // A uniformly chosen live node other than `i`.
            let mut k = self.rng.workload.below(u64::from(alive - 1));
            let mut to = 0;
            for (j, d) in self.devices.iter().enumerate() {
                if j as u32 == i || !d.alive() || self.outsider[j] {
                    continue;
                }
                if k == 0 {
                    to = j;
                    break;
                }
                k -= 1;
            }
            let dest = self.devices[to].id;
            let reachable = u32::from(self.reach.joined(snapshot, i, to as u32));
            (self.with_node(i, at, |n, now| n.send(now, dest, &payload, qos)), 1, reachable, Some(to as u32))
        } else {
            let (devices, outsider) = (&self.devices, &self.outsider);
            let reachable = self.reach.count_joined(snapshot, i, |j| devices[j].alive() && !outsider[j]);
            (self.with_node(i, at, |n, now| n.broadcast(now, &payload, qos)), alive.saturating_sub(1), reachable, None)
        };
        let impersonated = self.impersonated[i as usize] && !self.scenario.security.enabled;
        match result {
            Some(id) => {
                let m = Sent { at, from: i, seq: id.seq, priority, expected, to, snapshot, reachable, impersonated };
                self.stats.on_sent(m, &self.reach);
            }
            None => self.stats.on_rejected(priority),
        }
        self.drain(i, at);
    }
}

/// The priority whose cumulative weight share first exceeds `u` (uniform in `[0, 1)`).
pub fn pick_priority(weights: [f64; 4], u: f64) -> Priority {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    for (w, p) in weights.iter().zip(Priority::ALL) {
        acc += w / total;
        if u < acc {
            return p;
        }
    }
    Priority::Background
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_mix_follows_the_weights() {
        let w = [1.0, 2.0, 5.0, 2.0];
        assert_eq!(pick_priority(w, 0.0), Priority::Critical);
        assert_eq!(pick_priority(w, 0.099), Priority::Critical);
        assert_eq!(pick_priority(w, 0.1), Priority::High);
        assert_eq!(pick_priority(w, 0.5), Priority::Normal);
        assert_eq!(pick_priority(w, 0.85), Priority::Background);
        assert_eq!(pick_priority([0.0, 0.0, 1.0, 0.0], 0.3), Priority::Normal);
    }
}
