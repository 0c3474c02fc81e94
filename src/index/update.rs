//! Replacing one file's facts in a built program, for the incremental
//! re-analysis of an editor's buffer or a patch: the file's functions are
//! replaced in place (same ids), functions it adds get new ids at the end,
//! and the bindings (slots, interrupt handlers, work items) are recomputed.
//!
//! Invariant: after `replace_file` returns `Ok`, the program is what
//! building it from scratch with the new facts would give, up to function
//! ids (added functions come last, removed ones stay as tombstones that
//! nothing calls and nothing reports) and up to what a new global name (a
//! struct tag, a global's type) changes in other files that named it
//! before it was defined. Anything else that changed outside function
//! bodies — a struct's members, a removed typedef or global — returns
//! `Err(Rebuild)` with the program untouched.

use super::{FileId, FuncDef, FuncId, IrqRoot, Program, SourceFile};
use crate::ir::{Callee, Event, FileFacts, Sym};
use crate::model::{Model, Primitive};
use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use std::hash::{Hash, Hasher};

/// The file cannot be patched in: rebuild the program from every file.
#[derive(Debug)]
pub struct Rebuild(pub &'static str);

/// What a replacement changed, for the analysis to redo.
#[derive(Debug, Default)]
pub struct FileUpdate {
    /// Functions whose body, bindings or call resolution may have changed
    /// (the file's functions that changed more than their place, the added
    /// and removed ones, and functions anywhere that call or pass a name
    /// the file now defines or no longer does, or whose bindings changed),
    /// sorted.
    pub dirty: Vec<FuncId>,
    /// The file's functions that only moved (`moved::moved_by`), by how
    /// many bytes: what their analysis observed moves with them.
    pub moved: Vec<(FuncId, i64)>,
    /// The functions the file added (ids at the end of the table).
    pub added: Vec<FuncId>,
    /// The functions it removed (tombstones now, `Program::is_dead`).
    pub removed: Vec<FuncId>,
    /// The calls of per-object and backing-off lock primitives the file's
    /// functions made before the change (the analysis compares the classes
    /// they flag with the new calls').
    pub old_flag_calls: Vec<(FuncId, crate::ir::Call)>,
    /// `lockdep_set_class()` paths changed: every class name may have.
    pub own_classes_changed: bool,
}

impl FileUpdate {
    /// Sorts the dirty functions; a dirty function's analysis is redone, so
    /// it neither moves nor needs its old flagging calls compared.
    fn finish(&mut self) {
        self.dirty.sort_unstable();
        self.dirty.dedup();
        let dirty = &self.dirty;
        self.moved.retain(|(f, _)| dirty.binary_search(f).is_err());
        self.old_flag_calls.retain(|(f, _)| dirty.binary_search(f).is_ok());
    }
}

/// What one file defines outside its function bodies, as digests of each
/// item by name (so they compare across interners).
pub(super) fn item_digests(facts: &FileFacts) -> Box<[u64]> {
    let mut out: Vec<u64> = items(facts).map(|(d, _)| d).collect();
    out.sort_unstable();
    out.into_boxed_slice()
}

/// An item of a file, for applying an added one.
enum Item {
    Struct(usize),
    Typedef(usize),
    Static(usize),
    GlobalType(usize),
    Binding,
    Guard(usize),
}

fn items(facts: &FileFacts) -> impl Iterator<Item = (u64, Item)> + '_ {
    let n = |s: Sym| facts.names.get(s.0 as usize).map_or("?", |b| &**b);
    let digest = move |tag: u8, parts: &mut dyn Iterator<Item = &str>| {
        let mut h = FxHasher::default();
        tag.hash(&mut h);
        for p in parts {
            p.hash(&mut h);
        }
        h.finish()
    };
    let structs = facts.structs.iter().enumerate().map(move |(i, st)| {
        let fields = st.fields.iter().flat_map(|(f, t)| [n(*f), t.map_or("", n)]);
        (digest(0, &mut std::iter::once(n(st.name)).chain(fields)), Item::Struct(i))
    });
    let typedefs = facts
        .typedefs
        .iter()
        .enumerate()
        .map(move |(i, (a, t))| (digest(1, &mut [n(*a), n(*t)].into_iter()), Item::Typedef(i)));
    let statics = facts
        .static_globals
        .iter()
        .enumerate()
        .map(move |(i, s)| (digest(2, &mut [n(*s)].into_iter()), Item::Static(i)));
    let globals = facts
        .global_types
        .iter()
        .enumerate()
        .map(move |(i, (g, t))| (digest(3, &mut [n(*g), n(*t)].into_iter()), Item::GlobalType(i)));
    let slots = facts
        .slot_bindings
        .iter()
        .map(move |(t, f, g)| (digest(4, &mut [n(*t), n(*f), n(*g)].into_iter()), Item::Binding));
    let assigned = facts
        .global_slot_assignments
        .iter()
        .map(move |(o, f, g)| (digest(5, &mut [n(*o), n(*f), n(*g)].into_iter()), Item::Binding));
    let paths = facts.slot_paths.iter().map(move |(t, fields, g)| {
        let parts = std::iter::once(n(*t)).chain(fields.iter().map(|f| n(*f))).chain(std::iter::once(n(*g)));
        (digest(6, &mut parts.collect::<Vec<_>>().into_iter()), Item::Binding)
    });
    let guards = facts.guards.iter().enumerate().map(move |(i, g)| {
        let path = g.field_path.iter().flat_map(|s| [n(s.field), if s.arrow { "->" } else { "." }]);
        (digest(7, &mut [n(g.name), n(g.primitive)].into_iter().chain(path)), Item::Guard(i))
    });
    structs.chain(typedefs).chain(statics).chain(globals).chain(slots).chain(assigned).chain(paths).chain(guards)
}

impl Program {
    /// Replaces file `file_id`'s facts with `facts` (see the module doc).
    pub fn replace_file(
        &mut self,
        model: &Model,
        file_id: FileId,
        file: SourceFile,
        mut facts: FileFacts,
    ) -> Result<FileUpdate, Rebuild> {
        let Some(old_items) = self.file_items.get(file_id as usize) else { return Err(Rebuild("a new file")) };
        let new_items = item_digests(&facts);
        if old_items.iter().any(|d| new_items.binary_search(d).is_err()) {
            return Err(Rebuild("a definition outside the function bodies changed or went"));
        }
        let old_ids: Vec<FuncId> = self.functions_in(file_id).collect();
        // Match the new functions to the old ones in order (same name and
        // kind); old ones skipped over are removed, new ones unmatched are
        // added.
        let names: Vec<Sym> = facts.names.iter().map(|s| self.names.intern(s)).collect();
        let g = |s: Sym| names.get(s.0 as usize).copied().unwrap_or(s);
        let mut placed: Vec<Option<FuncId>> = Vec::with_capacity(facts.functions.len());
        let mut removed: Vec<FuncId> = Vec::new();
        let mut next = 0;
        for func in &facts.functions {
            let is_static = func.is_static || (func.is_macro && !file.is_header);
            let same = |id: &FuncId| {
                let old = &self.funcs[*id as usize].func;
                old.name == g(func.name) && old.is_static == is_static && old.is_macro == func.is_macro
            };
            match old_ids[next..].iter().position(same) {
                Some(skip) => {
                    removed.extend_from_slice(&old_ids[next..next + skip]);
                    placed.push(Some(old_ids[next + skip]));
                    next += skip + 1;
                }
                None => placed.push(None),
            }
        }
        removed.extend_from_slice(&old_ids[next..]);
        // Added definitions must be new names: another file's struct,
        // typedef or guard of that name would change what it means.
        let added_items: Vec<Item> =
            items(&facts).filter(|(d, _)| old_items.binary_search(d).is_err()).map(|(_, i)| i).collect();
        for item in &added_items {
            let taken = match *item {
                Item::Struct(i) => self.structs.contains_key(&g(facts.structs[i].name)),
                Item::Typedef(i) => self.typedefs.contains_key(&g(facts.typedefs[i].0)),
                Item::Guard(i) => self.guards.contains_key(&g(facts.guards[i].name)),
                Item::GlobalType(i) => {
                    let name = g(facts.global_types[i].0);
                    let scope = facts.static_globals.contains(&facts.global_types[i].0).then_some(file_id);
                    self.global_types.contains_key(&(scope, name))
                }
                Item::Static(_) | Item::Binding => false,
            };
            if taken {
                return Err(Rebuild("a definition outside the function bodies changed"));
            }
        }

        let forwarded_before = crate::wrappers::forwards(self, model, old_ids.iter().copied());
        // From here on the program changes.
        let site_spans = self.site_spans.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        for id in &old_ids {
            site_spans.remove(id);
        }
        for item in added_items {
            match item {
                Item::Struct(i) => {
                    let st = &facts.structs[i];
                    let fields = self.structs.entry(g(st.name)).or_default();
                    for (f, t) in &st.fields {
                        fields.entry(g(*f)).or_insert(t.map(g));
                    }
                }
                Item::Typedef(i) => {
                    let (a, t) = facts.typedefs[i];
                    self.typedefs.insert(g(a), g(t));
                }
                Item::Static(i) => {
                    self.statics.insert((file_id, g(facts.static_globals[i])));
                }
                Item::GlobalType(i) => {
                    let (name, ty) = facts.global_types[i];
                    let scope = facts.static_globals.contains(&name).then_some(file_id);
                    self.global_types.insert((scope, g(name)), g(ty));
                }
                Item::Guard(i) => {
                    let guard = &facts.guards[i];
                    let path = guard.field_path.iter().map(|s| crate::ir::Seg { field: g(s.field), arrow: s.arrow });
                    self.guards.insert(g(guard.name), (g(guard.primitive), path.collect()));
                }
                Item::Binding => {}
            }
        }
        self.file_items[file_id as usize] = new_items;
        let mut update = FileUpdate { dirty: removed.clone(), removed: removed.clone(), ..FileUpdate::default() };
        let in_file: FxHashSet<FuncId> = old_ids.iter().copied().collect();
        update.old_flag_calls = self.class_flag_calls.iter().filter(|(f, _)| in_file.contains(f)).cloned().collect();
        let old_model_calls = model_call_keys(self.model_calls.iter().filter(|(f, _)| in_file.contains(f)));
        self.model_calls.retain(|(f, _)| !in_file.contains(f));
        self.class_flag_calls.retain(|(f, _)| !in_file.contains(f));
        // A removed function stays as an inert tombstone: its id is kept,
        // its body and name resolution are gone.
        let mut names = NewNames::default();
        let visible_elsewhere = |is_static: bool| !is_static || file.is_header;
        for &id in &removed {
            let name = self.funcs[id as usize].func.name;
            if let Some(list) = self.by_name.get_mut(&name) {
                list.retain(|f| *f != id);
                if list.is_empty() {
                    self.by_name.remove(&name);
                }
            }
            let def = &self.funcs[id as usize];
            names.add(name, visible_elsewhere(def.func.is_static));
            let tomb = crate::ir::Function {
                name,
                span: def.func.span,
                is_static: def.func.is_static,
                is_macro: def.func.is_macro,
                returns_void: true,
                params: Vec::new(),
                annotations: Vec::new(),
                blocks: vec![crate::ir::Block {
                    events: Vec::new(),
                    term: crate::ir::Terminator::Return(crate::ir::RetVal::Unknown),
                    at: def.func.span,
                }],
            };
            self.funcs[id as usize] = FuncDef::new(file_id, tomb);
            self.dead.insert(id);
        }
        for (mut func, slot) in std::mem::take(&mut facts.functions).into_iter().zip(placed) {
            super::remap_function(&mut func, &g);
            if func.is_macro && !file.is_header {
                func.is_static = true;
            }
            let id = match slot {
                Some(id) => id,
                None => {
                    let id = self.funcs.len() as FuncId;
                    self.by_name.entry(func.name).or_default().push(id);
                    names.add(func.name, visible_elsewhere(func.is_static));
                    update.added.push(id);
                    update.dirty.push(id);
                    id
                }
            };
            self.collect_model_calls(model, id, &func);
            let def = FuncDef::new(file_id, func);
            match self.funcs.get_mut(id as usize) {
                Some(slot) => {
                    match super::moved::moved_by(slot, &def) {
                        Some(0) => {}
                        Some(delta) => update.moved.push((id, delta)),
                        None => update.dirty.push(id),
                    }
                    *slot = def;
                }
                None => self.funcs.push(def),
            }
        }
        self.model_calls.sort_by_key(|(f, _)| *f);
        self.class_flag_calls.sort_by_key(|(f, _)| *f);
        self.files[file_id as usize] = file;

        // A name the file now defines (or no longer does) may be what calls
        // elsewhere meant; a static one's only calls in the file itself
        // (`resolve_call`).
        names.sort();
        if !names.everywhere.is_empty() {
            let all = 0..self.funcs.len() as FuncId;
            update.dirty.extend(all.filter(|&id| names_any(&self.funcs[id as usize], &names.everywhere)));
        }
        if !names.here.is_empty() {
            let in_file = old_ids.iter().chain(&update.added).copied();
            update.dirty.extend(in_file.filter(|&id| names_any(&self.funcs[id as usize], &names.here)));
        }

        // Bindings: this file's are replaced, then every binding pass runs
        // again; functions whose binding changed are dirty.
        let mut direct = Vec::new();
        for (ty, field, func) in &facts.slot_bindings {
            direct.push((file_id, g(*ty), g(*field), g(*func)));
        }
        for (object, field, func) in &facts.global_slot_assignments {
            let object = g(*object);
            let declared =
                self.global_types.get(&(Some(file_id), object)).or_else(|| self.global_types.get(&(None, object)));
            if let Some(&ty) = declared {
                direct.push((file_id, ty, g(*field), g(*func)));
            }
        }
        let mut through = Vec::new();
        for (ty, fields, func) in &facts.slot_paths {
            let fields: Vec<Sym> = fields.iter().map(|f| g(*f)).collect();
            let Some((last, inner)) = fields.split_last() else { continue };
            if let Some(holder) = inner.iter().try_fold(g(*ty), |t, f| self.field_type(t, *f)) {
                through.push((file_id, holder, *last, g(*func)));
            }
        }
        // The binding passes read the bindings, the registering calls and
        // which function a name resolves to: when none of those changed,
        // only the registrations' spans can have moved.
        let in_file: FxHashSet<FuncId> = old_ids.iter().copied().chain(update.added.iter().copied()).collect();
        let same = update.added.is_empty()
            && removed.is_empty()
            && file_slice(&self.bindings, file_id) == direct.as_slice()
            && file_slice(&self.path_bindings, file_id) == through.as_slice()
            && old_model_calls == model_call_keys(self.model_calls.iter().filter(|(f, _)| in_file.contains(f)));
        if same {
            self.move_registrations(&in_file);
            update.finish();
            return Ok(update);
        }
        // In file order, as building binds them.
        splice_file(&mut self.bindings, file_id, direct);
        splice_file(&mut self.path_bindings, file_id, through);
        let changed: FxHashSet<FuncId> = old_ids.iter().chain(&update.added).copied().collect();
        let forwarded = forwarded_before || crate::wrappers::forwards(self, model, changed.iter().copied());
        update.own_classes_changed = self.rebind(model, &mut update.dirty, &changed, forwarded);
        update.finish();
        Ok(update)
    }

    /// Records `id`'s calls of handler-binding, class-setting and
    /// class-flagging primitives.
    pub(super) fn collect_model_calls(&mut self, model: &Model, id: FuncId, func: &crate::ir::Function) {
        for block in &func.blocks {
            for event in &block.events {
                let Event::Call(call) = event else { continue };
                let Callee::Named(callee) = call.callee else { continue };
                let prim = model.primitive(self.names.resolve(callee));
                if matches!(prim, Some(Primitive::BindHandler { .. } | Primitive::SetClass(_))) {
                    self.model_calls.push((id, call.clone()));
                }
                if prim
                    .and_then(Primitive::lock_prim)
                    .is_some_and(|p| model.per_object_kinds.contains(&p.kind) || model.backoff_kinds.contains(&p.kind))
                {
                    self.class_flag_calls.push((id, call.clone()));
                }
            }
        }
    }

    /// Runs the binding passes again (the wrapper pass only over `changed`
    /// unless they `forwarded` handlers); functions whose entry locks or
    /// interrupt context changed go into `dirty`. True when the classes
    /// `lockdep_set_class()` names changed.
    fn rebind(&mut self, model: &Model, dirty: &mut Vec<FuncId>, changed: &FxHashSet<FuncId>, forwarded: bool) -> bool {
        let old_own = std::mem::take(&mut self.own_classes);
        let old_locks = std::mem::take(&mut self.entry_locks);
        let old_roots = std::mem::take(&mut self.irq_roots);
        let old_off = std::mem::take(&mut self.irqs_off_entry);
        self.collect_own_classes(model);
        let (bindings, paths) = (std::mem::take(&mut self.bindings), std::mem::take(&mut self.path_bindings));
        self.bind_callbacks(model, &bindings);
        self.bind_callbacks(model, &paths);
        (self.bindings, self.path_bindings) = (bindings, paths);
        self.bind_handlers(model);
        crate::wrappers::rebind_forwarded_handlers(self, model, changed, forwarded);
        changed_keys(&old_locks, &self.entry_locks, |a, b| a == b, dirty);
        changed_keys(&old_roots, &self.irq_roots, |a: &IrqRoot, b: &IrqRoot| a.level == b.level, dirty);
        changed_keys(&old_off, &self.irqs_off_entry, |a, b| a == b, dirty);
        old_own != self.own_classes
    }
}

impl Program {
    /// The interrupt registrations made in `funcs` point at their calls
    /// again (the calls are the same, their lines may not be).
    fn move_registrations(&mut self, funcs: &FxHashSet<FuncId>) {
        let moved: Vec<(FuncId, crate::ir::Span)> = self
            .irq_roots
            .iter()
            .filter(|(_, root)| funcs.contains(&root.func))
            .map(|(&handler, root)| {
                let span = if root.func == handler && self.name(root.binder).contains('.') {
                    self.funcs[handler as usize].func.span
                } else {
                    let name = self.funcs[handler as usize].func.name;
                    crate::wrappers::call_span(self, root.func, root.binder, name)
                        .unwrap_or(self.funcs[root.func as usize].func.span)
                };
                (handler, span)
            })
            .collect();
        for (handler, span) in moved {
            if let Some(root) = self.irq_roots.get_mut(&handler) {
                root.span = span;
            }
        }
    }
}

/// The function names a replacement defined or removed: those only its
/// own file sees (static, outside a header) and the others.
#[derive(Default)]
struct NewNames {
    here: Vec<Sym>,
    everywhere: Vec<Sym>,
}

impl NewNames {
    fn add(&mut self, name: Sym, visible_elsewhere: bool) {
        if visible_elsewhere {
            self.everywhere.push(name);
        } else {
            self.here.push(name);
        }
    }

    /// Sorted, for `names_any`.
    fn sort(&mut self) {
        for list in [&mut self.here, &mut self.everywhere] {
            list.sort_unstable();
            list.dedup();
        }
    }
}

/// `def` calls one of `names` (sorted), or passes it as an argument. An
/// edit usually defines a name or two: a search in a short list beats
/// hashing over every call of the tree.
fn names_any(def: &FuncDef, names: &[Sym]) -> bool {
    let named = |s: &Sym| names.binary_search(s).is_ok();
    def.calls.callees.iter().any(named)
        || def.calls.bare_args.iter().any(|(_, _, a)| matches!(a, super::BareArg::Global(s) if named(s)))
}

/// The registering and class-setting calls as compared across an edit:
/// caller, callee and arguments, not where they are.
fn model_call_keys<'c>(calls: impl Iterator<Item = &'c (FuncId, crate::ir::Call)>) -> Vec<(FuncId, Callee, Vec<u8>)> {
    calls.map(|(f, c)| (*f, c.callee, postcard::to_allocvec(&c.args).unwrap_or_default())).collect()
}

/// `file`'s entries of a list kept in file order.
fn file_slice(list: &[(FileId, Sym, Sym, Sym)], file: FileId) -> &[(FileId, Sym, Sym, Sym)] {
    let start = list.partition_point(|b| b.0 < file);
    let end = list.partition_point(|b| b.0 <= file);
    &list[start..end]
}

/// Replaces `file`'s entries of a list kept in file order.
fn splice_file(list: &mut Vec<(FileId, Sym, Sym, Sym)>, file: FileId, new: Vec<(FileId, Sym, Sym, Sym)>) {
    let start = list.partition_point(|b| b.0 < file);
    let end = list.partition_point(|b| b.0 <= file);
    list.splice(start..end, new);
}

/// Keys present in one map and not the other, or whose values differ.
fn changed_keys<V>(
    old: &FxHashMap<FuncId, V>,
    new: &FxHashMap<FuncId, V>,
    same: impl Fn(&V, &V) -> bool,
    out: &mut Vec<FuncId>,
) {
    for (k, v) in old {
        if !new.get(k).is_some_and(|w| same(v, w)) {
            out.push(*k);
        }
    }
    out.extend(new.keys().filter(|k| !old.contains_key(k)));
}
