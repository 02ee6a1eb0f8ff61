//! Every node this node knows of, neighbour or not: what it announced and when it was heard.

use core::time::Duration;

use crate::lru::LruMap;
use crate::{Instant, NodeId};

/// Capability bits carried in announcements and heartbeats.
#[derive(Clone, Copy, Debug)]
pub struct Capabilities;

impl Capabilities {
    /// Can bridge partitions (accepts connections from strangers it hears).
    pub const BRIDGE: u16 = 1 << 0;
    /// Has an uplink (internet or a game server).
    pub const GATEWAY: u16 = 1 << 1;
    /// Can act as BLE peripheral (advertise, accept connections).
    pub const PERIPHERAL: u16 = 1 << 2;
    /// Can act as BLE central (scan, connect).
    pub const CENTRAL: u16 = 1 << 3;
    /// Mains powered: battery is no concern.
    pub const MAINS_POWERED: u16 = 1 << 4;
}

/// Liveness of a known node, derived from when it was last heard.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NodeStatus {
    /// Heard within half of [`crate::Config::node_gone_after`].
    Active,
    /// Not heard for half of `node_gone_after`.
    Suspect,
    /// Not heard for `node_gone_after`.
    Gone,
}

/// What is known about one node.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeInfo {
    /// Its id.
    pub id: NodeId,
    /// Capability bits ([`Capabilities`]).
    pub capabilities: u16,
    /// Battery percentage, `None` if unknown or mains powered.
    pub battery: Option<u8>,
    /// Its number of confirmed links.
    pub connections: u8,
    /// Seconds it had been up at its last announcement.
    pub uptime_secs: u32,
    /// Announced processing power.
    pub processing_power: u16,
    /// Trust in 0.0..=1.0; starts neutral at 0.5 and moves with behaviour.
    pub trust: f32,
    /// When anything from it was last accepted.
    pub last_seen: Instant,
    /// When it was first heard of.
    pub first_seen: Instant,
}

/// Bounded table of known nodes. When full, the longest-silent one makes room (in O(1):
/// the table is kept in order of last hearing). It grows with the nodes heard, up to the cap.
#[derive(Debug)]
pub struct NodeRegistry {
    nodes: LruMap<NodeInfo>,
    gone_after: Duration,
}

impl NodeRegistry {
    /// A registry of at most `cap` nodes.
    pub fn new(cap: usize, gone_after: Duration, seed: u64) -> Self {
        NodeRegistry { nodes: LruMap::new(cap, seed), gone_after }
    }

    /// Records that `id` was heard at `now` and returns its entry.
    pub(crate) fn observe(&mut self, now: Instant, id: NodeId) -> &mut NodeInfo {
        let info = self.nodes.get_or_insert_with(id, || NodeInfo {
            id,
            capabilities: 0,
            battery: None,
            connections: 0,
            uptime_secs: 0,
            processing_power: 0,
            trust: 0.5,
            last_seen: now,
            first_seen: now,
        });
        info.last_seen = now;
        info
    }

    /// What is known about `id`.
    pub fn get(&self, id: NodeId) -> Option<&NodeInfo> {
        self.nodes.get(id)
    }

    /// Liveness of `id` at `now`.
    pub fn status(&self, id: NodeId, now: Instant) -> Option<NodeStatus> {
        let n = self.nodes.get(id)?;
        let silent = now - n.last_seen;
        Some(if silent >= self.gone_after {
            NodeStatus::Gone
        } else if silent >= self.gone_after / 2 {
            NodeStatus::Suspect
        } else {
            NodeStatus::Active
        })
    }

    /// Known nodes, in no particular order (deterministic for a given input history).
    pub fn iter(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.iter().map(|(_, n)| n)
    }

    /// Number of known nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node is known.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Heap bytes reserved by the table.
    pub fn heap_bytes(&self) -> usize {
        self.nodes.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_silence_and_capacity_evicts_the_most_silent() {
        let mut r = NodeRegistry::new(2, Duration::from_secs(30), 1);
        r.observe(Instant::from_secs(0), NodeId(1));
        r.observe(Instant::from_secs(5), NodeId(2));
        assert_eq!(r.status(NodeId(1), Instant::from_secs(14)), Some(NodeStatus::Active));
        assert_eq!(r.status(NodeId(1), Instant::from_secs(15)), Some(NodeStatus::Suspect));
        assert_eq!(r.status(NodeId(1), Instant::from_secs(30)), Some(NodeStatus::Gone));
        r.observe(Instant::from_secs(40), NodeId(3));
        assert_eq!(r.len(), 2);
        assert!(r.get(NodeId(1)).is_none(), "the longest-silent node made room");
        assert_eq!(r.get(NodeId(3)).unwrap().trust, 0.5);
    }
}
