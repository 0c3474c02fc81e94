//! The `lockpath` binary: parses arguments, calls the library, maps the
//! outcome to an exit status. Nothing else lives here.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use codespan_reporting::term::termcolor::{BufferedStandardStream, ColorChoice};
use lockpath::{checks, config, driver, model::Model, output, series};
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
    after_help = "Examples:\n  lockpath check ~/linux/kernel ~/linux/mm          human report, exit 1 if errors\n  lockpath check --format json ~/linux/mm > f.json   machine-readable\n  lockpath check --tree ~/linux outgoing/*.patch     what each patch of a series introduces\n  git diff | lockpath check --tree ~/linux -         a diff (or an mbox) on stdin\n  lockpath check --git origin/master..HEAD           the commits of a branch\n  lockpath explain fault-under-lock                  what a check means\n\nExit status: 0 no errors, 1 errors found (introduced, for a series), 2 usage, apply or I/O failure."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check C files and directories (recursively, .c and .h)
    Check(Box<CheckArgs>),
    /// Print what a check catches, why it deadlocks, and how to fix it
    Explain {
        /// The check id, e.g. fault-under-lock; without it, list the checks
        check: Option<String>,
    },
    /// Run as a language server (LSP over stdin/stdout) for editors
    Lsp,
    /// Keep PATHS analysed in memory and answer `lockpath check PATHS`
    /// (run from the same directory, with the same options) from there:
    /// after an edit, a check costs what the edit reaches
    Server(Box<ServerArgs>),
    /// Print the lock-event IR extracted from one file (for debugging lockpath)
    #[command(hide = true)]
    DebugIr { file: PathBuf },
    /// Analyse PATHS in a session, then after each edit (FILE=NEW: FILE's
    /// contents replaced by NEW's) incrementally, comparing each result
    /// with a whole run (for testing and timing lockpath)
    #[command(hide = true)]
    DebugSession {
        #[arg(long = "edit", value_name = "FILE=NEW")]
        edits: Vec<String>,
        /// Do not compare with a whole run.
        #[arg(long)]
        no_compare: bool,
        paths: Vec<PathBuf>,
    },
}

/// What decides how a tree is analysed, shared by `check` and `server`.
#[derive(clap::Args)]
struct AnalysisArgs {
    /// Configuration file (default: .lockpath.toml at the top of the tree)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Do not read the kernel tree's include/ as context
    #[arg(long)]
    no_tree_context: bool,
    /// Extra lock-model file (format: queries/README.md); may be repeated
    #[arg(long = "model", value_name = "FILE")]
    models: Vec<PathBuf>,
    /// Worker threads (default: all cores; RAYON_NUM_THREADS is honoured)
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<usize>,
    /// Directory of the per-file facts cache [default: $XDG_CACHE_HOME/lockpath or ~/.cache/lockpath]
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Parse every file, reading and writing no cache (and asking no check server)
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
    /// Skip files larger than this many MiB
    #[arg(long, value_name = "MIB", default_value_t = 16)]
    max_file_size: u64,
}

#[derive(clap::Args)]
struct ServerArgs {
    /// C files and directories to keep analysed, as `lockpath check` will be given them
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Stop the server for these paths and options instead
    #[arg(long)]
    stop: bool,
    /// Exit after this many minutes without a request (0: never)
    #[arg(long, value_name = "MIN", default_value_t = 180)]
    idle_exit: u64,
    /// Print nothing but errors
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    analysis: AnalysisArgs,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// C files and directories to check, or patches (.patch, .diff, .mbox,
    /// `-` for stdin) to check against --tree
    #[arg(required_unless_present = "git")]
    paths: Vec<PathBuf>,
    /// The tree patches apply to (default: the current directory)
    #[arg(long, value_name = "DIR")]
    tree: Option<PathBuf>,
    /// Check the commits of RANGE (e.g. origin/master..HEAD) of the
    /// repository at --tree, read from git objects
    #[arg(long, value_name = "RANGE", conflicts_with = "paths")]
    git: Option<String>,
    /// With --format checkpatch: one line per finding
    #[arg(long)]
    terse: bool,
    /// Do not report these checks (comma-separated; `lock-imbalance` or
    /// `LOCK_IMBALANCE`)
    #[arg(long, value_name = "CHECK[,CHECK]")]
    ignore: Vec<String>,
    /// Warnings fail the run too (exit 1)
    #[arg(long)]
    strict: bool,
    /// Report only findings not in this earlier `--format json` report
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
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
    /// Do not ask a running `lockpath server` for these paths; analyse here
    #[arg(long)]
    no_server: bool,
    #[command(flatten)]
    analysis: AnalysisArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
    Checkpatch,
    Gcc,
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[allow(unsafe_code)]
fn main() -> ExitCode {
    // SAFETY: nothing has touched tree-sitter yet.
    unsafe { lockpath::load::setup_allocator() };
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check(*args),
        Command::Explain { check } => explain(check.as_deref()),
        Command::DebugIr { file } => debug_ir(&file),
        Command::DebugSession { edits, no_compare, paths } => debug_session(&edits, no_compare, paths),
        Command::Lsp => lockpath::lsp::run().context("cannot start the language server"),
        Command::Server(args) => server(*args),
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
    let pool = thread_pool(args.analysis.jobs)?;
    let patches: Vec<&PathBuf> = args.paths.iter().filter(|p| series::is_patch_input(p)).collect();
    let is_series = args.git.is_some() || !patches.is_empty();
    if is_series {
        if let Some(c) = args.paths.iter().find(|p| !series::is_patch_input(p)) {
            eprintln!("lockpath: {}: a C path among patches; check patches and C paths in separate runs", c.display());
            return Ok(EXIT_USAGE);
        }
    } else if args.tree.is_some() {
        eprintln!(
            "lockpath: --tree is for patches (.patch, .diff, .mbox, -) and --git; C paths are checked where they are"
        );
        return Ok(EXIT_USAGE);
    }
    let root = match (&args.tree, is_series) {
        (Some(t), _) => Some(t.clone()),
        (None, true) => Some(PathBuf::from(".")),
        (None, false) => args.paths.first().and_then(|p| lockpath::discover::kernel_tree_root(p)),
    };
    let (config, model) = load_model(&args.analysis, root.as_deref())?;
    let mut filters = match config::Filters::new(&config, &args.ignore) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("lockpath: {e}");
            return Ok(EXIT_USAGE);
        }
    };
    if let Some(baseline) = &args.baseline {
        if let Err(e) = filters.load_baseline(baseline) {
            eprintln!("lockpath: {e}");
            return Ok(EXIT_USAGE);
        }
    }
    if is_series {
        return check_series(&args, &model, &filters, root.unwrap_or_else(|| PathBuf::from(".")), &pool);
    }
    let mut opts = tree_options(&args.analysis, args.paths.clone());
    opts.want_order_graph = args.graph.is_some();
    opts.progress = !args.quiet;
    let served = ask_server(&args, &model, &opts);
    let (mut report, served) = match served {
        Some(answer) => (answer.report, Some(answer.pass)),
        None => (pool.install(|| driver::run(&model, &opts)), None),
    };
    report.findings = filters.drop_baseline(filters.apply(std::mem::take(&mut report.findings), &report.files));
    report.summary.errors = report.findings.iter().filter(|f| f.severity == lockpath::finding::Severity::Error).count();
    report.summary.warnings =
        report.findings.iter().filter(|f| f.severity == lockpath::finding::Severity::Warning).count();
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
    let view =
        output::ReportView { findings: &report.findings, files: &report.files, summary: &report.summary, series: None };
    let output_started = std::time::Instant::now();
    render(&view, &args)?;
    if args.stats {
        let output_took = output_started.elapsed();
        let mut err = std::io::stderr().lock();
        let peaks = report.stats.peak_kib.iter().copied().chain(std::iter::repeat(None));
        for ((phase, took), peak) in report.stats.phases.iter().chain([("output", output_took)].iter()).zip(peaks) {
            let peak = peak.map(|k| format!("  peak {} MiB", k / 1024)).unwrap_or_default();
            writeln!(err, "lockpath: stats: {phase:<14} {:>8.3} s{peak}", took.as_secs_f64())?;
        }
        let s = &report.stats;
        if s.report_cache == Some(true) {
            // Nothing was analysed: only the file counts are this run's.
            writeln!(
                err,
                "lockpath: stats: files {} (+{} context), functions {}; analysis skipped",
                report.summary.files, report.summary.context_files, report.summary.functions
            )?;
        } else {
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
        match (s.cache, &served) {
            (_, Some(pass)) => writeln!(err, "lockpath: stats: answered by the check server ({pass})")?,
            (Some((hits, misses, corrupt, write_errors)), None) => writeln!(
                err,
                "lockpath: stats: cache {hits} hits, {misses} misses, {corrupt} corrupt, {write_errors} write errors"
            )?,
            (None, None) => writeln!(err, "lockpath: stats: cache off")?,
        }
        if let (Some((read, known)), None) = (s.inputs_hashed, &served) {
            writeln!(err, "lockpath: stats: inputs {read} hashed from their bytes, {known} known by their stat")?;
        }
        match s.report_cache {
            Some(true) => writeln!(err, "lockpath: stats: report read from the cache (nothing changed)")?,
            Some(false) => writeln!(err, "lockpath: stats: report written to the cache")?,
            None => {}
        }
    }
    if served.is_none() && !args.quiet && args.graph.is_none() && opts.cache_dir.is_some() {
        suggest_server(&report, &args.paths);
    }
    if !report.missing.is_empty() || report.nothing_usable {
        return Ok(EXIT_USAGE);
    }
    Ok(gate(&report.summary, args.strict))
}

/// After a long analysis at a terminal, says once how the next check of
/// the same paths can take seconds: a run in a new process analyses the
/// whole tree again whenever one file changed, a `lockpath server` keeps
/// the analysis. Not said in CI (stderr not a terminal) or with `-q`.
fn suggest_server(report: &driver::Report, paths: &[PathBuf]) {
    use std::io::IsTerminal;
    const LONG: std::time::Duration = std::time::Duration::from_secs(20);
    let took: std::time::Duration = report.stats.phases.iter().map(|(_, d)| *d).sum();
    if took < LONG || report.stats.report_cache == Some(true) || !std::io::stderr().is_terminal() {
        return;
    }
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    eprintln!(
        "lockpath: that took {:.0} s; `lockpath server {}` keeps the analysis, and checks after an edit take seconds",
        took.as_secs_f64(),
        paths.join(" ")
    );
}

/// The report of the check server for exactly these paths and options, if
/// one runs and answers; `None` and the caller analyses itself otherwise.
/// The server's report has no lock-order graph, so `--graph` never asks.
fn ask_server(args: &CheckArgs, model: &Model, opts: &driver::Options) -> Option<lockpath::server::Answer> {
    if args.no_server || args.graph.is_some() {
        return None;
    }
    match lockpath::server::ask(model, opts) {
        Ok(Some(answer)) => {
            if !args.quiet {
                eprintln!("lockpath: answered by the check server for these paths ({})", answer.pass);
            }
            Some(answer)
        }
        Ok(None) => None,
        Err(e) => {
            eprintln!("lockpath: {e}; checking without it");
            None
        }
    }
}

/// `lockpath server PATHS`: analyses PATHS, then answers checks of them
/// until stopped or idle; `--stop` stops the one running.
fn server(args: ServerArgs) -> anyhow::Result<u8> {
    let root = args.paths.first().and_then(|p| lockpath::discover::kernel_tree_root(p));
    let (_, model) = load_model(&args.analysis, root.as_deref())?;
    let opts = tree_options(&args.analysis, args.paths.clone());
    if opts.cache_dir.is_none() {
        eprintln!("lockpath: the check server needs the cache directory (it is found through it): drop --no-cache");
        return Ok(EXIT_USAGE);
    }
    if args.stop {
        if lockpath::server::stop(&model, &opts) {
            return Ok(EXIT_CLEAN);
        }
        eprintln!("lockpath: no check server runs for these paths and options");
        return Ok(EXIT_USAGE);
    }
    let pool = thread_pool(args.analysis.jobs)?;
    let idle = (args.idle_exit > 0).then(|| std::time::Duration::from_secs(args.idle_exit.saturating_mul(60)));
    let quiet = args.quiet;
    let started = std::time::Instant::now();
    let log = move |line: String| {
        if !quiet {
            eprintln!("lockpath: server: {line}");
        }
    };
    pool.install(|| {
        lockpath::server::serve(&model, &opts, idle, |socket, report| {
            log(format!(
                "{} files, {} functions analysed in {:.1} s; answering `lockpath check` of these paths from this directory (socket {})",
                report.summary.files,
                report.summary.functions,
                started.elapsed().as_secs_f64(),
                socket.display()
            ))
        }, &log)
    })?;
    Ok(EXIT_CLEAN)
}

/// The lock model: built in, `--model` files, and the configuration's
/// (`--config`, else `.lockpath.toml` at `root` or here).
fn load_model(args: &AnalysisArgs, root: Option<&std::path::Path>) -> anyhow::Result<(config::Config, Model)> {
    let config = config::Config::find(args.config.as_deref(), root.or(Some(std::path::Path::new("."))))?;
    let mut model = Model::load(&args.models).context("cannot load the lock model")?;
    config.extend_model(&mut model)?;
    Ok((config, model))
}

/// The driver's options for a tree run of `paths` (no graph, no progress).
fn tree_options(args: &AnalysisArgs, paths: Vec<PathBuf>) -> driver::Options {
    driver::Options {
        held_at: Vec::new(),
        paths,
        tree_context: !args.no_tree_context,
        max_file_size: args.max_file_size.saturating_mul(1 << 20),
        want_order_graph: false,
        progress: false,
        overlay: Default::default(),
        cache_dir: cache_dir(args),
        watch: None,
    }
}

fn thread_pool(jobs: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(16 << 20);
    if let Some(j) = jobs {
        pool = pool.num_threads(j.max(1));
    }
    pool.build().context("cannot start worker threads")
}

/// 1 when errors (or, with --strict, warnings) are reported.
fn gate(summary: &driver::Summary, strict: bool) -> u8 {
    if summary.errors > 0 || (strict && summary.warnings > 0) {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}

fn render(view: &output::ReportView, args: &CheckArgs) -> anyhow::Result<()> {
    let text = match args.format {
        Format::Human => {
            // Buffered: codespan writes a snippet a few bytes at a time, each
            // write taking the stdout lock; on many findings in long source
            // lines (found by fuzzing) that was a quarter of the run.
            let mut out = BufferedStandardStream::stdout(color_choice(args.color));
            output::human::render(view, &mut out)?;
            out.flush()?;
            return Ok(());
        }
        Format::Json => output::json::render(view),
        Format::Checkpatch => output::checkpatch::render(view, args.terse),
        Format::Gcc => output::gcc::render(view),
        Format::Sarif => output::sarif::render(view),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Series mode: patches (or `--git RANGE`) against the tree at `root`.
fn check_series(
    args: &CheckArgs,
    model: &Model,
    filters: &config::Filters,
    root: PathBuf,
    pool: &rayon::ThreadPool,
) -> anyhow::Result<u8> {
    // A check server started on the tree (`lockpath server TREE`, from
    // here) analyses every state whole-tree; --git states live in a
    // temporary copy of the touched directories, which no server keeps.
    let wants_server = !args.no_server && args.git.is_none();
    let opts = series::Options {
        tree_context: !args.analysis.no_tree_context,
        max_file_size: args.analysis.max_file_size.saturating_mul(1 << 20),
        progress: !args.quiet,
        cache_dir: cache_dir(&args.analysis),
        server: wants_server.then(|| tree_options(&args.analysis, vec![root.clone()])),
    };
    let result = match &args.git {
        Some(range) => pool.install(|| series::check_git(model, &opts, filters, &root, range)),
        None => {
            let mut inputs = Vec::new();
            let mut stdin_used = false;
            for path in &args.paths {
                if path.as_os_str() == "-" {
                    if stdin_used {
                        eprintln!("lockpath: `-` given twice");
                        return Ok(EXIT_USAGE);
                    }
                    stdin_used = true;
                    let mut bytes = Vec::new();
                    std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
                        .context("cannot read stdin")?;
                    inputs.push(series::Input::Stdin(bytes));
                } else {
                    inputs.push(series::Input::File(path.clone()));
                }
            }
            series::read_inputs(&inputs)
                .and_then(|patches| pool.install(|| series::check_patches(model, &opts, filters, &root, patches)))
        }
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lockpath: {e}");
            return Ok(EXIT_USAGE);
        }
    };
    if !args.quiet {
        let mut err = std::io::stderr().lock();
        for note in &report.notes {
            writeln!(err, "lockpath: {note}")?;
        }
    }
    let view = output::ReportView {
        findings: &report.findings,
        files: &report.files,
        summary: &report.summary,
        series: Some(&report.view),
    };
    render(&view, args)?;
    Ok(gate(&report.summary, args.strict))
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

fn debug_session(edits: &[String], no_compare: bool, paths: Vec<PathBuf>) -> anyhow::Result<u8> {
    let model = Model::builtin().context("cannot load the lock model")?;
    let mut opts = lockpath::driver::Options {
        paths,
        tree_context: true,
        max_file_size: 8 << 20,
        want_order_graph: false,
        progress: false,
        overlay: Default::default(),
        cache_dir: lockpath::cache::FactsCache::default_dir().ok(),
        watch: None,
        held_at: Vec::new(),
    };
    let mut session = lockpath::session::Session::new(&model);
    let mut differ = false;
    let mut step = |label: &str, opts: &lockpath::driver::Options| -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let (report, pass) = session.run(opts);
        let took = started.elapsed();
        println!("{label}: {:?} in {:.3} s, {} findings", pass, took.as_secs_f64(), report.findings.len());
        let phases: Vec<String> =
            report.stats.phases.iter().map(|(n, d)| format!("{n} {:.3} s", d.as_secs_f64())).collect();
        println!("{label}: {}", phases.join(", "));
        if !no_compare {
            let whole = lockpath::driver::run(&model, opts);
            let (a, b) = (lockpath::debug::finding_lines(&report), lockpath::debug::finding_lines(&whole));
            if a == b {
                println!("{label}: same findings as a whole run");
            } else {
                differ = true;
                let only_a: Vec<&String> = a.iter().filter(|l| !b.contains(l)).collect();
                let only_b: Vec<&String> = b.iter().filter(|l| !a.contains(l)).collect();
                println!("{label}: DIFFERS: {} only incremental, {} only whole", only_a.len(), only_b.len());
                for l in only_a.iter().take(5) {
                    println!("  + {l}");
                }
                for l in only_b.iter().take(5) {
                    println!("  - {l}");
                }
            }
        }
        Ok(())
    };
    step("initial", &opts)?;
    for edit in edits {
        let (file, new) = edit.split_once('=').context("--edit takes FILE=NEW")?;
        let bytes = std::fs::read(new).with_context(|| format!("{new}: cannot read"))?;
        opts.overlay.set(std::path::Path::new(file), bytes);
        step(edit, &opts)?;
    }
    Ok(if differ { EXIT_FINDINGS } else { EXIT_CLEAN })
}

/// `--cache-dir`, else the default (`$XDG_CACHE_HOME/lockpath`); none with
/// `--no-cache` or when there is no home to put it in (said on stderr).
fn cache_dir(args: &AnalysisArgs) -> Option<PathBuf> {
    if args.no_cache {
        return None;
    }
    if let Some(dir) = &args.cache_dir {
        return Some(dir.clone());
    }
    match lockpath::cache::FactsCache::default_dir() {
        Ok(dir) => Some(dir),
        Err(e) => {
            eprintln!("lockpath: {e}; running without the cache");
            None
        }
    }
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
