//! Registration wrappers: interrupt handlers a driver registers through a
//! helper of its own, which passes its parameter on to the registering call
//! (`gve_add_napi(priv, idx, gve_napi_poll)` calls `netif_napi_add(dev,
//! &block->napi, gve_poll)`; `msix_request_irq(dd, arg, handler, ..)` calls
//! `pci_request_irq(.., handler, ..)`). The model names the registering
//! primitives; a function that forwards one of its parameters to a
//! primitive's handler argument registers that argument the same way, and
//! so on up a few levels. Runs once every file is in, after the model's own
//! bindings (`Program::bind_handlers`).

use crate::index::{BareArg, FuncId, IrqRoot, Program, Target};
use crate::ir::{Arg, Base, Callee, Event, Sym};
use crate::model::{IrqLevel, Model, Primitive};
use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

/// Wrappers of wrappers are followed this many levels up.
const MAX_WRAPPER_DEPTH: usize = 3;

pub(crate) type Binders = FxHashMap<Sym, SmallVec<[(u8, IrqLevel); 1]>>;

/// What the pass found, kept so that replacing a file redoes only its part:
/// the wrappers (by name, with their handler positions) and every call of
/// one that passes a function there, in caller order.
#[derive(Default)]
pub struct Forwarding {
    wrappers: Binders,
    calls: Vec<(FuncId, Sym, Sym, IrqLevel)>,
}

/// Binds the handlers passed to wrappers of the model's interrupt-context
/// registrations (`bind-handler ... context=`), as `bind_handlers` binds
/// those passed to the primitives themselves.
pub fn bind_forwarded_handlers(prog: &mut Program, model: &Model) {
    let known = known_binders(prog, model);
    if known.is_empty() {
        return;
    }
    let primitives: FxHashSet<Sym> = known.keys().copied().collect();
    let wrappers = wrappers(prog, known, &primitives);
    let calls = if wrappers.is_empty() { Vec::new() } else { wrapper_calls(prog, &wrappers, 0..prog.funcs.len()) };
    prog.forwarding = Forwarding { wrappers, calls };
    bind_calls(prog);
}

/// `bind_forwarded_handlers` after `funcs` were replaced: when none of them
/// forwards a parameter to a registering call or a wrapper (before or after
/// the change: `forwarded`), the wrappers are what they were and only these
/// functions' calls of them are looked at again.
pub fn rebind_forwarded_handlers(prog: &mut Program, model: &Model, funcs: &FxHashSet<FuncId>, forwarded: bool) {
    if forwarded {
        return bind_forwarded_handlers(prog, model);
    }
    let mut calls = std::mem::take(&mut prog.forwarding.calls);
    calls.retain(|(caller, ..)| !funcs.contains(caller));
    let mut ids: Vec<usize> = funcs.iter().map(|&f| f as usize).collect();
    ids.sort_unstable();
    calls.extend(wrapper_calls(prog, &prog.forwarding.wrappers, ids.into_iter()));
    calls.sort_by_key(|(caller, ..)| *caller);
    prog.forwarding.calls = calls;
    bind_calls(prog);
}

/// Whether any of `funcs` passes a parameter on to a registering primitive
/// or a known wrapper (so the wrappers themselves may change).
pub fn forwards(prog: &Program, model: &Model, funcs: impl Iterator<Item = FuncId>) -> bool {
    let known = known_binders(prog, model);
    funcs.into_iter().any(|f| {
        let def = &prog.funcs[f as usize];
        def.calls.bare_args.iter().any(|&(at, _, arg)| {
            let callee = def.calls.callees[at as usize];
            matches!(arg, BareArg::Param(_))
                && (known.contains_key(&callee) || prog.forwarding.wrappers.contains_key(&callee))
        })
    })
}

/// The model's registering primitives with an interrupt context, by name.
fn known_binders(prog: &Program, model: &Model) -> Binders {
    let mut known: Binders = FxHashMap::default();
    for (name, prim) in &model.primitives {
        if let Primitive::BindHandler { handler, context: Some(level), .. } = prim {
            if let Some(sym) = prog.names.get(name) {
                known.entry(sym).or_default().push((*handler, *level));
            }
        }
    }
    known
}

/// Every call, in `ids`, of a wrapper that passes a function at its
/// handler position.
fn wrapper_calls(
    prog: &Program,
    wrappers: &Binders,
    ids: impl Iterator<Item = usize>,
) -> Vec<(FuncId, Sym, Sym, IrqLevel)> {
    let mut found = Vec::new();
    for caller in ids {
        let def = &prog.funcs[caller];
        for &(at, pos, arg) in def.calls.bare_args.iter() {
            let BareArg::Global(g) = arg else { continue };
            let callee = def.calls.callees[at as usize];
            for &(hpos, level) in wrappers.get(&callee).into_iter().flatten() {
                if hpos == pos {
                    found.push((caller as FuncId, callee, g, level));
                }
            }
        }
    }
    found
}

/// The handlers the kept wrapper calls pass, bound to their context.
fn bind_calls(prog: &mut Program) {
    let calls = std::mem::take(&mut prog.forwarding.calls);
    for &(caller, wrapper, handler, level) in &calls {
        let file = prog.funcs[caller as usize].file;
        let Target::Functions(ids) = prog.resolve_call(handler, file) else { continue };
        let span = call_span(prog, caller, wrapper, handler).unwrap_or(prog.funcs[caller as usize].func.span);
        let root = IrqRoot { level, func: caller, span, binder: wrapper };
        for id in ids {
            // A handler bound in both contexts counts as the harder one.
            let slot = prog.irq_roots.entry(id).or_insert(root);
            if root.level < slot.level {
                *slot = root;
            }
        }
    }
    prog.forwarding.calls = calls;
}

/// Functions that pass a parameter on, unchanged, to a registering call's
/// handler argument (or to another such wrapper's), with the handler's
/// position among their own parameters.
fn wrappers(prog: &Program, mut binders: Binders, primitives: &FxHashSet<Sym>) -> Binders {
    let mut derived: Binders = FxHashMap::default();
    for _ in 0..MAX_WRAPPER_DEPTH {
        let mut new: Vec<(Sym, u8, IrqLevel)> = Vec::new();
        for def in &prog.funcs {
            for &(at, pos, arg) in def.calls.bare_args.iter() {
                let BareArg::Param(p) = arg else { continue };
                let callee = def.calls.callees[at as usize];
                for &(hpos, level) in binders.get(&callee).into_iter().flatten() {
                    if hpos == pos {
                        new.push((def.func.name, p, level));
                    }
                }
            }
        }
        let mut grew = false;
        // The model's primitives are bound already (`request_irq()`'s own
        // body calls request_threaded_irq()).
        for (name, p, level) in new.into_iter().filter(|(name, _, _)| !primitives.contains(name)) {
            let list = binders.entry(name).or_default();
            if !list.contains(&(p, level)) {
                list.push((p, level));
                derived.entry(name).or_default().push((p, level));
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    derived
}

/// Where `caller` calls `wrapper` with `handler` as an argument.
pub(crate) fn call_span(prog: &Program, caller: FuncId, wrapper: Sym, handler: Sym) -> Option<crate::ir::Span> {
    prog.funcs[caller as usize].blocks().iter().flat_map(|b| &b.events).find_map(|e| match e {
        Event::Call(call)
            if call.callee == Callee::Named(wrapper)
                && call
                    .args
                    .iter()
                    .any(|a| matches!(a, Arg::Path(l, _) if l.base == Base::Global(handler) && l.path.is_empty())) =>
        {
            Some(call.span)
        }
        _ => None,
    })
}
