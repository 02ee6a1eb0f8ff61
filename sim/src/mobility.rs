//! Placement of devices and their movement (static or random waypoint).
//!
//! Random waypoint (Johnson and Maltz, 1996): each device walks in a straight line to a
//! uniformly drawn point of the area at a speed drawn from `[speed_min, speed_max]`, pauses,
//! and repeats. Positions advance every `tick_ms`; after each tick the link signals are
//! re-evaluated, changed RSSI values are reported to both ends, and links that fell below
//! sensitivity start their supervision timeout.

use blemesh_core::{LinkId, LinkReport};

use crate::engine::Engine;
use crate::geometry::Pos;
use crate::queue::SimEvent;
use crate::rng::{SimRng, stream};
use crate::scenario::{Placement, Scenario};

/// Initial positions of the scenario's devices.
pub fn place(s: &Scenario) -> Vec<Pos> {
    let mut rng = SimRng::new(s.seed, stream::PLACEMENT);
    let (w, h) = (s.area.width_m, s.area.height_m);
    let n = s.nodes;
    match s.area.placement {
        Placement::Random => (0..n).map(|_| Pos::new(rng.range(0.0, w), rng.range(0.0, h))).collect(),
        Placement::Grid => {
            let cols = (libm::ceil(libm::sqrt(n as f64 * w / h)) as usize).max(1);
            let rows = n.div_ceil(cols).max(1);
            let (cw, ch) = (w / cols as f64, h / rows as f64);
            (0..n)
                .map(|i| {
                    let (c, r) = ((i % cols) as f64, (i / cols) as f64);
                    let jx = rng.range(-0.1, 0.1) * cw;
                    let jy = rng.range(-0.1, 0.1) * ch;
                    Pos::new((c + 0.5) * cw + jx, (r + 0.5) * ch + jy)
                })
                .collect()
        }
    }
}

impl Engine {
    pub(crate) fn mobility_tick(&mut self, at: u64) {
        let m = self.scenario.mobility.clone();
        let (w, h) = (self.scenario.area.width_m, self.scenario.area.height_m);
        let dt = m.tick_ms as f64 / 1000.0;
        for dev in &mut self.devices {
            if dev.paused_until > at {
                continue;
            }
            let rng = &mut self.rng.mobility;
            let (target, speed) = *dev.waypoint.get_or_insert_with(|| {
                (Pos::new(rng.range(0.0, w), rng.range(0.0, h)), rng.range(m.speed_min_mps, m.speed_max_mps.max(m.speed_min_mps)))
            });
            dev.pos = dev.pos.towards(target, speed * dt);
            if dev.pos == target {
                dev.waypoint = None;
                dev.paused_until = at + crate::engine::us(m.pause_s);
            }
        }
        self.refresh_candidates();
        for l in 0..self.links.len() as u32 {
            if self.links[l as usize].up {
                self.update_link_signal(l, at);
            }
        }
        for i in 0..self.devices.len() as u32 {
            self.start_discovery(i);
        }
        self.queue.push(at + m.tick_ms * 1000, SimEvent::MobilityTick);
    }

    /// Recomputes link `l`'s RSSI; reports a change of a dB or more to both ends.
    fn update_link_signal(&mut self, l: u32, at: u64) {
        let (a, b) = (self.links[l as usize].a, self.links[l as usize].b);
        let rssi = self.pair_rssi(a, b);
        let link = &mut self.links[l as usize];
        link.rssi = rssi;
        let reported = rssi.clamp(-127.0, 20.0) as i8;
        if reported != link.reported_rssi {
            link.reported_rssi = reported;
            let report = LinkReport::new(link.mtu).with_rssi(reported);
            let ends = [(a, link.attached[0]), (b, link.attached[1])];
            for (d, attached) in ends {
                if attached {
                    self.with_node(d, at, |n, now| n.handle_link_report(now, LinkId(l), report));
                    self.drain(d, at);
                }
            }
        }
        self.check_signal(l, at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_placement_stays_in_the_area_and_is_seeded() {
        let s = Scenario { nodes: 25, ..Scenario::default() };
        let p = place(&s);
        assert_eq!(p.len(), 25);
        assert!(p.iter().all(|q| q.x > 0.0 && q.x < 40.0 && q.y > 0.0 && q.y < 40.0));
        assert_eq!(p, place(&s));
        let other = Scenario { seed: 2, ..s };
        assert_ne!(p, place(&other));
    }
}
