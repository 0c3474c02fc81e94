//! Fuzz target (a): bytes as a C file through the whole front end and on —
//! attribute blanking, tree-sitter-c, IR extraction (top level, bodies,
//! function-like macros), indexing, analysis, every check and both output
//! formats — in process, one file per input (`lockpath::fuzzing`).
//!
//! Any panic, stack overflow, run over `-timeout` or allocation over
//! `-rss_limit_mb` is a bug: extraction and analysis must never fail.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lockpath::model::Model;
use std::path::PathBuf;
use std::sync::OnceLock;

struct State {
    model: Model,
    /// Where the input is written so the human renderer can read its
    /// source snippets back, as it does in a real run.
    path: PathBuf,
}

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let model = Model::builtin().expect("the built-in lock model loads");
        let dir = std::env::temp_dir().join(format!("lockpath-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        State { model, path: dir.join("input.c") }
    })
}

fuzz_target!(|data: &[u8]| {
    let state = state();
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&tree_sitter_c::LANGUAGE.into()).expect("tree-sitter-c grammar");
    // Without the file on disk the human renderer prints no snippet; the
    // rest still runs, so a failed write is not fatal.
    let _ = std::fs::write(&state.path, data);
    let checked = lockpath::fuzzing::check_bytes(&state.model, &mut parser, &state.path, data);
    // The JSON is ours: it must always be valid.
    assert!(checked.json.starts_with('{'), "json output is an object");
    std::hint::black_box((checked.findings.len(), checked.human.len()));
});
