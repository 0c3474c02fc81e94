//! All integration tests, compiled into one binary.

mod cli;
mod fixtures;
mod real_kernel;
mod render;
