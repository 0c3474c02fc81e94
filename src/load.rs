//! Loading one file: its bytes (from the overlay or the disk), the checks
//! that keep unusable input out (size, NUL bytes), and its facts — from the
//! facts cache when an entry for these bytes exists, else parsed and
//! extracted, then stored for the next run.

use crate::cache::{FactsCache, Lookup};
use crate::extract;
use crate::ir::FileFacts;
use crate::overlay::Overlay;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

const NOT_UTF8: &str = "not valid UTF-8; analysed as bytes";

/// Why a file was not analysed, or what is odd about it.
pub enum Loaded {
    Ok { facts: Box<FileFacts>, note: Option<String> },
    Skipped(String),
}

pub struct Loader<'a> {
    pub attrs: extract::Attributes,
    pub max_size: u64,
    pub overlay: &'a Overlay,
    pub cache: Option<FactsCache>,
    pub counts: CacheCounts,
}

/// What the cache did during a run, for `--stats`.
#[derive(Default)]
pub struct CacheCounts {
    pub hits: AtomicUsize,
    pub misses: AtomicUsize,
    /// Entries that were there but bad: each also gets a notice line.
    pub corrupt: AtomicUsize,
    pub write_errors: AtomicUsize,
}

impl CacheCounts {
    pub fn get(&self) -> (usize, usize, usize, usize) {
        let g = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        (g(&self.hits), g(&self.misses), g(&self.corrupt), g(&self.write_errors))
    }
}

/// A file the loader read from disk: its stat, taken before the read, and
/// the blake3 hash of the bytes read. A first run keys its report with
/// these instead of reading every file twice (`driver.rs`).
#[derive(Clone, Copy)]
pub struct ReadStamp {
    pub stamp: crate::cache::stat::Stamp,
    pub hash: [u8; 32],
}

impl Loader<'_> {
    /// Puts what the cache held back on disk (a pack, or loose entries),
    /// counting what could not be written.
    pub fn flush(&mut self) {
        if let Some(cache) = &mut self.cache {
            self.counts.write_errors.fetch_add(cache.flush(), Ordering::Relaxed);
        }
    }

    /// Returns the file's facts or why it is skipped, and a notice about the
    /// cache (a corrupt entry), if any. `known`: the file's content hash,
    /// when the caller has it (the report key's stat index): facts the
    /// cache holds under it are returned without reading the file.
    pub fn load(
        &self,
        parser: &mut tree_sitter::Parser,
        path: &Path,
        known: Option<&[u8; 32]>,
    ) -> (Loaded, Option<String>) {
        let (loaded, notice, _) = self.load_reading(parser, path, known);
        (loaded, notice)
    }

    /// `load`, and the stat and content hash of the bytes it read from the
    /// disk, when it read them with the cache on (not for an overlay, a
    /// skip, or a hit by `known`).
    pub fn load_reading(
        &self,
        parser: &mut tree_sitter::Parser,
        path: &Path,
        known: Option<&[u8; 32]>,
    ) -> (Loaded, Option<String>, Option<ReadStamp>) {
        match self.overlay.get(path) {
            Some(Some(bytes)) => {
                let (loaded, notice) = self.load_bytes(parser, bytes, None);
                return (loaded, notice, None);
            }
            Some(None) => return (Loaded::Skipped("deleted".into()), None, None),
            None => {}
        }
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => return (Loaded::Skipped(format!("cannot read: {e}")), None, None),
        };
        if !meta.is_file() {
            return (Loaded::Skipped("not a regular file, skipped".into()), None, None);
        }
        if meta.len() > self.max_size {
            return (Loaded::Skipped(self.too_big(meta.len())), None, None);
        }
        if let (Some(hash), Some(cache), true) = (known, &self.cache, meta.len() > 0) {
            // Only facts of bytes that passed `load_bytes` are ever stored,
            // so a hit needs none of its checks but the UTF-8 note.
            if let Lookup::Hit(facts) = cache.load(&cache.content_key(hash)) {
                self.counts.hits.fetch_add(1, Ordering::Relaxed);
                let note = facts.not_utf8.then(|| NOT_UTF8.to_string());
                return (Loaded::Ok { facts, note }, None, None);
            }
        }
        match std::fs::read(path) {
            Ok(bytes) => {
                // Hashed once, for the facts key and the caller's report key.
                let read = self.cache.is_some().then(|| ReadStamp {
                    stamp: crate::cache::stat::Stamp::of(&meta),
                    hash: *blake3::hash(&bytes).as_bytes(),
                });
                let (loaded, notice) = self.load_bytes(parser, &bytes, read.as_ref().map(|r| &r.hash));
                (loaded, notice, read)
            }
            Err(e) => (Loaded::Skipped(format!("cannot read: {e}")), None, None),
        }
    }

    fn too_big(&self, len: u64) -> String {
        format!(
            "{:.1} MiB is over the {} MiB limit (--max-file-size), skipped",
            len as f64 / 1048576.0,
            self.max_size / 1048576
        )
    }

    /// `hash`: the bytes' blake3 hash, when the caller has it.
    fn load_bytes(
        &self,
        parser: &mut tree_sitter::Parser,
        bytes: &[u8],
        hash: Option<&[u8; 32]>,
    ) -> (Loaded, Option<String>) {
        if bytes.len() as u64 > self.max_size {
            return (Loaded::Skipped(self.too_big(bytes.len() as u64)), None);
        }
        if bytes.is_empty() {
            let note = Some("empty file, nothing to check".into());
            return (Loaded::Ok { facts: Box::default(), note }, None);
        }
        if bytes.iter().take(8192).any(|&b| b == 0) {
            return (Loaded::Skipped("binary file (NUL bytes), skipped".into()), None);
        }
        let (facts, notice) = self.facts(parser, bytes, hash);
        let note = facts.not_utf8.then(|| NOT_UTF8.to_string());
        (Loaded::Ok { facts, note }, notice)
    }

    fn facts(
        &self,
        parser: &mut tree_sitter::Parser,
        bytes: &[u8],
        hash: Option<&[u8; 32]>,
    ) -> (Box<FileFacts>, Option<String>) {
        let Some(cache) = &self.cache else {
            return (Box::new(extract::extract_file(bytes, parser, &self.attrs)), None);
        };
        let key = hash.map_or_else(|| cache.key(bytes), |h| cache.content_key(h));
        let notice = match cache.load(&key) {
            Lookup::Hit(facts) => {
                self.counts.hits.fetch_add(1, Ordering::Relaxed);
                return (facts, None);
            }
            Lookup::Miss => None,
            Lookup::Corrupt(why) => {
                self.counts.corrupt.fetch_add(1, Ordering::Relaxed);
                Some(why)
            }
        };
        self.counts.misses.fetch_add(1, Ordering::Relaxed);
        let facts = extract::extract_file(bytes, parser, &self.attrs);
        if cache.store(&key, &facts).is_err() {
            self.counts.write_errors.fetch_add(1, Ordering::Relaxed);
        }
        (Box::new(facts), notice)
    }
}

/// `mi_option_minimal_purge_size` in the mimalloc v3 headers libmimalloc-sys
/// 0.1.49 vendors (the crate exports no constant for it; Cargo.toml pins
/// that version so the number cannot drift).
const MI_OPTION_MINIMAL_PURGE_SIZE: libmimalloc_sys::mi_option_t = 44;

/// The crate's one `unsafe`: the allocator is set up through C globals.
#[allow(unsafe_code)]
/// Sends tree-sitter's allocations (its parse stacks and trees, millions
/// of small blocks per tree) to mimalloc, as the binary's Rust ones are:
/// through glibc malloc they were 6% of a cold whole-tree run.
///
/// And lets mimalloc give memory back to the system only in whole 2 MiB
/// ranges. With transparent huge pages on (the kernel's usual setting) it
/// gave back 4 KiB pieces of huge pages and took them again, and the
/// kernel zeroed a whole huge page on each fault: a third of the CPU while
/// a warm whole-tree run loaded its facts. `MIMALLOC_MINIMAL_PURGE_SIZE`
/// still wins.
///
/// # Safety
/// Call it first thing in `main`, before any tree-sitter object exists: a
/// block malloc'd before would be freed by mimalloc.
pub unsafe fn setup_allocator() {
    unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut std::ffi::c_void {
        match count.checked_mul(size) {
            Some(total) => unsafe { libmimalloc_sys::mi_zalloc(total) },
            None => std::ptr::null_mut(),
        }
    }
    unsafe {
        tree_sitter::set_allocator(
            Some(libmimalloc_sys::mi_malloc),
            Some(calloc),
            Some(libmimalloc_sys::mi_realloc),
            Some(libmimalloc_sys::mi_free),
        );
        // In KiB.
        libmimalloc_sys::mi_option_set_default(MI_OPTION_MINIMAL_PURGE_SIZE, 2048);
    }
}

pub fn new_parser() -> tree_sitter::Parser {
    let mut parser = tree_sitter::Parser::new();
    // The grammar is compiled in; failing to load it is a build defect, and
    // then every file reports that it could not be parsed.
    let _ = parser.set_language(&tree_sitter_c::LANGUAGE.into());
    parser
}
