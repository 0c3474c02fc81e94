//! Packs: many facts entries in one file, as git packs its objects.
//!
//! A cold run over the kernel misses 60,000 entries. Written one file each
//! (a temporary file, a rename), they cost an inode, two directory updates
//! and four system calls apiece, on the threads that should be parsing.
//! A run's misses beyond the first few dozen go instead to one pack,
//! appended sequentially and renamed into place when the run's loading
//! ends; a few misses (an editor's edit) stay loose files.
//!
//! Layout of `<facts dir>/packs/<name>.pack`:
//!
//! ```text
//! "LPPACK\0\0" extractor-id(32)        header
//! entry entry ...                      each framed exactly as a loose entry
//! (key(32) offset(8) len(8)) × count   index
//! index-offset(8) count(8) checksum(16) "LPPKEND\0"   footer
//! ```
//!
//! A pack is written under a temporary name and renamed whole, so a reader
//! sees all of it or none; packs are never modified after. Two runs missing
//! the same file both pack it: the same bytes, either is right. A pack
//! whose header, footer or index does not check is named in one notice and
//! removed once its entries are rebuilt; one bad entry inside a good pack is a corrupt entry like a
//! loose one.

use super::Key;
use rustc_hash::FxHashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const PACK_MAGIC: &[u8; 8] = b"LPPACK\0\0";
const END_MAGIC: &[u8; 8] = b"LPPKEND\0";
const HEADER_LEN: u64 = 8 + 32;
const FOOTER_LEN: u64 = 8 + 8 + 16 + 8;
const INDEX_ENTRY_LEN: usize = 32 + 8 + 8;
/// A run with at most this many misses writes loose entries: a pack per
/// edit would leave thousands of tiny packs behind an editing session.
pub const LOOSE_AT_MOST: usize = 64;
/// Temporary packs older than this were left by a run that died.
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Where an entry is: which pack, at what offset, how long.
#[derive(Clone, Copy)]
struct Location {
    pack: u32,
    offset: u64,
    len: u64,
}

/// The packs of one facts directory, their indexes merged (newest first).
#[derive(Default)]
pub struct Packs {
    files: Vec<(PathBuf, File)>,
    index: FxHashMap<Key, Location>,
    /// Packs found bad at open.
    bad: Vec<PathBuf>,
}

impl Packs {
    /// Reads every pack's index under `dir`; a bad pack is named in
    /// `notices` and listed in `bad` (for `remove_bad` once its entries
    /// are rebuilt).
    pub fn open(dir: &Path, extractor: &[u8; 32], notices: &mut Vec<String>) -> Packs {
        let mut packs = Packs::default();
        let Ok(entries) = std::fs::read_dir(dir) else { return packs };
        let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let modified = entry.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH);
            if path.extension().is_some_and(|x| x == "pack") {
                found.push((modified, path));
            } else if is_stale_tmp(&path, modified) {
                let _ = std::fs::remove_file(&path);
            }
        }
        // Newest first, so an entry rebuilt after a corrupt one wins.
        found.sort_by(|a, b| b.cmp(a));
        for (_, path) in found {
            match read_index(&path, extractor) {
                Ok((file, index)) => {
                    let pack = packs.files.len() as u32;
                    for (key, offset, len) in index {
                        packs.index.entry(key).or_insert(Location { pack, offset, len });
                    }
                    packs.files.push((path, file));
                }
                Err(why) => {
                    notices.push(format!("{}: corrupt cache pack ignored and rebuilt ({why})", path.display()));
                    packs.bad.push(path);
                }
            }
        }
        packs
    }

    /// Removes the packs found bad: a run that loaded its files has
    /// rebuilt their entries. (Not at open: a run answered from the report
    /// cache rebuilds nothing, and must leave the pack to be named again.)
    pub fn remove_bad(&mut self) {
        for path in self.bad.drain(..) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// The entry's bytes and the pack's path, if a pack holds `key`.
    pub fn read(&self, key: &Key) -> Option<(std::io::Result<Vec<u8>>, &Path)> {
        let at = self.index.get(key)?;
        let (path, file) = self.files.get(at.pack as usize)?;
        let mut bytes = vec![0; at.len as usize];
        Some((file.read_exact_at(&mut bytes, at.offset).map(|()| bytes), path))
    }
}

fn is_stale_tmp(path: &Path, modified: std::time::SystemTime) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(".tmp"))
        && modified.elapsed().is_ok_and(|age| age > STALE_TMP)
}

type Index = Vec<(Key, u64, u64)>;

fn read_index(path: &Path, extractor: &[u8; 32]) -> Result<(File, Index), &'static str> {
    let file = File::open(path).map_err(|_| "unreadable")?;
    let len = file.metadata().map_err(|_| "unreadable")?.len();
    if len < HEADER_LEN + FOOTER_LEN {
        return Err("truncated");
    }
    let mut header = [0u8; HEADER_LEN as usize];
    file.read_exact_at(&mut header, 0).map_err(|_| "unreadable")?;
    if &header[..8] != PACK_MAGIC || header[8..] != extractor[..] {
        return Err("not a pack of this extractor");
    }
    let mut footer = [0u8; FOOTER_LEN as usize];
    file.read_exact_at(&mut footer, len - FOOTER_LEN).map_err(|_| "unreadable")?;
    if &footer[32..] != END_MAGIC {
        return Err("truncated");
    }
    let u64_at = |b: &[u8]| b.try_into().map(u64::from_le_bytes).map_err(|_| "bad footer");
    let (index_at, count) = (u64_at(&footer[..8])?, u64_at(&footer[8..16])?);
    let index_len = count.checked_mul(INDEX_ENTRY_LEN as u64).ok_or("bad footer")?;
    if index_at < HEADER_LEN || index_at.checked_add(index_len) != Some(len - FOOTER_LEN) {
        return Err("bad footer");
    }
    let mut raw = vec![0u8; index_len as usize];
    file.read_exact_at(&mut raw, index_at).map_err(|_| "unreadable")?;
    if blake3::hash(&raw).as_bytes()[..16] != footer[16..32] {
        return Err("index checksum mismatch");
    }
    let mut index = Vec::with_capacity(count as usize);
    for e in raw.chunks_exact(INDEX_ENTRY_LEN) {
        let (key, offset, elen) = (&e[..32], u64_at(&e[32..40])?, u64_at(&e[40..48])?);
        if offset < HEADER_LEN || offset.checked_add(elen).is_none_or(|end| end > index_at) {
            return Err("index points outside the pack");
        }
        index.push((Key(key.try_into().map_err(|_| "bad index")?), offset, elen));
    }
    Ok((file, index))
}

/// A pack being written: entries appended, the index kept, renamed into
/// place by `finish`.
pub struct PackWriter {
    tmp: tempfile::NamedTempFile,
    out: BufWriter<File>,
    index: Index,
    at: u64,
}

impl PackWriter {
    pub fn create(dir: &Path, extractor: &[u8; 32]) -> std::io::Result<PackWriter> {
        std::fs::create_dir_all(dir)?;
        let tmp = tempfile::Builder::new().prefix(".tmp").tempfile_in(dir)?;
        let mut out = BufWriter::with_capacity(1 << 20, tmp.as_file().try_clone()?);
        out.write_all(PACK_MAGIC)?;
        out.write_all(extractor)?;
        Ok(PackWriter { tmp, out, index: Vec::new(), at: HEADER_LEN })
    }

    /// Appends one framed entry.
    pub fn append(&mut self, key: Key, framed: &[u8]) -> std::io::Result<()> {
        self.out.write_all(framed)?;
        self.index.push((key, self.at, framed.len() as u64));
        self.at += framed.len() as u64;
        Ok(())
    }

    /// Entries appended so far.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Writes the index and footer and renames the pack into place, named
    /// by a hash of its index (so two packs never share a name).
    pub fn finish(mut self) -> std::io::Result<()> {
        let mut raw = Vec::with_capacity(self.index.len() * INDEX_ENTRY_LEN);
        for (key, offset, len) in &self.index {
            raw.extend_from_slice(&key.0);
            raw.extend_from_slice(&offset.to_le_bytes());
            raw.extend_from_slice(&len.to_le_bytes());
        }
        let sum = blake3::hash(&raw);
        self.out.write_all(&raw)?;
        self.out.write_all(&self.at.to_le_bytes())?;
        self.out.write_all(&(self.index.len() as u64).to_le_bytes())?;
        self.out.write_all(&sum.as_bytes()[..16])?;
        self.out.write_all(END_MAGIC)?;
        self.out.flush()?;
        let name: String = sum.as_bytes()[..12].iter().map(|b| format!("{b:02x}")).collect();
        let dir = self.tmp.path().parent().map(Path::to_path_buf).unwrap_or_default();
        self.tmp.persist(dir.join(format!("{name}.pack"))).map_err(|e| e.error)?;
        Ok(())
    }
}
