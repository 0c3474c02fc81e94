//! Lock classes, interned: `mm_struct::mmap_lock`, `futex_hash_bucket::lock`.

use rustc_hash::FxHashMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassId(pub u32);

#[derive(Default, Clone)]
pub struct Classes {
    map: FxHashMap<String, ClassId>,
    names: Vec<String>,
    weak: Vec<bool>,
    per_object: Vec<bool>,
    backoff: Vec<bool>,
}

impl Classes {
    pub fn intern(&mut self, name: &str, weak: bool) -> ClassId {
        if let Some(&id) = self.map.get(name) {
            return id;
        }
        let id = ClassId(self.names.len() as u32);
        self.names.push(name.to_string());
        self.weak.push(weak);
        self.per_object.push(false);
        self.backoff.push(false);
        self.map.insert(name.to_string(), id);
        id
    }

    pub fn name(&self, id: ClassId) -> &str {
        self.names.get(id.0 as usize).map_or("?", String::as_str)
    }

    /// Weak classes come from expressions whose type is unknown; they never
    /// produce an error on their own.
    pub fn is_weak(&self, id: ClassId) -> bool {
        self.weak.get(id.0 as usize).copied().unwrap_or(true)
    }

    /// Remembers that objects of this class are told apart, not lumped.
    pub fn mark_per_object(&mut self, id: ClassId) {
        if let Some(a) = self.per_object.get_mut(id.0 as usize) {
            *a = true;
        }
    }

    /// Remembers that this class resolves inversions itself (ww_mutex).
    pub fn mark_backoff(&mut self, id: ClassId) {
        if let Some(a) = self.backoff.get_mut(id.0 as usize) {
            *a = true;
        }
    }

    pub fn is_backoff(&self, id: ClassId) -> bool {
        self.backoff.get(id.0 as usize).copied().unwrap_or(false)
    }

    pub fn is_per_object(&self, id: ClassId) -> bool {
        self.per_object.get(id.0 as usize).copied().unwrap_or(false)
    }

    pub fn count(&self) -> usize {
        self.names.len()
    }

    /// The classes flagged per-object or backing-off, by name, with the flags.
    pub fn flagged(&self) -> std::collections::BTreeSet<(String, bool, bool)> {
        (0..self.names.len())
            .filter(|&i| self.per_object[i] || self.backoff[i])
            .map(|i| (self.names[i].clone(), self.per_object[i], self.backoff[i]))
            .collect()
    }
}

/// The class table one parallel task sees: the classes every finished
/// level interned (shared, frozen while the level runs) and the ones this
/// task met first. A task's new classes get ids from `base` on; when the
/// level ends, `Classes::absorb` gives them their final ids in task order,
/// so ids do not depend on which thread ran first.
pub struct LocalClasses {
    global: Arc<Classes>,
    base: u32,
    local: Classes,
    /// Flags this task set on classes of the shared table.
    per_object_marks: Vec<ClassId>,
    backoff_marks: Vec<ClassId>,
}

impl LocalClasses {
    pub fn new(global: Arc<Classes>) -> LocalClasses {
        let base = global.names.len() as u32;
        LocalClasses {
            global,
            base,
            local: Classes::default(),
            per_object_marks: Vec::new(),
            backoff_marks: Vec::new(),
        }
    }

    fn local_index(&self, id: ClassId) -> Option<ClassId> {
        id.0.checked_sub(self.base).map(ClassId)
    }

    pub fn intern(&mut self, name: &str, weak: bool) -> ClassId {
        if let Some(&id) = self.global.map.get(name) {
            return id;
        }
        ClassId(self.base + self.local.intern(name, weak).0)
    }

    pub fn name(&self, id: ClassId) -> &str {
        match self.local_index(id) {
            Some(l) => self.local.name(l),
            None => self.global.name(id),
        }
    }

    pub fn is_weak(&self, id: ClassId) -> bool {
        match self.local_index(id) {
            Some(l) => self.local.is_weak(l),
            None => self.global.is_weak(id),
        }
    }

    pub fn mark_per_object(&mut self, id: ClassId) {
        match self.local_index(id) {
            Some(l) => self.local.mark_per_object(l),
            None if !self.global.is_per_object(id) && !self.per_object_marks.contains(&id) => {
                self.per_object_marks.push(id)
            }
            None => {}
        }
    }

    pub fn mark_backoff(&mut self, id: ClassId) {
        match self.local_index(id) {
            Some(l) => self.local.mark_backoff(l),
            None if !self.global.is_backoff(id) && !self.backoff_marks.contains(&id) => self.backoff_marks.push(id),
            None => {}
        }
    }

    pub fn is_per_object(&self, id: ClassId) -> bool {
        match self.local_index(id) {
            Some(l) => self.local.is_per_object(l),
            None => self.global.is_per_object(id) || self.per_object_marks.contains(&id),
        }
    }

    pub fn is_backoff(&self, id: ClassId) -> bool {
        match self.local_index(id) {
            Some(l) => self.local.is_backoff(l),
            None => self.global.is_backoff(id) || self.backoff_marks.contains(&id),
        }
    }
}

/// A finished task's classes, to be absorbed into the shared table.
pub struct NewClasses {
    base: u32,
    local: Classes,
    per_object_marks: Vec<ClassId>,
    backoff_marks: Vec<ClassId>,
}

impl From<LocalClasses> for NewClasses {
    fn from(l: LocalClasses) -> NewClasses {
        NewClasses {
            base: l.base,
            local: l.local,
            per_object_marks: l.per_object_marks,
            backoff_marks: l.backoff_marks,
        }
    }
}

/// Turns a task's ids into shared ones.
pub struct ClassMap {
    base: u32,
    ids: Vec<ClassId>,
}

impl ClassMap {
    pub fn get(&self, id: ClassId) -> ClassId {
        match id.0.checked_sub(self.base) {
            Some(l) => self.ids.get(l as usize).copied().unwrap_or(id),
            None => id,
        }
    }

    pub fn is_identity(&self) -> bool {
        self.ids.is_empty()
    }
}

impl Classes {
    /// Interns a task's new classes (in the order it met them) and sets the
    /// flags it set; returns how its ids map to the shared ones.
    pub fn absorb(&mut self, new: NewClasses) -> ClassMap {
        let mut ids = Vec::with_capacity(new.local.names.len());
        for (i, name) in new.local.names.iter().enumerate() {
            let id = self.intern(name, new.local.weak[i]);
            if new.local.per_object[i] {
                self.mark_per_object(id);
            }
            if new.local.backoff[i] {
                self.mark_backoff(id);
            }
            ids.push(id);
        }
        for id in new.per_object_marks {
            self.mark_per_object(id);
        }
        for id in new.backoff_marks {
            self.mark_backoff(id);
        }
        ClassMap { base: new.base, ids }
    }
}
