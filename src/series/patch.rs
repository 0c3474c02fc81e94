//! Patches as bytes → plain data: `git format-patch` mails, mboxes holding
//! several (the cover letter skipped), and plain unified diffs with or
//! without `a/` `b/` prefixes, including new, deleted, renamed, copied,
//! mode-only and binary changes.
//!
//! [`parse`] never panics and never recurses on its input: every loop walks
//! the lines once, numbers are parsed with overflow checks, and a hunk that
//! ends early is an error naming the patch and the hunk header. Which file a
//! name means (how many leading components to strip) is decided later,
//! against the tree (`apply.rs`).

/// One patch: a mail of an mbox, a format-patch file, or a plain diff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patch {
    /// What findings are attributed to: the file name for a one-patch file,
    /// the subject (`[PATCH 2/3] mm: ...`) for a mail of an mbox.
    pub name: String,
    /// The input it came from (a file name, or `-` for stdin), for
    /// checkpatch's `file:line` prefixes.
    pub source: String,
    /// Lines of the patch's text (checkpatch's "lines checked").
    pub lines: usize,
    pub files: Vec<FileDiff>,
    /// Things worth a note that do not stop the run (a binary change).
    pub notes: Vec<String>,
}

/// What a patch does to one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileDiff {
    /// The pre-image name as written (`a/mm/oom_kill.c`), `None` for
    /// `/dev/null` (a new file).
    pub old_name: Option<String>,
    /// The post-image name as written, `None` for `/dev/null` (deleted).
    pub new_name: Option<String>,
    /// A git diff (`diff --git`), as opposed to a plain unified diff.
    pub git: bool,
    /// The names carry the diff's prefix (`a/`, `b/`, or none with
    /// `--no-prefix`): those of `diff --git`, `---` and `+++` lines do,
    /// those of `rename from`/`copy to` lines never.
    pub prefixed: bool,
    pub rename: bool,
    pub copy: bool,
    pub binary: bool,
    /// The abbreviated pre-image blob id of a git diff's `index` line.
    pub old_blob: Option<String>,
    pub hunks: Vec<Hunk>,
    /// Line of the input where this file's diff starts.
    pub line: usize,
}

impl FileDiff {
    /// A diff of these files (names as written, with their prefix) from
    /// input line `line`.
    fn named(old_name: Option<String>, new_name: Option<String>, line: usize) -> FileDiff {
        FileDiff { old_name, new_name, prefixed: true, line, ..FileDiff::default() }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hunk {
    /// The `@@ -a,b +c,d @@ ...` line as written, for error messages.
    pub header: String,
    pub old_start: usize,
    pub old_len: usize,
    pub new_start: usize,
    pub new_len: usize,
    pub lines: Vec<HunkLine>,
    /// Line of the input holding the header.
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HunkLine {
    /// `b' '` context, `b'-'` removed, `b'+'` added.
    pub kind: u8,
    /// The line's bytes, without its line ending.
    pub text: Vec<u8>,
    /// Followed by `\ No newline at end of file`.
    pub no_newline: bool,
    /// Line of the input holding it.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}:{line}: {msg}")]
pub struct ParseError {
    pub source_name: String,
    pub line: usize,
    pub msg: String,
}

/// Parses `bytes` (read from `source`: a file name, or `-`) into the patches
/// it holds, in order. A cover letter (`[PATCH 0/N]`, or any mail of an
/// mbox without a diff) is skipped; a lone mail or plain diff without one is
/// an empty patch.
pub fn parse(bytes: &[u8], source: &str) -> Result<Vec<Patch>, ParseError> {
    let lines = split_lines(bytes);
    let mails = split_mbox(&lines);
    let file_name = std::path::Path::new(source)
        .file_name()
        .map_or_else(|| source.to_string(), |n| n.to_string_lossy().into_owned());
    let mut out = Vec::new();
    let several = mails.len() > 1;
    for (start, end) in mails.iter().copied() {
        let mail = &lines[start..end];
        let (headers, body_at) = parse_headers(mail);
        let subject = header(&headers, "subject").map(|s| decode_words(&s));
        let mut body: Vec<Line> = mail[body_at..].to_vec();
        if let Some(encoding) = header(&headers, "content-transfer-encoding") {
            body = decode_body(&body, &encoding.to_ascii_lowercase());
        }
        let mut patch = parse_diff(&body, source)?;
        patch.source = source.to_string();
        patch.lines = mail.len();
        let is_cover = subject.as_deref().is_some_and(is_cover_subject);
        if several && (is_cover || patch.files.is_empty()) {
            continue;
        }
        patch.name = match (&subject, several || source == "-") {
            (Some(s), true) => s.clone(),
            _ if source == "-" => "<stdin>".to_string(),
            _ => file_name.clone(),
        };
        out.push(patch);
    }
    if out.is_empty() {
        // Nothing but cover letters, or no input at all: one empty patch,
        // so the run still names what it was given.
        let name = if source == "-" { "<stdin>".to_string() } else { file_name };
        out.push(Patch { name, source: source.to_string(), lines: lines.len(), ..Patch::default() });
    }
    Ok(out)
}

/// One input line: its bytes without the line ending, and its 1-based number.
#[derive(Debug, Clone)]
struct Line {
    text: Vec<u8>,
    number: usize,
}

/// Splits on `\n`. When every line ends in `\r\n` (a patch a mailer or an
/// editor converted), the `\r`s are dropped, as `git am` does; otherwise
/// they are kept (a file with CRLF endings shows them in its diff lines).
fn split_lines(bytes: &[u8]) -> Vec<Line> {
    let mut raw: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if raw.last().is_some_and(|l| l.is_empty()) {
        raw.pop();
    }
    let terminated = raw.len().saturating_sub(usize::from(!bytes.ends_with(b"\n")));
    let mangled = terminated > 0 && raw[..terminated].iter().all(|l| l.ends_with(b"\r"));
    raw.iter()
        .enumerate()
        .map(|(i, l)| {
            let text = if mangled { l.strip_suffix(b"\r").unwrap_or(l) } else { l };
            Line { text: text.to_vec(), number: i + 1 }
        })
        .collect()
}

/// Mail boundaries as (first line, end) ranges. An mbox separator is a
/// `From ` line at the start or after an empty line, followed by a header.
fn split_mbox(lines: &[Line]) -> Vec<(usize, usize)> {
    let mut starts = Vec::new();
    for i in 0..lines.len() {
        let after_blank = i == 0 || lines[i - 1].text.is_empty();
        if after_blank && lines[i].text.starts_with(b"From ") && lines.get(i + 1).is_some_and(|l| is_header(&l.text)) {
            starts.push(i);
        }
    }
    if starts.is_empty() {
        return vec![(0, lines.len())];
    }
    let mut out = Vec::new();
    if starts[0] > 0 && lines[..starts[0]].iter().any(|l| !l.text.is_empty()) {
        out.push((0, starts[0]));
    }
    for (k, &s) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(lines.len());
        out.push((s, end));
    }
    out
}

fn is_header(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else { return false };
    colon > 0 && line[..colon].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

/// Headers (lower-cased name, unfolded value) and the index of the first
/// body line. A mail starts with a `From ` line or a header; anything else
/// has no headers.
fn parse_headers(mail: &[Line]) -> (Vec<(String, String)>, usize) {
    let mut i = 0;
    if mail.first().is_some_and(|l| l.text.starts_with(b"From ")) {
        i = 1;
    }
    if !mail.get(i).is_some_and(|l| is_header(&l.text)) {
        return (Vec::new(), 0);
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    while i < mail.len() {
        let text = &mail[i].text;
        if text.is_empty() {
            return (headers, i + 1);
        }
        if text[0] == b' ' || text[0] == b'\t' {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(String::from_utf8_lossy(text).trim());
            }
        } else if is_header(text) {
            let line = String::from_utf8_lossy(text);
            let (name, value) = line.split_once(':').unwrap_or((&line, ""));
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        } else {
            // Not a header: the body starts here (a mail without the blank line).
            return (headers, i);
        }
        i += 1;
    }
    (headers, mail.len())
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
}

/// `[PATCH 0/3]`, `[PATCH v2 00/10]`, `[RFC PATCH 0/2]`.
fn is_cover_subject(subject: &str) -> bool {
    let Some(open) = subject.find('[') else { return false };
    let Some(close) = subject[open..].find(']') else { return false };
    subject[open + 1..open + close].split_whitespace().any(|w| {
        w.split_once('/').is_some_and(|(n, total)| {
            !n.is_empty() && n.bytes().all(|b| b == b'0') && total.bytes().all(|b| b.is_ascii_digit())
        })
    })
}

/// Decodes RFC 2047 encoded words (`=?UTF-8?q?...?=`, `=?utf-8?b?...?=`).
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let Some((charset_enc, after)) = rest[start + 2..].split_once('?').and_then(|(cs, r)| {
            let (enc, r) = r.split_once('?')?;
            Some(((cs, enc), r))
        }) else {
            break;
        };
        let Some(end) = after.find("?=") else { break };
        let gap = &rest[..start];
        if !(last_was_word && gap.trim().is_empty()) {
            out.push_str(gap);
        }
        let text = &after[..end];
        let bytes = match charset_enc.1 {
            "q" | "Q" => decode_qp(text.replace('_', " ").as_bytes(), false),
            "b" | "B" => decode_base64(text.as_bytes()),
            _ => text.as_bytes().to_vec(),
        };
        out.push_str(&String::from_utf8_lossy(&bytes));
        rest = &after[end + 2..];
        last_was_word = true;
    }
    out.push_str(rest);
    out
}

fn decode_body(body: &[Line], encoding: &str) -> Vec<Line> {
    let first = body.first().map_or(1, |l| l.number);
    let joined: Vec<u8> = body.iter().flat_map(|l| l.text.iter().copied().chain([b'\n'])).collect();
    let decoded = match encoding {
        "quoted-printable" => decode_qp(&joined, true),
        "base64" => decode_base64(&joined),
        _ => return body.to_vec(),
    };
    split_lines(&decoded).into_iter().map(|l| Line { text: l.text, number: l.number + first - 1 }).collect()
}

/// Quoted-printable: `=XX` is a byte; in a body, `=` at a line end joins lines.
fn decode_qp(bytes: &[u8], body: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'=' {
            if body && bytes.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            let hex = |k: usize| bytes.get(k).and_then(|c| (*c as char).to_digit(16));
            if let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2)) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

fn decode_base64(bytes: &[u8]) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in bytes {
        let Some(v) = value(c) else { continue };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The diff part of a mail body or a plain diff file.
fn parse_diff(body: &[Line], source: &str) -> Result<Patch, ParseError> {
    let err = |line: usize, msg: String| ParseError { source_name: source.to_string(), line, msg };
    let mut patch = Patch::default();
    let mut i = 0;
    // The file being described, until its hunks start or the next one does.
    let mut current: Option<FileDiff> = None;
    while i < body.len() {
        let text = &body[i].text;
        let number = body[i].number;
        if let Some(rest) = text.strip_prefix(b"diff --git ") {
            patch.files.extend(current.take());
            let (old, new) = git_diff_names(rest);
            current = Some(FileDiff { git: true, ..FileDiff::named(old, new, number) });
            i += 1;
            continue;
        }
        if text.starts_with(b"--- ") && body.get(i + 1).is_some_and(|n| n.text.starts_with(b"+++ ")) {
            let old = header_name(&text[4..]);
            let new = header_name(&body[i + 1].text[4..]);
            match current.as_mut() {
                Some(f) if f.git && f.hunks.is_empty() => {
                    f.old_name = old;
                    f.new_name = new;
                    f.prefixed = true;
                }
                _ => {
                    patch.files.extend(current.take());
                    current = Some(FileDiff::named(old, new, number));
                }
            }
            i += 2;
            continue;
        }
        if text.starts_with(b"@@ ") {
            let Some(file) = current.as_mut() else {
                return Err(err(number, "hunk outside a file's diff".into()));
            };
            let (hunk, next) = parse_hunk(body, i).map_err(|msg| err(number, msg))?;
            file.hunks.push(hunk);
            i = next;
            continue;
        }
        if let Some(f) = current.as_mut().filter(|f| f.git && f.hunks.is_empty()) {
            extended_header(f, text);
            if text.starts_with(b"GIT binary patch") {
                // Base85 data up to the next file: nothing for lockpath.
                i += 1;
                while i < body.len() && !body[i].text.starts_with(b"diff --git ") {
                    i += 1;
                }
                continue;
            }
        } else if text.starts_with(b"Binary files ") && text.ends_with(b" differ") {
            // A plain diff's binary change has no `diff --git` line.
            patch.files.extend(current.take());
            let words = String::from_utf8_lossy(&text[13..text.len() - 7]).into_owned();
            let (old, new) = words.split_once(" and ").unwrap_or((&words, &words));
            current = Some(FileDiff {
                binary: true,
                ..FileDiff::named(header_name(old.as_bytes()), header_name(new.as_bytes()), number)
            });
        } else if text.as_slice() == b"-- " && current.is_some() {
            // The signature: the diff is over.
            break;
        }
        i += 1;
    }
    patch.files.extend(current.take());
    for f in patch.files.iter().filter(|f| f.binary) {
        let name = f.new_name.as_deref().or(f.old_name.as_deref()).unwrap_or("?");
        let name = match name.split_once('/') {
            Some((prefix, rest)) if f.prefixed && f.git && (prefix == "a" || prefix == "b") => rest,
            _ => name,
        };
        patch.notes.push(format!("{name}: binary change, skipped"));
    }
    Ok(patch)
}

/// `rename from`, `new file mode`, `index`, `Binary files ... differ`, ...
fn extended_header(f: &mut FileDiff, text: &[u8]) {
    let line = String::from_utf8_lossy(text);
    let named = [
        ("rename from ", true, true),
        ("rename to ", true, false),
        ("copy from ", false, true),
        ("copy to ", false, false),
    ]
    .into_iter()
    .find_map(|(prefix, rename, old)| line.strip_prefix(prefix).map(|n| (unquote(n), rename, old)));
    if let Some((name, rename, old)) = named {
        // Both names of a rename are written without the prefix; the one
        // not yet seen comes from `diff --git` and loses its prefix too.
        if f.prefixed {
            let strip = |n: &Option<String>| n.as_ref().map(|n| n.split_once('/').map_or(n.clone(), |(_, r)| r.into()));
            f.old_name = strip(&f.old_name);
            f.new_name = strip(&f.new_name);
            f.prefixed = false;
        }
        f.rename |= rename;
        f.copy |= !rename;
        if old {
            f.old_name = Some(name);
        } else {
            f.new_name = Some(name);
        }
    } else if line.starts_with("new file mode ") {
        f.old_name = None;
    } else if line.starts_with("deleted file mode ") {
        f.new_name = None;
    } else if let Some(ids) = line.strip_prefix("index ") {
        let ids = ids.split_whitespace().next().unwrap_or("");
        f.old_blob = ids.split_once("..").map(|(old, _)| old.to_string()).filter(|o| o.bytes().any(|b| b != b'0'));
    } else if line.starts_with("GIT binary patch") || (line.starts_with("Binary files ") && line.ends_with(" differ")) {
        f.binary = true;
    }
    // `old mode`/`new mode` (a mode-only change) and `similarity index`
    // change no content lockpath reads.
}

/// `a/x b/y` from a `diff --git` line: both halves when quoted, else split
/// where the two names agree (`a/x b/x`), else at the first ` b/`.
fn git_diff_names(rest: &[u8]) -> (Option<String>, Option<String>) {
    let s = String::from_utf8_lossy(rest).into_owned();
    if s.starts_with('"') {
        if let Some((first, tail)) = split_quoted(&s) {
            let second = tail.trim_start();
            let second =
                if second.starts_with('"') { split_quoted(second).map(|(q, _)| q) } else { Some(second.into()) };
            return (Some(first), second);
        }
    }
    // Same name on both sides: the middle space is where the halves are equal.
    let bytes = s.as_bytes();
    for (k, _) in s.match_indices(' ') {
        let (a, b) = (&s[..k], &s[k + 1..]);
        let strip = |n: &str| n.split_once('/').map_or(n.to_string(), |(_, r)| r.to_string());
        if !a.is_empty() && strip(a) == strip(b) {
            return (Some(a.to_string()), Some(b.to_string()));
        }
    }
    match s.find(" b/") {
        Some(k) => (Some(s[..k].to_string()), Some(s[k + 1..].to_string())),
        None => {
            let mid = bytes.iter().position(|&c| c == b' ').unwrap_or(s.len());
            (Some(s[..mid].to_string()), Some(s.get(mid + 1..).unwrap_or("").to_string()))
        }
    }
}

/// The name on a `---`/`+++` line: unquoted, without a tab and timestamp;
/// `None` for `/dev/null`.
fn header_name(rest: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(rest);
    let name = if s.starts_with('"') {
        split_quoted(&s).map(|(q, _)| q).unwrap_or_else(|| s.to_string())
    } else {
        s.split('\t').next().unwrap_or("").trim_end().to_string()
    };
    (name != "/dev/null").then_some(name)
}

fn unquote(s: &str) -> String {
    let s = s.trim_end();
    if s.starts_with('"') {
        split_quoted(s).map(|(q, _)| q).unwrap_or_else(|| s.to_string())
    } else {
        s.to_string()
    }
}

/// A C-quoted name (`"a/t\303\251st.c"`) and what follows it.
fn split_quoted(s: &str) -> Option<(String, &str)> {
    let bytes = s.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some((String::from_utf8_lossy(&out).into_owned(), &s[i + 1..])),
            b'\\' => {
                let c = *bytes.get(i + 1)?;
                match c {
                    b'0'..=b'7' => {
                        let digits = bytes.get(i + 1..i + 4)?;
                        let v = digits.iter().try_fold(0u32, |acc, d| match d {
                            b'0'..=b'7' => Some(acc * 8 + u32::from(d - b'0')),
                            _ => None,
                        })?;
                        out.push(v as u8);
                        i += 4;
                        continue;
                    }
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'a' => out.push(7),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'r' => out.push(b'\r'),
                    b'v' => out.push(11),
                    other => out.push(other),
                }
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

/// `@@ -a[,b] +c[,d] @@ ...` and its lines, read by count: a removed line
/// `-- ` inside a hunk is not the signature. Returns the hunk and the index
/// of the line after it.
fn parse_hunk(body: &[Line], at: usize) -> Result<(Hunk, usize), String> {
    let header = String::from_utf8_lossy(&body[at].text).into_owned();
    let ranges = header.strip_prefix("@@ -").and_then(|r| r.split_once(" @@")).map(|(r, _)| r);
    let parsed = ranges.and_then(|r| {
        let (old, new) = r.split_once(" +")?;
        let (old_start, old_len) = range(old)?;
        let (new_start, new_len) = range(new)?;
        Some((old_start, old_len, new_start, new_len))
    });
    let Some((old_start, old_len, new_start, new_len)) = parsed else {
        return Err(format!("malformed hunk header `{header}`"));
    };
    let mut hunk = Hunk {
        header: header.clone(),
        old_start,
        old_len,
        new_start,
        new_len,
        lines: Vec::new(),
        line: body[at].number,
    };
    let (mut old_left, mut new_left) = (old_len, new_len);
    let mut i = at + 1;
    while old_left > 0 || new_left > 0 {
        let Some(line) = body.get(i) else {
            return Err(format!("hunk `{header}` ends early (the patch is cut short)"));
        };
        let (kind, text) = match line.text.first() {
            // A blank context line whose space a mailer removed.
            None => (b' ', Vec::new()),
            Some(&k @ (b' ' | b'-' | b'+')) => (k, line.text[1..].to_vec()),
            Some(b'\\') => {
                if let Some(last) = hunk.lines.last_mut() {
                    last.no_newline = true;
                }
                i += 1;
                continue;
            }
            Some(_) => {
                return Err(format!(
                    "hunk `{header}` ends early at line {}: {} old and {} new lines missing",
                    line.number, old_left, new_left
                ))
            }
        };
        let (uses_old, uses_new) = (kind != b'+', kind != b'-');
        if (uses_old && old_left == 0) || (uses_new && new_left == 0) {
            return Err(format!("hunk `{header}` has more lines than its header counts (line {})", line.number));
        }
        old_left -= usize::from(uses_old);
        new_left -= usize::from(uses_new);
        hunk.lines.push(HunkLine { kind, text, no_newline: false, line: line.number });
        i += 1;
    }
    // A trailing `\ No newline at end of file` belongs to the last line.
    if body.get(i).is_some_and(|l| l.text.first() == Some(&b'\\')) {
        if let Some(last) = hunk.lines.last_mut() {
            last.no_newline = true;
        }
        i += 1;
    }
    Ok((hunk, i))
}

/// `12,7` or `12` (length 1).
fn range(s: &str) -> Option<(usize, usize)> {
    match s.split_once(',') {
        Some((start, len)) => Some((start.parse().ok()?, len.parse().ok()?)),
        None => Some((s.parse().ok()?, 1)),
    }
}
