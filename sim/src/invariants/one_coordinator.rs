//! At most one coordinator per partition and term: the election's promise, exactly as
//! `docs/PROTOCOL.md` §6.7 states it, over the nodes' own views.
//!
//! Two live nodes that follow a coordinator in the same term must follow the same one when
//!
//! * **quorum mode**: always (Raft's promise: one coordinator per term in the whole mesh,
//!   whoever sees whom);
//! * **per-partition mode, same view**: their views ([`Election::view`], the digest of the
//!   component each counts) are equal — a vote agrees to a view, so two coordinators of one
//!   term and one view would need a voter that voted twice;
//! * **per-partition mode, one partition, views still differing**: they count each other in
//!   their components ([`Node::component`]) but not yet the same component (a merge or split
//!   that has not reached both). They may then follow different coordinators of one term,
//!   for at most [`VIEW_SETTLE_US`]: the time their views take to agree, after which the
//!   previous rule holds.
//!
//! The true active-link graph is deliberately not used: a physical link can join two meshes
//! that elected in the same term before either side knows, and the election only learns of
//! the merge when adverts cross the new link (then it elects afresh).
//!
//! A node's coordinator and view change only when the node gets an input, so after the first
//! full check only pairs with at least one node the step touched are compared: `O(touched ×
//! nodes)` per step. A pair in the third case is remembered from the first step it was seen
//! in disagreement until a check finds it agreeing.
//!
//! [`Node::component`]: blemesh_core::Node::component
//! [`Election::view`]: blemesh_core::election::Election::view

use std::collections::HashMap;

use blemesh_core::election::ElectionMode;
use blemesh_core::{Node, NodeId};

use super::Invariant;
use crate::engine::Engine;

/// How long two nodes that count each other but not yet the same component may follow
/// different coordinators of one term, in µs of simulated time.
pub const VIEW_SETTLE_US: u64 = 5_000_000;

/// The checker (see the module documentation).
#[derive(Debug, Default)]
pub struct OneCoordinator {
    primed: bool,
    pairs: u64,
    /// Pairs `(lower index, higher index)` in the third case, with the time first seen.
    settling: HashMap<(u32, u32), u64>,
    longest_settling_us: u64,
}

/// Whether `a` counts `b` in its component (the component is sorted).
fn sees(a: &Node, b: NodeId) -> bool {
    a.component().binary_search(&b).is_ok()
}

impl OneCoordinator {
    /// The longest time a pair of nodes spent in the third case (one partition, views still
    /// differing, different coordinators of one term), in µs.
    pub fn longest_settling_us(&self) -> u64 {
        self.longest_settling_us
    }

    /// Checks every pair `(i, j)` for the devices `from`; `Err` names the first violation.
    fn check_pairs(&mut self, e: &Engine, from: impl Iterator<Item = u32>) -> Result<(), String> {
        for i in from {
            let Some(a) = e.devices[i as usize].node.as_ref() else { continue };
            let Some((term, ca)) = a.coordinator() else { continue };
            for (j, dj) in e.devices.iter().enumerate() {
                let j = j as u32;
                if j == i {
                    continue;
                }
                let key = (i.min(j), i.max(j));
                let Some(b) = dj.node.as_ref() else { continue };
                let Some((tb, cb)) = b.coordinator().filter(|&(tb, _)| tb == term) else {
                    self.agreed(key);
                    continue;
                };
                self.pairs += 1;
                if ca == cb {
                    self.agreed(key);
                    continue;
                }
                let who = format!("nodes {} and {} follow {ca} and {cb} in term {tb}", i + 1, j + 1);
                if a.config().election.mode == ElectionMode::Quorum {
                    return Err(format!("{who} (quorum mode)"));
                }
                if a.election().view() == b.election().view() {
                    return Err(format!("{who} with the same view"));
                }
                if !(sees(a, b.id()) && sees(b, a.id())) {
                    self.agreed(key);
                    continue;
                }
                let since = *self.settling.entry(key).or_insert(e.now);
                let lasted = e.now - since;
                self.longest_settling_us = self.longest_settling_us.max(lasted);
                if lasted > VIEW_SETTLE_US {
                    return Err(format!(
                        "{who}, seeing each other, for {:.2} s (views differ; at most {} s)",
                        lasted as f64 / 1e6,
                        VIEW_SETTLE_US as f64 / 1e6
                    ));
                }
            }
        }
        Ok(())
    }

    fn agreed(&mut self, key: (u32, u32)) {
        if !self.settling.is_empty() {
            self.settling.remove(&key);
        }
    }
}

impl Invariant for OneCoordinator {
    fn name(&self) -> &'static str {
        "at most one coordinator per partition and term"
    }

    fn check(&mut self, engine: &Engine) -> Result<(), String> {
        if !self.primed {
            self.primed = true;
            return self.check_pairs(engine, 0..engine.devices.len() as u32);
        }
        // A node touched twice in a step is checked twice: harmless, and cheaper than a set.
        self.check_pairs(engine, engine.step_log.touched.iter().copied())
    }

    /// Pairs of live nodes in the same term with a coordinator each, compared so far.
    fn evaluations(&self) -> u64 {
        self.pairs
    }
}
