//! The check server as a user meets it: `lockpath server PATHS` keeps the
//! analysis, `lockpath check PATHS` from the same directory with the same
//! options is answered from it — byte for byte what a check without it
//! prints — after every kind of change to the tree (an edited function, a
//! new file, a deleted file); other options never reach it; a dead
//! server's socket is ignored; garbage on the socket leaves it answering;
//! `--stop` ends it with status 0 and removes its socket. A patch series
//! checked against a tree a server keeps is analysed there, whole-tree:
//! a callee in another directory than the patch is seen.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const LOCKPATH: &str = env!("CARGO_BIN_EXE_lockpath");
const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lsp-seed");

/// A copy of the seed tree and a cache directory of its own.
struct Tree {
    dir: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_tree(Path::new(SEED), dir.path());
        Tree { dir, cache: tempfile::tempdir().expect("tempdir") }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `lockpath SUBCOMMAND --cache-dir C EXTRA... .`, run in the tree.
    fn command(&self, sub: &str, extra: &[&str]) -> Command {
        let mut cmd = Command::new(LOCKPATH);
        cmd.arg(sub).arg("--cache-dir").arg(self.cache.path()).args(extra).arg(".").current_dir(self.dir.path());
        cmd.env_remove("NO_COLOR");
        cmd
    }

    fn check(&self, extra: &[&str]) -> Output {
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(extra);
        self.command("check", &args).output().expect("lockpath check runs")
    }

    /// Starts `lockpath server` and waits until it says it answers;
    /// returns it and the socket it named.
    fn serve(&self) -> (Child, PathBuf) {
        let mut child = self.command("server", &[]).stderr(Stdio::piped()).spawn().expect("lockpath server starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stderr).lines();
        let ready = lines.next().expect("a first line").expect("readable stderr");
        assert!(ready.contains("answering `lockpath check`"), "{ready}");
        let socket = ready.rsplit_once("(socket ").and_then(|(_, s)| s.strip_suffix(')')).expect("the socket named");
        // Keep draining what the server logs, so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        (child, PathBuf::from(socket))
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).expect("write");
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn served(out: &Output) -> bool {
    stderr(out).contains("answered by the check server")
}

/// The server's answer and a check that does not ask it, side by side.
fn assert_served_as_run(tree: &Tree, step: &str) -> Output {
    let answered = tree.check(&[]);
    assert!(served(&answered), "{step}: not answered by the server:\n{}", stderr(&answered));
    let own = tree.check(&["--no-server"]);
    assert!(!served(&own), "{step}: --no-server asked the server");
    assert_eq!(answered.status.code(), own.status.code(), "{step}: exit status");
    assert_eq!(
        String::from_utf8_lossy(&answered.stdout),
        String::from_utf8_lossy(&own.stdout),
        "{step}: the server's report differs from a check's"
    );
    answered
}

fn finding_count(out: &Output, check: &str) -> usize {
    String::from_utf8_lossy(&out.stdout).matches(&format!("\"check\": \"{check}\"")).count()
}

#[test]
fn server_answers_each_check_as_a_run_would_after_every_kind_of_change() {
    let tree = Tree::new();
    let (mut server, socket) = tree.serve();
    let first = assert_served_as_run(&tree, "unchanged");
    assert_eq!(finding_count(&first, "fault-under-lock"), 1, "{}", String::from_utf8_lossy(&first.stdout));
    assert_eq!(first.status.code(), Some(1));

    // The offending call removed: the fault goes, incrementally.
    let oom = std::fs::read_to_string(tree.path("mm/oom_kill.c")).expect("read");
    tree.write("mm/oom_kill.c", &oom.replace("if (!try_futex_exit_release(tsk))\n\t\tgoto out_unlock;\n", ""));
    let fixed = assert_served_as_run(&tree, "call removed");
    assert_eq!(finding_count(&fixed, "fault-under-lock"), 0);
    assert!(stderr(&fixed).contains("incremental"), "{}", stderr(&fixed));

    // A new file that takes the fault again, then the file deleted.
    tree.write(
        "mm/reaper2.c",
        "#include <linux/futex.h>\nstatic bool reap_again(struct task_struct *tsk, struct mm_struct *mm)\n{\n\tbool ret;\n\tif (!mmap_read_trylock(mm))\n\t\treturn false;\n\tret = try_futex_exit_release(tsk);\n\tmmap_read_unlock(mm);\n\treturn ret;\n}\n",
    );
    let added = assert_served_as_run(&tree, "file added");
    assert_eq!(finding_count(&added, "fault-under-lock"), 1, "{}", String::from_utf8_lossy(&added.stdout));
    std::fs::remove_file(tree.path("mm/reaper2.c")).expect("remove");
    let removed = assert_served_as_run(&tree, "file deleted");
    assert_eq!(finding_count(&removed, "fault-under-lock"), 0);

    // Other options are another analysis: never answered by this server.
    let other = tree.check(&["--no-tree-context"]);
    assert!(!served(&other), "--no-tree-context was answered by the server");

    let stop = tree.command("server", &["--stop"]).output().expect("lockpath server --stop runs");
    assert_eq!(stop.status.code(), Some(0), "{}", stderr(&stop));
    assert_eq!(server.wait().expect("the server exits").code(), Some(0));
    assert!(!socket.exists(), "the socket is left behind");
    assert!(!served(&tree.check(&[])), "answered after the server stopped");
    let again = tree.command("server", &["--stop"]).output().expect("runs");
    assert_eq!(again.status.code(), Some(2), "--stop without a server");
}

#[test]
fn a_dead_servers_socket_is_ignored_and_garbage_leaves_it_answering() {
    let tree = Tree::new();
    let (mut server, socket) = tree.serve();
    // A client that sends nonsense, one that sends a huge length, one
    // that connects and goes: the server reads on.
    for junk in [&b"\x05\x00\x00\x00hello"[..], &[0xff, 0xff, 0xff, 0x7f][..], &[][..]] {
        let mut s = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
        s.write_all(junk).expect("write");
    }
    assert_served_as_run(&tree, "after garbage");

    server.kill().expect("kill");
    server.wait().expect("reaped");
    assert!(socket.exists(), "a killed server cannot remove its socket");
    let out = tree.check(&[]);
    assert!(!served(&out), "answered by a dead server");
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("check server"), "a dead server is not worth a line:\n{}", stderr(&out));

    // A new server takes the stale socket over.
    let (mut server, _) = tree.serve();
    assert_served_as_run(&tree, "new server");
    assert_eq!(tree.command("server", &["--stop"]).output().expect("runs").status.code(), Some(0));
    assert_eq!(server.wait().expect("exits").code(), Some(0));
}

#[test]
fn a_second_server_for_the_same_paths_is_refused() {
    let tree = Tree::new();
    let (mut server, _) = tree.serve();
    let second = tree.command("server", &[]).output().expect("runs");
    assert_ne!(second.status.code(), Some(0));
    assert!(stderr(&second).contains("already runs"), "{}", stderr(&second));
    assert_eq!(tree.command("server", &["--stop"]).output().expect("runs").status.code(), Some(0));
    assert_eq!(server.wait().expect("exits").code(), Some(0));
}

/// The seed tree without the OOM reaper's call, and a patch adding it back
/// in mm/: the fault it introduces lies in kernel/futex/, outside the
/// directories the patch touches.
fn tree_and_patch() -> (Tree, PathBuf) {
    let tree = Tree::new();
    let call = "\tif (!try_futex_exit_release(tsk))\n\t\tgoto out_unlock;\n";
    let with = std::fs::read_to_string(tree.path("mm/oom_kill.c")).expect("read");
    let at = with.find(call).expect("the seed call");
    tree.write("mm/oom_kill.c", &with.replace(call, ""));
    // One hunk: three lines of context before the call, three after.
    let before: Vec<&str> = with[..at].lines().collect();
    let after: Vec<&str> = with[at + call.len()..].lines().collect();
    let (pre, post) = (&before[before.len() - 3..], &after[..3]);
    let start = before.len() - 2;
    let mut patch = format!("--- a/mm/oom_kill.c\n+++ b/mm/oom_kill.c\n@@ -{start},6 +{start},8 @@\n");
    for l in pre {
        patch.push_str(&format!(" {l}\n"));
    }
    for l in call.lines() {
        patch.push_str(&format!("+{l}\n"));
    }
    for l in post {
        patch.push_str(&format!(" {l}\n"));
    }
    let file = tree.cache.path().join("0001-reap-robust-futexes.patch");
    std::fs::write(&file, patch).expect("write the patch");
    (tree, file)
}

fn series(tree: &Tree, patch: &Path, extra: &[&str]) -> Output {
    let mut cmd = Command::new(LOCKPATH);
    cmd.args(["check", "--format", "json", "--cache-dir"]).arg(tree.cache.path()).args(extra).arg(patch);
    cmd.current_dir(tree.dir.path()).output().expect("lockpath check runs")
}

#[test]
fn a_series_is_analysed_whole_tree_on_the_server() {
    let (tree, patch) = tree_and_patch();
    // In this process, the series sees mm/ (and include/): not the callee.
    let here = series(&tree, &patch, &[]);
    assert_eq!(finding_count(&here, "fault-under-lock"), 0, "{}", stderr(&here));
    assert_eq!(here.status.code(), Some(0), "{}", stderr(&here));

    let (mut server, _) = tree.serve();
    let served = series(&tree, &patch, &[]);
    assert!(stderr(&served).contains("analysed on the check server"), "{}", stderr(&served));
    assert_eq!(finding_count(&served, "fault-under-lock"), 1, "{}", String::from_utf8_lossy(&served.stdout));
    let json = String::from_utf8_lossy(&served.stdout);
    assert!(json.contains("\"patch\": \"0001-reap-robust-futexes.patch\""), "{json}");
    assert_eq!(served.status.code(), Some(1));
    // --no-server keeps it here.
    assert_eq!(finding_count(&series(&tree, &patch, &["--no-server"]), "fault-under-lock"), 0);
    // The server answers plain checks from the disk again, which the series never wrote.
    let plain = assert_served_as_run(&tree, "after the series");
    assert_eq!(finding_count(&plain, "fault-under-lock"), 0);

    assert_eq!(tree.command("server", &["--stop"]).output().expect("runs").status.code(), Some(0));
    assert_eq!(server.wait().expect("exits").code(), Some(0));
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
