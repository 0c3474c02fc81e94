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

/// A node's kind by table: `Node::kind` measures the grammar's C string
/// with `strlen` and checks it is UTF-8 on every call, which came to about
/// 3% of a cold whole-tree run; the names are the grammar's, read once.
pub(crate) trait KindName {
    fn kind_name(&self) -> &'static str;
}

impl KindName for Node<'_> {
    fn kind_name(&self) -> &'static str {
        match kind_names().get(usize::from(self.kind_id())) {
            Some(name) => name,
            // The built-in ERROR symbol lies outside the grammar's table.
            None => self.kind(),
        }
    }
}

fn kind_names() -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let language: tree_sitter::Language = tree_sitter_c::LANGUAGE.into();
        let count = u16::try_from(language.node_kind_count()).unwrap_or(u16::MAX);
        (0..count).map(|id| language.node_kind_for_id(id).unwrap_or("")).collect()
    })
}

pub(crate) fn text<'s>(node: Node, src: &'s [u8]) -> &'s str {
    std::str::from_utf8(&src[node.byte_range()]).unwrap_or("")
}

/// Strips parentheses and casts: `((struct foo *)x)` is `x` for naming.
pub(crate) fn strip_parens(mut node: Node) -> Node {
    loop {
        match node.kind_name() {
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
        match node.kind_name() {
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
    match ty.kind_name() {
        "struct_specifier" | "union_specifier" => ty.child_by_field_id(fid!("name")).map(|n| text(n, src)),
        "type_identifier" => Some(text(ty, src)),
        _ => None,
    }
}

/// Function-name position of a call: `foo(..)` gives `foo`.
pub(crate) fn callee_identifier<'s>(call: Node, src: &'s [u8]) -> Option<&'s str> {
    let f = call.child_by_field_id(fid!("function"))?;
    (f.kind_name() == "identifier").then(|| text(f, src))
}

pub(crate) fn has_storage_static(node: Node, src: &[u8]) -> bool {
    let mut cursor = node.walk();
    let found =
        node.children(&mut cursor).any(|c| c.kind_name() == "storage_class_specifier" && text(c, src) == "static");
    found
}

/// The first named child that is not a comment (`( /* why */ expr )`).
pub(crate) fn first_expr_child(node: Node) -> Option<Node> {
    let mut cursor = node.walk();
    let found = node.named_children(&mut cursor).find(|c| c.kind_name() != "comment");
    found
}

/// The operator of a unary or binary expression (`!`, `&&`, `->`).
pub(crate) fn op_text<'s>(node: Node, src: &'s [u8]) -> &'s str {
    node.child_by_field_id(fid!("operator")).map_or("", |o| text(o, src))
}

/// `#if 0 .. #endif` (also `#if (0)`): its lines are never compiled; only
/// an `#else` side is code.
pub(crate) fn is_if_zero(node: Node, src: &[u8]) -> bool {
    node.kind_name() == "preproc_if"
        && node.child_by_field_id(fid!("condition")).is_some_and(|c| {
            let c = strip_parens(c);
            c.kind_name() == "number_literal" && text(c, src).trim() == "0"
        })
}

#[cfg(test)]
mod tests {
    use super::KindName;

    /// Every node of a file full of odd C (errors, macros, preprocessor)
    /// has the same kind by table as by `Node::kind`.
    #[test]
    fn kind_by_table_is_the_grammars_kind() {
        let src = b"#define X(a) a\nstatic int f(struct s *p) __acquires(p) { if (x) { guard(mutex)(&m); } return p->q ? 1 : 2; }\nint g( { ] ;\n#if 0\nint h;\n#endif\n";
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&tree_sitter_c::LANGUAGE.into()).expect("grammar"); // ok: test
        let tree = parser.parse(src, None).expect("a tree"); // ok: test
        let mut stack = vec![tree.root_node()];
        let mut seen = 0;
        while let Some(node) = stack.pop() {
            assert_eq!(node.kind_name(), node.kind(), "at {:?}", node.byte_range());
            seen += usize::from(node.kind() == "ERROR");
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
        assert!(seen > 0, "the sample has an ERROR node");
    }
}
