//! `--format json`: the stable machine-readable shape (version 1).

use super::ReportView;
use serde::Serialize;

#[derive(Serialize)]
struct Json<'a> {
    version: u32,
    findings: Vec<JsonFinding<'a>>,
    summary: JsonSummary,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    check: &'a str,
    severity: &'a str,
    message: &'a str,
    file: &'a str,
    line: u32,
    column: u32,
    function: &'a str,
    lock: Option<&'a str>,
    trace: Vec<JsonHop<'a>>,
}

#[derive(Serialize)]
struct JsonHop<'a> {
    file: &'a str,
    line: u32,
    function: &'a str,
    note: &'a str,
}

#[derive(Serialize)]
struct JsonSummary {
    files: usize,
    context_files: usize,
    functions: usize,
    errors: usize,
    warnings: usize,
    skipped_files: usize,
}

pub fn render(view: &ReportView) -> String {
    let findings = view
        .findings
        .iter()
        .map(|f| {
            let (line, column) = view.line_col(f.file, f.span.start);
            JsonFinding {
                check: f.check,
                severity: f.severity.as_str(),
                message: &f.message,
                file: view.display(f.file),
                line,
                column,
                function: &f.function,
                lock: f.lock.as_deref(),
                trace: f
                    .trace
                    .iter()
                    .map(|h| JsonHop {
                        file: view.display(h.file),
                        line: view.line_col(h.file, h.span.start).0,
                        function: &h.function,
                        note: &h.note,
                    })
                    .collect(),
            }
        })
        .collect();
    let s = view.summary;
    let json = Json {
        version: 1,
        findings,
        summary: JsonSummary {
            files: s.files,
            context_files: s.context_files,
            functions: s.functions,
            errors: s.errors,
            warnings: s.warnings,
            skipped_files: s.skipped_files,
        },
    };
    let mut out = serde_json::to_string_pretty(&json).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}
