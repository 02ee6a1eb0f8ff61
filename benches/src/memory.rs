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
//!
//! [`measure_session`] measures the same mesh with one active game session of all 50 nodes
//! ([`SessionLoad`]): after convergence every node joins, then each submits a small game
//! event at a steady rate until the sessions' logs are full, and the nodes are measured as
//! above.

use core::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use core::time::Duration;
use std::alloc::{GlobalAlloc, Layout, System};

use blemesh_core::session::SessionId;
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
    take_nodes(converged_harness(adjust))
}

/// The harness of the measured mesh, converged (see [`measure`]).
fn converged_harness(adjust: fn(Config) -> Config) -> Harness {
    let topo = random_connected(MESH_NODES, MESH_NODES / 2, 7, 50);
    let mut h = Harness::with_config(topo.clone(), HarnessConfig::default(), |_, c| adjust(c));
    h.run_for(Duration::from_secs(30));
    for i in 0..MESH_NODES {
        assert_eq!(h.confirmed_neighbours(i), topo.neighbours(i), "node {i} converged");
        assert!(h.nodes[i].registry().len() >= MESH_NODES - 1, "node {i} heard every other node");
    }
    h
}

/// The harness's nodes, with their `Node::buffer_bytes`.
fn take_nodes(mut h: Harness) -> (Vec<Node>, Vec<usize>) {
    let buffer_bytes = h.nodes.iter().map(Node::buffer_bytes).collect();
    (std::mem::take(&mut h.nodes), buffer_bytes)
}

/// The game session of [`measure_session`].
pub const SESSION: SessionId = SessionId(0x6a6d);

/// The session workload of [`measure_session`]: every node of the mesh joins [`SESSION`],
/// then each submits a `payload`-byte event every `submit_every` (staggered evenly) for
/// `play`, and the mesh runs on for `settle` so that every node delivered every entry.
#[derive(Clone, Copy, Debug)]
pub struct SessionLoad {
    /// Bytes of each event.
    pub payload: usize,
    /// Each player's interval between two submits.
    pub submit_every: Duration,
    /// How long the players submit.
    pub play: Duration,
    /// Quiet time after the last submit, before the nodes are measured.
    pub settle: Duration,
}

impl Default for SessionLoad {
    /// 16-byte events, one per player every second (50 entries a second in all) for 20 s:
    /// about 1,000 entries, four times a default log (`SessionConfig::log_entries`, 256).
    fn default() -> Self {
        SessionLoad {
            payload: 16,
            submit_every: Duration::from_secs(1),
            play: Duration::from_secs(20),
            settle: Duration::from_secs(2),
        }
    }
}

/// What [`measure_session`] found.
#[derive(Clone, Debug)]
pub struct SessionMemoryReport {
    /// Bytes per node, as [`measure`] reports them.
    pub memory: MemoryReport,
    /// Submits made (each sequenced).
    pub submitted: usize,
    /// Entries each node delivered (joins and events), the fewest of any node.
    pub delivered_min: u64,
    /// Entries in each node's session log, the fewest of any node.
    pub log_min: usize,
    /// Heap of each node's game sessions (`Node::drop_by_part`'s "game sessions").
    pub session_heap: Vec<usize>,
}

impl SessionMemoryReport {
    /// Mean heap of a node's game sessions.
    pub fn session_mean(&self) -> usize {
        self.session_heap.iter().sum::<usize>() / self.session_heap.len()
    }

    /// Largest heap of one node's game sessions.
    pub fn session_max(&self) -> usize {
        self.session_heap.iter().copied().max().unwrap_or(0)
    }
}

/// The converged mesh of [`measure`] after `load` played [`SESSION`] on it.
fn session_harness(adjust: fn(Config) -> Config, load: SessionLoad) -> (Harness, usize) {
    let mut h = converged_harness(adjust);
    for i in 0..MESH_NODES {
        h.join_session(i, SESSION, format!("player{i:02}").as_bytes()).expect("join");
    }
    let by = h.now() + Duration::from_secs(30);
    while !(0..MESH_NODES).all(|i| h.nodes[i].session(SESSION).is_some_and(|s| s.is_member())) {
        assert!(h.now() < by, "every node joined within 30 s");
        h.run_for(Duration::from_millis(100));
    }
    let mut payload = vec![0u8; load.payload];
    let gap = load.submit_every / MESH_NODES as u32;
    let rounds = (load.play.as_micros() / load.submit_every.as_micros().max(1)) as usize;
    let mut submitted = 0usize;
    for _ in 0..rounds {
        for i in 0..MESH_NODES {
            let n = submitted.to_be_bytes();
            let k = n.len().min(payload.len());
            payload[..k].copy_from_slice(&n[n.len() - k..]);
            h.submit(i, SESSION, &payload).expect("submit");
            submitted += 1;
            h.run_for(gap);
        }
    }
    h.run_for(load.settle);
    (h, submitted)
}

/// [`measure`] with one active session of all 50 nodes, played by `load`. Panics if
/// [`CountingAlloc`] is not installed, or if a node did not deliver every entry.
pub fn measure_session(name: &'static str, adjust: fn(Config) -> Config, load: SessionLoad) -> SessionMemoryReport {
    assert!(counting_installed(), "install blemesh_benches::memory::CountingAlloc as the global allocator");
    let fresh = Node::new(adjust(Config::new(NodeId(1), 1)), Instant::ZERO).expect("valid config");
    let fresh_heap = heap_freed_by_drop(fresh);
    let (h, submitted) = session_harness(adjust, load);
    let sessions: Vec<_> = h.nodes.iter().map(|n| n.session(SESSION).expect("a member holds its session")).collect();
    let delivered_min = sessions.iter().map(|s| s.delivered()).min().unwrap_or(0);
    let log_min = sessions.iter().map(|s| s.log().len()).min().unwrap_or(0);
    let delivered_max = sessions.iter().map(|s| s.delivered()).max().unwrap_or(0);
    assert_eq!(delivered_min, delivered_max, "every node delivered the same entries");
    let (nodes, buffer_bytes) = take_nodes(h);
    let mut converged_heap = Vec::with_capacity(nodes.len());
    let mut session_heap = Vec::with_capacity(nodes.len());
    for node in nodes {
        let before = net_bytes();
        let mut sessions = 0;
        node.drop_by_part(&mut |name, drop_it| {
            let b = net_bytes();
            drop_it();
            if name == "game sessions" {
                sessions = (b - net_bytes()).max(0) as usize;
            }
        });
        converged_heap.push((before - net_bytes()).max(0) as usize);
        session_heap.push(sessions);
    }
    let memory = MemoryReport { config: name, inline: size_of::<Node>(), fresh_heap, converged_heap, buffer_bytes };
    SessionMemoryReport { memory, submitted, delivered_min, log_min, session_heap }
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
    parts_of(converged_mesh(adjust).0)
}

/// [`measure_parts`] for the mesh of [`measure_session`], after `load`.
pub fn measure_session_parts(adjust: fn(Config) -> Config, load: SessionLoad) -> Vec<PartBytes> {
    assert!(counting_installed(), "install blemesh_benches::memory::CountingAlloc as the global allocator");
    parts_of(take_nodes(session_harness(adjust, load).0).0)
}

fn parts_of(nodes: Vec<Node>) -> Vec<PartBytes> {
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
