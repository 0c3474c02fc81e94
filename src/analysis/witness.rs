//! Witness chains: the call path from a function down to the access or
//! acquisition that makes an effect true. Chains are shared, immutable
//! linked lists, so a summary can extend its callee's chain in O(1).

use crate::index::FuncId;
use crate::ir::{Span, Sym};
use std::sync::Arc;

/// One hop: in `func`, at `span`, `callee` is called (or accessed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hop {
    pub func: FuncId,
    pub span: Span,
    pub callee: Sym,
}

#[derive(Debug, Clone)]
pub struct Chain(Arc<ChainNode>);

/// Two chains are equal when their hops are: a summary recomputed after an
/// edit equals the old one only if every witness still reads the same.
impl PartialEq for Chain {
    fn eq(&self, other: &Chain) -> bool {
        let (mut a, mut b) = (Some(self), Some(other));
        while let (Some(x), Some(y)) = (a, b) {
            if Arc::ptr_eq(&x.0, &y.0) {
                return true;
            }
            if x.0.hop != y.0.hop || x.0.len != y.0.len {
                return false;
            }
            a = x.0.next.as_ref();
            b = y.0.next.as_ref();
        }
        a.is_none() && b.is_none()
    }
}

#[derive(Debug)]
struct ChainNode {
    hop: Hop,
    next: Option<Chain>,
    len: u32,
}

impl Chain {
    pub fn new(hop: Hop, next: Option<Chain>) -> Chain {
        let len = 1 + next.as_ref().map_or(0, Chain::len);
        Chain(Arc::new(ChainNode { hop, next, len }))
    }

    /// Where the chain starts in its first function.
    pub fn first_site(&self) -> u32 {
        self.0.hop.span.start
    }

    /// Number of hops (calls) in the chain.
    #[allow(clippy::len_without_is_empty)] // a chain always has a first hop
    pub fn len(&self) -> u32 {
        self.0.len
    }

    pub fn hops(&self) -> Vec<Hop> {
        let mut out = Vec::with_capacity(self.len() as usize);
        let mut cur = Some(self);
        while let Some(c) = cur {
            out.push(c.0.hop);
            cur = c.0.next.as_ref();
        }
        out
    }
}
