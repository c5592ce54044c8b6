//! Commands of the binary that are not the service: the benchmarks and the corpus.

mod accuracy_bench;
pub mod bench;
pub mod corpus;
mod delivery_bench;
mod hostile_bench;
