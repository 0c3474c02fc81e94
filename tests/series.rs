//! Series mode as a user meets it: patches (files, an mbox, a diff on
//! stdin, `--git RANGE`) checked against a tree, each finding attributed to
//! the patch that introduced or fixed it, in every format.
//!
//! Small trees are written to temporary directories; the seed series
//! (`tests/series/seed/`, the seed patch split in two) runs against the
//! fetched Linux 6.12 tree when there is one (`LOCKPATH_KERNEL`, as in
//! `real_kernel.rs`), never a copy of it in this repository.

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const LOCKPATH: &str = env!("CARGO_BIN_EXE_lockpath");
const SEED_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/series/seed");
const SEED_1: &str = "0001-futex-add-try_futex_exit_release.patch";
const SEED_2: &str = "0002-mm-oom_kill.c-clean-up-robust-futexes-before-reaping.patch";

// ---------------------------------------------------------------------------
// A small tree and patches against it
// ---------------------------------------------------------------------------

/// Balanced: takes and drops `dev->lock` on every path.
const FOO_C: &str = "struct foo_dev { struct mutex lock; int v; };

static int foo_set(struct foo_dev *dev, int v)
{
\tmutex_lock(&dev->lock);
\tdev->v = v;
\tmutex_unlock(&dev->lock);
\treturn 0;
}
";

/// Patch 1 returns -ENOMEM with the lock held (lock-imbalance, a warning).
const LEAK: &str = "diff --git a/drv/foo.c b/drv/foo.c
index 1111111..2222222 100644
--- a/drv/foo.c
+++ b/drv/foo.c
@@ -4,6 +4,8 @@ static int foo_set(struct foo_dev *dev, int v)
 {
 \tmutex_lock(&dev->lock);
+\tif (!kmalloc(v, GFP_KERNEL))
+\t\treturn -ENOMEM;
 \tdev->v = v;
 \tmutex_unlock(&dev->lock);
 \treturn 0;
 }
";

/// Patch 2 (on top of patch 1) unlocks on that path: the leak is fixed.
const FIX: &str = "diff --git a/drv/foo.c b/drv/foo.c
index 2222222..3333333 100644
--- a/drv/foo.c
+++ b/drv/foo.c
@@ -5,7 +5,9 @@ static int foo_set(struct foo_dev *dev, int v)
 \tmutex_lock(&dev->lock);
-\tif (!kmalloc(v, GFP_KERNEL))
+\tif (!kmalloc(v, GFP_KERNEL)) {
+\t\tmutex_unlock(&dev->lock);
 \t\treturn -ENOMEM;
+\t}
 \tdev->v = v;
 \tmutex_unlock(&dev->lock);
 \treturn 0;
 }
";

/// A double lock (an error): `foo_set` calls a helper that takes the lock
/// it already holds.
const DOUBLE: &str = "diff --git a/drv/foo.c b/drv/foo.c
--- a/drv/foo.c
+++ b/drv/foo.c
@@ -1,7 +1,14 @@
 struct foo_dev { struct mutex lock; int v; };
 
+static void foo_bump(struct foo_dev *dev)
+{
+\tmutex_lock(&dev->lock);
+\tdev->v++;
+\tmutex_unlock(&dev->lock);
+}
+
 static int foo_set(struct foo_dev *dev, int v)
 {
 \tmutex_lock(&dev->lock);
-\tdev->v = v;
+\tfoo_bump(dev);
 \tmutex_unlock(&dev->lock);
";

fn mail(n: usize, total: usize, subject: &str, diff: &str) -> String {
    format!(
        "From 000000000000000000000000000000000000000{n} Mon Sep 17 00:00:00 2001\nFrom: A U Thor <author@example.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nSubject: [PATCH {n}/{total}] {subject}\n\nWhy this change is made.\n\nSigned-off-by: A U Thor <author@example.org>\n---\n{diff}-- \n2.39.5\n\n"
    )
}

const COVER: &str = "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nFrom: A U Thor <author@example.org>\nSubject: [PATCH 0/2] drv: foo\n\nA cover letter: no diff, skipped.\n\n-- \n2.39.5\n\n";

fn tree() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("lockpath-series-").tempdir().expect("tempdir");
    write(dir.path(), "drv/foo.c", FOO_C);
    dir
}

fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&path, text).expect("write");
    path
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn lockpath(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(LOCKPATH)
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lockpath runs");
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(bytes).expect("write stdin");
    }
    let out = child.wait_with_output().expect("lockpath ends");
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "lockpath panicked: {}", run.stderr);
    run
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", run.stdout, run.stderr))
}

/// `(patch, status, check, function)` per finding.
fn attributed(report: &Value) -> Vec<(String, String, String, String)> {
    let s = |f: &Value, k: &str| f.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    report["findings"]
        .as_array()
        .map(|fs| fs.iter().map(|f| (s(f, "patch"), s(f, "status"), s(f, "check"), s(f, "function"))).collect())
        .unwrap_or_default()
}

fn owned(rows: &[(&str, &str, &str, &str)]) -> Vec<(String, String, String, String)> {
    rows.iter().map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string())).collect()
}

/// The two-patch leak-then-fix series as files in `dir/out/`.
fn leak_fix_files(dir: &Path) -> (String, String) {
    let one = "out/0001-drv-foo-reject-negative-values.patch";
    let two = "out/0002-drv-foo-unlock-on-the-error-path.patch";
    write(dir, one, &mail(1, 2, "drv: foo: reject negative values", LEAK));
    write(dir, two, &mail(2, 2, "drv: foo: unlock on the error path", FIX));
    (one.to_string(), two.to_string())
}

// ---------------------------------------------------------------------------
// Attribution
// ---------------------------------------------------------------------------

#[test]
fn each_finding_is_attributed_to_its_patch_and_fixes_are_info() {
    let dir = tree();
    let (one, two) = leak_fix_files(dir.path());
    let run = lockpath(dir.path(), &["check", "--format", "json", &one, &two], None);
    assert_eq!(run.code, Some(0), "a warning introduced is not a failure without --strict: {}", run.stderr);
    let report = json(&run);
    assert_eq!(
        attributed(&report),
        owned(&[
            ("0001-drv-foo-reject-negative-values.patch", "new", "lock-imbalance", "foo_set"),
            ("0002-drv-foo-unlock-on-the-error-path.patch", "fixed", "lock-imbalance", "foo_set"),
        ])
    );
    assert_eq!(report["findings"][1]["severity"], "info");
    assert_eq!(report["patches"][0]["warnings"], 1);
    assert_eq!(report["patches"][1]["fixed"], 1);
    // The disk is never written.
    assert_eq!(std::fs::read_to_string(dir.path().join("drv/foo.c")).expect("read"), FOO_C);

    let strict = lockpath(dir.path(), &["check", "--strict", "--format", "json", &one, &two], None);
    assert_eq!(strict.code, Some(1), "--strict fails on an introduced warning");
}

#[test]
fn an_introduced_error_exits_1() {
    let dir = tree();
    write(dir.path(), "double.patch", DOUBLE);
    let run = lockpath(dir.path(), &["check", "--format", "json", "double.patch"], None);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let rows = attributed(&json(&run));
    assert!(rows.iter().any(|r| r.0 == "double.patch" && r.1 == "new" && r.2 == "double-lock"), "{rows:?}");
}

#[test]
fn findings_already_in_the_tree_are_not_reported() {
    let dir = tree();
    // The tree already leaks; a patch that only moves the function down
    // (new lines above it) introduces nothing.
    let leaky =
        FOO_C.replace("\tdev->v = v;\n", "\tif (!kmalloc(v, GFP_KERNEL))\n\t\treturn -ENOMEM;\n\tdev->v = v;\n");
    write(dir.path(), "drv/foo.c", &leaky);
    let moved = "--- a/drv/foo.c\n+++ b/drv/foo.c\n@@ -1,2 +1,5 @@\n struct foo_dev { struct mutex lock; int v; };\n+\n+/* A comment that moves foo_set down. */\n+static int foo_unused;\n \n";
    write(dir.path(), "move.diff", moved);
    let run = lockpath(dir.path(), &["check", "--format", "json", "move.diff"], None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(attributed(&json(&run)), vec![], "moved code is matched by function, not line");
}

// ---------------------------------------------------------------------------
// What a patch can hold
// ---------------------------------------------------------------------------

#[test]
fn mbox_on_stdin_names_patches_by_subject_and_skips_the_cover_letter() {
    let dir = tree();
    let mbox = format!(
        "{COVER}{}{}",
        mail(1, 2, "drv: foo: reject negative values", LEAK),
        mail(2, 2, "drv: foo: unlock on the error path", FIX)
    );
    let run = lockpath(dir.path(), &["check", "--format", "json", "-"], Some(mbox.as_bytes()));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        attributed(&json(&run)),
        owned(&[
            ("[PATCH 1/2] drv: foo: reject negative values", "new", "lock-imbalance", "foo_set"),
            ("[PATCH 2/2] drv: foo: unlock on the error path", "fixed", "lock-imbalance", "foo_set"),
        ])
    );
}

#[test]
fn plain_diffs_with_and_without_prefixes() {
    let dir = tree();
    // `git diff --no-prefix` on stdin.
    let no_prefix = LEAK.replace("a/drv/foo.c", "drv/foo.c").replace("b/drv/foo.c", "drv/foo.c");
    let run = lockpath(dir.path(), &["check", "--format", "json", "-"], Some(no_prefix.as_bytes()));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(attributed(&json(&run)), owned(&[("<stdin>", "new", "lock-imbalance", "foo_set")]));
    // `diff -u foo.c.orig foo.c`, with timestamps, from the tree's top.
    let plain = LEAK
        .lines()
        .filter(|l| !l.starts_with("diff --git") && !l.starts_with("index "))
        .map(|l| match l {
            "--- a/drv/foo.c" => "--- drv/foo.c.orig\t2024-01-01 00:00:00.000000000 +0000".to_string(),
            "+++ b/drv/foo.c" => "+++ drv/foo.c\t2024-01-01 00:00:01.000000000 +0000".to_string(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let plain = plain.replace("--- drv/foo.c.orig", "--- drv/foo.c");
    write(dir.path(), "plain.diff", &plain);
    let run = lockpath(dir.path(), &["check", "--format", "json", "plain.diff"], None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(attributed(&json(&run)), owned(&[("plain.diff", "new", "lock-imbalance", "foo_set")]));
}

#[test]
fn crlf_patch_gives_the_same_result() {
    let dir = tree();
    let (one, two) = leak_fix_files(dir.path());
    for name in [&one, &two] {
        let text = std::fs::read_to_string(dir.path().join(name)).expect("read");
        std::fs::write(dir.path().join(name), text.replace('\n', "\r\n")).expect("write");
    }
    let run = lockpath(dir.path(), &["check", "--format", "json", &one, &two], None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = attributed(&json(&run));
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!((rows[0].1.as_str(), rows[1].1.as_str()), ("new", "fixed"));
}

#[test]
fn rename_new_file_and_deleted_file() {
    let dir = tree();
    let leaky =
        FOO_C.replace("\tdev->v = v;\n", "\tif (!kmalloc(v, GFP_KERNEL))\n\t\treturn -ENOMEM;\n\tdev->v = v;\n");
    write(dir.path(), "drv/old.c", &leaky.replace("foo_", "old_"));
    // A pure rename moves a finding without re-reporting it.
    let rename = "diff --git a/drv/old.c b/drv/renamed.c\nsimilarity index 100%\nrename from drv/old.c\nrename to drv/renamed.c\n";
    write(dir.path(), "0001-rename.patch", rename);
    // A new file that leaks, and the old leaky file deleted.
    let new_lines: Vec<String> = leaky.replace("foo_", "new_").lines().map(|l| format!("+{l}")).collect();
    let new_file = format!(
        "diff --git a/drv/new.c b/drv/new.c\nnew file mode 100644\nindex 0000000..1234567\n--- /dev/null\n+++ b/drv/new.c\n@@ -0,0 +1,{} @@\n{}\n",
        new_lines.len(),
        new_lines.join("\n")
    );
    write(dir.path(), "0002-new.patch", &new_file);
    let gone = "diff --git a/drv/renamed.c b/drv/renamed.c\ndeleted file mode 100644\n";
    write(dir.path(), "0003-delete.patch", gone);
    let run = lockpath(
        dir.path(),
        &["check", "--format", "json", "0001-rename.patch", "0002-new.patch", "0003-delete.patch"],
        None,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report = json(&run);
    assert_eq!(
        attributed(&report),
        owned(&[
            ("0002-new.patch", "new", "lock-imbalance", "new_set"),
            ("0003-delete.patch", "fixed", "lock-imbalance", "old_set"),
        ])
    );
    assert_eq!(report["findings"][0]["file"], "drv/new.c");
    assert_eq!(report["findings"][1]["file"], "drv/renamed.c", "the fixed finding is where the patch found it");
    assert!(!dir.path().join("drv/new.c").exists() && dir.path().join("drv/old.c").exists(), "the disk is untouched");
}

#[test]
fn a_hunk_that_does_not_apply_is_exit_2_naming_patch_file_and_hunk() {
    let dir = tree();
    let bad = LEAK.replace(" \tdev->v = v;\n", " \tdev->v = v + 1;\n");
    write(dir.path(), "0001-bad.patch", &bad);
    let run = lockpath(dir.path(), &["check", "--format", "json", "0001-bad.patch"], None);
    assert_eq!(run.code, Some(2));
    assert_eq!(run.stdout, "", "no partial report");
    assert!(
        run.stderr.contains("0001-bad.patch: drv/foo.c: hunk `@@ -4,6 +4,8 @@ static int foo_set(struct foo_dev *dev, int v)` does not apply"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    // A later patch failing means no report for the earlier ones either.
    let (one, _) = leak_fix_files(dir.path());
    let run = lockpath(dir.path(), &["check", &one, "0001-bad.patch"], None);
    assert_eq!((run.code, run.stdout.as_str()), (Some(2), ""));
    // A file the tree does not have.
    write(dir.path(), "missing.patch", &LEAK.replace("drv/foo.c", "drv/nope.c"));
    let run = lockpath(dir.path(), &["check", "missing.patch"], None);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("missing.patch: drv/nope.c: no such file"), "{}", run.stderr);
}

#[test]
fn empty_binary_and_non_c_patches_are_clean() {
    let dir = tree();
    write(dir.path(), "empty.patch", "");
    let run = lockpath(dir.path(), &["check", "empty.patch"], None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("empty.patch: empty patch, nothing to check"), "{}", run.stderr);

    let binary = "diff --git a/fw/blob.bin b/fw/blob.bin\nnew file mode 100644\nindex 0000000..e69de29\nGIT binary patch\nliteral 4\nLcmZ?d00001\n\nliteral 0\nHcmV?d00001\n\n";
    write(dir.path(), "binary.patch", &mail(1, 1, "fw: add a blob", binary));
    let run = lockpath(dir.path(), &["check", "--format", "json", "binary.patch"], None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("binary.patch: fw/blob.bin: binary change, skipped"), "{}", run.stderr);
    assert_eq!(attributed(&json(&run)), vec![]);

    write(dir.path(), "README", "old\n");
    let docs = "diff --git a/README b/README\n--- a/README\n+++ b/README\n@@ -1 +1 @@\n-old\n+new\n";
    let mode = "diff --git a/drv/foo.c b/drv/foo.c\nold mode 100644\nnew mode 100755\n";
    write(dir.path(), "docs.patch", &format!("{docs}{mode}"));
    let run = lockpath(dir.path(), &["check", "--format", "checkpatch", "docs.patch"], None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("docs.patch: changes no C file"), "{}", run.stderr);
    assert!(
        run.stdout.contains("docs.patch has no obvious lock problems and is ready for submission."),
        "{}",
        run.stdout
    );
}

#[test]
fn a_two_thousand_file_patch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut diff = String::new();
    for i in 0..2000 {
        let rel = format!("d{}/f{i}.c", i % 20);
        write(dir.path(), &rel, &FOO_C.replace("foo_set", &format!("set_{i}")));
        // The last file gains an early return with the lock held.
        let body =
            if i == 1999 { "+\tif (!kmalloc(v, GFP_KERNEL))\n+\t\treturn -ENOMEM;\n" } else { "+\t/* checked */\n" };
        let added = body.lines().count();
        diff.push_str(&format!(
            "diff --git a/{rel} b/{rel}\n--- a/{rel}\n+++ b/{rel}\n@@ -5,3 +5,{} @@\n \tmutex_lock(&dev->lock);\n{body} \tdev->v = v;\n \tmutex_unlock(&dev->lock);\n",
            3 + added
        ));
    }
    write(dir.path(), "big.patch", &diff);
    let run = lockpath(dir.path(), &["check", "--format", "json", "big.patch"], None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report = json(&run);
    assert_eq!(attributed(&report), owned(&[("big.patch", "new", "lock-imbalance", "set_1999")]));
    assert_eq!(report["summary"]["files"], 2000);
}

#[test]
fn patches_and_c_paths_do_not_mix() {
    let dir = tree();
    let (one, _) = leak_fix_files(dir.path());
    let run = lockpath(dir.path(), &["check", &one, "drv/foo.c"], None);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("drv/foo.c: a C path among patches"), "{}", run.stderr);
    let run = lockpath(dir.path(), &["check", "--tree", ".", "drv/foo.c"], None);
    assert_eq!(run.code, Some(2));
}

// ---------------------------------------------------------------------------
// --git
// ---------------------------------------------------------------------------

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=A U Thor", "-c", "user.email=author@example.org", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A repository holding `tree` as its first commit, then one commit per
/// patch (applied with `git apply`).
fn repo_with_series(tree: &Path, patches: &[(&str, &Path)]) {
    git(tree, &["init", "-q", "-b", "main"]);
    git(tree, &["add", "-A"]);
    git(tree, &["commit", "-q", "-m", "base"]);
    for (subject, patch) in patches {
        git(tree, &["apply", "--index", &patch.to_string_lossy()]);
        git(tree, &["commit", "-q", "-m", subject]);
    }
}

#[test]
fn git_range_reads_commits_from_objects() {
    let dir = tree();
    let patches = tempfile::tempdir().expect("tempdir");
    let leak = write(patches.path(), "leak.diff", LEAK);
    let fix = write(patches.path(), "fix.diff", FIX);
    repo_with_series(
        dir.path(),
        &[("drv: foo: reject negative values", &leak), ("drv: foo: unlock on the error path", &fix)],
    );
    // The work tree is changed and not committed: --git must not read it.
    write(dir.path(), "drv/foo.c", "garbage that does not parse {{{\n");
    let run = lockpath(dir.path(), &["check", "--format", "json", "--git", "HEAD~2..HEAD"], None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let short = |rev: &str| git(dir.path(), &["rev-parse", "--short", rev]).trim().to_string();
    assert_eq!(
        attributed(&json(&run)),
        owned(&[
            (&format!("{} drv: foo: reject negative values", short("HEAD~1")), "new", "lock-imbalance", "foo_set"),
            (&format!("{} drv: foo: unlock on the error path", short("HEAD")), "fixed", "lock-imbalance", "foo_set"),
        ])
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("drv/foo.c")).expect("read"),
        "garbage that does not parse {{{\n"
    );
    let run = lockpath(dir.path(), &["check", "--git", "no-such-rev..HEAD"], None);
    assert_eq!(run.code, Some(2));
}

/// A range with a merge: the merge commit is left out and the commits of
/// both branches are applied oldest first, each finding attributed to the
/// branch commit that introduced it.
#[test]
fn git_range_through_a_merge_applies_both_branches_commits() {
    let dir = tree();
    let patches = tempfile::tempdir().expect("tempdir");
    let leak = write(patches.path(), "leak.diff", LEAK);
    repo_with_series(dir.path(), &[]);
    git(dir.path(), &["checkout", "-q", "-b", "side"]);
    git(dir.path(), &["apply", "--index", &leak.to_string_lossy()]);
    git(dir.path(), &["commit", "-q", "-m", "drv: foo: reject negative values"]);
    git(dir.path(), &["checkout", "-q", "main"]);
    write(dir.path(), "drv/bar.c", "int bar(void) { return 0; }\n");
    git(dir.path(), &["add", "drv/bar.c"]);
    git(dir.path(), &["commit", "-q", "-m", "drv: bar: add bar()"]);
    git(dir.path(), &["merge", "-q", "--no-edit", "side"]);
    let run = lockpath(dir.path(), &["check", "--format", "json", "--git", "HEAD~2..HEAD"], None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let short = |rev: &str| git(dir.path(), &["rev-parse", "--short", rev]).trim().to_string();
    assert_eq!(
        attributed(&json(&run)),
        owned(&[(&format!("{} drv: foo: reject negative values", short("side")), "new", "lock-imbalance", "foo_set")])
    );
}

#[test]
fn format_patch_output_applies_to_a_work_tree_at_the_series_tip() {
    // `git format-patch` then `lockpath check` in the same checkout: the
    // work tree already has the series, so the patches' `index` lines
    // name the base they apply to.
    let dir = tree();
    let patches = tempfile::tempdir().expect("tempdir");
    let leak = write(patches.path(), "leak.diff", LEAK);
    repo_with_series(dir.path(), &[("drv: foo: reject negative values", &leak)]);
    git(dir.path(), &["format-patch", "-q", "-1", "-o", "outgoing"]);
    let run = lockpath(
        dir.path(),
        &["check", "--format", "json", "outgoing/0001-drv-foo-reject-negative-values.patch"],
        None,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        attributed(&json(&run)),
        owned(&[("0001-drv-foo-reject-negative-values.patch", "new", "lock-imbalance", "foo_set")])
    );
}

// ---------------------------------------------------------------------------
// Configuration and suppression
// ---------------------------------------------------------------------------

#[test]
fn config_ignore_and_baseline() {
    let dir = tree();
    write(dir.path(), "double.patch", DOUBLE);
    let (one, _) = leak_fix_files(dir.path());
    let base = ["check", "--format", "json"];
    let rows = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        let run = lockpath(dir.path(), &args, None);
        (run.code, attributed(&json(&run)).into_iter().map(|r| r.2).collect::<Vec<_>>())
    };
    assert_eq!(rows(&["double.patch"]), (Some(1), vec!["double-lock".to_string()]));
    assert_eq!(rows(&["--ignore", "DOUBLE_LOCK", "double.patch"]), (Some(0), vec![]));
    write(dir.path(), ".lockpath.toml", "disable = [\"double-lock\"]\n");
    assert_eq!(rows(&["double.patch"]), (Some(0), vec![]));
    write(dir.path(), ".lockpath.toml", "[severity]\nlock-imbalance = \"error\"\n");
    assert_eq!(rows(&[&one]), (Some(1), vec!["lock-imbalance".to_string()]));
    write(dir.path(), ".lockpath.toml", "skip = [\"drv/\"]\n");
    assert_eq!(rows(&[&one]), (Some(0), vec![]));
    // Model lines from the configuration: foo_bump() is declared neutral,
    // so the helper's body is not analysed and the double lock goes away.
    write(dir.path(), ".lockpath.toml", "model = \"\"\"\nfoo_bump neutral\n\"\"\"\n");
    assert_eq!(rows(&["double.patch"]), (Some(0), vec![]));
    write(dir.path(), ".lockpath.toml", "disable = [\"no-such-check\"]\n");
    let run = lockpath(dir.path(), &["check", "double.patch"], None);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains(".lockpath.toml: unknown check `no-such-check`"), "{}", run.stderr);
    std::fs::remove_file(dir.path().join(".lockpath.toml")).expect("rm");

    // A baseline of the tree run after the patch hides what it had.
    let leaky =
        FOO_C.replace("\tdev->v = v;\n", "\tif (!kmalloc(v, GFP_KERNEL))\n\t\treturn -ENOMEM;\n\tdev->v = v;\n");
    write(dir.path(), "drv/foo.c", &leaky);
    let tree_run = lockpath(dir.path(), &["check", "--format", "json", "drv"], None);
    write(dir.path(), "baseline.json", &tree_run.stdout);
    let again = lockpath(dir.path(), &["check", "--format", "json", "--baseline", "baseline.json", "drv"], None);
    assert_eq!(attributed(&json(&again)), vec![], "{}", again.stdout);
    assert_eq!(attributed(&json(&tree_run)).len(), 1);
}

// ---------------------------------------------------------------------------
// Formats
// ---------------------------------------------------------------------------

fn leak_fix_run(format: &[&str]) -> String {
    let dir = tree();
    let (one, two) = leak_fix_files(dir.path());
    // A third patch, on top of the fix, calls a helper that takes the lock
    // foo_set() holds: an error.
    let double = "diff --git a/drv/foo.c b/drv/foo.c
--- a/drv/foo.c
+++ b/drv/foo.c
@@ -1,3 +1,10 @@
 struct foo_dev { struct mutex lock; int v; };
 
+static void foo_bump(struct foo_dev *dev)
+{
+\tmutex_lock(&dev->lock);
+\tdev->v++;
+\tmutex_unlock(&dev->lock);
+}
+
 static int foo_set(struct foo_dev *dev, int v)
@@ -10,3 +17,3 @@ static int foo_set(struct foo_dev *dev, int v)
-\tdev->v = v;
+\tfoo_bump(dev);
 \tmutex_unlock(&dev->lock);
 \treturn 0;
";
    let three = "out/0003-drv-foo-count-updates.patch";
    write(dir.path(), three, &mail(3, 3, "drv: foo: count updates", double));
    let mut args = vec!["check", "--color", "never"];
    args.extend_from_slice(format);
    args.extend([one.as_str(), two.as_str(), three]);
    let run = lockpath(dir.path(), &args, None);
    assert!(matches!(run.code, Some(0 | 1)), "{}", run.stderr);
    run.stdout
}

#[test]
fn checkpatch_format() {
    insta::assert_snapshot!(leak_fix_run(&["--format", "checkpatch"]));
}

#[test]
fn checkpatch_terse_format() {
    insta::assert_snapshot!(leak_fix_run(&["--format", "checkpatch", "--terse"]));
}

#[test]
fn gcc_format() {
    insta::assert_snapshot!(leak_fix_run(&["--format", "gcc"]));
}

#[test]
fn json_format() {
    insta::assert_snapshot!(leak_fix_run(&["--format", "json"]));
}

#[test]
fn human_format() {
    insta::assert_snapshot!(leak_fix_run(&["--format", "human"]));
}

#[test]
fn sarif_format() {
    insta::assert_snapshot!(leak_fix_run(&["--format", "sarif"]));
}

fn sarif_schema() -> jsonschema::Validator {
    let text = include_str!("sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(text).expect("schema is JSON");
    jsonschema::draft4::new(&schema).expect("the official schema compiles")
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let validator = sarif_schema();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tree_run = lockpath(
        root,
        &["check", "--no-tree-context", "--format", "sarif", "fixtures/fault-under-lock/fires_seed_oom_reaper.c"],
        None,
    );
    for (what, text) in [("series", leak_fix_run(&["--format", "sarif"])), ("tree", tree_run.stdout)] {
        let log: Value = serde_json::from_str(&text).expect("SARIF is JSON");
        let errors: Vec<String> =
            validator.iter_errors(&log).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{what}: SARIF does not validate:\n{}", errors.join("\n"));
        assert!(!log["runs"][0]["results"].as_array().is_none_or(Vec::is_empty), "{what}: no results");
    }
    // The validator is real: a log without `version` fails.
    let broken = serde_json::json!({"runs": []});
    assert!(!validator.is_valid(&broken));
}

#[test]
fn tree_runs_accept_the_new_formats() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixture = "fixtures/fault-under-lock/fires_seed_oom_reaper.c";
    let run = |format: &str| lockpath(root, &["check", "--no-tree-context", "--format", format, fixture], None);
    let gcc = run("gcc");
    assert_eq!(gcc.code, Some(1));
    assert!(
        gcc.stdout.lines().next().is_some_and(|l| l.starts_with(fixture) && l.ends_with("[fault-under-lock]")),
        "{}",
        gcc.stdout
    );
    let cp = run("checkpatch");
    assert!(cp.stdout.starts_with("ERROR: FAULT_UNDER_LOCK: "), "{}", cp.stdout);
    assert!(cp.stdout.contains("The checked code has lock problems, please review."), "{}", cp.stdout);
}

// ---------------------------------------------------------------------------
// Parsing arbitrary bytes
// ---------------------------------------------------------------------------

#[test]
fn parsing_never_panics_on_mangled_patches() {
    // Deterministic mutations (xorshift) of real patch text: truncations,
    // flipped bytes, duplicated and dropped lines.
    let seeds = [LEAK.to_string(), FIX.to_string(), mail(1, 1, "x", DOUBLE), COVER.to_string()];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..4000 {
        let mut bytes = seeds[round % seeds.len()].clone().into_bytes();
        for _ in 0..(next() % 6) {
            if bytes.is_empty() {
                break;
            }
            let at = (next() as usize) % bytes.len();
            match next() % 4 {
                0 => bytes.truncate(at),
                1 => bytes[at] = (next() & 0xff) as u8,
                2 => {
                    let chunk = bytes[at..].iter().take(40).copied().collect::<Vec<u8>>();
                    bytes.splice(at..at, chunk);
                }
                _ => {
                    bytes.remove(at);
                }
            }
        }
        let _ = lockpath::series::patch::parse(&bytes, "fuzz.patch");
    }
    let _ = lockpath::series::patch::parse(b"@@ -1,99999999999999999999 +1 @@\n", "-");
    let _ = lockpath::series::patch::parse(b"diff --git \"a/\\777\n@@ -0,0 +0,0 @@\n", "-");
}

// ---------------------------------------------------------------------------
// The seed series on Linux 6.12
// ---------------------------------------------------------------------------

fn kernel_tree() -> Option<PathBuf> {
    let from_env = std::env::var_os("LOCKPATH_KERNEL").filter(|v| !v.is_empty());
    let candidate = from_env.map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/kernels/linux-source-6.12")
    });
    if candidate.join("MAINTAINERS").is_file() {
        return Some(candidate);
    }
    let required = std::env::var_os("LOCKPATH_REQUIRE_KERNEL").is_some_and(|v| !v.is_empty() && v != "0");
    assert!(!required, "LOCKPATH_REQUIRE_KERNEL is set but there is no kernel tree at {}", candidate.display());
    let _ = writeln!(std::io::stderr(), "LOCKPATH: kernel tree not found — series seed tests SKIPPED");
    None
}

fn seed_verdicts(report: &Value) -> Vec<(String, String)> {
    attributed(report)
        .into_iter()
        .filter(|r| r.1 == "new")
        .filter(|r| {
            (r.2 == "conditional-locking" && r.3 == "futex_cleanup_begin")
                || (r.2 == "fault-under-lock" && r.3 == "oom_reap_task_mm")
        })
        .map(|r| (r.0, r.2))
        .collect()
}

#[test]
fn seed_series_on_linux_6_12_files_and_mbox() {
    let Some(kernel) = kernel_tree() else { return };
    let seed = Path::new(SEED_DIR);
    let tree = kernel.to_string_lossy().into_owned();
    let files = lockpath(seed, &["check", "--tree", &tree, "--format", "json", SEED_1, SEED_2], None);
    assert_eq!(files.code, Some(1), "{}", files.stderr);
    assert_eq!(
        seed_verdicts(&json(&files)),
        vec![
            (SEED_1.to_string(), "conditional-locking".to_string()),
            (SEED_2.to_string(), "fault-under-lock".to_string())
        ]
    );
    let one = std::fs::read_to_string(seed.join(SEED_1)).expect("read");
    let two = std::fs::read_to_string(seed.join(SEED_2)).expect("read");
    let cover = "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nSubject: [PATCH 0/2] futex, oom: reap robust futexes\n\nCover letter.\n\n";
    let mbox = format!("{cover}{one}{two}");
    let stdin = lockpath(seed, &["check", "--tree", &tree, "--format", "json", "-"], Some(mbox.as_bytes()));
    assert_eq!(stdin.code, Some(1), "{}", stdin.stderr);
    assert_eq!(
        seed_verdicts(&json(&stdin)),
        vec![
            ("[PATCH 1/2] futex: add try_futex_exit_release()".to_string(), "conditional-locking".to_string()),
            (
                "[PATCH 2/2] mm/oom_kill.c: clean up robust futexes before reaping".to_string(),
                "fault-under-lock".to_string()
            )
        ]
    );
}

/// The seed files (kernel/futex/, mm/oom_kill.c, include/linux/futex.h) of
/// the 6.12 tree as a fresh repository's first commit, and the two seed
/// patches as its next two commits.
fn seed_repo(kernel: &Path) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("lockpath-seed-repo-").tempdir().expect("tempdir");
    for rel in ["mm/oom_kill.c", "include/linux/futex.h"] {
        let text = std::fs::read(kernel.join(rel)).expect("read seed file");
        std::fs::create_dir_all(dir.path().join(rel).parent().expect("parent")).expect("mkdir");
        std::fs::write(dir.path().join(rel), text).expect("write");
    }
    std::fs::create_dir_all(dir.path().join("kernel/futex")).expect("mkdir");
    for entry in std::fs::read_dir(kernel.join("kernel/futex")).expect("ls").flatten() {
        std::fs::copy(entry.path(), dir.path().join("kernel/futex").join(entry.file_name())).expect("copy");
    }
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "base: Linux 6.12 seed files"]);
    for patch in [SEED_1, SEED_2] {
        git(dir.path(), &["am", "-q", &Path::new(SEED_DIR).join(patch).to_string_lossy()]);
    }
    dir
}

#[test]
fn seed_series_git_range_matches_the_patch_files() {
    let Some(kernel) = kernel_tree() else { return };
    let repo = seed_repo(&kernel);
    let by_git = lockpath(repo.path(), &["check", "--format", "json", "--git", "HEAD~2..HEAD"], None);
    assert_eq!(by_git.code, Some(1), "{}", by_git.stderr);
    // The same series as files, against the base commit's files.
    let base = tempfile::tempdir().expect("tempdir");
    git(repo.path(), &["worktree", "add", "-q", "--detach", &base.path().join("wt").to_string_lossy(), "HEAD~2"]);
    let wt = base.path().join("wt");
    let seed = Path::new(SEED_DIR);
    let by_files =
        lockpath(seed, &["check", "--tree", &wt.to_string_lossy(), "--format", "json", SEED_1, SEED_2], None);
    assert_eq!(by_files.code, Some(1), "{}", by_files.stderr);
    // Attributed by subject: `<short sha> <subject>` for commits, the file
    // name for patch files.
    let subject_of = |patch: &str| match patch {
        SEED_1 => "futex: add try_futex_exit_release()".to_string(),
        SEED_2 => "mm/oom_kill.c: clean up robust futexes before reaping".to_string(),
        commit => commit.split_once(' ').map_or(commit, |(_, s)| s).to_string(),
    };
    let rows = |r: &Run| -> Vec<(String, String, String, String)> {
        attributed(&json(r)).into_iter().map(|(p, s, c, f)| (subject_of(&p), s, c, f)).collect()
    };
    let (git_rows, file_rows) = (rows(&by_git), rows(&by_files));
    assert_eq!(git_rows, file_rows);
    assert!(git_rows.iter().any(|r| r.2 == "fault-under-lock" && r.1 == "new"), "{git_rows:?}");
    assert!(git_rows.iter().any(|r| r.2 == "conditional-locking" && r.1 == "new"), "{git_rows:?}");
}

#[test]
fn sendemail_validate_hook_refuses_the_seed_series() {
    let Some(kernel) = kernel_tree() else { return };
    let repo = seed_repo(&kernel);
    git(repo.path(), &["format-patch", "-q", "-2", "-o", "outgoing"]);
    let hook = Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks/sendemail-validate");
    let mut patches: Vec<PathBuf> =
        std::fs::read_dir(repo.path().join("outgoing")).expect("ls").flatten().map(|e| e.path()).collect();
    patches.sort();
    assert_eq!(patches.len(), 2);
    // As git send-email runs it: once per patch, in the work tree's top
    // directory, counter and total in the environment.
    let bin = Path::new(LOCKPATH).parent().expect("bin dir").to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut last = None;
    for (i, patch) in patches.iter().enumerate() {
        let out = Command::new("sh")
            .arg(&hook)
            .arg(patch)
            .current_dir(repo.path())
            .env("PATH", &path)
            .env("GIT_SENDEMAIL_FILE_COUNTER", (i + 1).to_string())
            .env("GIT_SENDEMAIL_FILE_TOTAL", "2")
            .env("LOCKPATH_FLAGS", "--no-tree-context")
            .output()
            .expect("hook runs");
        last = Some(out);
        if i == 0 {
            let first = last.as_ref().expect("ran");
            assert!(first.status.success(), "the first patch is only collected");
        }
    }
    let out = last.expect("ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the hook refuses the series:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ERROR: FAULT_UNDER_LOCK: "), "{stdout}");
    assert!(
        stdout.contains("0002-mm-oom_kill.c-clean-up-robust-futexes-before-reaping.patch has lock problems"),
        "{stdout}"
    );
    assert!(stdout.contains("WARNING: CONDITIONAL_LOCKING: "), "{stdout}");
}
