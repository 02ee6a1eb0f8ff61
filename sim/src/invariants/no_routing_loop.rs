//! No routing loop after convergence: once the topology has been quiet for a settle period,
//! following [`Node::next_hop`](blemesh_core::Node::next_hop) from every live node towards
//! every node it can reach, under every priority, arrives without revisiting a node.
//!
//! "Converged" means: no neighbour event anywhere (up, degraded, recovered, lost) and no
//! device powered on or off for `settle` of virtual time, no router holding adverts it has not
//! yet folded into its table, **and** every live node's routing graph identical (nodes, links
//! and link metrics) to that of the other nodes of its component. The last condition is
//! needed because link metrics keep moving in a static mesh (adverts re-flood quantised
//! latency and reliability, and a value at a quantisation boundary flips), so routes are
//! recomputed many times a second; between an advert and its arrival everywhere the views
//! differ, and transient loops under latency-weighted policies are allowed by link-state
//! routing. Once quiet, the checker evaluates at the first step where the views agree, then
//! again every `settle` while it stays quiet.
//!
//! Reachability is the ground truth: links confirmed by both ends among live devices.
//! The walk uses each node's own forwarding decision (direct neighbour, primary route, or
//! handoff to the backup), exactly what a unicast frame would experience (minus the rule that
//! a frame is never sent back over the link it came in on, so this is stricter).
//!
//! Violations: a node revisited (a loop), or a walk stopping before the destination (no
//! route at some node although the destination is reachable: the frame would be flooded).

use blemesh_core::{NodeId, Priority};

use super::Invariant;
use crate::engine::{Engine, SEC};

/// The checker: after a settle period without topology change, following next hops from
/// every node to every reachable node never revisits a node, under every priority.
#[derive(Debug)]
pub struct NoRoutingLoop {
    settle: u64,
    last_change: u64,
    next_at: u64,
    alive: Vec<bool>,
    evaluations: u64,
    inconsistent: u64,
    walks: u64,
}

impl Default for NoRoutingLoop {
    /// Settles after 8 s: more than an advert interval (5 s) plus flooding time.
    fn default() -> Self {
        NoRoutingLoop::new(8 * SEC)
    }
}

impl NoRoutingLoop {
    /// A checker that evaluates once the topology was quiet for `settle` µs.
    pub fn new(settle: u64) -> Self {
        NoRoutingLoop { settle, last_change: 0, next_at: settle, alive: Vec::new(), evaluations: 0, inconsistent: 0, walks: 0 }
    }

    /// Walks evaluated so far (source, destination, priority).
    pub fn walks(&self) -> u64 {
        self.walks
    }

    fn changed(&mut self, e: &Engine) -> bool {
        use blemesh_core::Event::*;
        let topology_event = e.step_log.events.iter().any(|(_, ev)| {
            matches!(ev, NeighbourUp { .. } | NeighbourDegraded { .. } | NeighbourRecovered { .. } | NeighbourLost { .. })
        });
        let alive: Vec<bool> = e.devices.iter().map(|d| d.alive()).collect();
        let churn = alive != self.alive;
        self.alive = alive;
        topology_event || churn
    }

    /// Steps at which the settle period had passed but routing views still differed (or a
    /// router had not yet folded in the adverts it received).
    pub fn inconsistent(&self) -> u64 {
        self.inconsistent
    }

    /// Walks every pair, or returns `Ok(false)` without walking when views differ.
    fn evaluate(&mut self, e: &Engine) -> Result<bool, String> {
        let n = e.devices.len();
        let index = |id: NodeId| e.index_of(id).map_or(usize::MAX, |j| j as usize);
        // Ground truth: components over links confirmed by both ends.
        let mut comp: Vec<usize> = (0..n).collect();
        fn find(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        let confirmed = |a: usize, b: usize| {
            e.devices[b]
                .node
                .as_ref()
                .is_some_and(|nb| nb.neighbours().any(|l| l.is_confirmed() && index(l.peer) == a))
        };
        for (i, d) in e.devices.iter().enumerate() {
            let Some(node) = &d.node else { continue };
            for l in node.neighbours().filter(|l| l.is_confirmed()) {
                let j = index(l.peer);
                if j < n && confirmed(i, j) {
                    let (a, b) = (find(&mut comp, i), find(&mut comp, j));
                    comp[a] = b;
                }
            }
        }
        let roots: Vec<usize> = (0..n).map(|i| find(&mut comp, i)).collect();
        for (d, &root) in e.devices.iter().zip(&roots) {
            let (Some(a), Some(b)) = (&d.node, &e.devices[root].node) else { continue };
            if !same_graph(a.router().graph(), b.router().graph()) {
                return Ok(false);
            }
        }
        let mut visited = vec![false; n];
        let mut path = Vec::new();
        for s in 0..n {
            if e.devices[s].node.is_none() {
                continue;
            }
            for t in 0..n {
                if t == s || e.devices[t].node.is_none() || roots[s] != roots[t] {
                    continue;
                }
                let dest = e.devices[t].id;
                for p in Priority::ALL {
                    self.walks += 1;
                    path.clear();
                    visited.iter_mut().for_each(|v| *v = false);
                    let mut at = s;
                    while at != t {
                        visited[at] = true;
                        path.push(at + 1);
                        let Some(node) = &e.devices[at].node else {
                            return Err(format!("{} → {dest} ({}): walk reached powered-off node {}", s + 1, p.name(), at + 1));
                        };
                        let Some(h) = node.next_hop(dest, p) else {
                            return Err(format!(
                                "{} → {dest} ({}): no route at node {} although reachable; path {path:?}",
                                s + 1,
                                p.name(),
                                at + 1
                            ));
                        };
                        let h = index(h);
                        if h >= n || visited[h] {
                            path.push(h + 1);
                            return Err(format!("{} → {dest} ({}): loop {path:?}", s + 1, p.name()));
                        }
                        at = h;
                    }
                }
            }
        }
        Ok(true)
    }
}

fn same_graph(a: &blemesh_core::routing::Graph, b: &blemesh_core::routing::Graph) -> bool {
    a.nodes() == b.nodes()
        && a.edge_count() == b.edge_count()
        && (0..a.node_count() as u32).all(|u| a.edge_range(u) == b.edge_range(u))
        && (0..a.edge_count()).all(|x| a.target(x) == b.target(x) && a.metrics(x) == b.metrics(x))
}

impl Invariant for NoRoutingLoop {
    fn name(&self) -> &'static str {
        "no routing loop after convergence"
    }

    fn check(&mut self, engine: &Engine) -> Result<(), String> {
        // A router with unprocessed adverts answers from its previous table: not settled
        // at this step (it refreshes on its next timer), but no reason to restart the clock.
        let stale = engine.devices.iter().filter_map(|d| d.node.as_ref()).any(|n| n.router().is_stale());
        if self.changed(engine) {
            self.last_change = engine.now;
            self.next_at = engine.now + self.settle;
            return Ok(());
        }
        if engine.now < self.next_at {
            return Ok(());
        }
        if !stale && self.evaluate(engine)? {
            self.evaluations += 1;
            self.next_at = engine.now + self.settle;
        } else {
            self.inconsistent += 1;
        }
        Ok(())
    }

    fn evaluations(&self) -> u64 {
        self.evaluations
    }
}
