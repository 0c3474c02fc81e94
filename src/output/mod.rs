//! Output formats, one file each. They read findings and file names and
//! never reach back into the analysis.

pub mod dot;
pub mod human;
pub mod json;

use crate::finding::Finding;
use crate::index::SourceFile;

/// Everything an output format needs.
pub struct ReportView<'a> {
    pub findings: &'a [Finding],
    pub files: &'a [SourceFile],
    pub summary: &'a crate::driver::Summary,
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
}
