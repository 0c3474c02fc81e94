//! Byte offsets ↔ LSP positions, and paths ↔ `file://` URIs.
//!
//! lockpath's spans are byte offsets; LSP positions count UTF-16 code
//! units unless the client and server agree on UTF-8 (LSP 3.17
//! `positionEncoding`), so both are supported.

use lsp_types::{Position, Url};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Utf8,
    Utf16,
}

/// Where the lines of one text start, for offset ↔ position conversion.
/// `T` is the text, borrowed or owned.
pub(crate) struct LineIndex<T> {
    text: T,
    starts: Vec<usize>,
}

impl<T: AsRef<[u8]>> LineIndex<T> {
    pub fn new(text: T) -> LineIndex<T> {
        let mut starts = vec![0];
        starts.extend(text.as_ref().iter().enumerate().filter(|(_, &b)| b == b'\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    pub fn text(&self) -> &T {
        &self.text
    }

    /// The position of byte `offset` (clamped to the text).
    pub fn position(&self, offset: usize, enc: Encoding) -> Position {
        let text = self.text.as_ref();
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let prefix = &text[start..offset];
        let character = match enc {
            Encoding::Utf8 => prefix.len(),
            Encoding::Utf16 => String::from_utf8_lossy(prefix).encode_utf16().count(),
        };
        Position { line: line as u32, character: character as u32 }
    }

    /// The byte offset of `pos`; a position past the end of its line is
    /// the end of the line, one past the last line the end of the text.
    pub fn offset(&self, pos: Position, enc: Encoding) -> usize {
        let text = self.text.as_ref();
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return text.len();
        };
        let end = self.starts.get(pos.line as usize + 1).map_or(text.len(), |&next| next - 1);
        let line = &text[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let want = pos.character as usize;
        match enc {
            Encoding::Utf8 => start + want.min(line.len()),
            Encoding::Utf16 => {
                let text = String::from_utf8_lossy(line);
                let mut units = 0;
                for (i, c) in text.char_indices() {
                    if units >= want {
                        return start + i;
                    }
                    units += c.len_utf16();
                }
                start + line.len()
            }
        }
    }
}

/// The file a `file://` URI names, in the spelling the overlay and the
/// analysis use; `None` for other schemes.
pub(crate) fn uri_to_path(uri: &Url) -> Option<PathBuf> {
    if uri.scheme() != "file" {
        return None;
    }
    uri.to_file_path().ok().map(|p| crate::overlay::Overlay::key(&p))
}

pub(crate) fn path_to_uri(path: &Path) -> Option<Url> {
    Url::from_file_path(path).ok()
}
