//! The default format: rustc-style diagnostics via codespan-reporting, one
//! label per hop in the reported file, the whole path as notes.

use super::{plural, ReportView};
use crate::finding::Severity;
use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor::WriteColor};
use rustc_hash::FxHashMap;

pub fn render(view: &ReportView, out: &mut dyn WriteColor) -> std::io::Result<()> {
    let mut files = SimpleFiles::new();
    let mut ids: FxHashMap<u32, usize> = FxHashMap::default();
    let config = term::Config::default();
    for (patch, members) in view.groups() {
        if let (Some(p), Some(series)) = (patch, view.series) {
            let pv = &series.patches[p];
            writeln!(out, "── {} ──", pv.name)?;
            for &i in &members {
                emit(view, i, &mut files, &mut ids, &config, out)?;
            }
            writeln!(
                out,
                "{}: {} and {} introduced, {} fixed\n",
                pv.name,
                plural(pv.errors, "error"),
                plural(pv.warnings, "warning"),
                pv.fixed
            )?;
        } else {
            for &i in &members {
                emit(view, i, &mut files, &mut ids, &config, out)?;
            }
        }
    }
    let s = view.summary;
    if let Some(series) = view.series {
        let fixed: usize = series.patches.iter().map(|p| p.fixed).sum();
        let n = series.patches.len();
        return writeln!(
            out,
            "lockpath: {}, {} and {} introduced, {fixed} fixed ({} analysed after the last patch, +{} tree-context files)",
            if n == 1 { "1 patch".to_string() } else { format!("{n} patches") },
            plural(s.errors, "error"),
            plural(s.warnings, "warning"),
            plural(s.files, "file"),
            s.context_files
        );
    }
    let context =
        if s.context_files > 0 { format!(" (+{} tree-context files)", s.context_files) } else { String::new() };
    let skipped = if s.skipped_files > 0 { format!(", {} skipped", s.skipped_files) } else { String::new() };
    writeln!(
        out,
        "lockpath: {}, {} in {}{}{}, {}",
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
        plural(s.files, "file"),
        context,
        skipped,
        plural(s.functions, "function")
    )
}

fn emit(
    view: &ReportView,
    index: usize,
    files: &mut SimpleFiles<String, String>,
    ids: &mut FxHashMap<u32, usize>,
    config: &term::Config,
    out: &mut dyn WriteColor,
) -> std::io::Result<()> {
    let f = &view.findings[index];
    let mut needed: Vec<u32> = vec![f.file];
    needed.extend(f.trace.iter().map(|h| h.file));
    for file in needed {
        if ids.contains_key(&file) {
            continue;
        }
        let Some(src) = view.file(file) else { continue };
        let bytes = view.source(file);
        // One character per invalid byte, so byte offsets stay in place.
        let mut text = String::with_capacity(bytes.len());
        for chunk in bytes.utf8_chunks() {
            text.push_str(chunk.valid());
            text.extend(std::iter::repeat_n('?', chunk.invalid().len()));
        }
        ids.insert(file, files.add(src.display.clone(), text));
    }
    let Some(&primary) = ids.get(&f.file) else {
        return Ok(());
    };
    let mut notes = Vec::new();
    let mut labels = Vec::new();
    if shows_snippet(view, f.file, f.span.start) {
        labels.push(Label::primary(primary, f.span.start as usize..f.span.end as usize).with_message(&f.label));
    } else {
        // No label, so codespan prints no location: say it in a note.
        let (line, col) = view.line_col(f.file, f.span.start);
        notes.push(format!("at {}:{line}:{col}: {} (source line too long to show)", view.display(f.file), f.label));
    }
    for (i, hop) in f.trace.iter().enumerate() {
        let (line, _) = view.line_col(hop.file, hop.span.start);
        let same_spot = hop.file == f.file && hop.span == f.span;
        if hop.file == f.file
            && hop.function == f.function
            && !same_spot
            && hop.span.end > hop.span.start
            && shows_snippet(view, hop.file, hop.span.start)
        {
            if let Some(&id) = ids.get(&hop.file) {
                labels
                    .push(Label::secondary(id, hop.span.start as usize..hop.span.end as usize).with_message(&hop.note));
            }
        }
        let arrow = if i == 0 { "path:" } else { "    →" };
        notes.push(format!("{arrow} {} ({}:{}) {}", hop.function, view.display(hop.file), line, hop.note));
    }
    notes.extend(f.notes.iter().map(|n| format!("note: {n}")));
    if let Some(help) = &f.help {
        notes.push(format!("help: {help}"));
    }
    let fixed = view.origin(index).is_some_and(|o| o.fixed);
    let diag = match f.severity {
        _ if fixed => Diagnostic::note(),
        Severity::Error => Diagnostic::error(),
        Severity::Warning => Diagnostic::warning(),
    };
    let message = if fixed { format!("fixed by this patch: {}", f.message) } else { f.message.clone() };
    let diag = diag.with_code(f.check).with_message(message).with_labels(labels).with_notes(notes);
    match term::emit_to_write_style(out, config, files, &diag) {
        Err(codespan_reporting::files::Error::Io(io)) => Err(io),
        _ => Ok(()),
    }
}

/// Source lines longer than this are not shown under a finding. codespan
/// prints the whole line for every label on it, so a generated or minified
/// line with many findings made the report grow with findings × line length
/// (found by fuzzing: a thousand findings on one 20 KB line took over 10 s).
const MAX_SNIPPET_LINE: u32 = 1024;

/// Whether the line holding `offset` in `file` is short enough to show.
fn shows_snippet(view: &ReportView, file: u32, offset: u32) -> bool {
    let Some(src) = view.file(file) else { return false };
    let (line, _) = src.line_col(offset);
    let start = src.lines.line_start(line).unwrap_or(0);
    let end = src.lines.line_start(line + 1).unwrap_or(u32::MAX);
    end.saturating_sub(start) <= MAX_SNIPPET_LINE
}
