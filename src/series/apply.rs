//! Applying parsed patches in memory: each patch turns the previous state's
//! overlay into the next one. The tree on disk is only read.
//!
//! Hunks must match exactly (no fuzz) but may sit at an offset from the line
//! their header names, as `git apply` allows; lines compare without a
//! trailing `\r`, and added lines take the file's line ending. A hunk that
//! matches nowhere is an error naming the patch, the file and the hunk.

use super::git::Repo;
use super::patch::{FileDiff, Hunk, Patch};
use crate::overlay::Overlay;
use std::path::PathBuf;
use std::sync::Arc;

/// The tree a series applies to: its root on disk, and the repository there
/// when it is one (a patch's `index` line then names its pre-image blob).
pub struct Tree {
    pub root: PathBuf,
    pub repo: Option<Repo>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{patch}: {file}: hunk `{hunk}` does not apply")]
    Hunk { patch: String, file: String, hunk: String },
    #[error("{patch}: {file}: no such file in the tree (is --tree right?)")]
    Missing { patch: String, file: String },
    #[error("{patch}: {file}: already exists, cannot create it")]
    Exists { patch: String, file: String },
    #[error("{patch}: `{name}`: not a path inside the tree")]
    BadName { patch: String, name: String },
    #[error("{patch}: {file}: cannot read: {source}")]
    Io { patch: String, file: String, source: std::io::Error },
}

/// What applying one file's diff did, in tree-relative paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub old: Option<String>,
    pub new: Option<String>,
    /// Index of the `FileDiff` in its patch.
    pub diff: usize,
    /// The content changed (not a mode-only change or a skipped binary).
    pub changed: bool,
    /// The pre-image, when it came from the repository's objects rather
    /// than the work tree: the states before this patch have it too.
    pub base: Option<Arc<[u8]>>,
}

impl Tree {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The file's bytes in the state `overlay` describes; `None` if it does
    /// not exist there.
    pub fn read(&self, overlay: &Overlay, rel: &str) -> std::io::Result<Option<Arc<[u8]>>> {
        let path = self.path(rel);
        match overlay.get(&path) {
            Some(Some(bytes)) => Ok(Some(bytes.clone())),
            Some(None) => Ok(None),
            None => match std::fs::read(&path) {
                Ok(bytes) => Ok(Some(bytes.into())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    fn exists(&self, overlay: &Overlay, rel: &str) -> bool {
        let path = self.path(rel);
        match overlay.get(&path) {
            Some(bytes) => bytes.is_some(),
            None => path.is_file(),
        }
    }
}

/// Applies `patch` on top of `overlay`. On error the overlay may hold part
/// of the patch; the caller discards the whole run.
pub fn apply(patch: &Patch, tree: &Tree, overlay: &mut Overlay) -> Result<Vec<Applied>, ApplyError> {
    let strip = strip_level(patch, tree, overlay);
    let mut out = Vec::new();
    for (index, diff) in patch.files.iter().enumerate() {
        let level = if diff.prefixed { strip } else { 0 };
        let resolve = |name: &Option<String>| -> Result<Option<String>, ApplyError> {
            match name {
                None => Ok(None),
                Some(n) => strip_name(n, level)
                    .map(Some)
                    .ok_or_else(|| ApplyError::BadName { patch: patch.name.clone(), name: n.clone() }),
            }
        };
        let (old, new) = (resolve(&diff.old_name)?, resolve(&diff.new_name)?);
        let (changed, base) =
            if diff.binary { (false, None) } else { apply_file(patch, diff, tree, overlay, &old, &new)? };
        out.push(Applied { old, new, diff: index, changed, base });
    }
    Ok(out)
}

fn apply_file(
    patch: &Patch,
    diff: &FileDiff,
    tree: &Tree,
    overlay: &mut Overlay,
    old: &Option<String>,
    new: &Option<String>,
) -> Result<FileResult, ApplyError> {
    let io = |file: &str, source| ApplyError::Io { patch: patch.name.clone(), file: file.to_string(), source };
    let mut from_repo: Option<Arc<[u8]>> = None;
    let base: Arc<[u8]> = match old {
        None => {
            if let Some(new) = new {
                // A file the work tree already has is fine when the tree is a
                // repository whose checkout may be ahead of the patch's base.
                let ahead_ok = tree.repo.is_some() && overlay.get(&tree.path(new)).is_none();
                if tree.exists(overlay, new) && !ahead_ok {
                    return Err(ApplyError::Exists { patch: patch.name.clone(), file: new.clone() });
                }
            }
            Arc::from(Vec::new())
        }
        Some(old) => match tree.read(overlay, old).map_err(|e| io(old, e))? {
            Some(bytes) => bytes,
            None => match blob(tree, overlay, old, diff) {
                Some(bytes) => {
                    let bytes: Arc<[u8]> = bytes.into();
                    from_repo = Some(bytes.clone());
                    bytes
                }
                None => return Err(ApplyError::Missing { patch: patch.name.clone(), file: old.clone() }),
            },
        },
    };
    let name = new.as_deref().or(old.as_deref()).unwrap_or("?");
    let result = match apply_hunks(&base, &diff.hunks) {
        Ok(bytes) => bytes,
        Err(failed) => {
            // The work tree may not be the patch's base (it is often the
            // series' own tip): the pre-image its `index` line names is.
            let pre = old.as_deref().and_then(|o| blob(tree, overlay, o, diff));
            let retry = pre.and_then(|b| apply_hunks(&b, &diff.hunks).ok().map(|r| (b, r)));
            match retry {
                Some((pre, bytes)) => {
                    from_repo = Some(pre.into());
                    bytes
                }
                None => {
                    let hunk = diff.hunks.get(failed).map(|h| h.header.clone()).unwrap_or_default();
                    return Err(ApplyError::Hunk { patch: patch.name.clone(), file: name.to_string(), hunk });
                }
            }
        }
    };
    let content_changed = old != new || diff.hunks.iter().any(|h| h.lines.iter().any(|l| l.kind != b' '));
    if let Some(old) = old {
        if new.as_deref() != Some(old.as_str()) && !diff.copy {
            overlay.delete(&tree.path(old));
        }
    }
    if let Some(new) = new {
        if content_changed {
            overlay.set(&tree.path(new), result);
        }
    }
    Ok((content_changed, from_repo))
}

/// Whether the content changed, and the pre-image when the repository's
/// objects gave it.
type FileResult = (bool, Option<Arc<[u8]>>);

/// The pre-image blob a git diff names, when the file has not been changed
/// earlier in the series and the tree is a repository that has it.
fn blob(tree: &Tree, overlay: &Overlay, old: &str, diff: &FileDiff) -> Option<Vec<u8>> {
    let repo = tree.repo.as_ref()?;
    if overlay.get(&tree.path(old)).is_some() {
        return None;
    }
    repo.blob(diff.old_blob.as_deref()?)
}

/// How many leading components the patch's names carry: the first level at
/// which every pre-image it names exists (as `patch -p` is guessed), trying
/// 1 first for `a/`/`b/` names and 0 first otherwise.
fn strip_level(patch: &Patch, tree: &Tree, overlay: &Overlay) -> usize {
    let prefixed: Vec<&FileDiff> = patch.files.iter().filter(|f| f.prefixed && !f.binary).collect();
    let looks_ab = prefixed.iter().all(|f| {
        f.old_name.as_deref().is_none_or(|n| n.starts_with("a/"))
            && f.new_name.as_deref().is_none_or(|n| n.starts_with("b/"))
    });
    let order: [usize; 4] = if looks_ab { [1, 0, 2, 3] } else { [0, 1, 2, 3] };
    let olds: Vec<&str> = prefixed.iter().filter_map(|f| f.old_name.as_deref()).collect();
    if olds.is_empty() {
        return order[0];
    }
    order
        .into_iter()
        .find(|&p| olds.iter().all(|n| strip_name(n, p).is_some_and(|rel| tree.exists(overlay, &rel))))
        .unwrap_or(order[0])
}

/// `n` without its first `level` components; `None` when that leaves
/// nothing, or the name climbs out of the tree.
fn strip_name(name: &str, level: usize) -> Option<String> {
    let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let rest = parts.get(level..)?;
    if rest.is_empty() || rest.contains(&"..") || name.starts_with('/') && level == 0 {
        return None;
    }
    Some(rest.join("/"))
}

/// The file with the hunks applied, or the index of the first hunk that
/// matches nowhere.
pub fn apply_hunks(content: &[u8], hunks: &[Hunk]) -> Result<Vec<u8>, usize> {
    let lines: Vec<&[u8]> = content.split_inclusive(|&b| b == b'\n').collect();
    let crlf = lines.first().is_some_and(|l| l.ends_with(b"\r\n"));
    let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut out: Vec<u8> = Vec::with_capacity(content.len() + 256);
    let mut cursor = 0;
    for (index, hunk) in hunks.iter().enumerate() {
        let old: Vec<&[u8]> = hunk.lines.iter().filter(|l| l.kind != b'+').map(|l| l.text.as_slice()).collect();
        let at = find(&lines, cursor, &old, hunk).ok_or(index)?;
        for line in &lines[cursor..at] {
            out.extend_from_slice(line);
        }
        let mut from = at;
        for line in &hunk.lines {
            match line.kind {
                b' ' => {
                    out.extend_from_slice(lines[from]);
                    from += 1;
                }
                b'-' => from += 1,
                _ => {
                    out.extend_from_slice(body(&line.text));
                    if !line.no_newline {
                        out.extend_from_slice(eol);
                    }
                }
            }
        }
        cursor = from;
    }
    for line in &lines[cursor..] {
        out.extend_from_slice(line);
    }
    Ok(out)
}

/// Where the hunk's old lines match, at or after `cursor`, nearest to the
/// line its header names.
fn find(lines: &[&[u8]], cursor: usize, old: &[&[u8]], hunk: &Hunk) -> Option<usize> {
    let expected = if hunk.old_len == 0 { hunk.old_start } else { hunk.old_start.saturating_sub(1) };
    let last = lines.len().checked_sub(old.len())?;
    if cursor > last {
        return None;
    }
    if old.is_empty() {
        // A pure insertion goes exactly where it says.
        return (cursor..=last).contains(&expected).then_some(expected).or((hunk.old_start == 0).then_some(cursor));
    }
    let matches = |at: usize| old.iter().enumerate().all(|(k, want)| body(lines[at + k]) == body(want));
    let expected = expected.clamp(cursor, last);
    let mut distance = 0;
    loop {
        let below = expected.checked_sub(distance).filter(|&a| a >= cursor);
        let above = expected.checked_add(distance).filter(|&a| a <= last);
        if below.is_none() && above.is_none() {
            return None;
        }
        if let Some(at) = below.filter(|&a| matches(a)) {
            return Some(at);
        }
        if let Some(at) = above.filter(|&a| matches(a)) {
            return Some(at);
        }
        distance += 1;
    }
}

/// A line without its `\n` and `\r`.
fn body(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}
