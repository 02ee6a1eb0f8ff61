//! Flood duplicate check: blemesh's [`DuplicateCache`] (and the whole [`Flood::admit`]) beside
//! `schnellru`'s LRU map and a `std` `HashSet` + FIFO ring doing the same bounded job, on the
//! same key stream and the same capacity.
//!
//! The job: for each received message id, answer "seen before?" and remember it, keeping
//! only the last `CAPACITY` ids. Every contender evicts the oldest *inserted* id (the LRU map
//! is only peeked, never promoted, so it is FIFO too) and must give the same answers: the
//! harness asserts the duplicate counts agree before measuring.

use std::collections::{HashSet, VecDeque};
use std::hint::black_box;

use blemesh_core::flood::{Admission, DuplicateCache, Flood};
use blemesh_core::{Config, Instant, LinkId, MessageId, NodeId};
use criterion::{BenchmarkId, Criterion, Throughput};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use schnellru::{ByLength, LruMap};

/// Ids remembered: the node's default `Config::duplicate_cache`.
pub const CAPACITY: usize = 1024;
/// Ids per measured batch.
pub const STREAM: usize = 4096;

/// A seeded stream of ids as a relay sees them: 32 origins sending in sequence, each frame
/// heard on average 1.5 times (about a third of the stream are duplicates of recent ids).
pub fn key_stream(seed: u64) -> Vec<MessageId> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seqs = [0u32; 32];
    let mut out: Vec<MessageId> = Vec::with_capacity(STREAM);
    while out.len() < STREAM {
        if out.len() > 8 && rng.next_u32() % 3 == 0 {
            // A copy of one of the last 64 ids.
            let back = 1 + (rng.next_u32() as usize % 64).min(out.len() - 1);
            let id = out[out.len() - back];
            out.push(id);
        } else {
            let o = rng.next_u32() as usize % 32;
            seqs[o] += 1;
            out.push(MessageId { origin: NodeId(o as u64 + 1), seq: seqs[o] });
        }
    }
    out
}

/// The `std` contender: a `HashSet` (SipHash) over a FIFO ring.
#[derive(Debug)]
pub struct StdDupSet {
    set: HashSet<MessageId>,
    ring: VecDeque<MessageId>,
    cap: usize,
}

impl StdDupSet {
    /// An empty set of `cap` ids.
    pub fn new(cap: usize) -> Self {
        StdDupSet { set: HashSet::with_capacity(2 * cap + 1), ring: VecDeque::with_capacity(cap), cap }
    }

    /// Remembers `id`; false if it was there.
    pub fn insert(&mut self, id: MessageId) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        if self.ring.len() == self.cap {
            let old = self.ring.pop_front().expect("full ring");
            self.set.remove(&old);
        }
        self.ring.push_back(id);
        true
    }
}

/// The schnellru contender, used as a FIFO (peek, never promote).
pub fn lru_insert(map: &mut LruMap<MessageId, (), ByLength>, id: MessageId) -> bool {
    if map.peek(&id).is_some() {
        return false;
    }
    map.insert(id, ());
    true
}

/// Duplicates each contender finds in `keys` (they must agree).
pub fn duplicate_counts(keys: &[MessageId]) -> [usize; 3] {
    let mut ours = DuplicateCache::new(CAPACITY, 1);
    let mut lru = LruMap::new(ByLength::new(CAPACITY as u32));
    let mut std = StdDupSet::new(CAPACITY);
    let mut n = [0; 3];
    for &id in keys {
        n[0] += usize::from(!ours.insert(id));
        n[1] += usize::from(!lru_insert(&mut lru, id));
        n[2] += usize::from(!std.insert(id));
    }
    n
}

/// Registers the duplicate-check benchmarks.
pub fn benchmarks(c: &mut Criterion) {
    let keys = key_stream(7);
    let counts = duplicate_counts(&keys);
    assert!(counts.iter().all(|n| *n == counts[0]), "contenders disagree: {counts:?}");

    let mut g = c.benchmark_group("dupcheck");
    g.throughput(Throughput::Elements(keys.len() as u64));
    // Warm state, reused across iterations: each batch offers the same 4096 ids again, so
    // after the first batch every contender runs in steady state (full, evicting).
    let mut ours = DuplicateCache::new(CAPACITY, 1);
    g.bench_function(BenchmarkId::new("blemesh_DuplicateCache", CAPACITY), |b| {
        b.iter(|| {
            let mut dups = 0usize;
            for &id in black_box(&keys) {
                dups += usize::from(!ours.insert(id));
            }
            dups
        })
    });
    let mut lru = LruMap::new(ByLength::new(CAPACITY as u32));
    g.bench_function(BenchmarkId::new("schnellru_LruMap", CAPACITY), |b| {
        b.iter(|| {
            let mut dups = 0usize;
            for &id in black_box(&keys) {
                dups += usize::from(!lru_insert(&mut lru, id));
            }
            dups
        })
    });
    let mut std = StdDupSet::new(CAPACITY);
    g.bench_function(BenchmarkId::new("std_HashSet_ring", CAPACITY), |b| {
        b.iter(|| {
            let mut dups = 0usize;
            for &id in black_box(&keys) {
                dups += usize::from(!std.insert(id));
            }
            dups
        })
    });

    // The node's whole admission (sequence window + cache). Sequence numbers grow from batch
    // to batch so the windows keep sliding instead of calling everything stale.
    let mut config = Config::new(NodeId(1000), 1);
    config.duplicate_cache = CAPACITY;
    let mut flood = Flood::new(&config);
    let mut round = 0u32;
    g.bench_function(BenchmarkId::new("blemesh_Flood_admit", CAPACITY), |b| {
        b.iter(|| {
            round += 1;
            let base = round * STREAM as u32;
            let mut dups = 0usize;
            for &id in black_box(&keys) {
                let id = MessageId { origin: id.origin, seq: id.seq + base };
                dups += usize::from(flood.admit(Instant::ZERO, id, Some((LinkId(0), 1))) != Admission::New);
            }
            dups
        })
    });
    g.finish();
}
