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
mod server;
mod session;

/// `lockpath check PATHS` as the library takes it: no cache, no progress.
pub fn check_options(
    paths: Vec<std::path::PathBuf>,
    tree_context: bool,
    overlay: lockpath::overlay::Overlay,
) -> lockpath::driver::Options {
    lockpath::driver::Options {
        held_at: Vec::new(),
        paths,
        tree_context,
        max_file_size: 16 << 20,
        want_order_graph: false,
        progress: false,
        overlay,
        cache_dir: None,
        watch: None,
    }
}
