//! Per-function results of the analysis (observations, conditional
//! lockings) kept in chunks by merge order: a whole run adds one chunk per
//! SCC that has any; a resident analysis replaces the chunks of the SCCs
//! it analysed again without moving the hundreds of thousands of others.

use crate::index::FuncId;
use std::collections::BTreeMap;

pub struct Chunks<T> {
    by_rank: BTreeMap<u64, Vec<(FuncId, T)>>,
    len: usize,
}

impl<T> Default for Chunks<T> {
    fn default() -> Chunks<T> {
        Chunks { by_rank: BTreeMap::new(), len: 0 }
    }
}

impl<T> Chunks<T> {
    /// Everything, in rank order.
    pub fn iter(&self) -> impl Iterator<Item = &(FuncId, T)> {
        self.by_rank.values().flatten()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut (FuncId, T)> {
        self.by_rank.values_mut().flatten()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Puts `items` at `rank`, in place of what was there; an empty list
    /// leaves no chunk.
    pub(crate) fn replace(&mut self, rank: u64, items: Vec<(FuncId, T)>) {
        self.len += items.len();
        let old = if items.is_empty() { self.by_rank.remove(&rank) } else { self.by_rank.insert(rank, items) };
        self.len -= old.map_or(0, |o| o.len());
    }
}

impl<'a, T> IntoIterator for &'a Chunks<T> {
    type Item = &'a (FuncId, T);
    type IntoIter = std::iter::Flatten<std::collections::btree_map::Values<'a, u64, Vec<(FuncId, T)>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.by_rank.values().flatten()
    }
}
