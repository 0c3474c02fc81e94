//! The index: all files' facts under one symbol table, the function table,
//! call resolution and the type index that turns lock expressions into
//! lockdep-style classes.
//!
//! Architecture invariant: the index is built once, after every file is
//! extracted, and is read-only afterwards, except through
//! `Program::replace_file` (`update.rs`) between two analyses.

use crate::ir::{Arg, Base, Event, FileFacts, Function, Interner, LockRef, Seg, Sym};
use crate::model::{Model, Primitive};
use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;
use std::path::PathBuf;

mod moved;
mod update;

pub(crate) use moved::shift as moved_span;
pub use update::{FileUpdate, Rebuild};

pub type FileId = u32;

/// The architecture whose headers are read as tree context.
pub const CONTEXT_ARCH: &str = "x86";

/// `arch/<name>/...` → `<name>`.
pub fn arch_of_path(display: &str) -> Option<String> {
    let rest = display.strip_prefix("arch/")?;
    let (name, _) = rest.split_once('/')?;
    Some(name.to_string())
}
pub type FuncId = u32;

/// One input file as later stages and the output see it.
#[derive(serde::Serialize, serde::Deserialize, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    /// The name findings use (relative to the directory the user gave).
    pub display: String,
    /// Read only for what its functions and types tell; never reported on.
    pub is_context: bool,
    pub is_header: bool,
    pub lines: crate::lines::LineIndex,
    /// `x86` for `arch/x86/...`: calls never resolve into another architecture.
    pub arch: Option<String>,
    /// Its definitions are used only where no other definition exists.
    pub fallback: bool,
}

impl SourceFile {
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        self.lines.line_col(offset)
    }
}

pub struct FuncDef {
    pub file: FileId,
    /// The function's header; its `blocks` are empty once indexed: they are
    /// in `body`.
    pub func: Function,
    /// The blocks, postcard-encoded. A body is decoded only while the
    /// dataflow runs over it: encoded it takes a tenth of the memory, which
    /// is what keeps the whole tree's IR in a few hundred MiB.
    body: Box<[u8]>,
    /// What the whole-program passes (call graph, specialisable parameters)
    /// need of the body, kept decoded.
    pub calls: CallIndex,
}

/// The named calls of a body, in order, without their spans and lock paths.
#[derive(Debug, Default)]
pub struct CallIndex {
    pub callees: Box<[Sym]>,
    /// Arguments that are a bare name: (index into `callees`, position, what).
    pub bare_args: Box<[(u32, u8, BareArg)]>,
    /// Parameters the body calls as functions (`fn(root, flag)`).
    pub called_params: SmallVec<[u8; 2]>,
    /// Parameters some branch tests directly, pointers included.
    pub branch_params: SmallVec<[u8; 2]>,
}

/// An argument that is only a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareArg {
    /// A global name, `&` or not: perhaps a function passed as a callback.
    Global(Sym),
    /// A parameter passed on unchanged (not its address).
    Param(u8),
}

impl FuncDef {
    fn new(file: FileId, mut func: Function) -> FuncDef {
        let blocks = std::mem::take(&mut func.blocks);
        let calls = CallIndex::of(&func, &blocks);
        // Encoding plain data into a Vec cannot fail; an empty body would
        // only make the function lock-neutral.
        let body = postcard::to_allocvec(&blocks).unwrap_or_default().into_boxed_slice();
        FuncDef { file, func, body, calls }
    }

    /// The blocks (block 0 is the entry), decoded.
    pub fn blocks(&self) -> Vec<crate::ir::Block> {
        postcard::from_bytes(&self.body).unwrap_or_default()
    }

    /// The places witness hops name in this function
    /// (`witness::site_spans`; `Program::site_span` looks them up).
    fn site_spans(&self) -> Vec<crate::ir::Span> {
        crate::analysis::witness::site_spans(self.func.span, &self.blocks())
    }

    /// Bytes the encoded body takes.
    pub fn body_len(&self) -> usize {
        self.body.len()
    }
}

impl CallIndex {
    fn of(func: &Function, blocks: &[crate::ir::Block]) -> CallIndex {
        let mut callees = Vec::new();
        let mut bare_args = Vec::new();
        let mut called_params: SmallVec<[u8; 2]> = SmallVec::new();
        let mut branch_params: SmallVec<[u8; 2]> = SmallVec::new();
        for block in blocks {
            if let crate::ir::Terminator::Branch { cond: crate::ir::Cond::Param(i), .. } = block.term {
                branch_params.push(i);
            }
            for event in &block.events {
                let Event::Call(call) = event else { continue };
                let crate::ir::Callee::Named(sym) = call.callee else { continue };
                if let Some(i) = func.params.iter().position(|p| p.name == sym).and_then(|i| u8::try_from(i).ok()) {
                    called_params.push(i);
                }
                let at = callees.len() as u32;
                callees.push(sym);
                for (pos, arg) in call.args.iter().enumerate() {
                    let Ok(pos) = u8::try_from(pos) else { break };
                    let Arg::Path(l, addr) = arg else { continue };
                    if !l.path.is_empty() {
                        continue;
                    }
                    match l.base {
                        Base::Global(g) => bare_args.push((at, pos, BareArg::Global(g))),
                        Base::Param(p) if !addr => bare_args.push((at, pos, BareArg::Param(p))),
                        _ => {}
                    }
                }
            }
        }
        for list in [&mut called_params, &mut branch_params] {
            list.sort_unstable();
            list.dedup();
        }
        CallIndex {
            callees: callees.into_boxed_slice(),
            bare_args: bare_args.into_boxed_slice(),
            called_params,
            branch_params,
        }
    }

    /// The bare-name arguments of call `at`.
    pub fn bare_args_of(&self, at: u32) -> impl Iterator<Item = (u8, BareArg)> + '_ {
        let start = self.bare_args.partition_point(|(c, _, _)| *c < at);
        self.bare_args[start..].iter().take_while(move |(c, _, _)| *c == at).map(|(_, p, a)| (*p, *a))
    }
}

/// What a call resolves to.
#[derive(Clone)]
pub enum Target {
    Primitive(Sym),
    Functions(SmallVec<[FuncId; 2]>),
    Unknown,
}

pub struct Program {
    pub names: Interner,
    pub files: Vec<SourceFile>,
    pub funcs: Vec<FuncDef>,
    by_name: FxHashMap<Sym, SmallVec<[FuncId; 2]>>,
    structs: FxHashMap<Sym, FxHashMap<Sym, Option<Sym>>>,
    /// The files defining each struct tag, with a hash of the members and
    /// whether the file is a `.c` file: read once every file is in, to find
    /// `colliding_structs`.
    struct_defs: FxHashMap<Sym, SmallVec<[StructDef; 2]>>,
    /// Struct tags that several `.c` files define each for themselves, with
    /// different members (`struct netdev_private` in starfire.c,
    /// winbond-840.c, natsemi.c), with each defining file: their locks are
    /// one class per file, as lockdep keys them, not one class for
    /// unrelated drivers. Identical definitions are taken as one type; a
    /// header's definition keeps the bare tag (the files including it share it).
    colliding_structs: FxHashSet<(FileId, Sym)>,
    typedefs: FxHashMap<Sym, Sym>,
    statics: FxHashSet<(FileId, Sym)>,
    /// Types of global objects: per file for statics, else under `None`.
    global_types: FxHashMap<(Option<FileId>, Sym), Sym>,
    /// Guard name → primitive, from the model and from `DEFINE_GUARD` in the sources.
    pub guards: FxHashMap<Sym, (Sym, SmallVec<[Seg; 2]>)>,
    /// Identifier → struct type, from the model (`current` → `task_struct`).
    types: FxHashMap<Sym, Sym>,
    primitives: FxHashSet<Sym>,
    /// Outer paths given their own lockdep class (`lockdep_set_class()`).
    own_classes: FxHashSet<String>,
    /// Locks a function starts with because it sits in a callback slot the
    /// model says runs under them (`.mmap` under mmap_lock): (class, mode, slot).
    pub entry_locks: FxHashMap<FuncId, Vec<(String, crate::model::Mode, Sym)>>,
    /// Handlers that run in interrupt context, and where they are bound
    /// (`request_irq(irq, foo_isr, ..)`, `timer_setup(&t, foo_timer, 0)`).
    pub irq_roots: FxHashMap<FuncId, IrqRoot>,
    /// Functions called (from slots the model names) with interrupts of a
    /// level already disabled.
    pub irqs_off_entry: FxHashMap<FuncId, crate::model::IrqLevel>,
    /// Calls of handler-binding and class-setting primitives, by caller,
    /// for the passes that read them once every file is in.
    model_calls: Vec<(FuncId, crate::ir::Call)>,
    /// Calls of primitives whose kind makes a class per-object or backing
    /// off (semaphores, page locks, ww_mutex), by caller.
    class_flag_calls: Vec<(FuncId, crate::ir::Call)>,
    /// Functions put in struct slots: (file, struct, field, function), the
    /// member paths resolved; kept so the binding passes can run again when
    /// a file is replaced.
    bindings: Vec<(FileId, Sym, Sym, Sym)>,
    /// The same for slots filled through member paths, resolved once every
    /// struct is in (`rth->dst.input = f`); bound after `bindings`. Both
    /// lists are in file order.
    path_bindings: Vec<(FileId, Sym, Sym, Sym)>,
    /// What the registration-wrapper pass found (`wrappers.rs`).
    pub(crate) forwarding: crate::wrappers::Forwarding,
    /// Functions a replaced file no longer defines (`update.rs`): inert.
    dead: FxHashSet<FuncId>,
    /// Per file, digests of what it defines outside function bodies
    /// (`update::item_digests`): what a replacement must leave alone.
    file_items: Vec<Box<[u64]>>,
    /// Each function's site spans once a finding asked for one
    /// (`site_span`): a body is decoded once, not per hop and per run.
    /// `replace_file` forgets a replaced file's.
    site_spans: std::sync::Mutex<FxHashMap<FuncId, std::sync::Arc<[crate::ir::Span]>>>,
    /// How many functions the program was built with: those are in file
    /// order (`functions_in`); ones a replaced file added come after.
    built: usize,
}

/// Where a struct tag is defined: the file, a hash of its members, and
/// whether the file is a `.c` file.
type StructDef = (FileId, u64, bool);

/// A handler bound to an interrupt context.
#[derive(Debug, Clone, Copy)]
pub struct IrqRoot {
    pub level: crate::model::IrqLevel,
    /// The registering call: its function, its span and its callee.
    pub func: FuncId,
    pub span: crate::ir::Span,
    pub binder: Sym,
}

impl Program {
    pub fn build(model: &Model, inputs: Vec<(SourceFile, FileFacts)>) -> Program {
        let mut builder = ProgramBuilder::new(model);
        for (file, facts) in inputs {
            builder.add(file, facts);
        }
        builder.finish()
    }

    /// Functions in callback slots the model says run with locks held.
    fn bind_callbacks(&mut self, model: &Model, bindings: &[(FileId, Sym, Sym, Sym)]) {
        // The slots the model names, as symbols: most bindings fill none of
        // them, and comparing symbols is what keeps this pass cheap enough
        // to run again after each edit.
        let slots = model.callbacks.iter().map(|(st, f, _, _)| (st, f));
        let slots = slots.chain(model.irqs_off_callbacks.iter().map(|(st, f, _)| (st, f)));
        let slots = slots.chain(model.irq_callbacks.iter().map(|(st, f, _)| (st, f)));
        let modelled: FxHashSet<(Sym, Sym)> =
            slots.filter_map(|(st, f)| Some((self.names.get(st)?, self.names.get(f)?))).collect();
        for &(file, ty, field, func) in bindings {
            if !modelled.contains(&(ty, field)) {
                continue;
            }
            let (ty_name, field_name) = (self.name(ty).to_string(), self.name(field).to_string());
            for (st, f, class, mode) in &model.callbacks {
                if *st != ty_name || *f != field_name {
                    continue;
                }
                let Target::Functions(ids) = self.resolve_call(func, file) else { continue };
                for id in ids {
                    let slot = self.names.intern(&format!("{st}.{f}"));
                    self.entry_locks.entry(id).or_default().push((class.clone(), *mode, slot));
                }
            }
            for (st, f, level) in &model.irqs_off_callbacks {
                if *st != ty_name || *f != field_name {
                    continue;
                }
                let Target::Functions(ids) = self.resolve_call(func, file) else { continue };
                for id in ids {
                    self.irqs_off_entry.insert(id, *level);
                }
            }
            for (st, f, level) in &model.irq_callbacks {
                if *st != ty_name || *f != field_name {
                    continue;
                }
                let Target::Functions(ids) = self.resolve_call(func, file) else { continue };
                let slot = self.names.intern(&format!("{st}.{f}"));
                for id in ids {
                    let span = self.funcs[id as usize].func.span;
                    self.irq_roots.insert(id, IrqRoot { level: *level, func: id, span, binder: slot });
                }
            }
        }
    }

    /// Work items and timers bound to handlers (`INIT_WORK(&d->work, fn)`):
    /// the handler runs "holding" the item, as lockdep models work, so that
    /// waiting for it (`cancel_work_sync`) orders after its locks.
    fn bind_handlers(&mut self, model: &Model) {
        let mut found: Vec<(FuncId, String, Sym)> = Vec::new();
        let mut roots: Vec<(FuncId, IrqRoot)> = Vec::new();
        for (caller, call) in &self.model_calls {
            let (caller, def) = (*caller, &self.funcs[*caller as usize]);
            {
                let crate::ir::Callee::Named(callee) = call.callee else { continue };
                let Some(Primitive::BindHandler { item, handler, context }) = model.primitive(self.name(callee)) else {
                    continue;
                };
                let Some(Arg::Path(handler, _)) = call.args.get(*handler as usize) else { continue };
                let (Base::Global(handler), true) = (handler.base, handler.path.is_empty()) else { continue };
                let Target::Functions(ids) = self.resolve_call(handler, def.file) else { continue };
                if let Some(level) = context {
                    let root = IrqRoot { level: *level, func: caller, span: call.span, binder: callee };
                    roots.extend(ids.iter().map(|id| (*id, root)));
                }
                let Some(Arg::Path(item, _)) = item.and_then(|i| call.args.get(i as usize)) else { continue };
                let (class, weak) = self.class_name(item, def.file);
                if weak {
                    continue;
                }
                for id in ids {
                    found.push((id, handler_class(&class), callee));
                }
            }
        }
        for (id, class, binder) in found {
            let entry = self.entry_locks.entry(id).or_default();
            if !entry.iter().any(|(c, _, _)| *c == class) {
                entry.push((class, crate::model::Mode::Exclusive, binder));
            }
        }
        // A handler bound in both contexts counts as the harder one.
        for (id, root) in roots {
            let slot = self.irq_roots.entry(id).or_insert(root);
            if root.level < slot.level {
                *slot = root;
            }
        }
    }

    /// Lock paths whose class `lockdep_set_class()` (a `set-class` primitive)
    /// replaces: they keep their full path as their class name.
    fn collect_own_classes(&mut self, model: &Model) {
        let mut own = FxHashSet::default();
        for (caller, call) in &self.model_calls {
            let def = &self.funcs[*caller as usize];
            {
                let crate::ir::Callee::Named(callee) = call.callee else { continue };
                let Some(Primitive::SetClass(p)) = model.primitive(self.name(callee)) else { continue };
                let Some(Arg::Path(lock, _)) = p.arg.and_then(|i| call.args.get(i as usize)) else { continue };
                if let (_, Some(outer)) = self.class_names(lock, def.file) {
                    own.insert(outer);
                }
            }
        }
        self.own_classes = own;
    }

    pub fn name(&self, sym: Sym) -> &str {
        self.names.resolve(sym)
    }

    /// Where witness hop `site` is in `func`, from the function's site
    /// spans, computed once.
    pub fn site_span(&self, func: FuncId, site: u32) -> crate::ir::Span {
        let Some(def) = self.funcs.get(func as usize) else { return crate::ir::Span::default() };
        if site == 0 {
            return def.func.span;
        }
        // A panic elsewhere while the lock was held leaves a usable map.
        let mut memo = self.site_spans.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let sites = memo.entry(func).or_insert_with(|| def.site_spans().into());
        sites.get(site as usize).copied().unwrap_or(def.func.span)
    }

    /// The live functions of `file`, by id.
    pub fn functions_in(&self, file: FileId) -> impl Iterator<Item = FuncId> + '_ {
        let built = &self.funcs[..self.built.min(self.funcs.len())];
        let (start, end) = (built.partition_point(|d| d.file < file), built.partition_point(|d| d.file <= file));
        (start..end)
            .chain(built.len()..self.funcs.len())
            .map(|id| id as FuncId)
            .filter(move |&id| self.funcs[id as usize].file == file && !self.is_dead(id))
    }

    /// Every live definition named `name`.
    pub fn functions_named(&self, name: Sym) -> &[FuncId] {
        self.by_name.get(&name).map_or(&[], |list| list.as_slice())
    }

    /// A function a replaced file no longer defines: nothing calls it and
    /// nothing reports on it.
    pub fn is_dead(&self, id: FuncId) -> bool {
        self.dead.contains(&id)
    }

    /// Calls of per-object and backing-off lock primitives, by caller.
    pub fn class_flag_calls(&self) -> &[(FuncId, crate::ir::Call)] {
        &self.class_flag_calls
    }

    /// Resolves a named call made in `file`: the model wins, then a static
    /// definition in the same file, then every global definition.
    pub fn resolve_call(&self, callee: Sym, file: FileId) -> Target {
        if self.primitives.contains(&callee) {
            return Target::Primitive(callee);
        }
        let Some(cands) = self.by_name.get(&callee) else {
            return Target::Unknown;
        };
        let local: SmallVec<[FuncId; 2]> =
            cands.iter().copied().filter(|&f| self.funcs[f as usize].file == file).collect();
        if !local.is_empty() {
            return Target::Functions(local);
        }
        let visible = |f: &FuncId| {
            let def = &self.funcs[*f as usize];
            !def.func.is_static || self.files[def.file as usize].is_header
        };
        // Same architecture or generic code; generic code falls back on the
        // architecture whose headers are read as context.
        let caller_arch = self.files[file as usize].arch.as_deref();
        let arch_of = |f: &FuncId| self.files[self.funcs[*f as usize].file as usize].arch.as_deref();
        let mut global: SmallVec<[FuncId; 2]> = cands
            .iter()
            .copied()
            .filter(visible)
            .filter(|f| arch_of(f).is_none() || arch_of(f) == caller_arch)
            .collect();
        let is_fallback = |f: &FuncId| self.files[self.funcs[*f as usize].file as usize].fallback;
        if global.iter().any(|f| !is_fallback(f)) {
            global.retain(|f| !is_fallback(f));
        }
        if global.is_empty() && caller_arch.is_none() {
            global = cands.iter().copied().filter(visible).filter(|f| arch_of(f) == Some(CONTEXT_ARCH)).collect();
        }
        if global.is_empty() {
            Target::Unknown
        } else {
            Target::Functions(global)
        }
    }

    pub fn primitive<'m>(&self, model: &'m Model, sym: Sym) -> Option<&'m Primitive> {
        model.primitive(self.name(sym))
    }

    fn resolve_type(&self, mut ty: Sym) -> Sym {
        for _ in 0..8 {
            match self.typedefs.get(&ty) {
                Some(&t) if t != ty => ty = t,
                _ => break,
            }
        }
        ty
    }

    fn find_colliding_structs(&mut self) {
        for (tag, defs) in std::mem::take(&mut self.struct_defs) {
            let differ = defs.iter().any(|(_, m, _)| *m != defs[0].1);
            if !differ || self.name(tag).contains('.') {
                continue;
            }
            self.colliding_structs.extend(defs.into_iter().filter(|(_, _, c)| *c).map(|(f, _, _)| (f, tag)));
        }
    }

    /// A struct type as the root of a class name: its tag, qualified by
    /// the file when several `.c` files each define a struct of that tag.
    fn type_root(&self, ty: Sym, file: FileId) -> String {
        if self.colliding_structs.contains(&(file, ty)) {
            format!("{}:{}", self.files[file as usize].display, self.name(ty))
        } else {
            self.name(ty).to_string()
        }
    }

    fn field_type(&self, ty: Sym, field: Sym) -> Option<Sym> {
        let ty = self.resolve_type(ty);
        self.structs.get(&ty)?.get(&field).copied().flatten().map(|t| self.resolve_type(t))
    }

    /// The lockdep-style class of a lock expression written in `file`:
    /// `p->lock` with `p` a `struct T *` is `T::lock`; fields follow the type
    /// index, and the class is anchored at the innermost named struct holding
    /// the lock (`p->a.b` is `A::b` when `a` is a `struct A`, `T::a.b` when its
    /// type is unknown); a path given its own class by `lockdep_set_class()`
    /// keeps its full name; globals are named by name (file-scoped when
    /// static). The bool is true when the class is weak (root type unknown).
    pub fn class_name(&self, lock: &LockRef, file: FileId) -> (String, bool) {
        let (inner, outer) = self.class_names(lock, file);
        match outer {
            Some(outer) if self.own_classes.contains(&outer) => (outer, false),
            _ => inner,
        }
    }

    /// The class anchored at the innermost named struct, and the path
    /// anchored only at `->` (for classes set by `lockdep_set_class()`).
    fn class_names(&self, lock: &LockRef, file: FileId) -> ((String, bool), Option<String>) {
        let mut cur_ty: Option<Sym> = None;
        let mut root: Option<String> = None;
        let mut path: Vec<&str> = Vec::new();
        match lock.base {
            Base::Param(_) | Base::Local(_) | Base::Stack(_) => {
                cur_ty = lock.base_ty.map(|t| self.resolve_type(t));
                root = cur_ty.map(|t| self.type_root(t, file));
                if root.is_none() {
                    if let Base::Local(s) | Base::Stack(s) = lock.base {
                        path.push(self.name(s));
                    }
                }
            }
            Base::Global(g) => {
                let declared = self.global_types.get(&(Some(file), g)).or_else(|| self.global_types.get(&(None, g)));
                // A global object of known struct type is named by its type once
                // a field is involved, as a pointer to it would be.
                let typed =
                    lock.base_ty.as_ref().or_else(|| self.types.get(&g)).or(declared.filter(|_| !lock.path.is_empty()));
                if let Some(&t) = typed {
                    cur_ty = Some(self.resolve_type(t));
                    root = cur_ty.map(|t| self.type_root(t, file));
                } else if self.statics.contains(&(file, g)) {
                    let root = Some(format!("{}:{}", self.files[file as usize].display, self.name(g)));
                    return (self.finish_global(root, lock, 0), None);
                } else {
                    let root = Some(self.name(g).to_string());
                    return (self.finish_global(root, lock, 0), None);
                }
            }
            Base::Unknown => {}
        }
        // The same walk anchored only at `->`: `perf_cpu_context::ctx.lock`,
        // the name a lockdep_set_class() on that path gives its own class.
        let mut outer_root = root.clone();
        let mut outer_path: Vec<&str> = path.clone();
        for seg in &lock.path {
            if seg.arrow {
                outer_root = cur_ty.map(|t| self.type_root(t, file));
                outer_path.clear();
            }
            outer_path.push(self.name(seg.field));
            // The class is anchored at the innermost named struct that holds
            // the field, as lockdep keys a lock where that struct initialises
            // it: `pgdat->__lruvec.lru_lock` is `lruvec::lru_lock`, the lock a
            // `struct lruvec *` reaches. Through an unknown (or anonymous)
            // type the path continues: `T::a.b`.
            let named = cur_ty.filter(|t| !self.name(*t).contains('.'));
            if seg.arrow || named.is_some() {
                root = named.map(|t| self.type_root(t, file));
                path.clear();
            }
            path.push(self.name(seg.field));
            cur_ty = cur_ty.and_then(|t| self.field_type(t, seg.field));
        }
        let outer = outer_root.filter(|_| !outer_path.is_empty()).map(|r| format!("{r}::{}", outer_path.join(".")));
        let weak = root.is_none();
        let root = root.unwrap_or_else(|| "?".to_string());
        if path.is_empty() {
            // A bare `spinlock_t *lock` parameter: its class is whatever the caller passed.
            return ((root, true), outer);
        }
        ((format!("{root}::{}", path.join(".")), weak), outer)
    }

    /// A global struct object: `&foo.lock` is `foo.lock`, until a `->`.
    fn finish_global(&self, root: Option<String>, lock: &LockRef, _from: usize) -> (String, bool) {
        let mut name = root.unwrap_or_default();
        let mut weak = false;
        for seg in &lock.path {
            if seg.arrow {
                name = format!("?::{}", self.name(seg.field));
                weak = true;
            } else {
                name.push('.');
                name.push_str(self.name(seg.field));
            }
        }
        (name, weak)
    }
}

fn remap_function(func: &mut Function, g: &impl Fn(Sym) -> Sym) {
    func.name = g(func.name);
    for p in &mut func.params {
        p.name = g(p.name);
        p.ty = p.ty.map(g);
    }
    for a in &mut func.annotations {
        remap_lock(&mut a.lock, g);
    }
    for block in &mut func.blocks {
        for event in &mut block.events {
            match event {
                Event::Call(call) => {
                    if let crate::ir::Callee::Named(s) = &mut call.callee {
                        *s = g(*s);
                    }
                    for arg in &mut call.args {
                        if let Arg::Path(lock, _) = arg {
                            remap_lock(lock, g);
                        }
                    }
                }
                Event::GuardEnter { guard, lock, .. } | Event::GuardExit { guard, lock, .. } => {
                    *guard = g(*guard);
                    if let Some(lock) = lock {
                        remap_lock(lock, g);
                    }
                }
                Event::Assume { .. } => {}
                Event::SetVar { var, value } => {
                    *var = g(*var);
                    if let crate::ir::RetVal::Var(s) = value {
                        *s = g(*s);
                    }
                }
            }
        }
        match &mut block.term {
            crate::ir::Terminator::Branch { cond: crate::ir::Cond::Var(s), .. }
            | crate::ir::Terminator::Branch { cond: crate::ir::Cond::CallResult { var: Some(s), .. }, .. }
            | crate::ir::Terminator::Return(crate::ir::RetVal::Var(s)) => *s = g(*s),
            _ => {}
        }
    }
}

fn remap_lock(lock: &mut LockRef, g: &impl Fn(Sym) -> Sym) {
    lock.base = match lock.base {
        Base::Local(s) => Base::Local(g(s)),
        Base::Stack(s) => Base::Stack(g(s)),
        Base::Global(s) => Base::Global(g(s)),
        other => other,
    };
    lock.base_ty = lock.base_ty.map(g);
    for seg in &mut lock.path {
        seg.field = g(seg.field);
    }
}

/// The pseudo-lock class of a work item or timer: what its handler "holds"
/// and what waiting for it takes.
pub fn handler_class(item_class: &str) -> String {
    format!("(handler) {item_class}")
}

/// Whether a class is a work item's or timer's pseudo-lock.
pub fn is_handler_class(class: &str) -> bool {
    class.starts_with("(handler) ")
}

/// Builds a `Program` file by file, so that a caller can parse in chunks and
/// drop each file's facts once merged (peak memory is the program plus one
/// chunk, not every file's facts at once). Files keep the order they are
/// added in.
pub struct ProgramBuilder<'m> {
    model: &'m Model,
    names: Interner,
    prog: Program,
    bindings: Vec<(FileId, Sym, Sym, Sym)>,
    /// Slots through members (`rth->dst.input`): resolved once every
    /// struct is in.
    slot_paths: Vec<(FileId, Sym, Vec<Sym>, Sym)>,
}

impl<'m> ProgramBuilder<'m> {
    pub fn new(model: &'m Model) -> ProgramBuilder<'m> {
        let mut names = Interner::default();
        let mut prog = Program {
            names: Interner::default(),
            files: Vec::new(),
            funcs: Vec::new(),
            by_name: FxHashMap::default(),
            structs: FxHashMap::default(),
            struct_defs: FxHashMap::default(),
            colliding_structs: FxHashSet::default(),
            typedefs: FxHashMap::default(),
            statics: FxHashSet::default(),
            global_types: FxHashMap::default(),
            guards: FxHashMap::default(),
            types: FxHashMap::default(),
            primitives: FxHashSet::default(),
            own_classes: FxHashSet::default(),
            entry_locks: FxHashMap::default(),
            irq_roots: FxHashMap::default(),
            irqs_off_entry: FxHashMap::default(),
            model_calls: Vec::new(),
            class_flag_calls: Vec::new(),
            bindings: Vec::new(),
            path_bindings: Vec::new(),
            forwarding: Default::default(),
            dead: FxHashSet::default(),
            file_items: Vec::new(),
            site_spans: Default::default(),
            built: 0,
        };
        for (guard, prim) in &model.guards {
            let (g, p) = (names.intern(guard), names.intern(prim));
            prog.guards.insert(g, (p, SmallVec::new()));
        }
        for (ident, ty) in &model.types {
            let (i, t) = (names.intern(ident), names.intern(ty));
            prog.types.insert(i, t);
        }
        for name in model.primitives.keys() {
            prog.primitives.insert(names.intern(name));
        }
        ProgramBuilder { model, names, prog, bindings: Vec::new(), slot_paths: Vec::new() }
    }

    pub fn add(&mut self, file: SourceFile, facts: FileFacts) {
        let (names, prog, bindings) = (&mut self.names, &mut self.prog, &mut self.bindings);
        let model = self.model;
        let file_id = prog.files.len() as FileId;
        let map: Vec<Sym> = facts.names.iter().map(|s| names.intern(s)).collect();
        let g = |s: Sym| map.get(s.0 as usize).copied().unwrap_or(s);
        let in_c_file = file.path.extension().is_some_and(|e| e == "c");
        prog.file_items.push(update::item_digests(&facts));
        for st in facts.structs {
            let tag = g(st.name);
            let members = {
                use std::hash::{Hash, Hasher};
                let mut h = rustc_hash::FxHasher::default();
                for (f, _) in &st.fields {
                    g(*f).hash(&mut h);
                }
                h.finish()
            };
            let defs = prog.struct_defs.entry(tag).or_default();
            if defs.last().map(|(f, _, _)| *f) != Some(file_id) {
                defs.push((file_id, members, in_c_file));
            }
            let fields = prog.structs.entry(tag).or_default();
            for (f, t) in st.fields {
                fields.entry(g(f)).or_insert(t.map(g));
            }
        }
        for (alias, target) in facts.typedefs {
            prog.typedefs.entry(g(alias)).or_insert(g(target));
        }
        for s in &facts.static_globals {
            prog.statics.insert((file_id, g(*s)));
        }
        for (name, ty) in facts.global_types {
            let scope = facts.static_globals.contains(&name).then_some(file_id);
            prog.global_types.entry((scope, g(name))).or_insert(g(ty));
        }
        for (ty, field, func) in &facts.slot_bindings {
            bindings.push((file_id, g(*ty), g(*field), g(*func)));
        }
        for (ty, fields, func) in &facts.slot_paths {
            self.slot_paths.push((file_id, g(*ty), fields.iter().map(|f| g(*f)).collect(), g(*func)));
        }
        // `obj.cb = foo` at run time: `obj`'s type from this file's statics
        // (`static struct inet_frags lowpan_frags;`), else from the global
        // declarations read so far (this file's included).
        for (object, field, func) in &facts.global_slot_assignments {
            let object = g(*object);
            let declared =
                prog.global_types.get(&(Some(file_id), object)).or_else(|| prog.global_types.get(&(None, object)));
            let Some(&ty) = declared else { continue };
            bindings.push((file_id, ty, g(*field), g(*func)));
        }
        for guard in facts.guards {
            // The model's own guard table wins over what the tree defines.
            let path = guard.field_path.iter().map(|s| Seg { field: g(s.field), arrow: s.arrow }).collect();
            prog.guards.entry(g(guard.name)).or_insert((g(guard.primitive), path));
        }
        for mut func in facts.functions {
            remap_function(&mut func, &g);
            if func.is_macro && !file.is_header {
                func.is_static = true;
            }
            let id = prog.funcs.len() as FuncId;
            prog.by_name.entry(func.name).or_default().push(id);
            prog.names = std::mem::take(names);
            prog.collect_model_calls(model, id, &func);
            *names = std::mem::take(&mut prog.names);
            prog.funcs.push(FuncDef::new(file_id, func));
        }
        prog.files.push(file);
    }

    pub fn finish(self) -> Program {
        let ProgramBuilder { model, mut names, mut prog, bindings, slot_paths } = self;
        // The model's field types fill in only what no source defined.
        for (st, field, ty) in &model.fields {
            let (s, f, t) = (names.intern(st), names.intern(field), names.intern(ty));
            prog.structs.entry(s).or_default().entry(f).or_insert(Some(t));
        }
        prog.names = names;
        prog.find_colliding_structs();
        prog.collect_own_classes(model);
        // `rth->dst.input = f`: the type of `rth->dst` is the slot's struct.
        let mut path_bindings = Vec::new();
        for (file, ty, fields, func) in slot_paths {
            let Some((last, inner)) = fields.split_last() else { continue };
            let holder = inner.iter().try_fold(ty, |t, f| prog.field_type(t, *f));
            if let Some(holder) = holder {
                path_bindings.push((file, holder, *last, func));
            }
        }
        prog.bind_callbacks(model, &bindings);
        prog.bind_callbacks(model, &path_bindings);
        prog.bindings = bindings;
        prog.path_bindings = path_bindings;
        prog.bind_handlers(model);
        crate::wrappers::bind_forwarded_handlers(&mut prog, model);
        prog.built = prog.funcs.len();
        prog
    }
}
