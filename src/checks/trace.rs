//! Witness paths as trace hops, shared by the checks.

use crate::analysis::held::HeldLock;
use crate::analysis::witness::Chain;
use crate::finding::TraceHop;
use crate::index::{FuncId, Program};
use crate::ir::{Span, Sym};

pub(crate) fn fn_name(prog: &Program, func: FuncId) -> String {
    prog.name(prog.funcs[func as usize].func.name).to_string()
}

pub(crate) fn hop(prog: &Program, func: FuncId, span: Span, note: String) -> TraceHop {
    TraceHop { file: prog.funcs[func as usize].file, span, function: fn_name(prog, func), note }
}

/// Where `held` was taken in `func`, and through which helpers.
pub(crate) fn lock_taken(prog: &Program, func: FuncId, held: &HeldLock, class: &str, how: &str) -> Vec<TraceHop> {
    let taker = prog.name(held.taker);
    let mut out = Vec::new();
    let on_entry = held.site == prog.funcs[func as usize].func.span;
    match &held.via {
        // A callback slot (`file_operations.mmap`) is entered with the lock held.
        None if on_entry && taker.contains('.') => {
            out.push(hop(prog, func, held.site, format!("{class} held on entry: called as {taker} ({how})")))
        }
        // A handler bound with INIT_WORK()/timer_setup() "holds" its item.
        None if on_entry => {
            out.push(hop(prog, func, held.site, format!("{class} held on entry: the handler bound by {taker}()")))
        }
        None => out.push(hop(prog, func, held.site, format!("{class} taken here by {taker}() ({how})"))),
        Some(via) => {
            out.push(hop(prog, func, held.site, format!("{class} taken in {taker}() ({how})")));
            out.extend(chain(prog, via, |callee| format!("{callee}() takes {class}")));
        }
    }
    out
}

/// The hops of a chain: every hop but the last "calls X"; the last is `last`.
pub(crate) fn chain(prog: &Program, chain: &Chain, last: impl Fn(&str) -> String) -> Vec<TraceHop> {
    let hops = chain.hops();
    let n = hops.len();
    hops.iter()
        .enumerate()
        .map(|(i, h)| {
            let callee = prog.name(h.callee);
            let note = if i + 1 == n { last(callee) } else { format!("calls {callee}()") };
            hop(prog, h.func, prog.site_span(h.func, h.site), note)
        })
        .collect()
}

pub(crate) fn mode_text(held: &HeldLock) -> &'static str {
    match (held.mode, held.trylock) {
        (crate::model::Mode::Shared, true) => "read, trylock succeeded",
        (crate::model::Mode::Shared, false) => "read",
        (crate::model::Mode::Exclusive, true) => "trylock succeeded",
        (crate::model::Mode::Exclusive, false) => "write",
    }
}

pub(crate) fn short_lock(class: &str) -> &str {
    class.rsplit("::").next().unwrap_or(class)
}

pub(crate) fn name_of(prog: &Program, sym: Sym) -> &str {
    prog.name(sym)
}
