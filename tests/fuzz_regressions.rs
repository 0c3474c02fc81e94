//! Inputs that fuzzing found lockpath slow or wrong on (docs/fuzzing.md),
//! each run through the real binary. The inputs are generated here rather
//! than stored: each is a construct repeated, and the count is what matters.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LOCKPATH: &str = env!("CARGO_BIN_EXE_lockpath");

/// Enough vocabulary for the inputs below (format: queries/README.md).
const MODEL: &str = "\
spin_lock acquire arg=0 mode=exclusive kind=spinlock
spin_unlock release arg=0
";

/// Runs lockpath on `source` (written as `input.c` with the model above)
/// and returns (exit code, stdout); fails the test if the run takes longer
/// than `limit`, killing it.
fn run_within(source: &str, args: &[&str], limit: Duration) -> (Option<i32>, String) {
    run_within_model(source, MODEL, args, limit)
}

/// `run_within` with another model.
fn run_within_model(source: impl AsRef<[u8]>, model: &str, args: &[&str], limit: Duration) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    };
    write("lock.model", model.as_bytes());
    write("input.c", source.as_ref());
    let mut child = Command::new(LOCKPATH)
        .args(["check", "--no-tree-context", "--color", "never", "--model", "lock.model"])
        .args(args)
        .arg("input.c")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("lockpath can be started");
    // Read stdout on a thread so a large report cannot block the child.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for lockpath") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("lockpath took over {} s on {}", limit.as_secs(), dir.path().display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().expect("stdout reader");
    (status.code(), String::from_utf8(out).expect("stdout is UTF-8"))
}

/// A thousand findings on one long line (the fuzzer's timeout and slow
/// unit: `x ? mutex_lock(&m) : x ? ...` and `(spin_lock(&a), ...)`). Each
/// snippet printed the whole line, so the report grew with findings × line
/// length: 30 MB here, and over 10 s in the fuzz build. Lines over 1 KiB
/// are no longer shown; a note gives the place instead.
#[test]
fn many_findings_on_one_long_line_are_reported_without_the_line() {
    let n = 1000;
    let sources = [
        format!("int f(int x)\n{{\n\treturn ({});\n}}\n", vec!["spin_lock(&a)"; n].join(", ")),
        format!("int f(int x)\n{{\n\treturn {}0;\n}}\n", "x ? spin_lock(&a) : ".repeat(n)),
    ];
    for source in &sources {
        let (code, stdout) = run_within(source, &[], Duration::from_secs(60));
        assert_eq!(code, Some(1), "errors found");
        let reported = stdout.lines().filter(|l| l.starts_with("error[double-lock]")).count();
        let noted = stdout.lines().filter(|l| l.ends_with("(source line too long to show)")).count();
        assert!(reported > 0 && noted == reported, "{reported} findings, {noted} with the note");
        assert!(stdout.len() < 1 << 20, "the report stays small: {} bytes", stdout.len());
        assert!(stdout.contains(" = at input.c:3:"), "the note names the place");
    }
}

/// A chain of function-like macros, each calling the next and then taking
/// the lock: every macro but the last double-locks, and the witness path
/// of each walks the whole chain below it.
///
/// FIXME: the path is not bounded by `MAX_WITNESS_DEPTH` (8) the way fault,
/// sleep and acquisition effects are: a lock held on return carries its
/// chain up any number of calls, so the report grows with the square of
/// the chain's length (4,000 macros: 15 s, 1,000: 75 MB of JSON). This
/// asserts today's length; when held-on-return chains are capped, the
/// longest path here should be 8 or 9 hops.
#[test]
fn a_lock_held_on_return_carries_its_path_up_a_macro_chain() {
    let n = 30;
    let source: String = (0..n).map(|i| format!("#define M{i}(x) M{}(x); spin_lock(&a)\n", i + 1)).collect();
    let (code, stdout) = run_within(&source, &["--format", "json"], Duration::from_secs(60));
    assert_eq!(code, Some(1), "errors found");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json output");
    let findings = report["findings"].as_array().expect("findings array");
    assert_eq!(findings.len(), n - 1);
    let longest = findings.iter().filter_map(|f| f["trace"].as_array()).map(Vec::len).max();
    assert_eq!(longest, Some(n + 1), "today: the path of M0 names every macro below it");
    // The report stays usable: the finding names the macro it is in.
    assert!(findings.iter().any(|f| f["function"] == "M0"));
}

/// The fuzzer's timeout (docs/fuzzing.md): a mutated call chain, some
/// functions defined twice and one broken line closing a cycle of about
/// 220 of them, with a helper that returns holding a mutex. Every call in
/// the cycle added one more copy of the held mutex to the caller's state,
/// round after round: minutes and all memory. A state now keeps at most a
/// few copies of one lock instance (and lockdep's 48 locks in all).
#[test]
fn a_recursive_cycle_of_helpers_returning_locked_stays_bounded() {
    // Not UTF-8: the mutations left stray bytes.
    let source = include_bytes!("fuzz/call-chain-cycle.c");
    let model = "mutex_lock acquire arg=0 mode=exclusive kind=mutex\nmutex_unlock release arg=0\n";
    let (code, _) = run_within_model(source, model, &["--format", "json"], Duration::from_secs(60));
    assert!(matches!(code, Some(0 | 1)), "a clean exit, got {code:?}");
}
