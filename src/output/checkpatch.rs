//! `--format checkpatch`: the layout kernel developers and their scripts
//! already read from `scripts/checkpatch.pl`:
//!
//! ```text
//! ERROR: FAULT_UNDER_LOCK: user-memory access may fault while ... is held
//! #151: FILE: mm/oom_kill.c:597:
//! +    if (!try_futex_exit_release(tsk)) {
//!     oom_reap_task_mm (mm/oom_kill.c:577) mm_struct::mmap_lock taken here ...
//!     → ...
//!
//! total: 1 errors, 0 warnings, 96 lines checked
//!
//! 0002-....patch has lock problems, please review.
//! ```
//!
//! One block per patch (headed by its name between dashes when there are
//! several, as checkpatch does for several files); a finding a patch fixes
//! is an `INFO:` line, which counts in no total. `--terse` is checkpatch's
//! `--terse`: one `file:line: LEVEL: TYPE: message` line per finding and the
//! total only when there is something to report.

use super::{check_type, ReportView};
use crate::finding::Severity;
use std::fmt::Write;

pub fn render(view: &ReportView, terse: bool) -> String {
    let mut out = String::new();
    let groups = view.groups();
    let several = groups.len() > 1;
    for (patch, members) in groups {
        let pv = patch.and_then(|p| view.series.and_then(|s| s.patches.get(p)));
        let name = pv.map_or("The checked code", |p| p.name.as_str());
        if several && !terse {
            let rule = "-".repeat(name.chars().count());
            let _ = writeln!(out, "{rule}\n{name}\n{rule}");
        }
        let (mut errors, mut warnings) = (0, 0);
        for &i in &members {
            let f = &view.findings[i];
            let origin = view.origin(i);
            let fixed = origin.is_some_and(|o| o.fixed);
            let level = match f.severity {
                _ if fixed => "INFO",
                Severity::Error => "ERROR",
                Severity::Warning => "WARNING",
            };
            match (fixed, f.severity) {
                (true, _) => {}
                (false, Severity::Error) => errors += 1,
                (false, Severity::Warning) => warnings += 1,
            }
            let message = if fixed { format!("fixed by this patch: {}", f.message) } else { f.message.clone() };
            let (line, _) = view.line_col(f.file, f.span.start);
            let path = view.display(f.file);
            let in_patch = origin.and_then(|o| o.patch_line.as_ref());
            if terse {
                let at = match (in_patch, pv) {
                    (Some(pl), Some(pv)) => format!("{}:{}", pv.source, pl.line),
                    _ => format!("{path}:{line}"),
                };
                let _ = writeln!(out, "{at}: {level}: {}: {message}", check_type(f.check));
                continue;
            }
            let _ = writeln!(out, "{level}: {}: {message}", check_type(f.check));
            match in_patch {
                Some(pl) => {
                    let _ = writeln!(out, "#{}: FILE: {path}:{line}:\n{}{}", pl.line, pl.kind as char, pl.text);
                }
                None if view.series.is_none() => {
                    // A tree run reads like `checkpatch.pl -f`: the file as
                    // one added hunk, so its line numbers are the file's.
                    let _ = writeln!(out, "#{line}: FILE: {path}:{line}:\n+{}", view.source_line(f.file, line));
                }
                None => {
                    let _ = writeln!(out, "FILE: {path}:{line}:\n {}", view.source_line(f.file, line));
                }
            }
            for (k, hop) in f.trace.iter().enumerate() {
                let arrow = if k == 0 { "" } else { "→ " };
                let (hop_line, _) = view.line_col(hop.file, hop.span.start);
                let _ =
                    writeln!(out, "    {arrow}{} ({}:{hop_line}) {}", hop.function, view.display(hop.file), hop.note);
            }
            if let Some(help) = &f.help {
                let _ = writeln!(out, "    help: {help}");
            }
            out.push('\n');
        }
        let clean = errors == 0 && warnings == 0;
        let lines = pv.map_or_else(|| view.lines_checked(), |p| p.lines);
        if !(terse && clean) {
            let _ = writeln!(out, "total: {errors} errors, {warnings} warnings, {lines} lines checked");
        }
        if terse {
            continue;
        }
        if !clean {
            out.push_str(
                "\nNOTE: If any of these are false positives, `lockpath explain <check>` says what the\n      check assumes; --ignore TYPE silences a check, .lockpath.toml a path.\n",
            );
        }
        if clean {
            let _ = writeln!(out, "\n{name} has no obvious lock problems and is ready for submission.");
        } else {
            let _ = writeln!(out, "\n{name} has lock problems, please review.");
        }
        if several {
            out.push('\n');
        }
    }
    out
}
