//! Function-like macros analysed as small functions: `#define foo_lock(f)
//! spin_lock(&(f)->lock)` becomes a function `foo_lock(f)` whose body takes
//! the lock, so subsystem wrappers need no model entry.
//!
//! All macro bodies of a file are pasted into one synthetic buffer as
//! `void name(long a, long b) { body; }` and parsed once. Bodies are copied
//! byte for byte (line continuations become blanks), so a span in the
//! synthetic buffer maps back to the original by a constant shift.

use super::body::BodyBuilder;
use super::syntax::text;
use super::toplevel::params;
use crate::extract::syntax::fid;
use crate::extract::syntax::KindName;
use crate::ir::Interner;
use crate::ir::{Event, FileFacts, Function};
use tree_sitter::Node;

pub(crate) struct MacroDef {
    name: String,
    params: Vec<String>,
    name_start: u32,
    name_end: u32,
    pub(crate) body_start: u32,
    body_end: u32,
}

impl MacroDef {
    pub(crate) fn from_node(src: &[u8], node: Node) -> Option<MacroDef> {
        let name = node.child_by_field_id(fid!("name"))?;
        let value = node.child_by_field_id(fid!("value"))?;
        let body = text(value, src);
        // Only macros that call something can lock, fault or sleep.
        if !body.contains('(') {
            return None;
        }
        let mut param_names = Vec::new();
        if let Some(list) = node.child_by_field_id(fid!("parameters")) {
            let mut cursor = list.walk();
            for p in list.named_children(&mut cursor) {
                if p.kind_name() == "identifier" {
                    param_names.push(text(p, src).to_string());
                }
            }
        }
        Some(MacroDef {
            name: text(name, src).to_string(),
            params: param_names,
            name_start: name.start_byte() as u32,
            name_end: name.end_byte() as u32,
            body_start: value.start_byte() as u32,
            body_end: value.end_byte() as u32,
        })
    }
}

impl MacroDef {
    /// The body calls one of the parameters: `rxh(skb)` in `CALL_RXH(rxh)`.
    pub(crate) fn calls_a_parameter(&self, src: &[u8]) -> bool {
        let body = src.get(self.body_start as usize..self.body_end as usize).unwrap_or_default();
        self.params.iter().any(|p| {
            let p = p.as_bytes();
            body.windows(p.len() + 1).enumerate().any(|(i, w)| {
                let before = i.checked_sub(1).and_then(|j| body.get(j)).copied().unwrap_or(b' ');
                w[..p.len()] == *p && w[p.len()] == b'(' && !(before.is_ascii_alphanumeric() || before == b'_')
            })
        })
    }
}

pub(crate) fn extract_macros(
    src: &[u8],
    macros: &[MacroDef],
    parser: &mut tree_sitter::Parser,
    names: &mut Interner,
    facts: &mut FileFacts,
) {
    if macros.is_empty() {
        return;
    }
    let mut synth: Vec<u8> = Vec::new();
    // (start of the function in synth, start of the body in synth)
    let mut placed: Vec<(usize, usize)> = Vec::with_capacity(macros.len());
    for m in macros {
        let start = synth.len();
        synth.extend_from_slice(b"void ");
        synth.extend_from_slice(m.name.as_bytes());
        synth.push(b'(');
        let ps: Vec<String> = m.params.iter().map(|p| format!("long {p}")).collect();
        synth.extend_from_slice(ps.join(", ").as_bytes());
        let body = src.get(m.body_start as usize..m.body_end as usize).unwrap_or_default();
        // An expression macro's value is what it returns: `__cond_lock(l,
        // _raw_trylock(l))` is a trylock wrapper only if its result reaches
        // the caller's `if`.
        synth.extend_from_slice(if is_expression(body) { b")\n{ return " } else { b")\n{ " });
        let body_at = synth.len();
        let mut copy = body.to_vec();
        for i in 0..copy.len() {
            if copy[i] == b'\\' && matches!(copy.get(i + 1), Some(b'\n') | Some(b'\r')) {
                copy[i] = b' ';
            }
        }
        synth.extend_from_slice(&copy);
        synth.extend_from_slice(b"\n;}\n");
        placed.push((start, body_at));
    }
    let Some(tree) = parser.parse(&synth, None) else {
        return;
    };
    let root = tree.root_node();
    let mut cursor = root.walk();
    for node in root.named_children(&mut cursor) {
        if node.kind_name() != "function_definition" {
            continue;
        }
        // Which macro this function came from: the last one starting at or before it.
        let idx = placed.partition_point(|&(start, _)| start <= node.start_byte());
        let Some(i) = idx.checked_sub(1) else {
            continue;
        };
        let (Some(m), Some(&(_, body_at))) = (macros.get(i), placed.get(i)) else {
            continue;
        };
        let Some(body) = node.child_by_field_id(fid!("body")) else {
            continue;
        };
        let Some(decl) = node.child_by_field_id(fid!("declarator")) else {
            continue;
        };
        let ps = decl.child_by_field_id(fid!("parameters")).map(|p| params(&synth, p, names)).unwrap_or_default();
        let shift = m.body_start as i64 - body_at as i64;
        let builder = BodyBuilder::new(&synth, names, shift, ps);
        let super::body::Lowered { blocks, params: ps, .. } = builder.lower_body(body);
        let calls_something =
            blocks.iter().any(|b| b.events.iter().any(|e| matches!(e, Event::Call(_) | Event::GuardEnter { .. })));
        if !calls_something {
            continue;
        }
        facts.functions.push(Function {
            name: names.intern(&m.name),
            span: crate::ir::Span { start: m.name_start, end: m.name_end },
            is_static: false,
            is_macro: true,
            returns_void: false,
            params: ps,
            annotations: Vec::new(),
            blocks,
        });
    }
}

/// Whether a macro body is an expression rather than statements.
fn is_expression(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    let t = text.trim_start();
    let starts_statement = ["do", "{", "if", "for", "while", "switch", "return", "goto", "break", "continue"]
        .iter()
        .any(|kw| t.starts_with(kw) && !t[kw.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_'));
    let mut depth = 0i32;
    let top_level_semicolon = t.chars().any(|c| {
        match c {
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth -= 1,
            _ => {}
        }
        c == ';' && depth == 0
    });
    !t.is_empty() && !starts_statement && !top_level_semicolon
}
