//! The routing graph: confirmed links only, dense indices, compressed adjacency.
//!
//! A link `a — b` enters the graph only when **both** `a`'s advert lists `b` and `b`'s advert
//! lists `a` (a one-sided report is a link being set up or torn down, or a liar). Its metrics
//! combine both reports pessimistically, and both directions carry the same combination:
//!
//! | metric | combination |
//! | --- | --- |
//! | latency | max of the two reports |
//! | reliability | min of the two reports, scaled `r / 255` to `0..=1` |
//! | congestion | max |
//! | bandwidth | min |
//! | RSSI | min |
//!
//! Links whose combined reliability is 0 never deliver and are left out.
//!
//! The *energy* metric is per direction: `far_battery` of the directed edge `a → b` is the
//! residual battery of `b` (the node the frame is handed to), `None` when unknown or mains
//! powered. Policies charge relays with an empty battery more.
//!
//! Nodes get dense indices `0..n` in ascending [`NodeId`] order; edges are stored in CSR form
//! sorted by (source, target), so algorithms work on arrays. [`Graph::index_of`] maps an id to
//! its index in O(1) (a hash table of 4-byte dense indices, with a fixed hasher, comparing
//! through the node array: a quarter of a map holding the ids too; never iterated). Rebuilding reuses every
//! buffer, so a rebuild of a same-sized topology does not allocate.

use alloc::vec::Vec;
use foldhash::fast::FixedState;
use core::hash::BuildHasher;
use hashbrown::HashTable;

use super::lsdb::LinkStateDb;
use crate::NodeId;

/// Scale of [`LinkMetrics::unreliability`]: micro-nats.
pub const UNRELIABILITY_SCALE: f64 = 1_000_000.0;

/// `−ln(r)` in micro-nats, rounded: the additive form of a delivery probability `r`.
///
/// `r` is clamped to `[1e-12, 1]`; a path's delivery probability is `exp(−Σ/1e6)`.
pub fn unreliability_micros(r: f64) -> u64 {
    let r = if r.is_nan() { 1e-12 } else { r.clamp(1e-12, 1.0) };
    let v = -libm::log(r) * UNRELIABILITY_SCALE;
    libm::round(v.max(0.0)) as u64
}

/// The metrics of one directed link.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct LinkMetrics {
    /// One-way latency, milliseconds.
    pub latency_ms: u16,
    /// Delivery probability, `0..=1`.
    pub reliability: f64,
    /// Congestion, 0 (idle) ..= 255 (saturated).
    pub congestion: u8,
    /// Bandwidth, kbit/s.
    pub bandwidth_kbps: u16,
    /// Signal strength, dBm.
    pub rssi: i16,
    /// Residual battery (percent) of the far end, `None` when unknown or mains powered.
    pub far_battery: Option<u8>,
    /// `−ln(reliability)` in micro-nats (see [`unreliability_micros`]).
    pub unreliability: u64,
}

impl LinkMetrics {
    /// Metrics with the given values, `unreliability` derived from `reliability`.
    pub fn new(latency_ms: u16, reliability: f64, congestion: u8, bandwidth_kbps: u16) -> Self {
        LinkMetrics {
            latency_ms,
            reliability,
            congestion,
            bandwidth_kbps,
            rssi: 0,
            far_battery: None,
            unreliability: unreliability_micros(reliability),
        }
    }

    /// Energy deficit of the far end in percent: `100 − battery`, 0 when unknown.
    pub fn energy_deficit(&self) -> u8 {
        self.far_battery.map_or(0, |b| 100 - b.min(100))
    }
}

/// The narrow metrics of one edge (10 bytes).
#[derive(Clone, Copy, Debug)]
struct SmallMetrics {
    latency_ms: u16,
    bandwidth_kbps: u16,
    rssi: i16,
    congestion: u8,
    far_battery: Option<u8>,
}

/// The routing graph. See the [module documentation](self).
#[derive(Clone, Debug, Default)]
pub struct Graph {
    nodes: Vec<NodeId>,
    /// Dense indices, found by the hash of their node's id.
    index: HashTable<u32>,
    offsets: Vec<u32>,
    targets: Vec<u32>,
    /// The metrics of each edge, by column: 26 bytes per edge where a `LinkMetrics` takes 32.
    reliability: Vec<f64>,
    unreliability: Vec<u64>,
    small: Vec<SmallMetrics>,
    version: u64,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Graph::default()
    }

    /// A graph built from the confirmed links of `db`.
    pub fn from_lsdb(db: &LinkStateDb) -> Self {
        let mut g = Graph::new();
        g.rebuild(db);
        g
    }

    /// Rebuilds from `db`, reusing buffers. Every origin with an advert becomes a node.
    pub fn rebuild(&mut self, db: &LinkStateDb) {
        self.clear();
        // Exactly the room this database needs (the reported links bound the confirmed
        // ones), not the doubling of repeated pushes; kept for the next rebuild.
        let links: usize = db.adverts().map(|(_, a)| a.entries.len()).sum();
        reserve_to(&mut self.nodes, db.len());
        reserve_to(&mut self.offsets, db.len() + 1);
        reserve_to(&mut self.targets, links);
        reserve_to(&mut self.reliability, links);
        reserve_to(&mut self.unreliability, links);
        reserve_to(&mut self.small, links);
        for (origin, _) in db.adverts() {
            self.push_node(origin);
        }
        for (a, adv) in db.adverts() {
            for e in &adv.entries {
                let Some(other) = db.advert(e.neighbour) else { continue };
                let Ok(pos) = other.entries.binary_search_by_key(&a, |x| x.neighbour) else { continue };
                let back = &other.entries[pos];
                let reliability = f64::from(e.reliability.min(back.reliability)) / 255.0;
                if reliability <= 0.0 {
                    continue;
                }
                let mut m = LinkMetrics::new(
                    e.latency_ms.max(back.latency_ms),
                    reliability,
                    e.congestion.max(back.congestion),
                    e.bandwidth_kbps.min(back.bandwidth_kbps),
                );
                m.rssi = e.rssi.min(back.rssi);
                m.far_battery = db.battery(e.neighbour);
                self.targets.push(self.index_of(e.neighbour).expect("every origin with an advert is a node"));
                self.push_metrics(m);
            }
            self.offsets.push(self.targets.len() as u32);
        }
        self.version = db.topology_version();
    }

    /// A graph of undirected links given directly (tests, simulations). Each `(a, b, m)` adds
    /// `a → b` and `b → a` with metrics `m`; a repeated pair keeps its first metrics;
    /// self-links are ignored.
    pub fn from_links<I>(links: I) -> Self
    where
        I: IntoIterator<Item = (NodeId, NodeId, LinkMetrics)>,
    {
        let mut directed: Vec<(NodeId, NodeId, LinkMetrics)> = Vec::new();
        for (a, b, m) in links {
            if a != b {
                directed.push((a, b, m));
                directed.push((b, a, m));
            }
        }
        directed.sort_by_key(|(a, b, _)| (*a, *b));
        directed.dedup_by_key(|(a, b, _)| (*a, *b));
        let mut nodes: Vec<NodeId> = directed.iter().map(|(a, _, _)| *a).collect();
        nodes.dedup();
        let mut g = Graph::new();
        for n in nodes {
            g.push_node(n);
        }
        let mut i = 0;
        for u in 0..g.nodes.len() {
            while i < directed.len() && directed[i].0 == g.nodes[u] {
                g.targets.push(g.index_of(directed[i].1).expect("every endpoint is a node"));
                g.push_metrics(directed[i].2);
                i += 1;
            }
            g.offsets.push(g.targets.len() as u32);
        }
        g
    }

    fn clear(&mut self) {
        self.nodes.clear();
        self.index.clear();
        self.offsets.clear();
        self.offsets.push(0);
        self.targets.clear();
        self.reliability.clear();
        self.unreliability.clear();
        self.small.clear();
    }

    fn push_node(&mut self, id: NodeId) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        let i = self.nodes.len() as u32;
        self.nodes.push(id);
        let nodes = &self.nodes;
        self.index.insert_unique(hash(id), i, |&j| hash(nodes[j as usize]));
    }

    /// The topology version of the database this graph was built from (0 for [`from_links`]).
    ///
    /// [`from_links`]: Graph::from_links
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of directed edges (twice the number of links).
    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }

    /// The dense index of `id`, O(1).
    pub fn index_of(&self, id: NodeId) -> Option<u32> {
        self.index.find(hash(id), |&j| self.nodes[j as usize] == id).copied()
    }

    /// The node at dense index `i`.
    pub fn node(&self, i: u32) -> NodeId {
        self.nodes[i as usize]
    }

    /// All nodes by dense index (ascending ids).
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// The range of edge indices leaving node `u`.
    pub fn edge_range(&self, u: u32) -> core::ops::Range<usize> {
        self.offsets[u as usize] as usize..self.offsets[u as usize + 1] as usize
    }

    /// The CSR arrays: `offsets` (node `u`'s edges are `offsets[u]..offsets[u + 1]`, one
    /// more entry than nodes) and `targets` (by edge). For tight loops over adjacency.
    pub(crate) fn csr(&self) -> (&[u32], &[u32]) {
        (&self.offsets, &self.targets)
    }

    /// The target node of edge `e`.
    pub fn target(&self, e: usize) -> u32 {
        self.targets[e]
    }

    /// The metrics of edge `e`.
    pub fn metrics(&self, e: usize) -> LinkMetrics {
        let s = self.small[e];
        LinkMetrics {
            latency_ms: s.latency_ms,
            reliability: self.reliability[e],
            congestion: s.congestion,
            bandwidth_kbps: s.bandwidth_kbps,
            rssi: s.rssi,
            far_battery: s.far_battery,
            unreliability: self.unreliability[e],
        }
    }

    fn push_metrics(&mut self, m: LinkMetrics) {
        self.reliability.push(m.reliability);
        self.unreliability.push(m.unreliability);
        self.small.push(SmallMetrics {
            latency_ms: m.latency_ms,
            bandwidth_kbps: m.bandwidth_kbps,
            rssi: m.rssi,
            congestion: m.congestion,
            far_battery: m.far_battery,
        });
    }

    /// The edge `u → v`, found by binary search in `u`'s sorted adjacency.
    pub fn edge(&self, u: u32, v: u32) -> Option<usize> {
        let r = self.edge_range(u);
        let start = r.start;
        self.targets[r].binary_search(&v).ok().map(|p| start + p)
    }

    /// The edge between two node ids, if the link is confirmed.
    pub fn edge_between(&self, a: NodeId, b: NodeId) -> Option<usize> {
        self.edge(self.index_of(a)?, self.index_of(b)?)
    }

    /// Degree (number of confirmed neighbours) of node `u`.
    pub fn degree(&self, u: u32) -> usize {
        self.edge_range(u).len()
    }
}

/// The hash of a node id in the index (fixed: the graph is never iterated by hash).
fn hash(id: NodeId) -> u64 {
    FixedState::default().hash_one(id)
}

/// Grows `v`'s capacity to exactly `n` when it is smaller.
fn reserve_to<T>(v: &mut Vec<T>, n: usize) {
    if v.capacity() < n {
        v.reserve_exact(n - v.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Instant;
    use crate::routing::lsdb::LinkAdvert;
    use alloc::vec;
    use core::time::Duration;

    fn adv(n: u64, latency_ms: u16, reliability: u8, congestion: u8, bw: u16) -> LinkAdvert {
        LinkAdvert { neighbour: NodeId(n), latency_ms, reliability, congestion, bandwidth_kbps: bw, rssi: -50 - n as i16 }
    }

    #[test]
    fn only_links_reported_by_both_ends_enter() {
        let mut db = LinkStateDb::new(Duration::from_secs(30));
        let t = Instant::ZERO;
        db.insert(NodeId(10), 1, vec![adv(20, 5, 255, 10, 900), adv(30, 5, 255, 0, 1000)], t);
        db.insert(NodeId(20), 1, vec![adv(10, 8, 204, 3, 1000)], t);
        db.insert(NodeId(30), 1, vec![], t); // does not confirm 10 — 30
        db.set_battery(NodeId(20), Some(40));
        let g = Graph::from_lsdb(&db);
        assert_eq!(g.nodes(), &[NodeId(10), NodeId(20), NodeId(30)]);
        assert_eq!(g.edge_count(), 2);
        assert_eq!(g.edge_between(NodeId(10), NodeId(30)), None);
        let e = g.edge_between(NodeId(10), NodeId(20)).unwrap();
        let m = g.metrics(e);
        assert_eq!(m.latency_ms, 8);
        assert_eq!(m.reliability, 0.8);
        assert_eq!(m.congestion, 10);
        assert_eq!(m.bandwidth_kbps, 900);
        assert_eq!(m.rssi, -70);
        assert_eq!(m.far_battery, Some(40));
        assert_eq!(m.energy_deficit(), 60);
        assert_eq!(m.unreliability, 223_144); // −ln 0.8 = 0.2231435…
        let back = g.metrics(g.edge_between(NodeId(20), NodeId(10)).unwrap());
        assert_eq!(back.far_battery, None);
        assert_eq!(back.energy_deficit(), 0);
        assert_eq!(g.version(), db.topology_version());
        assert_eq!(g.degree(g.index_of(NodeId(30)).unwrap()), 0);
    }

    #[test]
    fn zero_reliability_links_are_left_out_and_rebuild_reuses() {
        let mut db = LinkStateDb::new(Duration::from_secs(30));
        db.insert(NodeId(1), 1, vec![adv(2, 1, 0, 0, 1)], Instant::ZERO);
        db.insert(NodeId(2), 1, vec![adv(1, 1, 255, 0, 1)], Instant::ZERO);
        let mut g = Graph::from_lsdb(&db);
        assert_eq!(g.edge_count(), 0);
        db.insert(NodeId(1), 2, vec![adv(2, 1, 255, 0, 1)], Instant::ZERO);
        g.rebuild(&db);
        assert_eq!(g.edge_count(), 2);
        assert_eq!(g.edge(0, 1), Some(0));
        assert_eq!(g.target(g.edge(1, 0).unwrap()), 0);
    }

    #[test]
    fn from_links_is_symmetric_and_sorted() {
        let m = LinkMetrics::new(1, 1.0, 0, 100);
        let g = Graph::from_links([(NodeId(5), NodeId(3), m), (NodeId(3), NodeId(9), m), (NodeId(3), NodeId(5), m)]);
        assert_eq!(g.nodes(), &[NodeId(3), NodeId(5), NodeId(9)]);
        assert_eq!(g.edge_count(), 4);
        let r = g.edge_range(0);
        assert_eq!((g.target(r.start), g.target(r.start + 1)), (1, 2));
        assert_eq!(unreliability_micros(1.0), 0);
        assert_eq!(unreliability_micros(0.5), 693_147);
    }
}
