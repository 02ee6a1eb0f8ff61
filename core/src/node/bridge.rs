//! Bridge search: connecting to overheard nodes of other components so partitions heal.
//!
//! The runtime reports devices it hears advertising the mesh (with the node id carried in
//! the advertisement) but is not connected to: [`Node::handle_overheard`]. After each such
//! report and each topology change the node applies [`crate::partition::bridge_candidates`]
//! (nodes announcing [`Capabilities::BRIDGE`] or [`Capabilities::GATEWAY`] count as bridges):
//! a heard node of *another* component (or unknown) with a usable RSSI is a candidate, and of
//! each pair exactly one side dials (the bridge-capable one, else the lower id; see
//! `core/src/partition/bridge.rs`). Proposals come out as [`Event::ConnectAdvised`], at most
//! once per peer per [`ADVISE_AGAIN_AFTER`]; the runtime connects, the handshake and adverts
//! follow, and union-find over the new topology confirms the heal ([`Event::Healed`]).

use alloc::vec::Vec;
use core::time::Duration;

use super::Node;
use crate::neighbour::Capabilities;
use crate::partition::{BridgePolicy, ConnectReason, bridge_candidates};
use crate::{Error, Event, Instant, NodeId};

/// Overheard nodes remembered at once.
const MAX_OVERHEARD: usize = 16;
/// An overheard node not heard again for this long is forgotten.
const OVERHEARD_FOR: Duration = Duration::from_secs(10);
/// The same connection is not advised again before this.
pub(super) const ADVISE_AGAIN_AFTER: Duration = Duration::from_secs(5);

/// A node heard advertising but not connected.
#[derive(Clone, Copy, Debug)]
pub(super) struct Overheard {
    node: NodeId,
    rssi: i8,
    heard: Instant,
    advised: Option<Instant>,
}

impl Node {
    /// The runtime heard `node` advertise the mesh, at `rssi` dBm, without a connection to
    /// it (a BLE scan result). Feeds bridge search, which may answer with
    /// [`Event::ConnectAdvised`].
    pub fn handle_overheard(&mut self, now: Instant, node: NodeId, rssi: i8) -> Result<(), Error> {
        self.advance(now)?;
        if !node.is_unicast() || node == self.config.node_id {
            return Err(Error::InvalidDestination(node));
        }
        self.overheard.retain(|o| now - o.heard < OVERHEARD_FOR);
        match self.overheard.iter_mut().find(|o| o.node == node) {
            Some(o) => {
                o.rssi = rssi;
                o.heard = now;
            }
            None => {
                if self.overheard.len() >= MAX_OVERHEARD {
                    let oldest = (0..self.overheard.len()).min_by_key(|i| self.overheard[*i].heard).expect("full");
                    self.overheard.swap_remove(oldest);
                }
                self.overheard.push(Overheard { node, rssi, heard: now, advised: None });
            }
        }
        self.advise_bridges(now);
        Ok(())
    }

    /// Proposes connections that would join this node's component to others.
    pub(super) fn advise_bridges(&mut self, now: Instant) {
        if self.overheard.is_empty() {
            return;
        }
        let heard: Vec<(NodeId, i8)> = self
            .overheard
            .iter()
            .filter(|o| o.advised.is_none_or(|t| now - t >= ADVISE_AGAIN_AFTER))
            .filter(|o| self.links.index_of_peer(o.node).is_none())
            .map(|o| (o.node, o.rssi))
            .collect();
        if heard.is_empty() {
            return;
        }
        // Bridge- or gateway-capable nodes (from announcements, and this node's own config).
        let able = Capabilities::BRIDGE | Capabilities::GATEWAY;
        let mut bridges: Vec<NodeId> =
            self.registry.iter().filter(|n| n.capabilities & able != 0).map(|n| n.id).collect();
        if self.config.capabilities & able != 0 {
            bridges.push(self.config.node_id);
        }
        let free = self.config.max_links.saturating_sub(self.links.len());
        let me = self.config.node_id;
        for connect in bridge_candidates(me, &self.components, &heard, &bridges, free, &BridgePolicy::default()) {
            if let Some(o) = self.overheard.iter_mut().find(|o| o.node == connect.node) {
                o.advised = Some(now);
            }
            let bridge = matches!(connect.reason, ConnectReason::ActAsBridge { .. } | ConnectReason::BridgeToBridge { .. });
            let event = Event::ConnectAdvised { node: connect.node, bridge };
            self.outbox.push_event(event, &mut self.metrics);
        }
    }
}
