//! Each check's documentation (what `lockpath explain <check>` prints) as a
//! Markdown file the editor can open: the target of a diagnostic's
//! `codeDescription.href` and of the "explain this check" code action.
//!
//! The files are written under the user's cache directory, one directory
//! per lockpath version, so the text always matches the running binary and
//! nothing has to be online.

use crate::checks;
use lsp_types::Url;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Writes the documents (where they are missing or stale) and returns their
/// URIs by check id. A check whose file cannot be written has no entry;
/// the error is returned alongside for the log.
pub(crate) fn write_docs(dir: &Path) -> (BTreeMap<&'static str, Url>, Option<String>) {
    let mut urls = BTreeMap::new();
    let mut error = None;
    if let Err(e) = std::fs::create_dir_all(dir) {
        return (urls, Some(format!("{}: cannot create the check docs directory: {e}", dir.display())));
    }
    for check in checks::CHECKS {
        let path = dir.join(format!("{}.md", check.id));
        // The doc's first line is "<id> (<severity>)": the title.
        let text = format!("# {}\n", check.doc.trim_end());
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() != Some(text.as_str()) {
            if let Err(e) = std::fs::write(&path, &text) {
                error.get_or_insert(format!("{}: cannot write: {e}", path.display()));
                continue;
            }
        }
        if let Ok(url) = Url::from_file_path(&path) {
            urls.insert(check.id, url);
        }
    }
    (urls, error)
}

/// `$XDG_CACHE_HOME/lockpath/<version>/checks`, else `~/.cache/...`, else
/// the temporary directory.
pub(crate) fn docs_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("lockpath").join(env!("CARGO_PKG_VERSION")).join("checks")
}
