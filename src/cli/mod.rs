//! Commands of the binary that are not the service: the benchmarks.

pub mod bench;
mod delivery_bench;
mod hostile_bench;
