//! Connected components of the active-link graph.
//!
//! [`Components::build`] maps node ids to dense indices (sorted, deduplicated: no hashing, so
//! the result never depends on iteration order), unions the endpoints of every active link
//! and returns a deterministic snapshot: members sorted ascending, components ordered by
//! their smallest member.

use alloc::vec::Vec;

use super::UnionFind;
use crate::NodeId;

/// A snapshot of the connected components of a set of nodes and links.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Components {
    /// Every node, sorted ascending (the dense index of a node is its position here).
    nodes: Vec<NodeId>,
    /// For each node (by dense index), the index of its component.
    component_of: Vec<u32>,
    /// The components: members sorted, ordered by smallest member.
    components: Vec<Vec<NodeId>>,
}

impl Components {
    /// Components of the graph with vertices `nodes` plus every link endpoint, and the
    /// undirected edges `links`. Duplicate nodes and links, and self-loops, are harmless.
    pub fn build(nodes: &[NodeId], links: &[(NodeId, NodeId)]) -> Self {
        let mut all: Vec<NodeId> = Vec::with_capacity(nodes.len() + 2 * links.len());
        all.extend_from_slice(nodes);
        for &(a, b) in links {
            all.push(a);
            all.push(b);
        }
        all.sort_unstable();
        all.dedup();
        // Kept for the components' lifetime: give back the room of the duplicate endpoints
        // (about twice the links).
        all.shrink_to_fit();
        let index = |n: NodeId| all.binary_search(&n).expect("every endpoint was inserted");
        let mut uf = UnionFind::new(all.len());
        for &(a, b) in links {
            uf.union(index(a), index(b));
        }
        let sets = uf.sets();
        let mut component_of = alloc::vec![0u32; all.len()];
        let components = sets
            .iter()
            .enumerate()
            .map(|(c, set)| {
                set.iter()
                    .map(|&i| {
                        component_of[i] = c as u32;
                        all[i]
                    })
                    .collect()
            })
            .collect();
        Components { nodes: all, component_of, components }
    }

    /// The components: members sorted ascending, components ordered by smallest member.
    pub fn components(&self) -> &[Vec<NodeId>] {
        &self.components
    }

    /// Every node, sorted ascending.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// The number of components.
    pub fn count(&self) -> usize {
        self.components.len()
    }

    /// The index (into [`Components::components`]) of `node`'s component, if it is known.
    pub fn component_index(&self, node: NodeId) -> Option<usize> {
        self.nodes.binary_search(&node).ok().map(|i| self.component_of[i] as usize)
    }

    /// The members of `node`'s component, if it is known.
    pub fn component_of(&self, node: NodeId) -> Option<&[NodeId]> {
        self.component_index(node).map(|c| self.components[c].as_slice())
    }

    /// Whether `a` and `b` are both known and in the same component.
    pub fn same_component(&self, a: NodeId, b: NodeId) -> bool {
        match (self.component_index(a), self.component_index(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        }
    }

    /// The components after adding the link `a`–`b` (either may be a new node).
    pub fn with_link(&self, a: NodeId, b: NodeId) -> Components {
        let mut links: Vec<(NodeId, NodeId)> = Vec::with_capacity(self.nodes.len());
        for comp in &self.components {
            // A spanning star per component reproduces its connectivity.
            for &m in &comp[1..] {
                links.push((comp[0], m));
            }
        }
        links.push((a, b));
        Components::build(&self.nodes, &links)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn ids(v: &[u64]) -> Vec<NodeId> {
        v.iter().map(|&x| NodeId(x)).collect()
    }

    #[test]
    fn deterministic_ordering() {
        let links = [(NodeId(9), NodeId(3)), (NodeId(7), NodeId(8)), (NodeId(3), NodeId(5)), (NodeId(8), NodeId(8))];
        let c = Components::build(&ids(&[1, 9, 9]), &links);
        assert_eq!(c.components(), &[ids(&[1]), ids(&[3, 5, 9]), ids(&[7, 8])]);
        assert_eq!(c.count(), 3);
        assert_eq!(c.component_index(NodeId(5)), Some(1));
        assert_eq!(c.component_of(NodeId(8)), Some(&ids(&[7, 8])[..]));
        assert!(c.same_component(NodeId(3), NodeId(9)));
        assert!(!c.same_component(NodeId(3), NodeId(7)));
        assert!(!c.same_component(NodeId(3), NodeId(42)));
        assert_eq!(c.component_index(NodeId(42)), None);
        // Link order does not matter.
        let mut rev = links;
        rev.reverse();
        assert_eq!(Components::build(&ids(&[9, 1]), &rev), c);
    }

    #[test]
    fn with_link_merges() {
        let c = Components::build(&ids(&[1, 2, 3, 4]), &[(NodeId(1), NodeId(2)), (NodeId(3), NodeId(4))]);
        let m = c.with_link(NodeId(2), NodeId(4));
        assert_eq!(m.components(), &[ids(&[1, 2, 3, 4])]);
        let n = c.with_link(NodeId(4), NodeId(5));
        assert_eq!(n.components(), &[ids(&[1, 2]), ids(&[3, 4, 5])]);
        assert_eq!(Components::build(&[], &[]).count(), 0);
        assert_eq!(vec![0; 0].len(), Components::default().count());
    }
}
