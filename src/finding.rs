//! Findings are plain data: the core never prints. Output formats live in
//! `output/`.

use crate::index::FileId;
use crate::ir::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TraceHop {
    pub file: FileId,
    pub span: Span,
    pub function: String,
    pub note: String,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    /// Not serialised (a `&'static str` cannot be read back as one): the
    /// report cache stores the id beside the finding, see `check_id`.
    #[serde(skip)]
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

/// A finding with its check id, as the report cache stores it.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct StoredFinding {
    pub check: String,
    pub finding: Finding,
}

impl StoredFinding {
    pub fn of(finding: &Finding) -> StoredFinding {
        StoredFinding { check: finding.check.to_string(), finding: finding.clone() }
    }

    /// Back to a finding; `None` if it names a check this build lacks.
    pub fn into_finding(self) -> Option<Finding> {
        let id = crate::checks::find(&self.check)?.id;
        Some(Finding { check: id, ..self.finding })
    }
}
