//! The command line as a user meets it: bad input of every kind (each
//! reported once, on one stderr line naming the file, while the rest of the
//! run goes on), the basic commands and flags, and output that does not
//! depend on the number of worker threads.
//!
//! Every run that analyses code passes a tiny `--model` written next to the
//! sources, so these tests do not depend on the built-in tables in queries/.

use std::path::{Path, PathBuf};
use std::process::Command;

const LOCKPATH: &str = env!("CARGO_BIN_EXE_lockpath");

/// Just enough vocabulary for the snippets below (format: queries/README.md).
const MODEL: &str = "\
mmap_read_lock acquire arg=0 mode=shared kind=rw_semaphore class=mm_struct::mmap_lock
mmap_read_unlock release arg=0 class=mm_struct::mmap_lock
copy_to_user fault
fault-takes mm_struct::mmap_lock shared
mutex_lock acquire arg=0 mode=exclusive kind=mutex
mutex_unlock release arg=0
";

/// A real fault-under-lock: `copy_to_user` (line 5) under `mmap_read_lock`.
const GOOD_C: &str = "\
struct mm_struct { struct rw_semaphore mmap_lock; };
static int bad(struct mm_struct *mm, void __user *p, int v)
{
\tmmap_read_lock(mm);
\tif (copy_to_user(p, &v, sizeof(v))) { mmap_read_unlock(mm); return -EFAULT; }
\tmmap_read_unlock(mm);
\treturn 0;
}
";
const GOOD_LINE: u64 = 5;

/// `GOOD_C` with a Latin-1 comment (`café naïve`, bytes 0xE9 and 0xEF) on a
/// line of its own, so the finding moves to line 6, column 6.
fn latin1_c() -> Vec<u8> {
    let mut out = b"struct mm_struct { struct rw_semaphore mmap_lock; };\n/* caf\xe9 na\xefve */\n".to_vec();
    out.extend(GOOD_C.lines().skip(1).flat_map(|l| l.bytes().chain([b'\n'])));
    out
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Runs lockpath in `dir` (the package root when `None`) with `args` and
/// extra environment; returns (exit code, stdout, stderr).
fn lockpath(dir: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    run(Command::new(LOCKPATH), dir, args, env)
}

fn run(mut cmd: Command, dir: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    cmd.args(args).current_dir(dir.unwrap_or(Path::new(env!("CARGO_MANIFEST_DIR"))));
    // The tests decide about colour themselves.
    cmd.env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("lockpath can be started");
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    (out.status.code(), stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A temporary directory holding `lock.model` and `good.c`.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "lock.model", MODEL.as_bytes());
    write(dir.path(), "good.c", GOOD_C.as_bytes());
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

/// `check --model lock.model --format json <paths>` in `dir`.
fn check_json(dir: &Path, extra: &[&str], paths: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["check", "--model", "lock.model", "--format", "json"];
    args.extend(extra);
    args.extend(paths);
    lockpath(Some(dir), &args, &[])
}

fn assert_no_panic(code: Option<i32>, stderr: &str) {
    assert!(matches!(code, Some(0..=2)), "exit {code:?} (killed or crashed?)\nstderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "lockpath panicked:\n{stderr}");
    assert!(!stderr.contains("overflow"), "lockpath overflowed:\n{stderr}");
}

/// stderr is exactly one line, `lockpath: <file>: ...`, containing `what`.
fn assert_one_line_about(stderr: &str, file: &str, what: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "want exactly one stderr line about {file}, got:\n{stderr}");
    let prefix = format!("lockpath: {file}: ");
    assert!(lines[0].starts_with(&prefix), "stderr line does not name {file}: {:?}", lines[0]);
    assert!(lines[0].contains(what), "stderr line about {file} does not say {what:?}: {:?}", lines[0]);
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"))
}

/// The findings of `check` at `file:line`, as (check, column, function).
fn findings_at(report: &serde_json::Value, file: &str, line: u64) -> Vec<(String, u64, String)> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["file"] == file && f["line"].as_u64() == Some(line))
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
            (s("check"), f["column"].as_u64().unwrap_or(0), s("function"))
        })
        .collect()
}

/// The run went on: the finding in `good.c` is still reported.
fn assert_good_finding(stdout: &str) {
    let report = json(stdout);
    let got = findings_at(&report, "good.c", GOOD_LINE);
    assert!(
        got.iter().any(|(check, _, func)| check == "fault-under-lock" && func == "bad"),
        "the good.c finding is missing:\n{stdout}"
    );
}

/// One bad file next to good.c: no panic, one line naming it, and good.c
/// still analysed.
fn bad_file_next_to_good(dir: &Path, name: &str, what: &str) {
    let (code, stdout, stderr) = check_json(dir, &[], &[name, "good.c"]);
    assert_no_panic(code, &stderr);
    assert_eq!(code, Some(1), "good.c has an error finding\nstderr:\n{stderr}");
    assert_one_line_about(&stderr, name, what);
    assert_good_finding(&stdout);
}

// ---------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------

#[test]
fn empty_file_is_noted_and_the_run_goes_on() {
    let dir = workspace();
    write(dir.path(), "empty.c", b"");
    bad_file_next_to_good(dir.path(), "empty.c", "empty");
}

#[test]
fn binary_file_is_skipped_and_the_run_goes_on() {
    let dir = workspace();
    // Deterministic junk: an LCG's bytes, with NULs sprinkled through.
    let mut x: u32 = 0x1234_5678;
    let bytes: Vec<u8> = (0..16384)
        .map(|i| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            if i % 97 == 0 {
                0
            } else {
                (x >> 24) as u8
            }
        })
        .collect();
    write(dir.path(), "x.c", &bytes);
    bad_file_next_to_good(dir.path(), "x.c", "binary");
    let (_, stdout, _) = check_json(dir.path(), &[], &["x.c", "good.c"]);
    assert_eq!(json(&stdout)["summary"]["skipped_files"], 1);
}

#[test]
fn non_utf8_file_is_analysed_and_its_bug_found() {
    let dir = workspace();
    write(dir.path(), "latin1.c", &latin1_c());
    bad_file_next_to_good(dir.path(), "latin1.c", "UTF-8");
    let (_, stdout, _) = check_json(dir.path(), &[], &["latin1.c", "good.c"]);
    let report = json(&stdout);
    let got = findings_at(&report, "latin1.c", 6);
    assert_eq!(got, vec![("fault-under-lock".to_string(), 6, "bad".to_string())], "latin1.c:\n{stdout}");
}

#[test]
fn non_utf8_file_human_report_points_at_the_call() {
    // JSON says latin1.c:6:6 (the copy_to_user call); the human report must
    // say the same, and underline that call.
    let dir = workspace();
    write(dir.path(), "latin1.c", &latin1_c());
    let (code, stdout, stderr) =
        lockpath(Some(dir.path()), &["check", "--model", "lock.model", "--color", "never", "latin1.c"], &[]);
    assert_no_panic(code, &stderr);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("latin1.c:6:6"), "human report points elsewhere than latin1.c:6:6:\n{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let call = lines.iter().position(|l| l.contains("if (copy_to_user")).expect("the call's line is shown");
    let marks = lines.get(call + 1).copied().unwrap_or("");
    let col = |s: &str, pat: &str| s.find(pat);
    assert_eq!(
        col(marks, "^^^^^^^^^^^^ "),
        col(lines[call], "copy_to_user"),
        "the primary label does not underline copy_to_user:\n{stdout}"
    );
}

/// 20 MB of small functions, then good.c's bug at the end.
fn big_c() -> String {
    let mut s = String::with_capacity(20_100_000);
    s.push_str("struct mm_struct { struct rw_semaphore mmap_lock; };\n");
    let mut i = 0u32;
    while s.len() < 20_000_000 {
        s.push_str(&format!(
            "static int f{i}(int *p)\n{{\n\tint v = *p + {i};\n\tif (v > 3)\n\t\treturn v;\n\treturn 0;\n}}\n"
        ));
        i += 1;
    }
    s
}

#[test]
fn file_over_the_size_limit_is_skipped_unless_the_limit_is_raised() {
    let dir = workspace();
    write(dir.path(), "big.c", big_c().as_bytes());
    bad_file_next_to_good(dir.path(), "big.c", "over the 16 MiB limit");

    let (code, stdout, stderr) = check_json(dir.path(), &["--max-file-size", "64"], &["big.c", "good.c"]);
    assert_no_panic(code, &stderr);
    assert_eq!(code, Some(1), "stderr:\n{stderr}");
    assert!(!stderr.contains("big.c"), "big.c is within 64 MiB, yet:\n{stderr}");
    assert_good_finding(&stdout);
    let summary = &json(&stdout)["summary"];
    assert_eq!(summary["files"], 2, "{summary}");
    assert_eq!(summary["skipped_files"], 0, "{summary}");
    assert!(summary["functions"].as_u64().unwrap_or(0) > 180_000, "big.c's functions were not all indexed: {summary}");
}

#[test]
fn deeply_nested_blocks_do_not_overflow_the_stack() {
    let dir = workspace();
    let n = 10_000;
    let blocks = format!("void deep(void)\n{{\n{}{}\n}}\n", "{".repeat(n), "}".repeat(n));
    write(dir.path(), "blocks.c", blocks.as_bytes());
    bad_file_next_to_good(dir.path(), "blocks.c", "nested");
}

#[test]
fn deeply_nested_ifs_do_not_overflow_the_stack() {
    let dir = workspace();
    let n = 10_000;
    let ifs = format!("void deep(int x)\n{{\n{}{}}}\n", "if (x) {\n".repeat(n), "}\n".repeat(n));
    write(dir.path(), "ifs.c", ifs.as_bytes());
    bad_file_next_to_good(dir.path(), "ifs.c", "nested");
}

#[test]
fn dangling_symlink_is_reported_and_the_run_goes_on() {
    let dir = workspace();
    std::os::unix::fs::symlink("/nonexistent", dir.path().join("gone.c")).expect("symlink");
    bad_file_next_to_good(dir.path(), "gone.c", "cannot read");
}

#[test]
fn unreadable_file_is_reported_and_the_run_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let dir = workspace();
    let secret = write(dir.path(), "secret.c", GOOD_C.as_bytes());
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).expect("chmod 000");
    let uid = Command::new("id").arg("-u").output().ok().and_then(|o| String::from_utf8(o.stdout).ok());
    let root = uid.as_deref().map(str::trim) == Some("0");
    let args = ["check", "--no-cache", "--model", "lock.model", "--format", "json", "secret.c", "good.c"];
    let (code, stdout, stderr) = if !root {
        lockpath(Some(dir.path()), &args, &[])
    } else if Path::new("/usr/bin/setpriv").exists() {
        // Root reads anything: drop to nobody, who may enter the directory
        // and read good.c and the model but not secret.c.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod 755");
        let mut cmd = Command::new("/usr/bin/setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", LOCKPATH]);
        run(cmd, Some(dir.path()), &args, &[])
    } else {
        eprintln!("SKIPPED unreadable_file_is_reported_and_the_run_goes_on: running as root without setpriv");
        return;
    };
    assert_no_panic(code, &stderr);
    assert_eq!(code, Some(1), "stderr:\n{stderr}");
    assert_one_line_about(&stderr, "secret.c", "cannot read");
    assert_good_finding(&stdout);
}

#[test]
fn missing_path_exits_2_after_analysing_the_others() {
    let dir = workspace();
    let (code, stdout, stderr) = check_json(dir.path(), &[], &["nothere.c", "good.c"]);
    assert_no_panic(code, &stderr);
    assert_eq!(code, Some(2), "a missing path is exit 2\nstderr:\n{stderr}");
    assert_one_line_about(&stderr, "nothere.c", "no such file");
    assert_good_finding(&stdout);
}

#[test]
fn quiet_keeps_only_the_missing_path_line() {
    // `-q` drops per-file notes but must still say which path is missing;
    // `mm` (missing) must not drag in `mm.c`'s note by prefix.
    let dir = workspace();
    write(dir.path(), "mm.c", b"");
    let (code, stdout, stderr) = check_json(dir.path(), &["-q"], &["mm", "mm.c", "good.c"]);
    assert_no_panic(code, &stderr);
    assert_eq!(code, Some(2), "stderr:\n{stderr}");
    assert_eq!(stderr, "lockpath: mm: no such file or directory\n");
    assert_good_finding(&stdout);
}

#[test]
fn only_bad_inputs_exit_2() {
    let dir = workspace();
    write(dir.path(), "x.c", b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0");
    std::os::unix::fs::symlink("/nonexistent", dir.path().join("gone.c")).expect("symlink");
    for paths in [&["x.c"][..], &["gone.c"], &["nothere.c"], &["x.c", "gone.c", "nothere.c"]] {
        let (code, stdout, stderr) = check_json(dir.path(), &[], paths);
        assert_no_panic(code, &stderr);
        assert_eq!(code, Some(2), "{paths:?}: nothing usable is exit 2\nstderr:\n{stderr}");
        assert_eq!(stderr.lines().count(), paths.len(), "{paths:?}: one line per bad path:\n{stderr}");
        for p in paths {
            assert!(stderr.contains(&format!("lockpath: {p}: ")), "{paths:?}: {p} not named:\n{stderr}");
        }
        assert_eq!(json(&stdout)["summary"]["files"], 0, "{paths:?}");
    }
}

// ---------------------------------------------------------------------------
// Commands and flags
// ---------------------------------------------------------------------------

#[test]
fn help_names_check_and_shows_an_example() {
    let (code, stdout, stderr) = lockpath(None, &["--help"], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("check"), "{stdout}");
    assert!(stdout.contains("Examples:") && stdout.contains("lockpath check "), "no example in --help:\n{stdout}");
    assert!(stdout.contains("Exit status"), "exit statuses undocumented in --help:\n{stdout}");
}

#[test]
fn version_is_printed() {
    let (code, stdout, _) = lockpath(None, &["--version"], &[]);
    assert_eq!(code, Some(0));
    assert_eq!(stdout.trim_end(), "lockpath 0.1.0");
}

#[test]
fn explain_prints_the_check_doc() {
    let (code, stdout, stderr) = lockpath(None, &["explain", "fault-under-lock"], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("## What it catches"), "{stdout}");
    assert!(stdout.contains("## Why it deadlocks"), "{stdout}");
}

#[test]
fn explain_unknown_check_exits_2() {
    let (code, stdout, stderr) = lockpath(None, &["explain", "no-such-check"], &[]);
    assert_eq!(code, Some(2), "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no-such-check") && stderr.contains("fault-under-lock"), "{stderr}");
}

#[test]
fn explain_lists_every_check() {
    let (code, stdout, stderr) = lockpath(None, &["explain"], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    for check in ["fault-under-lock", "double-lock", "conditional-locking"] {
        assert!(stdout.lines().any(|l| l.starts_with(check)), "{check} is not listed:\n{stdout}");
    }
}

fn has_esc(s: &str) -> bool {
    s.contains('\x1b')
}

#[test]
fn colour_follows_flag_and_pipe() {
    let dir = workspace();
    let human = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["check", "--model", "lock.model"];
        args.extend(extra);
        args.push("good.c");
        let (code, stdout, stderr) = lockpath(Some(dir.path()), &args, env);
        assert_eq!(code, Some(1), "{stdout}\n{stderr}");
        assert!(stdout.contains("fault-under-lock"), "{stdout}");
        stdout
    };
    assert!(!has_esc(&human(&[], &[])), "piped stdout is coloured");
    assert!(!has_esc(&human(&[], &[("NO_COLOR", "1")])), "NO_COLOR=1 output is coloured");
    assert!(!has_esc(&human(&["--color", "never"], &[("TERM", "xterm-256color")])), "--color never is coloured");
    assert!(has_esc(&human(&["--color", "always"], &[])), "--color always is not coloured");
}

/// Runs `sh -c script` on a pseudo-terminal with script(1), if there is one.
fn on_a_tty(dir: &Path, command: &str) -> Option<String> {
    let script = ["/usr/bin/script", "/bin/script"].into_iter().find(|p| Path::new(p).exists())?;
    let out = Command::new(script)
        .args(["-qec", command, "/dev/null"])
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn no_color_is_honoured_on_a_terminal() {
    let dir = workspace();
    let cmd = format!("'{LOCKPATH}' check --model lock.model good.c");
    let Some(plain_tty) = on_a_tty(dir.path(), &cmd) else {
        eprintln!("SKIPPED no_color_is_honoured_on_a_terminal: script(1) not found");
        return;
    };
    assert!(plain_tty.contains("fault-under-lock"), "{plain_tty}");
    assert!(has_esc(&plain_tty), "a terminal gets no colour by default:\n{plain_tty}");
    let no_color = on_a_tty(dir.path(), &format!("NO_COLOR=1 {cmd}")).unwrap_or_default();
    assert!(no_color.contains("fault-under-lock"), "{no_color}");
    assert!(!has_esc(&no_color), "NO_COLOR=1 on a terminal is still coloured");
}

#[test]
fn json_summary_counts_files_functions_errors_warnings() {
    let dir = workspace();
    write(
        dir.path(),
        "clean.c",
        b"static int two(void)\n{\n\treturn 2;\n}\nstatic int three(void)\n{\n\treturn 3;\n}\n",
    );
    let (code, stdout, stderr) = check_json(dir.path(), &[], &["good.c", "clean.c"]);
    assert_eq!(code, Some(1), "{stderr}");
    let report = json(&stdout);
    let summary = &report["summary"];
    assert_eq!(summary["files"], 2, "{summary}");
    assert_eq!(summary["functions"], 3, "{summary}");
    assert_eq!(summary["errors"], 1, "{summary}");
    assert_eq!(summary["warnings"], 0, "{summary}");
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(1), "{stdout}");

    let (code, stdout, stderr) = check_json(dir.path(), &[], &["clean.c"]);
    assert_eq!(code, Some(0), "no errors is exit 0\n{stderr}");
    assert_eq!(json(&stdout)["summary"]["errors"], 0);
}

// ---------------------------------------------------------------------------
// Determinism
// ---------------------------------------------------------------------------

/// Many small files with findings of every check, so that a thread-count
/// dependent order would show.
fn corpus(dir: &Path) {
    for i in 0..40 {
        let text = format!(
            "struct mm_struct {{ struct rw_semaphore mmap_lock; }};\n\
             struct foo{i} {{ struct mutex lock; int n; }};\n\
             static int fault{i}(struct mm_struct *mm, void __user *p, int v)\n{{\n\
             \tmmap_read_lock(mm);\n\tif (copy_to_user(p, &v, sizeof(v))) {{ mmap_read_unlock(mm); return -EFAULT; }}\n\
             \tmmap_read_unlock(mm);\n\treturn 0;\n}}\n\
             static void twice{i}(struct foo{i} *f)\n{{\n\tmutex_lock(&f->lock);\n\tmutex_lock(&f->lock);\n\
             \tf->n++;\n\tmutex_unlock(&f->lock);\n\tmutex_unlock(&f->lock);\n}}\n\
             static void maybe{i}(struct foo{i} *f, bool take)\n{{\n\tif (take)\n\t\tmutex_lock(&f->lock);\n\tf->n++;\n}}\n"
        );
        write(dir, &format!("gen{:02}.c", (i * 7) % 40), text.as_bytes());
    }
}

#[test]
fn output_is_identical_for_any_thread_count() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    assert!(fixtures.is_dir(), "{} is missing", fixtures.display());
    let gen = tempfile::tempdir().expect("tempdir");
    corpus(gen.path());
    let model = write(gen.path(), "lock.model", MODEL.as_bytes());
    let (model, gen_dir) = (model.to_string_lossy().into_owned(), gen.path().to_string_lossy().into_owned());
    for format in [&["--format", "json"][..], &["--format", "human", "--color", "never"]] {
        let outputs: Vec<(Option<i32>, String)> = ["1", "2", "4"]
            .iter()
            .map(|j| {
                let mut args = vec!["check", "--model", &model, "-j", j];
                args.extend(format);
                args.extend(["fixtures", &gen_dir]);
                let (code, stdout, stderr) = lockpath(None, &args, &[]);
                assert_no_panic(code, &stderr);
                (code, stdout)
            })
            .collect();
        let (code, first) = &outputs[0];
        assert_eq!(*code, Some(1), "{format:?}: the corpus has errors");
        assert!(first.matches("double-lock").count() >= 40, "{format:?}: corpus findings missing:\n{first}");
        for (j, (c, out)) in ["2", "4"].iter().zip(&outputs[1..]) {
            assert_eq!(c, code, "{format:?}: exit status differs with -j {j}");
            assert!(out == first, "{format:?}: output with -j {j} differs from -j 1");
        }
    }
}

/// A big run on a terminal shows progress on stderr; `--quiet`, or stderr
/// not being a terminal, hides it.
#[test]
fn progress_bar_only_on_a_terminal_and_not_quiet() {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..1100 {
        write(dir.path(), &format!("f{i}.c"), b"static int f(void) { return 0; }\n");
    }
    let cmd = format!("'{LOCKPATH}' check . 2>&1 >/dev/null");
    let Some(tty) = on_a_tty(dir.path(), &cmd) else {
        eprintln!("SKIPPED progress_bar_only_on_a_terminal_and_not_quiet: script(1) not found");
        return;
    };
    assert!(tty.contains("files ("), "no progress on a terminal:\n{tty}");
    let quiet = on_a_tty(dir.path(), &format!("'{LOCKPATH}' check -q . 2>&1 >/dev/null")).unwrap_or_default();
    assert!(!quiet.contains("files ("), "progress despite --quiet:\n{quiet}");
    let piped = Command::new(LOCKPATH).args(["check", "."]).current_dir(dir.path()).output().expect("run lockpath");
    assert!(!String::from_utf8_lossy(&piped.stderr).contains("files ("), "progress on a pipe");
}
