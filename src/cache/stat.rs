//! Content hashes of input files remembered by their stat, as git's index
//! does: a file whose device, inode, size, mtime and ctime are those of the
//! last run has the bytes it had then, so an unchanged tree is keyed
//! without reading its 1.3 GB again (2.5 s of a warm whole-tree run).
//!
//! One index per set of paths checked (`scope`), at
//! `<dir>/stat-v<FORMAT>/<scope>.stat`: a magic, the entries, and a
//! checksum of them; the 32 most recently written are kept. A bad index is ignored (every file is hashed) and
//! named in one notice; it is replaced at the end of the run.
//!
//! Racy files: a file written in the same clock tick as it was hashed can
//! change again without its mtime moving. An entry is recorded only when
//! its mtime is `RACY_NS` older than the moment hashing began (git's rule,
//! with a margin); a newer file is hashed again next run, which costs
//! little (it is one a user just edited). A write that puts the old mtime
//! back (`touch -d`, `cp -p`) still moves the ctime, which the stamp holds.

use rustc_hash::FxHashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const FORMAT: u32 = 1;
const MAGIC: &[u8; 8] = b"LPSTAT1\0";
/// Entries whose mtime is this close to the hashing are not recorded.
const RACY_NS: i128 = 2_000_000_000;

/// What a file's stat says about its bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Stamp {
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// The content hashes a run found, by path.
#[derive(Default)]
pub struct StatIndex {
    entries: FxHashMap<PathBuf, (Stamp, [u8; 32])>,
}

impl StatIndex {
    /// The index at `path`; a missing one is empty, a bad one is empty and
    /// named in the returned notice.
    pub fn read(path: &Path) -> (StatIndex, Option<String>) {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (StatIndex::default(), None),
            Err(e) => {
                return (
                    StatIndex::default(),
                    Some(format!("{}: unreadable stat index ({e}), rebuilt", path.display())),
                )
            }
        };
        match decode(&bytes) {
            Some(index) => (index, None),
            None => (StatIndex::default(), Some(format!("{}: corrupt stat index ignored and rebuilt", path.display()))),
        }
    }

    /// The hash recorded for `path`, if its stat is still `stamp`.
    pub fn hash(&self, path: &Path, stamp: &Stamp) -> Option<[u8; 32]> {
        self.entries.get(path).filter(|(s, _)| s == stamp).map(|(_, h)| *h)
    }

    /// Records a hash, unless the file is too new to be trusted later (see
    /// the module's note on racy files). `began_ns`: when hashing began.
    pub fn record(&mut self, path: &Path, stamp: Stamp, hash: [u8; 32], began_ns: i128) {
        if stamp.mtime_ns + RACY_NS < began_ns {
            self.entries.insert(path.to_path_buf(), (stamp, hash));
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes the index atomically (a temporary file renamed into place).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut sorted: Vec<_> = self.entries.iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut body = Vec::with_capacity(sorted.len() * 120);
        body.extend_from_slice(&(sorted.len() as u64).to_le_bytes());
        for (p, (s, h)) in sorted {
            let p = p.as_os_str().as_bytes();
            body.extend_from_slice(&(p.len() as u32).to_le_bytes());
            body.extend_from_slice(p);
            for v in [s.dev, s.ino, s.size] {
                body.extend_from_slice(&v.to_le_bytes());
            }
            body.extend_from_slice(&s.mtime_ns.to_le_bytes());
            body.extend_from_slice(&s.ctime_ns.to_le_bytes());
            body.extend_from_slice(h);
        }
        let mut out = Vec::with_capacity(body.len() + 28);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        out.extend_from_slice(&blake3::hash(&body).as_bytes()[..16]);
        out.extend_from_slice(&body);
        super::write_atomically(path, &out)?;
        if let Some(dir) = path.parent() {
            prune(dir);
        }
        Ok(())
    }
}

/// Indexes kept per cache: one per set of paths checked, so a developer
/// who checks many directories one by one does not grow the cache without
/// end; the least recently written go first.
const KEEP_INDEXES: usize = 32;

/// Removes all but the `KEEP_INDEXES` newest indexes in `dir`. Failures
/// only leave a file behind.
fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "stat"))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    if found.len() <= KEEP_INDEXES {
        return;
    }
    found.sort_unstable_by(|a, b| b.cmp(a));
    for (_, old) in found.into_iter().skip(KEEP_INDEXES) {
        let _ = std::fs::remove_file(old);
    }
}

/// Where the index for `scope` (what was asked, from where) lives.
pub fn index_path(root: &Path, scope: &[u8]) -> PathBuf {
    let hex: String = blake3::hash(scope).as_bytes()[..8].iter().map(|b| format!("{b:02x}")).collect();
    root.join(format!("stat-v{FORMAT}")).join(format!("{hex}.stat"))
}

/// Reads fixed-size fields off the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

fn decode(bytes: &[u8]) -> Option<StatIndex> {
    let mut r = Reader(bytes);
    if r.take(8)? != MAGIC || u32::from_le_bytes(r.array()?) != FORMAT {
        return None;
    }
    let sum = r.take(16)?;
    if blake3::hash(r.0).as_bytes()[..16] != *sum {
        return None;
    }
    let count = u64::from_le_bytes(r.array()?);
    let mut entries = FxHashMap::default();
    for _ in 0..count {
        let len = u32::from_le_bytes(r.array()?) as usize;
        let path = PathBuf::from(OsStr::from_bytes(r.take(len)?));
        let [dev, ino, size] = [0; 3].map(|_| r.array().map(u64::from_le_bytes));
        let stamp = Stamp {
            dev: dev?,
            ino: ino?,
            size: size?,
            mtime_ns: i128::from_le_bytes(r.array()?),
            ctime_ns: i128::from_le_bytes(r.array()?),
        };
        entries.insert(path, (stamp, r.array()?));
    }
    r.0.is_empty().then_some(StatIndex { entries })
}
