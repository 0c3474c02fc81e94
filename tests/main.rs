//! All integration tests, compiled into one binary.

mod cli;
mod fixtures;
mod fuzz_regressions;
mod overlay;
mod real_kernel;
mod render;
