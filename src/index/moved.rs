//! Functions that only moved in their file: an edit above a function shifts
//! every byte offset in it and changes nothing else. Such a function's
//! summary is the same (witness hops name sites, not offsets) and what its
//! analysis observed is the same with every span shifted, so a replaced
//! file's moved functions need no re-analysis, only their spans moved
//! (`analysis::shift`).
//!
//! The shift leaves an empty span at offset 0 (`Span::default()`, the
//! extractor's "nowhere") where it is: the old function shifted this way
//! must equal the new one for it to count as moved, so whatever the
//! analysis derives from the old spans it derives, shifted the same way,
//! from the new ones.

use super::FuncDef;
use crate::ir::{Block, Event, Span, Terminator};

/// How far `new` moved from `old` when that is all that changed: 0 when
/// nothing changed, `None` when more than the place did.
pub(super) fn moved_by(old: &FuncDef, new: &FuncDef) -> Option<i64> {
    let delta = i64::from(new.func.span.start) - i64::from(old.func.span.start);
    if header(old, delta)? != header(new, 0)? {
        return None;
    }
    if delta == 0 {
        return (old.body == new.body).then_some(0);
    }
    let mut blocks = old.blocks();
    for block in &mut blocks {
        shift_block(block, delta)?;
    }
    let body = postcard::to_allocvec(&blocks).ok()?;
    (*body == *new.body).then_some(delta)
}

/// `span` moved by `delta`; `None` when it would leave the file's range.
pub(crate) fn shift(span: Span, delta: i64) -> Option<Span> {
    if span == Span::default() {
        return Some(span);
    }
    let by = |at: u32| u32::try_from(i64::from(at) + delta).ok();
    Some(Span { start: by(span.start)?, end: by(span.end)? })
}

/// Everything of a function's header but its blocks, with its span moved.
fn header(def: &FuncDef, delta: i64) -> Option<Vec<u8>> {
    let f = &def.func;
    let span = shift(f.span, delta)?;
    postcard::to_allocvec(&(f.name, span, f.is_static, f.is_macro, f.returns_void, &f.params, &f.annotations)).ok()
}

fn shift_block(block: &mut Block, delta: i64) -> Option<()> {
    let Block { events, term, at } = block;
    *at = shift(*at, delta)?;
    match term {
        // Block ids, parameters and hashes of text: no offsets.
        Terminator::Goto(_)
        | Terminator::Branch { .. }
        | Terminator::Switch(_)
        | Terminator::Return(_)
        | Terminator::Unreachable => {}
    }
    for event in events {
        match event {
            Event::Call(call) => call.span = shift(call.span, delta)?,
            Event::GuardEnter { span, .. } | Event::GuardExit { span, .. } => *span = shift(*span, delta)?,
            Event::SetVar { .. } | Event::Assume { .. } => {}
        }
    }
    Some(())
}
