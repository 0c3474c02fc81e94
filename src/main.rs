//! The `lockpath` binary: parses arguments, calls the library, maps the
//! outcome to an exit status. Nothing else lives here.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use codespan_reporting::term::termcolor::{BufferedStandardStream, ColorChoice};
use lockpath::{checks, driver, model::Model, output};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit statuses, as documented in `--help`.
const EXIT_CLEAN: u8 = 0;
const EXIT_FINDINGS: u8 = 1;
const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "lockpath",
    version,
    about = "Find Linux kernel lock bugs in C sources, with the whole path from the lock to the deadlock",
    after_help = "Examples:\n  lockpath check ~/linux/kernel ~/linux/mm          human report, exit 1 if errors\n  lockpath check --format json ~/linux/mm > f.json   machine-readable\n  lockpath explain fault-under-lock                  what a check means\n\nExit status: 0 no errors, 1 errors found, 2 usage or I/O failure."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check C files and directories (recursively, .c and .h)
    Check(CheckArgs),
    /// Print what a check catches, why it deadlocks, and how to fix it
    Explain {
        /// The check id, e.g. fault-under-lock; without it, list the checks
        check: Option<String>,
    },
    /// Print the lock-event IR extracted from one file (for debugging lockpath)
    #[command(hide = true)]
    DebugIr { file: PathBuf },
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Files and directories to check
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Do not read the kernel tree's include/ as context
    #[arg(long)]
    no_tree_context: bool,
    /// Extra lock-model file (format: queries/README.md); may be repeated
    #[arg(long = "model", value_name = "FILE")]
    models: Vec<PathBuf>,
    /// Worker threads (default: all cores; RAYON_NUM_THREADS is honoured)
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<usize>,
    /// Print only findings (no per-file notes, no summary line)
    #[arg(short, long)]
    quiet: bool,
    /// When to colour the human output (NO_COLOR is honoured)
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Write the lock-order graph (Graphviz dot) to FILE
    #[arg(long, value_name = "FILE")]
    graph: Option<PathBuf>,
    /// With --graph: only the edges that lie on a cycle
    #[arg(long, requires = "graph")]
    graph_cycles: bool,
    /// Print time per phase and sizes to stderr
    #[arg(long)]
    stats: bool,
    /// Skip files larger than this many MiB
    #[arg(long, value_name = "MIB", default_value_t = 16)]
    max_file_size: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check(args),
        Command::Explain { check } => explain(check.as_deref()),
        Command::DebugIr { file } => debug_ir(&file),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // A closed pipe (`lockpath check .. | head`) is not an error.
            if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) {
                return ExitCode::from(EXIT_CLEAN);
            }
            eprintln!("lockpath: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn check(args: CheckArgs) -> anyhow::Result<u8> {
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(16 << 20);
    if let Some(j) = args.jobs {
        pool = pool.num_threads(j.max(1));
    }
    let pool = pool.build().context("cannot start worker threads")?;
    let model = Model::load(&args.models).context("cannot load the lock model")?;
    let opts = driver::Options {
        paths: args.paths,
        tree_context: !args.no_tree_context,
        max_file_size: args.max_file_size.saturating_mul(1 << 20),
        want_order_graph: args.graph.is_some(),
        progress: !args.quiet,
        overlay: Default::default(),
    };
    let report = pool.install(|| driver::run(&model, &opts));
    {
        let mut err = std::io::stderr().lock();
        for p in &report.problems {
            if !args.quiet || report.missing.iter().any(|m| p.starts_with(&format!("{}: ", m.display()))) {
                writeln!(err, "lockpath: {p}")?;
            }
        }
    }
    if let Some(path) = &args.graph {
        let dot = output::dot::render(&report.order_edges, args.graph_cycles);
        std::fs::write(path, dot).with_context(|| format!("{}: cannot write the graph", path.display()))?;
    }
    let view = output::ReportView { findings: &report.findings, files: &report.files, summary: &report.summary };
    let output_started = std::time::Instant::now();
    match args.format {
        Format::Json => {
            let mut out = std::io::stdout().lock();
            out.write_all(output::json::render(&view).as_bytes())?;
            out.flush()?;
        }
        Format::Human => {
            // Buffered: codespan writes a snippet a few bytes at a time, each
            // write taking the stdout lock; on many findings in long source
            // lines (found by fuzzing) that was a quarter of the run.
            let mut out = BufferedStandardStream::stdout(color_choice(args.color));
            output::human::render(&view, &mut out)?;
            out.flush()?;
        }
    }
    if args.stats {
        let output_took = output_started.elapsed();
        let mut err = std::io::stderr().lock();
        let peaks = report.stats.peak_kib.iter().copied().chain([None]);
        for ((phase, took), peak) in report.stats.phases.iter().chain([("output", output_took)].iter()).zip(peaks) {
            let peak = peak.map(|k| format!("  peak {} MiB", k / 1024)).unwrap_or_default();
            writeln!(err, "lockpath: stats: {phase:<14} {:>8.3} s{peak}", took.as_secs_f64())?;
        }
        let s = &report.stats;
        writeln!(
            err,
            "lockpath: stats: files {} (+{} context), functions {}, call edges {}, unresolved calls {}, lock classes {}, lock-order edges {}, specialised summaries {}, observations {}",
            report.summary.files,
            report.summary.context_files,
            report.summary.functions,
            s.call_edges,
            s.unresolved_calls,
            s.lock_classes,
            s.order_edges,
            s.specialised,
            s.observations
        )?;
    }
    if !report.missing.is_empty() || report.nothing_usable {
        return Ok(EXIT_USAGE);
    }
    Ok(if report.summary.errors > 0 { EXIT_FINDINGS } else { EXIT_CLEAN })
}

fn debug_ir(file: &std::path::Path) -> anyhow::Result<u8> {
    let bytes = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&tree_sitter_c::LANGUAGE.into()).context("tree-sitter-c grammar")?;
    let model = Model::builtin().context("cannot load the lock model")?;
    let facts = lockpath::extract::extract_file(&bytes, &mut parser, &model.attributes());
    std::io::stdout().lock().write_all(lockpath::debug::dump(&facts).as_bytes())?;
    Ok(EXIT_CLEAN)
}

fn color_choice(color: Color) -> ColorChoice {
    match color {
        Color::Always => ColorChoice::Always,
        Color::Never => ColorChoice::Never,
        Color::Auto => {
            if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) || !std::io::stdout().is_terminal() {
                ColorChoice::Never
            } else {
                ColorChoice::Auto
            }
        }
    }
}

fn explain(check: Option<&str>) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    match check {
        None => {
            for c in checks::CHECKS {
                writeln!(out, "{:<22} {:<8} {}", c.id, c.severity.as_str(), c.summary)?;
            }
            Ok(EXIT_CLEAN)
        }
        Some(id) => match checks::find(id) {
            Some(c) => {
                out.write_all(c.doc.as_bytes())?;
                Ok(EXIT_CLEAN)
            }
            None => {
                let known: Vec<&str> = checks::CHECKS.iter().map(|c| c.id).collect();
                eprintln!("lockpath: unknown check `{id}` (known: {})", known.join(", "));
                Ok(EXIT_USAGE)
            }
        },
    }
}

// glibc malloc showed as ~9% of a run (many small IR allocations from two
// threads); mimalloc keeps per-thread heaps.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
