//! The texts findings point into, for turning byte spans into LSP
//! positions, kept from job to job with the diagnostics made from them: a
//! file whose findings come back unchanged, pointing into texts that have
//! not changed, keeps the diagnostics it had (on a whole tree an edit
//! changes those of a file or two out of a thousand).

use super::convert::{path_to_uri, Encoding, LineIndex};
use crate::finding::Finding;
use crate::index::SourceFile;
use crate::ir::Span;
use crate::overlay::Overlay;
use lsp_types::{Diagnostic, Range, Url};
use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A file's text with its line starts, for UTF-16 positions.
pub(crate) type TextIndex = LineIndex<Arc<[u8]>>;

/// One file's diagnostics with what they were made from: its findings'
/// bytes, and the texts they point into (each finding's file, then each
/// hop's; `None`: unreadable).
struct Made {
    /// `None`: a finding would not encode, so these are never reused.
    findings: Option<Vec<u8>>,
    texts: Vec<Option<Arc<TextIndex>>>,
    diagnostics: Arc<Vec<Diagnostic>>,
}

/// Kept from job to job: line indexes of files on disk (read again only
/// when their size or modification time changed) and of open buffers
/// (while their text stays the same), URIs, and the last job's diagnostics.
#[derive(Default)]
pub(crate) struct TextCache {
    /// Per path: the modification time and size it was read at, and its index.
    disk: FxHashMap<PathBuf, (Option<std::time::SystemTime>, u64, Arc<TextIndex>)>,
    /// The open buffers' indexes, by key.
    open: FxHashMap<PathBuf, Arc<TextIndex>>,
    uris: FxHashMap<PathBuf, Option<Url>>,
    keys: FxHashMap<PathBuf, PathBuf>,
    /// The last job's diagnostics, by file.
    diagnostics: FxHashMap<PathBuf, Made>,
}

impl TextCache {
    fn disk_index(&mut self, path: &Path) -> Option<Arc<TextIndex>> {
        let meta = std::fs::metadata(path).ok()?;
        let (mtime, len) = (meta.modified().ok(), meta.len());
        if let Some((m, l, index)) = self.disk.get(path) {
            if *m == mtime && *l == len && mtime.is_some() {
                return Some(index.clone());
            }
        }
        let bytes: Arc<[u8]> = std::fs::read(path).ok()?.into();
        let index = Arc::new(LineIndex::new(bytes));
        self.disk.insert(path.to_path_buf(), (mtime, len, index.clone()));
        Some(index)
    }

    fn uri(&mut self, path: &Path) -> Option<Url> {
        if let Some(uri) = self.uris.get(path) {
            return uri.clone();
        }
        let uri = path_to_uri(&self.key(path));
        self.uris.insert(path.to_path_buf(), uri.clone());
        uri
    }

    /// `Overlay::key`, which asks the file system, once per path.
    pub fn key(&mut self, path: &Path) -> PathBuf {
        self.keys.entry(path.to_path_buf()).or_insert_with(|| Overlay::key(path)).clone()
    }
}

/// The text of each file a job's findings point into, as the analysis read
/// it (the buffer when open, else the disk), looked up once per job.
pub(crate) struct Texts<'a> {
    files: &'a [SourceFile],
    /// The open buffers by key (`None`: deleted).
    open: FxHashMap<PathBuf, Option<Arc<TextIndex>>>,
    cache: FxHashMap<u32, Option<Arc<TextIndex>>>,
    pub kept: &'a mut TextCache,
    /// This job's diagnostics, kept for the next.
    made: FxHashMap<PathBuf, Made>,
}

impl<'a> Texts<'a> {
    /// For a job whose open buffers are `overlay`'s entries for `open`.
    pub fn new(files: &'a [SourceFile], overlay: &Overlay, open: &[PathBuf], kept: &'a mut TextCache) -> Texts<'a> {
        let mut buffers = FxHashMap::default();
        let mut indexes = FxHashMap::default();
        for path in open {
            let Some(bytes) = overlay.get(path) else { continue };
            let key = kept.key(path);
            let index = bytes.map(|bytes| match kept.open.get(&key) {
                Some(index) if index.text()[..] == bytes[..] => index.clone(),
                _ => Arc::new(LineIndex::new(bytes.clone())),
            });
            if let Some(index) = &index {
                indexes.insert(key.clone(), index.clone());
            }
            buffers.insert(key, index);
        }
        kept.open = indexes;
        Texts { files, open: buffers, cache: FxHashMap::default(), kept, made: FxHashMap::default() }
    }

    /// The diagnostics of `findings`, all in the file `path`: the last
    /// job's when the findings and every text they point into are the
    /// same, else what `make` writes for each.
    pub fn diagnostics(
        &mut self,
        path: &Path,
        findings: &[&Finding],
        mut make: impl FnMut(&Finding, &mut Texts) -> Diagnostic,
    ) -> Arc<Vec<Diagnostic>> {
        let mut bytes = Some(Vec::new());
        let mut texts = Vec::new();
        for finding in findings {
            let files = std::iter::once(finding.file).chain(finding.trace.iter().map(|hop| hop.file));
            texts.extend(files.map(|file| self.index_arc(file)));
            bytes = bytes.and_then(|b| postcard::to_extend(&(finding.check, *finding), b).ok());
        }
        let same_text = |(a, b): (&Option<Arc<TextIndex>>, &Option<Arc<TextIndex>>)| match (a, b) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        let diagnostics = match self.kept.diagnostics.remove(path) {
            Some(was)
                if bytes.is_some()
                    && was.findings == bytes
                    && was.texts.len() == texts.len()
                    && was.texts.iter().zip(&texts).all(same_text) =>
            {
                was.diagnostics
            }
            _ => Arc::new(findings.iter().map(|finding| make(finding, self)).collect()),
        };
        self.made.insert(path.to_path_buf(), Made { findings: bytes, texts, diagnostics: diagnostics.clone() });
        diagnostics
    }

    /// Keeps this job's diagnostics for the next job.
    pub fn finish(self) {
        self.kept.diagnostics = self.made;
    }

    fn index_arc(&mut self, file: u32) -> Option<Arc<TextIndex>> {
        if let Some(index) = self.cache.get(&file) {
            return index.clone();
        }
        let index =
            self.files.get(file as usize).and_then(|source| match self.open.get(&self.kept.key(&source.path)) {
                Some(buffer) => buffer.clone(),
                None => self.kept.disk_index(&source.path),
            });
        self.cache.insert(file, index.clone());
        index
    }

    pub fn range(&mut self, file: u32, span: Span, enc: Encoding) -> Range {
        match self.index_arc(file) {
            Some(index) => Range {
                start: index.position(span.start as usize, enc),
                end: index.position(span.end.max(span.start) as usize, enc),
            },
            // The file went away after the analysis read it: lockpath's own
            // line and byte column are the best there is.
            None => {
                let (line, col) = self.files.get(file as usize).map_or((1, 1), |f| f.line_col(span.start));
                let pos = lsp_types::Position { line: line.saturating_sub(1), character: col.saturating_sub(1) };
                Range { start: pos, end: pos }
            }
        }
    }

    pub fn uri(&mut self, file: u32) -> Option<Url> {
        let path = &self.files.get(file as usize)?.path;
        self.kept.uri(path)
    }

    pub fn display_line(&self, file: u32, span: Span) -> (&str, u32) {
        self.files.get(file as usize).map_or(("?", 0), |f| (f.display.as_str(), f.line_col(span.start).0))
    }
}
