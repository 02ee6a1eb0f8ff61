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
///
/// **What an unsecured mesh promises under a forger** (`docs/SECURITY.md`): nothing for the
/// origins it impersonates. Without tags a node cannot tell a forged `(origin, seq)` from
/// the origin's own, and a forged sequence number moves the receivers' windows for that
/// origin (ahead, or half the sequence space away, which reads as the origin restarting),
/// after which a late copy of an earlier message can be taken as new. So in an unsecured
/// mesh, origins some forger wrote frames for ([`Engine::impersonated`]) are not checked;
/// every other origin is, and a secured mesh (where forged frames fail the tag) is checked
/// for every origin.
#[derive(Debug, Default)]
pub struct FloodOnce {
    seen: HashSet<(u32, u32, u64, u32)>,
}

impl Invariant for FloodOnce {
    fn name(&self) -> &'static str {
        "flood delivered at most once per node"
    }

    fn check(&mut self, engine: &Engine) -> Result<(), String> {
        let secured = engine.scenario.security.enabled;
        for &(receiver, origin, seq) in &engine.step_log.deliveries {
            let impersonated = engine.id_index.get(&origin).is_some_and(|i| engine.impersonated[*i as usize]);
            if impersonated && !secured {
                continue;
            }
            let incarnation = engine.devices[receiver as usize].incarnation;
            if !self.seen.insert((receiver, incarnation, origin.0, seq)) {
                return Err(format!("node {} got ({origin}, {seq}) twice", receiver + 1));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin;

    /// A second delivery of one `(origin, seq)` at one node, after `impersonated` is set.
    fn second_delivery(secured: bool, impersonated: bool) -> Result<(), String> {
        let mut s = builtin::by_name("tiny").unwrap();
        s.security.enabled = secured;
        let mut e = Engine::new(s).unwrap();
        let origin = e.devices[2].id;
        let mut check = FloodOnce::default();
        e.step_log.deliveries = vec![(0, origin, 7)];
        check.check(&e)?;
        e.impersonated[2] = impersonated;
        check.check(&e)
    }

    #[test]
    fn a_second_delivery_is_a_violation_unless_a_forger_spoke_for_the_origin_of_an_open_mesh() {
        assert!(second_delivery(false, false).unwrap_err().contains("twice"));
        assert_eq!(second_delivery(false, true), Ok(()), "an open mesh promises nothing for an impersonated origin");
        assert!(second_delivery(true, true).unwrap_err().contains("twice"), "a secured mesh is held to the strict rule");
    }
}
