//! Source-tree relaying of floods (`Config::relay_tree`, PROTOCOL §8.4).
//!
//! Every node holds the same link-state graph once adverts have spread (`routing::Graph`,
//! links both ends advertise). A flood from origin `O` then has one **source tree** that
//! every node can compute alone: breadth-first from `O` over the graph, the **parents** of a
//! node being its `relay_tree` (1 or 2) neighbours one hop closer to `O` with the lowest node
//! ids, made up with its lowest-id neighbours at its own distance when it has fewer upstream
//! neighbours. A node whose first copy of a flood came from one of its parents relays it at
//! once, from the receive path (no jitter: there is nothing to wait for), to the neighbours
//! that count it among their parents, and nowhere else: a flood costs about one transmission
//! per node reached and parent instead of one per link direction less what pruning saves.
//! Two parents keep floods flowing past one parent that drops them (an insider blackhole) or
//! one link that failed silently.
//!
//! **When the views may disagree, the node relays as before** (jitter, neighbour-coverage
//! pruning, `Node::run_relay`; counted in `Metrics::tree_fallbacks`):
//!
//! * the graph's links (not their metrics) changed, or one of this node's links was
//!   confirmed or lost, less than [`TREE_SETTLE`] ago;
//! * the first copy came from another neighbour than this node's parents (the sender's view
//!   differs, or the sender relayed as before);
//! * a neighbour that counts this node as a parent is not a confirmed neighbour here, or
//!   this node or the origin is not in the graph.
//!
//! Such a relay counts a copy from one of its own parents as covering only the targets that
//! count that parent among their parents too: the parent may have relayed along its tree, to
//! its tree children only ([`Node::tree_allows_coverage`]). Topology adverts are always
//! relayed that way (`Node::run_relay`): partition detection ages out nodes whose adverts
//! stop, and no single relay should decide that.
//!
//! **Failure modes.** A node that has not yet received the advert of a change (adverts
//! spread within a few hundred milliseconds) still relays along its old tree: a node whose
//! parents changed with that advert can miss floods until the advert reaches the nodes of
//! its old and new paths; nodes that already have the advert relay as before for
//! [`TREE_SETTLE`], and their extra copies usually cover it. A link that failed silently
//! loses the floods of the nodes below it whose other parent is cut off too, until the
//! failure is detected (missed heartbeats) and advertised, where plain flooding would have
//! sent copies around it. A node that drops floods cuts off the nodes all of whose parents
//! are at or below it. The reverse mistake (a copy too many) is harmless: duplicates are
//! dropped.

use core::time::Duration;

use alloc::vec::Vec;
use smallvec::SmallVec;

use super::Node;
use crate::flood::PendingRelay;
use crate::mix::splitmix64;
use crate::routing::Graph;
use crate::wire::{FrameHeader, Kind, flags};
use crate::{Destination, Instant, NodeId};

/// How long the graph's links and this node's links must stay unchanged before floods are
/// relayed along source trees: longer than an advert takes to cross the mesh, so that the
/// nodes that relay along trees mostly agree.
pub(super) const TREE_SETTLE: Duration = Duration::from_secs(2);

/// Most parents per node a tree may give (`Config::relay_tree`).
pub(crate) const MAX_PARENTS: usize = 2;

/// One origin's tree, as seen from this node.
#[derive(Clone, Copy, Debug)]
struct TreeEntry {
    origin: NodeId,
    /// This node's parents ([`NodeId::NONE`] where it has fewer than `relay_tree`).
    parents: [NodeId; MAX_PARENTS],
    /// Bit `k`: the `k`-th edge of this node in the graph leads to a child.
    children: u64,
    /// Entry `i`, bit `k`: the `k`-th edge of this node leads to a node that counts
    /// `parents[i]` among its parents (a node that parent sends to along the tree).
    siblings: [u64; MAX_PARENTS],
}

/// Source trees of the current graph, computed on demand and kept until the graph changes.
#[derive(Debug, Default)]
pub(super) struct TreeRelay {
    /// Graph version the cache and `fingerprint` belong to.
    version: u64,
    /// Order-independent hash of the graph's undirected links.
    fingerprint: u64,
    /// Last change of the graph's links or of this node's links.
    changed_at: Instant,
    cache: Vec<TreeEntry>,
    dist: Vec<u32>,
    queue: Vec<u32>,
}

impl TreeRelay {
    /// One of this node's links was confirmed or lost at `now`.
    pub(super) fn links_changed(&mut self, now: Instant) {
        self.changed_at = now;
    }

    /// Notes a new graph version: a change of its links restarts the settling time; every
    /// version empties the cache (edge positions may differ).
    fn observe(&mut self, now: Instant, graph: &Graph) {
        if graph.version() == self.version {
            return;
        }
        self.version = graph.version();
        self.cache.clear();
        let mut fingerprint = 0u64;
        for u in 0..graph.node_count() as u32 {
            for e in graph.edge_range(u) {
                let (a, b) = (graph.node(u).0, graph.node(graph.target(e)).0);
                if a < b {
                    fingerprint = fingerprint.wrapping_add(splitmix64(a ^ splitmix64(b)));
                }
            }
        }
        if fingerprint != self.fingerprint {
            self.fingerprint = fingerprint;
            self.changed_at = now;
        }
    }

    /// `origin`'s tree seen from `me`, with up to `k` parents per node: computed
    /// breadth-first over `graph` unless cached.
    fn entry(&mut self, graph: &Graph, me: NodeId, origin: NodeId, k: usize) -> Option<TreeEntry> {
        if let Some(e) = self.cache.iter().find(|e| e.origin == origin) {
            return Some(*e);
        }
        let (m, o) = (graph.index_of(me)?, graph.index_of(origin)?);
        let n = graph.node_count();
        self.dist.clear();
        self.dist.resize(n, u32::MAX);
        self.queue.clear();
        self.dist[o as usize] = 0;
        self.queue.push(o);
        let mut head = 0;
        while let Some(&u) = self.queue.get(head) {
            head += 1;
            for e in graph.edge_range(u) {
                let v = graph.target(e);
                if self.dist[v as usize] == u32::MAX {
                    self.dist[v as usize] = self.dist[u as usize] + 1;
                    self.queue.push(v);
                }
            }
        }
        let dist = &self.dist;
        let dm = dist[m as usize];
        if dm == u32::MAX || dm == 0 || graph.degree(m) > 64 {
            return None;
        }
        // The parents of `y`: its `k` neighbours one hop closer to the origin with the lowest
        // ids; fewer such neighbours are made up with the lowest-id neighbours as far from
        // the origin as `y`, so that one parent that fails does not cut `y` off.
        let parents_of = |y: u32| {
            let mut parents = [NodeId::NONE; MAX_PARENTS];
            let mut found = 0;
            for level in [dist[y as usize].wrapping_sub(1), dist[y as usize]] {
                let mut lowest = [NodeId::NONE; MAX_PARENTS];
                for w in graph.edge_range(y).map(|e| graph.target(e)) {
                    if dist[w as usize] != level {
                        continue;
                    }
                    let mut id = graph.node(w);
                    for slot in lowest.iter_mut() {
                        if *slot == NodeId::NONE || id < *slot {
                            core::mem::swap(slot, &mut id);
                            if id == NodeId::NONE {
                                break;
                            }
                        }
                    }
                }
                for id in lowest.into_iter().filter(|id| *id != NodeId::NONE) {
                    if found < k {
                        parents[found] = id;
                        found += 1;
                    }
                }
            }
            parents
        };
        let parents = parents_of(m);
        let mut children = 0u64;
        let mut siblings = [0u64; MAX_PARENTS];
        for (bit, e) in graph.edge_range(m).enumerate() {
            let y = graph.target(e);
            let theirs = parents_of(y);
            if (dist[y as usize] == dm + 1 || dist[y as usize] == dm) && theirs.contains(&me) {
                children |= 1 << bit;
            }
            for (i, p) in parents.iter().enumerate() {
                if *p != NodeId::NONE && theirs.contains(p) {
                    siblings[i] |= 1 << bit;
                }
            }
        }
        let entry = TreeEntry { origin, parents, children, siblings };
        if self.cache.len() < n {
            self.cache.push(entry);
        }
        Some(entry)
    }
}

#[cfg(test)]
impl TreeRelay {
    /// `me`'s parents and children in `origin`'s tree (test view of [`TreeRelay::entry`]).
    pub(super) fn parents_and_children(
        &mut self,
        graph: &Graph,
        me: NodeId,
        origin: NodeId,
        k: usize,
    ) -> Option<(Vec<NodeId>, Vec<NodeId>)> {
        let e = self.entry(graph, me, origin, k)?;
        let parents = e.parents.iter().copied().filter(|p| *p != NodeId::NONE).collect();
        let start = graph.edge_range(graph.index_of(me)?).start;
        let children = (0..64).filter(|b| e.children & (1 << b) != 0).map(|b| graph.node(graph.target(start + b))).collect();
        Some((parents, children))
    }
}

/// Whether a frame may travel along source trees: a flood copy (broadcast, or unicast with
/// [`flags::FLOODED`]) other than a topology advert. Adverts keep plain relaying: partition
/// detection ages out the nodes whose adverts stop, and a tree lets one node that drops
/// floods starve its subtree.
pub(super) fn tree_candidate(h: &FrameHeader) -> bool {
    let flood_copy = h.destination() == Destination::Broadcast || h.flags & flags::FLOODED != 0;
    flood_copy && h.kind != Kind::TopologyUpdate as u8
}

impl Node {
    /// The links a flood copy of `origin` first received from `from` goes to along the
    /// source tree, or `None` when it must be relayed as before (see the module
    /// documentation; counted in `Metrics::tree_fallbacks` by the caller).
    pub(super) fn tree_targets(&mut self, origin: NodeId, from: NodeId, heard: &[crate::LinkId]) -> Option<SmallVec<[usize; 8]>> {
        if self.config.relay_tree == 0 {
            return None;
        }
        let now = self.now;
        let graph = self.router.graph();
        self.tree.observe(now, graph);
        if now - self.tree.changed_at < TREE_SETTLE {
            return None;
        }
        let me = self.config.node_id;
        let k = usize::from(self.config.relay_tree).min(MAX_PARENTS);
        let entry = self.tree.entry(graph, me, origin, k)?;
        if !entry.parents.contains(&from) {
            return None;
        }
        let mut targets = SmallVec::new();
        let start = graph.edge_range(graph.index_of(me)?).start;
        let mut bits = entry.children;
        while bits != 0 {
            let k = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let child = graph.node(graph.target(start + k));
            let i = self.links.index_of_peer(child)?;
            let l = self.links.at(i);
            if !l.is_confirmed() {
                return None;
            }
            if !heard.contains(&l.link) {
                targets.push(i);
            }
        }
        Some(targets)
    }

    /// Whether a copy from neighbour `from` shows, as far as source trees go, that `from`
    /// sent the flood of `origin` to neighbour `target` too: always unless `from` is one of
    /// this node's parents in the tree by the current graph, settled or not (it may have
    /// relayed along its tree, to its tree children only); then only if `target` counts
    /// `from` among its own parents.
    pub(super) fn tree_allows_coverage(&mut self, origin: NodeId, from: NodeId, target: NodeId) -> bool {
        let graph = self.router.graph();
        self.tree.observe(self.now, graph);
        let me = self.config.node_id;
        let k = usize::from(self.config.relay_tree).min(MAX_PARENTS);
        let Some(entry) = self.tree.entry(graph, me, origin, k) else { return true };
        let Some(i) = entry.parents.iter().position(|p| *p == from) else { return true };
        let (Some(m), Some(e)) = (graph.index_of(me), graph.edge_between(me, target)) else { return false };
        let bit = e - graph.edge_range(m).start;
        entry.siblings[i] & (1 << bit) != 0
    }

    /// Whether a flood copy of `origin` first received from `from` will be relayed along
    /// the source tree (then without jitter).
    pub(super) fn relays_along_tree(&mut self, origin: NodeId, from: NodeId) -> bool {
        self.tree_targets(origin, from, &[]).is_some()
    }

    /// Relays `relay` along the source tree if it may (see [`Node::tree_targets`]); returns
    /// it back otherwise.
    pub(super) fn run_tree_relay(&mut self, relay: PendingRelay) -> Result<(), PendingRelay> {
        let from = relay.heard_from.first().and_then(|l| self.links.get(*l)).map(|l| l.peer);
        let Some(targets) = from.and_then(|from| self.tree_targets(relay.id.origin, from, &relay.heard_from)) else {
            self.metrics.tree_fallbacks += 1;
            return Err(relay);
        };
        let mut sent = false;
        for i in targets {
            sent |= self.send_reliably(i, relay.id, &relay.frame);
        }
        self.metrics.tree_relays += 1;
        if sent {
            self.metrics.relayed += 1;
        } else {
            self.metrics.relays_suppressed += 1;
        }
        self.flood.relays.recycle(relay.frame);
        Ok(())
    }
}
