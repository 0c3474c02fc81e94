//! lockpath: a static analyser for Linux kernel lock bugs.
//!
//! See ARCHITECTURE.md for the stages and their invariants.

pub mod analysis;
pub mod cache;
pub mod checks;
pub mod config;
pub mod debug;
pub mod discover;
pub mod driver;
pub mod extract;
pub mod finding;
pub mod fuzzing;
pub mod identity;
pub mod index;
pub mod ir;
pub mod lines;
pub mod load;
pub mod lsp;
pub mod model;
pub mod ordered;
pub mod output;
pub mod overlay;
pub mod series;
pub mod server;
pub mod session;
pub mod wrappers;
