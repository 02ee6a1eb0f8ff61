//! Prints the bytes held per node in a converged 50-node mesh (see `blemesh_benches::memory`).
//!
//! `cargo run --release -p blemesh-benches --bin memory` (tables), add `-- --parts` for the
//! heap of a converged node part by part (each part dropped alone under the counting allocator).
#![allow(clippy::print_stdout)]

use blemesh_benches::memory::{CountingAlloc, breakdown, default_config, measure, measure_parts, sized_for_64};
use blemesh_core::{Config, NodeId};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    if std::env::args().any(|a| a == "--parts") {
        println!("Heap of a converged node of the 50-node mesh by part, defaults:");
        println!();
        println!("| part | mean bytes | max bytes |");
        println!("| --- | ---: | ---: |");
        for p in measure_parts(default_config) {
            println!("| {} | {} | {} |", p.name, p.mean, p.max);
        }
        return;
    }
    println!("| configuration | size_of::<Node>() | fresh node heap | converged: mean per node | converged: max per node | buffer_bytes (mean) |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, adjust) in [("defaults", default_config as fn(_) -> _), ("sized for 64 nodes", sized_for_64)] {
        let r = measure(name, adjust);
        let buf_mean = r.buffer_bytes.iter().sum::<usize>() / r.buffer_bytes.len();
        println!(
            "| {} | {} B | {} B | {} B ({:.1} KiB) | {} B ({:.1} KiB) | {} B |",
            r.config,
            r.inline,
            r.fresh_heap,
            r.mean_per_node(),
            r.mean_per_node() as f64 / 1024.0,
            r.max_per_node(),
            r.max_per_node() as f64 / 1024.0,
            buf_mean
        );
    }
    for (name, adjust) in [("defaults", default_config as fn(_) -> _), ("sized for 64 nodes", sized_for_64)] {
        println!();
        println!("Fresh-node heap by part, {name}:");
        println!();
        println!("| part | bytes |");
        println!("| --- | ---: |");
        for (part, bytes) in breakdown(&adjust(Config::new(NodeId(1), 1))) {
            println!("| {part} | {bytes} |");
        }
    }
}
