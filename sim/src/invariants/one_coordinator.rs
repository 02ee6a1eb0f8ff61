//! At most one coordinator per partition and term, over the nodes' own views.
//!
//! A partition is what the nodes see, as in the harness test `tests/tests/mesh_election.rs`:
//! two live nodes that count each other in their components ([`Node::component`], their
//! routing views) and are in the same term must follow the same coordinator. The true
//! active-link graph is deliberately not used: a physical link can join two meshes that
//! elected in the same term before either side knows, and the election only learns of the
//! merge when adverts cross the new link (then it elects afresh).
//!
//! A node's coordinator and view change only when the node gets an input, so after the first
//! full check only pairs with at least one node the step touched are compared: `O(touched ×
//! nodes)` per step.
//!
//! [`Node::component`]: blemesh_core::Node::component

use blemesh_core::{Node, NodeId};

use super::Invariant;
use crate::engine::Engine;

/// The checker: no two live nodes that see each other in their components follow different
/// coordinators in the same term.
#[derive(Debug, Default)]
pub struct OneCoordinator {
    primed: bool,
    pairs: u64,
}

/// Whether `a` counts `b` in its component (the component is sorted).
fn sees(a: &Node, b: NodeId) -> bool {
    a.component().binary_search(&b).is_ok()
}

/// Checks every pair `(i, j)` for the devices `from`; `Err` names the first violation.
fn check_pairs(e: &Engine, from: impl Iterator<Item = u32>, pairs: &mut u64) -> Result<(), String> {
    for i in from {
        let Some(a) = e.devices[i as usize].node.as_ref() else { continue };
        let Some((term, ca)) = a.coordinator() else { continue };
        for (j, dj) in e.devices.iter().enumerate() {
            if j == i as usize {
                continue;
            }
            let Some(b) = dj.node.as_ref() else { continue };
            let Some((tb, cb)) = b.coordinator() else { continue };
            if tb != term {
                continue;
            }
            *pairs += 1;
            if ca != cb && sees(a, b.id()) && sees(b, a.id()) {
                return Err(format!(
                    "nodes {} and {} see each other in term {term} but follow {ca} and {cb}",
                    i + 1,
                    j + 1
                ));
            }
        }
    }
    Ok(())
}

impl Invariant for OneCoordinator {
    fn name(&self) -> &'static str {
        "at most one coordinator per partition and term"
    }

    fn check(&mut self, engine: &Engine) -> Result<(), String> {
        if !self.primed {
            self.primed = true;
            return check_pairs(engine, 0..engine.devices.len() as u32, &mut self.pairs);
        }
        // A node touched twice in a step is checked twice: harmless, and cheaper than a set.
        check_pairs(engine, engine.step_log.touched.iter().copied(), &mut self.pairs)
    }

    /// Pairs of live nodes in the same term with a coordinator each, compared so far.
    fn evaluations(&self) -> u64 {
        self.pairs
    }
}
