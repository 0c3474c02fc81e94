//! All integration tests, compiled into one binary.

mod cache;
mod cli;
mod fixtures;
mod lsp;
mod fuzz_regressions;
mod overlay;
mod real_kernel;
mod render;
mod series;
