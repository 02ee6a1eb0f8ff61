//! Invariant checkers, run after every step in tests (turn on [`Engine::record_steps`]).
//!
//! One checker per file: every flood delivered at most once per node ([`FloodOnce`]), memory
//! within the configured caps ([`MemoryCaps`]), no routing loop after convergence
//! ([`NoRoutingLoop`]), at most one coordinator per partition and term ([`OneCoordinator`]),
//! one order per game-session history ([`SessionOrder`]).

mod flood_once;
mod memory_caps;
mod no_routing_loop;
mod one_coordinator;
mod session_order;

pub use flood_once::FloodOnce;
pub use memory_caps::MemoryCaps;
pub use no_routing_loop::NoRoutingLoop;
pub use one_coordinator::{OneCoordinator, VIEW_SETTLE_US};
pub use session_order::SessionOrder;

use crate::engine::Engine;

/// A property checked after every step.
pub trait Invariant {
    /// Short name for messages.
    fn name(&self) -> &'static str;
    /// Checks the state after the engine's last step; `Err` describes the violation.
    fn check(&mut self, engine: &Engine) -> Result<(), String>;
    /// How many times the property was actually evaluated (checkers that only look at
    /// settled states may skip most steps).
    fn evaluations(&self) -> u64 {
        0
    }
}

/// Every checker that exists today.
pub fn all() -> Vec<Box<dyn Invariant>> {
    vec![
        Box::new(FloodOnce::default()),
        Box::new(MemoryCaps),
        Box::new(NoRoutingLoop::default()),
        Box::new(OneCoordinator::default()),
        Box::new(SessionOrder::default()),
    ]
}

/// Runs `engine` to the end, checking `checkers` after every step. Returns the steps run.
pub fn run_checked(engine: &mut Engine, checkers: &mut [Box<dyn Invariant>]) -> Result<u64, String> {
    engine.record_steps = true;
    let mut steps = 0;
    while engine.step() {
        steps += 1;
        for c in checkers.iter_mut() {
            c.check(engine).map_err(|e| format!("{} violated at {} µs: {e}", c.name(), engine.now))?;
        }
    }
    engine.finish();
    Ok(steps)
}
