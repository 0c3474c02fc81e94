//! Work-done progress (`window/workDoneProgress/create`, then `$/progress`
//! begin, report, end) for analysis runs, when the client supports it.
//!
//! A token may be used only once the client has answered its `create`
//! request, so what a run reports before that is queued.

use super::transport::Outgoing;
use crossbeam_channel::Sender;
use lsp_server::{Notification, Request, RequestId};
use lsp_types::{
    NumberOrString, ProgressParams, ProgressParamsValue, WorkDoneProgress, WorkDoneProgressBegin,
    WorkDoneProgressCreateParams, WorkDoneProgressEnd, WorkDoneProgressReport,
};

#[derive(Default)]
pub(crate) struct Progress {
    supported: bool,
    /// Tokens made so far (each run has its own).
    made: u32,
    /// Tokens whose `create` the client has not answered yet, with what
    /// waits to be sent; the last one may be the running analysis'.
    waiting: Vec<Waiting>,
    /// The running analysis' token, once usable.
    current: Option<NumberOrString>,
}

struct Waiting {
    request: RequestId,
    token: NumberOrString,
    queued: Vec<WorkDoneProgress>,
    ended: bool,
}

impl Progress {
    pub fn new(supported: bool) -> Progress {
        Progress { supported, ..Progress::default() }
    }

    pub fn begin(&mut self, out: &Sender<Outgoing>, title: &str, message: String) {
        if !self.supported {
            return;
        }
        self.made += 1;
        let token = NumberOrString::String(format!("lockpath/analysis/{}", self.made));
        let request = RequestId::from(format!("lockpath/progress/{}", self.made));
        let params = WorkDoneProgressCreateParams { token: token.clone() };
        let create = Request::new(request.clone(), "window/workDoneProgress/create".into(), params);
        let _ = out.send(lsp_server::Message::Request(create).into());
        let begin = WorkDoneProgress::Begin(WorkDoneProgressBegin {
            title: title.into(),
            cancellable: Some(false),
            message: Some(message),
            percentage: Some(0),
        });
        self.current = None;
        self.waiting.push(Waiting { request, token, queued: vec![begin], ended: false });
    }

    /// `percent`: of the files loaded (the client shows a bar; LSP wants
    /// it never to go down within one token).
    pub fn report(&mut self, out: &Sender<Outgoing>, message: String, percent: u32) {
        let report = WorkDoneProgress::Report(WorkDoneProgressReport {
            cancellable: Some(false),
            message: Some(message),
            percentage: Some(percent.min(100)),
        });
        self.send_or_queue(out, report, false);
    }

    pub fn end(&mut self, out: &Sender<Outgoing>, message: String) {
        self.send_or_queue(out, WorkDoneProgress::End(WorkDoneProgressEnd { message: Some(message) }), true);
        self.current = None;
    }

    /// The client answered a request of ours: if it was a `create`, the
    /// token is usable (or, on an error, dropped with what was queued).
    pub fn answered(&mut self, out: &Sender<Outgoing>, id: &RequestId, ok: bool) {
        let Some(at) = self.waiting.iter().position(|w| &w.request == id) else { return };
        let waiting = self.waiting.remove(at);
        if !ok {
            return;
        }
        for value in waiting.queued {
            send(out, &waiting.token, value);
        }
        if !waiting.ended {
            self.current = Some(waiting.token);
        }
    }

    fn send_or_queue(&mut self, out: &Sender<Outgoing>, value: WorkDoneProgress, ends: bool) {
        if let Some(token) = &self.current {
            send(out, token, value);
        } else if let Some(last) = self.waiting.last_mut().filter(|w| !w.ended) {
            last.queued.push(value);
            last.ended = ends;
        }
    }
}

fn send(out: &Sender<Outgoing>, token: &NumberOrString, value: WorkDoneProgress) {
    let params = ProgressParams { token: token.clone(), value: ProgressParamsValue::WorkDone(value) };
    let _ = out.send(lsp_server::Message::Notification(Notification::new("$/progress".into(), params)).into());
}
