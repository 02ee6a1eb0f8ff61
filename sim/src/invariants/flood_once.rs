//! Every message is delivered at most once per node: tracks `(receiver incarnation, origin,
//! seq)` of every delivery.

use std::collections::HashSet;

use super::Invariant;
use crate::engine::Engine;

/// At most one delivery of each `(origin, seq)` per receiving node.
///
/// A node that rejoins after churn is a fresh state machine, so the key includes the
/// receiver's incarnation. (The set is only looked up, never iterated: hashing does not
/// affect results.)
#[derive(Debug, Default)]
pub struct FloodOnce {
    seen: HashSet<(u32, u32, u64, u32)>,
}

impl Invariant for FloodOnce {
    fn name(&self) -> &'static str {
        "flood delivered at most once per node"
    }

    fn check(&mut self, engine: &Engine) -> Result<(), String> {
        for &(receiver, origin, seq) in &engine.step_log.deliveries {
            let incarnation = engine.devices[receiver as usize].incarnation;
            if !self.seen.insert((receiver, incarnation, origin.0, seq)) {
                return Err(format!("node {} got ({origin}, {seq}) twice", receiver + 1));
            }
        }
        Ok(())
    }
}
