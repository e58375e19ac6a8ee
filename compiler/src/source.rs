//! Reads a config's text into a JSON tree plus the position of every node, so later
//! stages can point at `file:line:column`. It only parses: it knows nothing of the schema.
//!
//! It is deliberately strict and bounded. It refuses what a config never needs and what
//! could hurt: several documents, duplicate keys, tabs in indentation, tags, complex keys,
//! anchors whose aliases expand past [`MAX_NODES`] nodes (billion laughs) and nesting past
//! [`MAX_DEPTH`]. The tree is built with an explicit stack, never by recursion, so no input
//! can overflow the call stack.

use std::collections::BTreeMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YamlSpan};
use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Source, Span};

/// Largest config accepted. Real configs are a few kilobytes.
pub const MAX_BYTES: usize = 1024 * 1024;
/// Deepest nesting accepted. The contract nests at most five levels.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a document may expand to, counting every alias expansion.
pub const MAX_NODES: usize = 100_000;

/// A parsed config: its JSON tree and where each node came from.
#[derive(Debug, Clone)]
pub struct Document {
    pub source: Source,
    pub value: Value,
    /// JSON Pointer of every node written in the file (not inside alias expansions).
    pub spans: BTreeMap<String, NodeSpans>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeSpans {
    /// The mapping key that names this node, if it is a mapping value.
    pub key: Option<Span>,
    pub value: Span,
}

impl Document {
    /// The span of the value at a JSON Pointer, or of its nearest written ancestor.
    pub fn value_span(&self, pointer: &str) -> Span {
        self.nearest(pointer).value
    }

    /// The span of the key naming the node at a pointer (falls back to the value).
    pub fn key_span(&self, pointer: &str) -> Span {
        let n = self.nearest(pointer);
        n.key.unwrap_or(n.value)
    }

    /// Whether the node at this pointer was written in the file.
    pub fn has(&self, pointer: &str) -> bool {
        self.spans.contains_key(pointer)
    }

    fn nearest(&self, pointer: &str) -> NodeSpans {
        let mut p = pointer;
        loop {
            if let Some(s) = self.spans.get(p) {
                return *s;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => {
                    return NodeSpans {
                        key: None,
                        value: self.source.span(0, 0),
                    };
                }
            }
        }
    }
}

/// Escapes one JSON Pointer segment (RFC 6901).
pub fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Decodes file bytes as UTF-8, pointing at the first invalid byte otherwise.
pub fn decode(name: &str, bytes: Vec<u8>) -> Result<Source, Diagnostic> {
    if bytes.len() > MAX_BYTES {
        return Err(Diagnostic::error(
            "amlc::source::too-large",
            format!(
                "{name} is {} bytes; a config may be at most {MAX_BYTES} bytes",
                bytes.len()
            ),
        )
        .in_source(&Source::new(name, ""))
        .with_help("a config describes one cluster in a few kilobytes; is this the right file?"));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Source::new(
            name,
            text.strip_prefix('\u{feff}').unwrap_or(&text),
        )),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let source = Source::new(name, lossy);
            // The lossy text has the same bytes up to `at`.
            let span = source.span(at, 1);
            Err(Diagnostic::error(
                "amlc::source::not-utf8",
                format!("{name} is not valid UTF-8"),
            )
            .at(&source, span, "invalid byte here")
            .with_help("save the config as UTF-8"))
        }
    }
}

/// Parses a config's text into a [`Document`], or every problem that stops it.
pub fn parse(source: &Source) -> Result<Document, Vec<Diagnostic>> {
    if let Some(d) = find_tab_indent(source) {
        return Err(vec![d]);
    }
    Builder::new(source).run()
}

/// Tabs in indentation are invalid YAML; saying so directly beats a parser's
/// "found character that cannot start any token".
fn find_tab_indent(source: &Source) -> Option<Diagnostic> {
    let mut offset = 0;
    for line in source.text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        if let Some(i) = line[..indent].find('\t') {
            let span = source.span(offset + i, 1);
            return Some(
                Diagnostic::error("amlc::source::tab-indent", "tab character in indentation")
                    .at(source, span, "tab here")
                    .with_help("YAML indents with spaces only; replace the tab with spaces"),
            );
        }
        offset += line.len();
    }
    None
}

enum Frame {
    Map {
        map: Map<String, Value>,
        /// Key spans already seen, for duplicate detection.
        keys: BTreeMap<String, Span>,
        pending_key: Option<(String, Span)>,
        pointer: String,
        start: usize,
        anchor: usize,
        nodes: usize,
    },
    Seq {
        items: Vec<Value>,
        pointer: String,
        start: usize,
        anchor: usize,
        nodes: usize,
    },
}

struct Builder<'a> {
    source: &'a Source,
    /// Byte offset of each character, when the text is not ASCII (the parser counts characters).
    char_bytes: Option<Vec<usize>>,
    stack: Vec<Frame>,
    anchors: BTreeMap<usize, (Value, usize)>,
    spans: BTreeMap<String, NodeSpans>,
    total_nodes: usize,
    root: Option<Value>,
    documents: usize,
}

impl<'a> Builder<'a> {
    fn new(source: &'a Source) -> Self {
        let char_bytes = (!source.text.is_ascii()).then(|| {
            let mut v: Vec<usize> = source.text.char_indices().map(|(i, _)| i).collect();
            v.push(source.text.len());
            v
        });
        Builder {
            source,
            char_bytes,
            stack: Vec::new(),
            anchors: BTreeMap::new(),
            spans: BTreeMap::new(),
            total_nodes: 0,
            root: None,
            documents: 0,
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.char_bytes {
            Some(v) => v.get(char_index).copied().unwrap_or(self.source.text.len()),
            None => char_index.min(self.source.text.len()),
        }
    }

    fn span(&self, s: &YamlSpan) -> Span {
        let start = self.byte(s.start.index());
        let end = self.byte(s.end.index()).max(start);
        self.source.span(start, end - start)
    }

    fn span_from(&self, start: usize, end: &YamlSpan) -> Span {
        let end = self.byte(end.end.index()).max(start);
        self.source.span(start, end - start)
    }

    fn err(
        &self,
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: &str,
    ) -> Vec<Diagnostic> {
        vec![Diagnostic::error(code, message).at(self.source, span, label)]
    }

    fn run(mut self) -> Result<Document, Vec<Diagnostic>> {
        let mut parser = Parser::new_from_str(&self.source.text);
        loop {
            let (event, yspan) = match parser.next_event() {
                None => break,
                Some(Ok(e)) => e,
                Some(Err(e)) => {
                    let m = e.marker();
                    let mut span = self.source.span(self.byte(m.index()), 1);
                    // The scanner bounds flow nesting itself (deeper than our limit, and it
                    // reads ahead): say so in our words, at the bracket that passed our limit.
                    if e.info().contains("recursion limit") {
                        if let Some(at) = deep_flow_bracket(&self.source.text) {
                            span = self.source.span(at, 1);
                        }
                        return Err(vec![
                            Diagnostic::error(
                                "amlc::source::too-deep",
                                format!("the config nests deeper than {MAX_DEPTH} levels"),
                            )
                            .at(self.source, span, "too deep here")
                            .with_help(
                                "an amlc config nests at most five levels; is this the right file?",
                            ),
                        ]);
                    }
                    return Err(self.err(
                        "amlc::source::syntax",
                        format!("not valid YAML: {}", e.info()),
                        span,
                        "here",
                    ));
                }
            };
            match event {
                Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
                Event::DocumentStart(_) => {
                    self.documents += 1;
                    if self.documents > 1 {
                        let span = self.span(&yspan);
                        return Err(vec![Diagnostic::error(
                            "amlc::source::several-documents",
                            "the config holds more than one YAML document",
                        )
                        .at(self.source, span, "a second document starts here")
                        .with_help("one file configures one cluster: split the documents into separate files and pass each with -c")]);
                    }
                }
                Event::Alias(id) => {
                    let span = self.span(&yspan);
                    let Some((value, count)) = self.anchors.get(&id).cloned() else {
                        return Err(self.err(
                            "amlc::source::syntax",
                            "alias to an unknown anchor",
                            span,
                            "here",
                        ));
                    };
                    self.count(count, span)?;
                    self.add(value, count, span)?;
                }
                Event::Scalar(text, style, anchor, tag) => {
                    let span = self.span(&yspan);
                    let value = self.scalar(&text, style, tag.as_deref(), span)?;
                    if self.key_expected() {
                        self.set_key(value, span)?;
                        continue;
                    }
                    self.count(1, span)?;
                    if anchor > 0 {
                        self.anchors.insert(anchor, (value.clone(), 1));
                    }
                    self.add(value, 1, span)?;
                }
                Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                    let span = self.span(&yspan);
                    if tag.is_some() {
                        return Err(self.unsupported_tag(span));
                    }
                    if self.key_expected() {
                        return Err(self.err(
                            "amlc::source::complex-key",
                            "a mapping key must be a plain value, not a list or mapping",
                            span,
                            "complex key",
                        ));
                    }
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(vec![
                            Diagnostic::error(
                                "amlc::source::too-deep",
                                format!("the config nests deeper than {MAX_DEPTH} levels"),
                            )
                            .at(self.source, span, "too deep here")
                            .with_help(
                                "an amlc config nests at most five levels; is this the right file?",
                            ),
                        ]);
                    }
                    self.count(1, span)?;
                    let pointer = self.child_pointer();
                    let is_map = matches!(event, Event::MappingStart(..));
                    let start = span.offset;
                    self.stack.push(if is_map {
                        Frame::Map {
                            map: Map::new(),
                            keys: BTreeMap::new(),
                            pending_key: None,
                            pointer,
                            start,
                            anchor,
                            nodes: 1,
                        }
                    } else {
                        Frame::Seq {
                            items: Vec::new(),
                            pointer,
                            start,
                            anchor,
                            nodes: 1,
                        }
                    });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let Some(frame) = self.stack.pop() else {
                        continue;
                    };
                    let (value, start, anchor, nodes) = match frame {
                        Frame::Map {
                            map,
                            start,
                            anchor,
                            nodes,
                            ..
                        } => (Value::Object(map), start, anchor, nodes),
                        Frame::Seq {
                            items,
                            start,
                            anchor,
                            nodes,
                            ..
                        } => (Value::Array(items), start, anchor, nodes),
                    };
                    let span = self.span_from(start, &yspan);
                    if anchor > 0 {
                        self.anchors.insert(anchor, (value.clone(), nodes));
                    }
                    self.add(value, nodes, span)?;
                }
            }
        }
        let whole = self.source.span(0, self.source.text.len());
        match self.root.take() {
            None | Some(Value::Null) => Err(vec![Diagnostic::error(
                "amlc::source::empty",
                format!("{} is empty", self.source.name),
            )
            .in_source(self.source)
            .with_help("a config needs at least `apiVersion: amlc/v1`, `kind: ExtensionConfig` and `cluster.type`; `amlc init` writes a starter")]),
            Some(value @ Value::Object(_)) => Ok(Document {
                source: self.source.clone(),
                value,
                spans: self.spans,
            }),
            Some(other) => {
                let span = self.spans.get("").map_or(whole, |s| s.value);
                Err(vec![Diagnostic::error(
                    "amlc::source::root-not-mapping",
                    format!("the config must be a mapping, found {}", kind_name(&other)),
                )
                .at(self.source, span, "expected `key: value` pairs")
                .with_help("start the file with `apiVersion: amlc/v1`")])
            }
        }
    }

    fn count(&mut self, n: usize, span: Span) -> Result<(), Vec<Diagnostic>> {
        self.total_nodes = self.total_nodes.saturating_add(n);
        if self.total_nodes > MAX_NODES {
            return Err(vec![Diagnostic::error(
                "amlc::source::too-many-nodes",
                format!("the config expands to more than {MAX_NODES} values (anchors and aliases count each time they are used)"),
            )
            .at(self.source, span, "the limit is passed here")
            .with_help("a config has a few dozen values; remove the alias chain")]);
        }
        Ok(())
    }

    fn unsupported_tag(&self, span: Span) -> Vec<Diagnostic> {
        vec![
            Diagnostic::error(
                "amlc::source::tag",
                "YAML tags are not supported in a config",
            )
            .at(self.source, span, "tagged value")
            .with_help("remove the tag; quote a value to make it a string"),
        ]
    }

    fn key_expected(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Map {
                pending_key: None,
                ..
            })
        )
    }

    fn set_key(&mut self, key: Value, span: Span) -> Result<(), Vec<Diagnostic>> {
        let key = match key {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let source = self.source;
        if let Some(Frame::Map {
            keys, pending_key, ..
        }) = self.stack.last_mut()
        {
            if let Some(first) = keys.get(&key) {
                return Err(vec![
                    Diagnostic::error(
                        "amlc::source::duplicate-key",
                        format!("duplicate key `{key}`"),
                    )
                    .at(source, span, "repeated here")
                    .also(*first, "first defined here")
                    .with_help(
                        "YAML keeps only one of them; delete one so the config says what it means",
                    ),
                ]);
            }
            keys.insert(key.clone(), span);
            *pending_key = Some((key, span));
        }
        Ok(())
    }

    /// The pointer of the node about to be added under the current top frame.
    fn child_pointer(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Map {
                pointer,
                pending_key,
                ..
            }) => {
                let key = pending_key.as_ref().map_or("", |(k, _)| k.as_str());
                format!("{pointer}/{}", escape_pointer(key))
            }
            Some(Frame::Seq { pointer, items, .. }) => format!("{pointer}/{}", items.len()),
        }
    }

    fn add(&mut self, value: Value, nodes: usize, span: Span) -> Result<(), Vec<Diagnostic>> {
        let pointer = self.child_pointer();
        match self.stack.last_mut() {
            None => {
                self.spans.insert(
                    pointer,
                    NodeSpans {
                        key: None,
                        value: span,
                    },
                );
                self.root = Some(value);
            }
            Some(Frame::Map {
                map,
                pending_key,
                nodes: n,
                ..
            }) => {
                let (key, key_span) = pending_key.take().unwrap_or_default();
                *n += nodes;
                self.spans.insert(
                    pointer,
                    NodeSpans {
                        key: Some(key_span),
                        value: span,
                    },
                );
                map.insert(key, value);
            }
            Some(Frame::Seq {
                items, nodes: n, ..
            }) => {
                *n += nodes;
                self.spans.insert(
                    pointer,
                    NodeSpans {
                        key: None,
                        value: span,
                    },
                );
                items.push(value);
            }
        }
        Ok(())
    }

    fn scalar(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&saphyr_parser::Tag>,
        span: Span,
    ) -> Result<Value, Vec<Diagnostic>> {
        if let Some(tag) = tag {
            // The core schema's `!!str` is common enough to honour; others are refused.
            if tag.handle == "tag:yaml.org,2002:" && tag.suffix == "str" {
                return Ok(Value::String(text.to_owned()));
            }
            return Err(self.unsupported_tag(span));
        }
        if style != ScalarStyle::Plain {
            return Ok(Value::String(text.to_owned()));
        }
        Ok(resolve_plain(text))
    }
}

/// Byte offset of the first `[` or `{` that nests flow collections [`MAX_DEPTH`] deep,
/// skipping quoted text and comments. Used only to place the error after the parser has
/// already refused the nesting, so its approximations cannot reject a valid file.
fn deep_flow_bracket(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut prev = '\n';
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    // '' inside a single-quoted scalar is an escaped quote.
                    if q == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') {
                        chars.next();
                    } else {
                        quote = None;
                    }
                } else if c == '\\' && q == '"' {
                    chars.next();
                }
            }
            None => match c {
                '#' if prev.is_whitespace() => {
                    for (_, n) in chars.by_ref() {
                        if n == '\n' {
                            break;
                        }
                    }
                }
                '"' | '\'' if matches!(prev, '[' | '{' | ',' | ':' | ' ' | '\n') => quote = Some(c),
                '[' | '{' => {
                    depth += 1;
                    if depth >= MAX_DEPTH {
                        return Some(i);
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        prev = c;
    }
    None
}

/// Resolves a plain scalar by the YAML 1.2 core schema.
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = text.parse::<i64>()
    {
        return Value::from(i);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::from(i);
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::from(i);
    }
    if is_float(text)
        && let Some(n) = text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(text.to_owned())
}

fn is_float(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], Some(&mantissa[i + 1..])),
        None => (mantissa, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = all_digits(int)
        && frac.is_none_or(all_digits)
        && !(int.is_empty() && frac.is_none_or(str::is_empty));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok && (frac.is_some() || exponent.is_some())
}

/// "a string", "a list", ... for messages.
pub fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_str(text: &str) -> Result<Document, Vec<Diagnostic>> {
        parse(&Source::new("t.yaml", text))
    }

    fn code(text: &str) -> &'static str {
        parse_str(text).unwrap_err()[0].code
    }

    #[test]
    fn builds_the_tree_with_core_schema_scalars() {
        let d = parse_str("a: 1\nb: true\nc: \"1\"\nd: [x, 1.5]\ne: ~\nf: 0x10\n").unwrap();
        assert_eq!(
            d.value,
            json!({"a": 1, "b": true, "c": "1", "d": ["x", 1.5], "e": null, "f": 16})
        );
    }

    #[test]
    fn records_key_and_value_positions() {
        let d = parse_str("cluster:\n  type: akss\n").unwrap();
        let s = d.spans["/cluster/type"];
        assert_eq!((s.key.unwrap().line, s.key.unwrap().column), (2, 3));
        assert_eq!((s.value.line, s.value.column), (2, 9));
    }

    #[test]
    fn positions_count_characters_after_non_ascii_text() {
        let d = parse_str("# é\na: ü\nb: x\n").unwrap();
        assert_eq!(
            (d.spans["/b"].value.line, d.spans["/b"].value.column),
            (3, 4)
        );
    }

    #[test]
    fn rejects_what_a_config_never_needs() {
        assert_eq!(code("a: 1\na: 2\n"), "amlc::source::duplicate-key");
        assert_eq!(code("a: 1\n---\nb: 2\n"), "amlc::source::several-documents");
        assert_eq!(code("- a\n"), "amlc::source::root-not-mapping");
        assert_eq!(code(""), "amlc::source::empty");
        assert_eq!(code("a:\n\tb: 1\n"), "amlc::source::tab-indent");
        assert_eq!(code("a: !custom 1\n"), "amlc::source::tag");
        assert_eq!(code("? [a]\n: 1\n"), "amlc::source::complex-key");
        assert_eq!(code("a: [1\n"), "amlc::source::syntax");
    }

    #[test]
    fn alias_bomb_stops_at_the_node_limit() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = format!("*a{}", i - 1);
            s.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        assert_eq!(code(&s), "amlc::source::too-many-nodes");
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let s = format!("a: {}{}\n", "[".repeat(20_000), "]".repeat(20_000));
        assert_eq!(code(&s), "amlc::source::too-deep");
        let s = format!("a: {}1{}\n", "{b: ".repeat(20_000), "}".repeat(20_000));
        assert_eq!(code(&s), "amlc::source::too-deep");
    }

    #[test]
    fn invalid_utf8_points_at_the_first_bad_byte() {
        let d = decode("x.yaml", b"a: 1\nb: \xff\n".to_vec()).unwrap_err();
        assert_eq!(d.code, "amlc::source::not-utf8");
        assert_eq!(d.primary.unwrap().span.line, 2);
    }

    #[test]
    fn float_detection_follows_the_core_schema() {
        assert!(is_float("1.5") && is_float("-2e3") && is_float(".5"));
        assert!(!is_float("1") && !is_float("1.2.3") && !is_float("e3") && !is_float("."));
        assert_eq!(resolve_plain("1.30"), json!(1.3));
        assert_eq!(resolve_plain("1.1.35"), json!("1.1.35"));
    }
}
