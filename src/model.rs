//! The lock model: which calls acquire, release, trylock, fault or sleep,
//! loaded from the `queries/*.model` tables (see `queries/README.md`).
//!
//! Architecture invariant: no kernel primitive name appears in Rust code
//! outside this file's tests; the analysis asks the model.

use rustc_hash::{FxHashMap, FxHashSet};
use std::path::{Path, PathBuf};

/// The built-in tables, in load order (later entries win).
const BUILTIN: &[(&str, &str)] = &[
    ("queries/attributes.model", include_str!("../queries/attributes.model")),
    ("queries/boundaries.model", include_str!("../queries/boundaries.model")),
    ("queries/locks.model", include_str!("../queries/locks.model")),
    ("queries/faults.model", include_str!("../queries/faults.model")),
    ("queries/guards.model", include_str!("../queries/guards.model")),
    ("queries/context.model", include_str!("../queries/context.model")),
    ("queries/handlers.model", include_str!("../queries/handlers.model")),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Shared,
    Exclusive,
}

/// What a lock primitive does with its lock argument.
#[derive(Debug, Clone)]
pub struct LockPrim {
    /// Which argument names the lock; `None` for argument-less locks (rcu).
    pub arg: Option<u8>,
    pub mode: Mode,
    pub kind: String,
    /// A class fixed by the model whatever the argument is spelled.
    pub class: Option<String>,
    pub nested: bool,
    /// Interrupts it disables while the lock is held (`spin_lock_irqsave`:
    /// hard, `spin_lock_bh`: soft).
    pub irq: Option<IrqLevel>,
}

/// An interrupt level: hard interrupts, or softirqs (timers, tasklets, NAPI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IrqLevel {
    Hard,
    Soft,
}

impl IrqLevel {
    fn parse(s: &str) -> Result<IrqLevel, String> {
        match s {
            "hard" | "hardirq" => Ok(IrqLevel::Hard),
            "soft" | "softirq" => Ok(IrqLevel::Soft),
            _ => Err(format!("unknown interrupt level `{s}` (hard or soft)")),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Primitive {
    Acquire(LockPrim),
    /// Blocks, and holds the lock when it returns 0 (`mutex_lock_killable`).
    AcquireIfZero(LockPrim),
    TryLock(LockPrim),
    /// Never blocks, and holds the lock when it returns 0 (`down_trylock`).
    TryLockIfZero(LockPrim),
    Release(LockPrim),
    /// Gives the lock its own lockdep class (`lockdep_set_class()`).
    SetClass(LockPrim),
    /// Binds a handler to a work item or timer: `INIT_WORK(&d->work, fn)`.
    BindHandler {
        /// The work item or timer, when there is one to wait for.
        item: Option<u8>,
        handler: u8,
        /// The handler runs in interrupt context (`request_irq`: hard,
        /// `timer_setup`: soft).
        context: Option<IrqLevel>,
    },
    /// Waits for the handler bound to the item to finish (`cancel_work_sync`):
    /// for ordering, it takes whatever the handler takes.
    WaitsFor(LockPrim),
    /// May drop the lock (and retake it): afterwards it is not known to be
    /// held. GUP's `int *locked` protocol, `VM_FAULT_RETRY`.
    MayRelease(LockPrim),
    AssertHeld(LockPrim),
    Fault,
    /// Faults like `Fault` but does not call might_fault(): in atomic
    /// context it just fails (`__get_user` on most architectures, the
    /// `unsafe_*` accessors, `raw_copy_*`).
    FaultNoMightSleep,
    NoFault,
    Sleep,
    /// Never returns (`BUG()`, `panic()`, `do_exit()`): the path ends.
    NoReturn,
    PagefaultDisable,
    PagefaultEnable,
    /// Enters / leaves a section that must not sleep (preempt_disable,
    /// local_irq_disable, local_bh_disable), with the interrupts it disables.
    NoSleepEnter(Option<IrqLevel>),
    NoSleepExit(Option<IrqLevel>),
    /// Asserts that interrupts of the level are off here
    /// (`lockdep_assert_irqs_disabled()`): the caller turned them off.
    AssertIrqsOff(IrqLevel),
    /// Sleeps when the GFP mask in argument N may block (GFP_KERNEL).
    SleepIfGfp(u8),
    Neutral,
}

impl Primitive {
    /// The lock description of a primitive that names a lock.
    pub fn lock_prim(&self) -> Option<&LockPrim> {
        match self {
            Primitive::Acquire(p)
            | Primitive::AcquireIfZero(p)
            | Primitive::TryLock(p)
            | Primitive::TryLockIfZero(p)
            | Primitive::Release(p)
            | Primitive::SetClass(p)
            | Primitive::WaitsFor(p)
            | Primitive::MayRelease(p)
            | Primitive::AssertHeld(p) => Some(p),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
pub struct Model {
    pub primitives: FxHashMap<String, Primitive>,
    pub recursive_read_kinds: FxHashSet<String>,
    /// Kinds whose holder runs in atomic context (spinlocks): a user fault
    /// there does not enter the fault handler (`faulthandler_disabled()`).
    pub atomic_kinds: FxHashSet<String>,
    /// Kinds lockdep does not put in classes (the page lock): two different
    /// objects of such a class nesting is not "possible recursive locking".
    pub per_object_kinds: FxHashSet<String>,
    /// Kinds whose holder must not sleep (spinlocks, rcu).
    pub no_sleep_kinds: FxHashSet<String>,
    /// Kinds whose acquisition may sleep (mutex, rw_semaphore).
    pub sleeping_kinds: FxHashSet<String>,
    /// Kinds whose inversions the primitive resolves itself (ww_mutex).
    pub backoff_kinds: FxHashSet<String>,
    /// Classes the page-fault handler acquires, with their mode.
    pub fault_takes: Vec<(String, Mode)>,
    /// Guard name → the primitive it acquires with (`mutex` → `mutex_lock`).
    pub guards: FxHashMap<String, String>,
    /// Identifiers of known struct type (`current` → `task_struct`).
    pub types: FxHashMap<String, String>,
    pub class_aliases: FxHashMap<String, String>,
    /// Field types for when the sources do not define the struct:
    /// (struct, field, field's struct type).
    pub fields: Vec<(String, String, String)>,
    /// Files whose definitions are configuration alternatives used only when
    /// no other definition exists (`mm/nommu.c` for !CONFIG_MMU).
    pub fallback_files: Vec<String>,
    /// Statically initialised objects whose locks are classes of their own
    /// (lockdep keys a static initializer by the object): `init_mm`.
    pub own_class_objects: FxHashSet<String>,
    /// Callback slots that run with a lock held: (struct, field, class, mode).
    pub callbacks: Vec<(String, String, String, Mode)>,
    /// Callback slots the kernel calls in interrupt context: (struct, field, level).
    pub irq_callbacks: Vec<(String, String, IrqLevel)>,
    /// Callback slots the kernel calls with interrupts of a level disabled
    /// (in process context): ALSA's `snd_pcm_ops.trigger`.
    pub irqs_off_callbacks: Vec<(String, String, IrqLevel)>,
    /// Attribute macros blanked before parsing (`__init`); `with_args` take
    /// a parenthesised argument (`__section(".x")`).
    pub attributes: Vec<String>,
    pub attributes_with_args: Vec<String>,
    /// A hash of every model text added, in order: what the analysis of a
    /// tree depends on besides its files (the report cache's key).
    pub digest: [u8; 32],
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{file}:{line}: {msg}")]
    Syntax { file: String, line: usize, msg: String },
    #[error("cannot read model file {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

impl Model {
    /// The built-in model plus the user's files, which win on conflicts.
    pub fn load(user_files: &[PathBuf]) -> Result<Model, ModelError> {
        let mut model = Model::default();
        for (name, text) in BUILTIN {
            model.add(name, text)?;
        }
        for path in user_files {
            let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io { path: path.clone(), source })?;
            model.add(&path.display().to_string(), &text)?;
        }
        Ok(model)
    }

    pub fn builtin() -> Result<Model, ModelError> {
        Model::load(&[])
    }

    /// The attribute macros to blank before parsing.
    /// What extraction reads of the model, as text: part of the facts
    /// cache's key, so a `--model` with other attribute macros misses.
    pub fn attributes_salt(&self) -> String {
        format!("{:?}|{:?}", self.attributes, self.attributes_with_args)
    }

    pub fn attributes(&self) -> crate::extract::Attributes {
        crate::extract::Attributes::new(
            self.attributes.iter().map(String::as_str),
            self.attributes_with_args.iter().map(String::as_str),
        )
    }

    pub fn primitive(&self, name: &str) -> Option<&Primitive> {
        self.primitives.get(name)
    }

    /// Canonical spelling of a class after aliases (`mmap_sem` → `mmap_lock`).
    pub fn canonical_class<'a>(&'a self, class: &'a str) -> &'a str {
        self.class_aliases.get(class).map_or(class, String::as_str)
    }

    pub fn fault_mode(&self, class: &str) -> Option<Mode> {
        self.fault_takes.iter().find(|(c, _)| c == class).map(|(_, m)| *m)
    }

    pub fn add(&mut self, file: &str, text: &str) -> Result<(), ModelError> {
        let mut digest = blake3::Hasher::new();
        digest.update(&self.digest);
        digest.update(file.as_bytes());
        digest.update(&[0]);
        digest.update(text.as_bytes());
        self.digest = *digest.finalize().as_bytes();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |msg: String| ModelError::Syntax { file: file.to_string(), line: i + 1, msg };
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (first, second) = (fields[0], fields.get(1).copied().unwrap_or(""));
            match first {
                "kind" => {
                    if fields.contains(&"recursive-read") {
                        self.recursive_read_kinds.insert(second.to_string());
                    }
                    if fields.contains(&"no-sleep") || fields.contains(&"atomic") {
                        self.no_sleep_kinds.insert(second.to_string());
                    }
                    if fields.contains(&"sleeps") {
                        self.sleeping_kinds.insert(second.to_string());
                    }
                    if fields.contains(&"backoff") {
                        self.backoff_kinds.insert(second.to_string());
                    }
                    if fields.contains(&"per-object") {
                        self.per_object_kinds.insert(second.to_string());
                    }
                    if fields.contains(&"atomic") {
                        self.atomic_kinds.insert(second.to_string());
                    }
                }
                "fault-takes" => {
                    let mode = parse_mode(fields.get(2).copied().unwrap_or("shared")).map_err(err)?;
                    self.fault_takes.push((second.to_string(), mode));
                }
                "guard" => {
                    let prim = fields.get(2).ok_or_else(|| err("guard needs a name and a primitive".into()))?;
                    self.guards.insert(second.to_string(), prim.to_string());
                }
                "type" => {
                    let ty = fields.get(2).ok_or_else(|| err("type needs an identifier and a struct".into()))?;
                    self.types.insert(second.to_string(), ty.to_string());
                }
                "attribute" => match second.strip_suffix("()") {
                    Some(name) => self.attributes_with_args.push(name.to_string()),
                    None => self.attributes.push(second.to_string()),
                },
                "fallback-file" => self.fallback_files.push(second.to_string()),
                "own-class" => {
                    self.own_class_objects.insert(second.to_string());
                }
                "callback" => {
                    let (Some(field), Some(class)) = (fields.get(2), fields.get(3)) else {
                        return Err(err("callback needs a struct, a field, a lock class and a mode".into()));
                    };
                    let mode = parse_mode(fields.get(4).copied().unwrap_or("exclusive")).map_err(err)?;
                    self.callbacks.push((second.to_string(), field.to_string(), class.to_string(), mode));
                }
                "irq-callback" | "irqs-off-callback" => {
                    let (Some(field), Some(level)) = (fields.get(2), fields.get(3)) else {
                        return Err(err(format!("{first} needs a struct, a field and hard or soft")));
                    };
                    let level = IrqLevel::parse(level).map_err(err)?;
                    let entry = (second.to_string(), field.to_string(), level);
                    if first == "irq-callback" {
                        self.irq_callbacks.push(entry);
                    } else {
                        self.irqs_off_callbacks.push(entry);
                    }
                }
                "field" => {
                    let (Some(field), Some(ty)) = (fields.get(2), fields.get(3)) else {
                        return Err(err("field needs a struct, a field and the field's type".into()));
                    };
                    self.fields.push((second.to_string(), field.to_string(), ty.to_string()));
                }
                "class-alias" => {
                    let to = fields.get(2).ok_or_else(|| err("class-alias needs two classes".into()))?;
                    self.class_aliases.insert(second.to_string(), to.to_string());
                }
                name => {
                    let prim = parse_primitive(second, &fields[2..]).map_err(err)?;
                    self.primitives.insert(name.to_string(), prim);
                }
            }
        }
        Ok(())
    }
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    match s {
        "shared" | "read" => Ok(Mode::Shared),
        "exclusive" | "write" => Ok(Mode::Exclusive),
        other => Err(format!("unknown mode `{other}` (shared or exclusive)")),
    }
}

fn parse_primitive(effect: &str, rest: &[&str]) -> Result<Primitive, String> {
    let simple = match effect {
        "fault" => Some(Primitive::Fault),
        "noreturn" => Some(Primitive::NoReturn),
        "fault-no-might-sleep" => Some(Primitive::FaultNoMightSleep),
        "nofault" => Some(Primitive::NoFault),
        "sleep" => Some(Primitive::Sleep),
        "pagefault-disable" => Some(Primitive::PagefaultDisable),
        "pagefault-enable" => Some(Primitive::PagefaultEnable),

        "neutral" => Some(Primitive::Neutral),
        _ => None,
    };
    if let Some(p) = simple {
        return Ok(p);
    }
    if effect == "sleep-if-gfp" {
        let n = rest.iter().find_map(|f| f.strip_prefix("arg=")).ok_or("sleep-if-gfp needs arg=N")?;
        return n.parse().map(Primitive::SleepIfGfp).map_err(|_| format!("bad arg index `{n}`"));
    }
    if effect == "no-sleep-enter" || effect == "no-sleep-exit" {
        let mut irq = None;
        for field in rest {
            match field.split_once('=') {
                Some(("irq", l)) => irq = Some(IrqLevel::parse(l)?),
                _ => return Err(format!("unknown field `{field}`")),
            }
        }
        return Ok(if effect == "no-sleep-enter" { Primitive::NoSleepEnter(irq) } else { Primitive::NoSleepExit(irq) });
    }
    if effect == "assert-irqs-off" {
        let level = match rest {
            [field] => field.strip_prefix("irq=").ok_or_else(|| format!("unknown field `{field}`"))?,
            _ => return Err("assert-irqs-off needs irq=hard|soft".into()),
        };
        return Ok(Primitive::AssertIrqsOff(IrqLevel::parse(level)?));
    }
    if effect == "bind-handler" {
        let (mut item, mut handler, mut context) = (None, None, None);
        for field in rest {
            match field.split_once('=') {
                Some(("arg", n)) => item = Some(n.parse().map_err(|_| format!("bad arg index `{n}`"))?),
                Some(("handler", n)) => handler = n.parse().ok(),
                Some(("context", l)) => context = Some(IrqLevel::parse(l)?),
                _ => return Err(format!("unknown field `{field}`")),
            }
        }
        return match handler {
            Some(handler) if item.is_some() || context.is_some() => {
                Ok(Primitive::BindHandler { item, handler, context })
            }
            _ => Err("bind-handler needs handler=M and arg=N or context=".into()),
        };
    }
    let mut lock =
        LockPrim { arg: Some(0), mode: Mode::Exclusive, kind: String::new(), class: None, nested: false, irq: None };
    for item in rest {
        match item.split_once('=') {
            Some(("arg", "none")) => lock.arg = None,
            Some(("arg", n)) => lock.arg = Some(n.parse().map_err(|_| format!("bad arg index `{n}`"))?),
            Some(("mode", m)) => lock.mode = parse_mode(m)?,
            Some(("kind", k)) => lock.kind = k.to_string(),
            Some(("class", c)) => lock.class = Some(c.to_string()),
            Some(("irq", l)) => lock.irq = Some(IrqLevel::parse(l)?),
            None if *item == "nested" => lock.nested = true,
            _ => return Err(format!("unknown field `{item}`")),
        }
    }
    if lock.arg.is_none() && lock.class.is_none() {
        return Err("arg=none needs class=".into());
    }
    match effect {
        "acquire" => Ok(Primitive::Acquire(lock)),
        "acquire-zero" => Ok(Primitive::AcquireIfZero(lock)),
        "trylock" => Ok(Primitive::TryLock(lock)),
        "trylock-zero" => Ok(Primitive::TryLockIfZero(lock)),
        "release" => Ok(Primitive::Release(lock)),
        "may-release" => Ok(Primitive::MayRelease(lock)),
        "set-class" => Ok(Primitive::SetClass(lock)),
        "waits-for" => Ok(Primitive::WaitsFor(lock)),
        "assert-held" => Ok(Primitive::AssertHeld(lock)),
        other => Err(format!("unknown effect `{other}`")),
    }
}

/// For `--model FILE` messages.
pub fn describe(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_model_loads_and_knows_the_seed_primitives() {
        let model = Model::builtin().expect("built-in model parses"); // ok: test
        assert!(matches!(model.primitive("mmap_read_trylock"), Some(Primitive::TryLock(_))));
        assert!(matches!(model.primitive("get_user"), Some(Primitive::Fault)));
        assert!(matches!(model.primitive("mutex_lock"), Some(Primitive::Acquire(_))));
        assert!(model.fault_mode("mm_struct::mmap_lock").is_some());
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let mut model = Model::default();
        let err = model.add("user.model", "\nfoo acquire mode=sideways\n").expect_err("must fail");
        assert_eq!(err.to_string(), "user.model:2: unknown mode `sideways` (shared or exclusive)");
    }
}
