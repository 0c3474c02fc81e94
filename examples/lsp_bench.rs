//! `lockpath lsp` on a real tree, timed as an editor would feel it: the
//! initial index (initialize → the first run's `$/progress` end, and → the
//! first diagnostics for a file opened at once), then, per edit, the time
//! from a `didChange` that adds a fault under `mmap_lock` to the file to
//! the diagnostic arriving, and from the `didChange` that takes it back to
//! the diagnostic going away. Also the server's peak RSS. `bench/lsp.sh`
//! runs it on Linux 6.12.
//!
//! ```text
//! cargo run --release --example lsp_bench -- --lockpath target/release/lockpath \
//!     --root TREE [--file mm/oom_kill.c] [--paths mm,kernel] [--edits 2] [--timeout-s 1800]
//! ```

#[path = "../tests/lsp/client.rs"]
mod client;

use client::{file_uri, is_publish, Client};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str =
    "usage: lsp_bench --lockpath BIN --root TREE [--file REL] [--paths a,b] [--edits N] [--timeout-s S]";

struct Args {
    lockpath: String,
    root: PathBuf,
    file: String,
    paths: Vec<String>,
    edits: usize,
    timeout: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        lockpath: "lockpath".into(),
        root: PathBuf::new(),
        file: "mm/oom_kill.c".into(),
        paths: Vec::new(),
        edits: 2,
        timeout: Duration::from_secs(1800),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--lockpath" => args.lockpath = value()?,
            "--root" => args.root = PathBuf::from(value()?),
            "--file" => args.file = value()?,
            "--paths" => args.paths = value()?.split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
            "--edits" => args.edits = value()?.parse().map_err(|e| format!("--edits: {e}"))?,
            "--timeout-s" => {
                args.timeout = Duration::from_secs(value()?.parse().map_err(|e| format!("--timeout-s: {e}"))?)
            }
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if args.root.as_os_str().is_empty() {
        return Err("--root is required".into());
    }
    Ok(args)
}

/// A new function with a real fault-under-lock, appended to the file.
fn with_new_bug(text: &str, n: usize) -> String {
    format!(
        "{text}\nstatic int lockpath_bench_{n}(struct mm_struct *mm, int __user *p)\n{{\n\tint v = 0;\n\n\
         \tmmap_read_lock(mm);\n\tif (get_user(v, p))\n\t\tv = -EFAULT;\n\tmmap_read_unlock(mm);\n\treturn v;\n}}\n"
    )
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("lsp_bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let root = args.root.canonicalize().unwrap_or(args.root.clone());
    let path = root.join(&args.file);
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("lsp_bench: cannot read {}", path.display());
        return ExitCode::from(2);
    };
    let uri = file_uri(&path);
    let cache = std::env::temp_dir().join("lockpath-lsp-bench-cache");
    let mut lsp = Client::spawn(&args.lockpath, &[("XDG_CACHE_HOME", cache.as_path())], args.timeout);
    let options = if args.paths.is_empty() { json!({}) } else { json!({ "paths": args.paths }) };

    let load_before = load_average();
    let started = Instant::now();
    lsp.initialize(&root, options, json!({}));
    lsp.open(&uri, &text, 1);
    lsp.wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end");
    let indexed = started.elapsed();
    let baseline = lsp.diagnostics_for(&uri, |_| true).len();
    let first_diagnostics = started.elapsed();
    let summary = progress_end_message(&lsp.seen);

    let mut added = Vec::new();
    let mut removed = Vec::new();
    for n in 0..args.edits {
        let version = 2 + 2 * n as i64;
        let edit = Instant::now();
        lsp.change(&uri, version, vec![json!({ "text": with_new_bug(&text, n) })]);
        lsp.diagnostics_for(&uri, |d| d.len() > baseline);
        added.push(edit.elapsed());
        let edit = Instant::now();
        lsp.change(&uri, version + 1, vec![json!({ "text": text })]);
        lsp.wait_for(|m| {
            is_publish(m, &uri) && m["params"]["diagnostics"].as_array().is_some_and(|d| d.len() == baseline)
        });
        removed.push(edit.elapsed());
    }
    let peak = peak_rss_mib(lsp.pid());
    let status = lsp.shutdown_and_exit();

    let secs = |ds: &[Duration]| ds.iter().map(|d| format!("{:.2} s", d.as_secs_f64())).collect::<Vec<_>>().join(", ");
    let scope = if args.paths.is_empty() { "the whole tree".to_string() } else { args.paths.join(", ") };
    println!("# lockpath lsp on {} ({scope})\n", root.display());
    println!("| measure | seconds |\n|---|---|");
    println!("| initial index (initialize → first run's progress end) | {:.1} s |", indexed.as_secs_f64());
    println!("| first diagnostics for `{}` ({baseline}) | {:.1} s |", args.file, first_diagnostics.as_secs_f64());
    println!("| edit adding a fault → its diagnostic | {} |", secs(&added));
    println!("| edit removing it → diagnostic gone | {} |", secs(&removed));
    let peak = peak.map_or("?".into(), |m| format!("{m} MiB"));
    let code = status.code().map_or("none".into(), |c| c.to_string());
    println!("\nfirst run: {summary}; server peak RSS {peak}; exit status {code}");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("load average (1 min) before / after: {load_before} / {} on {cores} cores", load_average());
    ExitCode::SUCCESS
}

fn progress_end_message(seen: &[Value]) -> String {
    seen.iter()
        .find(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end")
        .and_then(|m| m["params"]["value"]["message"].as_str())
        .unwrap_or("?")
        .to_string()
}

/// Other work on the machine slows every run alike; say how much there was.
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().next().unwrap_or("?").to_string()
}

fn peak_rss_mib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? / 1024)
}
