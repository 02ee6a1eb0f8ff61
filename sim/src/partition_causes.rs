//! Why nodes reported `Event::Partitioned` in a run with Byzantine nodes.
//!
//! A node reports `Partitioned` when members leave its own view of the mesh (the component of
//! its routing graph, [`Node::component`]). Scripted cuts and churn explain that; Byzantine
//! nodes can too, without any cut. This module tells the two apart: right after a step in
//! which a device reported `Partitioned`, its view is compared with its component of the
//! confirmed-link graph ([`Engine::mesh_roots`](crate::engine::Engine)). If the links still
//! connect it to nodes its view misses, the event is counted as **radio-connected**, and as
//! **forged-only** when every node missed is one whose origin a `forge` node had claimed
//! before (a *victim*), or is reached from the reporting node only through victims.
//!
//! On an unsecured mesh that is what forging did: a forged frame carries a random sequence
//! number, and when it lands ahead of the victim's own it moves the victim's sequence window
//! (`flood::SeqWindow`) there; the victim's genuine frames, its topology adverts included,
//! were then dropped as `stale` everywhere, its advert aged out and every node lost it from
//! its view. Since `docs/PROTOCOL.md` §8.9 the victim's neighbours answer its stale frames
//! with a `Resume` and it jumps past the forged number, so the built-in `byzantine` scenario
//! reports no such partition; the classification stays to catch any other cause. A secured
//! mesh drops the outsider's frames at the tag, so no window moves.
//!
//! Only runs with Byzantine nodes are classified (the report's other scenarios keep their
//! output); the cost is one pass over the links per step with a `Partitioned` event.
//!
//! [`Node::component`]: blemesh_core::Node::component

use blemesh_core::NodeId;

use crate::engine::Engine;
use crate::timeline::NO_COMPONENT;

/// The classification of the `Partitioned` events of a run (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionCauses {
    /// Devices that reported `Partitioned` in the current step, not yet classified.
    pending: Vec<u32>,
    /// Per device: whether a forge node has claimed its origin.
    forged: Vec<bool>,
    /// `Partitioned` events whose node's view missed nodes its confirmed links still reached.
    pub radio_connected: u64,
    /// Of those, the events where every node missed had had its origin forged, or was reached
    /// from the reporting node only through such nodes.
    pub forged_only: u64,
}

impl PartitionCauses {
    /// Classification for a run of `devices` devices.
    pub fn new(devices: usize) -> Self {
        PartitionCauses { forged: vec![false; devices], ..PartitionCauses::default() }
    }

    /// Device `i` reported `Partitioned` in the current step.
    pub(crate) fn on_partitioned(&mut self, i: u32) {
        self.pending.push(i);
    }

    /// A forge node wrote a frame claiming device `victim` as its origin.
    pub(crate) fn on_forged(&mut self, victim: u32) {
        if let Some(f) = self.forged.get_mut(victim as usize) {
            *f = true;
        }
    }

    /// Whether events wait for [`Engine::classify_partitions`].
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }
}

impl Engine {
    /// Classifies the `Partitioned` events of the step just run (see the module docs).
    pub(crate) fn classify_partitions(&mut self) {
        let Some(causes) = self.stats.partition_causes.as_mut() else { return };
        let mut pending = std::mem::take(&mut causes.pending);
        let forged = causes.forged.clone();
        let roots = self.mesh_roots();
        let (mut connected, mut by_forgery) = (0, 0);
        for &i in &pending {
            let i = i as usize;
            let (Some(node), root) = (self.devices[i].node.as_ref(), roots[i]) else { continue };
            if root == NO_COMPONENT {
                continue;
            }
            let view: &[NodeId] = node.component();
            let missed: Vec<usize> =
                (0..roots.len()).filter(|&j| roots[j] == root && view.binary_search(&self.devices[j].id).is_err()).collect();
            if missed.is_empty() {
                continue;
            }
            connected += 1;
            // Explained by forgery: every node missed is a victim, or reached from this node
            // only through victims.
            let around = self.mesh_roots_where(|d| d == i || !forged[d]);
            if missed.iter().any(|&j| forged[j]) && missed.iter().all(|&j| forged[j] || around[j] != around[i]) {
                by_forgery += 1;
            }
        }
        pending.clear();
        let causes = self.stats.partition_causes.as_mut().expect("checked above");
        causes.pending = pending;
        causes.radio_connected += connected;
        causes.forged_only += by_forgery;
    }
}
