//! `--format gcc`: `path:line:col: error: message [check-id]`, then one
//! `note:` line per hop of the path, so editors' quickfix lists and Emacs'
//! compile mode jump to the finding and to each hop.

use super::ReportView;
use crate::finding::Severity;
use std::fmt::Write;

pub fn render(view: &ReportView) -> String {
    let mut out = String::new();
    for (i, f) in view.findings.iter().enumerate() {
        let (line, col) = view.line_col(f.file, f.span.start);
        let path = view.display(f.file);
        let origin = view.origin(i);
        let patch = view.patch_name(i);
        if origin.is_some_and(|o| o.fixed) {
            let by = patch.map(|p| format!(" by {p}")).unwrap_or_default();
            let _ = writeln!(out, "{path}:{line}:{col}: note: fixed{by}: {} [{}]", f.message, f.check);
            continue;
        }
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{path}:{line}:{col}: {level}: {} [{}]", f.message, f.check);
        if let Some(p) = patch {
            let _ = writeln!(out, "{path}:{line}:{col}: note: introduced by {p}");
        }
        for hop in &f.trace {
            let (hop_line, hop_col) = view.line_col(hop.file, hop.span.start);
            let _ = writeln!(
                out,
                "{}:{hop_line}:{hop_col}: note: in {}: {}",
                view.display(hop.file),
                hop.function,
                hop.note
            );
        }
    }
    out
}
