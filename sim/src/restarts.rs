//! Scripted restarts (`[[restart]]`): a node powers off at `at_s` and comes back as a fresh
//! node `down_s` later (a new incarnation: new seed; a secured node keeps its identity and
//! the sequence high water it persisted), and how soon it is routable again.
//!
//! From the restarted node's first confirmed link after power-on, the run measures:
//!
//! * **broadcast in**: the first broadcast of another node it delivers;
//! * **unicast out / in**: the first routed unicast from it to its *partner*, and from the
//!   partner to it. The partner is the live honest node farthest from it (Euclidean) at
//!   power-on, so the path is multi-hop whenever the mesh is.
//!
//! To measure without waiting on the workload, probes run every [`PROBE_EVERY_US`] from the
//! first confirmed link until all three are seen or [`PROBE_FOR_US`] passed: the partner
//! broadcasts one, and each side sends the other a unicast when its table holds a route to
//! it (so a delivered probe was routed by its sender, not flooded for want of a route).
//! Probes carry [`PROBE_PAYLOAD`]; they are not workload messages and stay out of the
//! delivery statistics.

use blemesh_core::{Destination, Event, NodeId, Priority, Qos};
use serde::Serialize;

use crate::engine::{Engine, SEC, us};
use crate::faults::FaultAction;
use crate::queue::SimEvent;

/// Interval of the probes after a restart, µs.
pub const PROBE_EVERY_US: u64 = 50_000;
/// How long probes run after the restarted node's first confirmed link, µs.
pub const PROBE_FOR_US: u64 = 30 * SEC;
/// Payload of every probe (no workload message carries it: theirs are `0xA5` bytes).
pub const PROBE_PAYLOAD: &[u8] = b"blemesh-sim restart probe";

/// The measures of one scripted restart, times in µs of virtual time.
#[derive(Clone, Debug, Default)]
pub struct RestartWatch {
    /// Device index.
    pub device: u32,
    /// Powered off at; `None` until then (or if it was already off: see `skipped`).
    pub off_at: Option<u64>,
    /// The device was already off at `at_s` (churn): the restart did not happen.
    pub skipped: bool,
    /// Powered on again at.
    pub on_at: Option<u64>,
    /// Its first confirmed link after power-on.
    pub linked_at: Option<u64>,
    /// The partner's device index.
    pub partner: Option<u32>,
    /// First broadcast of another node delivered to it.
    pub broadcast_in: Option<u64>,
    /// First routed probe from it delivered to the partner.
    pub unicast_out: Option<u64>,
    /// First routed probe from the partner delivered to it.
    pub unicast_in: Option<u64>,
    /// Probes sent while usable radio links joined it to the partner, and in all.
    pub probes_reachable: (u32, u32),
}

impl RestartWatch {
    fn done(&self) -> bool {
        self.broadcast_in.is_some() && self.unicast_out.is_some() && self.unicast_in.is_some()
    }
}

/// One restart in the report: seconds of virtual time; the three measures are counted from
/// the first confirmed link (`None`: not within the probing time).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RestartRecord {
    /// The restarted node's id.
    pub node: u64,
    /// Powered off at, s (`None`: it was already off, the restart was skipped).
    pub off_s: Option<f64>,
    /// Powered on at, s.
    pub on_s: Option<f64>,
    /// First confirmed link, s after power-on.
    pub linked_after_s: Option<f64>,
    /// The partner's node id.
    pub partner: Option<u64>,
    /// First broadcast of another node delivered, s after the first link.
    pub broadcast_in_s: Option<f64>,
    /// First routed unicast to the partner delivered, s after the first link.
    pub unicast_out_s: Option<f64>,
    /// First routed unicast from the partner delivered, s after the first link.
    pub unicast_in_s: Option<f64>,
    /// Of the probe rounds, those in which usable radio links joined the node and its
    /// partner (`crate::reachability`), and all of them: a restart that never became
    /// routable with its partner never reachable was cut off, not failed by the protocol.
    pub probes_partner_reachable: (u32, u32),
}

impl RestartRecord {
    /// The slowest of the three measures, s; `None` if one is missing.
    pub fn routable_s(&self) -> Option<f64> {
        let all = [self.broadcast_in_s?, self.unicast_out_s?, self.unicast_in_s?];
        Some(all.into_iter().fold(0.0, f64::max))
    }
}

impl Engine {
    /// Scripted restart `k` starts: its node powers off, and comes back `down_s` later.
    pub(crate) fn restart_off(&mut self, k: usize, at: u64) {
        let d = self.restarts[k].device;
        if !self.devices[d as usize].alive() {
            self.restarts[k].skipped = true;
            return;
        }
        self.restarts[k].off_at = Some(at);
        self.power_off(d, at);
        let down = us(self.scenario.restart[k].down_s);
        self.push_fault(at + down, FaultAction::RestartOn(k));
    }

    /// Scripted restart `k` ends: its node powers on fresh, and the partner is chosen.
    pub(crate) fn restart_on(&mut self, k: usize, at: u64) {
        let d = self.restarts[k].device;
        self.join(d, at);
        let here = self.devices[d as usize].pos;
        let partner = (0..self.devices.len() as u32)
            .filter(|&j| j != d && self.devices[j as usize].alive() && !self.outsider[j as usize])
            .filter(|&j| self.byzantine_of[j as usize].is_none())
            .max_by(|&a, &b| {
                let da = self.devices[a as usize].pos.distance(here);
                let db = self.devices[b as usize].pos.distance(here);
                da.total_cmp(&db).then(b.cmp(&a))
            });
        let w = &mut self.restarts[k];
        w.on_at = Some(at);
        w.partner = partner;
    }

    /// Probes of restart `k`, every [`PROBE_EVERY_US`] until done or [`PROBE_FOR_US`] passed.
    pub(crate) fn restart_probe(&mut self, k: usize, at: u64) {
        let w = self.restarts[k].clone();
        let (Some(linked), Some(p)) = (w.linked_at, w.partner) else { return };
        if w.done() || at > linked + PROBE_FOR_US {
            return;
        }
        self.queue.push(at + PROBE_EVERY_US, SimEvent::RestartProbe { index: k as u32 });
        let x = w.device;
        if !self.devices[x as usize].alive() || !self.devices[p as usize].alive() {
            return;
        }
        let blackholes = self.active_blackholes(at);
        let snapshot = self.reach.snapshot(at, &self.devices, &self.links, &blackholes);
        let counts = &mut self.restarts[k].probes_reachable;
        counts.0 += u32::from(self.reach.joined(snapshot, x, p));
        counts.1 += 1;
        let qos = Qos::new(Priority::Normal);
        let (xid, pid) = (self.devices[x as usize].id, self.devices[p as usize].id);
        if w.broadcast_in.is_none() {
            let _ = self.with_node(p, at, |n, now| n.broadcast(now, PROBE_PAYLOAD, qos));
        }
        if w.unicast_out.is_none() {
            self.probe_if_routed(x, pid, at, qos);
            self.drain(x, at);
        }
        if w.unicast_in.is_none() {
            self.probe_if_routed(p, xid, at, qos);
        }
        self.drain(p, at);
    }

    /// Device `from` sends a probe to `to` if its table holds a route there.
    fn probe_if_routed(&mut self, from: u32, to: NodeId, at: u64, qos: Qos) {
        let _ = self.with_node(from, at, |n, now| {
            if n.route_info(to, Priority::Normal).is_some() { n.send(now, to, PROBE_PAYLOAD, qos).map(Some) } else { Ok(None) }
        });
    }

    /// The restart records of the run, in scenario order.
    pub(crate) fn restart_records(&self) -> Vec<RestartRecord> {
        let s = |t: u64| t as f64 / SEC as f64;
        let after = |t: Option<u64>, from: Option<u64>| Some(s(t?.saturating_sub(from?)));
        self.restarts
            .iter()
            .map(|w| RestartRecord {
                node: self.devices[w.device as usize].id.0,
                off_s: w.off_at.map(s),
                on_s: w.on_at.map(s),
                linked_after_s: after(w.linked_at, w.on_at),
                partner: w.partner.map(|p| self.devices[p as usize].id.0),
                broadcast_in_s: after(w.broadcast_in, w.linked_at),
                unicast_out_s: after(w.unicast_out, w.linked_at),
                unicast_in_s: after(w.unicast_in, w.linked_at),
                probes_partner_reachable: w.probes_reachable,
            })
            .collect()
    }
}

/// What the engine's drain loop tells the watches.
pub(crate) trait RestartHooks {
    /// Device `i` emitted `e` at `now`; returns the index of a watch whose node just
    /// confirmed its first link (its probes start).
    fn on_event(&mut self, now: u64, i: u32, e: &Event) -> Option<usize>;
    /// Device `i` delivered a message of `origin` (a device index) to `destination`.
    /// Returns whether it was a probe (kept out of the statistics).
    fn on_delivery(&mut self, now: u64, i: u32, origin: Option<u32>, destination: Destination, payload: &[u8]) -> bool;
}

impl RestartHooks for [RestartWatch] {
    fn on_event(&mut self, now: u64, i: u32, e: &Event) -> Option<usize> {
        if !matches!(e, Event::NeighbourUp { .. }) {
            return None;
        }
        let k = self.iter().position(|w| w.device == i && w.on_at.is_some() && w.linked_at.is_none())?;
        self[k].linked_at = Some(now);
        Some(k)
    }

    fn on_delivery(&mut self, now: u64, i: u32, origin: Option<u32>, destination: Destination, payload: &[u8]) -> bool {
        let probe = payload == PROBE_PAYLOAD;
        for w in self.iter_mut().filter(|w| w.linked_at.is_some()) {
            let first = |slot: &mut Option<u64>| {
                slot.get_or_insert(now);
            };
            match destination {
                Destination::Broadcast if w.device == i && origin != Some(i) => first(&mut w.broadcast_in),
                Destination::Node(_) if probe && w.partner == Some(i) && origin == Some(w.device) => {
                    first(&mut w.unicast_out);
                }
                Destination::Node(_) if probe && w.device == i && origin == w.partner => first(&mut w.unicast_in),
                _ => {}
            }
        }
        probe
    }
}
