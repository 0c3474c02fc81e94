//! One file's bytes through every stage in process — extract, index,
//! analyse, check, render — for the fuzz targets in `fuzz/`.
//!
//! `driver::run` discovers files on disk and parses on a thread pool, which
//! costs more per input than the analysis of a small file; a fuzzer wants
//! thousands of inputs a second. This does what the driver does for one
//! file, with the same skip rules, on one thread. It is not part of the
//! command line.

use crate::driver::Summary;
use crate::extract;
use crate::finding::{Finding, Severity};
use crate::index::{ProgramBuilder, SourceFile};
use crate::model::Model;
use crate::{analysis, checks, output};
use std::path::Path;

/// What one file gave: its findings, rendered as JSON and, when the source
/// could be read back from `path`, as the human report.
pub struct Checked {
    pub findings: Vec<Finding>,
    pub json: String,
    pub human: Vec<u8>,
}

/// Runs `bytes` as the file `path` (which the human renderer reads back for
/// source snippets; it need not exist) through every stage. Inputs that
/// the driver would skip (binary) give no findings, as they do there.
pub fn check_bytes(model: &Model, parser: &mut tree_sitter::Parser, path: &Path, bytes: &[u8]) -> Checked {
    let mut summary = Summary::default();
    let mut builder = ProgramBuilder::new(model);
    // The driver's skip rule for binary files (driver.rs `load_bytes`).
    if !bytes.iter().take(8192).any(|&b| b == 0) {
        let mut facts = extract::extract_file(bytes, parser, &model.attributes());
        let display = path.display().to_string();
        let file = SourceFile {
            path: path.to_path_buf(),
            is_context: false,
            is_header: path.extension().is_some_and(|e| e == "h"),
            lines: crate::lines::LineIndex::new(&std::mem::take(&mut facts.line_starts)),
            arch: crate::index::arch_of_path(&display),
            fallback: false,
            display,
        };
        builder.add(file, facts);
        summary.files = 1;
    }
    let prog = builder.finish();
    summary.functions = prog.funcs.len();
    let analysis = analysis::analyze(&prog, model, &analysis::Selection { report: &|_| true, probe: &|_| false });
    let findings = checks::run(&prog, model, &analysis);
    // Exercised for the crash it might hit, not for what it returns.
    let _ = checks::lock_order_cycle::edges(&prog, &analysis);
    summary.errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    summary.warnings = findings.len() - summary.errors;
    let view = output::ReportView { findings: &findings, files: &prog.files, summary: &summary, series: None };
    let json = output::json::render(&view);
    let mut human = codespan_reporting::term::termcolor::NoColor::new(Vec::new());
    // Writing to memory cannot fail.
    let _ = output::human::render(&view, &mut human);
    Checked { findings, json, human: human.into_inner() }
}
