//! Discovery: command-line paths → the sorted list of C files to analyse,
//! plus the kernel tree's headers as context when the inputs lie in a tree.

use crate::overlay::Overlay;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

pub struct Discovered {
    /// Files to check, in a deterministic order, with their display names.
    pub inputs: Vec<(PathBuf, String)>,
    /// Headers read for their inline functions, macros and types only.
    pub context: Vec<(PathBuf, String)>,
    /// Command-line paths that do not exist (exit status 2).
    pub missing: Vec<PathBuf>,
    /// One line per directory that could not be listed.
    pub problems: Vec<String>,
    pub tree_root: Option<PathBuf>,
}

/// `overlay` adds files (below a given directory, or named), and removes the
/// ones it deletes; the disk is read for the rest.
pub fn discover(paths: &[PathBuf], tree_context: bool, overlay: &Overlay) -> Discovered {
    let cwd = std::env::current_dir().ok();
    let mut out = Discovered {
        inputs: Vec::new(),
        context: Vec::new(),
        missing: Vec::new(),
        problems: Vec::new(),
        tree_root: None,
    };
    let exists = |p: &Path| match overlay.get(p) {
        Some(bytes) => bytes.is_some(),
        None => p.exists() || p.is_symlink(),
    };
    let first_existing = paths.iter().find(|p| exists(p) || p.is_dir());
    out.tree_root = first_existing.and_then(|p| kernel_tree_root(p));
    let display_base = out.tree_root.clone().or_else(|| cwd.clone());
    let mut files: Vec<PathBuf> = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files, &mut out.problems);
            files.extend(overlay.present_under(path).filter(|p| is_c_source(p)).map(Path::to_path_buf));
        } else if exists(path) {
            // An explicitly named file is read whatever its extension.
            files.push(path.clone());
        } else {
            out.missing.push(path.clone());
        }
    }
    if !overlay.is_empty() {
        // One spelling per file, so the disk's and the overlay's meet.
        files = files.into_iter().map(|p| Overlay::key(&p)).filter(|p| !matches!(overlay.get(p), Some(None))).collect();
    }
    files.sort();
    files.dedup();
    // Display names canonicalise every path (a few system calls per
    // directory level): in parallel, in order.
    out.inputs = files
        .into_par_iter()
        .map(|p| {
            let d = display_name(&p, display_base.as_deref());
            (p, d)
        })
        .collect();
    if tree_context {
        if let Some(root) = &out.tree_root {
            let mut headers = Vec::new();
            for dir in ["include", "arch/x86/include"] {
                let dir = root.join(dir);
                walk(&dir, &mut headers, &mut Vec::new());
                headers.extend(overlay.present_under(&dir).filter(|p| is_c_source(p)).map(Path::to_path_buf));
            }
            if !overlay.is_empty() {
                headers = headers
                    .into_iter()
                    .map(|p| Overlay::key(&p))
                    .filter(|p| !matches!(overlay.get(p), Some(None)))
                    .collect();
            }
            headers.sort();
            headers.dedup();
            let real = |p: &Path| p.canonicalize().unwrap_or_else(|_| Overlay::key(p));
            let given: rustc_hash::FxHashSet<PathBuf> = out.inputs.par_iter().map(|(p, _)| real(p)).collect();
            out.context = headers
                .into_par_iter()
                .filter(|h| !given.contains(&real(h)))
                .map(|p| {
                    let d = display_name(&p, Some(root));
                    (p, d)
                })
                .collect();
        }
    }
    out
}

/// The nearest ancestor holding `MAINTAINERS` and `include/linux/`.
pub fn kernel_tree_root(path: &Path) -> Option<PathBuf> {
    let abs = path.canonicalize().unwrap_or_else(|_| Overlay::key(path));
    let mut cur: Option<&Path> = Some(abs.as_path());
    while let Some(dir) = cur {
        if dir.join("MAINTAINERS").is_file() && dir.join("include/linux").is_dir() {
            return Some(dir.to_path_buf());
        }
        cur = dir.parent();
    }
    None
}

/// Relative to the kernel tree (or the current directory) when inside it,
/// else as given.
fn display_name(path: &Path, base: Option<&Path>) -> String {
    // A file only the overlay holds cannot be canonicalised; its directory can.
    let abs = path.canonicalize().unwrap_or_else(|_| Overlay::key(path));
    if let Some(base) = base {
        if let Ok(rel) = abs.strip_prefix(base) {
            return rel.display().to_string();
        }
    }
    path.display().to_string()
}

/// Collects `.c` and `.h` files below `dir`, iteratively; symlinked
/// directories are not followed, so link loops cannot trap the walk.
fn walk(dir: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<String>) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("{}: cannot list directory: {e}", d.display()));
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                stack.push(path);
            } else if is_c_source(&path) {
                files.push(path);
            }
        }
    }
}

fn is_c_source(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("c" | "h"))
}
