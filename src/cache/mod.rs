//! The on-disk cache of per-file facts, content-addressed: a file's entry is
//! named by a hash of its bytes and of everything else extraction depends
//! on, so trees that share a file share its entry (6.12.107 and 6.12.117
//! differ in a tenth of their files) and an edited file simply misses.
//!
//! Layout: `<dir>/facts-v<FORMAT>/<extractor>/<2 hex>/<key>.facts`, where
//! `<extractor>` is a hash of the extractor's sources (`build.rs`) and of
//! the lock model's attribute list: a lockpath whose extraction differs
//! reads from a directory of its own and never decodes another format,
//! while a rebuild that changed only the analysis keeps the facts. What
//! the analysis produces (whole reports) lives under
//! `<dir>/analysis-v<FORMAT>/<build>/`, `<build>` a hash of the binary
//! itself. Each entry carries a header (magic, identity, payload length
//! and checksum), so a
//! truncated or corrupt file is told apart from a good one: it is ignored,
//! rebuilt, and named in one notice line.
//!
//! A run that misses many files (a cold run) writes them into one pack
//! (`pack.rs`, `<extractor>/packs/`); a run that misses a few writes loose
//! entries. Lookups read the packs' indexes once, at open, then try a pack,
//! then a loose entry.
//!
//! Concurrent runs are safe: an entry or a pack is written to a temporary
//! file in its directory and renamed into place, which POSIX makes atomic,
//! so a reader sees a whole entry or none; two writers of one key write the
//! same bytes.

mod pack;
pub mod stat;

use crate::ir::FileFacts;
use pack::{PackWriter, Packs};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Bumped by hand when the entry layout (not the IR) changes; the IR is
/// covered by the build hash.
const FORMAT: u32 = 1;
const MAGIC: &[u8; 8] = b"LPFACTS\0";
const REPORT_MAGIC: &[u8; 8] = b"LPREPRT\0";
const HEADER_LEN: usize = 8 + 32 + 8 + 16;
/// Other builds' directories kept besides the current one (a developer
/// switching between two builds keeps both warm); older ones are removed.
const KEEP_OTHER_BUILDS: usize = 1;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("{0}: cannot create the cache directory: {1}")]
    Create(PathBuf, std::io::Error),
    #[error("no cache directory: set XDG_CACHE_HOME or HOME, or pass --cache-dir")]
    NoHome,
}

/// What the lookup of one entry found.
pub enum Lookup<T = FileFacts> {
    Hit(Box<T>),
    Miss,
    /// The entry exists but is not a good one; the reason names it.
    Corrupt(String),
}

pub struct FactsCache {
    /// The cache's top directory (`--cache-dir`).
    root: PathBuf,
    dir: PathBuf,
    /// Identity of the extraction: what facts entries are keyed and stamped by.
    extractor: [u8; 32],
    /// Where this very binary's reports live.
    analysis_dir: PathBuf,
    /// Identity of the binary: what reports are stamped by.
    build: [u8; 32],
    packs: Packs,
    /// Entries this run missed, not yet on disk (see `pack.rs`).
    pending: Mutex<Pending>,
    /// What opening found wrong (a corrupt pack), for the run's notices.
    open_notices: Vec<String>,
}

/// Misses held back: loose until there are more than `LOOSE_AT_MOST`,
/// then a pack being written.
#[derive(Default)]
struct Pending {
    loose: Vec<(Key, Vec<u8>)>,
    pack: Option<PackWriter>,
    /// A pack could not be made or written: entries go loose from now on.
    no_pack: bool,
}

impl Pending {
    /// A pack write failed: the pack is dropped (its temporary file with
    /// it; the entries in it cost the next run a re-parse) and later
    /// entries are written loose.
    fn give_up_packing(&mut self) {
        self.pack = None;
        self.no_pack = true;
    }
}

/// A file's key: its content and the build.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key([u8; 32]);

impl Key {
    fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl FactsCache {
    /// `$XDG_CACHE_HOME/lockpath`, else `~/.cache/lockpath`.
    pub fn default_dir() -> Result<PathBuf, CacheError> {
        let xdg = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()).map(PathBuf::from);
        let base = xdg
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))
            .ok_or(CacheError::NoHome)?;
        Ok(base.join("lockpath"))
    }

    /// Opens (creating) the cache under `root` for this build. `salt` is
    /// what else extraction depends on (the model's attribute macros).
    pub fn open(root: &Path, salt: &[u8]) -> Result<FactsCache, CacheError> {
        let extractor = extractor_hash(salt);
        let build = build_hash(salt);
        let open = |kind: &str, id: &[u8; 32]| {
            let builds = root.join(format!("{kind}-v{FORMAT}"));
            let dir = builds.join(hex16(id));
            std::fs::create_dir_all(&dir).map_err(|e| CacheError::Create(dir.clone(), e))?;
            prune_other_builds(&builds, &dir);
            Ok(dir)
        };
        let dir = open("facts", &extractor)?;
        let analysis_dir = open("analysis", &build)?;
        let mut open_notices = Vec::new();
        let packs = Packs::open(&dir.join("packs"), &extractor, &mut open_notices);
        Ok(FactsCache {
            root: root.to_path_buf(),
            dir,
            extractor,
            analysis_dir,
            build,
            packs,
            pending: Mutex::default(),
            open_notices,
        })
    }

    /// Where the stat index for `scope` (`stat.rs`) lives.
    pub fn stat_index_path(&self, scope: &[u8]) -> PathBuf {
        stat::index_path(&self.root, scope)
    }

    /// What opening found wrong, once.
    pub fn take_open_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.open_notices)
    }

    /// A file's key: its content hash under this extractor.
    pub fn key(&self, bytes: &[u8]) -> Key {
        self.content_key(blake3::hash(bytes).as_bytes())
    }

    /// The key of the bytes whose blake3 hash is `hash` (what the report
    /// key and the stat index already computed), so a hit reads no file.
    pub fn content_key(&self, hash: &[u8; 32]) -> Key {
        let mut h = blake3::Hasher::new();
        h.update(&self.extractor);
        h.update(b"content");
        h.update(hash);
        Key(*h.finalize().as_bytes())
    }

    fn path(&self, key: &Key) -> PathBuf {
        let hex = key.hex();
        self.dir.join(&hex[..2]).join(format!("{hex}.facts"))
    }

    pub fn load(&self, key: &Key) -> Lookup {
        let Some((read, pack)) = self.packs.read(key) else {
            return self.read_entry(&self.path(key), MAGIC, &self.extractor);
        };
        if let Some(facts) = read.ok().and_then(|bytes| decode(&bytes, MAGIC, &self.extractor)) {
            return Lookup::Hit(Box::new(facts));
        }
        // A bad entry in a pack may have been rebuilt as a loose one.
        match self.read_entry(&self.path(key), MAGIC, &self.extractor) {
            Lookup::Hit(facts) => Lookup::Hit(facts),
            _ => Lookup::Corrupt(format!(
                "{}: corrupt cache entry {} ignored and rebuilt",
                pack.display(),
                &key.hex()[..16]
            )),
        }
    }

    /// Stores the entry: held back, then written loose or into this run's
    /// pack (`flush`, or when the cache is dropped). A failure only costs
    /// the next run a re-parse.
    pub fn store(&self, key: &Key, facts: &FileFacts) -> std::io::Result<()> {
        let payload = postcard::to_allocvec(facts).map_err(std::io::Error::other)?;
        let entry = framed(MAGIC, &self.extractor, &payload);
        let mut pending = self.pending.lock().map_err(|_| std::io::Error::other("poisoned"))?;
        if pending.no_pack {
            drop(pending);
            return write_atomically(&self.path(key), &entry);
        }
        if let Some(pack) = pending.pack.as_mut() {
            let written = pack.append(*key, &entry);
            if written.is_err() {
                pending.give_up_packing();
            }
            return written;
        }
        pending.loose.push((*key, entry));
        if pending.loose.len() <= pack::LOOSE_AT_MOST {
            return Ok(());
        }
        let loose = std::mem::take(&mut pending.loose);
        match PackWriter::create(&self.dir.join("packs"), &self.extractor) {
            Ok(mut pack) => {
                for (key, entry) in &loose {
                    pack.append(*key, entry).inspect_err(|_| pending.give_up_packing())?;
                }
                pending.pack = Some(pack);
                Ok(())
            }
            // No pack can be made (say `packs` is not a directory): what is
            // held back, and every later entry, is written loose instead.
            Err(_) => {
                pending.no_pack = true;
                drop(pending);
                let failed = loose.iter().filter(|(key, entry)| write_atomically(&self.path(key), entry).is_err());
                match failed.count() {
                    0 => Ok(()),
                    n => Err(std::io::Error::other(format!("{n} cache entries not written"))),
                }
            }
        }
    }

    /// Writes what `store` held back and removes the packs found bad (a
    /// run that loaded every file has rebuilt their entries); returns how
    /// many entries could not be written.
    pub fn flush(&mut self) -> usize {
        self.packs.remove_bad();
        self.write_pending()
    }

    fn write_pending(&self) -> usize {
        let Ok(mut pending) = self.pending.lock() else { return 0 };
        let Pending { loose, pack, .. } = std::mem::take(&mut *pending);
        let mut failed = loose.iter().filter(|(key, entry)| write_atomically(&self.path(key), entry).is_err()).count();
        if let Some(pack) = pack {
            let entries = pack.len();
            if pack.finish().is_err() {
                failed += entries;
            }
        }
        failed
    }

    /// A key for a whole run: the build and everything else given, in order.
    pub fn run_key(&self, parts: &[&[u8]]) -> Key {
        let mut h = blake3::Hasher::new();
        h.update(b"report");
        h.update(&self.build);
        for part in parts {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
        Key(*h.finalize().as_bytes())
    }

    /// Where a check server for this build and `key` (its inputs, options
    /// and model) listens: beside this build's reports, so another build
    /// never talks to it.
    pub fn server_socket(&self, key: &Key) -> PathBuf {
        self.analysis_dir.join("servers").join(format!("{}.sock", &key.hex()[..16]))
    }

    fn report_path(&self, key: &Key) -> PathBuf {
        self.analysis_dir.join("reports").join(format!("{}.report", key.hex()))
    }

    /// A whole run's report, stored under `run_key`.
    pub fn load_report<T: serde::de::DeserializeOwned>(&self, key: &Key) -> Lookup<T> {
        self.read_entry(&self.report_path(key), REPORT_MAGIC, &self.build)
    }

    pub fn store_report<T: serde::Serialize>(&self, key: &Key, report: &T) -> std::io::Result<()> {
        self.write_entry(&self.report_path(key), REPORT_MAGIC, &self.build, report)
    }

    fn read_entry<T: serde::de::DeserializeOwned>(&self, path: &Path, magic: &[u8; 8], id: &[u8; 32]) -> Lookup<T> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Miss,
            Err(e) => return Lookup::Corrupt(format!("{}: unreadable cache entry ({e}), rebuilt", path.display())),
        };
        match decode(&bytes, magic, id) {
            Some(value) => Lookup::Hit(Box::new(value)),
            None => Lookup::Corrupt(format!("{}: corrupt cache entry ignored and rebuilt", path.display())),
        }
    }

    fn write_entry<T: serde::Serialize>(
        &self,
        path: &Path,
        magic: &[u8; 8],
        id: &[u8; 32],
        value: &T,
    ) -> std::io::Result<()> {
        let payload = postcard::to_allocvec(value).map_err(std::io::Error::other)?;
        write_atomically(path, &framed(magic, id, &payload))
    }
}

impl Drop for FactsCache {
    fn drop(&mut self) {
        self.write_pending();
    }
}

/// The payload of a framed entry, if its header is whole and matches.
fn unframe<'b>(bytes: &'b [u8], magic: &[u8; 8], id: &[u8; 32]) -> Option<&'b [u8]> {
    let (header, payload) = (bytes.get(..HEADER_LEN)?, bytes.get(HEADER_LEN..)?);
    if &header[..8] != magic || header[8..40] != id[..] {
        return None;
    }
    let len = u64::from_le_bytes(header[40..48].try_into().ok()?);
    if len != payload.len() as u64 || header[48..64] != blake3::hash(payload).as_bytes()[..16] {
        return None;
    }
    Some(payload)
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], magic: &[u8; 8], id: &[u8; 32]) -> Option<T> {
    postcard::from_bytes(unframe(bytes, magic, id)?).ok()
}

/// Header (magic, identity, length, checksum) and payload.
fn framed(magic: &[u8; 8], id: &[u8; 32], payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
    bytes.extend_from_slice(magic);
    bytes.extend_from_slice(id);
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&blake3::hash(payload).as_bytes()[..16]);
    bytes.extend_from_slice(payload);
    bytes
}

/// A temporary file in the target's directory renamed into place: readers
/// see a whole file or none.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().ok_or_else(|| std::io::Error::other("no parent directory"))?;
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The extractor's sources (hashed by `build.rs`), the entry format and
/// the salt: what a file's facts depend on.
fn extractor_hash(salt: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"extractor");
    h.update(&FORMAT.to_le_bytes());
    h.update(env!("LOCKPATH_EXTRACTOR_HASH").as_bytes());
    h.update(salt);
    *h.finalize().as_bytes()
}

/// The running binary's bytes (any rebuilt analysis is new), the
/// entry format and the salt. Without a readable binary the version string
/// stands in, which is still right for released builds.
fn build_hash(salt: &[u8]) -> [u8; 32] {
    // The binary is read and hashed once per process: a session opens the
    // cache on every edit, and the binary is tens of megabytes.
    static EXE: std::sync::OnceLock<Option<[u8; 32]>> = std::sync::OnceLock::new();
    let exe = EXE.get_or_init(|| {
        let bytes = std::env::current_exe().ok().and_then(|p| std::fs::read(p).ok())?;
        Some(*blake3::hash(&bytes).as_bytes())
    });
    let mut h = blake3::Hasher::new();
    h.update(&FORMAT.to_le_bytes());
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    if let Some(exe) = exe {
        h.update(exe);
    }
    h.update(salt);
    *h.finalize().as_bytes()
}

fn hex16(bytes: &[u8; 32]) -> String {
    bytes[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Marks `current` as used now and removes all but the most recently used
/// other builds' directories. Best effort: a concurrent run may be using
/// one; it then only loses its cache.
fn prune_other_builds(builds: &Path, current: &Path) {
    let _ = std::fs::File::create(current.join(".used"));
    let Ok(entries) = std::fs::read_dir(builds) else { return };
    let mut others: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p != current)
        .map(|p| {
            let used = std::fs::metadata(p.join(".used")).and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH);
            (used, p)
        })
        .collect();
    others.sort();
    let remove = others.len().saturating_sub(KEEP_OTHER_BUILDS);
    for (_, dir) in others.into_iter().take(remove) {
        let _ = std::fs::remove_dir_all(dir);
    }
}
