//! What the server offers besides diagnostics: its capabilities, hover on
//! a call (what it takes and the locks held there, recorded for open
//! documents by the analysis) and on a finding (the whole witness path),
//! and the "explain this check" code action with the command behind it.

use super::transport::Outgoing;
use crossbeam_channel::Sender;
use lsp_server::{ErrorCode, Message, Notification, Request, RequestId};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOptions, CodeActionOrCommand, CodeActionParams, CodeActionProviderCapability,
    Command, Diagnostic, ExecuteCommandOptions, ExecuteCommandParams, Hover, HoverContents, HoverParams,
    HoverProviderCapability, InitializeResult, MarkupContent, MarkupKind, NumberOrString, Position,
    PositionEncodingKind, Range, SaveOptions, ServerCapabilities, ServerInfo, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Url,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) const EXPLAIN_COMMAND: &str = "lockpath.explain";

pub(crate) fn initialize_result(encoding: PositionEncodingKind) -> InitializeResult {
    let sync = TextDocumentSyncOptions {
        open_close: Some(true),
        change: Some(TextDocumentSyncKind::INCREMENTAL),
        will_save: None,
        will_save_wait_until: None,
        save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions { include_text: Some(false) })),
    };
    InitializeResult {
        capabilities: ServerCapabilities {
            position_encoding: Some(encoding),
            text_document_sync: Some(TextDocumentSyncCapability::Options(sync)),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                work_done_progress_options: Default::default(),
                resolve_provider: None,
            })),
            execute_command_provider: Some(ExecuteCommandOptions {
                commands: vec![EXPLAIN_COMMAND.into()],
                work_done_progress_options: Default::default(),
            }),
            ..ServerCapabilities::default()
        },
        server_info: Some(ServerInfo { name: "lockpath".into(), version: Some(env!("CARGO_PKG_VERSION").into()) }),
    }
}

/// The innermost call under the cursor (`foo(bar())` on `bar`: `bar`).
pub(crate) fn call_at(states: &[(Range, String)], at: Position) -> Option<(Range, &str)> {
    let size = |r: &Range| (r.end.line - r.start.line, r.end.character.saturating_sub(r.start.character));
    states.iter().filter(|(r, _)| contains(*r, at)).min_by_key(|(r, _)| size(r)).map(|(r, t)| (*r, t.as_str()))
}

/// The call under the cursor (what it takes, the locks held there), then
/// the findings under it, each with its whole path.
pub(crate) fn hover(
    published: &BTreeMap<PathBuf, Vec<Diagnostic>>,
    roots: &[PathBuf],
    p: &HoverParams,
    call: Option<(Range, &str)>,
) -> Option<Hover> {
    let at = &p.text_document_position_params;
    let path = super::convert::uri_to_path(&at.text_document.uri)?;
    let here: Vec<&Diagnostic> =
        published.get(&path).into_iter().flatten().filter(|d| contains(d.range, at.position)).collect();
    let mut text: Vec<String> = call.iter().map(|(_, t)| t.to_string()).collect();
    text.extend(here.iter().map(|d| hover_text(d, roots)));
    let range = call.map(|(r, _)| r).or_else(|| here.first().map(|d| d.range))?;
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: text.join("\n\n---\n\n") }),
        range: Some(range),
    })
}

fn hover_text(d: &Diagnostic, roots: &[PathBuf]) -> String {
    let check = match &d.code {
        Some(NumberOrString::String(id)) => id.as_str(),
        _ => "lockpath",
    };
    let related = d.related_information.as_ref().filter(|r| !r.is_empty());
    let mut lines = d.message.lines();
    let mut out = format!("**{check}**: {}\n", lines.next().unwrap_or_default());
    let mut in_path = false;
    for line in lines {
        // The path written into the message is listed below, with links.
        in_path = (in_path || line == "path:") && !line.starts_with("note: ") && !line.starts_with("help: ");
        if !(in_path && related.is_some()) {
            out.push_str(&format!("\n{line}\n"));
        }
    }
    if let Some(related) = related {
        out.push_str("\npath:\n");
        for (i, hop) in related.iter().enumerate() {
            let file = hop.location.uri.to_file_path().ok();
            let name = file.as_deref().map_or_else(|| hop.location.uri.to_string(), |f| relative(f, roots));
            let line = hop.location.range.start.line + 1;
            out.push_str(&format!("{}. `{name}:{line}` {}\n", i + 1, hop.message));
        }
    }
    if let Some(href) = d.code_description.as_ref().map(|c| &c.href) {
        out.push_str(&format!("\n[lockpath explain {check}]({href})\n"));
    }
    out
}

fn relative(path: &Path, roots: &[PathBuf]) -> String {
    roots.iter().find_map(|r| path.strip_prefix(r).ok()).unwrap_or(path).display().to_string()
}

fn contains(range: lsp_types::Range, pos: Position) -> bool {
    let key = |p: Position| (p.line, p.character);
    key(range.start) <= key(pos) && key(pos) <= key(range.end)
}

/// "Explain lockpath check X" for each lockpath diagnostic in the request.
pub(crate) fn code_actions(p: &CodeActionParams, docs: &BTreeMap<&'static str, Url>) -> Vec<CodeActionOrCommand> {
    let mut out: Vec<CodeActionOrCommand> = Vec::new();
    let mut seen = Vec::new();
    for d in &p.context.diagnostics {
        let Some(NumberOrString::String(id)) = &d.code else { continue };
        if d.source.as_deref() != Some("lockpath") || !docs.contains_key(id.as_str()) || seen.contains(id) {
            continue;
        }
        seen.push(id.clone());
        let title = format!("Explain lockpath check {id}");
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: title.clone(),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![d.clone()]),
            command: Some(Command { title, command: EXPLAIN_COMMAND.into(), arguments: Some(vec![id.clone().into()]) }),
            ..CodeAction::default()
        }));
    }
    out
}

/// `lockpath.explain <check>`: asks the client to open the check's
/// document, or, when it cannot show documents, says where it is.
pub(crate) fn execute_command(
    p: &ExecuteCommandParams,
    docs: &BTreeMap<&'static str, Url>,
    show_document: bool,
    out: &Sender<Outgoing>,
    next_id: impl FnOnce() -> RequestId,
) -> Result<Value, (ErrorCode, String)> {
    if p.command != EXPLAIN_COMMAND {
        return Err((ErrorCode::InvalidParams, format!("unknown command {}", p.command)));
    }
    let id = p.arguments.first().and_then(Value::as_str).unwrap_or_default();
    let Some(uri) = docs.get(id) else {
        return Err((ErrorCode::InvalidParams, format!("unknown check `{id}`")));
    };
    let msg = if show_document {
        let params = lsp_types::ShowDocumentParams {
            uri: uri.clone(),
            external: Some(false),
            take_focus: Some(true),
            selection: None,
        };
        Message::Request(Request::new(next_id(), "window/showDocument".into(), params))
    } else {
        let params = lsp_types::ShowMessageParams {
            typ: lsp_types::MessageType::INFO,
            message: format!("lockpath explain {id}: {uri}"),
        };
        Message::Notification(Notification::new("window/showMessage".into(), params))
    };
    let _ = out.send(msg.into());
    Ok(Value::Null)
}
