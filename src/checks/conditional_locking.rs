//! `conditional-locking`: a function whose lock state on return depends on
//! a parameter. The text `lockpath explain` prints is [`DOC`].

use super::trace::{fn_name, hop};
use super::CheckInfo;
use crate::analysis::{Analysis, ConditionalLocking};
use crate::finding::{Finding, Severity};
use crate::index::{FuncId, Program};

pub const DOC: &str = r#"conditional-locking (warning)

## What it catches
A function that returns holding (or having released) a lock for one value
of a parameter and not for another: `if (try) mutex_trylock(..) else
mutex_lock(..)`, `if (!locked) spin_lock(..)`, `if (unlock)
spin_unlock(..)`. lockpath assumes the parameter true, then false, at every
branch that tests it, and compares the locks held on return.

A plain trylock wrapper (`return mutex_trylock(&m);`) is fine: its result
says whether it locked. So is a function that takes and drops a lock inside
a parameter-guarded block: its callers see the same state either way.

## Why it is a bug
Callers cannot know the lock state from the call; neither can reviewers,
lockdep annotations (__acquires/__releases) or static checkers. Such helpers
hide the locking rules in every call site's argument, and are where
deadlocks and unlock imbalances hide. Thomas Gleixner, on the OOM reaper
futex patch: "That conditional locking is disgusting."

## Example
Bad:

    static bool futex_cleanup_begin(struct task_struct *tsk, bool try)
    {
            if (try) {
                    if (!mutex_trylock(&tsk->futex_exit_mutex))
                            return false;
            } else {
                    mutex_lock(&tsk->futex_exit_mutex);
            }
            ...
            return true;
    }

Fixed: two functions, each with one locking rule, sharing the body:

    static void futex_cleanup_begin(struct task_struct *tsk)
    {
            mutex_lock(&tsk->futex_exit_mutex);
            __futex_cleanup_begin(tsk);
    }

    static bool futex_cleanup_trybegin(struct task_struct *tsk)
    {
            if (!mutex_trylock(&tsk->futex_exit_mutex))
                    return false;
            __futex_cleanup_begin(tsk);
            return true;
    }

## References
https://lore.kernel.org/all/87k0cknqyw.ffs@tglx/ ;
Documentation/dev-tools/sparse.rst (context annotations).
"#;

pub const INFO: CheckInfo = CheckInfo {
    id: "conditional-locking",
    severity: Severity::Warning,
    summary: "function whose lock state on return depends on a parameter",
    doc: DOC,
};

pub(crate) fn finding(prog: &Program, analysis: &Analysis, func: FuncId, cond: &ConditionalLocking) -> Finding {
    let def = &prog.funcs[func as usize];
    let param = def.func.params.get(cond.param as usize).map_or("?", |p| prog.name(p.name)).to_string();
    let classes: Vec<&str> = cond.classes.iter().map(|c| analysis.classes.name(*c)).collect();
    let locks = if classes.is_empty() { "its locks".to_string() } else { classes.join(", ") };
    let name = fn_name(prog, func);
    Finding {
        check: INFO.id,
        severity: INFO.severity,
        message: format!("{name}() returns with {locks} held or not depending on parameter `{param}`"),
        file: def.file,
        span: def.func.span,
        function: name.clone(),
        lock: classes.first().map(|c| c.to_string()),
        label: format!("lock state on return depends on `{param}`"),
        trace: vec![hop(prog, func, def.func.span, format!("locking in {name}() depends on `{param}`"))],
        notes: vec!["callers cannot tell from the call whether the lock is held".into()],
        help: Some(
            "split it into a locking and a trylock (or a _locked) variant; see `lockpath explain conditional-locking`"
                .into(),
        ),
    }
}
