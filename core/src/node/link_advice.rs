//! Backbone link management: when this node holds more links than the radio sustains
//! ([`crate::Config::max_connections`], phones about 7), it advises dropping the links the
//! degree-capped spanning backbone of its topology view does not keep.
//!
//! Recomputed on every topology change. The advice is a set: a peer enters it with
//! [`LinkAdvice::Drop`] and leaves it with [`LinkAdvice::Keep`] (the backbone changed, or the
//! node is back within the cap). Links are weighed by the high-priority policy (latency and
//! reliability), the same on every node, so nodes with the same view agree: following the
//! advice everywhere keeps every component connected and leaves no advised node above the
//! cap ([`crate::routing::drops_for`]). Partition bridging is separate
//! ([`Event::ConnectAdvised`]).

use alloc::vec::Vec;

use crate::flow::LinkAdvice;
use crate::routing::{Policy, drops_for};
use crate::{Event, NodeId};

use super::Node;

impl Node {
    /// The neighbours this node currently advises to disconnect from (ascending ids).
    pub fn advised_drops(&self) -> &[NodeId] {
        &self.advised_drops
    }

    /// Recomputes the advice from the current graph; emits the changes as events.
    pub(super) fn advise_links(&mut self) {
        let k = self.config.max_connections;
        let want: Vec<NodeId> = if k == 0 {
            Vec::new()
        } else {
            drops_for(self.router.graph(), self.config.node_id, &Policy::HIGH, k)
        };
        if want == self.advised_drops {
            return;
        }
        let old = core::mem::replace(&mut self.advised_drops, want);
        for &peer in self.advised_drops.iter().filter(|p| !old.contains(p)) {
            let event = Event::LinkAdvice { peer, advice: LinkAdvice::Drop };
            self.outbox.push_event(event, &mut self.metrics);
        }
        for &peer in old.iter().filter(|p| !self.advised_drops.contains(p)) {
            let event = Event::LinkAdvice { peer, advice: LinkAdvice::Keep };
            self.outbox.push_event(event, &mut self.metrics);
        }
    }
}
