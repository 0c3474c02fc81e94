//! Lock classes, interned: `mm_struct::mmap_lock`, `futex_hash_bucket::lock`.

use rustc_hash::FxHashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassId(pub u32);

#[derive(Default)]
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
}
