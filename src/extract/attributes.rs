//! Kernel attribute macros (`__init`, `__user`, `__section(".x")`,
//! `__must_hold(&l)`) confuse tree-sitter-c, which does not expand macros:
//! `phys_addr_t __init_memblock foo(void)` parses as two declarations. They
//! are blanked out with spaces before parsing, so every byte offset stays
//! the same. The lock annotations among them are kept, with their offsets.

use crate::ir::AnnotationKind;
use rustc_hash::FxHashSet;

/// Which identifiers to blank, from the model's `attribute` lines.
#[derive(Default)]
pub struct Attributes {
    bare: FxHashSet<Vec<u8>>,
    with_args: FxHashSet<Vec<u8>>,
    /// Per first byte, a bit for each word length (1..=64) some attribute
    /// has: most identifiers of a file fail this test and are never hashed.
    lengths_by_first: Vec<u64>,
}

/// A lock annotation found in the text: kind, offset, argument text.
pub(crate) struct FoundAnnotation {
    pub(crate) kind: AnnotationKind,
    pub(crate) offset: usize,
    pub(crate) arg: String,
}

const ANNOTATIONS: &[(&[u8], AnnotationKind)] = &[
    (b"__acquires", AnnotationKind::Acquires),
    (b"__releases", AnnotationKind::Releases),
    (b"__must_hold", AnnotationKind::MustHold),
];

impl Attributes {
    pub fn new<'a>(
        bare: impl IntoIterator<Item = &'a str>,
        with_args: impl IntoIterator<Item = &'a str>,
    ) -> Attributes {
        let mut a = Attributes {
            bare: bare.into_iter().map(|s| s.as_bytes().to_vec()).collect(),
            with_args: with_args.into_iter().map(|s| s.as_bytes().to_vec()).collect(),
            lengths_by_first: vec![0; 256],
        };
        for (name, _) in ANNOTATIONS {
            a.with_args.insert(name.to_vec());
        }
        for word in a.bare.iter().chain(&a.with_args) {
            if let Some(&first) = word.first() {
                a.lengths_by_first[usize::from(first)] |= length_bit(word.len());
            }
        }
        a
    }

    /// Whether `word` can be an attribute at all (no false negatives).
    fn may_be_attribute(&self, word: &[u8]) -> bool {
        let bits = word.first().and_then(|&first| self.lengths_by_first.get(usize::from(first)));
        bits.is_some_and(|bits| bits & length_bit(word.len()) != 0)
    }

    /// The source with attributes blanked, and the lock annotations found.
    pub(crate) fn blank(&self, src: &[u8]) -> (Vec<u8>, Vec<FoundAnnotation>) {
        let mut out = src.to_vec();
        let mut found = Vec::new();
        let mut i = 0;
        let n = src.len();
        while i < n {
            let b = src[i];
            if !(b == b'_' || b.is_ascii_alphabetic()) || (i > 0 && is_ident(src[i - 1])) {
                i += 1;
                continue;
            }
            let start = i;
            while i < n && is_ident(src[i]) {
                i += 1;
            }
            let word = &src[start..i];
            if !self.may_be_attribute(word) {
                continue;
            }
            if self.bare.contains(word) {
                out[start..i].fill(b' ');
            } else if self.with_args.contains(word) {
                let mut j = i;
                while j < n && (src[j] == b' ' || src[j] == b'\t') {
                    j += 1;
                }
                if j < n && src[j] == b'(' {
                    let Some(close) = matching_paren(src, j) else {
                        continue;
                    };
                    if let Some((_, kind)) = ANNOTATIONS.iter().find(|(name, _)| *name == word) {
                        let arg = String::from_utf8_lossy(&src[j + 1..close]).into_owned();
                        found.push(FoundAnnotation { kind: *kind, offset: start, arg });
                    }
                    for byte in &mut out[start..=close] {
                        if *byte != b'\n' {
                            *byte = b' ';
                        }
                    }
                    i = close + 1;
                }
            }
        }
        (out, found)
    }
}

/// A word length's bit; lengths over 64 share the top bit.
fn length_bit(len: usize) -> u64 {
    1u64 << (len.clamp(1, 64) - 1)
}

fn is_ident(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric()
}

/// The `)` closing the `(` at `open`, within a short distance.
fn matching_paren(src: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, &b) in src.iter().enumerate().skip(open).take(4096) {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            b';' | b'{' | b'}' => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_keep_offsets_and_collect_annotations() {
        let attrs = Attributes::new(["__init_memblock"], ["__section"]);
        let src = b"phys_addr_t __init_memblock f(void) __must_hold(&l->lock) __section(\".x\") {}";
        let (out, found) = attrs.blank(src);
        assert_eq!(out.len(), src.len());
        let text = String::from_utf8(out).expect("ascii"); // ok: test
        assert!(text.starts_with("phys_addr_t                 f(void)"));
        assert!(!text.contains("__section") && !text.contains("__must_hold"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].arg, "&l->lock");
        assert_eq!(found[0].kind, AnnotationKind::MustHold);
    }
}
