//! Witness chains: the call path from a function down to the access or
//! acquisition that makes an effect true. Chains are shared, immutable
//! linked lists, so a summary can extend its callee's chain in O(1).
//!
//! A hop names its place as a site of its function (`site_spans`: the
//! function's name, then its calls and guards in source order), not as a
//! byte offset: a summary whose function moved down the file, or had lines
//! added between its calls, is the same summary, so its callers need no
//! new analysis. The span is looked up when a finding is written.

use crate::index::FuncId;
use crate::ir::{Span, Sym};
use std::sync::Arc;

/// One hop: in `func`, at its site `site`, `callee` is called (or accessed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hop {
    pub func: FuncId,
    pub site: u32,
    pub callee: Sym,
}

/// The places a hop can name in a function: its name (site 0), then every
/// call and guard of its body, in source order.
pub fn site_spans(name: Span, blocks: &[crate::ir::Block]) -> Vec<Span> {
    use crate::ir::Event;
    let mut body: Vec<Span> = blocks
        .iter()
        .flat_map(|b| &b.events)
        .filter_map(|e| match e {
            Event::Call(c) => Some(c.span),
            Event::GuardEnter { span, .. } | Event::GuardExit { span, .. } => Some(*span),
            _ => None,
        })
        .filter(|s| *s != name)
        .collect();
    body.sort_unstable();
    body.dedup();
    let mut out = Vec::with_capacity(body.len() + 1);
    out.push(name);
    out.extend(body);
    out
}

/// The site of `span` in `sites` (from `site_spans`); a span that is no
/// site (none should be) names the function.
pub fn site_of(sites: &[Span], span: Span) -> u32 {
    if sites.first() == Some(&span) {
        return 0;
    }
    sites.get(1..).and_then(|rest| rest.binary_search(&span).ok()).map_or(0, |i| i as u32 + 1)
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

    /// The site where the chain starts in its first function (sites are in
    /// source order).
    pub fn first_site(&self) -> u32 {
        self.0.hop.site
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
