//! Identifiers: nodes, links and messages.

use core::fmt;

/// A node's identity on the mesh: 64 bits, carried big-endian on the wire.
///
/// `0` and `u64::MAX` are reserved ([`NodeId::NONE`] and the broadcast address) and are never
/// valid node ids; [`crate::Config::validate`] rejects them. With the security layer the id is
/// derived from the node's public key, so it cannot be claimed by another key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NodeId(pub u64);

impl NodeId {
    /// "No node" (used for unknown peers).
    pub const NONE: NodeId = NodeId(0);
    /// The broadcast destination.
    pub const BROADCAST: NodeId = NodeId(u64::MAX);

    /// Whether this id may name a real node.
    pub const fn is_unicast(self) -> bool {
        self.0 != 0 && self.0 != u64::MAX
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NodeId::NONE => f.write_str("NodeId(none)"),
            NodeId::BROADCAST => f.write_str("NodeId(broadcast)"),
            NodeId(v) => write!(f, "NodeId({v:#x})"),
        }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// A runtime-chosen handle for one point-to-point radio link (a BLE connection, a UDP peer).
///
/// The runtime picks the value when it reports [`crate::Node::handle_link_up`]; the core only
/// compares it. A link id may be reused after the link went down.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct LinkId(pub u32);

/// Where a message is going.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Destination {
    /// Every node of the mesh.
    Broadcast,
    /// One node.
    Node(NodeId),
}

impl Destination {
    /// The wire form of the destination.
    pub const fn to_node_id(self) -> NodeId {
        match self {
            Destination::Broadcast => NodeId::BROADCAST,
            Destination::Node(n) => n,
        }
    }

    /// Parses the wire form.
    pub const fn from_node_id(id: NodeId) -> Self {
        if id.0 == u64::MAX { Destination::Broadcast } else { Destination::Node(id) }
    }
}

/// Identifies one originated message: its origin and the origin's sequence number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct MessageId {
    /// The node that originated the message.
    pub origin: NodeId,
    /// The origin's sequence number for it.
    pub seq: u32,
}
