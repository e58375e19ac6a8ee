//! Output shapes (DESIGN.md, "Output shapes"): the YAML stream and the `--target dir` file
//! set with its `kustomization.yaml`. Pure: returns text and file names, writes nothing.
//!
//! Keys are sorted at every level, documents are separated by `---`, lines end in LF and
//! the text ends with one newline, so the same objects always give the same bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::Value;

use crate::manifest::Manifest;
use crate::object;

/// A copy of a value with every object's keys in sorted order, whatever map type
/// serde_json was built with.
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Compact JSON with sorted keys: the form hashed for checksums. Written straight from the
/// value, keys sorted in place: `serde_json::to_string(&sorted(v))` gives the same bytes
/// but copies the whole tree first (every Job and config is hashed on every build).
pub fn canonical_json(v: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    write_canonical(&mut out, v);
    // serde_json writes UTF-8, and keys and strings are whole `str`s.
    String::from_utf8(out).unwrap_or_default()
}

fn write_canonical(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if !map.keys().is_sorted() {
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            }
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // Strings and scalars as serde_json's compact writer writes them.
                let _ = serde_json::to_writer(&mut *out, k);
                out.push(b':');
                write_canonical(out, v);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(out, item);
            }
            out.push(b']');
        }
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

/// Bytes as lower-case hex, the way checksums and hashed names are written (one `format!`
/// per byte cost a Job's hashed name as much as half its hash).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

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

/// The YAML stream: documents separated by `---` lines.
pub fn yaml_stream(objects: &[Manifest]) -> String {
    let documents = documents(objects);
    stream_parts(&documents).concat()
}

/// Every object's YAML document, shared with the manifests (written in parallel the first
/// time): a fleet's outputs share the CRDs' documents, and keep these rather than the
/// objects or a joined copy per cluster.
pub fn documents(objects: &[Manifest]) -> Vec<Arc<str>> {
    write_documents(objects);
    objects.iter().map(|m| Arc::clone(m.document())).collect()
}

/// The YAML stream of documents in pieces (documents and `---` separators), for writing
/// without joining them first.
pub fn stream_parts(documents: &[Arc<str>]) -> Vec<&str> {
    let mut parts = Vec::with_capacity(documents.len() * 2);
    for (i, d) in documents.iter().enumerate() {
        if i > 0 {
            parts.push("---\n");
        }
        parts.push(&**d);
    }
    parts
}

/// Writes the documents not yet written, in parallel: each is a pure function of its
/// object, so the bytes do not depend on which thread wrote them.
fn write_documents(objects: &[Manifest]) {
    objects.par_iter().for_each(|m| {
        m.yaml();
    });
}

/// The kustomize-style file name of an object: `<group>_<version>_<kind>_<name>.yaml` in
/// lower case, the core group left out (`v1_service_azureml-fe.yaml`).
pub fn file_name(v: &Value, with_namespace: bool) -> String {
    let api = object::api_version(v).replace('/', "_");
    let mut name = format!("{api}_{}_{}.yaml", object::kind(v), object::name(v));
    if with_namespace && let Some(ns) = object::namespace(v) {
        name = format!("{ns}_{name}");
    }
    name.to_lowercase()
}

/// The name of the kustomization file; its `resources` list is the record of which files
/// in the folder are amlc's.
pub const KUSTOMIZATION: &str = "kustomization.yaml";

/// The `--target dir` file set: (file name, contents) in install order, then
/// `kustomization.yaml`. Objects whose plain names would collide get their namespace as a
/// prefix. Documents are shared with the manifests, as in [`documents`].
pub fn dir_files(objects: &[Manifest]) -> Vec<(String, Arc<str>)> {
    write_documents(objects);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for m in objects {
        *counts.entry(file_name(m.shape(), false)).or_default() += 1;
    }
    let mut files: Vec<(String, Arc<str>)> = objects
        .iter()
        .map(|m| {
            let plain = file_name(m.shape(), false);
            let collides = counts.get(&plain).is_some_and(|n| *n > 1);
            (file_name(m.shape(), collides), Arc::clone(m.document()))
        })
        .collect();
    let resources: Vec<Value> = files
        .iter()
        .map(|(n, _)| Value::String(n.clone()))
        .collect();
    // kustomize re-sorts resources by kind unless told to keep the listed (install) order.
    let kustomization = serde_json::json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
        "sortOptions": {"order": "fifo"},
    });
    files.push((
        KUSTOMIZATION.to_owned(),
        yaml_document(&kustomization).into(),
    ));
    files
}

/// The file names a `kustomization.yaml` lists (what an earlier run wrote).
pub fn listed_files(kustomization: &str) -> Vec<String> {
    serde_yaml_ng::from_str::<Value>(kustomization)
        .ok()
        .and_then(|v| {
            v.get("resources").and_then(Value::as_array).map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hex_is_formats_lower_case_hex() {
        let bytes: Vec<u8> = (0..=255).collect();
        let want: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&bytes), want);
        assert_eq!(hex(&[]), "");
    }

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

    /// The canonical form is serde_json's compact writing of the sorted tree, byte for byte.
    #[test]
    fn canonical_json_is_serde_jsons_of_the_sorted_tree() {
        let values = [
            json!(null),
            json!({}),
            json!([]),
            json!({"b": 1, "a": [true, false, null, -3, 18446744073709551615u64, 1.5, 1e300, -0.0]}),
            json!({"z": {"y": "quote \" backslash \\ tab \t nl \n ctl \u{1} del \u{7f}", "x": "€ é 中"}}),
            json!({"": "", "a/b": {"~": [[], {}]}, "A": "upper before lower"}),
        ];
        for v in values {
            assert_eq!(
                canonical_json(&v),
                serde_json::to_string(&sorted(&v)).unwrap(),
                "{v}"
            );
        }
    }

    #[test]
    fn the_stream_separates_documents_and_sorts_keys() {
        let out = yaml_stream(&[
            json!({"kind": "A", "apiVersion": "v1", "metadata": {"name": "a"}}).into(),
            json!({"kind": "B", "apiVersion": "v1", "metadata": {"name": "b"}}).into(),
        ]);
        assert_eq!(
            out,
            "apiVersion: v1\nkind: A\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: B\nmetadata:\n  name: b\n"
        );
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

    #[test]
    fn file_names_follow_kustomize() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "gateway", "namespace": "azureml"}});
        let s = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "azureml-fe"}});
        assert_eq!(file_name(&d, false), "apps_v1_deployment_gateway.yaml");
        assert_eq!(file_name(&s, false), "v1_service_azureml-fe.yaml");
    }

    #[test]
    fn colliding_names_get_the_namespace_prefix() {
        let a = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "x", "namespace": "azureml"}});
        let b = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "x", "namespace": "default"}});
        let c = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}});
        let files = dir_files(&[a.into(), b.into(), c.into()]);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "azureml_v1_persistentvolumeclaim_x.yaml",
                "default_v1_persistentvolumeclaim_x.yaml",
                "v1_configmap_x.yaml",
                "kustomization.yaml"
            ]
        );
        assert_eq!(listed_files(&files[3].1).len(), 3);
    }
}
