//! Prediction in the node: Holt forecasts of its own links' load and RSSI rank the primary
//! and backup routes, and [`Node::route_info`] reports the outlook with a confidence.
//!
//! Feeding: every RSSI of a confirmed link ([`Node::handle_link_report`]) and, at every
//! heartbeat received, the link's ARQ occupancy (unacknowledged frames ÷ window) as its load.
//! A link that goes down is forgotten.
//!
//! Ranking: a route is priced by [`LinkPredictor::outlook`] over its first link at
//! `now + handoff_horizon`: `(cost + 1) × (1 + peak load) / survival`. The node leaves the
//! primary for the backup when the primary's first link has a predicted failure risk above
//! zero (its RSSI forecast is within `margin` of the floor), the backup is **downstream** (its
//! next hop is strictly closer to the destination than this node, so switches cannot form a
//! loop) and the backup then scores better. A primary without risk is always kept: load alone
//! never moves traffic, so the routes of the policies (and their loop freedom) are unchanged
//! while links are healthy.

use crate::routing::{LinkPredictor, Route, RouteOutlook};
use crate::{Instant, LinkId, NodeId, Priority};

use super::Node;

/// One candidate route and its predicted outlook.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Candidate {
    /// The route (next hop, cost under the policy, hops).
    pub route: Route,
    /// Score, survival, peak load and confidence of its first link (`index` is 0).
    pub outlook: RouteOutlook,
}

/// The node's view of its route to one destination at one priority.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct RouteInfo {
    /// Where a frame would go now (as [`Node::next_hop`]).
    pub next_hop: Option<NodeId>,
    /// Whether that is the backup, because prediction or link state ruled the primary out.
    pub via_backup: bool,
    /// The primary route and its outlook.
    pub primary: Option<Candidate>,
    /// The backup route and its outlook.
    pub backup: Option<Candidate>,
    /// Confidence of the forecasts behind the choice, `0..=1`: that of the chosen route's
    /// first link (0 before it has samples of both load and RSSI).
    pub confidence: f64,
}

impl Node {
    /// The primary and backup routes towards `dest` at `priority`, their predicted outlook
    /// and which one is in use. `None` when no route is known.
    pub fn route_info(&self, dest: NodeId, priority: Priority) -> Option<RouteInfo> {
        let entry = self.router.route(dest, priority)?;
        let at = self.now + self.config.handoff_horizon;
        let candidate = |r: Route| Candidate { route: r, outlook: self.first_link_outlook(&r, at) };
        let primary = entry.primary.map(candidate);
        let backup = entry.backup.map(candidate);
        let next_hop = self.next_hop(dest, priority);
        let via_backup = next_hop.is_some()
            && backup.is_some_and(|b| Some(b.route.next_hop) == next_hop)
            && primary.is_none_or(|p| Some(p.route.next_hop) != next_hop);
        let chosen = if via_backup { backup } else { primary };
        let confidence = chosen.map_or(0.0, |c| c.outlook.confidence);
        Some(RouteInfo { next_hop, via_backup, primary, backup, confidence })
    }

    /// The link forecasts of this node.
    pub fn predictor(&self) -> &LinkPredictor {
        &self.predictor
    }

    /// Whether the forecasts rank `backup` above `primary` (only when the primary's first
    /// link is at risk; whether the backup is downstream, as every switch needs, is
    /// `Node::route_link`'s check). No allocation.
    pub(super) fn prefers_backup(&self, primary: &Route, backup: &Route) -> bool {
        let at = self.now + self.config.handoff_horizon;
        let me = self.config.node_id;
        if self.predictor.failure_risk(me, primary.next_hop, at) <= 0.0 {
            return false;
        }
        self.first_link_outlook(backup, at).score < self.first_link_outlook(primary, at).score
    }

    /// Whether the backup's next hop is strictly closer to the destination than this node,
    /// in `(cost, hops)` under the priority's policy: the rest of the backup path (its cost
    /// minus the first link's) bounds the next hop's distance from above, the primary is this
    /// node's distance. Along such hops, and along primaries, the distance strictly falls, so
    /// nodes that switch this way cannot form a loop (given the same topology view).
    pub(super) fn is_downstream(&self, primary: &Route, backup: &Route, priority: Priority) -> bool {
        let graph = self.router.graph();
        let Some(e) = graph.edge_between(self.config.node_id, backup.next_hop) else { return false };
        let first = self.router.policies()[priority as usize].link_cost(&graph.metrics(e));
        let rest = (backup.cost.saturating_sub(first), backup.hops.saturating_sub(1));
        rest < (primary.cost, primary.hops)
    }

    fn first_link_outlook(&self, r: &Route, at: Instant) -> RouteOutlook {
        self.predictor.outlook(r.cost, &[self.config.node_id, r.next_hop], at)
    }

    /// Records an RSSI sample of `link` if it is confirmed.
    pub(super) fn observe_rssi(&mut self, link: LinkId, now: Instant, dbm: i8) {
        if let Some(peer) = self.links.get(link).filter(|l| l.is_confirmed()).map(|l| l.peer) {
            self.predictor.observe_rssi(self.config.node_id, peer, now, f64::from(dbm));
        }
    }

    /// Records the ARQ occupancy of `link` as its load.
    pub(super) fn observe_load(&mut self, link: LinkId, now: Instant) {
        let window = self.config.link_arq_window.max(1) as f64;
        if let Some(l) = self.links.get(link).filter(|l| l.is_confirmed()) {
            let load = if self.config.link_arq { l.arq.unacked.len() as f64 / window } else { 0.0 };
            let peer = l.peer;
            self.predictor.observe_load(self.config.node_id, peer, now, load);
        }
    }

    /// Forgets the forecasts of the link to `peer` (it went down).
    pub(super) fn forget_link_forecast(&mut self, peer: NodeId) {
        self.predictor.forget(self.config.node_id, peer);
    }
}
