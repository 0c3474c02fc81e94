//! The facts cache as users meet it: a warm run reads every file's facts
//! from it and reports the same findings; a cold run packs its entries, a
//! run with few misses writes them loose; a corrupt entry or a truncated
//! pack is named once, ignored and rebuilt; an entry of another extractor is never
//! decoded, while another build with the same extractor reuses the facts
//! (never the reports); two runs filling one cache at once both succeed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LOCKPATH: &str = env!("CARGO_BIN_EXE_lockpath");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn check(bin: &Path, cache: &Path) -> Command {
    check_at(bin, cache, &fixtures())
}

/// `lockpath check` of `path` with this cache, JSON and `--stats`.
fn check_at(bin: &Path, cache: &Path, path: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(["check", "--no-tree-context", "--format", "json", "--stats", "--cache-dir"])
        .arg(cache)
        .arg(path)
        .env_remove("NO_COLOR");
    cmd
}

/// A run that reads facts: the whole-report entries are removed first, so
/// an unchanged tree is not simply answered from its last report.
fn run(bin: &Path, cache: &Path) -> Output {
    forget_reports(cache);
    check(bin, cache).output().expect("lockpath runs")
}

fn forget_reports(cache: &Path) {
    let mut stack = vec![cache.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.file_name().is_some_and(|n| n == "reports") {
                let _ = std::fs::remove_dir_all(&p);
            } else if p.is_dir() {
                stack.push(p);
            }
        }
    }
}

/// (hits, misses, corrupt) from the `--stats` cache line.
fn cache_counts(out: &Output) -> (usize, usize, usize) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.starts_with("lockpath: stats: cache ")).unwrap_or_else(|| panic!("{stderr}"));
    let nums: Vec<usize> = line.split(|c: char| !c.is_ascii_digit()).filter_map(|w| w.parse().ok()).collect();
    (nums[0], nums[1], nums[2])
}

/// Files under the cache with this extension, sorted.
fn files_with(cache: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![cache.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The one pack a cold run over the fixtures writes.
fn the_pack(cache: &Path) -> PathBuf {
    let packs = files_with(cache, "pack");
    assert_eq!(packs.len(), 1, "one pack: {packs:?}");
    assert!(files_with(cache, "facts").is_empty(), "a cold run packs every entry");
    packs[0].clone()
}

/// A cold run over the fixtures into a new cache: the cache, the run, and
/// the one pack it wrote.
fn cold_run_with_its_pack() -> (tempfile::TempDir, Output, PathBuf) {
    let cache = tempfile::tempdir().expect("tempdir");
    let cold = run(Path::new(LOCKPATH), cache.path());
    assert_ran(&cold);
    let pack = the_pack(cache.path());
    (cache, cold, pack)
}

/// Where each entry of a pack starts (each begins with the entry magic).
fn entry_starts(pack: &[u8]) -> Vec<usize> {
    pack.windows(8).enumerate().filter(|(_, w)| w == b"LPFACTS\0").map(|(i, _)| i).collect()
}

/// The notice lines that contain `what`.
fn notices<'s>(stderr: &'s str, what: &str) -> Vec<&'s str> {
    stderr.lines().filter(|l| l.contains(what)).collect()
}

fn assert_ran(out: &Output) {
    assert_eq!(out.status.code(), Some(1), "findings expected; stderr:\n{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn warm_run_reads_every_file_from_the_cache() {
    let cache = tempfile::tempdir().expect("tempdir");
    let cold = run(Path::new(LOCKPATH), cache.path());
    assert_ran(&cold);
    let (hits, misses, corrupt) = cache_counts(&cold);
    assert!(misses > 100 && corrupt == 0, "cold: {hits} hits, {misses} misses");
    let warm = run(Path::new(LOCKPATH), cache.path());
    assert_eq!(cache_counts(&warm), (hits + misses, 0, 0));
    assert_eq!(cold.stdout, warm.stdout, "the warm run reports what the cold one did");
}

#[test]
fn corrupt_entries_in_a_pack_are_named_and_rebuilt() {
    let (cache, cold, pack) = cold_run_with_its_pack();
    let mut bytes = std::fs::read(&pack).expect("read pack");
    let starts = entry_starts(&bytes);
    assert!(starts.len() > 100, "{} entries", starts.len());
    // The last payload byte of entry 3 (its checksum no longer matches),
    // and the length field of entry 7 (its header no longer does).
    bytes[starts[4] - 1] ^= 0x55;
    bytes[starts[7] + 40] ^= 0x01;
    std::fs::write(&pack, bytes).expect("write pack");

    let again = run(Path::new(LOCKPATH), cache.path());
    assert_ran(&again);
    assert_eq!(again.stdout, cold.stdout, "a corrupt entry changes nothing in the report");
    let stderr = String::from_utf8_lossy(&again.stderr);
    let lines = notices(&stderr, "corrupt cache entry");
    assert_eq!(lines.len(), 2, "one notice per bad entry:\n{stderr}");
    let name = pack.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    assert!(lines.iter().all(|l| l.contains(name) && l.contains("ignored and rebuilt")), "{lines:?}");
    assert_eq!(cache_counts(&again).2, 2);
    // Rebuilt (as loose entries, which a bad packed one falls back to):
    // the next run is all hits.
    let healed = run(Path::new(LOCKPATH), cache.path());
    assert_eq!(cache_counts(&healed).1, 0, "{}", String::from_utf8_lossy(&healed.stderr));
    assert_eq!(cache_counts(&healed).2, 0);
    assert_eq!(healed.stdout, cold.stdout);
}

#[test]
fn a_truncated_pack_is_named_once_removed_and_rebuilt() {
    let (cache, cold, pack) = cold_run_with_its_pack();
    let bytes = std::fs::read(&pack).expect("read pack");
    std::fs::write(&pack, &bytes[..bytes.len() / 2]).expect("truncate pack");

    let again = run(Path::new(LOCKPATH), cache.path());
    assert_ran(&again);
    assert_eq!(again.stdout, cold.stdout);
    let stderr = String::from_utf8_lossy(&again.stderr);
    let lines = notices(&stderr, "corrupt cache pack");
    assert_eq!(lines.len(), 1, "one notice for the pack:\n{stderr}");
    assert!(lines[0].contains(&*pack.to_string_lossy()) && lines[0].contains("truncated"), "{}", lines[0]);
    let (hits, misses, corrupt) = cache_counts(&again);
    assert_eq!((hits, corrupt), (0, 0), "every entry of the pack is parsed again");
    assert!(misses > 100);
    assert!(!pack.exists(), "the bad pack is removed");
    let healed = run(Path::new(LOCKPATH), cache.path());
    assert_eq!(cache_counts(&healed), (misses, 0, 0));
}

/// A run over one fixture directory: a few dozen misses at most.
fn run_on_one_directory(cache: &Path) -> Output {
    check_at(Path::new(LOCKPATH), cache, &fixtures().join("fault-under-lock")).output().expect("lockpath runs")
}

#[test]
fn a_run_with_few_misses_writes_loose_entries() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = run_on_one_directory(cache.path());
    let (_, misses, _) = cache_counts(&out);
    assert!((1..=64).contains(&misses), "{misses} misses");
    assert!(files_with(cache.path(), "pack").is_empty(), "no pack for a few misses");
    assert_eq!(files_with(cache.path(), "facts").len(), misses);
}

#[test]
fn when_no_pack_can_be_made_every_entry_is_written_loose() {
    let cache = tempfile::tempdir().expect("tempdir");
    // A small run makes the facts directory (loose entries only) ...
    let small = run_on_one_directory(cache.path());
    let first = files_with(cache.path(), "facts");
    let facts_dir = first[0].parent().and_then(Path::parent).expect("facts directory").to_path_buf();
    // ... where a file now stands in the way of the packs directory.
    std::fs::write(facts_dir.join("packs"), b"not a directory").expect("write");
    let cold = run(Path::new(LOCKPATH), cache.path());
    assert_ran(&cold);
    let (hits, misses, corrupt) = cache_counts(&cold);
    assert!(misses > 64 && corrupt == 0, "{hits} hits, {misses} misses");
    assert!(
        String::from_utf8_lossy(&cold.stderr).contains("0 write errors"),
        "{}",
        String::from_utf8_lossy(&cold.stderr)
    );
    assert_eq!(files_with(cache.path(), "facts").len(), hits + misses, "every entry loose");
    let warm = run(Path::new(LOCKPATH), cache.path());
    assert_eq!(cache_counts(&warm), (hits + misses, 0, 0));
    assert_eq!(warm.stdout, cold.stdout);
    assert!(cache_counts(&small).1 > 0);
}

#[test]
fn another_build_reuses_the_facts_but_never_the_reports() {
    let cache = tempfile::tempdir().expect("tempdir");
    // Not `run`: the cold run's report stays, to show the other build does
    // not read it.
    let cold = check(Path::new(LOCKPATH), cache.path()).output().expect("lockpath runs");
    assert_ran(&cold);
    // Another build: the same program with one more byte at the end of the
    // file (trailing bytes do not change how an ELF file runs). Its
    // extractor is the same (`build.rs` hashes the extractor's sources).
    let bin_dir = tempfile::tempdir().expect("tempdir");
    let other = bin_dir.path().join("lockpath-other");
    let mut bytes = std::fs::read(LOCKPATH).expect("read binary");
    bytes.push(0);
    std::fs::write(&other, bytes).expect("write binary");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let by_other = check(&other, cache.path()).output().expect("lockpath runs");
    assert_ran(&by_other);
    assert!(!report_from_cache(&by_other), "another build must analyse afresh");
    let (hits, misses, _) = cache_counts(&by_other);
    assert!(hits > 100 && misses <= 2, "the facts are the same extractor's: {hits} hits, {misses} misses");
    assert_eq!(by_other.stdout, cold.stdout);
    // Both builds keep their reports: the first is answered from its own.
    let back = check(Path::new(LOCKPATH), cache.path()).output().expect("lockpath runs");
    assert!(report_from_cache(&back), "{}", String::from_utf8_lossy(&back.stderr));
}

#[test]
fn an_entry_of_another_extractor_is_never_decoded() {
    let (cache, cold, pack) = cold_run_with_its_pack();
    // The entry's payload is intact; only the identity in its header (bytes
    // 8..40, after the magic) says another extractor wrote it.
    let mut bytes = std::fs::read(&pack).expect("read pack");
    let foreign = entry_starts(&bytes)[5];
    bytes[foreign + 8] ^= 0xff;
    std::fs::write(&pack, bytes).expect("write pack");
    let again = run(Path::new(LOCKPATH), cache.path());
    assert_ran(&again);
    assert_eq!(again.stdout, cold.stdout);
    assert_eq!(cache_counts(&again).2, 1, "{}", String::from_utf8_lossy(&again.stderr));
}

#[test]
fn two_runs_filling_one_cache_at_once_both_succeed() {
    let cache = tempfile::tempdir().expect("tempdir");
    let a = check(Path::new(LOCKPATH), cache.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let b = check(Path::new(LOCKPATH), cache.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let (a, b) = (a.wait_with_output().expect("wait"), b.wait_with_output().expect("wait"));
    assert_ran(&a);
    assert_ran(&b);
    assert_eq!(a.stdout, b.stdout);
    for out in [&a, &b] {
        let (_, _, corrupt) = cache_counts(out);
        assert_eq!(corrupt, 0, "a reader never sees a half-written entry");
    }
    let after = run(Path::new(LOCKPATH), cache.path());
    assert_eq!(cache_counts(&after).1, 0, "every entry is whole");
    assert_eq!(cache_counts(&after).2, 0);
    assert_eq!(after.stdout, a.stdout);
}

/// `--stats` says whether the whole report came from the cache.
fn report_from_cache(out: &Output) -> bool {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .any(|l| l == "lockpath: stats: report read from the cache (nothing changed)")
}

#[test]
fn an_unchanged_tree_is_answered_from_the_report_cache_and_a_changed_file_is_not() {
    let cache = tempfile::tempdir().expect("tempdir");
    let tree = tempfile::tempdir().expect("tempdir");
    let bad = "struct foo { struct mutex lock; };\nstatic int f(struct foo *d)\n{\n\tmutex_lock(&d->lock);\n\tif (!kmalloc(8, GFP_KERNEL))\n\t\treturn -ENOMEM;\n\tmutex_unlock(&d->lock);\n\treturn 0;\n}\n";
    std::fs::write(tree.path().join("a.c"), bad).expect("write");
    std::fs::write(tree.path().join("b.c"), "static int g(void) { return 0; }\n").expect("write");
    let run_tree = || {
        Command::new(LOCKPATH)
            .args(["check", "--no-tree-context", "--format", "json", "--stats", "--cache-dir"])
            .arg(cache.path())
            .arg(tree.path())
            .output()
            .expect("lockpath runs")
    };
    let first = run_tree();
    assert!(!report_from_cache(&first));
    let second = run_tree();
    assert!(report_from_cache(&second), "{}", String::from_utf8_lossy(&second.stderr));
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(first.status.code(), second.status.code(), "the exit status is the same too");

    // Fix the leak in a.c: the report is analysed again, b.c's facts still
    // come from the cache.
    std::fs::write(tree.path().join("a.c"), bad.replace("\t\treturn -ENOMEM;", "\t\td = 0;")).expect("write");
    let third = run_tree();
    assert!(!report_from_cache(&third));
    assert_eq!(cache_counts(&third), (1, 1, 0), "b.c from the cache, a.c parsed");
    let stdout = String::from_utf8_lossy(&third.stdout);
    assert!(!stdout.contains("lock-imbalance"), "the fix shows: {stdout}");
    assert!(String::from_utf8_lossy(&first.stdout).contains("lock-imbalance"));
}

/// What `--stats` says of the inputs: (hashed from their bytes, known by
/// their stat).
fn inputs_hashed(out: &Output) -> (usize, usize) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find_map(|l| l.strip_prefix("lockpath: stats: inputs ")).unwrap_or_default();
    let numbers: Vec<usize> = line.split(|c: char| !c.is_ascii_digit()).filter_map(|w| w.parse().ok()).collect();
    (numbers.first().copied().unwrap_or(usize::MAX), numbers.get(1).copied().unwrap_or(usize::MAX))
}

/// Sets a file's mtime an hour back: the stat index records only files
/// older than its racy margin.
fn age(path: &Path) {
    let file = std::fs::File::options().write(true).open(path).expect("open");
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    file.set_modified(hour_ago).expect("set mtime");
}

#[test]
fn the_stat_index_keys_an_unchanged_tree_and_sees_a_same_size_edit_under_an_old_mtime() {
    let cache = tempfile::tempdir().expect("tempdir");
    let tree = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tree.path().join("a.c"), tree.path().join("b.c"));
    // Same length: the second lock becomes a comment.
    let double = "static DEFINE_MUTEX(m);\nstatic void f(void)\n{\n\tmutex_lock(&m);\n\tmutex_lock(&m);\n}\n";
    let single = double.replace("\tmutex_lock(&m);\n}", "//mutex_lock(&m)\n}");
    assert_eq!(double.len(), single.len());
    std::fs::write(&a, double).expect("write");
    std::fs::write(&b, "static int g(void) { return 0; }\n").expect("write");
    age(&a);
    age(&b);
    let run_tree = || check_at(Path::new(LOCKPATH), cache.path(), tree.path()).output().expect("lockpath runs");

    let first = run_tree();
    assert_eq!(inputs_hashed(&first), (2, 0), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(String::from_utf8_lossy(&first.stdout).contains("double-lock"));
    let second = run_tree();
    assert_eq!(inputs_hashed(&second), (0, 2), "both known by their stat");
    assert!(report_from_cache(&second));
    assert_eq!(first.stdout, second.stdout);

    // A same-size edit with the old mtime put back: the ctime moved, so
    // a.c is read again and the fix shows.
    let old = std::fs::metadata(&a).and_then(|m| m.modified()).expect("mtime");
    std::fs::write(&a, &single).expect("write");
    std::fs::File::options().write(true).open(&a).and_then(|f| f.set_modified(old)).expect("set mtime");
    let third = run_tree();
    assert_eq!(inputs_hashed(&third), (1, 1), "a.c read, b.c known");
    assert!(!report_from_cache(&third));
    assert!(!String::from_utf8_lossy(&third.stdout).contains("double-lock"), "the fix shows");

    // A file just written is racy: read on every run until it is older.
    std::fs::write(&b, "static int g(void) { return 1; }\n").expect("write");
    assert_eq!(inputs_hashed(&run_tree()).0, 1);
    assert_eq!(inputs_hashed(&run_tree()).0, 1, "still racy, still read");
}

/// A first run (no stat index for its paths) keys its report with the
/// hashes its loader computed instead of reading every file twice; the key
/// must be the one a later run computes from the index, and a run whose
/// index is gone (a restored cache, a new checkout) is still answered.
#[test]
fn without_a_stat_index_the_report_key_comes_from_the_loaded_files() {
    let cache = tempfile::tempdir().expect("tempdir");
    let tree = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tree.path().join("a.c"), tree.path().join("b.c"));
    std::fs::write(&a, "static DEFINE_MUTEX(m);\nstatic void f(void)\n{\n\tmutex_lock(&m);\n\tmutex_lock(&m);\n}\n")
        .expect("write");
    std::fs::write(&b, "static int g(void) { return 0; }\n").expect("write");
    age(&a);
    age(&b);
    let run_tree = || check_at(Path::new(LOCKPATH), cache.path(), tree.path()).output().expect("lockpath runs");
    let first = run_tree();
    assert_ran(&first);
    assert_eq!(inputs_hashed(&first), (2, 0), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(cache_counts(&first), (0, 2, 0));
    let second = run_tree();
    assert!(report_from_cache(&second), "the index's key is the loader's: {}", String::from_utf8_lossy(&second.stderr));
    assert_eq!(inputs_hashed(&second), (0, 2));

    for index in files_with(cache.path(), "stat") {
        std::fs::remove_file(index).expect("remove the index");
    }
    let third = run_tree();
    assert!(report_from_cache(&third), "{}", String::from_utf8_lossy(&third.stderr));
    assert_eq!(cache_counts(&third), (2, 0, 0), "facts from the cache, then the report");
    assert_eq!(first.stdout, third.stdout);
    assert_eq!(inputs_hashed(&run_tree()), (0, 2), "the index is back");
}

#[test]
fn a_corrupt_stat_index_is_named_once_and_rebuilt() {
    let cache = tempfile::tempdir().expect("tempdir");
    let tree = tempfile::tempdir().expect("tempdir");
    let a = tree.path().join("a.c");
    std::fs::write(&a, "static int g(void) { return 0; }\n").expect("write");
    age(&a);
    let run_tree = || check_at(Path::new(LOCKPATH), cache.path(), tree.path()).output().expect("lockpath runs");
    let first = run_tree();
    let index = files_with(cache.path(), "stat");
    assert_eq!(index.len(), 1, "one index for one scope");
    let mut bytes = std::fs::read(&index[0]).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&index[0], bytes).expect("write");
    let second = run_tree();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(notices(&stderr, "corrupt stat index ignored and rebuilt").len(), 1, "{stderr}");
    assert_eq!(inputs_hashed(&second), (1, 0), "every input hashed again");
    assert_eq!(first.stdout, second.stdout);
    let third = run_tree();
    assert!(notices(&String::from_utf8_lossy(&third.stderr), "stat index").is_empty(), "rebuilt");
    assert_eq!(inputs_hashed(&third), (0, 1));
}

#[test]
fn a_file_known_by_its_stat_comes_from_the_cache_unread_with_its_utf8_note() {
    let cache = tempfile::tempdir().expect("tempdir");
    let tree = tempfile::tempdir().expect("tempdir");
    let a = tree.path().join("a.c");
    std::fs::write(&a, b"static int f(void) { return 0; } /* caf\xe9 */\n").expect("write");
    age(&a);
    let run_tree = || {
        forget_reports(cache.path());
        check_at(Path::new(LOCKPATH), cache.path(), tree.path()).output().expect("lockpath runs")
    };
    let first = run_tree();
    let second = run_tree();
    assert_eq!(inputs_hashed(&second), (0, 1), "known by its stat");
    assert_eq!(cache_counts(&second).0, 1, "its facts from the cache");
    for out in [&first, &second] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(notices(&stderr, "a.c: not valid UTF-8; analysed as bytes").len(), 1, "{stderr}");
    }
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn stat_indexes_are_kept_for_the_32_most_recent_sets_of_paths() {
    let cache = tempfile::tempdir().expect("tempdir");
    let tree = tempfile::tempdir().expect("tempdir");
    for i in 0..34 {
        let dir = tree.path().join(format!("d{i:02}"));
        std::fs::create_dir(&dir).expect("mkdir");
        let file = dir.join("a.c");
        std::fs::write(&file, format!("static int f{i}(void) {{ return {i}; }}\n")).expect("write");
        age(&file);
        let out = check_at(Path::new(LOCKPATH), cache.path(), &dir).output().expect("lockpath runs");
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(files_with(cache.path(), "stat").len(), 32, "the oldest two are gone");
}
