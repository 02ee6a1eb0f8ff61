//! Partition tracking: turns successive topology snapshots into partition / heal events.
//!
//! The tracker remembers this node's component and the nodes it has lost sight of. On every
//! update it compares the new component `N` with the previous one `O`:
//!
//! * **Partitioned** — some members of `O` are not in `N` (they became unreachable: the link
//!   set split, or they left the topology altogether). They are remembered as *unreachable*.
//! * **Healed** — `N` contains nodes that were unreachable: remembered as lost from an
//!   earlier component, or seen in *another* component of the previous full snapshot
//!   ([`PartitionTracker::update`]). Components merged.
//! * **Joined** — `N` contains nodes never seen before (discovery, not a heal).
//!
//! One update can produce several events; they are emitted in the order Partitioned, Healed,
//! Joined, each with sorted node lists. An update that changes nothing emits nothing.

use alloc::vec::Vec;

use super::Components;
use crate::NodeId;

/// Unreachable nodes remembered by default (oldest forgotten first).
pub const DEFAULT_MAX_REMEMBERED: usize = 256;

/// What changed in this node's component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionEvent {
    /// Members of this node's component became unreachable.
    Partitioned {
        /// The nodes lost, sorted.
        unreachable: Vec<NodeId>,
        /// This node's component now, sorted.
        component: Vec<NodeId>,
        /// Every component now (only this node's one when fed by `update_component`).
        components: Vec<Vec<NodeId>>,
    },
    /// Previously unreachable nodes are in this node's component again: components merged.
    Healed {
        /// The nodes regained, sorted.
        rejoined: Vec<NodeId>,
        /// This node's component now, sorted.
        component: Vec<NodeId>,
        /// Every component now (only this node's one when fed by `update_component`).
        components: Vec<Vec<NodeId>>,
    },
    /// Nodes never seen before joined this node's component.
    Joined {
        /// The new nodes, sorted.
        joined: Vec<NodeId>,
        /// This node's component now, sorted.
        component: Vec<NodeId>,
    },
}

/// Tracks this node's component across topology changes. See the module documentation.
#[derive(Clone, Debug)]
pub struct PartitionTracker {
    me: NodeId,
    component: Vec<NodeId>,
    /// Nodes in other components at the last full update, sorted.
    others: Vec<NodeId>,
    /// Nodes lost from this node's component, oldest first.
    unreachable: Vec<NodeId>,
    max_remembered: usize,
}

impl PartitionTracker {
    /// A tracker for `me`, alone in its component, remembering up to
    /// [`DEFAULT_MAX_REMEMBERED`] unreachable nodes.
    pub fn new(me: NodeId) -> Self {
        Self::with_capacity(me, DEFAULT_MAX_REMEMBERED)
    }

    /// As [`PartitionTracker::new`], remembering up to `max_remembered` unreachable nodes.
    pub fn with_capacity(me: NodeId, max_remembered: usize) -> Self {
        PartitionTracker {
            me,
            component: alloc::vec![me],
            others: Vec::new(),
            unreachable: Vec::new(),
            max_remembered,
        }
    }

    /// This node's component (sorted, contains this node).
    pub fn component(&self) -> &[NodeId] {
        &self.component
    }

    /// Nodes currently remembered as unreachable, sorted.
    pub fn unreachable(&self) -> Vec<NodeId> {
        let mut u = self.unreachable.clone();
        u.sort_unstable();
        u
    }

    /// Whether this node currently misses nodes it once shared a component with.
    pub fn is_partitioned(&self) -> bool {
        !self.unreachable.is_empty()
    }

    /// Stops remembering `node` as unreachable (for example once it is gone for good).
    pub fn forget(&mut self, node: NodeId) {
        self.unreachable.retain(|&n| n != node);
    }

    /// Feeds a full snapshot of the topology; returns the events (possibly none).
    pub fn update(&mut self, components: &Components) -> Vec<PartitionEvent> {
        let mine: Vec<NodeId> = match components.component_of(self.me) {
            Some(c) => c.to_vec(),
            None => alloc::vec![self.me],
        };
        let all: Vec<Vec<NodeId>> = if components.component_of(self.me).is_some() {
            components.components().to_vec()
        } else {
            let mut all = components.components().to_vec();
            all.push(mine.clone());
            all.sort_unstable_by_key(|c| c[0]);
            all
        };
        let mut others: Vec<NodeId> =
            all.iter().flatten().copied().filter(|n| mine.binary_search(n).is_err()).collect();
        others.sort_unstable();
        let events = self.apply(mine, all);
        self.others = others;
        events
    }

    /// Feeds only this node's component (any order, duplicates allowed; this node is added if
    /// missing); returns the events (possibly none).
    pub fn update_component(&mut self, component: &[NodeId]) -> Vec<PartitionEvent> {
        let mut mine = component.to_vec();
        mine.push(self.me);
        mine.sort_unstable();
        mine.dedup();
        let all = alloc::vec![mine.clone()];
        self.others.clear();
        self.apply(mine, all)
    }

    fn apply(&mut self, mine: Vec<NodeId>, all: Vec<Vec<NodeId>>) -> Vec<PartitionEvent> {
        let old = core::mem::take(&mut self.component);
        let lost: Vec<NodeId> = old.iter().copied().filter(|n| mine.binary_search(n).is_err()).collect();
        let mut rejoined = Vec::new();
        let mut joined = Vec::new();
        for &n in mine.iter().filter(|n| old.binary_search(n).is_err()) {
            if self.unreachable.contains(&n) || self.others.binary_search(&n).is_ok() {
                rejoined.push(n);
            } else {
                joined.push(n);
            }
        }
        self.unreachable.retain(|n| mine.binary_search(n).is_err());
        for &n in &lost {
            self.unreachable.push(n);
        }
        if self.unreachable.len() > self.max_remembered {
            let excess = self.unreachable.len() - self.max_remembered;
            self.unreachable.drain(..excess);
        }
        let mut events = Vec::new();
        if !lost.is_empty() {
            events.push(PartitionEvent::Partitioned {
                unreachable: lost,
                component: mine.clone(),
                components: all.clone(),
            });
        }
        if !rejoined.is_empty() {
            events.push(PartitionEvent::Healed { rejoined, component: mine.clone(), components: all });
        }
        if !joined.is_empty() {
            events.push(PartitionEvent::Joined { joined, component: mine.clone() });
        }
        self.component = mine;
        events
    }
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

    #[test]
    fn discovery_split_and_heal_from_full_snapshots() {
        let mut t = PartitionTracker::new(NodeId(1));
        let all = ids(&[1, 2, 3, 4]);
        let full = Components::build(&all, &[l(1, 2), l(2, 3), l(3, 4)]);
        assert_eq!(t.update(&full), vec![PartitionEvent::Joined { joined: ids(&[2, 3, 4]), component: all.clone() }]);
        assert_eq!(t.update(&full), vec![]);

        let split = Components::build(&all, &[l(1, 2), l(3, 4)]);
        assert_eq!(
            t.update(&split),
            vec![PartitionEvent::Partitioned {
                unreachable: ids(&[3, 4]),
                component: ids(&[1, 2]),
                components: vec![ids(&[1, 2]), ids(&[3, 4])],
            }]
        );
        assert!(t.is_partitioned());
        assert_eq!(t.unreachable(), ids(&[3, 4]));

        // A node first seen in the other component, then merged in, counts as rejoined.
        let split5 = Components::build(&ids(&[1, 2, 3, 4, 5]), &[l(1, 2), l(3, 4), l(4, 5)]);
        assert_eq!(t.update(&split5), vec![]);
        let healed = Components::build(&ids(&[1, 2, 3, 4, 5, 6]), &[l(1, 2), l(2, 3), l(3, 4), l(4, 5), l(1, 6)]);
        assert_eq!(
            t.update(&healed),
            vec![
                PartitionEvent::Healed {
                    rejoined: ids(&[3, 4, 5]),
                    component: ids(&[1, 2, 3, 4, 5, 6]),
                    components: vec![ids(&[1, 2, 3, 4, 5, 6])],
                },
                PartitionEvent::Joined { joined: ids(&[6]), component: ids(&[1, 2, 3, 4, 5, 6]) },
            ]
        );
        assert!(!t.is_partitioned());
    }

    #[test]
    fn split_and_heal_in_one_step_from_component_only() {
        let mut t = PartitionTracker::new(NodeId(5));
        t.update_component(&ids(&[1, 2, 5]));
        assert_eq!(
            t.update_component(&ids(&[5, 2])),
            vec![PartitionEvent::Partitioned {
                unreachable: ids(&[1]),
                component: ids(&[2, 5]),
                components: vec![ids(&[2, 5])],
            }]
        );
        // 1 comes back while 2 goes away.
        assert_eq!(
            t.update_component(&ids(&[1])),
            vec![
                PartitionEvent::Partitioned { unreachable: ids(&[2]), component: ids(&[1, 5]), components: vec![ids(&[1, 5])] },
                PartitionEvent::Healed { rejoined: ids(&[1]), component: ids(&[1, 5]), components: vec![ids(&[1, 5])] },
            ]
        );
        t.forget(NodeId(2));
        assert_eq!(t.update_component(&ids(&[1, 2])), vec![PartitionEvent::Joined { joined: ids(&[2]), component: ids(&[1, 2, 5]) }]);
    }

    #[test]
    fn node_missing_from_snapshot_is_alone_and_memory_is_bounded() {
        let mut t = PartitionTracker::with_capacity(NodeId(1), 2);
        t.update_component(&ids(&[1, 2, 3, 4]));
        let snap = Components::build(&ids(&[2, 3, 4]), &[l(2, 3), l(3, 4)]);
        let ev = t.update(&snap);
        assert_eq!(
            ev,
            vec![PartitionEvent::Partitioned {
                unreachable: ids(&[2, 3, 4]),
                component: ids(&[1]),
                components: vec![ids(&[1]), ids(&[2, 3, 4])],
            }]
        );
        assert_eq!(t.unreachable(), ids(&[3, 4]));
        assert_eq!(t.component(), &ids(&[1])[..]);
    }
}
