//! The overlay: contents that stand in for the disk (a patch applied in
//! memory, an unsaved buffer) are what is analysed, files it adds are found
//! below the given directory, files it deletes are gone, and the disk is
//! never written.

use lockpath::{driver, model::Model, overlay::Overlay};
use std::path::Path;

/// Returns -ENOMEM with the mutex held: a lock-imbalance on line 6.
const LEAKS: &str = "struct foo_dev { struct mutex lock; };
static int foo_set(struct foo_dev *dev, int v)
{
\tmutex_lock(&dev->lock);
\tif (!kmalloc(v, GFP_KERNEL))
\t\treturn -ENOMEM;
\tmutex_unlock(&dev->lock);
\treturn 0;
}
";

fn run(dir: &Path, overlay: Overlay) -> driver::Report {
    let model = Model::builtin().expect("built-in model");
    let opts = crate::check_options(vec![dir.to_path_buf()], false, overlay);
    driver::run(&model, &opts)
}

fn checks(report: &driver::Report) -> Vec<(String, &'static str)> {
    report.findings.iter().map(|f| (report.files[f.file as usize].display.clone(), f.check)).collect()
}

#[test]
fn overlay_replaces_adds_and_deletes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixed = LEAKS.replace("\t\treturn -ENOMEM;", "\t\tv = 1;");
    std::fs::write(dir.path().join("a.c"), &fixed).expect("write");
    std::fs::write(dir.path().join("gone.c"), LEAKS).expect("write");

    let on_disk = checks(&run(dir.path(), Overlay::default()));
    assert_eq!(on_disk.len(), 1, "{on_disk:?}");
    assert!(on_disk[0].0.ends_with("gone.c") && on_disk[0].1 == "lock-imbalance", "{on_disk:?}");

    let mut overlay = Overlay::default();
    overlay.delete(&dir.path().join("gone.c"));
    overlay.set(&dir.path().join("sub/new.c"), LEAKS.as_bytes().to_vec());
    overlay.set(&dir.path().join("a.c"), LEAKS.as_bytes().to_vec());
    let seen = run(dir.path(), overlay);
    let mut files: Vec<&str> = seen.files.iter().map(|f| f.display.as_str()).collect();
    files.sort();
    assert!(files.iter().any(|f| f.ends_with("sub/new.c")), "{files:?}");
    assert!(!files.iter().any(|f| f.ends_with("gone.c")), "{files:?}");
    let found = checks(&seen);
    assert!(found.iter().any(|(f, c)| f.ends_with("a.c") && *c == "lock-imbalance"), "{found:?}");
    assert!(found.iter().any(|(f, c)| f.ends_with("new.c") && *c == "lock-imbalance"), "{found:?}");

    // The disk is untouched.
    assert_eq!(std::fs::read_to_string(dir.path().join("a.c")).expect("read"), fixed);
    assert!(dir.path().join("gone.c").exists());
    assert!(!dir.path().join("sub").exists());
}

/// A watched run counts its files and ends in the last phase, which the
/// language server turns into `parsing N/M files` progress reports.
#[test]
fn a_watched_run_counts_its_files_and_phases() {
    use std::sync::atomic::Ordering::Relaxed;
    let dir = tempfile::tempdir().expect("temp dir");
    for i in 0..3 {
        std::fs::write(dir.path().join(format!("f{i}.c")), LEAKS).expect("write");
    }
    let model = Model::builtin().expect("built-in model");
    let watch = std::sync::Arc::new(driver::RunProgress::default());
    assert_eq!(watch.describe(), ("finding files".to_string(), 0));
    let opts = driver::Options {
        held_at: Vec::new(),
        paths: vec![dir.path().to_path_buf()],
        tree_context: false,
        max_file_size: 16 << 20,
        want_order_graph: false,
        progress: false,
        overlay: Overlay::default(),
        cache_dir: None,
        watch: Some(watch.clone()),
    };
    let report = driver::run(&model, &opts);
    assert_eq!(report.findings.len(), 3);
    assert_eq!((watch.files_done.load(Relaxed), watch.files_total.load(Relaxed)), (3, 3));
    assert_eq!(watch.describe(), ("checking".to_string(), 100));
    watch.phase.store(0, Relaxed);
    assert_eq!(watch.describe(), ("parsing 3/3 files".to_string(), 100));
}
