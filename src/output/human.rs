//! The default format: rustc-style diagnostics via codespan-reporting, one
//! label per hop in the reported file, the whole path as notes.

use super::ReportView;
use crate::finding::Severity;
use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor::WriteColor};
use rustc_hash::FxHashMap;

pub fn render(view: &ReportView, out: &mut dyn WriteColor) -> std::io::Result<()> {
    let mut files = SimpleFiles::new();
    let mut ids: FxHashMap<u32, usize> = FxHashMap::default();
    let config = term::Config::default();
    for f in view.findings {
        let mut needed: Vec<u32> = vec![f.file];
        needed.extend(f.trace.iter().map(|h| h.file));
        for file in needed {
            if ids.contains_key(&file) {
                continue;
            }
            let Some(src) = view.file(file) else { continue };
            // Files are read again only for the findings they carry.
            let bytes = std::fs::read(&src.path).unwrap_or_default();
            // One character per invalid byte, so byte offsets stay in place.
            let mut text = String::with_capacity(bytes.len());
            for chunk in bytes.utf8_chunks() {
                text.push_str(chunk.valid());
                text.extend(std::iter::repeat_n('?', chunk.invalid().len()));
            }
            ids.insert(file, files.add(src.display.clone(), text));
        }
        let Some(&primary) = ids.get(&f.file) else {
            continue;
        };
        let mut labels =
            vec![Label::primary(primary, f.span.start as usize..f.span.end as usize).with_message(&f.label)];
        let mut notes = Vec::new();
        for (i, hop) in f.trace.iter().enumerate() {
            let (line, _) = view.line_col(hop.file, hop.span.start);
            let same_spot = hop.file == f.file && hop.span == f.span;
            if hop.file == f.file && hop.function == f.function && !same_spot && hop.span.end > hop.span.start {
                if let Some(&id) = ids.get(&hop.file) {
                    labels.push(
                        Label::secondary(id, hop.span.start as usize..hop.span.end as usize).with_message(&hop.note),
                    );
                }
            }
            let arrow = if i == 0 { "path:" } else { "    →" };
            notes.push(format!("{arrow} {} ({}:{}) {}", hop.function, view.display(hop.file), line, hop.note));
        }
        notes.extend(f.notes.iter().map(|n| format!("note: {n}")));
        if let Some(help) = &f.help {
            notes.push(format!("help: {help}"));
        }
        let diag = match f.severity {
            Severity::Error => Diagnostic::error(),
            Severity::Warning => Diagnostic::warning(),
        };
        let diag = diag.with_code(f.check).with_message(&f.message).with_labels(labels).with_notes(notes);
        if let Err(codespan_reporting::files::Error::Io(io)) = term::emit_to_write_style(out, &config, &files, &diag) {
            return Err(io);
        }
    }
    let s = view.summary;
    let context =
        if s.context_files > 0 { format!(" (+{} tree-context files)", s.context_files) } else { String::new() };
    let skipped = if s.skipped_files > 0 { format!(", {} skipped", s.skipped_files) } else { String::new() };
    let plural = |n: usize, word: &str| if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") };
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
