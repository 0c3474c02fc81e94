//! Findings are plain data: the core never prints. Output formats live in
//! `output/`.

use crate::index::FileId;
use crate::ir::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One step of a witness path: where, in which function, and what happens.
#[derive(Debug, Clone)]
pub struct TraceHop {
    pub file: FileId,
    pub span: Span,
    pub function: String,
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub check: &'static str,
    pub severity: Severity,
    pub message: String,
    pub file: FileId,
    pub span: Span,
    pub function: String,
    pub lock: Option<String>,
    /// The primary label's text, under the offending call.
    pub label: String,
    /// The witness path, from where the lock is taken to where it goes wrong.
    pub trace: Vec<TraceHop>,
    pub notes: Vec<String>,
    pub help: Option<String>,
}
