//! The parse-only floor for benchmarks: what it costs just to read and parse
//! exactly the files `lockpath check` reads, with no extraction and no
//! analysis. `bench/run.sh` compares lockpath's wall time with this one.
//!
//! ```text
//! cargo run --release --example parse_floor -- [--no-tree-context] [-j N] [--max-file-size MIB] PATHS...
//! ```
//!
//! The file list comes from `lockpath::discover::discover`, the same call the
//! driver makes, so inputs and tree context (`include/`, `arch/x86/include/`)
//! are the same files. Files the driver would skip (missing, not regular,
//! over the size limit, NUL bytes in the first 8 KiB) are skipped here too and
//! counted apart. Work is spread with rayon, one `Parser` per thread via
//! `map_init`, and every tree is dropped as soon as it is built.

use rayon::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: parse_floor [--no-tree-context] [-j N] [--max-file-size MIB] PATHS...";

struct Args {
    paths: Vec<PathBuf>,
    tree_context: bool,
    jobs: Option<usize>,
    max_file_size: u64,
}

/// What one file cost: bytes parsed, or why it was not.
enum Outcome {
    Parsed { bytes: u64, has_error: bool },
    Skipped,
}

// The floor parses as lockpath does: tree-sitter and the rest on mimalloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[allow(unsafe_code)]
fn main() -> ExitCode {
    // SAFETY: nothing has touched tree-sitter yet.
    unsafe { lockpath::load::setup_allocator() };
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("parse_floor: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(16 << 20);
    if let Some(j) = args.jobs {
        pool = pool.num_threads(j.max(1));
    }
    let pool = match pool.build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("parse_floor: cannot start worker threads: {e}");
            return ExitCode::from(2);
        }
    };

    let start = Instant::now();
    let found = lockpath::discover::discover(&args.paths, args.tree_context, &Default::default());
    for m in &found.missing {
        eprintln!("parse_floor: {}: no such file or directory", m.display());
    }
    let inputs = found.inputs.len();
    let files: Vec<PathBuf> = found.inputs.into_iter().chain(found.context).map(|(p, _)| p).collect();
    let max = args.max_file_size;
    let outcomes: Vec<Outcome> =
        pool.install(|| files.par_iter().map_init(new_parser, |parser, path| parse_one(parser, path, max)).collect());
    let secs = start.elapsed().as_secs_f64();

    let mut parsed = 0usize;
    let mut skipped = 0usize;
    let mut with_errors = 0usize;
    let mut bytes = 0u64;
    for o in &outcomes {
        match o {
            Outcome::Parsed { bytes: b, has_error } => {
                parsed += 1;
                bytes += b;
                with_errors += usize::from(*has_error);
            }
            Outcome::Skipped => skipped += 1,
        }
    }
    let mb = bytes as f64 / 1e6;
    println!(
        "parse_floor: files {parsed} (inputs {inputs}, context {}), skipped {skipped}, with ERROR nodes {with_errors}",
        files.len() - inputs
    );
    println!(
        "parse_floor: bytes {bytes} ({mb:.1} MB), seconds {secs:.3}, MB/s {:.1}, threads {}",
        if secs > 0.0 { mb / secs } else { 0.0 },
        pool.current_num_threads()
    );
    if !found.missing.is_empty() || parsed == 0 {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { paths: Vec::new(), tree_context: true, jobs: None, max_file_size: 16 };
    let mut it = std::env::args_os().skip(1);
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--no-tree-context") => args.tree_context = false,
            Some("-j" | "--jobs") => args.jobs = Some(number(it.next(), "-j")? as usize),
            Some("--max-file-size") => args.max_file_size = number(it.next(), "--max-file-size")?,
            Some("-h" | "--help") => return Err("the parse-only floor of `lockpath check`".into()),
            Some(s) if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option `{s}`")),
            _ => args.paths.push(PathBuf::from(a)),
        }
    }
    if args.paths.is_empty() {
        return Err("no paths given".into());
    }
    Ok(args)
}

fn number(v: Option<std::ffi::OsString>, flag: &str) -> Result<u64, String> {
    v.and_then(|v| v.to_str().and_then(|s| s.parse().ok())).ok_or_else(|| format!("{flag} needs a number"))
}

fn new_parser() -> tree_sitter::Parser {
    let mut parser = tree_sitter::Parser::new();
    // The grammar is compiled in; if it fails to load, every parse returns
    // None and the file counts as skipped.
    let _ = parser.set_language(&tree_sitter_c::LANGUAGE.into());
    parser
}

/// Same gates as the driver's `load`, then one parse; the tree is dropped here.
fn parse_one(parser: &mut tree_sitter::Parser, path: &PathBuf, max_mib: u64) -> Outcome {
    let Ok(meta) = std::fs::metadata(path) else {
        return Outcome::Skipped;
    };
    if !meta.is_file() || meta.len() > max_mib.saturating_mul(1 << 20) {
        return Outcome::Skipped;
    }
    let Ok(bytes) = std::fs::read(path) else {
        return Outcome::Skipped;
    };
    if bytes.iter().take(8192).any(|&b| b == 0) {
        return Outcome::Skipped;
    }
    match parser.parse(&bytes, None) {
        Some(tree) => Outcome::Parsed { bytes: bytes.len() as u64, has_error: tree.root_node().has_error() },
        None => Outcome::Skipped,
    }
}
