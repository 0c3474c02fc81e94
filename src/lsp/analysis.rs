//! The analysis as the server sees it: which paths to analyse, and one
//! function, `reanalyse`, from those paths and the open buffers to the
//! diagnostics of every file: a whole `driver::run` first, then runs of a
//! `Session`, which re-analyse only what an edit reaches.

use super::convert::Encoding;
use super::texts::{TextCache, Texts};
use crate::driver;
use crate::finding::{Finding, Severity};
use crate::model::Model;
use crate::overlay::Overlay;
use lsp_types::{
    CodeDescription, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Range, Url,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One analysis to run: what `lockpath check` would be given, plus the
/// editor's buffers.
pub(crate) struct Job {
    pub paths: Vec<PathBuf>,
    pub tree_context: bool,
    pub overlay: Overlay,
    /// How diagnostics are written for this client.
    pub style: Style,
    /// The run's progress, which the main loop reports to the client.
    pub watch: std::sync::Arc<driver::RunProgress>,
    /// Open documents: the lock state at their calls is recorded for hover.
    pub held_at: Vec<PathBuf>,
    /// Files changed on disk since the last job (`didChangeWatchedFiles`).
    pub disk_changes: Vec<PathBuf>,
}

/// What the client can take, fixed at `initialize`.
#[derive(Clone)]
pub(crate) struct Style {
    pub encoding: Encoding,
    /// The client takes `relatedInformation`.
    pub related_information: bool,
    /// The path also goes into the message (clients that take related
    /// information but do not show it, or when asked to).
    pub path_in_message: bool,
    /// Where each check's documentation is, by check id.
    pub docs: Arc<BTreeMap<&'static str, Url>>,
}

/// Every analysed file's diagnostics (files without findings are absent);
/// a file whose diagnostics did not change shares the last run's list.
pub(crate) struct Analysed {
    pub diagnostics: BTreeMap<PathBuf, Arc<Vec<Diagnostic>>>,
    pub files: usize,
    pub functions: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Files skipped or partly understood (one line each in the log).
    pub problems: Vec<String>,
    /// Per open document, each call's range and what hover says of it.
    pub call_states: BTreeMap<PathBuf, Vec<(Range, String)>>,
}

/// The paths a run analyses: the same set `lockpath check <root>` would be
/// given — each workspace root, or its configured sub-directories — plus
/// open C files below a root that those do not cover. With no root, the
/// open C files alone. Files outside every root are not analysed.
pub(crate) fn analysed_paths<'a>(
    roots: &[PathBuf],
    subdirs: &[PathBuf],
    open: impl Iterator<Item = &'a Path>,
) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = if subdirs.is_empty() {
        roots.to_vec()
    } else {
        roots.iter().flat_map(|root| subdirs.iter().map(move |sub| Overlay::key(&root.join(sub)))).collect()
    };
    // A file named on the command line is read whatever its extension; an
    // open Makefile is not C.
    let is_c = |p: &Path| matches!(p.extension().and_then(|e| e.to_str()), Some("c" | "h"));
    for doc in open.filter(|d| is_c(d)) {
        let inside_root = roots.is_empty() || roots.iter().any(|r| doc.starts_with(r));
        if inside_root && !paths.iter().any(|p| doc.starts_with(p)) {
            paths.push(doc.to_path_buf());
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

/// Whether `path` is one the server analyses when open: below a root, or
/// anywhere when there is no root.
pub(crate) fn is_inside(roots: &[PathBuf], path: &Path) -> bool {
    roots.is_empty() || roots.iter().any(|r| path.starts_with(r))
}

/// What `lockpath check` would be given for `job`.
pub(crate) fn options(job: &Job) -> driver::Options {
    driver::Options {
        paths: job.paths.clone(),
        tree_context: job.tree_context,
        max_file_size: 16 << 20,
        want_order_graph: false,
        progress: false,
        overlay: job.overlay.clone(),
        // Untouched files' facts come from the cache: a re-analysis after an
        // edit parses only the edited buffers.
        cache_dir: crate::cache::FactsCache::default_dir().ok(),
        watch: Some(job.watch.clone()),
        held_at: job.held_at.clone(),
    }
}

/// Analyses `job.paths` with the overlay standing in for the disk and turns
/// the findings into diagnostics. The first job is answered from the report
/// cache when the tree is unchanged (the session is built right after), or
/// else by building the session; every later job is an incremental run of
/// it.
pub(crate) fn reanalyse<'m>(
    model: &'m Model,
    session: &mut Option<crate::session::Session<'m>>,
    texts: &mut TextCache,
    job: &Job,
) -> Analysed {
    let opts = options(job);
    match session {
        Some(session) => {
            session.disk_changed(job.disk_changes.iter().cloned());
            analysed(&session.run(&opts).0, job, texts)
        }
        None => match driver::cached(model, &opts) {
            Some(report) => analysed(&report, job, texts),
            None => {
                let mut fresh = crate::session::Session::new(model);
                let (report, _) = fresh.run(&opts);
                *session = Some(fresh);
                analysed(&report, job, texts)
            }
        },
    }
}

/// The report as diagnostics, per file.
fn analysed(report: &driver::Report, job: &Job, kept: &mut TextCache) -> Analysed {
    // The overlay holds the open documents (`held_at`).
    let mut texts = Texts::new(&report.files, &job.overlay, &job.held_at, kept);
    let mut by_file: BTreeMap<PathBuf, Vec<&Finding>> = BTreeMap::new();
    for finding in &report.findings {
        let Some(file) = report.files.get(finding.file as usize) else { continue };
        by_file.entry(texts.kept.key(&file.path)).or_default().push(finding);
    }
    let diagnostics = by_file
        .into_iter()
        .map(|(path, findings)| {
            let diags = texts.diagnostics(&path, &findings, |finding, texts| diagnostic(finding, texts, &job.style));
            (path, diags)
        })
        .collect();
    let mut call_states: BTreeMap<PathBuf, Vec<(Range, String)>> = BTreeMap::new();
    for (file, state) in &report.call_states {
        let Some(source) = report.files.get(*file as usize) else { continue };
        let range = texts.range(*file, state.span, job.style.encoding);
        call_states.entry(texts.kept.key(&source.path)).or_default().push((range, describe_call(state)));
    }
    texts.finish();
    Analysed {
        call_states,
        diagnostics,
        files: report.summary.files,
        functions: report.summary.functions,
        errors: report.summary.errors,
        warnings: report.summary.warnings,
        problems: report.problems.clone(),
    }
}

/// What hover says of a call: what it takes, and the lock state before it
/// (the locks held on every path to it, interrupt and atomic sections).
fn describe_call(state: &crate::analysis::dataflow::CallState) -> String {
    let list = |names: &[String]| names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let mut out = format!("**`{}()`**", state.callee);
    if !state.taken.is_empty() {
        out.push_str(&format!(" takes {}", list(&state.taken)));
    }
    out.push_str("\n\n");
    if state.held.is_empty() {
        out.push_str("No lock is held here on every path.");
    } else {
        out.push_str(&format!("Held here: {}.", list(&state.held)));
    }
    let mut sections = Vec::new();
    if state.irqs_off {
        sections.push("interrupts off");
    }
    if state.bh_off {
        sections.push("softirqs off");
    }
    if state.no_sleep {
        sections.push("atomic section (preemption or interrupts disabled)");
    }
    if !sections.is_empty() {
        out.push_str(&format!("\n\nAlso: {}.", sections.join(", ")));
    }
    out
}

fn diagnostic(f: &Finding, texts: &mut Texts, style: &Style) -> Diagnostic {
    let mut message = f.message.clone();
    if !f.label.is_empty() {
        message.push('\n');
        message.push_str(&f.label);
    }
    if style.path_in_message && !f.trace.is_empty() {
        message.push_str("\npath:");
        for hop in &f.trace {
            let (name, line) = texts.display_line(hop.file, hop.span);
            message.push_str(&format!("\n  {} ({name}:{line}) {}", hop.function, hop.note));
        }
    }
    for note in &f.notes {
        message.push_str(&format!("\nnote: {note}"));
    }
    if let Some(help) = &f.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related = style.related_information.then(|| {
        f.trace
            .iter()
            .filter_map(|hop| {
                let uri = texts.uri(hop.file)?;
                let range = texts.range(hop.file, hop.span, style.encoding);
                Some(DiagnosticRelatedInformation {
                    location: Location { uri, range },
                    message: format!("{}: {}", hop.function, hop.note),
                })
            })
            .collect()
    });
    Diagnostic {
        range: texts.range(f.file, f.span, style.encoding),
        severity: Some(match f.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(f.check.to_string())),
        code_description: style.docs.get(f.check).map(|href| CodeDescription { href: href.clone() }),
        source: Some("lockpath".into()),
        message,
        related_information: related,
        tags: None,
        data: None,
    }
}
