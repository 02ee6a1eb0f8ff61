//! The one criterion harness: every module's `benchmarks`.
//!
//! `cargo bench -p blemesh-benches` (all), `-- --test` (each once, CI smoke), `-- --quick`.

use criterion::{criterion_group, criterion_main};

criterion_group!(
    benches,
    blemesh_benches::wire::benchmarks,
    blemesh_benches::dupcheck::benchmarks,
    blemesh_benches::routing::benchmarks,
    blemesh_benches::forwarding::benchmarks,
    blemesh_benches::security::benchmarks,
);
criterion_main!(benches);
