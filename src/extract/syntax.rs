//! Small helpers over tree-sitter nodes shared by the extractor.

use tree_sitter::Node;

/// The grammar's id of a field name, looked up once per call site:
/// `child_by_field_name` compares the name against every field of the
/// grammar on each call, which showed as a few percent of a whole run.
macro_rules! fid {
    ($name:literal) => {{
        static ID: std::sync::OnceLock<u16> = std::sync::OnceLock::new();
        *ID.get_or_init(|| crate::extract::syntax::field_id($name))
    }};
}
pub(crate) use fid;

pub(crate) fn field_id(name: &str) -> u16 {
    let language: tree_sitter::Language = tree_sitter_c::LANGUAGE.into();
    language.field_id_for_name(name).map_or(0, u16::from)
}

pub(crate) fn text<'s>(node: Node, src: &'s [u8]) -> &'s str {
    std::str::from_utf8(&src[node.byte_range()]).unwrap_or("")
}

/// Strips parentheses and casts: `((struct foo *)x)` is `x` for naming.
pub(crate) fn strip_parens(mut node: Node) -> Node {
    loop {
        match node.kind() {
            "parenthesized_expression" => match first_expr_child(node) {
                Some(inner) => node = inner,
                None => return node,
            },
            "cast_expression" => match node.child_by_field_id(fid!("value")) {
                Some(inner) => node = inner,
                None => return node,
            },
            _ => return node,
        }
    }
}

/// The identifier a (possibly pointer/array/function) declarator declares.
pub(crate) fn declarator_name(mut node: Node) -> Option<Node> {
    for _ in 0..64 {
        match node.kind() {
            "identifier" | "field_identifier" | "type_identifier" => return Some(node),
            // `(*cb)` in `void (*cb)(struct tbl *)`
            "parenthesized_declarator" => node = node.named_child(0)?,
            _ => node = node.child_by_field_id(fid!("declarator"))?,
        }
    }
    None
}

/// The struct/union/typedef name of a type specifier, if it names one.
pub(crate) fn type_name<'s>(ty: Node, src: &'s [u8]) -> Option<&'s str> {
    match ty.kind() {
        "struct_specifier" | "union_specifier" => ty.child_by_field_id(fid!("name")).map(|n| text(n, src)),
        "type_identifier" => Some(text(ty, src)),
        _ => None,
    }
}

/// Function-name position of a call: `foo(..)` gives `foo`.
pub(crate) fn callee_identifier<'s>(call: Node, src: &'s [u8]) -> Option<&'s str> {
    let f = call.child_by_field_id(fid!("function"))?;
    (f.kind() == "identifier").then(|| text(f, src))
}

pub(crate) fn has_storage_static(node: Node, src: &[u8]) -> bool {
    let mut cursor = node.walk();
    let found = node.children(&mut cursor).any(|c| c.kind() == "storage_class_specifier" && text(c, src) == "static");
    found
}

/// The first named child that is not a comment (`( /* why */ expr )`).
pub(crate) fn first_expr_child(node: Node) -> Option<Node> {
    let mut cursor = node.walk();
    let found = node.named_children(&mut cursor).find(|c| c.kind() != "comment");
    found
}

/// The operator of a unary or binary expression (`!`, `&&`, `->`).
pub(crate) fn op_text<'s>(node: Node, src: &'s [u8]) -> &'s str {
    node.child_by_field_id(fid!("operator")).map_or("", |o| text(o, src))
}

/// `#if 0 .. #endif` (also `#if (0)`): its lines are never compiled; only
/// an `#else` side is code.
pub(crate) fn is_if_zero(node: Node, src: &[u8]) -> bool {
    node.kind() == "preproc_if"
        && node.child_by_field_id(fid!("condition")).is_some_and(|c| {
            let c = strip_parens(c);
            c.kind() == "number_literal" && text(c, src).trim() == "0"
        })
}
