//! SPF against petgraph's Dijkstra, interleaved: a robust cross-check of the criterion
//! ratios on a loaded machine. For each size, 201 alternating rounds each time a short batch
//! of runs of each contender on the same graph (the criterion set-up: `mesh(n, n)`, weights of
//! `Policy::HIGH`, distances asserted equal first); the best round of each is compared, since
//! load from other processes only ever adds time.
//!
//! A third contender runs ours on the same weights scaled by `2^k`, large enough that the
//! narrow `u64` keys cannot hold the costs: the same shortest paths (scaling keeps the order,
//! ties included) computed with the wide `u128` keys: what the narrow keys gain.
//!
//! `cargo run --release -p blemesh-benches --bin spf_interleaved`
#![allow(clippy::print_stdout)] // a report printer

use std::hint::black_box;
use std::time::{Duration, Instant};

use blemesh_benches::routing::{assert_same_distances, mesh, our_graph, petgraph_graph};
use blemesh_core::routing::{Policy, Spf};
use petgraph::graph::NodeIndex;

/// Time per run of each contender, best of `rounds` interleaved batches of `batch` runs.
fn best_of<const N: usize>(rounds: usize, batch: u32, contenders: &mut [&mut dyn FnMut(); N]) -> [Duration; N] {
    let mut best = [Duration::MAX; N];
    for _ in 0..rounds {
        for (f, b) in contenders.iter_mut().zip(best.iter_mut()) {
            let t = Instant::now();
            for _ in 0..batch {
                f();
            }
            *b = (*b).min(t.elapsed() / batch);
        }
    }
    best
}

fn main() {
    println!("| nodes | blemesh Spf::run | same, wide keys | petgraph dijkstra | petgraph / ours | petgraph / ours wide |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for n in [50usize, 1_000, 5_000] {
        let links = mesh(n, n as u64);
        let graph = our_graph(&links);
        let policy = Policy::HIGH;
        let weights: Vec<u64> = (0..graph.edge_count()).map(|e| policy.link_cost(&graph.metrics(e))).collect();
        let pg = petgraph_graph(n, &links, &policy);
        let mut spf = Spf::new();
        spf.run(&graph, 0, &weights, None);
        assert_same_distances(&graph, &spf, &pg);
        // The smallest scaling that makes n × largest weight reach 2^(64 − 2b).
        let bits = usize::BITS - n.leading_zeros();
        let bound = n as u64 * weights.iter().copied().max().unwrap_or(1);
        let shift = (64 - 2 * bits).saturating_sub(64 - bound.leading_zeros()) + 1;
        let scaled: Vec<u64> = weights.iter().map(|w| w << shift).collect();
        let mut wide = Spf::new();
        wide.run(&graph, 0, &scaled, None);
        for v in 0..n as u32 {
            assert_eq!((wide.dist(v).cost >> shift, wide.dist(v).hops, wide.prev(v)), (spf.dist(v).cost, spf.dist(v).hops, spf.prev(v)));
        }
        let batch = (20_000 / n).max(1) as u32;
        let [ours, ours_wide, theirs] = best_of(
            201,
            batch,
            &mut [
                &mut || spf.run(black_box(&graph), 0, black_box(&weights), None),
                &mut || wide.run(black_box(&graph), 0, black_box(&scaled), None),
                &mut || {
                    black_box(petgraph::algo::dijkstra(black_box(&pg), NodeIndex::new(0), None, |e| *e.weight()));
                },
            ],
        );
        let r = |x: Duration| theirs.as_secs_f64() / x.as_secs_f64();
        println!("| {n} | {ours:.2?} | {ours_wide:.2?} | {theirs:.2?} | {:.2}× | {:.2}× |", r(ours), r(ours_wide));
    }
}
