//! The check server: a process that keeps one tree's session (program,
//! summaries) in memory so that `lockpath check` on that tree, run again
//! after an edit, costs what the edit reaches instead of a whole analysis.
//!
//! `lockpath server PATHS` analyses PATHS once and then answers over a Unix
//! socket. `lockpath check` with the same paths, from the same directory,
//! with the same build, options and lock model asks it before doing any
//! work itself: the socket's name is a hash of exactly those
//! (`socket_path`), so a client can only reach a server whose answer is the
//! one it would compute. No server, a dead one, or any failure on the way
//! and the client runs as if there were none.
//!
//! Per request the server lists the inputs again and compares each file's
//! size, modification time and inode with the previous request's; what
//! differs is read again (`Session::disk_changed`), and the session
//! re-analyses from there (a new or deleted file rebuilds the program).
//! A request may carry files that stand in for the disk (series mode sends
//! each state of a patch series so); the next request without them reads
//! those files from the disk again. Requests are answered one at a time,
//! in arrival order.
//!
//! Framing: a u32 little-endian length, then a postcard payload; a request
//! is a `Request`, the answer a `Reply`.

use crate::cache::FactsCache;
use crate::driver::{self, Options, Report, Stats};
use crate::model::Model;
use crate::overlay::Overlay;
use crate::session::{Pass, Session};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Bumped when `Request` or `Reply` change shape (the build hash in the
/// socket's directory already keeps builds apart; this is belt and braces).
const PROTOCOL: u32 = 1;

/// A reply larger than this is refused (a whole-tree report is ~75 MiB).
const MAX_REPLY: usize = 1 << 30;
/// A request carries at most a patch series' files.
const MAX_REQUEST: usize = 1 << 28;

#[derive(serde::Serialize, serde::Deserialize)]
enum Request {
    /// A check of the server's paths, with these files standing in for
    /// the disk (`None`: deleted); a plain check sends none.
    Check {
        protocol: u32,
        overlay: Vec<(PathBuf, Option<Vec<u8>>)>,
    },
    Stop,
}

#[derive(serde::Serialize, serde::Deserialize)]
enum Reply {
    Report { stats: WireStats, pass: String, report: Vec<u8> },
    Stopping,
    Error(String),
}

/// `Stats` as sent: phases by name and nanoseconds, then the counts.
#[derive(serde::Serialize, serde::Deserialize)]
struct WireStats {
    phases: Vec<(String, u64)>,
    counts: [usize; 6],
}

impl WireStats {
    fn of(stats: &Stats) -> WireStats {
        WireStats {
            phases: stats.phases.iter().map(|(n, d)| (n.to_string(), d.as_nanos() as u64)).collect(),
            counts: [
                stats.call_edges,
                stats.unresolved_calls,
                stats.lock_classes,
                stats.order_edges,
                stats.specialised,
                stats.observations,
            ],
        }
    }

    fn into_stats(self) -> Stats {
        let [call_edges, unresolved_calls, lock_classes, order_edges, specialised, observations] = self.counts;
        Stats {
            phases: self.phases.into_iter().map(|(n, ns)| (phase_name(&n), Duration::from_nanos(ns))).collect(),
            call_edges,
            unresolved_calls,
            lock_classes,
            order_edges,
            specialised,
            observations,
            ..Stats::default()
        }
    }
}

/// What a client learnt from the server.
pub struct Answer {
    pub report: Report,
    /// How the server got it (`Incremental(...)`, `Unchanged`, ...).
    pub pass: String,
}

/// The socket a server for `opts` and `model` listens on, run from the
/// current directory; `None` without a cache directory.
pub fn socket_path(model: &Model, opts: &Options) -> Option<PathBuf> {
    let cache = FactsCache::open(opts.cache_dir.as_deref()?, model.attributes_salt().as_bytes()).ok()?;
    let cwd = std::env::current_dir().ok()?;
    let mut spec = format!("cwd={}\0tree_context={}\0max={}\0", cwd.display(), opts.tree_context, opts.max_file_size);
    for p in &opts.paths {
        spec.push_str(&format!("path={}\0", p.display()));
    }
    Some(cache.server_socket(&cache.run_key(&[b"server", &model.digest, spec.as_bytes()])))
}

/// Asks the server for `opts`' report (`opts.overlay` standing in for the
/// disk, as in a series state). `Ok(None)`: no server listens; `Err`: one
/// does but the exchange failed (the caller runs itself).
pub fn ask(model: &Model, opts: &Options) -> Result<Option<Answer>, String> {
    let Some(socket) = socket_path(model, opts) else { return Ok(None) };
    let Ok(mut stream) = UnixStream::connect(&socket) else { return Ok(None) };
    let fail = |e: std::io::Error| format!("the check server ({}) did not answer: {e}", socket.display());
    let overlay = opts.overlay.entries().map(|(p, b)| (p.to_path_buf(), b.map(|b| b.to_vec()))).collect();
    write_frame(&mut stream, &Request::Check { protocol: PROTOCOL, overlay }).map_err(fail)?;
    let started = Instant::now();
    match read_frame::<Reply>(&mut stream, MAX_REPLY).map_err(fail)? {
        Reply::Report { stats, pass, report } => {
            let mut stats = stats.into_stats();
            let served = stats.phases.iter().map(|(_, d)| *d).sum::<Duration>();
            stats.phases.push(("server reply", started.elapsed().saturating_sub(served)));
            let report = driver::decode_report(&report, stats).ok_or("the check server's report does not decode")?;
            Ok(Some(Answer { report, pass }))
        }
        Reply::Error(e) => Err(format!("the check server failed: {e}")),
        Reply::Stopping => Err("the check server is stopping".into()),
    }
}

/// Tells the server for `opts` to exit; `false` when none listens.
pub fn stop(model: &Model, opts: &Options) -> bool {
    let Some(socket) = socket_path(model, opts) else { return false };
    let Ok(mut stream) = UnixStream::connect(&socket) else { return false };
    write_frame(&mut stream, &Request::Stop).is_ok()
        && matches!(read_frame(&mut stream, MAX_REPLY), Ok(Reply::Stopping))
}

/// Runs the server for `opts` until it is stopped or has been idle for
/// `idle_exit`. `ready` is told the socket and the first run's report;
/// `log` gets one line per answer.
pub fn serve(
    model: &Model,
    opts: &Options,
    idle_exit: Option<Duration>,
    ready: impl FnOnce(&Path, &Report),
    log: &dyn Fn(String),
) -> anyhow::Result<()> {
    use anyhow::Context;
    let socket = socket_path(model, opts).context("the check server needs the cache directory (not --no-cache)")?;
    let listener = bind(&socket)?;
    let busy = Arc::new(AtomicBool::new(true));
    let last = Arc::new(AtomicU64::new(now_secs()));
    if let Some(idle) = idle_exit {
        watch_idle(socket.clone(), idle, busy.clone(), last.clone());
    }
    let mut snapshot = Snapshot::take(opts);
    let mut session = Session::new(model);
    let (first, _) = session.run(opts);
    ready(&socket, &first);
    drop(first);
    busy.store(false, Ordering::SeqCst);
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        busy.store(true, Ordering::SeqCst);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let stopping = match read_frame::<Request>(&mut stream, MAX_REQUEST) {
            Ok(Request::Check { protocol, overlay }) if protocol == PROTOCOL => {
                let started = Instant::now();
                let reply = answer(&with_overlay(opts, overlay), &mut session, &mut snapshot);
                let sent = write_frame(&mut stream, &reply);
                if let Reply::Report { pass, .. } = &reply {
                    let how = if sent.is_ok() { "answered" } else { "could not send" };
                    log(format!("{how} a check in {:.2} s ({pass})", started.elapsed().as_secs_f64()));
                }
                false
            }
            Ok(Request::Check { protocol, .. }) => {
                let why = format!("protocol {protocol}, this server speaks {PROTOCOL}");
                let _ = write_frame(&mut stream, &Reply::Error(why));
                false
            }
            Ok(Request::Stop) => {
                let _ = write_frame(&mut stream, &Reply::Stopping);
                log("stopping, as asked".into());
                true
            }
            Err(_) => false,
        };
        last.store(now_secs(), Ordering::SeqCst);
        busy.store(false, Ordering::SeqCst);
        if stopping {
            break;
        }
    }
    let _ = std::fs::remove_file(&socket);
    Ok(())
}

/// The server's options with a request's files standing in for the disk.
fn with_overlay(opts: &Options, files: Vec<(PathBuf, Option<Vec<u8>>)>) -> Options {
    let mut opts = opts.clone();
    for (path, bytes) in files {
        match bytes {
            Some(bytes) => opts.overlay.set(&path, bytes),
            None => opts.overlay.delete(&path),
        }
    }
    opts
}

/// One check: what changed on disk since the last one, then the session.
fn answer(opts: &Options, session: &mut Session, snapshot: &mut Snapshot) -> Reply {
    let started = Instant::now();
    let now = Snapshot::take(opts);
    session.disk_changed(now.changed_since(snapshot));
    *snapshot = now;
    let stat_took = started.elapsed();
    let (report, pass) = session.run(opts);
    let mut stats = WireStats::of(&report.stats);
    stats.phases.insert(0, ("stat inputs".to_string(), stat_took.as_nanos() as u64));
    let pass = match pass {
        Pass::Whole => "whole".to_string(),
        Pass::Incremental(stats) => {
            format!("incremental: {} functions in {} SCCs re-analysed", stats.functions_analysed, stats.sccs_analysed)
        }
        Pass::Reanalysed(why) => format!("re-analysed ({why})"),
        Pass::Unchanged => "unchanged".to_string(),
    };
    Reply::Report { stats, pass, report: driver::encode_report(&report) }
}

/// Every input's size, modification time and inode, as the last request saw them.
struct Snapshot {
    files: FxHashMap<PathBuf, Option<(u64, SystemTime, u64)>>,
}

impl Snapshot {
    fn take(opts: &Options) -> Snapshot {
        use std::os::unix::fs::MetadataExt;
        let (found, all, _) = driver::discover_inputs(opts);
        // One spelling per file, whatever the overlay made of the list
        // (discovery spells every file as its overlay key when there is
        // one): `Overlay::key`'s, each directory canonicalised once.
        let mut dirs: FxHashMap<PathBuf, PathBuf> = FxHashMap::default();
        let mut key = |path: &Path| match (path.parent(), path.file_name()) {
            (Some(parent), Some(name)) => {
                let dir = dirs
                    .entry(parent.to_path_buf())
                    .or_insert_with(|| Overlay::key(parent).canonicalize().unwrap_or_else(|_| Overlay::key(parent)));
                dir.join(name)
            }
            _ => Overlay::key(path),
        };
        let paths: Vec<PathBuf> = all.iter().map(|(path, _, _)| key(path)).collect();
        let given: Vec<(PathBuf, _)> = found.missing.iter().map(|p| (key(p), None)).collect();
        let files = paths
            .into_par_iter()
            .map(|path| {
                let meta = std::fs::metadata(&path).ok();
                (path, meta.map(|m| (m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.ino())))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .chain(given)
            .collect();
        Snapshot { files }
    }

    /// Files that differ, appeared or went away.
    fn changed_since(&self, old: &Snapshot) -> Vec<PathBuf> {
        let mut changed: Vec<PathBuf> = self
            .files
            .iter()
            .filter(|(p, m)| old.files.get(*p) != Some(m))
            .map(|(p, _)| p.clone())
            .chain(old.files.keys().filter(|p| !self.files.contains_key(*p)).cloned())
            .collect();
        changed.sort();
        changed
    }
}

/// Listens on `socket`, replacing a stale one (whose server is gone).
fn bind(socket: &Path) -> anyhow::Result<UnixListener> {
    use anyhow::Context;
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    if UnixStream::connect(socket).is_ok() {
        anyhow::bail!("a check server for these paths already runs ({})", socket.display());
    }
    let _ = std::fs::remove_file(socket);
    let listener = UnixListener::bind(socket).with_context(|| format!("{}: cannot listen", socket.display()))?;
    // Only this user may ask (the cache directory is theirs anyway).
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600));
    Ok(listener)
}

/// Exits the process (removing the socket) once it has been idle, between
/// requests, for `idle`.
fn watch_idle(socket: PathBuf, idle: Duration, busy: Arc<AtomicBool>, last: Arc<AtomicU64>) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(5).min(idle));
        let quiet = now_secs().saturating_sub(last.load(Ordering::SeqCst));
        if !busy.load(Ordering::SeqCst) && quiet >= idle.as_secs() {
            let _ = std::fs::remove_file(&socket);
            std::process::exit(0);
        }
    });
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Stats phases are named by static strings; the server's come back as
/// text. A client reads one reply, so leaking its few names is bounded.
fn phase_name(name: &str) -> &'static str {
    Box::leak(name.to_string().into_boxed_str())
}

fn write_frame<T: serde::Serialize>(stream: &mut UnixStream, value: &T) -> std::io::Result<()> {
    let payload = postcard::to_allocvec(value).map_err(std::io::Error::other)?;
    let len = u32::try_from(payload.len()).map_err(|_| std::io::Error::other("frame too large"))?;
    stream.write_all(&len.to_le_bytes())?;
    stream.write_all(&payload)?;
    stream.flush()
}

fn read_frame<T: serde::de::DeserializeOwned>(stream: &mut UnixStream, max: usize) -> std::io::Result<T> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len) as usize;
    if len > max {
        return Err(std::io::Error::other(format!("a frame of {len} bytes")));
    }
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload)?;
    postcard::from_bytes(&payload).map_err(std::io::Error::other)
}
