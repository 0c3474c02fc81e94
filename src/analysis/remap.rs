//! Renaming lock-class ids in what a parallel task produced: a task's new
//! classes get provisional ids (see `classes::LocalClasses`); once the level
//! is done they get their shared ids, and everything the task returned is
//! rewritten through `ClassMap`. Every type that holds a `ClassId` and
//! leaves a task is listed here, so a new field cannot be forgotten
//! silently: the exhaustive destructuring below stops compiling.

use super::classes::{ClassId, ClassMap};
use super::dataflow::{Imbalance, Observation, SleepContext};
use super::held::HeldLock;
use super::summary::{Acquisition, Effect, ExitLock, FunctionSummary, IrqUse};
use super::ConditionalLocking;
use crate::ir::LockRef;

pub trait MapClasses {
    fn map_classes(&mut self, map: &ClassMap);
}

impl MapClasses for ClassId {
    fn map_classes(&mut self, map: &ClassMap) {
        *self = map.get(*self);
    }
}

impl<T: MapClasses> MapClasses for Vec<T> {
    fn map_classes(&mut self, map: &ClassMap) {
        self.iter_mut().for_each(|x| x.map_classes(map));
    }
}

impl<T: MapClasses> MapClasses for Option<T> {
    fn map_classes(&mut self, map: &ClassMap) {
        if let Some(x) = self {
            x.map_classes(map);
        }
    }
}

impl<A: smallvec::Array> MapClasses for smallvec::SmallVec<A>
where
    A::Item: MapClasses,
{
    fn map_classes(&mut self, map: &ClassMap) {
        self.iter_mut().for_each(|x| x.map_classes(map));
    }
}

impl<T: MapClasses> MapClasses for (T, LockRef) {
    fn map_classes(&mut self, map: &ClassMap) {
        self.0.map_classes(map);
    }
}

impl<T: MapClasses> MapClasses for (crate::index::FuncId, T) {
    fn map_classes(&mut self, map: &ClassMap) {
        self.1.map_classes(map);
    }
}

impl MapClasses for Effect {
    fn map_classes(&mut self, map: &ClassMap) {
        let Effect { chain: _, released_before } = self;
        released_before.map_classes(map);
    }
}

impl MapClasses for Acquisition {
    fn map_classes(&mut self, map: &ClassMap) {
        let Acquisition { class, lock: _, mode: _, recursive_read: _, nested: _, effect } = self;
        class.map_classes(map);
        effect.map_classes(map);
    }
}

impl MapClasses for IrqUse {
    fn map_classes(&mut self, map: &ClassMap) {
        let IrqUse { class, mode: _, recursive_read: _, hard_on: _, soft_on: _, atomic: _, chain: _ } = self;
        class.map_classes(map);
    }
}

impl MapClasses for ExitLock {
    fn map_classes(&mut self, map: &ClassMap) {
        let ExitLock { class, lock: _, mode: _, recursive_read: _, trylock: _, atomic: _, no_sleep: _, irq: _, via: _ } =
            self;
        class.map_classes(map);
    }
}

impl MapClasses for FunctionSummary {
    fn map_classes(&mut self, map: &ClassMap) {
        let FunctionSummary {
            fault,
            sleep,
            sleep_sections_left: _,
            sleep_released_params,
            acquires,
            exit_acquires,
            acquires_if_nonzero,
            acquires_if_zero,
            exit_releases,
            may_release_if_nonzero,
            may_release_if_zero,
            irq_uses,
            exit_irqs_off: _,
        } = self;
        fault.map_classes(map);
        sleep.map_classes(map);
        sleep_released_params.map_classes(map);
        acquires.map_classes(map);
        exit_acquires.map_classes(map);
        acquires_if_nonzero.map_classes(map);
        acquires_if_zero.map_classes(map);
        exit_releases.map_classes(map);
        may_release_if_nonzero.map_classes(map);
        may_release_if_zero.map_classes(map);
        irq_uses.map_classes(map);
    }
}

impl MapClasses for HeldLock {
    fn map_classes(&mut self, map: &ClassMap) {
        let HeldLock {
            class,
            lock: _,
            mode: _,
            recursive_read: _,
            trylock: _,
            nested: _,
            atomic: _,
            no_sleep: _,
            irq: _,
            site: _,
            taker: _,
            via: _,
            exported: _,
        } = self;
        class.map_classes(map);
    }
}

impl MapClasses for Observation {
    fn map_classes(&mut self, map: &ClassMap) {
        match self {
            Observation::FaultWhileHeld { held, site: _, callee: _, chain: _ } => held.map_classes(map),
            Observation::Ordered { held, class, site: _, callee: _, chain: _ } => {
                held.map_classes(map);
                class.map_classes(map);
            }
            Observation::SleepInAtomic { context, site: _, callee: _, chain: _ } => match context {
                SleepContext::Lock(held) => held.map_classes(map),
                SleepContext::Section { site: _, by: _ } => {}
            },
            Observation::AcquireWhileHeld { held, site: _, callee: _, chain: _, same_instance: _ } => {
                held.map_classes(map)
            }
            Observation::DoubleUnlock { class, first: _, site: _, callee: _ } => class.map_classes(map),
            Observation::Imbalance(Imbalance {
                class,
                taken: _,
                taker: _,
                held_exit: _,
                free_exit: _,
                held_value: _,
            }) => class.map_classes(map),
        }
    }
}

impl MapClasses for ConditionalLocking {
    fn map_classes(&mut self, map: &ClassMap) {
        let ConditionalLocking { param: _, classes } = self;
        classes.map_classes(map);
    }
}
