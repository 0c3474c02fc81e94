//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF
//! readers. One run; `rules` are the checks (help is `lockpath explain`'s
//! text); each result carries its witness path as a `codeFlow` and a
//! `partialFingerprints` entry computed from the finding's identity (check,
//! lock classes, functions on the path — `identity.rs`), so an alert keeps
//! its identity when lines move. In series mode, results a patch introduces
//! have `baselineState: new` and those it fixes `absent` (level `note`),
//! with the patch in `properties.patch`. A test validates the output
//! against the official schema (`tests/sarif-schema-2.1.0.json`).

use super::ReportView;
use crate::checks::{CheckInfo, CHECKS};
use crate::finding::Severity;
use crate::identity::FindingKey;
use serde_json::{json, Value};

const SCHEMA: &str = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

pub fn render(view: &ReportView) -> String {
    let rules: Vec<Value> = CHECKS.iter().map(|c| rule(c)).collect();
    let results: Vec<Value> = view.findings.iter().enumerate().map(|(i, _)| result(view, i)).collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "lockpath",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [{ "executionSuccessful": true }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn rule(c: &CheckInfo) -> Value {
    json!({
        "id": c.id,
        "name": c.id.split('-').map(|w| {
            let mut cs = w.chars();
            cs.next().map(|h| h.to_uppercase().chain(cs).collect::<String>()).unwrap_or_default()
        }).collect::<String>(),
        "shortDescription": { "text": c.summary },
        "fullDescription": { "text": first_paragraph(c.doc) },
        "help": { "text": c.doc },
        "defaultConfiguration": { "level": level(c.severity) },
    })
}

/// The text under the doc's first heading ("What it catches").
fn first_paragraph(doc: &str) -> String {
    let body = doc.split("\n## ").nth(1).unwrap_or(doc);
    let para = body.split_once('\n').map_or(body, |(_, rest)| rest);
    para.split("\n\n").next().unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" ")
}

fn location(view: &ReportView, file: u32, offset: u32, message: Option<&str>) -> Value {
    let (line, column) = view.line_col(file, offset);
    let mut loc = json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(view.display(file)), "uriBaseId": "SRCROOT" },
            "region": { "startLine": line.max(1), "startColumn": column.max(1) },
        }
    });
    if let Some(text) = message {
        loc["message"] = json!({ "text": text });
    }
    loc
}

fn result(view: &ReportView, i: usize) -> Value {
    let f = &view.findings[i];
    let fixed = view.origin(i).is_some_and(|o| o.fixed);
    let rule_index = CHECKS.iter().position(|c| c.id == f.check).unwrap_or(0);
    let mut primary = location(view, f.file, f.span.start, None);
    primary["logicalLocations"] = json!([{ "name": f.function, "kind": "function" }]);
    let mut r = json!({
        "ruleId": f.check,
        "ruleIndex": rule_index,
        "level": if fixed { "note" } else { level(f.severity) },
        "message": { "text": f.message },
        "locations": [primary],
        "partialFingerprints": { "lockpathFindingKey/v1": FindingKey::of(f).fingerprint() },
    });
    if !f.trace.is_empty() {
        let hops: Vec<Value> = f
            .trace
            .iter()
            .map(|h| json!({ "location": location(view, h.file, h.span.start, Some(&format!("{}: {}", h.function, h.note))) }))
            .collect();
        r["codeFlows"] = json!([{ "threadFlows": [{ "locations": hops }] }]);
    }
    if let Some(patch) = view.patch_name(i) {
        r["baselineState"] = json!(if fixed { "absent" } else { "new" });
        r["properties"] = json!({ "patch": patch });
    }
    r
}

/// A relative path as a URI reference: unreserved bytes and `/` as they
/// are, everything else percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
