//! Extraction: one parsed file → `FileFacts`. The syntax tree is dropped by
//! the caller right after; nothing here keeps a `Node` beyond this call.
//!
//! Architecture invariant: extraction is per file and never fails; what it
//! cannot understand becomes a line in `FileFacts::problems`.

pub mod attributes;
mod body;
mod inert;
mod macros;
mod syntax;
mod toplevel;

use crate::ir::{FileFacts, Interner};
pub use attributes::Attributes;

/// Extracts everything later stages need from `src`, parsing it with `parser`.
pub fn extract_file(original: &[u8], parser: &mut tree_sitter::Parser, attrs: &Attributes) -> FileFacts {
    let mut names = Interner::default();
    let mut facts = FileFacts {
        line_starts: line_starts(original),
        not_utf8: std::str::from_utf8(original).is_err(),
        ..FileFacts::default()
    };
    let (blanked, annotations) = attrs.blank(original);
    let src = blanked.as_slice();
    match parse_active(parser, src) {
        Some(tree) => {
            let macros = toplevel::extract_toplevel(src, tree.root_node(), &annotations, &mut names, &mut facts);
            drop(tree);
            macros::extract_macros(src, &macros, parser, &mut names, &mut facts);
        }
        None => facts.problems.push("tree-sitter could not parse the file".into()),
    }
    toplevel::scan_guards(src, &mut names, &mut facts);
    facts.names = names.into_list();
    facts
}

/// The file's tree, tree-sitter having skipped the lines no check reads
/// (`inert.rs`). The parser is left parsing whole texts again.
fn parse_active(parser: &mut tree_sitter::Parser, src: &[u8]) -> Option<tree_sitter::Tree> {
    let Some(ranges) = inert::included_ranges(src).filter(|_| std::env::var_os("LP_NO_INERT").is_none()) else {
        return parser.parse(src, None);
    };
    // Ranges are sorted and disjoint by construction; should tree-sitter
    // refuse them all the same, the whole text is parsed.
    let limited = parser.set_included_ranges(&ranges).is_ok();
    let tree = parser.parse(src, None);
    if limited {
        let _ = parser.set_included_ranges(&[]);
    }
    tree
}

fn line_starts(src: &[u8]) -> Vec<u32> {
    let mut starts = vec![0u32];
    starts.extend(memchr::memchr_iter(b'\n', src).map(|i| i as u32 + 1));
    starts
}
