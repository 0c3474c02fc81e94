//! The rendered human report for the seed's shape, snapshot-tested: a change
//! to how a finding reads shows up as a diff in review.

use std::path::Path;
use std::process::Command;

fn human(fixture: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_lockpath"))
        .current_dir(root)
        .args(["check", "--no-tree-context", "--color", "never", fixture])
        .output()
        .expect("lockpath runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn seed_fault_under_lock_reads_as_a_path() {
    insta::assert_snapshot!(human("fixtures/fault-under-lock/fires_seed_oom_reaper.c"));
}

#[test]
fn conditional_locking_names_the_parameter() {
    insta::assert_snapshot!(human("fixtures/conditional-locking/fires_seed_futex_cleanup_begin.c"));
}

#[test]
fn double_lock_through_a_callee() {
    insta::assert_snapshot!(human("fixtures/double-lock/fires_mutex_lock_in_callee.c"));
}

#[test]
fn lock_order_graph_as_dot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let dot = dir.path().join("g.dot");
    let status = Command::new(env!("CARGO_BIN_EXE_lockpath"))
        .current_dir(root)
        .args(["check", "-q", "--no-tree-context", "--graph"])
        .arg(&dot)
        .arg("fixtures/lock-order-cycle/fires_three_locks.c")
        .status()
        .expect("lockpath runs");
    assert_eq!(status.code(), Some(1), "a cycle is an error");
    insta::assert_snapshot!(std::fs::read_to_string(&dot).expect("graph written"));
}
