//! lockpath: a static analyser for Linux kernel lock bugs.
//!
//! See ARCHITECTURE.md for the stages and their invariants.

pub mod analysis;
pub mod checks;
pub mod debug;
pub mod discover;
pub mod driver;
pub mod extract;
pub mod finding;
pub mod fuzzing;
pub mod index;
pub mod ir;
pub mod model;
pub mod output;
pub mod overlay;
