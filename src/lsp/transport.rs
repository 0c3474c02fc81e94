//! LSP base protocol over stdio: `Content-Length` framing around JSON-RPC
//! messages, one reader thread and one writer thread.
//!
//! lsp-server's own stdio transport ends its reader on the first malformed
//! message, which would end the server; this one answers a malformed
//! message with a JSON-RPC parse error and reads on. The message types are
//! lsp-server's.

use crossbeam_channel::{Receiver, Sender};
use lsp_server::Message;
use std::io::{BufRead, Write};

/// What the reader hands the server.
pub(crate) enum Incoming {
    Message(Message),
    /// A frame that was not a JSON-RPC message: why, for the log and the
    /// parse-error response.
    Malformed(String),
}

/// What the writer sends: a message, or the one JSON-RPC reply lsp-server
/// cannot express (an error with a null id, for a message that could not
/// be parsed).
pub(crate) enum Outgoing {
    Message(Message),
    ParseError(String),
}

impl From<Message> for Outgoing {
    fn from(msg: Message) -> Outgoing {
        Outgoing::Message(msg)
    }
}

/// A frame bigger than this is refused unread: a bogus length must not
/// make the server allocate it.
const MAX_FRAME_BYTES: usize = 256 << 20;

pub(crate) struct Stdio {
    pub incoming: Receiver<Incoming>,
    pub outgoing: Sender<Outgoing>,
    writer: std::thread::JoinHandle<()>,
}

impl Stdio {
    /// Starts the reader (stdin) and writer (stdout) threads. The incoming
    /// channel disconnects when stdin closes.
    pub fn start() -> std::io::Result<Stdio> {
        let (in_tx, incoming) = crossbeam_channel::unbounded();
        let (outgoing, out_rx) = crossbeam_channel::unbounded::<Outgoing>();
        std::thread::Builder::new().name("lsp-reader".into()).spawn(move || {
            let stdin = std::io::stdin();
            read_loop(&mut stdin.lock(), &in_tx);
        })?;
        let writer = std::thread::Builder::new().name("lsp-writer".into()).spawn(move || {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for msg in out_rx {
                // A closed stdout means the client is gone; the reader
                // sees stdin close and the server ends.
                if write_message(&mut out, &msg).is_err() {
                    break;
                }
            }
        })?;
        Ok(Stdio { incoming, outgoing, writer })
    }

    /// Sends what is queued and waits for the writer to finish. The reader
    /// may still be blocked on stdin; the process ends without it.
    pub fn finish(self) {
        drop(self.outgoing);
        let _ = self.writer.join();
    }
}

/// Reads frames until end of input, or until nobody listens.
pub(crate) fn read_loop(input: &mut impl BufRead, tx: &Sender<Incoming>) {
    loop {
        let (skipped, frame) = read_frame(input);
        if skipped && tx.send(Incoming::Malformed("skipped input that was not an LSP header".into())).is_err() {
            return;
        }
        let item = match frame {
            Frame::Eof => return,
            Frame::Body(body) => match serde_json::from_slice::<Message>(&body) {
                Ok(msg) => Incoming::Message(msg),
                Err(e) => Incoming::Malformed(format!("not a JSON-RPC message: {e}")),
            },
            Frame::Bad(why) => Incoming::Malformed(why),
        };
        let is_exit = matches!(&item, Incoming::Message(Message::Notification(n)) if n.method == "exit");
        if tx.send(item).is_err() || is_exit {
            return;
        }
    }
}

enum Frame {
    Body(Vec<u8>),
    Bad(String),
    Eof,
}

/// One frame: headers up to an empty line, then `Content-Length` bytes.
/// A header line that is not one is skipped, and a `Content-Length:` found
/// at the end of a garbled line still counts, so the reader finds the next
/// frame after a broken one; `true` with the frame says lines were skipped.
fn read_frame(input: &mut impl BufRead) -> (bool, Frame) {
    let mut length: Option<usize> = None;
    let mut garbage = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return (garbage, Frame::Eof),
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if length.is_some() || garbage {
                break;
            }
            continue;
        }
        match content_length(text) {
            Some(n) => length = Some(n),
            None if !is_header(text) => garbage = true,
            None => {}
        }
    }
    let Some(length) = length else {
        return (false, Frame::Bad("a frame without a Content-Length header".into()));
    };
    if length > MAX_FRAME_BYTES {
        return (garbage, Frame::Bad(format!("a {length}-byte frame is over the {MAX_FRAME_BYTES}-byte limit")));
    }
    let mut body = vec![0; length];
    match input.read_exact(&mut body) {
        Ok(()) => (garbage, Frame::Body(body)),
        Err(_) => (garbage, Frame::Eof),
    }
}

/// The value of a `Content-Length` header ending `line`, however garbled
/// what comes before it.
fn content_length(line: &str) -> Option<usize> {
    const NAME: &str = "content-length:";
    let lower = line.to_ascii_lowercase();
    let at = lower.rfind(NAME)?;
    lower[at + NAME.len()..].trim().parse().ok()
}

fn is_header(line: &str) -> bool {
    line.split_once(':')
        .is_some_and(|(name, _)| !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

fn write_message(out: &mut impl Write, msg: &Outgoing) -> std::io::Result<()> {
    match msg {
        Outgoing::Message(msg) => msg.write(out),
        Outgoing::ParseError(why) => {
            let reply = serde_json::json!({
                "jsonrpc": "2.0",
                "id": null,
                "error": { "code": lsp_server::ErrorCode::ParseError as i32, "message": why },
            });
            let text = reply.to_string();
            write!(out, "Content-Length: {}\r\n\r\n{text}", text.len())?;
            out.flush()
        }
    }
}
