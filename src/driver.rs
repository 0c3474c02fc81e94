//! The pipeline, end to end: discover → read → parse+extract (parallel) →
//! index → analyse → check → sorted findings. Output is the caller's job.

use crate::analysis;
use crate::analysis::dataflow::CallState;
use crate::cache::{FactsCache, Lookup};
use crate::checks;
use crate::discover;
use crate::finding::{Finding, Severity};
use crate::index::{ProgramBuilder, SourceFile};
use crate::load::{new_parser, Loaded, Loader, ReadStamp};
use crate::model::Model;
use crate::overlay::Overlay;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

#[derive(Clone)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub tree_context: bool,
    pub max_file_size: u64,
    /// Also return the lock-order graph (`--graph`).
    pub want_order_graph: bool,
    /// Show a progress bar on stderr (it stays hidden when stderr is not a
    /// terminal).
    pub progress: bool,
    /// Contents that stand in for files on disk (a patch applied in memory,
    /// an unsaved editor buffer).
    pub overlay: Overlay,
    /// The facts cache's root directory (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
    /// Where another thread can watch the run (the language server's
    /// progress notifications): files loaded of the total, then the phase.
    pub watch: Option<std::sync::Arc<RunProgress>>,
    /// Files (as the overlay keys them) whose calls get their lock state
    /// recorded in `Report::call_states`: the editor's open documents.
    pub held_at: Vec<PathBuf>,
}

/// How far a run is, readable from another thread while it runs.
#[derive(Debug, Default)]
pub struct RunProgress {
    pub files_done: std::sync::atomic::AtomicU64,
    pub files_total: std::sync::atomic::AtomicU64,
    /// 0 loading files, 1 indexing, 2 analysing, 3 checking.
    pub phase: std::sync::atomic::AtomicU8,
}

impl RunProgress {
    /// `parsing 1234/59951 files` or the phase after it, with a percentage
    /// of the files (the later phases count as done).
    pub fn describe(&self) -> (String, u32) {
        use std::sync::atomic::Ordering::Relaxed;
        let (done, total) = (self.files_done.load(Relaxed), self.files_total.load(Relaxed));
        let percent = (done.min(total) * 100 / total.max(1)) as u32;
        match self.phase.load(Relaxed) {
            0 if total == 0 => ("finding files".into(), 0),
            0 => (format!("parsing {done}/{total} files"), percent),
            1 => ("indexing".into(), 100),
            2 => ("analysing".into(), 100),
            _ => ("checking".into(), 100),
        }
    }

    fn set_phase(watch: &Option<std::sync::Arc<RunProgress>>, phase: u8) {
        if let Some(w) = watch {
            w.phase.store(phase, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub files: usize,
    pub context_files: usize,
    pub functions: usize,
    pub errors: usize,
    pub warnings: usize,
    pub skipped_files: usize,
}

/// Where the time went and how big things were, for `--stats`.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub phases: Vec<(&'static str, std::time::Duration)>,
    /// Peak resident memory after each phase, in KiB, where the OS says.
    pub peak_kib: Vec<Option<u64>>,
    pub call_edges: usize,
    pub unresolved_calls: usize,
    pub lock_classes: usize,
    pub order_edges: usize,
    pub specialised: usize,
    pub observations: usize,
    /// Facts cache: hits, misses, corrupt entries, failed writes.
    pub cache: Option<(usize, usize, usize, usize)>,
    /// Report cache: read back (`true`) or written.
    pub report_cache: Option<bool>,
    /// Inputs keyed for the report cache: hashed from their bytes, and
    /// taken from the stat index (`cache/stat.rs`).
    pub inputs_hashed: Option<(usize, usize)>,
}

pub struct Report {
    pub findings: Vec<Finding>,
    pub files: Vec<SourceFile>,
    /// One line each, naming the file: skipped or partly understood input.
    pub problems: Vec<String>,
    pub missing: Vec<PathBuf>,
    pub summary: Summary,
    /// Nothing usable was given (every input missing or skipped).
    pub nothing_usable: bool,
    pub stats: Stats,
    /// The lock-order graph, when asked for.
    pub order_edges: Vec<checks::lock_order_cycle::OrderEdge>,
    /// The lock state at each call in the `held_at` files, by file.
    pub call_states: Vec<(u32, CallState)>,
}

/// What a run has found out before it analyses: its inputs, its loader,
/// and the report cache's key.
struct Prepared<'o> {
    found: discover::Discovered,
    all: Vec<(PathBuf, String, bool)>,
    problems: Vec<String>,
    loader: Loader<'o>,
    run_key: Option<crate::cache::Key>,
    /// Each of `all`'s content hash, when the report key was computed: a
    /// file whose facts the cache holds under it is then not read again.
    hashes: Option<Vec<[u8; 32]>>,
    /// A first run of these paths with this cache (no stat index yet): the
    /// report key waits for the loader's hashes, so no file is read twice.
    /// Holds the problems as they stood when the key would have been made.
    key_after_load: Option<Vec<String>>,
}

/// Discovers the inputs and asks the report cache: `Ok` when a run over
/// exactly these files, of these contents, with this build and model, is
/// there to read back. `may_defer_key`: a caller that loads the files
/// anyway lets a first run make the key from the loader's hashes.
fn prepare<'o>(
    model: &Model,
    opts: &'o Options,
    may_defer_key: bool,
    stats: &mut Stats,
    lap: &mut impl FnMut(&mut Stats, &'static str),
) -> Result<Report, Box<Prepared<'o>>> {
    let (found, all, mut problems) = discover_inputs(opts);
    lap(stats, "discover");
    let loader = loader(model, opts, &mut problems);
    let mut hashes = None;
    let keyed = loader.cache.as_ref().filter(|_| !opts.want_order_graph);
    // Nothing remembered for these paths: every file would be read here
    // and again by the loader, and the report lookup would almost surely
    // miss. So the key is made from what the loader reads.
    let first_run = may_defer_key && keyed.is_some_and(|cache| !stat_index_path(cache, opts).exists());
    let key_after_load = first_run.then(|| problems.clone());
    let run_key = keyed.filter(|_| !first_run).map(|cache| {
        let (key, hashed, contents) = run_key(cache, model, opts, &all, &found.missing, &mut problems, (&[], 0));
        stats.inputs_hashed = Some(hashed);
        hashes = Some(contents);
        lap(stats, "hash inputs");
        key
    });
    if let (Some(cache), Some(key)) = (&loader.cache, &run_key) {
        match cache.load_report::<CachedReport>(key) {
            Lookup::Hit(cached) => {
                lap(stats, "read report");
                let mut hit = stats.clone();
                hit.report_cache = Some(true);
                hit.cache = Some((0, 0, 0, 0));
                if let Some(report) = cached.into_report(hit) {
                    return Ok(report);
                }
            }
            Lookup::Miss => {}
            Lookup::Corrupt(why) => problems.push(why),
        }
    }
    Err(Box::new(Prepared { found, all, problems, loader, run_key, hashes, key_after_load }))
}

/// What a first run (no stat index for its paths) keys its report with,
/// once its files are loaded: the loader's stats and hashes.
struct FirstRun<'a> {
    inputs: &'a [Input],
    missing: &'a [PathBuf],
    /// The problems as they stood when the key would have been made first.
    problems: Vec<String>,
    reads: Vec<Option<ReadStamp>>,
    /// When loading began: reads of files changed since are racy.
    began: i128,
}

impl FirstRun<'_> {
    /// `Ok`: the report cache holds this run's report. `Err`: the key to
    /// store this run's under (none without a cache).
    fn report_key(
        mut self,
        model: &Model,
        opts: &Options,
        loader: &Loader,
        stats: &mut Stats,
        lap: &mut impl FnMut(&mut Stats, &'static str),
    ) -> Result<Report, Option<crate::cache::Key>> {
        let Some(cache) = &loader.cache else { return Err(None) };
        let read = (self.reads.as_slice(), self.began);
        let (key, hashed, _) = run_key(cache, model, opts, self.inputs, self.missing, &mut self.problems, read);
        stats.inputs_hashed = Some(hashed);
        lap(stats, "hash inputs");
        if let Lookup::Hit(cached) = cache.load_report::<CachedReport>(&key) {
            lap(stats, "read report");
            let mut hit = stats.clone();
            hit.report_cache = Some(true);
            hit.cache = Some(loader.counts.get());
            if let Some(report) = cached.into_report(hit) {
                return Ok(report);
            }
        }
        Err(Some(key))
    }
}

/// The report the cache holds for `opts`, if it holds one (no analysis).
pub fn cached(model: &Model, opts: &Options) -> Option<Report> {
    prepare(model, opts, false, &mut Stats::default(), &mut |_, _| {}).ok()
}

pub fn run(model: &Model, opts: &Options) -> Report {
    let mut stats = Stats::default();
    let mut clock = std::time::Instant::now();
    let mut lap = |stats: &mut Stats, name: &'static str| {
        let now = std::time::Instant::now();
        stats.phases.push((name, now - clock));
        stats.peak_kib.push(peak_rss_kib());
        clock = now;
    };
    let Prepared { found, all, mut problems, mut loader, mut run_key, hashes, key_after_load } =
        match prepare(model, opts, true, &mut stats, &mut lap) {
            Ok(report) => return report,
            Err(prepared) => *prepared,
        };
    let mut cache_notices = Vec::new();
    let bar = progress_bar(opts.progress, all.len() as u64);
    bar.set_message("parsing");
    if let Some(w) = &opts.watch {
        w.files_total.store(all.len() as u64, std::sync::atomic::Ordering::Relaxed);
    }
    let mut summary = Summary::default();
    let inputs = key_after_load.is_some().then(|| all.clone());
    let began = now_ns();
    let (builder, reads) =
        load_program(model, opts, all, hashes, &loader, &bar, &mut problems, &mut summary, &mut cache_notices);
    loader.flush();
    let nothing_usable = summary.files == 0;
    lap(&mut stats, "parse+extract");
    if let (Some(key_problems), Some(inputs)) = (key_after_load, inputs) {
        let first = FirstRun { inputs: &inputs, missing: &found.missing, problems: key_problems, reads, began };
        match first.report_key(model, opts, &loader, &mut stats, &mut lap) {
            Ok(report) => {
                bar.finish_and_clear();
                return report;
            }
            Err(key) => run_key = key,
        }
    }
    bar.set_message("indexing");
    RunProgress::set_phase(&opts.watch, 1);
    let mut prog = builder.finish();
    lap(&mut stats, "index");
    bar.set_message("analysing");
    RunProgress::set_phase(&opts.watch, 2);
    summary.functions = prog.funcs.iter().filter(|f| !prog.files[f.file as usize].is_context).count();
    let reported = |id: u32| !prog.files[prog.funcs[id as usize].file as usize].is_context;
    let probed: Vec<bool> = prog.files.iter().map(|f| opts.held_at.contains(&Overlay::key(&f.path))).collect();
    let probe = |id: u32| probed[prog.funcs[id as usize].file as usize];
    let mut analysis = analysis::analyze(&prog, model, &analysis::Selection { report: &reported, probe: &probe });
    let call_states: Vec<(u32, CallState)> =
        std::mem::take(&mut analysis.call_states).into_iter().map(|(f, s)| (prog.funcs[f as usize].file, s)).collect();
    lap(&mut stats, "analysis");
    // Shown as its two parts: the call graph (with its SCCs) and the summaries.
    if let Some((_, took)) = stats.phases.pop() {
        let graph = analysis.stats.graph_time.min(took);
        let peak = stats.peak_kib.last().copied().flatten();
        stats.phases.push(("call graph", graph));
        stats.phases.push(("summaries", took - graph));
        stats.peak_kib.insert(stats.peak_kib.len() - 1, peak);
    }
    RunProgress::set_phase(&opts.watch, 3);
    let mut findings = checks::run(&prog, model, &analysis);
    sort_findings(&mut findings, &prog.files);
    let order_edges =
        if opts.want_order_graph { checks::lock_order_cycle::edges(&prog, &analysis) } else { Vec::new() };
    lap(&mut stats, "checks");
    bar.finish_and_clear();
    stats.order_edges = checks::lock_order_cycle::edge_count(&analysis);
    stats.call_edges = analysis.stats.call_edges;
    stats.cache = loader.cache.is_some().then(|| loader.counts.get());
    stats.specialised = analysis.stats.specialised;
    stats.observations = analysis.stats.observations;
    stats.unresolved_calls = analysis.stats.unresolved_calls;
    stats.lock_classes = analysis.classes.count();
    summary.errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    summary.warnings = findings.iter().filter(|f| f.severity == Severity::Warning).count();
    // The program and the analysis are most of the memory; gone before the
    // report is copied into the cache and rendered.
    let files = std::mem::take(&mut prog.files);
    drop(analysis);
    drop(prog);
    let mut report = Report {
        findings,
        files,
        problems,
        missing: found.missing,
        summary,
        nothing_usable,
        stats,
        order_edges,
        call_states,
    };
    if let (Some(cache), Some(key)) = (&loader.cache, &run_key) {
        report.stats.report_cache = Some(false);
        let cached = CachedReport::of(&report);
        if cache.store_report(key, &cached).is_err() {
            report.problems.push("cannot write the report to the cache; the next run analyses again".into());
        }
    }
    // Said once, by this run: a later run that reads the report back did
    // not meet the corrupt entries.
    report.problems.extend(cache_notices);
    report
}

/// The inputs and the tree context, as (path, display name, is context),
/// with the problems discovery met; `found` keeps the missing paths.
pub(crate) fn discover_inputs(opts: &Options) -> (discover::Discovered, Vec<(PathBuf, String, bool)>, Vec<String>) {
    let mut found = discover::discover(&opts.paths, opts.tree_context, &opts.overlay);
    let mut problems = std::mem::take(&mut found.problems);
    for m in &found.missing {
        problems.push(format!("{}: no such file or directory", m.display()));
    }
    let all = std::mem::take(&mut found.inputs)
        .into_iter()
        .map(|(p, d)| (p, d, false))
        .chain(std::mem::take(&mut found.context).into_iter().map(|(p, d)| (p, d, true)))
        .collect();
    (found, all, problems)
}

/// The file loader for `opts`, with the facts cache when it opens (and a
/// problem said when it does not).
pub(crate) fn loader<'o>(model: &Model, opts: &'o Options, problems: &mut Vec<String>) -> Loader<'o> {
    let mut loader = Loader {
        attrs: model.attributes(),
        max_size: opts.max_file_size,
        overlay: &opts.overlay,
        cache: None,
        counts: Default::default(),
    };
    if let Some(dir) = &opts.cache_dir {
        match FactsCache::open(dir, model.attributes_salt().as_bytes()) {
            Ok(mut cache) => {
                problems.extend(cache.take_open_notices());
                loader.cache = Some(cache);
            }
            Err(e) => problems.push(format!("{e}; running without the cache")),
        }
    }
    loader
}

/// An input file: its path, display name, and whether it is tree context.
type Input = (PathBuf, String, bool);
/// An input and its content hash, when the report key computed it.
type HashedInput = (Input, Option<[u8; 32]>);
/// One file loaded, the cache's notice about it, and what was read.
type LoadResult = (Loaded, Option<String>, Option<ReadStamp>);

/// Loads every file (from the cache or by parsing) and indexes them: the
/// files go in chunks, each merged into the program (and its per-file
/// facts dropped) while the next one parses, so memory peaks at the
/// program plus two chunks. Chunks merge in input order whatever the
/// thread count.
#[allow(clippy::too_many_arguments)]
pub(crate) fn load_program<'m>(
    model: &'m Model,
    opts: &Options,
    all: Vec<(PathBuf, String, bool)>,
    hashes: Option<Vec<[u8; 32]>>,
    loader: &Loader,
    bar: &indicatif::ProgressBar,
    problems: &mut Vec<String>,
    summary: &mut Summary,
    cache_notices: &mut Vec<String>,
) -> (ProgramBuilder<'m>, Vec<Option<ReadStamp>>) {
    let mut builder = ProgramBuilder::new(model);
    let mut reads = Vec::new();
    // The content hashes go along with their inputs (`None`: not known).
    let hashes = hashes.filter(|h| h.len() == all.len()).map(Vec::into_iter);
    let rest: Vec<HashedInput> = match hashes {
        Some(h) => all.into_iter().zip(h.map(Some)).collect(),
        None => all.into_iter().map(|i| (i, None)).collect(),
    };
    // Files load on every thread and merge in file order as they come in
    // (`ordered.rs`: no per-chunk barrier, bounded run-ahead).
    let load = |parser: &mut tree_sitter::Parser, ((path, _, _), hash): &HashedInput| -> LoadResult {
        let loaded = loader.load_reading(parser, path, hash.as_ref());
        bar.inc(1);
        if let Some(w) = &opts.watch {
            w.files_done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        loaded
    };
    let merge = |i: usize, (result, cache_notice, read): LoadResult| {
        let ((path, display, is_context), _) = &rest[i];
        reads.push(read);
        let is_context = *is_context;
        cache_notices.extend(cache_notice);
        match result {
            Loaded::Ok { mut facts, note } => {
                if !is_context {
                    if let Some(note) = note {
                        problems.push(format!("{display}: {note}"));
                    }
                    problems.extend(facts.problems.iter().map(|p| format!("{display}: {p}")));
                    summary.files += 1;
                } else {
                    summary.context_files += 1;
                }
                let file = source_file(model, path.clone(), display.clone(), is_context, &mut facts);
                builder.add(file, *facts);
            }
            Loaded::Skipped(why) => {
                if !is_context {
                    problems.push(format!("{display}: {why}"));
                    summary.skipped_files += 1;
                }
            }
        }
    };
    crate::ordered::map_in_order(&rest, new_parser, load, merge);
    (builder, reads)
}

/// The file as later stages see it; its line starts move out of `facts`.
pub(crate) fn source_file(
    model: &Model,
    path: PathBuf,
    display: String,
    is_context: bool,
    facts: &mut crate::ir::FileFacts,
) -> SourceFile {
    let is_header = path.extension().is_some_and(|e| e == "h");
    let arch = crate::index::arch_of_path(&display);
    let lines = crate::lines::LineIndex::new(&std::mem::take(&mut facts.line_starts));
    let fallback = model.fallback_files.iter().any(|f| display.ends_with(f.as_str()));
    SourceFile { path, display, is_context, is_header, lines, arch, fallback }
}

/// What a run reported, as the report cache keeps it.
#[derive(serde::Serialize, serde::Deserialize)]
struct CachedReport {
    call_states: Vec<(u32, CallState)>,
    findings: Vec<crate::finding::StoredFinding>,
    files: Vec<SourceFile>,
    problems: Vec<String>,
    missing: Vec<PathBuf>,
    summary: Summary,
    nothing_usable: bool,
}

impl CachedReport {
    fn of(report: &Report) -> CachedReport {
        CachedReport {
            call_states: report.call_states.clone(),
            findings: report.findings.iter().map(crate::finding::StoredFinding::of).collect(),
            files: report.files.clone(),
            problems: report.problems.clone(),
            missing: report.missing.clone(),
            summary: report.summary.clone(),
            nothing_usable: report.nothing_usable,
        }
    }

    /// `None` when a finding names a check this build does not have.
    fn into_report(self, stats: Stats) -> Option<Report> {
        let CachedReport { call_states, findings, files, problems, missing, summary, nothing_usable } = self;
        let findings = findings.into_iter().map(crate::finding::StoredFinding::into_finding).collect::<Option<_>>()?;
        Some(Report {
            findings,
            files,
            problems,
            missing,
            summary,
            nothing_usable,
            stats,
            order_edges: Vec::new(),
            call_states,
        })
    }
}

/// A report as bytes (the report cache's encoding, without its frame): what
/// the check server sends its clients. Stats and the lock-order graph are
/// not part of it.
pub fn encode_report(report: &Report) -> Vec<u8> {
    postcard::to_allocvec(&CachedReport::of(report)).unwrap_or_default()
}

/// The report `encode_report` gave, with `stats`; `None` when the bytes do
/// not decode (or name a check this build does not have).
pub fn decode_report(bytes: &[u8], stats: Stats) -> Option<Report> {
    postcard::from_bytes::<CachedReport>(bytes).ok()?.into_report(stats)
}

/// The report cache's key: the build (in the cache), the model, the
/// options that change what is analysed, and every file in order with its
/// name and a hash of its contents (or why it cannot be read).
fn run_key(
    cache: &FactsCache,
    model: &Model,
    opts: &Options,
    files: &[(PathBuf, String, bool)],
    missing: &[PathBuf],
    problems: &mut Vec<String>,
    read: (&[Option<ReadStamp>], i128),
) -> (crate::cache::Key, (usize, usize), Vec<[u8; 32]>) {
    // A bad stat index is named like a bad cache entry: in the key too, so
    // a later run without it is not answered with this run's notice.
    let (hashes, counts, notice) = input_hashes(cache, opts, files, read);
    problems.extend(notice);
    let mut listing = Vec::new();
    for ((path, display, is_context), hash) in files.iter().zip(&hashes) {
        listing.extend_from_slice(path.as_os_str().as_encoded_bytes());
        listing.push(0);
        listing.extend_from_slice(display.as_bytes());
        listing.push(if *is_context { 1 } else { 0 });
        listing.extend_from_slice(hash);
    }
    for m in missing {
        listing.extend_from_slice(m.as_os_str().as_encoded_bytes());
        listing.push(0);
    }
    for p in problems {
        listing.extend_from_slice(p.as_bytes());
        listing.push(0);
    }
    let mut options = format!("tree_context={} max_file_size={}", opts.tree_context, opts.max_file_size);
    for probed in &opts.held_at {
        options.push_str(&format!(" held_at={}", probed.display()));
    }
    (cache.run_key(&[&model.digest, options.as_bytes(), &listing]), counts, hashes)
}

/// Each input's content hash: an overlay's bytes, else the disk's, taken
/// from the stat index (`cache/stat.rs`) when the file's stat is the one
/// recorded, else read. The index is written back when it changed. Also
/// returns how many were hashed from their bytes and how many the index
/// gave, and the notice naming a bad index. `(reads, loading_began)`: what
/// the loader read, by input, used as the index's entries are, and when its
/// loading began (their racy mark).
fn input_hashes(
    cache: &FactsCache,
    opts: &Options,
    files: &[(PathBuf, String, bool)],
    (reads, loading_began): (&[Option<ReadStamp>], i128),
) -> (Vec<[u8; 32]>, (usize, usize), Option<String>) {
    use crate::cache::stat::{Stamp, StatIndex};
    let index_path = stat_index_path(cache, opts);
    let (index, notice) = StatIndex::read(&index_path);
    let began = now_ns();
    let hash = |bytes: &[u8]| *blake3::hash(bytes).as_bytes();
    // (hash, the stat it was read at, when its reading began, whether the
    // index gave it)
    let found: Vec<([u8; 32], Option<Stamp>, i128, bool)> = files
        .par_iter()
        .enumerate()
        .map(|(i, (path, _, _))| {
            if let Some(Some(read)) = reads.get(i) {
                return (read.hash, Some(read.stamp), loading_began, false);
            }
            let (h, stamp, from_index) = hash_input(opts, &index, path, hash);
            (h, stamp, began, from_index)
        })
        .collect();
    let mut next = StatIndex::default();
    let mut reused = 0;
    for ((path, _, _), (h, stamp, began, from_index)) in files.iter().zip(&found) {
        if let Some(stamp) = stamp {
            next.record(path, *stamp, *h, *began);
        }
        reused += usize::from(*from_index);
    }
    // Nothing new to remember: every recorded entry came from the index.
    if (reused != next.len() || next.len() != index.len()) && !next.is_empty() {
        // A cache directory that cannot take the index only costs the
        // next run its reads.
        let _ = next.write(&index_path);
    }
    (found.into_iter().map(|(h, _, _, _)| h).collect(), (files.len() - reused, reused), notice)
}

/// One input's content hash, the stat it was read at, and whether the
/// index gave it.
fn hash_input(
    opts: &Options,
    index: &crate::cache::stat::StatIndex,
    path: &Path,
    hash: impl Fn(&[u8]) -> [u8; 32],
) -> ([u8; 32], Option<crate::cache::stat::Stamp>, bool) {
    use crate::cache::stat::Stamp;
    match opts.overlay.get(path) {
        Some(Some(bytes)) => (hash(bytes), None, false),
        Some(None) => (hash(b"\0deleted"), None, false),
        None => match std::fs::metadata(path) {
            Ok(m) if m.is_file() && m.len() > opts.max_file_size => {
                (hash(format!("\0big {}", m.len()).as_bytes()), None, false)
            }
            Ok(m) if m.is_file() => {
                let stamp = Stamp::of(&m);
                if let Some(known) = index.hash(path, &stamp) {
                    return (known, Some(stamp), true);
                }
                match std::fs::read(path) {
                    Ok(b) => (hash(&b), Some(stamp), false),
                    Err(e) => (hash(format!("\0{e}").as_bytes()), None, false),
                }
            }
            Ok(_) => (hash(b"\0not a file"), None, false),
            Err(e) => (hash(format!("\0{e}").as_bytes()), None, false),
        },
    }
}

/// Where the stat index of this run's paths (and working directory) lives.
fn stat_index_path(cache: &FactsCache, opts: &Options) -> PathBuf {
    let mut scope = std::env::current_dir().unwrap_or_default().into_os_string().into_encoded_bytes();
    for p in &opts.paths {
        scope.push(0);
        scope.extend_from_slice(p.as_os_str().as_encoded_bytes());
    }
    scope.push(u8::from(opts.tree_context));
    cache.stat_index_path(&scope)
}

fn now_ns() -> i128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

/// The process's peak resident set (`VmHWM`), on Linux.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Files parsed of the total, then the analysis phases, on stderr when it
/// is a terminal and the run is big (a tree, not a few files); hidden
/// otherwise and with `--quiet`.
fn progress_bar(show: bool, total: u64) -> indicatif::ProgressBar {
    const BIG_RUN_FILES: u64 = 1000;
    if !show || total < BIG_RUN_FILES {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("lockpath: {msg:10} [{bar:30}] {pos}/{len} files ({elapsed})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

pub(crate) fn sort_findings(findings: &mut [Finding], files: &[SourceFile]) {
    let key = |f: &Finding| {
        let file = files.get(f.file as usize);
        let (line, col) = file.map_or((0, 0), |s| s.line_col(f.span.start));
        (file.map(|s| s.display.clone()).unwrap_or_default(), line, f.check, col, f.message.clone(), f.trace.len())
    };
    findings.sort_by_cached_key(key);
}
