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

type Binders = FxHashMap<Sym, SmallVec<[(u8, IrqLevel); 1]>>;

/// Binds the handlers passed to wrappers of the model's interrupt-context
/// registrations (`bind-handler ... context=`), as `bind_handlers` binds
/// those passed to the primitives themselves.
pub fn bind_forwarded_handlers(prog: &mut Program, model: &Model) {
    let mut known: Binders = FxHashMap::default();
    for (name, prim) in &model.primitives {
        if let Primitive::BindHandler { handler, context: Some(level), .. } = prim {
            if let Some(sym) = prog.names.get(name) {
                known.entry(sym).or_default().push((*handler, *level));
            }
        }
    }
    if known.is_empty() {
        return;
    }
    let primitives: FxHashSet<Sym> = known.keys().copied().collect();
    let wrappers = wrappers(prog, known, &primitives);
    if wrappers.is_empty() {
        return;
    }
    // Every call of a wrapper that passes a function at its handler position.
    let mut found: Vec<(FuncId, Sym, Sym, IrqLevel)> = Vec::new();
    for (caller, def) in prog.funcs.iter().enumerate() {
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
    for (caller, wrapper, handler, level) in found {
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
