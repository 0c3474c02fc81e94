//! Witness chains: the call path from a function down to the access or
//! acquisition that makes an effect true. Chains are shared, immutable
//! linked lists, so a summary can extend its callee's chain in O(1).

use crate::index::FuncId;
use crate::ir::{Span, Sym};
use std::sync::Arc;

/// One hop: in `func`, at `span`, `callee` is called (or accessed).
#[derive(Debug, Clone, Copy)]
pub struct Hop {
    pub func: FuncId,
    pub span: Span,
    pub callee: Sym,
}

#[derive(Debug, Clone)]
pub struct Chain(Arc<ChainNode>);

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
