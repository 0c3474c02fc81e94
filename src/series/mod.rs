//! Series mode: a patch series (format-patch files, an mbox, a plain diff,
//! or `--git RANGE`) checked against a tree, reporting only what each patch
//! introduces or fixes.
//!
//! ```text
//! parse   bytes → Patch (patch.rs)             never panics, no recursion
//! apply   Patch × overlay → next overlay       (apply.rs), all before any analysis
//! scope   touched paths → files analysed       (analysed_paths), the same rule for every state
//! analyse each state (before the series, after each patch) in one session, each after the first incrementally
//! compare findings by FindingKey, state k−1 → k: new ones and fixed ones
//! ```
//!
//! The tree on disk is never written: each state is an `Overlay` on top of
//! it (`--git`: on top of the base commit's files, read from git objects
//! into a private temporary directory).

pub mod apply;
pub mod git;
pub mod patch;

use crate::config::Filters;
use crate::driver;
use crate::finding::{Finding, Severity};
use crate::identity::FindingKey;
use crate::index::SourceFile;
use crate::model::Model;
use crate::output::{Origin, PatchLine, PatchView, SeriesView};
use crate::overlay::Overlay;
use apply::{Applied, Tree};
use patch::Patch;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error(transparent)]
    Parse(#[from] patch::ParseError),
    #[error(transparent)]
    Apply(#[from] apply::ApplyError),
    #[error(transparent)]
    Git(#[from] git::GitError),
    #[error("{0}")]
    Io(String),
}

/// One patch input as given on the command line.
pub enum Input {
    File(PathBuf),
    /// `-`: the bytes read from standard input.
    Stdin(Vec<u8>),
}

/// Is this command-line argument a patch rather than C source?
pub fn is_patch_input(arg: &Path) -> bool {
    arg.as_os_str() == "-"
        || matches!(arg.extension().and_then(|e| e.to_str()), Some("patch" | "diff" | "mbox" | "eml"))
}

pub struct Options {
    pub tree_context: bool,
    pub max_file_size: u64,
    pub progress: bool,
    /// The facts cache's root (see `driver::Options::cache_dir`).
    pub cache_dir: Option<std::path::PathBuf>,
    /// The options of a check server that may keep the whole tree
    /// (`lockpath server TREE`, TREE as --tree names it). When one answers,
    /// every state is analysed there, whole-tree, instead of in this
    /// process over the directories the series touches.
    pub server: Option<driver::Options>,
}

/// Everything the output formats need about a series run.
pub struct SeriesReport {
    pub findings: Vec<Finding>,
    pub files: Vec<SourceFile>,
    pub summary: driver::Summary,
    pub view: SeriesView,
    /// Notes for stderr: binary changes skipped, empty patches, files the
    /// analysis only partly understood (among those the series touches).
    pub notes: Vec<String>,
}

/// Parses the inputs, in order, into one series.
pub fn read_inputs(inputs: &[Input]) -> Result<Vec<Patch>, SeriesError> {
    let mut out = Vec::new();
    for input in inputs {
        let (bytes, source) = match input {
            Input::File(path) => (
                std::fs::read(path).map_err(|e| SeriesError::Io(format!("{}: cannot read: {e}", path.display())))?,
                path.display().to_string(),
            ),
            Input::Stdin(bytes) => (bytes.clone(), "-".to_string()),
        };
        out.extend(patch::parse(&bytes, &source)?);
    }
    Ok(out)
}

/// Checks `patches` against the tree at `root` (patch files, or stdin).
pub fn check_patches(
    model: &Model,
    opts: &Options,
    filters: &Filters,
    root: &Path,
    patches: Vec<Patch>,
) -> Result<SeriesReport, SeriesError> {
    let root = root.canonicalize().map_err(|e| SeriesError::Io(format!("{}: {e}", root.display())))?;
    let tree = Tree { repo: git::Repo::at(&root), root };
    check(model, opts, filters, &tree, patches)
}

/// Checks the commits of `range` in the repository at `root`: the base is
/// the first commit's parent, each commit is one patch named
/// `<short sha> <subject>`.
pub fn check_git(
    model: &Model,
    opts: &Options,
    filters: &Filters,
    root: &Path,
    range: &str,
) -> Result<SeriesReport, SeriesError> {
    let repo = git::Repo::open(root)?;
    let commits = repo.commits(range)?;
    let mut patches = Vec::new();
    for commit in &commits {
        let diff = repo.diff(commit)?;
        let mut parsed = patch::parse(&diff, &commit.short)?;
        for p in &mut parsed {
            p.name = format!("{} {}", commit.short, commit.subject);
        }
        patches.extend(parsed);
    }
    let scope = Scope::of(&patches.iter().flat_map(|p| names_in(p, 1)).collect::<Vec<_>>());
    let base = tempfile::Builder::new()
        .prefix("lockpath-base-")
        .tempdir()
        .map_err(|e| SeriesError::Io(format!("cannot make a temporary directory: {e}")))?;
    let base_commit = commits.first().and_then(|c| c.parent.clone());
    let wanted = |path: &str| scope.wants_in_base(path, opts.tree_context);
    repo.materialise(base_commit.as_deref(), &scope.pathspecs(opts.tree_context), &wanted, base.path())?;
    let root = base.path().canonicalize().map_err(|e| SeriesError::Io(format!("{}: {e}", base.path().display())))?;
    let tree = Tree { root, repo: None };
    let report = check(model, opts, filters, &tree, patches)?;
    drop(base);
    Ok(report)
}

/// The paths a patch names, with `level` leading components stripped from
/// prefixed names (for `--git`, whose diffs are written with `a/` `b/`).
fn names_in(patch: &Patch, level: usize) -> Vec<String> {
    let mut out = Vec::new();
    for f in &patch.files {
        for name in [&f.old_name, &f.new_name].into_iter().flatten() {
            let skip = if f.prefixed { level } else { 0 };
            let rel: Vec<&str> = name.split('/').skip(skip).collect();
            out.push(rel.join("/"));
        }
    }
    out
}

/// What one state's analysis covers. Today: every `.c`/`.h` file directly
/// in a directory holding a C file the series touches, and each touched
/// header below an `include/` directory (the rest of `include/` is read as
/// tree context anyway). The same scope serves every state, so before and
/// after differ only by the series. This is the one place to widen (callers
/// in other directories, the whole tree once the per-file cache lands).
#[derive(Debug, Default, Clone)]
pub struct Scope {
    dirs: BTreeSet<String>,
    files: BTreeSet<String>,
}

impl Scope {
    pub fn of(touched: &[String]) -> Scope {
        let mut scope = Scope::default();
        for rel in touched.iter().filter(|r| is_c_source(r)) {
            let in_include =
                rel.starts_with("include/") || rel.split('/').nth(2) == Some("include") && rel.starts_with("arch/");
            if in_include {
                scope.files.insert(rel.clone());
            } else {
                let dir = rel.rsplit_once('/').map_or("", |(d, _)| d).to_string();
                scope.dirs.insert(dir);
            }
        }
        scope
    }

    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty() && self.files.is_empty()
    }

    fn wants(&self, rel: &str) -> bool {
        if !is_c_source(rel) {
            return false;
        }
        let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
        self.files.contains(rel) || self.dirs.contains(dir)
    }

    /// What `--git` reads from the base commit: the scope, plus the tree
    /// context and the files that mark a kernel tree.
    fn wants_in_base(&self, rel: &str, tree_context: bool) -> bool {
        let context = tree_context
            && (rel == "MAINTAINERS"
                || (is_c_source(rel) && (rel.starts_with("include/") || rel.starts_with("arch/x86/include/"))));
        context || self.wants(rel)
    }

    fn pathspecs(&self, tree_context: bool) -> Vec<String> {
        let mut specs: Vec<String> =
            self.dirs.iter().map(|d| if d.is_empty() { ".".into() } else { d.clone() }).collect();
        specs.extend(self.files.iter().cloned());
        if tree_context {
            specs.extend(["MAINTAINERS", "include", "arch/x86/include"].map(String::from));
        }
        specs
    }
}

fn is_c_source(rel: &str) -> bool {
    rel.ends_with(".c") || rel.ends_with(".h")
}

/// The files one state analyses: [`Scope`] applied to the tree as the
/// overlay shows it. Sorted.
pub fn analysed_paths(tree: &Tree, overlay: &Overlay, scope: &Scope) -> Vec<PathBuf> {
    let mut out: BTreeSet<PathBuf> = BTreeSet::new();
    for dir in &scope.dirs {
        let abs = tree.root.join(dir);
        if let Ok(entries) = std::fs::read_dir(&abs) {
            for entry in entries.flatten() {
                let path = entry.path();
                let is_file = entry.file_type().is_ok_and(|t| t.is_file());
                if is_file && path.extension().is_some_and(|e| e == "c" || e == "h") {
                    out.insert(Overlay::key(&path));
                }
            }
        }
        let key = Overlay::key(&abs);
        out.extend(overlay.present_under(&abs).filter(|p| p.parent() == Some(key.as_path())).map(Path::to_path_buf));
    }
    for file in &scope.files {
        out.insert(Overlay::key(&tree.root.join(file)));
    }
    out.into_iter()
        .filter(|p| match overlay.get(p) {
            Some(bytes) => bytes.is_some(),
            None => p.is_file(),
        })
        .filter(|p| scope.wants(&p.strip_prefix(&tree.root).unwrap_or(p).to_string_lossy()))
        .collect()
}

/// One analysed state of the tree.
struct State {
    findings: Vec<Finding>,
    keys: Vec<FindingKey>,
    files: Vec<SourceFile>,
    summary: driver::Summary,
    overlay: Arc<Overlay>,
    problems: Vec<String>,
}

impl State {
    /// The state after a patch that changed nothing analysed.
    fn unchanged(&self) -> State {
        State {
            findings: self.findings.clone(),
            keys: self.keys.clone(),
            files: self.files.clone(),
            summary: self.summary.clone(),
            overlay: self.overlay.clone(),
            problems: Vec::new(),
        }
    }
}

fn check(
    model: &Model,
    opts: &Options,
    filters: &Filters,
    tree: &Tree,
    patches: Vec<Patch>,
) -> Result<SeriesReport, SeriesError> {
    // Apply everything first: an apply failure reports nothing at all.
    let mut overlays: Vec<Arc<Overlay>> = vec![Arc::new(Overlay::default())];
    let mut applied: Vec<Vec<Applied>> = Vec::new();
    for patch in &patches {
        let mut next = Overlay::clone(overlays.last().map_or(&Overlay::default(), |o| o));
        let done = apply::apply(patch, tree, &mut next)?;
        // A pre-image read from the repository (the work tree is ahead of
        // the patch's base) is what every earlier state had too.
        for a in &done {
            if let (Some(base), Some(old)) = (&a.base, &a.old) {
                for state in &mut overlays {
                    Arc::make_mut(state).set(&tree.path(old), base.clone());
                }
            }
        }
        applied.push(done);
        overlays.push(Arc::new(next));
    }
    let touched: Vec<String> = applied
        .iter()
        .flatten()
        .filter(|a| a.changed)
        .flat_map(|a| [a.old.clone(), a.new.clone()].into_iter().flatten())
        .collect();
    let scope = Scope::of(&touched);
    let mut notes: Vec<String> = Vec::new();
    for (patch, applied) in patches.iter().zip(&applied) {
        notes.extend(patch.notes.iter().map(|n| format!("{}: {n}", patch.name)));
        if patch.files.is_empty() {
            notes.push(format!("{}: empty patch, nothing to check", patch.name));
        } else if !applied.iter().any(|a| a.changed && [&a.old, &a.new].into_iter().flatten().any(|n| is_c_source(n))) {
            notes.push(format!("{}: changes no C file", patch.name));
        }
    }

    // Analyse the base and each state a patch changed C code in: the base
    // whole, each later state incrementally from the one before; on a
    // check server for the whole tree when one answers, else here over
    // the scope.
    let changes_c = |k: usize, wanted: &dyn Fn(&str) -> bool| {
        k == 0 || applied[k - 1].iter().any(|a| a.changed && [&a.old, &a.new].into_iter().flatten().any(|n| wanted(n)))
    };
    let on_server = opts.server.as_ref().and_then(|server| {
        let mut states: Vec<State> = Vec::with_capacity(overlays.len());
        for (k, overlay) in overlays.iter().enumerate() {
            let state = match states.last() {
                Some(prev) if !changes_c(k, &|n| is_c_source(n)) => prev.unchanged(),
                _ => {
                    let mut run = server.clone();
                    run.overlay = Overlay::clone(overlay);
                    let report = crate::server::ask(model, &run).ok()??.report;
                    state_of(report, filters, tree, overlay.clone())
                }
            };
            states.push(state);
        }
        Some(states)
    });
    if on_server.is_some() {
        notes.push("analysed on the check server for the whole tree".into());
    }
    let states = on_server.unwrap_or_else(|| {
        let mut session = crate::session::Session::new(model);
        let mut states: Vec<State> = Vec::with_capacity(overlays.len());
        for (k, overlay) in overlays.iter().enumerate() {
            let state = match states.last() {
                Some(prev) if !changes_c(k, &|n| scope.wants(n)) => prev.unchanged(),
                _ => analyse(&mut session, opts, filters, tree, overlay.clone(), &scope),
            };
            states.push(state);
        }
        states
    });
    let touched_set: BTreeSet<&str> = touched.iter().map(String::as_str).collect();
    if let Some(last) = states.last() {
        let mut seen = BTreeSet::new();
        for p in states.iter().flat_map(|s| &s.problems) {
            let file = p.split(": ").next().unwrap_or("");
            if touched_set.contains(file) && seen.insert(p.clone()) {
                notes.push(p.clone());
            }
        }
        let _ = last;
    }

    // Compare consecutive states.
    let mut out = Merged::default();
    let mut views: Vec<PatchView> = Vec::new();
    for (k, patch) in patches.iter().enumerate() {
        let (before, after) = (&states[k], &states[k + 1]);
        let new: Vec<usize> = crate::identity::new_since(&before.keys, &after.keys);
        let new_findings: Vec<Finding> =
            filters.drop_baseline(new.iter().map(|&i| after.findings[i].clone()).collect());
        let fixed = crate::identity::new_since(&after.keys, &before.keys);
        let mut view = PatchView {
            name: patch.name.clone(),
            source: patch.source.clone(),
            lines: patch.lines,
            errors: 0,
            warnings: 0,
            fixed: fixed.len(),
        };
        for f in new_findings {
            match f.severity {
                Severity::Error => view.errors += 1,
                Severity::Warning => view.warnings += 1,
            }
            let line = patch_line(patch, &applied[k], after, &f, false);
            out.push(f, after, Origin { patch: k, fixed: false, patch_line: line });
        }
        for i in fixed {
            let f = before.findings[i].clone();
            let line = patch_line(patch, &applied[k], before, &f, true);
            out.push(f, before, Origin { patch: k, fixed: true, patch_line: line });
        }
        views.push(view);
    }
    let last = states.last().map(|s| s.summary.clone()).unwrap_or_default();
    let summary = driver::Summary {
        errors: views.iter().map(|v| v.errors).sum(),
        warnings: views.iter().map(|v| v.warnings).sum(),
        ..last
    };
    Ok(SeriesReport {
        findings: out.findings,
        files: out.files,
        summary,
        view: SeriesView { patches: views, origins: out.origins, contents: out.contents },
        notes,
    })
}

fn analyse(
    session: &mut crate::session::Session,
    opts: &Options,
    filters: &Filters,
    tree: &Tree,
    overlay: Arc<Overlay>,
    scope: &Scope,
) -> State {
    let paths = analysed_paths(tree, &overlay, scope);
    if paths.is_empty() {
        return State {
            findings: Vec::new(),
            keys: Vec::new(),
            files: Vec::new(),
            summary: driver::Summary::default(),
            overlay,
            problems: Vec::new(),
        };
    }
    let run_opts = driver::Options {
        held_at: Vec::new(),
        paths,
        tree_context: opts.tree_context,
        max_file_size: opts.max_file_size,
        want_order_graph: false,
        progress: opts.progress,
        overlay: Overlay::clone(&overlay),
        cache_dir: opts.cache_dir.clone(),
        watch: None,
    };
    let (report, _) = session.run(&run_opts);
    state_of(report, filters, tree, overlay)
}

/// A state from its report: names relative to the series' tree, the
/// configuration's filters applied, each finding's identity.
fn state_of(mut report: driver::Report, filters: &Filters, tree: &Tree, overlay: Arc<Overlay>) -> State {
    // Names relative to the series' tree, whatever the current directory.
    for file in &mut report.files {
        if let Ok(rel) = file.path.strip_prefix(&tree.root) {
            file.display = rel.to_string_lossy().into_owned();
        }
    }
    let findings = filters.apply(report.findings, &report.files);
    let keys = findings.iter().map(FindingKey::of).collect();
    let problems = report
        .problems
        .iter()
        .map(|p| match p.split_once(": ") {
            Some((file, rest)) => {
                let rel = Path::new(file).strip_prefix(&tree.root).map(|r| r.to_string_lossy().into_owned());
                format!("{}: {rest}", rel.unwrap_or_else(|_| file.to_string()))
            }
            None => p.clone(),
        })
        .collect();
    let mut summary = report.summary;
    summary.errors = findings.iter().filter(|f: &&Finding| f.severity == Severity::Error).count();
    summary.warnings = findings.iter().filter(|f: &&Finding| f.severity == Severity::Warning).count();
    State { findings, keys, files: report.files, summary, overlay, problems }
}

/// The line of the patch showing the finding's line: on the new side for a
/// finding the patch introduces, on the old side for one it fixes.
fn patch_line(patch: &Patch, applied: &[Applied], state: &State, f: &Finding, old_side: bool) -> Option<PatchLine> {
    let file = state.files.get(f.file as usize)?;
    let (line, _) = file.line_col(f.span.start);
    let line = line as usize;
    let a = applied
        .iter()
        .find(|a| if old_side { a.old.as_deref() } else { a.new.as_deref() } == Some(file.display.as_str()))?;
    let diff = patch.files.get(a.diff)?;
    for hunk in &diff.hunks {
        let mut at = if old_side { hunk.old_start } else { hunk.new_start };
        for l in &hunk.lines {
            let counts = if old_side { l.kind != b'+' } else { l.kind != b'-' };
            if !counts {
                continue;
            }
            if at == line {
                return Some(PatchLine {
                    line: l.line,
                    kind: l.kind,
                    text: String::from_utf8_lossy(&l.text).into_owned(),
                });
            }
            at += 1;
        }
    }
    None
}

/// Findings of several states in one file table.
#[derive(Default)]
struct Merged {
    findings: Vec<Finding>,
    origins: Vec<Origin>,
    files: Vec<SourceFile>,
    /// (state's overlay address, state's file id) → merged id.
    ids: rustc_hash::FxHashMap<(usize, u32), u32>,
    contents: rustc_hash::FxHashMap<u32, Arc<[u8]>>,
}

impl Merged {
    fn push(&mut self, mut f: Finding, state: &State, origin: Origin) {
        f.file = self.file(state, f.file);
        for hop in &mut f.trace {
            hop.file = self.file(state, hop.file);
        }
        self.findings.push(f);
        self.origins.push(origin);
    }

    fn file(&mut self, state: &State, id: u32) -> u32 {
        let key = (Arc::as_ptr(&state.overlay) as usize, id);
        if let Some(&merged) = self.ids.get(&key) {
            return merged;
        }
        let merged = self.files.len() as u32;
        if let Some(src) = state.files.get(id as usize) {
            self.files.push(src.clone());
            if let Some(Some(bytes)) = state.overlay.get(&src.path) {
                self.contents.insert(merged, bytes.clone());
            }
        }
        self.ids.insert(key, merged);
        merged
    }
}
