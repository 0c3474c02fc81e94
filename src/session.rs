//! A session: one tree analysed again and again as files change (an
//! editor's buffers, a patch series applied state by state), keeping the
//! program and its summaries between runs so that a change costs what it
//! reaches, not the whole tree.
//!
//! `Session::run` takes the same options as `driver::run` and returns the
//! same report. The first run, or one whose paths differ, is whole; after
//! it, each path whose overlay contents changed is loaded again, replaced
//! in the program (`Program::replace_file`) and re-analysed from its
//! functions up (`Resident::update`). Whatever either step cannot follow —
//! a new or deleted file, a changed struct, a call against the SCC order —
//! falls back: the program rebuilt from every file, or the analysis run
//! whole on the patched program. Invariant: a run's findings are those
//! `driver::run` gives on the same inputs, up to ties (see `resident`).

use crate::analysis::resident::{Resident, UpdateStats};
use crate::checks;
use crate::driver::{self, Options, Report, Stats, Summary};
use crate::finding::Severity;
use crate::index::{FileId, FileUpdate, FuncId, Program};
use crate::load::{new_parser, Loaded};
use crate::model::Model;
use crate::overlay::Overlay;
use rustc_hash::FxHashMap;
use std::path::PathBuf;

/// How a run was answered.
#[derive(Debug, Clone)]
pub enum Pass {
    /// Every file loaded and analysed.
    Whole,
    /// Only what the changed files reach.
    Incremental(UpdateStats),
    /// The program was patched, the analysis run whole (why).
    Reanalysed(&'static str),
    /// Nothing changed since the last run.
    Unchanged,
}

pub struct Session<'m> {
    model: &'m Model,
    state: Option<State>,
    /// Files changed on disk (not in the overlay) since the last run.
    disk: std::collections::BTreeSet<PathBuf>,
}

/// Where a run's time went, phase by phase (`Report::stats.phases`).
#[derive(Default)]
struct Laps {
    phases: Vec<(&'static str, std::time::Duration)>,
    last: Option<std::time::Instant>,
}

impl Laps {
    fn lap(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        if let Some(last) = self.last {
            self.phases.push((name, now - last));
        }
        self.last = Some(now);
    }
}

struct State {
    paths: Vec<PathBuf>,
    tree_context: bool,
    overlay: Overlay,
    prog: Program,
    resident: Resident,
    by_path: FxHashMap<PathBuf, FileId>,
    problems: Vec<String>,
    missing: Vec<PathBuf>,
    summary: Summary,
    nothing_usable: bool,
}

impl<'m> Session<'m> {
    pub fn new(model: &'m Model) -> Session<'m> {
        Session { model, state: None, disk: Default::default() }
    }

    /// Says that these files changed on disk: the next run reads them
    /// again. (A session compares overlays, not the disk.)
    pub fn disk_changed(&mut self, paths: impl IntoIterator<Item = PathBuf>) {
        self.disk.extend(paths.into_iter().map(|p| Overlay::key(&p)));
    }

    /// Analyses `opts` (see the module doc).
    pub fn run(&mut self, opts: &Options) -> (Report, Pass) {
        let mut laps = Laps::default();
        laps.lap("");
        let same_inputs =
            self.state.as_ref().is_some_and(|s| s.paths == opts.paths && s.tree_context == opts.tree_context);
        let pass = match self.state.as_mut().filter(|_| same_inputs) {
            Some(state) => match update(self.model, state, opts, std::mem::take(&mut self.disk), &mut laps) {
                Ok(pass) => pass,
                Err(_) => {
                    self.state = Some(whole(self.model, opts));
                    Pass::Whole
                }
            },
            None => {
                self.state = Some(whole(self.model, opts));
                Pass::Whole
            }
        };
        let Some(state) = self.state.as_ref() else { return (driver::run(self.model, opts), Pass::Whole) };
        if matches!(pass, Pass::Whole) {
            laps.lap("whole run");
        }
        let report = report(self.model, state, opts, laps);
        (report, pass)
    }
}

/// Everything loaded and analysed.
fn whole(model: &Model, opts: &Options) -> State {
    let (found, all, mut problems) = driver::discover_inputs(opts);
    let mut loader = driver::loader(model, opts, &mut problems);
    let mut summary = Summary::default();
    let mut notices = Vec::new();
    let bar = indicatif::ProgressBar::hidden();
    let (builder, _) =
        driver::load_program(model, opts, all, None, &loader, &bar, &mut problems, &mut summary, &mut notices);
    loader.flush();
    problems.extend(notices);
    let prog = builder.finish();
    summary.functions = prog.funcs.iter().filter(|f| !prog.files[f.file as usize].is_context).count();
    let resident = Resident::build(&prog, model, &reported(&prog));
    let by_path = prog.files.iter().enumerate().map(|(i, f)| (Overlay::key(&f.path), i as FileId)).collect();
    State {
        paths: opts.paths.clone(),
        tree_context: opts.tree_context,
        overlay: opts.overlay.clone(),
        nothing_usable: summary.files == 0,
        prog,
        resident,
        by_path,
        problems,
        missing: found.missing,
        summary,
    }
}

fn reported(prog: &Program) -> impl Fn(FuncId) -> bool + Sync + '_ {
    |id: FuncId| !prog.files[prog.funcs[id as usize].file as usize].is_context && !prog.is_dead(id)
}

/// Why an update gave up: the program is rebuilt from every file.
struct Rebuild;

/// The changed files replaced, the analysis updated.
fn update(
    model: &Model,
    state: &mut State,
    opts: &Options,
    disk: std::collections::BTreeSet<PathBuf>,
    laps: &mut Laps,
) -> Result<Pass, Rebuild> {
    let mut changed = opts.overlay.changed_since(&state.overlay);
    // A file the editor holds is what its buffer says, whatever the disk does.
    changed.extend(disk.into_iter().filter(|p| opts.overlay.get(p).is_none()));
    changed.sort();
    changed.dedup();
    if changed.is_empty() {
        return Ok(Pass::Unchanged);
    }
    let mut ignored = Vec::new();
    let loader = driver::loader(model, opts, &mut ignored);
    let mut parser = new_parser();
    let mut all = FileUpdate::default();
    for path in &changed {
        let Some(&file_id) = state.by_path.get(path) else { return Err(Rebuild) };
        let old = &state.prog.files[file_id as usize];
        let (display, is_context) = (old.display.clone(), old.is_context);
        let Loaded::Ok { mut facts, note } = loader.load(&mut parser, &old.path.clone(), None).0 else {
            return Err(Rebuild);
        };
        let prefix = format!("{display}: ");
        state.problems.retain(|p| !p.starts_with(&prefix));
        if !is_context {
            state.problems.extend(note.map(|n| format!("{prefix}{n}")));
            state.problems.extend(facts.problems.iter().map(|p| format!("{prefix}{p}")));
        }
        let file = driver::source_file(model, old.path.clone(), display, is_context, &mut facts);
        laps.lap("load");
        let one = state.prog.replace_file(model, file_id, file, *facts).map_err(|_| Rebuild)?;
        laps.lap("replace");
        if !is_context {
            state.summary.functions = (state.summary.functions + one.added.len()).saturating_sub(one.removed.len());
        }
        all.dirty.extend(one.dirty);
        all.added.extend(one.added);
        all.removed.extend(one.removed);
        all.moved.extend(one.moved);
        all.old_flag_calls.extend(one.old_flag_calls);
        all.own_classes_changed |= one.own_classes_changed;
    }
    all.dirty.sort_unstable();
    all.dirty.dedup();
    state.overlay = opts.overlay.clone();
    let prog = &state.prog;
    let pass = match state.resident.update(prog, model, &reported(prog), &all) {
        Ok(stats) => Pass::Incremental(stats),
        Err(why) => {
            state.resident = Resident::build(prog, model, &reported(prog));
            Pass::Reanalysed(why.0)
        }
    };
    laps.lap("summaries");
    Ok(pass)
}

/// The checks over the current analysis, as `driver::run` reports them.
fn report(model: &Model, state: &State, opts: &Options, mut laps: Laps) -> Report {
    let prog = &state.prog;
    let analysis = &state.resident.analysis;
    let (mut findings, order_edge_count) = checks::run_counting_order_edges(prog, model, analysis);
    driver::sort_findings(&mut findings, &prog.files);
    laps.lap("checks");
    let mut summary = state.summary.clone();
    summary.errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    summary.warnings = findings.iter().filter(|f| f.severity == Severity::Warning).count();
    // The open files by their keys (which `Overlay::key` computed once, at
    // the whole run: it asks the file system).
    let probed: rustc_hash::FxHashSet<FileId> =
        opts.held_at.iter().filter_map(|p| state.by_path.get(&Overlay::key(p)).copied()).collect();
    let mut probe: Vec<FuncId> = probed.iter().flat_map(|&file| prog.functions_in(file)).collect();
    probe.sort_unstable();
    let call_states = state
        .resident
        .call_states(prog, model, &probe)
        .into_iter()
        .map(|(f, s)| (prog.funcs[f as usize].file, s))
        .collect();
    laps.lap("call states");
    let order_edges = if opts.want_order_graph { checks::lock_order_cycle::edges(prog, analysis) } else { Vec::new() };
    let files = prog.files.clone();
    let (problems, missing) = (state.problems.clone(), state.missing.clone());
    laps.lap("output");
    let stats = Stats {
        phases: laps.phases,
        call_edges: analysis.stats.call_edges,
        unresolved_calls: analysis.stats.unresolved_calls,
        lock_classes: analysis.classes.count(),
        order_edges: order_edge_count,
        specialised: analysis.stats.specialised,
        observations: analysis.stats.observations,
        ..Stats::default()
    };
    Report {
        findings,
        files,
        problems,
        missing,
        summary,
        nothing_usable: state.nothing_usable,
        stats,
        order_edges,
        call_states,
    }
}
