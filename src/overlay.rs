//! File contents that stand in for the disk: a patch series applied in
//! memory, an editor's unsaved buffers. The tree on disk is never written.
//!
//! Keys are absolute paths (as `Overlay::key` makes them), so a file named
//! relatively on the command line and the same file named by a patch meet.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub struct Overlay {
    /// `Some(bytes)`: the file has these contents (it may not exist on disk);
    /// `None`: the file is deleted.
    files: BTreeMap<PathBuf, Option<Arc<[u8]>>>,
}

impl Overlay {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The file at `path` now holds `bytes`.
    pub fn set(&mut self, path: &Path, bytes: impl Into<Arc<[u8]>>) {
        self.files.insert(Self::key(path), Some(bytes.into()));
    }

    /// Every file the overlay speaks for, by key: `None` when deleted.
    pub fn entries(&self) -> impl Iterator<Item = (&Path, Option<&Arc<[u8]>>)> + '_ {
        self.files.iter().map(|(p, b)| (p.as_path(), b.as_ref()))
    }

    /// The file at `path` is gone.
    pub fn delete(&mut self, path: &Path) {
        self.files.insert(Self::key(path), None);
    }

    /// Forget what the overlay says about `path`: the disk counts again.
    pub fn clear(&mut self, path: &Path) {
        self.files.remove(&Self::key(path));
    }

    /// `None`: the overlay says nothing, read the disk. `Some(None)`: deleted.
    pub fn get(&self, path: &Path) -> Option<Option<&Arc<[u8]>>> {
        self.files.get(&Self::key(path)).map(Option::as_ref)
    }

    /// Paths whose contents differ between `old` and this overlay (added,
    /// changed, deleted, or given back to the disk).
    pub fn changed_since(&self, old: &Overlay) -> Vec<PathBuf> {
        let same = |a: &Option<Arc<[u8]>>, b: &Option<Arc<[u8]>>| match (a, b) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a[..] == b[..],
            (None, None) => true,
            _ => false,
        };
        let mut out: Vec<PathBuf> = self
            .files
            .iter()
            .filter(|(p, b)| !old.files.get(*p).is_some_and(|o| same(o, b)))
            .map(|(p, _)| p.clone())
            .collect();
        out.extend(old.files.keys().filter(|p| !self.files.contains_key(*p)).cloned());
        out.sort();
        out
    }

    /// Files the overlay gives contents for, at or below `dir`.
    pub fn present_under<'a>(&'a self, dir: &'a Path) -> impl Iterator<Item = &'a Path> + 'a {
        let dir = Self::key(dir);
        self.files.iter().filter(move |(p, b)| b.is_some() && p.starts_with(&dir)).map(|(p, _)| p.as_path())
    }

    /// Absolute, with `.` and `..` folded lexically (the file may not exist,
    /// so `canonicalize` cannot be used on it; its directory is canonicalised
    /// when it exists, so symlinked checkouts meet their real paths).
    pub fn key(path: &Path) -> PathBuf {
        let abs = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
        };
        let mut out = PathBuf::new();
        for c in abs.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    out.pop();
                }
                other => out.push(other.as_os_str()),
            }
        }
        if let (Some(parent), Some(name)) = (out.parent(), out.file_name()) {
            if let Ok(real) = parent.canonicalize() {
                return real.join(name);
            }
        }
        out
    }
}
