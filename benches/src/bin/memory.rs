//! Prints the bytes held per node in a converged 50-node mesh (see `blemesh_benches::memory`).
//!
//! `cargo run --release -p blemesh-benches --bin memory` (tables), add `-- --parts` for the
//! heap of a converged node part by part (each part dropped alone under the counting allocator),
//! `-- --session` for the same mesh with one active game session of all 50 nodes (and
//! `-- --session --parts` for its parts).
#![allow(clippy::print_stdout)]

use blemesh_benches::memory::{
    CountingAlloc, SessionLoad, breakdown, default_config, measure, measure_parts, measure_session, measure_session_parts,
    sized_for_64,
};
use blemesh_core::{Config, NodeId};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    let session = std::env::args().any(|a| a == "--session");
    let parts = std::env::args().any(|a| a == "--parts");
    if session && parts {
        println!("Heap of a node of the 50-node mesh with one active 50-player session by part, defaults:");
        println!();
        println!("| part | mean bytes | max bytes |");
        println!("| --- | ---: | ---: |");
        for p in measure_session_parts(default_config, SessionLoad::default()) {
            println!("| {} | {} | {} |", p.name, p.mean, p.max);
        }
        return;
    }
    if session {
        let load = SessionLoad::default();
        println!("One session of all 50 nodes: {load:?}");
        println!();
        println!("| configuration | mean per node | max per node | sessions' heap: mean | max | entries delivered | log entries |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        let r = measure("defaults", default_config);
        println!("| defaults, no session | {} B | {} B | | | | |", r.mean_per_node(), r.max_per_node());
        let s = measure_session("defaults", default_config, load);
        println!(
            "| defaults, one session | {} B ({:.1} KiB) | {} B ({:.1} KiB) | {} B | {} B | {} | {} |",
            s.memory.mean_per_node(),
            s.memory.mean_per_node() as f64 / 1024.0,
            s.memory.max_per_node(),
            s.memory.max_per_node() as f64 / 1024.0,
            s.session_mean(),
            s.session_max(),
            s.delivered_min,
            s.log_min
        );
        return;
    }
    if parts {
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
