//! Moving what a function's analysis observed when the function moved in
//! its file and nothing else changed (`index::moved`): every span an
//! observation holds is in the observing function, so the observation of
//! the moved function is the old one with its spans moved. Every type that
//! holds a `Span` and is kept between runs is listed here; the exhaustive
//! destructuring stops compiling when a new field is added.

use super::dataflow::{Imbalance, Observation, SleepContext};
use super::held::HeldLock;
use crate::index::moved_span;
use crate::ir::Span;

pub(crate) trait ShiftSpans {
    fn shift_spans(&mut self, delta: i64);
}

impl ShiftSpans for Span {
    fn shift_spans(&mut self, delta: i64) {
        // A span the shift would put outside the file cannot be one of a
        // function that moved there; it is left as it was.
        if let Some(moved) = moved_span(*self, delta) {
            *self = moved;
        }
    }
}

impl<T: ShiftSpans> ShiftSpans for Option<T> {
    fn shift_spans(&mut self, delta: i64) {
        if let Some(x) = self {
            x.shift_spans(delta);
        }
    }
}

impl ShiftSpans for HeldLock {
    fn shift_spans(&mut self, delta: i64) {
        let HeldLock {
            class: _,
            lock: _,
            mode: _,
            recursive_read: _,
            trylock: _,
            nested: _,
            atomic: _,
            no_sleep: _,
            irq: _,
            site,
            taker: _,
            via: _,
            exported: _,
        } = self;
        site.shift_spans(delta);
    }
}

impl ShiftSpans for Observation {
    fn shift_spans(&mut self, delta: i64) {
        match self {
            Observation::FaultWhileHeld { held, site, callee: _, chain: _ }
            | Observation::Ordered { held, class: _, site, callee: _, chain: _ }
            | Observation::AcquireWhileHeld { held, site, callee: _, chain: _, same_instance: _ } => {
                held.shift_spans(delta);
                site.shift_spans(delta);
            }
            Observation::SleepInAtomic { context, site, callee: _, chain: _ } => {
                match context {
                    SleepContext::Lock(held) => held.shift_spans(delta),
                    SleepContext::Section { site, by: _ } => site.shift_spans(delta),
                }
                site.shift_spans(delta);
            }
            Observation::DoubleUnlock { class: _, first, site, callee: _ } => {
                first.shift_spans(delta);
                site.shift_spans(delta);
            }
            Observation::Imbalance(Imbalance { class: _, taken, taker: _, held_exit, free_exit, held_value: _ }) => {
                taken.shift_spans(delta);
                held_exit.shift_spans(delta);
                free_exit.shift_spans(delta);
            }
        }
    }
}
