//! The file-local string table extraction fills.

use crate::ir::Sym;
use rustc_hash::FxHashMap;

#[derive(Default)]
pub(crate) struct Names {
    map: FxHashMap<Box<str>, Sym>,
    list: Vec<Box<str>>,
}

impl Names {
    pub(crate) fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.map.get(s) {
            return sym;
        }
        let sym = Sym(self.list.len() as u32);
        self.list.push(s.into());
        self.map.insert(s.into(), sym);
        sym
    }

    pub(crate) fn into_list(self) -> Vec<Box<str>> {
        self.list
    }
}
