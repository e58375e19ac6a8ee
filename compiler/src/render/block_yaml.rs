//! The YAML the built-in templates write, read without libyaml: block mappings and
//! sequences (compact mappings in sequences too), plain and one-line quoted scalars,
//! one-line flow collections and literal block scalars (`|`, `|-`).
//!
//! Parsing the rendered templates was two fifths of a single build, nearly all of it in
//! libyaml's general machinery. Anything outside the subset (anchors, aliases, tags,
//! folded or keep-chomped scalars, multi-line plain, quoted or flow scalars, duplicate
//! keys, tabs, directives) gives `None`, and the caller parses the text with serde_yaml_ng
//! instead, so every text gets the values serde_yaml_ng would give it: plain scalars
//! resolve as it resolves them (YAML 1.2 core schema), and numbers other than plain
//! decimal integers are handed to it. Tests compare the two on every template of every
//! golden case and on the golden outputs.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// The non-empty documents of a YAML stream, or `None` when the text is outside the subset.
pub fn parse(text: &str) -> Option<Vec<Value>> {
    // Carriage returns, and tabs anywhere (the templates write none), are left to libyaml:
    // one scan here instead of one per line.
    if memchr::memchr2(b'\r', b'\t', text.as_bytes()).is_some() || text.starts_with('\u{feff}') {
        return None;
    }
    let mut out = Vec::new();
    let mut doc: Vec<Line> = Vec::new();
    for raw in text.split('\n') {
        if raw.starts_with("---") || raw.starts_with("...") || raw.starts_with('%') {
            // A separator line with content after it (`--- x`) is left to serde_yaml_ng.
            if raw.trim_end_matches(' ') != "---" {
                return None;
            }
            document(std::mem::take(&mut doc), &mut out)?;
            continue;
        }
        doc.push(Line::new(raw));
    }
    document(doc, &mut out)?;
    Some(out)
}

fn document(lines: Vec<Line>, out: &mut Vec<Value>) -> Option<()> {
    let mut p = Parser { lines, pos: 0 };
    let Some(indent) = p.next_content() else {
        return Some(());
    };
    let v = p.node(indent)?;
    if p.next_content().is_some() {
        return None;
    }
    if !v.is_null() {
        out.push(v);
    }
    Some(())
}

#[derive(Clone, Copy)]
struct Line<'a> {
    /// The line as written (no newline).
    raw: &'a str,
    /// Leading spaces (the whole length for a line of spaces alone).
    indent: usize,
    /// What follows the indentation, trailing spaces dropped.
    content: &'a str,
}

impl<'a> Line<'a> {
    fn new(raw: &'a str) -> Self {
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        Line {
            raw,
            indent,
            content: raw[indent..].trim_end_matches(' '),
        }
    }
}

struct Parser<'a> {
    lines: Vec<Line<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    /// Skips blank and comment lines; the indentation of the line reached, if any.
    fn next_content(&mut self) -> Option<usize> {
        while let Some(l) = self.lines.get(self.pos) {
            if !l.content.is_empty() && !l.content.starts_with('#') {
                return Some(l.indent);
            }
            self.pos += 1;
        }
        None
    }

    fn content(&self) -> &'a str {
        self.lines[self.pos].content
    }

    /// The block node starting at the current line, which is indented by `indent`.
    fn node(&mut self, indent: usize) -> Option<Value> {
        let content = self.content();
        if is_item(content) {
            self.sequence(indent)
        } else if entry(content).is_some() {
            self.mapping(indent)
        } else {
            None
        }
    }

    fn mapping(&mut self, n: usize) -> Option<Value> {
        let mut map = Map::new();
        loop {
            match self.next_content() {
                Some(i) if i == n => {}
                Some(i) if i > n => return None,
                _ => break,
            }
            let (key, rest) = entry(self.content())?;
            self.pos += 1;
            let value = self.value(rest, n, true)?;
            if map.insert(key.into_owned(), value).is_some() {
                return None;
            }
        }
        Some(Value::Object(map))
    }

    fn sequence(&mut self, d: usize) -> Option<Value> {
        let mut items = Vec::new();
        loop {
            match self.next_content() {
                Some(i) if i == d => {}
                Some(i) if i > d => return None,
                _ => break,
            }
            let content = self.content();
            if !is_item(content) {
                break;
            }
            let after = &content[1..];
            let rest = after.trim_start_matches(' ');
            if is_item(rest) {
                return None;
            }
            if !rest.is_empty() && !rest.starts_with('#') && entry(rest).is_some() {
                // A compact mapping: its first key stands where the item's content starts.
                let indent = d + 1 + (after.len() - rest.len());
                let line = &mut self.lines[self.pos];
                line.indent = indent;
                line.content = rest;
                items.push(self.mapping(indent)?);
            } else {
                self.pos += 1;
                items.push(self.value(rest, d, false)?);
            }
        }
        Some(Value::Array(items))
    }

    /// The value after `key:` (or `-`) on a line indented by `n`; `rest` is what follows
    /// on that line. A mapping's value may be a sequence at the key's own indentation.
    fn value(&mut self, rest: &'a str, n: usize, in_mapping: bool) -> Option<Value> {
        if rest.is_empty() || rest.starts_with('#') {
            return match self.next_content() {
                Some(i) if i > n => self.node(i),
                Some(i) if i == n && in_mapping && is_item(self.content()) => self.sequence(n),
                _ => Some(Value::Null),
            };
        }
        let v = if let Some(header) = rest.strip_prefix('|') {
            self.literal(header, n)?
        } else {
            inline(rest)?
        };
        // A more indented line after a scalar would continue it (or be an error).
        match self.next_content() {
            Some(i) if i > n => None,
            _ => Some(v),
        }
    }

    /// A literal block scalar whose header (after `|`) is `header`, under a line indented
    /// by `n`.
    fn literal(&mut self, header: &str, n: usize) -> Option<Value> {
        let strip = match header {
            "" => false,
            "-" => true,
            _ => return None,
        };
        let mut block: Option<usize> = None;
        let mut text: Vec<&str> = Vec::new();
        while let Some(l) = self.lines.get(self.pos) {
            if l.raw.trim_start_matches(' ').is_empty() {
                match block {
                    // Leading blank lines and lines of spaces beyond the indentation change
                    // how the indentation is found or what the text holds: left to libyaml.
                    None => return None,
                    Some(b) if l.indent > b => return None,
                    Some(_) => text.push(""),
                }
                self.pos += 1;
                continue;
            }
            let b = match block {
                None if l.indent <= n => break,
                None => *block.insert(l.indent),
                Some(b) if l.indent < b => break,
                Some(b) => b,
            };
            text.push(&l.raw[b..]);
            self.pos += 1;
        }
        block?;
        while text.last() == Some(&"") {
            text.pop();
        }
        let mut s = text.join("\n");
        if !strip {
            s.push('\n');
        }
        Some(Value::String(s))
    }
}

/// Whether a line's content is a block sequence item.
fn is_item(content: &str) -> bool {
    content == "-" || content.starts_with("- ")
}

/// A mapping entry's key and what follows `: ` on its line (left-trimmed).
fn entry(content: &str) -> Option<(Cow<'_, str>, &str)> {
    let (key, after) = if content.starts_with(['"', '\'']) {
        let (key, used) = quoted(content)?;
        (Cow::Owned(key), &content[used..])
    } else {
        let colon = content
            .match_indices(':')
            .map(|(i, _)| i)
            .find(|&i| matches!(content.as_bytes().get(i + 1), None | Some(b' ')))?;
        let key = &content[..colon];
        if !plain_key(key) {
            return None;
        }
        (Cow::Borrowed(key), &content[colon..])
    };
    let rest = after.strip_prefix(':')?;
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((key, rest.trim_start_matches(' ')))
}

/// A plain key that reads as the same string in every schema: starts with a letter, `_`
/// or `.`, holds no indicator, and is no null or boolean word.
fn plain_key(key: &str) -> bool {
    let b = key.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_' || b[0] == b'.')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'/'))
        && !is_keyword(key)
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
    )
}

/// A value written on its key's (or dash's) line: a quoted scalar, a flow collection or a
/// plain scalar, with an optional comment after it.
fn inline(rest: &str) -> Option<Value> {
    match rest.as_bytes()[0] {
        b'"' | b'\'' => {
            let (s, used) = quoted(rest)?;
            end_of_line(&rest[used..])?;
            Some(Value::String(s))
        }
        b'[' | b'{' => {
            let mut f = Flow { s: rest, i: 0 };
            let v = f.value()?;
            end_of_line(&rest[f.i..])?;
            Some(v)
        }
        _ => {
            let s = match rest.find(" #") {
                Some(i) => rest[..i].trim_end_matches(' '),
                None => rest,
            };
            if s.contains(": ") || s.ends_with(':') || !plain_start(s) {
                return None;
            }
            resolve(s)
        }
    }
}

/// Nothing but spaces and a comment.
fn end_of_line(rest: &str) -> Option<()> {
    let t = rest.trim_start_matches(' ');
    (t.is_empty() || (t.starts_with('#') && t.len() < rest.len())).then_some(())
}

/// Whether a plain scalar may start so: not with an indicator (`-` only before a
/// non-space, as in `--flag`).
fn plain_start(s: &str) -> bool {
    match s.as_bytes() {
        [] => false,
        [b'-', next, ..] => *next != b' ',
        [b'-'] => false,
        [c, ..] => !b"?:,[]{}#&*!|>'\"%@`".contains(c),
    }
}

/// A plain scalar's value, as serde_yaml_ng resolves it.
fn resolve(s: &str) -> Option<Value> {
    match s {
        "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let b = s.as_bytes();
    if !(b[0].is_ascii_digit() || matches!(b[0], b'-' | b'+' | b'.')) {
        // Starting with a letter, only the words above read as other than a string
        // (`inf` and `nan` parse as floats but not finite ones, which stay strings).
        return Some(Value::String(s.to_owned()));
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|c| c.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && s != "-0"
    {
        return Some(match s.strip_prefix('-') {
            Some(_) => Value::from(s.parse::<i64>().ok()?),
            None => Value::from(s.parse::<u64>().ok()?),
        });
    }
    if b.iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.' | b'_'))
    {
        // Octal, hexadecimal, floats, leading zeros: serde_yaml_ng's own rules.
        return serde_yaml_ng::from_str(s).ok();
    }
    // Any other character makes it no number.
    Some(Value::String(s.to_owned()))
}

/// A quoted scalar at the start of `s` (one line), and the bytes it used.
fn quoted(s: &str) -> Option<(String, usize)> {
    let bytes = s.as_bytes();
    let q = bytes[0];
    let mut out = String::new();
    let mut i = 1;
    let mut start = 1;
    while i < bytes.len() {
        let c = bytes[i];
        if q == b'\'' && c == b'\'' {
            out.push_str(&s[start..i]);
            if bytes.get(i + 1) == Some(&b'\'') {
                out.push('\'');
                i += 2;
                start = i;
                continue;
            }
            return Some((out, i + 1));
        }
        if q == b'"' && c == b'"' {
            out.push_str(&s[start..i]);
            return Some((out, i + 1));
        }
        if q == b'"' && c == b'\\' {
            out.push_str(&s[start..i]);
            out.push(match bytes.get(i + 1)? {
                b'\\' => '\\',
                b'"' => '"',
                b'/' => '/',
                b'n' => '\n',
                b't' => '\t',
                _ => return None,
            });
            i += 2;
            start = i;
            continue;
        }
        i += 1;
    }
    // Not closed on this line: a multi-line scalar.
    None
}

/// A flow collection on one line.
struct Flow<'a> {
    s: &'a str,
    i: usize,
}

impl Flow<'_> {
    fn spaces(&mut self) {
        while self.s.as_bytes().get(self.i) == Some(&b' ') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn value(&mut self) -> Option<Value> {
        self.spaces();
        match self.peek()? {
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.spaces();
                    if self.peek()? == b']' {
                        self.i += 1;
                        return Some(Value::Array(items));
                    }
                    items.push(self.value()?);
                    self.spaces();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {}
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.i += 1;
                let mut map = Map::new();
                loop {
                    self.spaces();
                    if self.peek()? == b'}' {
                        self.i += 1;
                        return Some(Value::Object(map));
                    }
                    let key = match self.value()? {
                        Value::String(k) if !is_keyword(&k) => k,
                        _ => return None,
                    };
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.i += 1;
                    let value = self.value()?;
                    if map.insert(key, value).is_some() {
                        return None;
                    }
                    self.spaces();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {}
                        _ => return None,
                    }
                }
            }
            b'"' | b'\'' => {
                let (s, used) = quoted(&self.s[self.i..])?;
                self.i += used;
                Some(Value::String(s))
            }
            _ => {
                // A plain scalar ends at a flow indicator or at `:` before a space or one.
                let rest = &self.s[self.i..];
                let bytes = rest.as_bytes();
                let mut end = 0;
                while end < bytes.len() {
                    match bytes[end] {
                        b',' | b'[' | b']' | b'{' | b'}' | b'#' => break,
                        b':' if matches!(
                            bytes.get(end + 1),
                            None | Some(b' ' | b',' | b']' | b'}')
                        ) =>
                        {
                            break;
                        }
                        _ => end += 1,
                    }
                }
                let s = rest[..end].trim_end_matches(' ');
                if !plain_start(s) {
                    return None;
                }
                self.i += end;
                resolve(s)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    fn libyaml(text: &str) -> Vec<Value> {
        serde_yaml_ng::Deserializer::from_str(text)
            .map(|d| Value::deserialize(d).unwrap())
            .filter(|v| !v.is_null())
            .collect()
    }

    /// Parsed by the subset, and the same as serde_yaml_ng.
    fn same(text: &str) {
        let fast = parse(text).unwrap_or_else(|| panic!("outside the subset: {text:?}"));
        assert_eq!(fast, libyaml(text), "{text:?}");
    }

    fn outside(text: &str) {
        assert_eq!(parse(text), None, "{text:?}");
    }

    #[test]
    fn block_collections_as_templates_write_them() {
        same("a: 1\nb:\n  c: x\n  d:\n  - 1\n  - two\n  e: [a, 'b', \"c\"]\n");
        same(
            "containers:\n- name: a\n  args:\n    - --x=1\n    - -v\n- name: b\n  ports: []\nz: {}\n",
        );
        same("---\n# only a comment\n---\napiVersion: v1\nkind: X\n---\n\n");
        same("a:\n  - b: 1\n    c:\n      - d\n  -\n    e: f\n  - g\n");
        same("m: {a: 1, b: \"x y\", c: [1, 2]}\nq: 'it''s'\nu: http://x:80/p\nv: a#b # comment\n");
    }

    #[test]
    fn scalars_resolve_as_serde_yaml_ng_resolves_them() {
        for s in [
            "0",
            "7",
            "-3",
            "010",
            "0x1f",
            "0o17",
            "1.5",
            "1e3",
            ".5",
            "-.inf",
            ".nan",
            "+1",
            "1_000",
            "1.1.35",
            "-0",
            "~",
            "null",
            "NULL",
            "True",
            "FALSE",
            "yes",
            "no",
            "inf",
            "nan",
            "5m",
            "100Mi",
            "123456789012345678",
            "a b",
            "-x",
            "--flag=1",
            "a:b",
            "'q'",
            "\"d\\n\\\"e\\/\"",
        ] {
            same(&format!("k: {s}\n"));
            same(&format!("- {s}\n"));
        }
    }

    #[test]
    fn literal_block_scalars() {
        same("a: |\n  line 1\n\n    indented\n  # not a comment\nb: x\n");
        same("a: |-\n  one\n  two\n\n\nb: |\n  last\n\n");
        same("- |\n  item\n- x\n");
        same("a:\n  b: |\n    deep\n  c: 1\n");
    }

    #[test]
    fn outside_the_subset_is_left_to_serde_yaml_ng() {
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: >\n  folded\n",
            "a: |+\n  keep\n",
            "a: |2\n   x\n",
            "a: plain\n  continued\n",
            "a: \"open\n  quote\"\n",
            "a: [1,\n  2]\n",
            "a: 1\na: 2\n",
            "a:\t1\n",
            "%YAML 1.2\n---\na: 1\n",
            "--- a\n",
            "just a scalar\n",
            "a: b: c\n",
            "? complex\n: key\n",
            "- - nested\n",
            "1: number key\n",
            "a: \"\\u00e9\"\n",
            "a: |\n\n  leading blank\n",
            // serde_json holds no integer this large; serde_yaml_ng says so.
            "a: 18446744073709551616\n",
            "a:\r\n  b: 1\r\n",
        ] {
            outside(text);
        }
    }

    #[test]
    fn malformed_text_is_never_accepted() {
        // What libyaml refuses, the subset refuses too (it never invents a value).
        for text in [
            "a: 1\n b: 2\n",
            "a:\n  - 1\n  b: 2\n",
            "- a\nb: 1\n",
            "a: [1, 2\n",
            "a: 'x\n",
        ] {
            assert!(
                serde_yaml_ng::Deserializer::from_str(text)
                    .map(Value::deserialize)
                    .any(|r| r.is_err())
            );
            outside(text);
        }
    }
}
