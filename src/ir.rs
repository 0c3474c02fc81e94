//! The lock-event IR: everything later stages need from one file, and
//! nothing more. Syntax trees never outlive extraction; this is what remains.
//!
//! Names are `Sym`s. Inside a freshly extracted `FileFacts` they index the
//! file's own `names` table; `index` rewrites them to global symbols once all
//! files are in, so extraction needs no shared state across threads.

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

/// An interned identifier (see the module docs for its two scopes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Sym(pub u32);

/// A byte range in one file; the file is implied by the `FileFacts` it sits in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

pub type BlockId = u32;

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FileFacts {
    /// The bytes are not valid UTF-8 (analysed as bytes): the loader's note,
    /// kept with the facts so a cache hit that reads no file still says it.
    pub not_utf8: bool,
    /// The file-local string table `Sym`s index before globalisation.
    pub names: Vec<Box<str>>,
    pub functions: Vec<Function>,
    pub structs: Vec<StructDef>,
    /// `typedef struct foo foo_t;` as (foo_t, foo).
    pub typedefs: Vec<(Sym, Sym)>,
    /// Globals declared `static` in this file (lock classes are file-scoped).
    pub static_globals: Vec<Sym>,
    /// Global objects of struct type, `static struct hash_bucket tbl[N];` as
    /// (tbl, hash_bucket), so `&tbl[i].lock` is `hash_bucket::lock`.
    pub global_types: Vec<(Sym, Sym)>,
    /// Functions put in struct slots by initializers: `.mmap = foo_mmap` in a
    /// `struct file_operations` is (file_operations, mmap, foo_mmap).
    pub slot_bindings: Vec<(Sym, Sym, Sym)>,
    /// Functions put in slots of global objects at run time:
    /// `lowpan_frags.frag_expire = lowpan_frag_expire;` is (lowpan_frags,
    /// frag_expire, lowpan_frag_expire); the object's type is looked up once
    /// the file's globals are known.
    pub global_slot_assignments: Vec<(Sym, Sym, Sym)>,
    /// Slots filled at run time through a typed object: `p->cb = foo` is
    /// (p's type, [cb], foo), `rth->dst.input = ip_forward;` is (rtable,
    /// [dst, input], ip_forward); member types are followed once every
    /// struct is known.
    pub slot_paths: Vec<(Sym, Vec<Sym>, Sym)>,
    /// `DEFINE_GUARD(name, type, lock_call, unlock_call)` and friends.
    pub guards: Vec<GuardDef>,
    /// Things the extractor skipped or could not understand, one line each.
    pub problems: Vec<String>,
    /// Byte offset of each line start, for turning spans into line:column.
    pub line_starts: Vec<u32>,
    pub error_nodes: u32,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Function {
    pub name: Sym,
    /// Where the name is written in the definition.
    pub span: Span,
    pub is_static: bool,
    /// A function-like macro analysed as a small function.
    pub is_macro: bool,
    /// Declared `void` (not a pointer): its returns carry no value.
    pub returns_void: bool,
    pub params: Vec<Param>,
    pub annotations: Vec<Annotation>,
    /// Block 0 is the entry.
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Param {
    pub name: Sym,
    /// Struct (or typedef) name the parameter points to, if any.
    pub ty: Option<Sym>,
    /// Declared as a pointer (`struct foo *f`, `void *v`).
    pub pointer: bool,
    /// A branch tests the object itself: `if (ctx)`, `if (hb1 != hb2)`. A
    /// lock inside it that is taken only then follows the object, which the
    /// caller chose: not an imbalance.
    pub object_tested: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AnnotationKind {
    Acquires,
    Releases,
    MustHold,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Annotation {
    pub kind: AnnotationKind,
    pub lock: LockRef,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Block {
    pub events: Vec<Event>,
    pub term: Terminator,
    /// For a block ending in a return: where the return statement (or the
    /// closing brace a void function falls off) is, for witness paths.
    pub at: Span,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum Event {
    /// Any call; whether it locks, faults or sleeps is decided later from the
    /// model and the callee's summary.
    Call(Call),
    /// `guard(name)(args)` or the header of `scoped_guard(name, args) { }`.
    GuardEnter { guard: Sym, lock: Option<LockRef>, span: Span },
    /// End of the scope of a guard entered earlier.
    GuardExit { guard: Sym, lock: Option<LockRef>, span: Span },
    /// `var = value`: a local set to zero, non-zero or something unknown
    /// (also when its address is taken or it is incremented).
    SetVar { var: Sym, value: RetVal },
    /// The side-effect-free condition with this hash (`Cond::Expr`) is known
    /// to be `value` here: the two ends of `a || b` lowered as control flow.
    Assume { key: u32, value: bool },
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Call {
    pub callee: Callee,
    /// Boxed: most calls have few arguments, and there are millions of calls.
    pub args: Box<[Arg]>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Callee {
    Named(Sym),
    /// Through a function pointer: lock-neutral until the checks issue binds it.
    Indirect,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Arg {
    /// A path expression (`&p->a.b`, `mm`, `current->mm`); the flag says
    /// whether its address was taken (`&`), so that a callee's `->lock` on
    /// it continues the same object (`&dev->wq` + `->lock` is `dev->wq.lock`).
    Path(LockRef, bool),
    Const(i64),
    Other,
}

/// A lock expression relative to where it lives: `&hb->lock` with `hb` a
/// parameter is `Param(0) -> lock`. Class and instance are derived from it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct LockRef {
    pub base: Base,
    /// Declared struct/typedef name of the base, when known.
    pub base_ty: Option<Sym>,
    pub path: SmallVec<[Seg; 3]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Base {
    Param(u8),
    /// A local pointer (or a local whose kind is unknown).
    Local(Sym),
    /// A struct object on the stack: its locks die with the function.
    Stack(Sym),
    Global(Sym),
    /// An expression the extractor could not name (a call result, a cast).
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Seg {
    pub field: Sym,
    /// `->` (a pointer dereference) rather than `.`.
    pub arrow: bool,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub enum Terminator {
    Goto(BlockId),
    Branch {
        cond: Cond,
        then: BlockId,
        otherwise: BlockId,
    },
    Switch(Vec<BlockId>),
    Return(RetVal),
    /// Falls off a dead block (after `return`, `goto`, `break`).
    #[default]
    Unreachable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Cond {
    Opaque,
    /// A side-effect-free expression (`dev->flags & F_LOCKED`), by a hash of
    /// its text: two branches on the same text take the same way.
    Expr(u32),
    /// The value of the call at `events[event]` of `block` is non-zero.
    CallResult {
        block: BlockId,
        event: u32,
        /// The local the result was stored in (`vma = vma_lookup(..); if (!vma)`).
        var: Option<Sym>,
        /// A hash of the call's text when its arguments have no side effects:
        /// testing `gfpflags_allow_blocking(flags)` twice gives the same answer.
        text: Option<u32>,
    },
    /// Parameter `index` is non-zero.
    Param(u8),
    /// Local variable `.0` is non-zero (`if (locked)`, `if (ret) goto out`).
    Var(Sym),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RetVal {
    Zero,
    NonZero,
    /// A negative errno or `ERR_PTR()`: non-zero, and the function failed.
    Error,
    /// An errno local of unknown value (`return err;`): 0 or an error.
    ErrorOrZero,
    Unknown,
    /// The value of a local variable (`return ret;`), known along some paths.
    Var(Sym),
}

impl RetVal {
    /// Known to be non-zero (an error is non-zero too).
    pub fn is_nonzero(self) -> bool {
        matches!(self, RetVal::NonZero | RetVal::Error)
    }

    /// Known to be zero or non-zero.
    pub fn is_known(self) -> bool {
        matches!(self, RetVal::Zero | RetVal::NonZero | RetVal::Error)
    }
}

impl FileFacts {
    pub fn name(&self, sym: Sym) -> &str {
        self.names.get(sym.0 as usize).map_or("?", |s| s)
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        (line as u32, offset - start + 1)
    }
}

/// A struct's fields with the struct/typedef name of each field's type.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StructDef {
    pub name: Sym,
    pub fields: Vec<(Sym, Option<Sym>)>,
}

/// A string table: each distinct name once, as a `Sym`. Extraction keeps one
/// per file; the index one for the whole program.
#[derive(Default)]
pub struct Interner {
    map: FxHashMap<Box<str>, Sym>,
    list: Vec<Box<str>>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.map.get(s) {
            return sym;
        }
        let sym = Sym(self.list.len() as u32);
        self.list.push(s.into());
        self.map.insert(s.into(), sym);
        sym
    }

    pub fn get(&self, s: &str) -> Option<Sym> {
        self.map.get(s).copied()
    }

    pub fn resolve(&self, sym: Sym) -> &str {
        self.list.get(sym.0 as usize).map_or("?", |s| s)
    }

    pub fn into_list(self) -> Vec<Box<str>> {
        self.list
    }
}

/// A guard class: `guard(name)(x)` calls `primitive` on `x` followed by
/// `field_path` (`DEFINE_GUARD(dev, struct dev *, mutex_lock(&_T->lock), ..)`
/// locks `x->lock`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GuardDef {
    pub name: Sym,
    pub primitive: Sym,
    pub field_path: SmallVec<[Seg; 2]>,
}
