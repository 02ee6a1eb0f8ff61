//! Bridge search: which overheard nodes to connect to so that partitions heal.
//!
//! Input: the current [`Components`] snapshot, the nodes this node hears (advertisements with
//! an RSSI, no connection), and the nodes that declare bridge/gateway capability. A heard
//! node is a candidate when it is not in this node's component (an unknown node counts as a
//! component of its own), its RSSI is at least [`BridgePolicy::min_rssi`], and this node is
//! the *initiator* of the pair:
//!
//! * exactly one of the two declares bridge capability: that one initiates;
//! * both do: the lower node id initiates;
//! * neither does: nobody, unless [`BridgePolicy::require_capability`] is off, in which case
//!   the lower node id initiates.
//!
//! Because both sides apply the same rule, a pair that hears each other never dials twice.
//! At most one connection is proposed per foreign component (the strongest RSSI, then the
//! lowest id), larger foreign components first, then stronger RSSI, then lower component id;
//! at most `min(free_slots, max_connects)` in all. The output is deterministic.

use alloc::vec::Vec;

use super::Components;
use crate::NodeId;

/// Tunables of [`bridge_candidates`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BridgePolicy {
    /// Weakest RSSI (dBm) worth connecting over. Default -85.
    pub min_rssi: i8,
    /// Most connections proposed by one call. Default 1.
    pub max_connects: usize,
    /// Only pairs where at least one side declares bridge capability connect. Default true.
    pub require_capability: bool,
}

impl Default for BridgePolicy {
    fn default() -> Self {
        BridgePolicy { min_rssi: -85, max_connects: 1, require_capability: true }
    }
}

/// Why a connection is proposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectReason {
    /// This node is a bridge and the peer is not: this node bridges the partition.
    ActAsBridge {
        /// Smallest member of the peer's component (the peer itself if unknown).
        other_component: NodeId,
        /// Size of the peer's component (1 if unknown).
        other_size: usize,
    },
    /// Both are bridges and this node has the lower id.
    BridgeToBridge {
        /// Smallest member of the peer's component (the peer itself if unknown).
        other_component: NodeId,
        /// Size of the peer's component (1 if unknown).
        other_size: usize,
    },
    /// Neither is a bridge, capability is not required, and this node has the lower id.
    PeerToPeer {
        /// Smallest member of the peer's component (the peer itself if unknown).
        other_component: NodeId,
        /// Size of the peer's component (1 if unknown).
        other_size: usize,
    },
}

impl ConnectReason {
    /// Smallest member of the component the connection joins.
    pub fn other_component(&self) -> NodeId {
        match *self {
            ConnectReason::ActAsBridge { other_component, .. }
            | ConnectReason::BridgeToBridge { other_component, .. }
            | ConnectReason::PeerToPeer { other_component, .. } => other_component,
        }
    }
}

/// A decision to open a connection to `node`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connect {
    /// The node to connect to.
    pub node: NodeId,
    /// Why.
    pub reason: ConnectReason,
}

impl Connect {
    /// Whether the link `me`–`node` would merge two different components of `topology`
    /// (checked with a fresh union-find over the snapshot plus the new link).
    pub fn heals(&self, me: NodeId, topology: &Components) -> bool {
        !topology.same_component(me, self.node) && topology.with_link(me, self.node).same_component(me, self.node)
    }
}

/// Decides which overheard nodes to connect to. See the module documentation for the rules.
///
/// `heard` lists `(node, rssi dBm)` pairs (duplicates: the strongest counts); `bridges` lists
/// the nodes that declare bridge/gateway capability (this node included if it does).
pub fn bridge_candidates(
    me: NodeId,
    topology: &Components,
    heard: &[(NodeId, i8)],
    bridges: &[NodeId],
    free_slots: usize,
    policy: &BridgePolicy,
) -> Vec<Connect> {
    let mut bridges = bridges.to_vec();
    bridges.sort_unstable();
    let is_bridge = |n: NodeId| bridges.binary_search(&n).is_ok();
    let me_bridge = is_bridge(me);
    // (other_component, other_size, rssi, node, reason)
    let mut cands: Vec<(NodeId, usize, i8, NodeId, ConnectReason)> = Vec::new();
    for &(node, rssi) in heard {
        if node == me || !node.is_unicast() || rssi < policy.min_rssi || topology.same_component(me, node) {
            continue;
        }
        let (other_component, other_size) = match topology.component_of(node) {
            Some(c) => (c[0], c.len()),
            None => (node, 1),
        };
        let peer_bridge = is_bridge(node);
        let reason = match (me_bridge, peer_bridge) {
            (true, false) => ConnectReason::ActAsBridge { other_component, other_size },
            (true, true) if me < node => ConnectReason::BridgeToBridge { other_component, other_size },
            (false, false) if !policy.require_capability && me < node => {
                ConnectReason::PeerToPeer { other_component, other_size }
            }
            _ => continue,
        };
        cands.push((other_component, other_size, rssi, node, reason));
    }
    // Best candidate per component: strongest RSSI, then lowest id.
    cands.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)).then(a.3.cmp(&b.3)));
    cands.dedup_by_key(|c| c.0);
    // Larger components first, then stronger RSSI, then lower component id.
    cands.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    cands
        .into_iter()
        .take(free_slots.min(policy.max_connects))
        .map(|(_, _, _, node, reason)| Connect { node, reason })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn ids(v: &[u64]) -> Vec<NodeId> {
        v.iter().map(|&x| NodeId(x)).collect()
    }
    fn l(a: u64, b: u64) -> (NodeId, NodeId) {
        (NodeId(a), NodeId(b))
    }

    /// Components {1,2,3}, {4,5}, {6,7,8,9}, {10}.
    fn topo() -> Components {
        Components::build(&ids(&[10]), &[l(1, 2), l(2, 3), l(4, 5), l(6, 7), l(7, 8), l(8, 9)])
    }

    #[test]
    fn bridge_connects_once_per_foreign_component_largest_first() {
        let t = topo();
        let heard = [(NodeId(2), -40), (NodeId(5), -70), (NodeId(4), -60), (NodeId(9), -80), (NodeId(7), -75), (NodeId(10), -50), (NodeId(11), -30), (NodeId(12), -95)];
        let policy = BridgePolicy { max_connects: 8, ..BridgePolicy::default() };
        let out = bridge_candidates(NodeId(1), &t, &heard, &ids(&[1]), 8, &policy);
        assert_eq!(
            out,
            vec![
                Connect { node: NodeId(7), reason: ConnectReason::ActAsBridge { other_component: NodeId(6), other_size: 4 } },
                Connect { node: NodeId(4), reason: ConnectReason::ActAsBridge { other_component: NodeId(4), other_size: 2 } },
                Connect { node: NodeId(11), reason: ConnectReason::ActAsBridge { other_component: NodeId(11), other_size: 1 } },
                Connect { node: NodeId(10), reason: ConnectReason::ActAsBridge { other_component: NodeId(10), other_size: 1 } },
            ]
        );
        // Union-find confirms each link heals, and together they merge everything heard.
        let mut after = t.clone();
        for c in &out {
            assert!(c.heals(NodeId(1), &after));
            after = after.with_link(NodeId(1), c.node);
            assert!(!c.heals(NodeId(1), &after));
        }
        assert_eq!(after.count(), 1);
        // Slots limit the output; the default policy proposes one.
        assert_eq!(bridge_candidates(NodeId(1), &t, &heard, &ids(&[1]), 2, &policy).len(), 2);
        assert_eq!(bridge_candidates(NodeId(1), &t, &heard, &ids(&[1]), 8, &BridgePolicy::default()), out[..1].to_vec());
        assert_eq!(bridge_candidates(NodeId(1), &t, &heard, &ids(&[1]), 0, &policy), vec![]);
    }

    #[test]
    fn initiator_rule_is_symmetric() {
        let t = topo();
        // Neither is a bridge: nobody dials by default.
        assert_eq!(bridge_candidates(NodeId(1), &t, &[(NodeId(4), -50)], &[], 1, &BridgePolicy::default()), vec![]);
        // Peer is a bridge and this node is not: the peer dials, not us.
        assert_eq!(bridge_candidates(NodeId(1), &t, &[(NodeId(4), -50)], &ids(&[4]), 1, &BridgePolicy::default()), vec![]);
        assert_eq!(
            bridge_candidates(NodeId(4), &t, &[(NodeId(1), -50)], &ids(&[4]), 1, &BridgePolicy::default()),
            vec![Connect { node: NodeId(1), reason: ConnectReason::ActAsBridge { other_component: NodeId(1), other_size: 3 } }]
        );
        // Both bridges: only the lower id dials.
        assert_eq!(
            bridge_candidates(NodeId(1), &t, &[(NodeId(4), -50)], &ids(&[1, 4]), 1, &BridgePolicy::default()),
            vec![Connect { node: NodeId(4), reason: ConnectReason::BridgeToBridge { other_component: NodeId(4), other_size: 2 } }]
        );
        assert_eq!(bridge_candidates(NodeId(4), &t, &[(NodeId(1), -50)], &ids(&[1, 4]), 1, &BridgePolicy::default()), vec![]);
        // Capability not required: lower id dials.
        let open = BridgePolicy { require_capability: false, ..BridgePolicy::default() };
        let c = bridge_candidates(NodeId(1), &t, &[(NodeId(4), -50)], &[], 1, &open);
        assert_eq!(c, vec![Connect { node: NodeId(4), reason: ConnectReason::PeerToPeer { other_component: NodeId(4), other_size: 2 } }]);
        assert_eq!(c[0].reason.other_component(), NodeId(4));
        assert_eq!(bridge_candidates(NodeId(4), &t, &[(NodeId(1), -50)], &[], 1, &open), vec![]);
    }

    #[test]
    fn same_component_weak_and_reserved_are_ignored() {
        let t = topo();
        let heard = [(NodeId(3), -20), (NodeId(5), -86), (NodeId::BROADCAST, -10), (NodeId(1), -10)];
        assert_eq!(bridge_candidates(NodeId(1), &t, &heard, &ids(&[1]), 4, &BridgePolicy::default()), vec![]);
    }
}
