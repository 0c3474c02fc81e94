//! The documents the editor has open: their text as the editor has it
//! (saved or not), which is what the analysis reads instead of the disk.

use super::convert::{Encoding, LineIndex};
use crate::overlay::Overlay;
use lsp_types::{TextDocumentContentChangeEvent, Url};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) struct Document {
    /// The URI as the editor spells it (diagnostics go back under it).
    pub uri: Url,
    pub text: String,
    pub version: i32,
}

#[derive(Default)]
pub(crate) struct Documents {
    /// Keyed by `Overlay::key` of the file's path.
    open: BTreeMap<PathBuf, Document>,
}

impl Documents {
    pub fn open(&mut self, path: PathBuf, doc: Document) {
        self.open.insert(path, doc);
    }

    pub fn close(&mut self, path: &Path) -> Option<Document> {
        self.open.remove(path)
    }

    pub fn get(&self, path: &Path) -> Option<&Document> {
        self.open.get(path)
    }

    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.open.keys().map(PathBuf::as_path)
    }

    /// Applies the editor's changes in order; `false` when the document is
    /// not open (the change is dropped).
    pub fn change(
        &mut self,
        path: &Path,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
        enc: Encoding,
    ) -> bool {
        let Some(doc) = self.open.get_mut(path) else { return false };
        for change in changes {
            match change.range {
                None => doc.text = change.text,
                Some(range) => {
                    let index = LineIndex::new(doc.text.as_bytes());
                    let start = floor_char_boundary(&doc.text, index.offset(range.start, enc));
                    let end = floor_char_boundary(&doc.text, index.offset(range.end, enc)).max(start);
                    doc.text.replace_range(start..end, &change.text);
                }
            }
        }
        doc.version = version;
        true
    }

    /// The open documents as file contents standing in for the disk, with
    /// the version of each as analysed.
    pub fn snapshot(&self) -> (Overlay, BTreeMap<PathBuf, i32>) {
        let mut overlay = Overlay::default();
        let mut versions = BTreeMap::new();
        for (path, doc) in &self.open {
            overlay.set(path, doc.text.as_bytes().to_vec());
            versions.insert(path.clone(), doc.version);
        }
        (overlay, versions)
    }
}

/// `offset`, moved back to the start of the character it falls in (a
/// UTF-8 client position can point inside one).
fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}
