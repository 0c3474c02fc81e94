//! Integration tests against a real Linux 6.12 source tree.
//!
//! The tree comes from `ci/fetch-kernel.sh` (Debian's `linux-source-6.12`);
//! `ci/test.sh` fetches it and exports `LOCKPATH_KERNEL`.  Without a tree
//! these tests print one loud `SKIPPED` line and pass, unless
//! `LOCKPATH_REQUIRE_KERNEL` is set (as CI does), in which case they fail.
//!
//! The seed tests apply `tests/seed/oom-reaper-futex.patch` — a re-creation
//! of the 2022 "[PATCH v5] mm/oom_kill.c: futex: Close a race between do_exit
//! and the oom_reaper" that tglx rejected — to copies of the affected files
//! and check that lockpath reports what the review found by hand:
//!
//! * `fault-under-lock`: `oom_reap_task_mm` holds `mm->mmap_lock` (read,
//!   trylock) across `try_futex_exit_release → futex_cleanup →
//!   exit_robust_list → fetch_robust_entry → get_user`;
//! * `conditional-locking`: `futex_cleanup_begin(tsk, bool try)` trylocks or
//!   locks depending on its argument.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use serde_json::Value;

const LOCKPATH: &str = env!("CARGO_BIN_EXE_lockpath");
const SEED_PATCH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/seed/oom-reaper-futex.patch");
const KERNEL_VERSION: &str = "6.12";

/// Files the seed patch touches, plus their neighbours the analysis needs
/// (all of `kernel/futex/`), relative to the top of the tree.
const SEED_DIRS: &[&str] = &["kernel/futex"];
const SEED_FILES: &[&str] = &["mm/oom_kill.c", "include/linux/futex.h"];

/// The call chain the fault-under-lock trace must contain, in order.
const SEED_CHAIN: &[&str] = &[
    "oom_reap_task_mm",
    "try_futex_exit_release",
    "futex_cleanup",
    "exit_robust_list",
    "fetch_robust_entry",
    "get_user",
];

// ---------------------------------------------------------------------------
// Finding the tree
// ---------------------------------------------------------------------------

fn env_flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

/// The kernel tree, or `None` (after saying so once, loudly) when there is
/// none and `LOCKPATH_REQUIRE_KERNEL` is not set.
fn kernel_tree() -> Option<PathBuf> {
    let from_env = std::env::var_os("LOCKPATH_KERNEL").filter(|v| !v.is_empty());
    let candidate = match &from_env {
        Some(p) => PathBuf::from(p),
        None => {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cache/kernels").join(format!("linux-source-{KERNEL_VERSION}"))
        }
    };
    if candidate.join("MAINTAINERS").is_file() {
        return Some(candidate);
    }
    let origin = if from_env.is_some() { "LOCKPATH_KERNEL" } else { "default location; LOCKPATH_KERNEL unset" };
    if env_flag("LOCKPATH_REQUIRE_KERNEL") {
        panic!(
            "LOCKPATH: kernel tree not found at {} ({origin}) and \
             LOCKPATH_REQUIRE_KERNEL is set — run ci/fetch-kernel.sh \
             (ci/test.sh does) or point LOCKPATH_KERNEL at a linux-source-{KERNEL_VERSION} tree",
            candidate.display()
        );
    }
    static SKIP_NOTICE: Once = Once::new();
    SKIP_NOTICE.call_once(|| {
        // Written straight to fd 2 so the test harness's capture does not
        // swallow it.
        let _ = writeln!(
            std::io::stderr(),
            "LOCKPATH: kernel tree not found at {} ({origin}) — real-kernel tests SKIPPED — run ci/fetch-kernel.sh",
            candidate.display()
        );
    });
    None
}

// ---------------------------------------------------------------------------
// Running lockpath
// ---------------------------------------------------------------------------

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    what: String,
}

impl Run {
    /// stderr, cut to something that fits in a panic message.
    fn stderr_excerpt(&self) -> String {
        excerpt(&self.stderr, 4000)
    }
}

fn excerpt(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}\n… ({} more bytes)", &s[..cut], s.len() - cut)
}

fn timeout() -> Duration {
    let secs = std::env::var("LOCKPATH_TEST_TIMEOUT_SECS").ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or(30 * 60);
    Duration::from_secs(secs)
}

fn describe_status(status: &ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("killed by signal {sig}");
        }
    }
    match status.code() {
        Some(101) => "exit code 101 (Rust panic)".to_string(),
        Some(c) => format!("exit code {c}"),
        None => "no exit code".to_string(),
    }
}

/// Run `lockpath <args>` in `cwd`, with a timeout, capturing its output.
fn run_lockpath(cwd: &Path, args: &[OsString]) -> Run {
    let what = format!(
        "lockpath {} (in {})",
        args.iter().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" "),
        cwd.display()
    );
    let mut child = Command::new(LOCKPATH)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {LOCKPATH}: {e}"));

    let mut out = child.stdout.take().expect("child stdout is piped");
    let mut err = child.stderr.take().expect("child stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });

    let limit = timeout();
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= limit => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = err_reader.join().unwrap_or_default();
                panic!(
                    "{what} timed out after {}s (LOCKPATH_TEST_TIMEOUT_SECS); stderr:\n{}",
                    limit.as_secs(),
                    excerpt(&String::from_utf8_lossy(&stderr), 4000)
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("waiting for {what}: {e}"),
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Run {
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        what,
    }
}

fn os_args<I, S>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    args.into_iter().map(Into::into).collect()
}

/// Exit 0 (no findings) or 1 (findings); anything else — a panic (101),
/// a usage error, a signal — fails the test.
fn assert_clean_exit(run: &Run) {
    let ok = matches!(run.status.code(), Some(0) | Some(1));
    assert!(ok, "{} ended with {}; stderr:\n{}", run.what, describe_status(&run.status), run.stderr_excerpt());
    assert!(
        !run.stderr.contains("panicked"),
        "{} panicked (but exited {}); stderr:\n{}",
        run.what,
        describe_status(&run.status),
        run.stderr_excerpt()
    );
}

/// Parse the `--format json` report and check its documented shape:
/// `{"version":1,"findings":[{"check","severity","message","file","line",
/// "column","function","lock","trace":[{"file","line","function","note"}]}],
/// "summary":{...}}`.
fn parse_report(run: &Run) -> Value {
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: stdout is not JSON ({e}); stdout:\n{}\nstderr:\n{}",
            run.what,
            excerpt(&run.stdout, 2000),
            run.stderr_excerpt()
        )
    });
    let mut problems = Vec::new();
    if report.get("version").and_then(Value::as_u64) != Some(1) {
        problems.push(format!("version is {:?}, want 1", report.get("version")));
    }
    if !report.get("summary").is_some_and(Value::is_object) {
        problems.push("no `summary` object".to_string());
    }
    match report.get("findings").and_then(Value::as_array) {
        None => problems.push("no `findings` array".to_string()),
        Some(findings) => {
            for (i, f) in findings.iter().enumerate() {
                for key in ["check", "severity", "message", "file", "line", "column", "function", "lock", "trace"] {
                    if f.get(key).is_none() {
                        problems.push(format!("findings[{i}] has no `{key}`"));
                    }
                }
                for key in ["check", "severity", "message", "file"] {
                    if f.get(key).is_some_and(|v| !v.is_string()) {
                        problems.push(format!("findings[{i}].{key} is not a string"));
                    }
                }
                if f.get("line").is_some_and(|v| !v.is_u64()) {
                    problems.push(format!("findings[{i}].line is not a number"));
                }
                if f.get("trace").is_some_and(|v| !v.is_array()) {
                    problems.push(format!("findings[{i}].trace is not an array"));
                }
                if problems.len() > 20 {
                    break;
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}: report does not have the documented JSON shape:\n  {}\nstdout:\n{}",
        run.what,
        problems.join("\n  "),
        excerpt(&run.stdout, 2000)
    );
    report
}

fn findings(report: &Value) -> &[Value] {
    report.get("findings").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Per-check counts, e.g. `{"fault-under-lock": 3, ...}`.
fn check_counts(report: &Value) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for f in findings(report) {
        *counts.entry(str_field(f, "check").to_string()).or_insert(0) += 1;
    }
    counts
}

/// Compact one-finding-per-line dump for failure messages.
fn dump_findings<'a>(fs: impl IntoIterator<Item = &'a Value>) -> String {
    let mut s = String::new();
    for f in fs {
        s.push_str(&format!(
            "  {} {}:{} in {} lock={} trace=[{}]\n",
            str_field(f, "check"),
            str_field(f, "file"),
            f.get("line").and_then(Value::as_u64).unwrap_or(0),
            str_field(f, "function"),
            f.get("lock").map(|l| l.to_string()).unwrap_or_default(),
            f.get("trace")
                .and_then(Value::as_array)
                .map(|hops| {
                    hops.iter()
                        .map(|h| {
                            let note = str_field(h, "note");
                            if note.is_empty() {
                                str_field(h, "function").to_string()
                            } else {
                                format!("{} ({note})", str_field(h, "function"))
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" → ")
                })
                .unwrap_or_default()
        ));
        if s.len() > 8000 {
            s.push_str("  …\n");
            break;
        }
    }
    if s.is_empty() {
        s.push_str("  (none)\n");
    }
    s
}

/// Does the finding's trace contain `SEED_CHAIN` as a subsequence of its
/// hops' functions?  The final `get_user` may be either a hop of its own or
/// named in the note of a hop at or after `fetch_robust_entry` (when the
/// trace stops at the function that makes the user access).
fn trace_has_seed_chain(f: &Value) -> bool {
    let hops: Vec<&Value> = f.get("trace").and_then(Value::as_array).map(|h| h.iter().collect()).unwrap_or_default();
    let (last, prefix) = SEED_CHAIN.split_last().expect("SEED_CHAIN is not empty");
    let mut next = 0;
    let mut at = None;
    for (i, hop) in hops.iter().enumerate() {
        if next < prefix.len() && str_field(hop, "function") == prefix[next] {
            next += 1;
            if next == prefix.len() {
                at = Some(i);
                break;
            }
        }
    }
    let Some(at) = at else {
        return false;
    };
    hops[at..].iter().any(|h| str_field(h, "function") == *last || str_field(h, "note").contains(last))
}

fn is_oom_reaper_fault(f: &Value) -> bool {
    str_field(f, "check") == "fault-under-lock"
        && str_field(f, "function") == "oom_reap_task_mm"
        && str_field(f, "file").ends_with("mm/oom_kill.c")
}

fn is_futex_conditional_locking(f: &Value) -> bool {
    str_field(f, "check") == "conditional-locking" && str_field(f, "function") == "futex_cleanup_begin"
}

// ---------------------------------------------------------------------------
// The seed files
// ---------------------------------------------------------------------------

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("mkdir {}: {e}", to.display()));
    let entries = std::fs::read_dir(from).unwrap_or_else(|e| panic!("read_dir {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("read_dir {}: {e}", from.display()));
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let ty = entry.file_type().unwrap_or_else(|e| panic!("stat {}: {e}", src.display()));
        if ty.is_dir() {
            copy_dir(&src, &dst);
        } else if ty.is_file() {
            std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("copy {} → {}: {e}", src.display(), dst.display()));
        }
    }
}

/// Copy the seed files from the tree into a fresh temp dir, same layout.
fn seed_copy(tree: &Path) -> tempfile::TempDir {
    let tmp = tempfile::Builder::new().prefix("lockpath-seed-").tempdir().expect("create temp dir");
    for dir in SEED_DIRS {
        copy_dir(&tree.join(dir), &tmp.path().join(dir));
    }
    for file in SEED_FILES {
        let dst = tmp.path().join(file);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
        }
        std::fs::copy(tree.join(file), &dst).unwrap_or_else(|e| panic!("copy {file} from {}: {e}", tree.display()));
    }
    tmp
}

/// `patch -p1` the seed patch into `dir`; no fuzz, no questions, no backups.
fn apply_seed_patch(dir: &Path) {
    let out = Command::new("patch")
        .args(["-p1", "--batch", "--fuzz=0", "--no-backup-if-mismatch", "-i"])
        .arg(SEED_PATCH)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run patch(1): {e} — install it (`apt-get install patch`; ci/test.sh does)"));
    assert!(
        out.status.success(),
        "patch -p1 < {SEED_PATCH} failed in {} ({}):\n{}{}",
        dir.display(),
        describe_status(&out.status),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `lockpath check --no-tree-context --format json` on the seed files.
fn check_seed_files(dir: &Path) -> (Run, Value) {
    let run = run_lockpath(
        dir,
        &os_args([
            "check".into(),
            "--no-tree-context".into(),
            "--format".into(),
            "json".into(),
            dir.join("kernel/futex").into_os_string(),
            dir.join("mm/oom_kill.c").into_os_string(),
            dir.join("include/linux/futex.h").into_os_string(),
        ]),
    );
    assert_clean_exit(&run);
    let report = parse_report(&run);
    (run, report)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// The seed patch still applies to the tree and makes the change the review
/// is about.  Needs only the tree and patch(1), not the analyser.
#[test]
fn seed_patch_applies_cleanly() {
    let Some(tree) = kernel_tree() else { return };
    let tmp = seed_copy(&tree);
    apply_seed_patch(tmp.path());

    let core = read(&tmp.path().join("kernel/futex/core.c"));
    assert!(core.contains("static bool futex_cleanup_begin(struct task_struct *tsk, bool try)"));
    assert!(core.contains("if (!mutex_trylock(&tsk->futex_exit_mutex))"));
    assert!(core.contains("bool try_futex_exit_release(struct task_struct *tsk)"));
    assert!(!core.contains("futex_cleanup_begin(tsk);"), "a caller was not converted");
    let header = read(&tmp.path().join("include/linux/futex.h"));
    assert_eq!(header.matches("try_futex_exit_release").count(), 2, "declaration + stub");
    let oom = read(&tmp.path().join("mm/oom_kill.c"));
    let body_start = oom.find("static bool oom_reap_task_mm(").expect("oom_reap_task_mm in mm/oom_kill.c");
    let body = &oom[body_start..];
    let trylock = body.find("mmap_read_trylock(mm)").expect("trylock in oom_reap_task_mm");
    let call = body.find("try_futex_exit_release(tsk)").expect("call in oom_reap_task_mm");
    let unlock = body.find("mmap_read_unlock(mm)").expect("unlock in oom_reap_task_mm");
    assert!(trylock < call && call < unlock, "call must sit under mmap_read_trylock");
}

#[test]
fn seed_patch_reports_fault_and_conditional_locking() {
    let Some(tree) = kernel_tree() else { return };
    let tmp = seed_copy(&tree);
    apply_seed_patch(tmp.path());
    let (run, report) = check_seed_files(tmp.path());
    let all = findings(&report);

    let faults: Vec<&Value> = all.iter().filter(|f| is_oom_reaper_fault(f)).collect();
    assert!(
        !faults.is_empty(),
        "no fault-under-lock finding in oom_reap_task_mm (mm/oom_kill.c); all findings:\n{}",
        dump_findings(all)
    );
    let with_lock: Vec<&Value> =
        faults.iter().copied().filter(|f| str_field(f, "lock") == "mm_struct::mmap_lock").collect();
    assert!(
        !with_lock.is_empty(),
        "fault-under-lock in oom_reap_task_mm, but none names lock mm_struct::mmap_lock:\n{}",
        dump_findings(faults.iter().copied())
    );
    assert!(
        with_lock.iter().any(|f| trace_has_seed_chain(f)),
        "no mmap_lock fault-under-lock trace in oom_reap_task_mm contains the chain {}:\n{}",
        SEED_CHAIN.join(" → "),
        dump_findings(with_lock.iter().copied())
    );

    assert!(
        all.iter().any(is_futex_conditional_locking),
        "no conditional-locking finding in futex_cleanup_begin; all findings:\n{}",
        dump_findings(all)
    );

    assert_eq!(
        run.status.code(),
        Some(1),
        "{} has findings, so it must exit 1 (got {})",
        run.what,
        describe_status(&run.status)
    );
}

#[test]
fn seed_unmodified_reports_neither() {
    let Some(tree) = kernel_tree() else { return };
    let tmp = seed_copy(&tree);
    let (_run, report) = check_seed_files(tmp.path());
    let all = findings(&report);

    let faults: Vec<&Value> = all.iter().filter(|f| is_oom_reaper_fault(f)).collect();
    assert!(
        faults.is_empty(),
        "unpatched oom_reap_task_mm must not have a fault-under-lock finding:\n{}",
        dump_findings(faults)
    );
    let cond: Vec<&Value> = all.iter().filter(|f| is_futex_conditional_locking(f)).collect();
    assert!(
        cond.is_empty(),
        "unpatched futex_cleanup_begin must not have a conditional-locking finding:\n{}",
        dump_findings(cond)
    );
}

/// One file of the unmodified tree, with tree context on (lockpath looks at
/// the rest of the tree for callees/headers): it must run and report.
#[test]
fn seed_with_tree_context() {
    let Some(tree) = kernel_tree() else { return };
    let run = run_lockpath(
        &tree,
        &os_args(["check".into(), "--format".into(), "json".into(), tree.join("mm/oom_kill.c").into_os_string()]),
    );
    assert_clean_exit(&run);
    let report = parse_report(&run);
    assert!(report.get("summary").is_some());
}

/// The whole of mm/ and kernel/: no panic, no crash, a well-formed report.
#[test]
fn mm_and_kernel_no_panic() {
    let Some(tree) = kernel_tree() else { return };
    let started = Instant::now();
    let run = run_lockpath(
        &tree,
        &os_args([
            "check".into(),
            "--format".into(),
            "json".into(),
            tree.join("mm").into_os_string(),
            tree.join("kernel").into_os_string(),
        ]),
    );
    let elapsed = started.elapsed();
    assert_clean_exit(&run);
    let report = parse_report(&run);

    let counts = check_counts(&report);
    let total: usize = counts.values().sum();
    let mut line =
        format!("LOCKPATH: mm/ + kernel/ of {}: {total} findings in {:.1}s", tree.display(), elapsed.as_secs_f64());
    for (check, n) in &counts {
        line.push_str(&format!(", {check}: {n}"));
    }
    // Straight to fd 2, so it shows without --nocapture.
    let _ = writeln!(std::io::stderr(), "{line}");
    let _ = writeln!(
        std::io::stderr(),
        "LOCKPATH: summary: {}",
        report.get("summary").map(Value::to_string).unwrap_or_default()
    );
}

/// The correct kernel idioms the checks issue names must stay silent on the
/// real tree, while real bugs analysed in the same run are still reported (so
/// silence is not an empty report): `tpm_common_read()` waits for a work item
/// under the mutex its handler takes, and microblaze's `store_updates_sp()`
/// reads the faulting instruction with `get_user()` under `mmap_lock`.
#[test]
fn kernel_idioms_stay_silent() {
    const IDIOM_PATHS: &[&str] = &[
        "kernel/futex",
        "mm/userfaultfd.c",
        "mm/process_vm_access.c",
        "fs/aio.c",
        "io_uring",
        "drivers/tee/optee",
        "drivers/video/fbdev/core",
    ];
    const IDIOMS: &[&str] = &[
        "futex_get_value_locked",
        "mfill_atomic_pte_copy",
        "process_vm_rw_single_vec",
        "fault_in_user_writeable",
        "aio_migrate_folio",
        "__io_uring_show_fdinfo",
        "optee_notif_wait",
        "lock_fb_info",
        "unlock_fb_info",
    ];
    let Some(tree) = kernel_tree() else { return };
    let mut args = os_args(["check", "--format", "json"]);
    for p in IDIOM_PATHS.iter().chain(&["drivers/char/tpm", "arch/microblaze/mm"]) {
        args.push(tree.join(p).into_os_string());
    }
    let run = run_lockpath(&tree, &args);
    assert_clean_exit(&run);
    let report = parse_report(&run);
    let touches_idiom = |f: &Value| {
        let hops = f.get("trace").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        std::iter::once(str_field(f, "function"))
            .chain(hops.iter().map(|h| str_field(h, "function")))
            .any(|func| IDIOMS.contains(&func))
    };
    let noisy: Vec<&Value> = findings(&report).iter().filter(|f| touches_idiom(f)).collect();
    assert!(noisy.is_empty(), "findings in or through correct idioms:\n{}", dump_findings(noisy));
    let reported = |check: &str, func: &str| {
        findings(&report).iter().any(|f| str_field(f, "check") == check && str_field(f, "function") == func)
    };
    assert!(
        reported("lock-order-cycle", "tpm_common_read") && reported("fault-under-lock", "do_page_fault"),
        "the real bugs in the same run are missing:\n{}",
        dump_findings(findings(&report))
    );
}

// ---------------------------------------------------------------------------
// Self-tests of the helpers (no tree needed)
// ---------------------------------------------------------------------------

#[test]
fn seed_chain_matcher() {
    let hop = |f: &str, note: &str| serde_json::json!({"file": "x.c", "line": 1, "function": f, "note": note});
    let finding = |hops: Vec<Value>| serde_json::json!({"trace": hops});

    let full = finding(
        [
            "oom_reap_task_mm",
            "try_futex_exit_release",
            "futex_cleanup",
            "exit_robust_list",
            "fetch_robust_entry",
            "get_user",
        ]
        .iter()
        .map(|f| hop(f, ""))
        .collect(),
    );
    assert!(trace_has_seed_chain(&full));

    let in_note = finding(vec![
        hop("oom_reap_task_mm", "mmap_read_trylock(mm)"),
        hop("try_futex_exit_release", ""),
        hop("kthread_use_mm", ""),
        hop("futex_cleanup", ""),
        hop("exit_robust_list", ""),
        hop("fetch_robust_entry", "get_user() may fault"),
    ]);
    assert!(trace_has_seed_chain(&in_note));

    let short = finding(vec![
        hop("oom_reap_task_mm", ""),
        hop("try_futex_exit_release", ""),
        hop("futex_cleanup", ""),
        hop("exit_robust_list", "get_user"),
    ]);
    assert!(!trace_has_seed_chain(&short));

    let out_of_order = finding(vec![
        hop("try_futex_exit_release", ""),
        hop("oom_reap_task_mm", ""),
        hop("futex_cleanup", ""),
        hop("exit_robust_list", ""),
        hop("fetch_robust_entry", ""),
        hop("get_user", ""),
    ]);
    assert!(!trace_has_seed_chain(&out_of_order));

    assert!(!trace_has_seed_chain(&serde_json::json!({})));
}
