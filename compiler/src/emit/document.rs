//! One object as a YAML document: the writer behind every byte amlc outputs.
//!
//! Self-contained (std and serde_json alone): `compiler/build.rs` includes this file to
//! write the built-in CRDs' documents when amlc is compiled, with the same code a build
//! runs (`crds`).

use std::collections::BTreeMap;

use serde_json::Value;

/// One object as a YAML document (no `---`), ending in a newline.
pub fn yaml_document(v: &Value) -> String {
    let mut out = String::new();
    write_document(&mut out, v);
    out
}

fn write_document(out: &mut String, v: &Value) {
    match v {
        Value::Object(map) if !map.is_empty() => write_map(out, map, 0, false),
        Value::Array(items) if !items.is_empty() => write_list(out, items, 0),
        other => {
            write_scalar(out, other);
            out.push('\n');
        }
    }
}

// amlc writes YAML itself rather than through a serialiser, so the bytes are fixed by this
// module alone, and so every scalar is unambiguous to YAML 1.1 readers too (kubectl's
// go-yaml reads `yes`, `on`, `=` and `1:30` as non-strings): a string is written plain
// only when it cannot be read as anything else, otherwise double-quoted (JSON escapes
// are valid YAML), and multi-line strings as literal blocks.
//
// Everything is appended to one output buffer, never built in temporary strings: the
// CRDs make a build's output a few hundred kilobytes, and a fleet build writes that per
// cluster.

fn indent(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = n;
    while left > 0 {
        let step = left.min(SPACES.len());
        out.push_str(&SPACES[..step]);
        left -= step;
    }
}

/// `inline_first`: the first key goes on the current line (after a list's dash).
fn write_map(
    out: &mut String,
    map: &serde_json::Map<String, Value>,
    depth: usize,
    inline_first: bool,
) {
    // serde_json's map is usually sorted already; sort only when it is not (a map type
    // that keeps insertion order).
    if map.keys().is_sorted() {
        write_entries(out, map.iter(), depth, inline_first);
    } else {
        let sorted: BTreeMap<&String, &Value> = map.iter().collect();
        write_entries(out, sorted.into_iter(), depth, inline_first);
    }
}

fn write_entries<'a>(
    out: &mut String,
    entries: impl Iterator<Item = (&'a String, &'a Value)>,
    depth: usize,
    inline_first: bool,
) {
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 || !inline_first {
            indent(out, depth);
        }
        write_string(out, k);
        out.push(':');
        write_value(out, v, depth);
    }
}

fn write_list(out: &mut String, items: &[Value], depth: usize) {
    for item in items {
        indent(out, depth);
        out.push('-');
        match item {
            Value::Object(map) if !map.is_empty() => {
                // The first key goes on the dash's line; the rest line up under it.
                out.push(' ');
                write_map(out, map, depth + 2, true);
            }
            Value::Array(list) if !list.is_empty() => {
                out.push('\n');
                write_list(out, list, depth + 2);
            }
            other => write_inline(out, other, depth + 2),
        }
    }
}

/// After `key:`: a nested block on the next lines, or ` scalar` on this one.
fn write_value(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, depth + 2, false);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_list(out, items, depth);
        }
        other => write_inline(out, other, depth + 2),
    }
}

fn write_inline(out: &mut String, v: &Value, block_indent: usize) {
    out.push(' ');
    if let Value::String(s) = v
        && write_literal_block(out, s, block_indent)
    {
        return;
    }
    write_scalar(out, v);
    out.push('\n');
}

/// A string as a map value is written on one line (plain or double-quoted); None when it
/// would not be one line (a literal block).
pub fn inline_string(s: &str) -> Option<String> {
    if s.contains('\n') {
        return None;
    }
    let mut out = String::new();
    write_string(&mut out, s);
    Some(out)
}

fn write_scalar(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
}

/// A string as a plain scalar when nothing else can be read from it, else double-quoted.
fn write_string(out: &mut String, s: &str) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else {
        write_quoted(out, s);
    }
}

/// `s` as a JSON string (a valid YAML double-quoted scalar), exactly as serde_json writes
/// it: `"` and `\` escaped, control characters below 0x20 as `\b \t \n \f \r` or
/// `\u00XX`, everything else as is. Written straight into `out`, a run at a time: the
/// CRDs' descriptions make this the emitter's busiest path.
fn write_quoted(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\t' => "\\t",
            b'\r' => "\\r",
            0x08 => "\\b",
            0x0c => "\\f",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Words YAML 1.1 or 1.2 reads as booleans or null (compared case-insensitively).
const RESERVED: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
];

/// The longest of [`RESERVED`]: longer strings skip the comparisons.
const RESERVED_LEN: usize = 5;

/// The bytes a plain scalar may hold: ASCII letters and digits and ` ._/:@+=,-`, as
/// [`PLAIN`]; ` ` and `:` as [`PAIRED`], since `: ` and ` #` may not appear.
const PLAIN_BYTES: [u8; 256] = {
    let mut table = [0; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() {
            table[c] = PLAIN;
        }
        c += 1;
    }
    let extra = b"._/@+=,-";
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = PLAIN;
        i += 1;
    }
    table[b' ' as usize] = PAIRED;
    table[b':' as usize] = PAIRED;
    table
};

/// A byte a plain scalar may hold anywhere.
const PLAIN: u8 = 1;
/// A byte a plain scalar may hold but not as `: ` or ` #`.
const PAIRED: u8 = 2;

/// Whether the bytes are all of the plain alphabet with no `: ` or ` #` among them.
/// The alphabet has no `#`, so no ` #` either; and only the few strings holding a space
/// or a colon are searched for `: `.
fn plain_bytes(bytes: &[u8]) -> bool {
    let mut kinds = 0;
    for &c in bytes {
        let kind = PLAIN_BYTES[usize::from(c)];
        if kind == 0 {
            return false;
        }
        kinds |= kind;
    }
    kinds & PAIRED == 0 || !bytes.windows(2).any(|pair| pair == b": ")
}

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '/' || first.is_ascii_digit()) {
        return false;
    }
    if s.ends_with([' ', ':']) {
        return false;
    }
    if !plain_bytes(s.as_bytes()) {
        return false;
    }
    if s.len() <= RESERVED_LEN && RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s)) {
        return false;
    }
    // Anything number-like (ints, floats, hex, octal, 1.1's sexagesimal 1:30, 1_000) is
    // quoted; a digit-led string with another letter (100m, 2Gi, 30s) cannot be a number.
    if first.is_ascii_digit() {
        return s
            .chars()
            .any(|c| c.is_ascii_alphabetic() && !"eExXoObBaAcCdDfF".contains(c));
    }
    true
}

/// A multi-line string as a literal block (`|`, `|-` or `|+`), when it can be one;
/// false (and nothing written) when it cannot.
fn write_literal_block(out: &mut String, s: &str, block_indent: usize) -> bool {
    if !s.contains('\n')
        || s.starts_with([' ', '\n'])
        || s.chars().any(|c| c.is_control() && c != '\n')
    {
        return false;
    }
    let body = s.trim_end_matches('\n');
    out.push_str(match s.len() - body.len() {
        0 => "|-\n",
        1 => "|\n",
        _ => "|+\n",
    });
    for line in body.split('\n') {
        if !line.is_empty() {
            indent(out, block_indent);
            out.push_str(line);
        }
        out.push('\n');
    }
    // Keep-chomping: the extra trailing newlines are empty lines of the block.
    for _ in 1..(s.len() - body.len()) {
        out.push('\n');
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The plain-alphabet scan answers as its byte-by-byte statement does, for every string
    /// of up to four characters over the bytes that matter and a few longer ones.
    #[test]
    fn plain_bytes_is_its_rule() {
        fn rule(bytes: &[u8]) -> bool {
            bytes.iter().enumerate().all(|(i, &c)| {
                let next = bytes.get(i + 1).copied();
                (c.is_ascii_alphanumeric() || b" ._/:@+=,-".contains(&c))
                    && !(c == b':' && next == Some(b' '))
                    && !(c == b' ' && next == Some(b'#'))
            })
        }
        let alphabet = ["a", "1", " ", ":", "#", "/", "-", "é", "y", "\n", "x"];
        let mut strings = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = strings
                .iter()
                .filter(|s| s.len() >= strings.last().map_or(0, String::len))
                .flat_map(|s| alphabet.iter().map(move |a| format!("{s}{a}")))
                .collect();
            strings.extend(longer);
        }
        strings.extend(
            [
                "app.kubernetes.io/name: x",
                "a:b",
                "http://x:80/p",
                "run as root #1",
                "100m",
            ]
            .map(String::from),
        );
        for s in &strings {
            assert_eq!(plain_bytes(s.as_bytes()), rule(s.as_bytes()), "{s:?}");
        }
    }

    #[test]
    fn reserved_words_fit_the_length_check() {
        assert_eq!(RESERVED.iter().map(|r| r.len()).max(), Some(RESERVED_LEN));
    }

    #[test]
    fn quoting_is_serde_jsons() {
        let mut all_bytes = String::new();
        for c in (0u8..0x80).map(char::from) {
            all_bytes.push(c);
        }
        for s in [
            "",
            "plain",
            "a \"quoted\" \\ back",
            "tab\there\r\n\u{7f}\u{1}\u{1f}",
            "€ ünïcode ${x}",
            all_bytes.as_str(),
        ] {
            let mut out = String::new();
            write_quoted(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn strings_that_look_like_other_types_stay_strings() {
        let tricky = json!({
            "a": "true", "b": "1", "c": "", "d": "null", "e": "yes", "f": "On", "g": "=",
            "h": "1:30", "i": "0x1F", "j": "1e3", "k": "-v=4", "l": "a: b", "m": "x #y",
            "n": "1.1.35", "o": "*", "p": "~", "q": "<<", "r": " lead", "s": "tail:",
        });
        let out = yaml_document(&tricky);
        let back: Value = serde_yaml_ng::from_str(&out).unwrap();
        assert_eq!(back, tricky);
        for quoted in ["\"yes\"", "\"=\"", "\"1:30\"", "\"On\""] {
            assert!(out.contains(quoted), "{quoted} in {out}");
        }
    }

    #[test]
    fn plain_where_nothing_else_can_be_read() {
        let out = yaml_document(
            &json!({"cpu": "100m", "mem": "2Gi", "img": "mcr.microsoft.com/a/b:1.1.35", "s": "30s"}),
        );
        assert_eq!(
            out,
            "cpu: 100m\nimg: mcr.microsoft.com/a/b:1.1.35\nmem: 2Gi\ns: 30s\n"
        );
    }

    #[test]
    fn nested_maps_lists_and_blocks_round_trip() {
        let v = json!({
            "a": {"b": [1, {"c": "d", "e": [true, null]}, [], {}], "empty": {}},
            "block": "line one\n  indented\n\nlast\n",
            "noeol": "x\ny",
            "keep": "x\n\n",
            "list": [["a", "b"], "c\nd\n"],
        });
        let out = yaml_document(&v);
        let back: Value = serde_yaml_ng::from_str(&out).unwrap();
        assert_eq!(back, v, "{out}");
        assert!(
            out.contains("block: |\n  line one\n    indented\n\n  last\n"),
            "{out}"
        );
    }
}
