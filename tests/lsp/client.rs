//! A small LSP client for `lockpath lsp`: spawns the binary, speaks LSP
//! framing over its stdio, answers the server's own requests, and waits
//! for messages with a deadline. Shared by `tests/lsp.rs` and
//! `examples/lsp_bench.rs`.

// Each of the two uses part of it.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    messages: mpsc::Receiver<Value>,
    /// Every message the server sent, in order.
    pub seen: Vec<Value>,
    /// Messages not yet consumed by a wait.
    unread: Vec<Value>,
    stderr: Arc<Mutex<String>>,
    next_id: i64,
    /// How long a wait lasts before it panics.
    pub wait: Duration,
}

impl Client {
    /// `bin lsp`, with `env` added to its environment.
    pub fn spawn(bin: &str, env: &[(&str, &Path)], wait: Duration) -> Client {
        let mut cmd = Command::new(bin);
        cmd.arg("lsp").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("lockpath lsp starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || read_messages(BufReader::new(stdout), &tx));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        let stdin = child.stdin.take();
        Client { child, stdin, messages, seen: Vec::new(), unread: Vec::new(), stderr, next_id: 0, wait }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `initialize` (rootUri `root`) and `initialized`, with the client
    /// capabilities editors commonly send plus `extra_caps`; returns the
    /// initialize result.
    pub fn initialize(&mut self, root: &Path, options: Value, extra_caps: Value) -> Value {
        let mut caps = json!({
            "textDocument": {"publishDiagnostics": {"relatedInformation": true}},
            "window": {"workDoneProgress": true, "showDocument": {"support": true}},
        });
        if let (Some(caps), Some(extra)) = (caps.as_object_mut(), extra_caps.as_object()) {
            caps.extend(extra.clone());
        }
        let params = json!({
            "processId": null,
            "rootUri": file_uri(root),
            "capabilities": caps,
            "initializationOptions": options,
        });
        let init = self.request("initialize", params);
        assert!(init["result"]["capabilities"]["textDocumentSync"].is_object(), "{init:#?}");
        self.notify("initialized", json!({}));
        init
    }

    pub fn send(&mut self, msg: &Value) {
        let body = msg.to_string();
        self.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(bytes).and_then(|()| stdin.flush()).expect("the server reads its input");
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and waits for its response (result or error).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.wait_for(|m| m["id"] == id && m.get("method").is_none())
    }

    pub fn open(&mut self, uri: &str, text: &str, version: i64) {
        let doc = json!({"uri": uri, "languageId": "c", "version": version, "text": text});
        self.notify("textDocument/didOpen", json!({"textDocument": doc}));
    }

    pub fn change(&mut self, uri: &str, version: i64, changes: Vec<Value>) {
        let params = json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": changes});
        self.notify("textDocument/didChange", params);
    }

    pub fn close(&mut self, uri: &str) {
        self.notify("textDocument/didClose", json!({"textDocument": {"uri": uri}}));
    }

    /// The next published diagnostics for `uri` that satisfy `want`.
    pub fn diagnostics_for(&mut self, uri: &str, want: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let msg =
            self.wait_for(|m| is_publish(m, uri) && m["params"]["diagnostics"].as_array().is_some_and(|d| want(d)));
        msg["params"]["diagnostics"].as_array().cloned().unwrap_or_default()
    }

    /// The first message, unread or still to come, that satisfies `want`;
    /// answers the server's own requests (progress tokens, showDocument)
    /// on the way. Panics after `self.wait`.
    pub fn wait_for(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        if let Some(at) = self.unread.iter().position(&want) {
            return self.unread.remove(at);
        }
        let deadline = Instant::now() + self.wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = match self.messages.recv_timeout(left) {
                Ok(msg) => msg,
                Err(e) => panic!("no expected message within {:?} ({e}); stderr:\n{}", self.wait, self.stderr()),
            };
            self.seen.push(msg.clone());
            if msg.get("method").is_some() && msg.get("id").is_some() {
                let id = msg["id"].clone();
                self.send(&json!({"jsonrpc": "2.0", "id": id, "result": null}));
            }
            if want(&msg) {
                return msg;
            }
            self.unread.push(msg);
        }
    }

    pub fn shutdown_and_exit(mut self) -> ExitStatus {
        let resp = self.request("shutdown", Value::Null);
        assert_eq!(resp["result"], Value::Null, "{resp}");
        self.notify("exit", Value::Null);
        self.wait_exit()
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the server to end; panics if it does not within
    /// `self.wait`, or if it panicked.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + self.wait;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                let stderr = self.stderr();
                assert!(!stderr.contains("panicked"), "the server panicked:\n{stderr}");
                return status;
            }
            let waited = self.wait;
            assert!(Instant::now() < deadline, "the server did not exit within {waited:?}; stderr:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_messages(mut out: impl BufRead, tx: &mpsc::Sender<Value>) {
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            match out.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                length = n.parse::<usize>().ok();
            }
        }
        let Some(length) = length else { return };
        let mut body = vec![0; length];
        if out.read_exact(&mut body).is_err() {
            return;
        }
        let Ok(msg) = serde_json::from_slice::<Value>(&body) else { return };
        if tx.send(msg).is_err() {
            return;
        }
    }
}

pub fn is_publish(m: &Value, uri: &str) -> bool {
    m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
}

/// `file://` and the path, its directory canonicalised (as the server
/// spells the files it reports on).
pub fn file_uri(path: &Path) -> String {
    let real = path
        .parent()
        .and_then(|d| d.canonicalize().ok())
        .map_or(path.to_path_buf(), |d| d.join(path.file_name().unwrap_or_default()));
    format!("file://{}", real.display())
}
