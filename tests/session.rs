//! Sessions: after an edit, the incremental run reports exactly what a
//! whole run on the same contents reports — lines moved, calls added and
//! removed, functions added — and an edit it cannot follow falls back to a
//! whole run.

use lockpath::{debug::finding_lines, driver, model::Model, overlay::Overlay, session};
use std::path::{Path, PathBuf};

fn options(paths: Vec<PathBuf>, overlay: Overlay) -> driver::Options {
    crate::check_options(paths, true, overlay)
}

/// Runs the session on `overlay` and a whole run beside it; returns how
/// the session answered and the findings both agree on.
fn step(model: &Model, s: &mut session::Session, paths: &[PathBuf], overlay: &Overlay) -> (session::Pass, Vec<String>) {
    let opts = options(paths.to_vec(), overlay.clone());
    let (report, pass) = s.run(&opts);
    let whole = driver::run(model, &opts);
    let (mine, theirs) = (finding_lines(&report), finding_lines(&whole));
    assert_eq!(mine, theirs, "after {pass:?} the session and a whole run disagree");
    (pass, mine)
}

fn seed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lsp-seed")
}

#[test]
fn session_follows_edits_of_the_seed_tree_incrementally() {
    let model = Model::builtin().expect("built-in model");
    let root = seed();
    let paths = vec![root.clone()];
    let oom = root.join("mm/oom_kill.c");
    let original = std::fs::read_to_string(&oom).expect("seed file");
    let mut s = session::Session::new(&model);
    let mut overlay = Overlay::default();

    let (pass, first) = step(&model, &mut s, &paths, &overlay);
    assert!(matches!(pass, session::Pass::Whole), "{pass:?}");
    assert!(first.iter().any(|l| l.starts_with("fault-under-lock mm/oom_kill.c:15:")), "{first:#?}");

    // Three lines above every function: each finding and hop moves down.
    overlay.set(&oom, format!("/* one */\n/* two */\n/* three */\n{original}").into_bytes());
    let (pass, moved) = step(&model, &mut s, &paths, &overlay);
    // Nothing but their place changed: nothing is analysed again.
    assert!(matches!(&pass, session::Pass::Incremental(st) if st.functions_analysed == 0), "{pass:?}");
    assert!(moved.iter().any(|l| l.starts_with("fault-under-lock mm/oom_kill.c:18:")), "{moved:#?}");

    // The offending call removed: the fault-under-lock goes.
    overlay.set(&oom, original.replace("\tif (!try_futex_exit_release(tsk))\n\t\tgoto out_unlock;\n", "").into_bytes());
    let (pass, fixed) = step(&model, &mut s, &paths, &overlay);
    assert!(matches!(pass, session::Pass::Incremental(_)), "{pass:?}");
    assert!(!fixed.iter().any(|l| l.starts_with("fault-under-lock")), "{fixed:#?}");

    // A function added that calls the futex helper under the lock again.
    let added = format!(
        "{original}\nstatic void oom_reap_again(struct task_struct *tsk, struct mm_struct *mm)\n{{\n\tif (!mmap_read_trylock(mm))\n\t\treturn;\n\ttry_futex_exit_release(tsk);\n\tmmap_read_unlock(mm);\n}}\n"
    );
    overlay.set(&oom, added.into_bytes());
    let (pass, again) = step(&model, &mut s, &paths, &overlay);
    assert!(matches!(pass, session::Pass::Incremental(_)), "{pass:?}");
    assert!(
        again.iter().any(|l| l.contains("oom_kill.c:") && l.contains("oom_reap_again")
            || l.starts_with("fault-under-lock mm/oom_kill.c:27:")),
        "{again:#?}"
    );

    // Every function removed: tombstones, nothing reported in the file.
    overlay.set(&oom, b"// empty now\n".to_vec());
    let (pass, gone) = step(&model, &mut s, &paths, &overlay);
    assert!(matches!(pass, session::Pass::Incremental(_)), "{pass:?}");
    assert!(!gone.iter().any(|l| l.contains("mm/oom_kill.c")), "{gone:#?}");

    // Back again (new ids), with a new struct: still incremental.
    overlay.set(&oom, format!("struct oom_bench {{ int a; }};\n{original}").into_bytes());
    let (pass, back) = step(&model, &mut s, &paths, &overlay);
    assert!(matches!(pass, session::Pass::Incremental(_)), "{pass:?}");
    assert!(back.iter().any(|l| l.starts_with("fault-under-lock mm/oom_kill.c:16:")), "{back:#?}");

    // A struct's members changed: the program is rebuilt, the answer right.
    overlay.set(&oom, format!("struct oom_bench {{ int a, b; }};\n{original}").into_bytes());
    let (pass, rebuilt) = step(&model, &mut s, &paths, &overlay);
    assert!(matches!(pass, session::Pass::Whole), "{pass:?}");
    assert_eq!(rebuilt, back);

    // Nothing changed since: answered as it stands.
    let (pass, _) = step(&model, &mut s, &paths, &overlay);
    assert!(matches!(pass, session::Pass::Unchanged), "{pass:?}");
}

/// Every fixture directory, every file edited in turn (a line added at its
/// top, so every line below moves; then a line added inside its first
/// function, so that function changes and the ones below it move): the
/// session agrees with a whole run after each edit, and answers it
/// incrementally.
#[test]
fn session_agrees_with_whole_runs_on_every_fixture_edit() {
    let model = Model::builtin().expect("built-in model");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(&fixtures).expect("fixtures").flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let mut incremental = 0;
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "c"))
            .collect();
        files.sort();
        let paths = vec![dir.clone()];
        let mut s = session::Session::new(&model);
        let mut overlay = Overlay::default();
        step(&model, &mut s, &paths, &overlay);
        for file in files {
            let text = std::fs::read_to_string(&file).expect("fixture");
            overlay.set(&file, format!("/* moved */\n{text}").into_bytes());
            let (pass, _) = step(&model, &mut s, &paths, &overlay);
            incremental += usize::from(matches!(pass, session::Pass::Incremental(_)));
            if let Some(body) = text.find("\n{\n") {
                let (head, tail) = text.split_at(body + 3);
                overlay.set(&file, format!("{head}\t/* edited */\n{tail}").into_bytes());
                let (pass, _) = step(&model, &mut s, &paths, &overlay);
                incremental += usize::from(matches!(pass, session::Pass::Incremental(_)));
            }
        }
    }
    assert!(incremental > 100, "only {incremental} edits were followed incrementally");
}

/// A file changed on disk is read again once the session is told, and only
/// then (it compares overlays, not the disk).
#[test]
fn session_reads_files_it_is_told_changed_on_disk() {
    let model = Model::builtin().expect("built-in model");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a.c");
    let leaks = "struct foo_dev { struct mutex lock; };\nstatic int foo_set(struct foo_dev *dev, int v)\n{\n\tmutex_lock(&dev->lock);\n\tif (!kmalloc(v, GFP_KERNEL))\n\t\treturn -ENOMEM;\n\tmutex_unlock(&dev->lock);\n\treturn 0;\n}\n";
    std::fs::write(&file, leaks.replace("\t\treturn -ENOMEM;\n", "\t\tv = 1;\n")).expect("write");
    let paths = vec![dir.path().to_path_buf()];
    let mut s = session::Session::new(&model);
    let overlay = Overlay::default();
    let (_, clean) = step(&model, &mut s, &paths, &overlay);
    assert!(clean.is_empty(), "{clean:#?}");
    std::fs::write(&file, leaks).expect("write");
    let (report, pass) = s.run(&options(paths.clone(), overlay.clone()));
    assert!(matches!(pass, session::Pass::Unchanged) && report.findings.is_empty(), "{pass:?}");
    s.disk_changed([file.clone()]);
    let (pass, leaking) = step(&model, &mut s, &paths, &overlay);
    assert!(matches!(pass, session::Pass::Incremental(_)), "{pass:?}");
    assert!(leaking.iter().any(|l| l.starts_with("lock-imbalance ") && l.contains("a.c:6:")), "{leaking:#?}");
}
