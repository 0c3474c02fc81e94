//! Lines no check reads, kept away from tree-sitter.
//!
//! Object-like `#define`s (`#define mmFOO 0x1234`, `#define BAR (1 << 3)`)
//! are two fifths of the kernel's bytes: the register headers under
//! `drivers/gpu/drm/amd/include/asic_reg/` alone are 450 MB of them. No
//! extractor reads them (`toplevel.rs` takes function-like macros only, a
//! body skips preprocessor lines), yet parsing them is most of tree-sitter's
//! time on those files. So the parser is given the file's other bytes as its
//! included ranges: it never lexes the excluded lines, and every node keeps
//! its offset in the file.
//!
//! The scan is lexical and conservative. A line is excluded only when it
//! starts (after blanks) a `#define NAME` not followed by `(`, outside a
//! block comment; with its `\`-continued lines; and only when no block
//! comment is left open at its end (excluding a `/*` would turn what follows
//! into code). Its leading blanks and the newline ending it go too, so runs
//! of defines become one excluded range; the newline before it stays, so
//! the directive before it still ends.
//!
//! Trace event definitions go the same way: `TRACE_EVENT(...)`,
//! `DECLARE_EVENT_CLASS(...)`, `DEFINE_EVENT*(...)` at the start of a line,
//! through the parenthesis that closes them and their `;`. Their
//! `TP_STRUCT__entry`/`TP_fast_assign`/`TP_printk` arguments are a record
//! layout and a format, not functions or initializers any extractor reads,
//! and tree-sitter recovers from them slowly (1.5–2 MB/s, against 8–10 for
//! ordinary C): `trace.h` headers were 2.5% of the whole tree's parse time.
//!
//! Comments are left in: they are single tokens, cheap to lex, and
//! excluding each one costs tree-sitter more in range bookkeeping than it
//! saves (measured on `fs/` and `drivers/net/`).

use tree_sitter::{Point, Range};

/// The ranges tree-sitter should parse, or `None` when nothing is excluded
/// (then the parser parses the whole file, as it would anyway).
pub(crate) fn included_ranges(src: &[u8]) -> Option<Vec<Range>> {
    let excluded = excluded_spans(src);
    if excluded.is_empty() {
        return None;
    }
    let mut points = PointFinder::new(src);
    let mut ranges = Vec::with_capacity(excluded.len() + 1);
    let mut start = 0usize;
    for (ex_start, ex_end) in excluded {
        if ex_start > start {
            ranges.push(range(&mut points, start, ex_start));
        }
        start = ex_end;
    }
    if start < src.len() || ranges.is_empty() {
        ranges.push(range(&mut points, start, src.len()));
    }
    Some(ranges)
}

fn range(points: &mut PointFinder, start: usize, end: usize) -> Range {
    Range { start_byte: start, end_byte: end, start_point: points.at(start), end_point: points.at(end) }
}

/// Byte spans `[start, end)` to exclude, sorted, merged when adjacent.
fn excluded_spans(src: &[u8]) -> Vec<(usize, usize)> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut in_comment = false;
    let mut line = 0usize;
    while line < src.len() {
        let hash = skip_blanks(src, line);
        if !in_comment {
            if let Some(end) = object_like_define(src, hash).or_else(|| trace_event(src, line)) {
                match spans.last_mut() {
                    Some(last) if last.1 == line => last.1 = end,
                    _ => spans.push((line, end)),
                }
                line = end;
                continue;
            }
        }
        let end = line_end(src, line);
        in_comment = scan_comments(&src[line..end], in_comment);
        line = end + 1;
    }
    spans
}

/// When an object-like `#define` starts at `at`: where its logical line
/// ends, past the newline, provided it leaves no block comment open.
fn object_like_define(src: &[u8], at: usize) -> Option<usize> {
    if src.get(at) != Some(&b'#') {
        return None;
    }
    let word = skip_blanks(src, at + 1);
    let rest = src.get(word..)?;
    let after = rest.strip_prefix(b"define")?;
    if !after.first().is_some_and(|&b| b == b' ' || b == b'\t') {
        return None;
    }
    let name = skip_blanks(src, word + b"define".len());
    let name_end = src[name..].iter().position(|&b| !is_ident(b)).map_or(src.len(), |k| name + k);
    if name_end == name || src.get(name_end) == Some(&b'(') {
        return None;
    }
    let mut end = line_end(src, at);
    while end > at && continues(src, end) && end < src.len() {
        end = line_end(src, end + 1);
    }
    if scan_comments(&src[at..end], false) {
        return None;
    }
    Some((end + 1).min(src.len()))
}

/// Words that start a trace event definition at the start of a line.
const TRACE_EVENT_WORDS: [&[u8]; 3] = [b"TRACE_EVENT", b"DECLARE_EVENT_CLASS", b"DEFINE_EVENT"];

/// When a trace event definition starts at `at` (column 0): where it ends,
/// past its closing parenthesis, its `;` and, when nothing else follows on
/// that line, the newline. `None` when its parentheses do not close.
fn trace_event(src: &[u8], at: usize) -> Option<usize> {
    let rest = src.get(at..)?;
    if !TRACE_EVENT_WORDS.iter().any(|w| rest.starts_with(w)) {
        return None;
    }
    let word_end = rest.iter().position(|&b| !is_ident(b)).map_or(src.len(), |k| at + k);
    let open = skip_blanks(src, word_end);
    if src.get(open) != Some(&b'(') {
        return None;
    }
    let mut end = close_paren(src, open)?;
    let semi = skip_blanks(src, end);
    if src.get(semi) == Some(&b';') {
        end = semi + 1;
    }
    let eol = skip_blanks(src, end);
    match src.get(eol) {
        Some(b'\n') => Some(eol + 1),
        None => Some(eol),
        Some(_) => Some(end),
    }
}

/// Past the `)` matching the `(` at `open`, skipping comments and literals.
fn close_paren(src: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < src.len() {
        match src[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'/' if src.get(i + 1) == Some(&b'*') => {
                i = find(&src[i + 2..], b"*/").map(|k| i + 2 + k + 1)?;
            }
            b'/' if src.get(i + 1) == Some(&b'/') => i = line_end(src, i),
            quote @ (b'"' | b'\'') => {
                let end = line_end(src, i);
                i = i + 1 + skip_literal(&src[i + 1..end], 0, quote);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Whether the line ending at `end` (its `\n`) ends in a backslash.
fn continues(src: &[u8], end: usize) -> bool {
    let body = &src[..end];
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    body.last() == Some(&b'\\')
}

/// Whether a block comment is open after `line`, given whether one was
/// open before it. Skips string and character literals and `//` comments.
fn scan_comments(line: &[u8], mut in_comment: bool) -> bool {
    let mut i = 0;
    while i < line.len() {
        if in_comment {
            match find(&line[i..], b"*/") {
                Some(k) => {
                    in_comment = false;
                    i += k + 2;
                }
                None => return true,
            }
            continue;
        }
        match memchr::memchr3(b'/', b'"', b'\'', &line[i..]) {
            Some(k) => i += k,
            None => return false,
        }
        match line[i] {
            b'/' if line.get(i + 1) == Some(&b'*') => {
                in_comment = true;
                i += 2;
            }
            b'/' if line.get(i + 1) == Some(&b'/') => return false,
            quote @ (b'"' | b'\'') => i = skip_literal(line, i + 1, quote),
            _ => i += 1,
        }
    }
    in_comment
}

/// Past the literal's closing quote (or the line's end), from inside it.
fn skip_literal(line: &[u8], mut i: usize, quote: u8) -> usize {
    while i < line.len() {
        match line[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    line.len()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

fn skip_blanks(src: &[u8], mut i: usize) -> usize {
    while i < src.len() && (src[i] == b' ' || src[i] == b'\t') {
        i += 1;
    }
    i
}

/// The index of the `\n` ending the line that holds `i`, or the length.
fn line_end(src: &[u8], i: usize) -> usize {
    memchr::memchr(b'\n', &src[i..]).map_or(src.len(), |k| i + k)
}

fn is_ident(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric()
}

/// Row and column of ascending offsets, in one pass over the text.
struct PointFinder<'a> {
    src: &'a [u8],
    offset: usize,
    row: usize,
    line_start: usize,
}

impl<'a> PointFinder<'a> {
    fn new(src: &'a [u8]) -> Self {
        PointFinder { src, offset: 0, row: 0, line_start: 0 }
    }

    fn at(&mut self, offset: usize) -> Point {
        let offset = offset.min(self.src.len());
        let from = self.offset.min(offset);
        for k in memchr::memchr_iter(b'\n', &self.src[from..offset]) {
            self.row += 1;
            self.line_start = from + k + 1;
        }
        self.offset = self.offset.max(offset);
        Point { row: self.row, column: offset - self.line_start }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excluded(src: &str) -> Vec<&str> {
        excluded_spans(src.as_bytes()).into_iter().map(|(s, e)| &src[s..e]).collect()
    }

    #[test]
    fn object_like_defines_go_with_their_newline_and_merge() {
        let src = "#include <x.h>\n#define A 1\n  # define B (A << 2) /* b */\nint f(void);\n";
        assert_eq!(excluded(src), ["#define A 1\n  # define B (A << 2) /* b */\n"]);
        assert_eq!(excluded("{\n\t#define C 2\n}\n"), ["\t#define C 2\n"]);
    }

    #[test]
    fn function_like_defines_and_other_directives_stay() {
        assert!(excluded("#define F(x) spin_lock(x)\n#ifdef A\n#endif\n#defineX\n").is_empty());
    }

    #[test]
    fn continued_lines_go_with_the_define() {
        assert_eq!(excluded("#define A \\\n  1\nint x;\n"), ["#define A \\\n  1\n"]);
    }

    #[test]
    fn comments_are_respected() {
        // Inside a block comment: not a directive. Opening one: kept, or
        // the comment's text would become code.
        assert!(excluded("/*\n#define A 1\n*/\n").is_empty());
        assert!(excluded("#define A 1 /* starts\n ends */\n").is_empty());
        assert_eq!(excluded("x = \"/*\";\n#define A 1\n"), ["#define A 1\n"]);
    }

    #[test]
    fn trace_events_go_through_their_semicolon() {
        let src = "TRACE_EVENT(foo,\n\tTP_ARGS(a), /* ) */\n\tTP_printk(\"%d)\", ')')\n);\nint x;\n";
        assert_eq!(excluded(src), ["TRACE_EVENT(foo,\n\tTP_ARGS(a), /* ) */\n\tTP_printk(\"%d)\", ')')\n);\n"]);
        assert_eq!(excluded("DEFINE_EVENT(c, n, TP_ARGS(a)); int y;\n"), ["DEFINE_EVENT(c, n, TP_ARGS(a));"]);
        // Indented (inside something else), unclosed, or a lookalike: kept.
        assert!(excluded("\tTRACE_EVENT(a);\nTRACE_EVENT(b,\nDEFINE_EVENTS;\n").is_empty());
    }

    #[test]
    fn ranges_cover_the_rest_with_points() {
        let src = b"int a;\n#define A 1\nint b;\n";
        let ranges = included_ranges(src).unwrap_or_default();
        let spans: Vec<_> = ranges.iter().map(|r| (r.start_byte, r.end_byte, r.start_point.row)).collect();
        assert_eq!(spans, [(0, 7, 0), (19, 26, 2)]);
        assert!(included_ranges(b"int a;\n").is_none());
    }
}
