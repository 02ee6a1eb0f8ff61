//! Memory stays within the configured caps: `Node::occupancy().check(config)` for every node
//! touched by the step.

use super::Invariant;
use crate::engine::Engine;

/// Every bounded structure of every node within its cap.
#[derive(Debug, Default)]
pub struct MemoryCaps;

impl Invariant for MemoryCaps {
    fn name(&self) -> &'static str {
        "memory within configured caps"
    }

    fn check(&mut self, engine: &Engine) -> Result<(), String> {
        for &i in &engine.step_log.touched {
            let Some(node) = &engine.devices[i as usize].node else { continue };
            if let Err(field) = node.occupancy().check(node.config()) {
                return Err(format!("node {}: {field} over its cap ({:?})", i + 1, node.occupancy()));
            }
        }
        Ok(())
    }
}
