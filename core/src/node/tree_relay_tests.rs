//! Exact source trees (`tree_relay.rs`): parents and children on a small graph.
//!
//! ```text
//!      1
//!     / \
//!    2   3
//!    |\ /|
//!    4 5 |
//!    |/ \|
//!    6   7
//! ```

use alloc::vec;
use alloc::vec::Vec;

use super::tree_relay::TreeRelay;
use crate::NodeId;
use crate::routing::Graph;
use crate::routing::graph::LinkMetrics;

const EDGES: [(u64, u64); 9] = [(1, 2), (1, 3), (2, 4), (2, 5), (3, 5), (3, 7), (4, 6), (5, 6), (5, 7)];

fn graph() -> Graph {
    let m = LinkMetrics::new(10, 1.0, 0, 1000);
    Graph::from_links(EDGES.iter().map(|(a, b)| (NodeId(*a), NodeId(*b), m)))
}

/// `me`'s parents and children in `origin`'s tree with `k` parents per node.
fn tree(me: u64, origin: u64, k: usize) -> (Vec<u64>, Vec<u64>) {
    let g = graph();
    let (parents, children) = TreeRelay::default().parents_and_children(&g, NodeId(me), NodeId(origin), k).unwrap();
    (parents.iter().map(|n| n.0).collect(), children.iter().map(|n| n.0).collect())
}

/// One parent: the lowest-id neighbour one hop closer to the origin; every node but the
/// origin is the child of exactly one node, so a flood costs one transmission per node.
#[test]
fn one_parent_is_the_lowest_id_upstream_neighbour() {
    assert_eq!(tree(2, 1, 1), (vec![1], vec![4, 5]));
    assert_eq!(tree(3, 1, 1), (vec![1], vec![7]), "5's parent is 2, the lower id");
    assert_eq!(tree(5, 1, 1), (vec![2], vec![]), "6's parent is 4");
    assert_eq!(tree(4, 1, 1), (vec![2], vec![6]));
    assert_eq!(tree(6, 1, 1), (vec![4], vec![]));
    let mut children = 0;
    for me in [2, 3, 4, 5, 6, 7] {
        children += tree(me, 1, 1).1.len();
    }
    assert_eq!(children + 2, 6, "the origin's two children and one per other node: N − 1");
}

/// Trees depend on the origin: from 6, node 2 is reached through 4 (its lowest upstream
/// neighbour) and is 1's parent; 5 feeds 3 and 7.
#[test]
fn trees_are_rooted_at_the_origin() {
    assert_eq!(tree(2, 6, 1), (vec![4], vec![1]));
    assert_eq!(tree(5, 6, 1), (vec![6], vec![3, 7]));
    assert_eq!(tree(3, 6, 1), (vec![5], vec![]), "1's parent is 2, the lower id");
}

/// Two parents: each node with two upstream neighbours hears from both; a node with a
/// single upstream neighbour takes its lowest-id neighbour at the same distance as its
/// second parent (7 has only 3 upstream and 5 beside it).
#[test]
fn two_parents_give_every_node_a_second_copy() {
    assert_eq!(tree(5, 1, 2), (vec![2, 3], vec![6, 7]));
    assert_eq!(tree(6, 1, 2), (vec![4, 5], vec![]));
    assert_eq!(tree(7, 1, 2), (vec![3, 5], vec![]));
    assert_eq!(tree(3, 1, 2), (vec![1], vec![5, 7]), "no second upstream or same-distance neighbour");
    assert_eq!(tree(2, 1, 2), (vec![1], vec![4, 5]));
}

/// The origin and nodes outside the graph have no tree.
#[test]
fn no_tree_for_the_origin_or_unknown_nodes() {
    let g = graph();
    let mut t = TreeRelay::default();
    assert!(t.parents_and_children(&g, NodeId(1), NodeId(1), 1).is_none());
    assert!(t.parents_and_children(&g, NodeId(9), NodeId(1), 1).is_none());
    assert!(t.parents_and_children(&g, NodeId(2), NodeId(9), 1).is_none());
}
