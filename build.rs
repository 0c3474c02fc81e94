//! Computes `LOCKPATH_EXTRACTOR_HASH`: a hash of every source the per-file
//! facts depend on (the extractor, the IR and its encoding, the load step,
//! the locked crate versions, tree-sitter-c's among them). The facts cache
//! is keyed by it, so a rebuild that changes only the analysis or the
//! checks keeps the whole tree's facts warm; anything that can change what
//! a file extracts to gives a new key. Whole reports stay keyed by
//! the whole binary.

use std::path::{Path, PathBuf};

/// What extraction depends on, relative to the crate root.
const INPUTS: &[&str] = &["src/extract", "src/ir.rs", "src/lines.rs", "src/load.rs", "Cargo.lock", "build.rs"];

fn main() {
    let mut files: Vec<PathBuf> = Vec::new();
    for input in INPUTS {
        println!("cargo:rerun-if-changed={input}");
        collect(Path::new(input), &mut files);
    }
    files.sort();
    // FNV-1a, 128 bits as two 64-bit lanes: no build dependency needed,
    // and a collision only costs a stale cache, never a wrong answer
    // across a version bump (the entry format is versioned separately).
    let mut lanes = [0xcbf2_9ce4_8422_2325u64, 0x6c62_272e_07bb_0142u64];
    for path in &files {
        let bytes = std::fs::read(path).unwrap_or_default();
        for chunk in [path.to_string_lossy().as_bytes(), &[0u8][..], &bytes[..]] {
            for &b in chunk {
                for (i, lane) in lanes.iter_mut().enumerate() {
                    *lane ^= u64::from(b) ^ (i as u64);
                    *lane = lane.wrapping_mul(0x0000_0100_0000_01b3);
                }
            }
        }
    }
    println!("cargo:rustc-env=LOCKPATH_EXTRACTOR_HASH={:016x}{:016x}", lanes[0], lanes[1]);
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&p) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        } else if p.is_file() {
            out.push(p);
        }
    }
}
