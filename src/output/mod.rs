//! Output formats, one file each. They read findings and file names and
//! never reach back into the analysis.

pub mod checkpatch;
pub mod dot;
pub mod gcc;
pub mod human;
pub mod json;
pub mod sarif;

use crate::finding::Finding;
use crate::index::SourceFile;
use std::borrow::Cow;
use std::sync::Arc;

/// Everything an output format needs.
pub struct ReportView<'a> {
    pub findings: &'a [Finding],
    pub files: &'a [SourceFile],
    pub summary: &'a crate::driver::Summary,
    /// Series mode: which patch each finding belongs to (None: one tree).
    pub series: Option<&'a SeriesView>,
}

/// What series mode adds to a report (built by `series/`).
#[derive(Debug, Default)]
pub struct SeriesView {
    pub patches: Vec<PatchView>,
    /// One per finding, in the same order.
    pub origins: Vec<Origin>,
    /// Contents of files as a patch left them, by file id: snippets show
    /// the patched code, not the disk's.
    pub contents: rustc_hash::FxHashMap<u32, Arc<[u8]>>,
}

#[derive(Debug, Clone, Default)]
pub struct PatchView {
    /// `0001-....patch`, `[PATCH 2/3] subject`, or `<short sha> <subject>`.
    pub name: String,
    /// The input it came from (checkpatch's `file:line` prefix).
    pub source: String,
    pub lines: usize,
    /// Errors and warnings it introduces, findings it fixes.
    pub errors: usize,
    pub warnings: usize,
    pub fixed: usize,
}

#[derive(Debug, Clone)]
pub struct Origin {
    /// Index into `SeriesView::patches`.
    pub patch: usize,
    /// The patch removes this finding (reported at info level).
    pub fixed: bool,
    /// The patch's line showing the finding's line, when the patch shows it.
    pub patch_line: Option<PatchLine>,
}

#[derive(Debug, Clone)]
pub struct PatchLine {
    /// Line number in the patch's input.
    pub line: usize,
    /// `b'+'`, `b'-'` or `b' '`.
    pub kind: u8,
    pub text: String,
}

impl ReportView<'_> {
    pub fn file(&self, id: u32) -> Option<&SourceFile> {
        self.files.get(id as usize)
    }

    pub fn line_col(&self, id: u32, offset: u32) -> (u32, u32) {
        self.file(id).map_or((0, 0), |f| f.line_col(offset))
    }

    pub fn display(&self, id: u32) -> &str {
        self.file(id).map_or("?", |f| f.display.as_str())
    }

    pub fn origin(&self, index: usize) -> Option<&Origin> {
        self.series.and_then(|s| s.origins.get(index))
    }

    pub fn patch_name(&self, index: usize) -> Option<&str> {
        let s = self.series?;
        Some(s.patches.get(s.origins.get(index)?.patch)?.name.as_str())
    }

    /// The file's text as analysed (a patched file's in series mode), read
    /// again only for the findings that need it.
    pub fn source(&self, id: u32) -> Cow<'_, [u8]> {
        if let Some(bytes) = self.series.and_then(|s| s.contents.get(&id)) {
            return Cow::Borrowed(bytes);
        }
        Cow::Owned(self.file(id).and_then(|f| std::fs::read(&f.path).ok()).unwrap_or_default())
    }

    /// Line `line` (1-based) of the file, without its line ending.
    pub fn source_line(&self, id: u32, line: u32) -> String {
        let text = self.source(id);
        let Some(l) = text.split(|&b| b == b'\n').nth((line as usize).saturating_sub(1)) else {
            return String::new();
        };
        String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)).into_owned()
    }

    /// Findings grouped by patch (series mode) or all in one group.
    pub fn groups(&self) -> Vec<(Option<usize>, Vec<usize>)> {
        match self.series {
            None => vec![(None, (0..self.findings.len()).collect())],
            Some(s) => (0..s.patches.len())
                .map(|p| {
                    (
                        Some(p),
                        (0..self.findings.len()).filter(|&i| s.origins.get(i).is_some_and(|o| o.patch == p)).collect(),
                    )
                })
                .collect(),
        }
    }

    /// Lines of the checked files (a tree run's "lines checked").
    pub fn lines_checked(&self) -> usize {
        self.files.iter().filter(|f| !f.is_context).map(|f| f.lines.len()).sum()
    }
}

/// Checkpatch spells check ids as upper-case types (`FAULT_UNDER_LOCK`).
pub fn check_type(check: &str) -> String {
    check.to_ascii_uppercase().replace('-', "_")
}

/// `1 error`, `2 errors`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
