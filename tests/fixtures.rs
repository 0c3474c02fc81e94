//! Runs every fixture under `fixtures/<check>/` through the real binary and
//! compares its findings with the `expect:` marks written in the fixture,
//! next to the line they concern. A missing or an extra finding fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const CHECKS: &[&str] = &[
    "fault-under-lock",
    "double-lock",
    "conditional-locking",
    "lock-order-cycle",
    "sleep-in-atomic",
    "lock-imbalance",
    "irq-unsafe-lock",
];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// (file, line, check) → count for a case: a `.c` file, or a directory of
/// files checked together (a bug that spans files).
fn expected_case(case: &Path) -> BTreeMap<(String, u32, String), u32> {
    let files: Vec<PathBuf> = if case.is_dir() {
        // Subdirectories lay a case out like a kernel tree (`arch/arm/...`).
        let mut v = Vec::new();
        let mut dirs = vec![case.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for path in std::fs::read_dir(&dir).expect("case dir").flatten().map(|e| e.path()) {
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    v.push(path);
                }
            }
        }
        v.sort();
        v
    } else {
        vec![case.to_path_buf()]
    };
    let mut out = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("fixture is readable");
        let name = file_name(&file);
        for ((line, check), n) in expected(&text) {
            *out.entry((name.clone(), line, check)).or_insert(0) += n;
        }
    }
    out
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
}

/// (line, check) → count, from `/* expect: check [check ...] */` marks.
fn expected(text: &str) -> BTreeMap<(u32, String), u32> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let Some(pos) = line.find("expect:") else {
            continue;
        };
        let rest = &line[pos + "expect:".len()..];
        let rest = rest.split("*/").next().unwrap_or(rest);
        for check in rest.split([' ', ',', '\t']).filter(|s| !s.is_empty()) {
            *out.entry((i as u32 + 1, check.to_string())).or_insert(0) += 1;
        }
    }
    out
}

/// A directory case is checked from inside, as a kernel tree is: its paths
/// (`arch/arm/kernel/smp.c`) are what lockpath sees.
pub fn run_lockpath(args: &[&str], path: &Path) -> serde_json::Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lockpath"));
    cmd.args(args);
    if path.is_dir() {
        cmd.current_dir(path).arg(".");
    } else {
        cmd.arg(path);
    }
    let out = cmd.output().expect("lockpath runs");
    let code = out.status.code();
    assert!(matches!(code, Some(0 | 1)), "{}: exit {code:?}\n{}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{}: bad JSON: {e}", path.display()))
}

fn actual(report: &serde_json::Value) -> BTreeMap<(String, u32, String), u32> {
    let mut out = BTreeMap::new();
    for f in report["findings"].as_array().into_iter().flatten() {
        let file = file_name(Path::new(f["file"].as_str().unwrap_or("?")));
        let line = f["line"].as_u64().unwrap_or(0) as u32;
        let check = f["check"].as_str().unwrap_or("?").to_string();
        *out.entry((file, line, check)).or_insert(0) += 1;
    }
    out
}

fn cases(check: &str) -> Vec<PathBuf> {
    let dir = fixtures_dir().join(check);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "c"))
        .collect();
    out.sort();
    out
}

#[test]
fn every_fixture_gets_exactly_its_expected_findings() {
    let mut failures = Vec::new();
    let mut total = 0;
    for check in CHECKS {
        let files = cases(check);
        let fires =
            files.iter().filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("fires_"))).count();
        let silent =
            files.iter().filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("silent_"))).count();
        assert!(
            fires >= 6 && silent >= 6,
            "{check}: needs at least 6 firing and 6 silent fixtures, has {fires} and {silent}"
        );
        for path in files {
            total += 1;
            let want = expected_case(&path);
            let name = file_name(&path);
            if name.starts_with("fires_") && !want.keys().any(|(_, _, c)| c == check) {
                failures.push(format!("{check}/{name}: a firing fixture has no `expect: {check}` mark"));
            }
            if name.starts_with("silent_") && !want.is_empty() {
                failures.push(format!("{check}/{name}: a silent fixture carries expect marks"));
            }
            let report = run_lockpath(&["check", "--no-tree-context", "--format", "json"], &path);
            let got = actual(&report);
            if got != want {
                let mut diff = String::new();
                for (k, n) in &want {
                    let g = got.get(k).copied().unwrap_or(0);
                    if g < *n {
                        diff.push_str(&format!("\n    missing: {}:{} {}", k.0, k.1, k.2));
                    }
                }
                for (k, n) in &got {
                    let w = want.get(k).copied().unwrap_or(0);
                    if *n > w {
                        let msg = report["findings"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|f| f["line"].as_u64() == Some(k.1 as u64) && f["check"].as_str() == Some(&k.2))
                            .map(|f| f["message"].as_str().unwrap_or("").to_string())
                            .unwrap_or_default();
                        diff.push_str(&format!("\n    extra:   {}:{} {} — {msg}", k.0, k.1, k.2));
                    }
                }
                failures.push(format!("{check}/{name}:{diff}"));
            }
        }
    }
    assert!(total > 0, "no fixtures found");
    assert!(failures.is_empty(), "{} of {total} fixtures disagree:\n  {}", failures.len(), failures.join("\n  "));
}

/// Marks say nothing of severity: the fixtures whose severity is the point
/// are checked here.
#[test]
fn double_lock_through_its_holder_again_is_a_warning() {
    let severities = |name: &str| -> Vec<String> {
        let path = fixtures_dir().join("double-lock").join(name);
        let report = run_lockpath(&["check", "--no-tree-context", "--format", "json"], &path);
        report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| format!("{} {}", f["check"].as_str().unwrap_or("?"), f["severity"].as_str().unwrap_or("?")))
            .collect()
    };
    // Two objects of one class, reached by entering the holder again.
    assert_eq!(severities("fires_recursion_into_holder_two_objects.c"), ["double-lock warning"]);
    // A recursion elsewhere on the path changes nothing.
    assert_eq!(severities("fires_recursive_callee_then_lock.c"), ["double-lock error"]);
}

#[test]
fn marks_are_parsed_as_written() {
    let text = "a\nb; /* expect: double-lock fault-under-lock */\n// expect: conditional-locking\n";
    let want = expected(text);
    assert_eq!(want.get(&(2, "double-lock".to_string())), Some(&1));
    assert_eq!(want.get(&(2, "fault-under-lock".to_string())), Some(&1));
    assert_eq!(want.get(&(3, "conditional-locking".to_string())), Some(&1));
    assert_eq!(want.len(), 3);
}
