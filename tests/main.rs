//! All integration tests, compiled into one binary.

mod cache;
mod cli;
mod fixtures;
mod fuzz_regressions;
mod lsp;
mod overlay;
mod real_kernel;
mod render;
mod series;
mod session;
