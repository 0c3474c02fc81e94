//! `lockpath lsp` as an editor meets it: the real binary, spawned, spoken
//! to over stdio with LSP framing. The workspace is a copy of
//! `tests/lsp-seed/` (the OOM-reaper robust-futex patch in three files of a
//! stand-in kernel tree). Every wait has a deadline, so a hung server fails
//! its test instead of hanging the run.

mod client;

use client::{file_uri, is_publish, Client};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const LOCKPATH: &str = env!("CARGO_BIN_EXE_lockpath");
const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lsp-seed");

/// Long enough for a debug build on a loaded 2-core machine; the seed tree
/// is analysed in milliseconds.
const WAIT: Duration = Duration::from_secs(60);

/// The seed's call, `if (!try_futex_exit_release(tsk))`, line 15 (0-based
/// 14), with the `goto` under it.
const OFFENDING_CALL: &str = "\tif (!try_futex_exit_release(tsk))\n\t\tgoto out_unlock;\n";

/// The hops of the seed's witness path: file, 0-based line, function.
const SEED_HOPS: &[(&str, u64, &str)] = &[
    ("mm/oom_kill.c", 8, "oom_reap_task_mm"),
    ("mm/oom_kill.c", 14, "oom_reap_task_mm"),
    ("kernel/futex/core.c", 46, "try_futex_exit_release"),
    ("kernel/futex/core.c", 38, "futex_cleanup"),
    ("kernel/futex/core.c", 23, "exit_robust_list"),
    ("kernel/futex/core.c", 9, "fetch_robust_entry"),
];

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

#[test]
fn lsp_seed_fault_is_a_diagnostic_with_every_hop_and_an_edit_removes_it() {
    let ws = Workspace::new();
    let mut lsp = start(&ws, json!({}));
    let oom = ws.uri("mm/oom_kill.c");
    lsp.open(&oom, &ws.read("mm/oom_kill.c"), 1);
    let diags = lsp.diagnostics_for(&oom, |d| !d.is_empty());
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert_eq!(d["code"], "fault-under-lock");
    assert_eq!(d["source"], "lockpath");
    assert_eq!(d["severity"], 1, "error");
    assert_eq!(d["range"], json!({"start": {"line": 14, "character": 6}, "end": {"line": 14, "character": 28}}));
    let message = d["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("user-memory access may fault while mm_struct::mmap_lock is held"), "{message}");
    let href = d["codeDescription"]["href"].as_str().unwrap_or_default();
    let doc = url_path(href).and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    assert!(doc.contains("## What it catches"), "{href} holds the check's explanation: {doc}");
    let hops = d["relatedInformation"].as_array().cloned().unwrap_or_default();
    assert_eq!(hops.len(), SEED_HOPS.len(), "{hops:#?}");
    for (hop, (file, line, function)) in hops.iter().zip(SEED_HOPS) {
        assert_eq!(hop["location"]["uri"], ws.uri(file), "{hop:#?}");
        assert_eq!(hop["location"]["range"]["start"]["line"], *line, "{hop:#?}");
        let note = hop["message"].as_str().unwrap_or_default();
        assert!(note.starts_with(&format!("{function}: ")), "{hop:#?}");
    }
    assert!(hops[5]["message"].as_str().unwrap_or_default().contains("get_user() may fault"), "{hops:#?}");
    // The initial index reported progress, begin to end.
    lsp.wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end");
    assert!(lsp.seen.iter().any(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "begin"));

    // Delete the call (lines 14-15) in the buffer; the file on disk keeps it.
    let edit =
        json!({"range": {"start": {"line": 14, "character": 0}, "end": {"line": 16, "character": 0}}, "text": ""});
    lsp.change(&oom, 2, vec![edit]);
    let msg = lsp.wait_for(|m| is_publish(m, &oom) && m["params"]["diagnostics"] == json!([]));
    assert_eq!(msg["params"]["version"], 2);
    assert!(ws.read("mm/oom_kill.c").contains(OFFENDING_CALL), "the disk is never written");
    assert_eq!(lsp.shutdown_and_exit().code(), Some(0));
}

#[test]
fn lsp_an_edit_in_the_callee_updates_the_callers_file() {
    let ws = Workspace::new();
    let mut lsp = start(&ws, json!({}));
    let core = ws.uri("kernel/futex/core.c");
    let oom = ws.uri("mm/oom_kill.c");
    let text = ws.read("kernel/futex/core.c");
    lsp.open(&core, &text, 1);
    lsp.diagnostics_for(&core, |d| d.is_empty());
    // Without the get_user(), nothing faults: oom_kill.c (not open) is told.
    let no_fault = text.replace("get_user(uentry, (unsigned long __user *)head)", "0");
    lsp.change(&core, 2, vec![json!({"text": no_fault})]);
    lsp.diagnostics_for(&oom, |d| d.is_empty());
    lsp.change(&core, 3, vec![json!({"text": text})]);
    let diags = lsp.diagnostics_for(&oom, |d| !d.is_empty());
    assert_eq!(diags[0]["code"], "fault-under-lock", "{diags:#?}");
    assert_eq!(lsp.shutdown_and_exit().code(), Some(0));
}

#[test]
fn lsp_hover_and_explain_code_action_on_the_finding() {
    let ws = Workspace::new();
    let mut lsp = start(&ws, json!({}));
    let oom = ws.uri("mm/oom_kill.c");
    lsp.open(&oom, &ws.read("mm/oom_kill.c"), 1);
    let diags = lsp.diagnostics_for(&oom, |d| !d.is_empty());
    let at = json!({"textDocument": {"uri": oom}, "position": {"line": 14, "character": 10}});
    let hover = lsp.request("textDocument/hover", at);
    let text = hover["result"]["contents"]["value"].as_str().unwrap_or_default();
    assert!(text.contains("**fault-under-lock**: user-memory access may fault while mm_struct::mmap_lock"), "{text}");
    assert!(text.contains("6. `kernel/futex/core.c:10` fetch_robust_entry: get_user() may fault"), "{text}");
    let elsewhere = json!({"textDocument": {"uri": oom}, "position": {"line": 2, "character": 0}});
    assert_eq!(lsp.request("textDocument/hover", elsewhere)["result"], Value::Null);

    let range = diags[0]["range"].clone();
    let params = json!({"textDocument": {"uri": oom}, "range": range, "context": {"diagnostics": diags}});
    let actions = lsp.request("textDocument/codeAction", params);
    let action = &actions["result"][0];
    assert_eq!(action["title"], "Explain lockpath check fault-under-lock", "{actions:#?}");
    let command = action["command"].clone();
    let run = lsp
        .request("workspace/executeCommand", json!({"command": command["command"], "arguments": command["arguments"]}));
    assert_eq!(run["result"], Value::Null, "{run:#?}");
    let show = lsp.wait_for(|m| m["method"] == "window/showDocument");
    let href = diags[0]["codeDescription"]["href"].clone();
    assert_eq!(show["params"]["uri"], href, "opens the check's explanation");
    assert_eq!(lsp.shutdown_and_exit().code(), Some(0));
}

#[test]
fn lsp_hover_on_a_call_shows_the_locks_held_there() {
    let ws = Workspace::new();
    let mut lsp = start(&ws, json!({}));
    let oom = ws.uri("mm/oom_kill.c");
    lsp.open(&oom, &ws.read("mm/oom_kill.c"), 1);
    lsp.diagnostics_for(&oom, |d| !d.is_empty());
    let hover_text = |lsp: &mut Client, line: u32, character: u32| {
        let at = json!({"textDocument": {"uri": oom}, "position": {"line": line, "character": character}});
        lsp.request("textDocument/hover", at)["result"]["contents"]["value"].as_str().unwrap_or_default().to_string()
    };
    // Opening it asked for a run that records the lock state at its calls;
    // until it ends, hover has nothing to say there.
    let deadline = Instant::now() + WAIT;
    let text = loop {
        // `ret = __oom_reap_task_mm(mm);` runs with the trylock's lock held.
        let text = hover_text(&mut lsp, 16, 12);
        if !text.is_empty() || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(text.starts_with("**`__oom_reap_task_mm()`**"), "{text}\n{}", lsp.stderr());
    assert!(text.contains("Held here: `mm_struct::mmap_lock (read)`."), "{text}");
    // The failure branch of the trylock holds nothing.
    let text = hover_text(&mut lsp, 9, 4);
    assert!(text.starts_with("**`trace_skip_task_reaping()`**"), "{text}");
    assert!(text.contains("No lock is held here on every path."), "{text}");
    // A lock call says what it takes.
    let text = hover_text(&mut lsp, 18, 3);
    assert!(text.starts_with("**`mmap_read_unlock()`**"), "{text}");
    assert!(text.contains("Held here: `mm_struct::mmap_lock (read)`."), "{text}");
    // After an edit, until the run that reads it, no call state is shown
    // for the old text's ranges (the finding's hover stays).
    lsp.change(
        &oom,
        2,
        vec![
            json!({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "\n"}),
        ],
    );
    let text = hover_text(&mut lsp, 16, 12);
    assert!(!text.contains("__oom_reap_task_mm"), "{text}");
    assert_eq!(lsp.shutdown_and_exit().code(), Some(0));
}

#[test]
fn lsp_malformed_input_and_unknown_methods_leave_it_answering() {
    let ws = Workspace::new();
    let mut lsp = start(&ws, json!({}));
    lsp.send_raw(b"Content-Length: 9\r\n\r\n{not json");
    lsp.send_raw(b"Content-Length: 8\r\n\r\n{\"a\": 1}");
    lsp.send_raw(b"this is no header\r\n\r\n");
    lsp.send_raw(b"Content-Length: 99999999999\r\n\r\n");
    for _ in 0..4 {
        let err = lsp.wait_for(|m| m.get("id") == Some(&Value::Null) && m.get("error").is_some());
        assert_eq!(err["error"]["code"], -32700, "{err}");
    }
    let unknown = lsp.request("textDocument/noSuchThing", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    lsp.notify("workspace/noSuchNotification", json!({"x": 1}));
    lsp.notify("textDocument/didOpen", json!({"textDocument": 17}));
    let bad = lsp.request("textDocument/hover", json!({"nonsense": true}));
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
    // Still answering, and still analysing.
    let oom = ws.uri("mm/oom_kill.c");
    lsp.open(&oom, &ws.read("mm/oom_kill.c"), 1);
    lsp.diagnostics_for(&oom, |d| !d.is_empty());
    let after = lsp.request("shutdown", Value::Null);
    assert_eq!(after["result"], Value::Null);
    let late = lsp.request("textDocument/hover", json!({}));
    assert_eq!(late["error"]["code"], -32600, "requests after shutdown are refused: {late}");
    lsp.notify("exit", Value::Null);
    assert_eq!(lsp.wait_exit().code(), Some(0), "{}", lsp.stderr());
}

#[test]
fn lsp_files_outside_the_root_and_a_file_deleted_while_open() {
    let ws = Workspace::new();
    let mut lsp = start(&ws, json!({}));
    let outside_dir = tempfile::tempdir().expect("tempdir");
    let outside = outside_dir.path().join("elsewhere.c");
    std::fs::write(&outside, ws.read("mm/oom_kill.c")).expect("write");
    let outside_uri = file_uri(&outside);
    lsp.open(&outside_uri, &ws.read("mm/oom_kill.c"), 1);
    let hover = json!({"textDocument": {"uri": outside_uri}, "position": {"line": 14, "character": 10}});
    assert_eq!(lsp.request("textDocument/hover", hover)["result"], Value::Null);

    let oom = ws.uri("mm/oom_kill.c");
    let text = ws.read("mm/oom_kill.c");
    lsp.open(&oom, &text, 1);
    lsp.diagnostics_for(&oom, |d| !d.is_empty());
    std::fs::remove_file(ws.path("mm/oom_kill.c")).expect("delete");
    // The buffer is what counts while it is open.
    lsp.change(&oom, 2, vec![json!({"text": text.replace(OFFENDING_CALL, "")})]);
    lsp.diagnostics_for(&oom, |d| d.is_empty());
    lsp.close(&oom);
    let at = json!({"textDocument": {"uri": oom}, "position": {"line": 14, "character": 10}});
    assert_eq!(lsp.request("textDocument/hover", at)["result"], Value::Null);
    // A buffer of a file that exists nowhere else is analysed too.
    lsp.open(&oom, &text, 3);
    lsp.diagnostics_for(&oom, |d| !d.is_empty());
    assert!(!lsp.seen.iter().any(|m| is_publish(m, &outside_uri)), "files outside the root are not analysed");
    assert_eq!(lsp.shutdown_and_exit().code(), Some(0));
}

#[test]
fn lsp_an_edit_storm_is_coalesced_and_answered() {
    // A short wait, and the default one.
    for settings in [json!({"debounceMs": 100}), json!({})] {
        edit_storm(settings);
    }
}

fn edit_storm(settings: Value) {
    let ws = Workspace::new();
    let mut lsp = start(&ws, settings);
    let oom = ws.uri("mm/oom_kill.c");
    let text = ws.read("mm/oom_kill.c");
    lsp.open(&oom, &text, 1);
    lsp.diagnostics_for(&oom, |d| !d.is_empty());
    let started = Instant::now();
    for version in 2..=1001 {
        // Type a comment on line 3 one character at a time, and take it back.
        let (range, typed) = if version % 2 == 0 {
            (json!({"start": {"line": 3, "character": 0}, "end": {"line": 3, "character": 0}}), "x")
        } else {
            (json!({"start": {"line": 3, "character": 0}, "end": {"line": 3, "character": 1}}), "")
        };
        lsp.change(&oom, version, vec![json!({"range": range, "text": typed})]);
    }
    let hover = json!({"textDocument": {"uri": oom}, "position": {"line": 14, "character": 10}});
    let answer = lsp.request("textDocument/hover", hover);
    assert!(answer.get("result").is_some(), "{answer}");
    // The last change removes the call: the final diagnostics are empty.
    lsp.change(&oom, 1002, vec![json!({"text": text.replace(OFFENDING_CALL, "")})]);
    let msg = lsp.wait_for(|m| is_publish(m, &oom) && m["params"]["version"] == 1002);
    assert_eq!(msg["params"]["diagnostics"], json!([]), "{msg:#?}");
    let took = started.elapsed();
    let runs = lsp.seen.iter().filter(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "begin");
    assert!(runs.count() < 100, "1,000 edits are coalesced into a few runs");
    assert!(took < Duration::from_secs(30), "the storm took {took:?}");
    assert_eq!(lsp.shutdown_and_exit().code(), Some(0));
}

#[test]
fn lsp_a_finding_that_stays_the_same_is_positioned_in_the_text_as_it_is_now() {
    let ws = Workspace::new();
    let mut lsp = start(&ws, json!({}));
    let (oom, core) = (ws.uri("mm/oom_kill.c"), ws.uri("kernel/futex/core.c"));
    let text = ws.read("kernel/futex/core.c");
    lsp.open(&oom, &ws.read("mm/oom_kill.c"), 1);
    lsp.open(&core, &text, 1);
    let last_hop = |d: &[Value]| d.first().map(|d| d["relatedInformation"][5]["location"]["range"]["start"].clone());
    lsp.diagnostics_for(&oom, |d| last_hop(d) == Some(json!({"line": 9, "character": 5})));
    // A tab moved across a line break: every byte offset stays, and so does
    // the finding (the diagnostic kept from the last run must not be).
    let moved = text.replacen("uentry;\n\n\tif (get_user", "uentry;\n\t\nif (get_user", 1);
    assert_ne!(moved, text);
    lsp.change(&core, 2, vec![json!({"text": moved})]);
    lsp.diagnostics_for(&oom, |d| last_hop(d) == Some(json!({"line": 9, "character": 4})));
    assert_eq!(lsp.shutdown_and_exit().code(), Some(0));
}

#[test]
fn lsp_positions_are_utf16_unless_utf8_is_agreed() {
    let ws = Workspace::new();
    // `é` is 2 bytes and 1 UTF-16 unit, `𝄞` 4 bytes and 2 units: the call
    // moves 13 bytes, 10 UTF-16 units.
    let text = ws.read("mm/oom_kill.c").replace("\tif (!try_futex", "\t/* é𝄞 */ if (!try_futex");
    for (encodings, character) in [(json!(["utf-16"]), 6 + 10), (json!(["utf-8", "utf-16"]), 6 + 13)] {
        let mut lsp = start_with(&ws, json!({}), json!({"general": {"positionEncodings": encodings}}));
        let oom = ws.uri("mm/oom_kill.c");
        lsp.open(&oom, &text, 1);
        let diags = lsp.diagnostics_for(&oom, |d| !d.is_empty());
        assert_eq!(diags[0]["range"]["start"], json!({"line": 14, "character": character}), "{encodings}");
        assert_eq!(lsp.shutdown_and_exit().code(), Some(0));
    }
}

#[test]
fn lsp_paths_limit_the_analysis_and_open_files_join_it() {
    let ws = Workspace::new();
    let mut lsp = start(&ws, json!({"paths": ["mm"]}));
    let oom = ws.uri("mm/oom_kill.c");
    lsp.open(&oom, &ws.read("mm/oom_kill.c"), 1);
    // Without kernel/futex/ analysed, nothing is known to fault.
    lsp.diagnostics_for(&oom, |d| d.is_empty());
    // Opening a file below the root adds it to the analysis.
    let core = ws.uri("kernel/futex/core.c");
    lsp.open(&core, &ws.read("kernel/futex/core.c"), 1);
    let diags = lsp.diagnostics_for(&oom, |d| !d.is_empty());
    assert_eq!(diags[0]["code"], "fault-under-lock", "{diags:#?}");
    assert_eq!(lsp.shutdown_and_exit().code(), Some(0));
}

#[test]
fn lsp_the_path_is_in_the_message_for_clients_without_related_information() {
    let ws = Workspace::new();
    let caps = json!({"textDocument": {"publishDiagnostics": {"relatedInformation": false}}});
    let mut lsp = start_with(&ws, json!({}), caps);
    let oom = ws.uri("mm/oom_kill.c");
    lsp.open(&oom, &ws.read("mm/oom_kill.c"), 1);
    let diags = lsp.diagnostics_for(&oom, |d| !d.is_empty());
    let message = diags[0]["message"].as_str().unwrap_or_default();
    assert!(diags[0].get("relatedInformation").is_none_or(Value::is_null), "{diags:#?}");
    for (file, line, function) in SEED_HOPS {
        assert!(message.contains(&format!("\n  {function} ({file}:{})", line + 1)), "{message}");
    }
    assert_eq!(lsp.shutdown_and_exit().code(), Some(0));
}

#[test]
fn lsp_ends_cleanly_when_stdin_closes_and_refuses_work_before_initialize() {
    let ws = Workspace::new();
    let mut lsp = spawn(&ws);
    let early = lsp.request("textDocument/hover", json!({}));
    assert_eq!(early["error"]["code"], -32002, "{early}");
    lsp.initialize(ws.dir.path(), json!({}), json!({}));
    lsp.close_stdin();
    assert_eq!(lsp.wait_exit().code(), Some(0), "{}", lsp.stderr());

    let mut lsp = start(&ws, json!({}));
    lsp.notify("exit", Value::Null);
    assert_eq!(lsp.wait_exit().code(), Some(1), "exit without shutdown");
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn spawn(ws: &Workspace) -> Client {
    Client::spawn(LOCKPATH, &[("XDG_CACHE_HOME", ws.cache.path())], WAIT)
}

fn start(ws: &Workspace, options: Value) -> Client {
    start_with(ws, options, json!({}))
}

fn start_with(ws: &Workspace, options: Value, extra_caps: Value) -> Client {
    let mut client = spawn(ws);
    client.initialize(ws.dir.path(), options, extra_caps);
    client
}

/// A copy of the seed tree, and a cache directory for the check docs.
struct Workspace {
    dir: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::Builder::new().prefix("lockpath-lsp-").tempdir().expect("tempdir");
        copy_tree(Path::new(SEED), dir.path());
        Workspace { dir, cache: tempfile::tempdir().expect("tempdir") }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn uri(&self, rel: &str) -> String {
        file_uri(&self.path(rel))
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
}

fn url_path(href: &str) -> Option<PathBuf> {
    href.strip_prefix("file://").map(PathBuf::from)
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read seed tree").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
