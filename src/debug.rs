//! `lockpath debug-ir FILE`: the lock-event IR of one file, for developers
//! of lockpath and for bug reports. Not a stable format.

use crate::ir::{Arg, Base, Callee, Event, FileFacts, LockRef, Terminator};
use std::fmt::Write;

pub fn dump(facts: &FileFacts) -> String {
    let mut out = String::new();
    for func in &facts.functions {
        let (line, _) = facts.line_col(func.span.start);
        let kind = if func.is_macro {
            "macro"
        } else if func.is_static {
            "static fn"
        } else {
            "fn"
        };
        let params: Vec<String> = func
            .params
            .iter()
            .map(|p| match p.ty {
                Some(t) => format!("{} {}", facts.name(t), facts.name(p.name)),
                None => facts.name(p.name).to_string(),
            })
            .collect();
        let _ = writeln!(out, "{kind} {}({}) line {line}", facts.name(func.name), params.join(", "));
        for (i, block) in func.blocks.iter().enumerate() {
            let _ = writeln!(out, "  b{i}:");
            for event in &block.events {
                let _ = match event {
                    Event::Call(call) => {
                        let callee = match call.callee {
                            Callee::Named(s) => facts.name(s).to_string(),
                            Callee::Indirect => "(*indirect)".into(),
                        };
                        let args: Vec<String> = call.args.iter().map(|a| arg(facts, a)).collect();
                        writeln!(out, "    call {callee}({}) @{}", args.join(", "), facts.line_col(call.span.start).0)
                    }
                    Event::GuardEnter { guard, lock, .. } => writeln!(
                        out,
                        "    guard {}({})",
                        facts.name(*guard),
                        lock.as_ref().map_or("?".into(), |l| lock_ref(facts, l))
                    ),
                    Event::SetVar { var, value } => writeln!(out, "    {} = {value:?}", facts.name(*var)),
                    Event::Assume { key, value } => writeln!(out, "    assume Expr({key}) == {value}"),
                    Event::GuardExit { guard, lock, .. } => writeln!(
                        out,
                        "    end guard {}({})",
                        facts.name(*guard),
                        lock.as_ref().map_or("?".into(), |l| lock_ref(facts, l))
                    ),
                };
            }
            let _ = match &block.term {
                Terminator::Goto(t) => writeln!(out, "    goto b{t}"),
                Terminator::Branch { cond, then, otherwise } => {
                    writeln!(out, "    if {cond:?} then b{then} else b{otherwise}")
                }
                Terminator::Switch(ts) => writeln!(out, "    switch {ts:?}"),
                Terminator::Return(crate::ir::RetVal::Var(v)) => writeln!(out, "    return {}", facts.name(*v)),
                Terminator::Return(v) => writeln!(out, "    return {v:?}"),
                Terminator::Unreachable => writeln!(out, "    unreachable"),
            };
        }
    }
    for p in &facts.problems {
        let _ = writeln!(out, "problem: {p}");
    }
    out
}

fn arg(facts: &FileFacts, a: &Arg) -> String {
    match a {
        Arg::Path(l, addr) => format!("{}{}", if *addr { "&" } else { "" }, lock_ref(facts, l)),
        Arg::Const(c) => c.to_string(),
        Arg::Other => "_".into(),
    }
}

fn lock_ref(facts: &FileFacts, l: &LockRef) -> String {
    let mut s = match l.base {
        Base::Param(i) => format!("param{i}"),
        Base::Local(n) | Base::Stack(n) => facts.name(n).to_string(),
        Base::Global(n) => format!("::{}", facts.name(n)),
        Base::Unknown => "?".into(),
    };
    for seg in &l.path {
        s.push_str(if seg.arrow { "->" } else { "." });
        s.push_str(facts.name(seg.field));
    }
    s
}

/// A report's findings, one line each with every hop, in report order: what
/// two runs must agree on.
pub fn finding_lines(report: &crate::driver::Report) -> Vec<String> {
    let name = |file: u32| report.files.get(file as usize).map_or("?", |f| f.display.as_str());
    let line = |file: u32, at: u32| report.files.get(file as usize).map_or((0, 0), |f| f.line_col(at));
    report
        .findings
        .iter()
        .map(|f| {
            let (l, c) = line(f.file, f.span.start);
            let mut s = format!("{} {}:{l}:{c} {}", f.check, name(f.file), f.message);
            for hop in &f.trace {
                let (l, _) = line(hop.file, hop.span.start);
                s.push_str(&format!(" | {}:{l} {}", name(hop.file), hop.note));
            }
            s
        })
        .collect()
}
