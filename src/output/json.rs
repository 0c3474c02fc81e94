//! `--format json`: the stable machine-readable shape (version 1).

use super::ReportView;
use serde::Serialize;

#[derive(Serialize)]
struct Json<'a> {
    version: u32,
    findings: Vec<JsonFinding<'a>>,
    summary: JsonSummary,
    /// Series mode: each patch with what it introduced and fixed.
    #[serde(skip_serializing_if = "Option::is_none")]
    patches: Option<Vec<JsonPatch<'a>>>,
}

#[derive(Serialize)]
struct JsonPatch<'a> {
    name: &'a str,
    lines: usize,
    errors: usize,
    warnings: usize,
    fixed: usize,
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
    /// Series mode: the patch that introduced (or fixed) it.
    #[serde(skip_serializing_if = "Option::is_none")]
    patch: Option<&'a str>,
    /// Series mode: `new`, or `fixed` (then `severity` is `info`).
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
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
        .enumerate()
        .map(|(i, f)| {
            let (line, column) = view.line_col(f.file, f.span.start);
            let fixed = view.origin(i).map(|o| o.fixed);
            JsonFinding {
                check: f.check,
                severity: if fixed == Some(true) { "info" } else { f.severity.as_str() },
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
                patch: view.patch_name(i),
                status: fixed.map(|fixed| if fixed { "fixed" } else { "new" }),
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
        patches: view.series.map(|series| {
            series
                .patches
                .iter()
                .map(|p| JsonPatch {
                    name: &p.name,
                    lines: p.lines,
                    errors: p.errors,
                    warnings: p.warnings,
                    fixed: p.fixed,
                })
                .collect()
        }),
    };
    let mut out = serde_json::to_string_pretty(&json).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}
