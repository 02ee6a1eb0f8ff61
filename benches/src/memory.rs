//! Bytes held by one node in a converged 50-node mesh, measured with a counting allocator.
//!
//! [`CountingAlloc`] forwards to the system allocator and keeps the net number of bytes
//! allocated and not yet freed. A binary that installs it as its `#[global_allocator]` (the
//! `memory` binary, the `memory` test) calls [`measure`], which:
//!
//! 1. builds a 50-node seeded random mesh in the in-process harness (degree ≤ 7) and runs it
//!    for 30 s of virtual time: handshakes, heartbeats, announcements flooded everywhere;
//! 2. takes the nodes out of the harness and drops them one by one: the bytes each drop
//!    frees are exactly the heap that node held (buffers, tables, queues, pools), whatever
//!    the harness allocated around it;
//! 3. adds `size_of::<Node>()`, the node's inline part.
//!
//! It also measures a freshly constructed node (`Node::new`, no link yet) the same way.

use core::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use core::time::Duration;
use std::alloc::{GlobalAlloc, Layout, System};

use blemesh_core::{Config, Instant, Node, NodeId};
use blemesh_tests::{Harness, HarnessConfig, random_connected};

static NET: AtomicIsize = AtomicIsize::new(0);
static CALLS: AtomicUsize = AtomicUsize::new(0);

/// A global allocator counting net bytes. Install it with
/// `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
#[derive(Debug)]
pub struct CountingAlloc;

// SAFETY: every method forwards to `System` with the caller's arguments; the counters are
// atomics that never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            NET.fetch_add(layout.size() as isize, Ordering::Relaxed);
            CALLS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            NET.fetch_add(layout.size() as isize, Ordering::Relaxed);
            CALLS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) };
        NET.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            NET.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
            CALLS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }
}

/// Net bytes allocated and not freed so far (process-wide).
pub fn net_bytes() -> isize {
    NET.load(Ordering::SeqCst)
}

/// Whether [`CountingAlloc`] is the global allocator of this binary.
pub fn counting_installed() -> bool {
    let before = CALLS.load(Ordering::SeqCst);
    let b = std::hint::black_box(Box::new([0u8; 64]));
    drop(b);
    CALLS.load(Ordering::SeqCst) > before
}

/// Nodes of the measured mesh.
pub const MESH_NODES: usize = 50;

/// What [`measure`] found, in bytes.
#[derive(Clone, Debug)]
pub struct MemoryReport {
    /// Name of the configuration.
    pub config: &'static str,
    /// `size_of::<Node>()`.
    pub inline: usize,
    /// Heap of a node just constructed.
    pub fresh_heap: usize,
    /// Heap of each node of the converged mesh.
    pub converged_heap: Vec<usize>,
    /// `Node::buffer_bytes` of each converged node (frame buffers only), for comparison.
    pub buffer_bytes: Vec<usize>,
}

impl MemoryReport {
    /// Mean bytes per converged node, inline part included.
    pub fn mean_per_node(&self) -> usize {
        self.inline + self.converged_heap.iter().sum::<usize>() / self.converged_heap.len()
    }

    /// Largest bytes of one converged node, inline part included.
    pub fn max_per_node(&self) -> usize {
        self.inline + self.converged_heap.iter().copied().max().unwrap_or(0)
    }
}

fn heap_freed_by_drop<T>(value: T) -> usize {
    let before = net_bytes();
    drop(value);
    (before - net_bytes()).max(0) as usize
}

/// The default configuration.
pub fn default_config(c: Config) -> Config {
    c
}

/// Capacities sized for a mesh of up to 64 nodes (the tables the defaults size for 256).
pub fn sized_for_64(mut c: Config) -> Config {
    c.max_nodes = 64;
    c.max_sources = 64;
    c.duplicate_cache = 256;
    c.transmit_queue = 256;
    c.delivery_queue = 32;
    c.event_queue = 32;
    c.max_reassemblies = 4;
    c
}

/// Heap bytes of the node's building blocks that are public, constructed alone with
/// `config`: (name, bytes). What remains of a fresh node is the output queues and buffer pool,
/// the link table and the encoding scratch buffer.
pub fn breakdown(config: &Config) -> Vec<(&'static str, usize)> {
    use blemesh_core::flood::{DuplicateCache, Flood, RelayTable};
    use blemesh_core::neighbour::NodeRegistry;
    use blemesh_core::wire::reassembly::Reassembler;
    assert!(counting_installed(), "install blemesh_benches::memory::CountingAlloc as the global allocator");
    let fresh = heap_freed_by_drop(Node::new(config.clone(), Instant::ZERO).expect("valid config"));
    let flood = heap_freed_by_drop(Flood::new(config));
    let cache = heap_freed_by_drop(DuplicateCache::new(config.duplicate_cache, 1));
    let relays = heap_freed_by_drop(RelayTable::new(config.max_pending_relays));
    let registry = heap_freed_by_drop(NodeRegistry::new(config.max_nodes, config.node_gone_after, 1));
    let reassembly = heap_freed_by_drop(Reassembler::new(
        config.max_reassemblies,
        config.max_message_size,
        config.reassembly_timeout,
    ));
    vec![
        ("whole fresh node", fresh),
        ("flood: duplicate cache", cache),
        ("flood: relay table", relays),
        ("flood: sequence windows (rest of Flood)", flood - cache - relays),
        ("node registry", registry),
        ("reassembler", reassembly),
        ("rest: outbox queues + buffer pool, links, scratch", fresh - flood - registry - reassembly),
    ]
}

/// Runs the measurement with `adjust` applied to every node's configuration. Panics if
/// [`CountingAlloc`] is not installed.
pub fn measure(name: &'static str, adjust: fn(Config) -> Config) -> MemoryReport {
    assert!(counting_installed(), "install blemesh_benches::memory::CountingAlloc as the global allocator");
    let fresh = Node::new(adjust(Config::new(NodeId(1), 1)), Instant::ZERO).expect("valid config");
    let fresh_heap = heap_freed_by_drop(fresh);

    let (nodes, buffer_bytes) = converged_mesh(adjust);
    let converged_heap = nodes.into_iter().map(heap_freed_by_drop).collect();
    MemoryReport { config: name, inline: size_of::<Node>(), fresh_heap, converged_heap, buffer_bytes }
}

/// The nodes of the measured mesh after convergence (see [`measure`]), with their
/// `Node::buffer_bytes`.
fn converged_mesh(adjust: fn(Config) -> Config) -> (Vec<Node>, Vec<usize>) {
    let topo = random_connected(MESH_NODES, MESH_NODES / 2, 7, 50);
    let mut h = Harness::with_config(topo.clone(), HarnessConfig::default(), |_, c| adjust(c));
    h.run_for(Duration::from_secs(30));
    for i in 0..MESH_NODES {
        assert_eq!(h.confirmed_neighbours(i), topo.neighbours(i), "node {i} converged");
        assert!(h.nodes[i].registry().len() >= MESH_NODES - 1, "node {i} heard every other node");
    }
    let buffer_bytes = h.nodes.iter().map(Node::buffer_bytes).collect();
    (std::mem::take(&mut h.nodes), buffer_bytes)
}

/// Heap of one part of a converged node, over the nodes of the measured mesh.
#[derive(Clone, Debug)]
pub struct PartBytes {
    /// The part's name (as `Node::drop_by_part` gives it).
    pub name: &'static str,
    /// Mean bytes per node.
    pub mean: usize,
    /// Largest bytes of one node.
    pub max: usize,
}

/// Heap of each part of a converged node (the mesh of [`measure`]), found by dropping the
/// node's parts one at a time under the counting allocator; `"rest"` is whatever the
/// named parts did not free. Panics if [`CountingAlloc`] is not installed.
pub fn measure_parts(adjust: fn(Config) -> Config) -> Vec<PartBytes> {
    assert!(counting_installed(), "install blemesh_benches::memory::CountingAlloc as the global allocator");
    let (nodes, _) = converged_mesh(adjust);
    let mut per_node: Vec<Vec<(&'static str, usize)>> = Vec::with_capacity(nodes.len());
    for node in nodes {
        let mut parts: Vec<(&'static str, usize)> = Vec::with_capacity(64);
        let before = net_bytes();
        node.drop_by_part(&mut |name, drop_it| {
            let b = net_bytes();
            drop_it();
            parts.push((name, (b - net_bytes()).max(0) as usize));
        });
        let total = (before - net_bytes()).max(0) as usize;
        let named: usize = parts.iter().map(|p| p.1).sum();
        parts.push(("rest", total.saturating_sub(named)));
        parts.push(("total heap", total));
        per_node.push(parts);
    }
    let names: Vec<&'static str> = per_node[0].iter().map(|p| p.0).collect();
    names
        .iter()
        .enumerate()
        .map(|(i, &name)| {
            let bytes: Vec<usize> = per_node.iter().map(|p| p[i].1).collect();
            PartBytes { name, mean: bytes.iter().sum::<usize>() / bytes.len(), max: bytes.iter().copied().max().unwrap_or(0) }
        })
        .collect()
}
