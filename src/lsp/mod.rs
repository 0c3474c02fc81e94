//! `lockpath lsp`: a language server (LSP 3.17 over stdio) that shows each
//! finding as a diagnostic on the offending call, with the witness path as
//! related locations, while the developer edits.
//!
//! Threads: a reader and a writer (`transport`), the main loop here (state,
//! requests, debouncing), and one analysis worker that runs `reanalyse` on
//! a snapshot of the open buffers. Requests are answered while the worker
//! runs; edits made meanwhile start one more run when it is done.
//!
//! Only this module knows about LSP or JSON-RPC.

mod analysis;
mod convert;
mod documents;
mod explain;
mod features;
mod progress;
mod texts;
mod transport;
mod worker;

use analysis::{Analysed, Job, Style};
use convert::{path_to_uri, uri_to_path, Encoding};
use crossbeam_channel::{select, Receiver, Sender};
use documents::{Document, Documents};
use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::{Diagnostic, PublishDiagnosticsParams, Url};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use transport::{Incoming, Outgoing, Stdio};
use worker::Worker;

/// Exit statuses: `exit` after `shutdown`, or stdin closing, is clean;
/// `exit` without `shutdown` is 1, as LSP asks.
pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_WITHOUT_SHUTDOWN: u8 = 1;

/// Serves one client on stdin/stdout until `exit` or end of input; returns
/// the exit status. Fails only when the threads cannot be started.
pub fn run() -> std::io::Result<u8> {
    let stdio = Stdio::start()?;
    let worker = Worker::start()?;
    let code = Server::new(stdio.outgoing.clone(), worker).serve(&stdio.incoming);
    stdio.finish();
    Ok(code)
}

/// `initializationOptions`, all optional:
/// `{"paths": ["mm", "kernel"], "treeContext": true, "debounceMs": 150,
///   "models": ["/path/my.model"], "jobs": 2, "pathInMessage": false}`.
#[derive(serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Settings {
    /// Sub-directories of the root to analyse (default: all of it).
    paths: Vec<PathBuf>,
    tree_context: bool,
    debounce_ms: u64,
    models: Vec<PathBuf>,
    jobs: Option<usize>,
    /// Write the witness path into each message too.
    path_in_message: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            paths: Vec::new(),
            tree_context: true,
            // Long enough to span the gap between keystrokes, no longer: an
            // edit's run on the whole 6.12 tree takes about 0.15 s, and
            // edits made while a run is in flight are coalesced into the
            // one run that follows it (`serve` starts none while one
            // runs), so the wait need not cover a run as well.
            debounce_ms: 150,
            models: Vec::new(),
            jobs: None,
            path_in_message: false,
        }
    }
}

/// How often a long run reports that it is still going.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

#[derive(PartialEq)]
enum Phase {
    Uninitialised,
    Running,
    ShuttingDown,
}

/// The last run's diagnostics for every analysed file, and the paths it
/// was given.
struct LastRun {
    diagnostics: BTreeMap<PathBuf, Arc<Vec<Diagnostic>>>,
    paths: Vec<PathBuf>,
}

/// The run in flight: when it started, its paths, and the versions of the
/// open documents it analyses.
struct InFlight {
    started: Instant,
    watch: std::sync::Arc<crate::driver::RunProgress>,
    paths: Vec<PathBuf>,
    versions: BTreeMap<PathBuf, i32>,
}

struct Server {
    out: Sender<Outgoing>,
    phase: Phase,
    roots: Vec<PathBuf>,
    settings: Settings,
    style: Style,
    show_document: bool,
    docs: Documents,
    worker: Worker,
    progress: progress::Progress,
    /// `None` until the first run is done.
    latest: Option<LastRun>,
    /// What the client shows, per file (kept for closed files too: closing
    /// a document clears nothing that is still true).
    published: BTreeMap<PathBuf, Vec<Diagnostic>>,
    /// Per open document, the lock state at each call, with the document
    /// version it describes (hover uses it only while the text is that one).
    call_states: BTreeMap<PathBuf, (i32, Vec<(lsp_types::Range, String)>)>,
    running: Option<InFlight>,
    /// When the next run should start (edits debounce it).
    next_run: Option<Instant>,
    next_progress: Option<Instant>,
    requests_sent: u32,
    /// Files the client said changed on disk since the last run started:
    /// the next run reads them again (a session would not notice).
    disk_changes: Vec<PathBuf>,
}

impl Server {
    fn new(out: Sender<Outgoing>, worker: Worker) -> Server {
        Server {
            out,
            phase: Phase::Uninitialised,
            roots: Vec::new(),
            settings: Settings::default(),
            style: Style {
                encoding: Encoding::Utf16,
                related_information: false,
                path_in_message: true,
                docs: Arc::default(),
            },
            show_document: false,
            docs: Documents::default(),
            worker,
            progress: progress::Progress::new(false),
            latest: None,
            published: BTreeMap::new(),
            call_states: BTreeMap::new(),
            running: None,
            next_run: None,
            next_progress: None,
            requests_sent: 0,
            disk_changes: Vec::new(),
        }
    }

    fn serve(mut self, incoming: &Receiver<Incoming>) -> u8 {
        let finished = self.worker.done.clone();
        loop {
            let start_at = if self.running.is_none() { self.next_run } else { None };
            let start_timer = start_at.map_or_else(crossbeam_channel::never, crossbeam_channel::at);
            let progress_timer = self.next_progress.map_or_else(crossbeam_channel::never, crossbeam_channel::at);
            select! {
                recv(incoming) -> msg => match msg {
                    Ok(Incoming::Message(msg)) => {
                        if let Some(code) = self.handle(msg) {
                            return code;
                        }
                    }
                    Ok(Incoming::Malformed(why)) => {
                        log(&format!("malformed message: {why}"));
                        let _ = self.out.send(Outgoing::ParseError(why));
                    }
                    Err(_) => {
                        log("stdin closed, exiting");
                        return EXIT_CLEAN;
                    }
                },
                recv(finished) -> done => match done {
                    Ok(done) => self.finished(done),
                    Err(_) => {
                        log("the analysis worker is gone, exiting");
                        return EXIT_CLEAN;
                    }
                },
                recv(start_timer) -> _ => self.start_run(),
                recv(progress_timer) -> _ => self.still_running(),
            }
        }
    }

    /// One message; `Some(status)` ends the server.
    fn handle(&mut self, msg: Message) -> Option<u8> {
        match msg {
            Message::Request(req) => self.request(req),
            Message::Notification(note) => return self.notification(note),
            Message::Response(resp) => self.progress.answered(&self.out, &resp.id, resp.response_result.is_ok()),
        }
        None
    }

    fn request(&mut self, req: Request) {
        let reply = match (&self.phase, req.method.as_str()) {
            (Phase::Uninitialised, "initialize") => self.initialize(req.params),
            (Phase::Uninitialised, _) => Err((ErrorCode::ServerNotInitialized, "initialize first".into())),
            (Phase::ShuttingDown, _) => Err((ErrorCode::InvalidRequest, "the server is shutting down".into())),
            (Phase::Running, "initialize") => Err((ErrorCode::InvalidRequest, "already initialised".into())),
            (Phase::Running, "shutdown") => {
                self.phase = Phase::ShuttingDown;
                Ok(Value::Null)
            }
            (Phase::Running, "textDocument/hover") => params(req.params).map(|p| json(self.hover(&p))),
            (Phase::Running, "textDocument/codeAction") => {
                params(req.params).map(|p| json(features::code_actions(&p, &self.style.docs)))
            }
            (Phase::Running, "workspace/executeCommand") => params(req.params).and_then(|p| {
                let next_id = &mut self.requests_sent;
                features::execute_command(&p, &self.style.docs, self.show_document, &self.out, || {
                    *next_id += 1;
                    RequestId::from(format!("lockpath/show/{next_id}"))
                })
            }),
            (Phase::Running, method) => Err((ErrorCode::MethodNotFound, format!("unknown method {method}"))),
        };
        let resp = match reply {
            Ok(value) => Response { id: req.id, response_result: Ok(value) },
            Err((code, message)) => Response::new_err(req.id, code as i32, message),
        };
        self.send(Message::Response(resp));
    }

    fn notification(&mut self, note: Notification) -> Option<u8> {
        if note.method == "exit" {
            return Some(if self.phase == Phase::ShuttingDown { EXIT_CLEAN } else { EXIT_WITHOUT_SHUTDOWN });
        }
        if self.phase != Phase::Running {
            return None;
        }
        let method = note.method.clone();
        let outcome = match method.as_str() {
            "initialized" => Ok(()),
            "textDocument/didOpen" => params(note.params).map(|p| self.did_open(p)),
            "textDocument/didChange" => params(note.params).map(|p| self.did_change(p)),
            "textDocument/didSave" => params(note.params).map(|p: lsp_types::DidSaveTextDocumentParams| {
                self.edited_file(&p.text_document.uri, Duration::ZERO);
            }),
            "textDocument/didClose" => params(note.params).map(|p| self.did_close(p)),
            // Files changed on disk (a checkout, another editor): analyse again.
            "workspace/didChangeWatchedFiles" => {
                params(note.params).map(|p: lsp_types::DidChangeWatchedFilesParams| {
                    self.disk_changes.extend(p.changes.iter().filter_map(|c| convert::uri_to_path(&c.uri)));
                    self.schedule(self.debounce());
                })
            }
            // $/cancelRequest, $/setTrace, configuration changes: nothing
            // to do (requests are answered at once; settings are read at
            // initialize).
            _ => Ok(()),
        };
        if let Err((_, why)) = outcome {
            log(&format!("{method}: {why}"));
        }
        None
    }

    fn initialize(&mut self, params: Value) -> Result<Value, (ErrorCode, String)> {
        let at = |p: &str| params.pointer(p);
        let flag = |p: &str| at(p).and_then(Value::as_bool).unwrap_or(false);
        let offers_utf8 = at("/capabilities/general/positionEncodings")
            .and_then(Value::as_array)
            .is_some_and(|encs| encs.iter().any(|e| e.as_str() == Some("utf-8")));
        let encoding = if offers_utf8 { Encoding::Utf8 } else { Encoding::Utf16 };
        self.show_document = flag("/capabilities/window/showDocument/support");
        self.progress = progress::Progress::new(flag("/capabilities/window/workDoneProgress"));
        if let Some(opts) = at("/initializationOptions").filter(|v| !v.is_null()) {
            match serde_json::from_value::<Settings>(opts.clone()) {
                Ok(settings) => self.settings = settings,
                Err(e) => log(&format!("initializationOptions ignored: {e}")),
            }
        }
        self.roots = workspace_roots(&params);
        let (docs, error) = explain::write_docs(&explain::docs_dir());
        if let Some(error) = error {
            log(&error);
        }
        let related_information = flag("/capabilities/textDocument/publishDiagnostics/relatedInformation");
        self.style = Style {
            encoding,
            related_information,
            path_in_message: !related_information || self.settings.path_in_message,
            docs: Arc::new(docs),
        };
        if let Err(e) = self.worker.configure(self.settings.models.clone(), self.settings.jobs) {
            log(&e);
            self.show_message(lsp_types::MessageType::WARNING, e);
        }
        self.phase = Phase::Running;
        log(&format!("workspace roots: {:?}", self.roots));
        // The workspace is indexed in the background from now on.
        self.schedule(Duration::ZERO);
        let encoding = match encoding {
            Encoding::Utf8 => lsp_types::PositionEncodingKind::UTF8,
            Encoding::Utf16 => lsp_types::PositionEncodingKind::UTF16,
        };
        Ok(json(features::initialize_result(encoding)))
    }

    fn did_open(&mut self, p: lsp_types::DidOpenTextDocumentParams) {
        let doc = p.text_document;
        let Some(path) = uri_to_path(&doc.uri) else { return };
        let inside = analysis::is_inside(&self.roots, &path);
        if !inside {
            log(&format!("{}: outside the workspace, not analysed", path.display()));
        }
        let same_as_disk = std::fs::read(&path).is_ok_and(|disk| disk == doc.text.as_bytes());
        let version = doc.version;
        self.docs.open(path.clone(), Document { uri: doc.uri, text: doc.text, version });
        if !inside {
            return;
        }
        // A file the last run (or the one running) reads as it is now
        // needs no new run: on a big tree, opening a file costs nothing.
        let covers = |paths: &[PathBuf]| paths.iter().any(|p| path.starts_with(p));
        let last_covers = self.latest.as_ref().is_some_and(|last| covers(&last.paths));
        let running_covers = self.running.as_ref().is_some_and(|run| covers(&run.paths));
        if same_as_disk && last_covers {
            let diags = self.latest.as_ref().and_then(|last| last.diagnostics.get(&path));
            let diags = diags.map(|d| Vec::clone(d)).unwrap_or_default();
            self.publish(&path, diags, Some(version));
        }
        if !same_as_disk || !(last_covers || running_covers) {
            self.schedule(Duration::ZERO);
        } else if !self.call_states.contains_key(&path) {
            // The lock state at its calls (hover) is recorded only for open
            // documents: one debounced run records it for all just opened.
            self.schedule(self.debounce());
        }
    }

    fn did_change(&mut self, p: lsp_types::DidChangeTextDocumentParams) {
        let Some(path) = uri_to_path(&p.text_document.uri) else { return };
        if !self.docs.change(&path, p.text_document.version, p.content_changes, self.style.encoding) {
            log(&format!("{}: changed but not open", path.display()));
            return;
        }
        self.edited_file(&p.text_document.uri, self.debounce());
    }

    fn did_close(&mut self, p: lsp_types::DidCloseTextDocumentParams) {
        let Some(path) = uri_to_path(&p.text_document.uri) else { return };
        let Some(doc) = self.docs.close(&path) else { return };
        self.call_states.remove(&path);
        // What the buffer said no longer counts; the disk does again.
        let same_as_disk = std::fs::read(&path).is_ok_and(|disk| disk == doc.text.as_bytes());
        if analysis::is_inside(&self.roots, &path) && !same_as_disk {
            self.schedule(Duration::ZERO);
        }
    }

    fn edited_file(&mut self, uri: &Url, delay: Duration) {
        if uri_to_path(uri).is_some_and(|path| analysis::is_inside(&self.roots, &path)) {
            self.schedule(delay);
        }
    }

    fn debounce(&self) -> Duration {
        Duration::from_millis(self.settings.debounce_ms)
    }

    /// Asks for a run `delay` from now; a later edit pushes a debounced run
    /// further out.
    fn schedule(&mut self, delay: Duration) {
        let at = Instant::now() + delay;
        self.next_run = Some(match self.next_run {
            Some(prev) if delay.is_zero() => prev.min(at),
            _ => at,
        });
    }

    fn start_run(&mut self) {
        self.next_run = None;
        let paths = analysis::analysed_paths(&self.roots, &self.settings.paths, self.docs.paths());
        let (overlay, versions) = self.docs.snapshot();
        let first = self.latest.is_none();
        let watch = std::sync::Arc::new(crate::driver::RunProgress::default());
        let job = Job {
            paths: paths.clone(),
            tree_context: self.settings.tree_context,
            overlay,
            style: self.style.clone(),
            watch: watch.clone(),
            held_at: self.docs.paths().map(Path::to_path_buf).collect(),
            disk_changes: std::mem::take(&mut self.disk_changes),
        };
        if paths.is_empty() {
            self.latest = Some(LastRun { diagnostics: BTreeMap::new(), paths });
            return;
        }
        if self.worker.jobs.send(job).is_err() {
            log("the analysis worker is gone");
            return;
        }
        let what = if first { "indexing" } else { "re-analysing" };
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        self.progress.begin(&self.out, "lockpath", format!("{what} {}", names.join(", ")));
        self.running = Some(InFlight { started: Instant::now(), watch, paths, versions });
        self.next_progress = Some(Instant::now() + PROGRESS_EVERY);
    }

    fn still_running(&mut self) {
        match &self.running {
            Some(InFlight { started, watch, .. }) => {
                let (what, percent) = watch.describe();
                let message = format!("{what} ({} s)", started.elapsed().as_secs());
                self.progress.report(&self.out, message, percent);
                self.next_progress = Some(Instant::now() + PROGRESS_EVERY);
            }
            None => self.next_progress = None,
        }
    }

    fn finished(&mut self, done: Result<Analysed, String>) {
        let Some(InFlight { started, paths, versions, .. }) = self.running.take() else { return };
        self.next_progress = None;
        let took = started.elapsed().as_secs_f64();
        let analysed = match done {
            Ok(analysed) => analysed,
            Err(why) => {
                let message = format!("the analysis failed: {why}");
                log(&message);
                self.progress.end(&self.out, message.clone());
                self.show_message(lsp_types::MessageType::ERROR, message);
                return;
            }
        };
        let summary = format!(
            "{} errors, {} warnings in {} files, {} functions ({took:.1} s)",
            analysed.errors, analysed.warnings, analysed.files, analysed.functions
        );
        log(&format!("{summary}; {} files skipped or partly understood", analysed.problems.len()));
        self.progress.end(&self.out, summary);
        for (path, states) in analysed.call_states {
            let Some(doc) = self.docs.get(&path) else { continue };
            let mut version = versions.get(&path).copied();
            if version.is_none() && std::fs::read(&path).is_ok_and(|disk| disk == doc.text.as_bytes()) {
                version = Some(doc.version);
            }
            if version == Some(doc.version) {
                self.call_states.insert(path, (doc.version, states));
            }
        }
        let new = analysed.diagnostics;
        let previous = self.latest.take();
        // Open documents, files the client shows diagnostics for, and files
        // whose findings this run changed (the caller that now faults).
        let mut candidates: Vec<PathBuf> = self
            .docs
            .paths()
            .filter(|d| paths.iter().any(|p| d.starts_with(p)))
            .map(Path::to_path_buf)
            .chain(self.published.keys().cloned())
            .collect();
        if let Some(LastRun { diagnostics: old, .. }) = &previous {
            // A file whose diagnostics did not change shares the list.
            let same = |a: Option<&Arc<Vec<Diagnostic>>>, b: Option<&Arc<Vec<Diagnostic>>>| match (a, b) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
                (a, b) => a.is_none() && b.is_none(),
            };
            let changed = old.keys().chain(new.keys()).filter(|p| !same(old.get(*p), new.get(*p)));
            candidates.extend(changed.cloned());
        }
        candidates.sort();
        candidates.dedup();
        for path in candidates {
            // An open document edited since the snapshot waits for the run
            // that reads its current text (one is scheduled); one opened
            // during the run counts if it is what the run read from disk.
            let mut version = versions.get(&path).copied();
            if let Some(doc) = self.docs.get(&path) {
                if version.is_none() && std::fs::read(&path).is_ok_and(|disk| disk == doc.text.as_bytes()) {
                    version = Some(doc.version);
                }
                if version != Some(doc.version) {
                    continue;
                }
            }
            let diags = new.get(&path).map(|d| Vec::clone(d)).unwrap_or_default();
            self.publish(&path, diags, version);
        }
        self.latest = Some(LastRun { diagnostics: new, paths });
    }

    fn hover(&self, p: &lsp_types::HoverParams) -> Option<lsp_types::Hover> {
        let at = &p.text_document_position_params;
        let call = convert::uri_to_path(&at.text_document.uri).and_then(|path| {
            let (version, states) = self.call_states.get(&path)?;
            // Ranges of an older text would point at the wrong calls.
            (self.docs.get(&path)?.version == *version).then_some(())?;
            features::call_at(states, at.position)
        });
        features::hover(&self.published, &self.roots, p, call)
    }

    /// Sends `diags` for `path` unless the client shows exactly that.
    fn publish(&mut self, path: &Path, diags: Vec<Diagnostic>, version: Option<i32>) {
        if self.published.get(path) == Some(&diags) {
            return;
        }
        let doc = self.docs.get(path);
        let Some(uri) = doc.map(|d| d.uri.clone()).or_else(|| path_to_uri(path)) else { return };
        let params = PublishDiagnosticsParams { uri, diagnostics: diags.clone(), version };
        self.send(Message::Notification(Notification::new("textDocument/publishDiagnostics".into(), params)));
        if diags.is_empty() && doc.is_none() {
            self.published.remove(path);
        } else {
            self.published.insert(path.to_path_buf(), diags);
        }
    }

    fn show_message(&self, typ: lsp_types::MessageType, message: String) {
        let params = lsp_types::ShowMessageParams { typ, message };
        self.send(Message::Notification(Notification::new("window/showMessage".into(), params)));
    }

    fn send(&self, msg: Message) {
        let _ = self.out.send(msg.into());
    }
}

/// The workspace folders, else `rootUri`, else `rootPath`; canonical.
fn workspace_roots(params: &Value) -> Vec<PathBuf> {
    let from_uri = |v: &Value| v.as_str().and_then(|s| Url::parse(s).ok()).and_then(|u| uri_to_path(&u));
    let mut roots: Vec<PathBuf> = params
        .get("workspaceFolders")
        .and_then(Value::as_array)
        .map(|folders| folders.iter().filter_map(|f| f.get("uri").and_then(from_uri)).collect())
        .unwrap_or_default();
    if roots.is_empty() {
        roots.extend(params.get("rootUri").and_then(from_uri));
    }
    if roots.is_empty() {
        roots.extend(params.get("rootPath").and_then(Value::as_str).map(PathBuf::from));
    }
    roots.into_iter().map(|r| r.canonicalize().unwrap_or_else(|_| crate::overlay::Overlay::key(&r))).collect()
}

fn params<P: serde::de::DeserializeOwned>(value: Value) -> Result<P, (ErrorCode, String)> {
    serde_json::from_value(value).map_err(|e| (ErrorCode::InvalidParams, format!("invalid params: {e}")))
}

fn json(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn log(message: &str) {
    eprintln!("lockpath lsp: {message}");
}
