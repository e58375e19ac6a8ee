//! Checks a parsed config against `schemas/amlc.schema.json` and turns each JSON Schema
//! error into a located diagnostic: an unknown field points at its key, anything else at
//! its value; messages say what was found, what was expected, and suggest a fix.
//!
//! It does not know the semantic rules (see `rules`); it only knows the schema.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use crate::diagnostic::{Diagnostic, suggest};
use crate::source::{Document, escape_pointer, kind_name};

/// The schema as JSON (parsed once).
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str(crate::embedded::schema_text())
            .expect("the embedded schema is valid JSON (a test proves it)")
    })
}

/// The schema's validator, generated from `schemas/amlc.schema.json` when amlc is built:
/// compiling it at run time (and checking it against the JSON Schema meta-schema first)
/// was a fifth of a build.
#[jsonschema::validator(path = "schemas/amlc.schema.json")]
struct ConfigSchema;

/// Every schema violation of a document, located.
pub fn check(doc: &Document) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for error in ConfigSchema::iter_errors(&doc.value) {
        let pointer = error.instance_path().as_str().to_owned();
        describe(doc, &pointer, error.kind(), &mut out);
    }
    out
}

/// A key of the object at `pointer` that its `propertyNames` rejects, located at the key.
fn invalid_key(doc: &Document, pointer: &str, key: &str) -> Diagnostic {
    let child = format!("{pointer}/{}", escape_pointer(key));
    Diagnostic::error(
        "amlc::schema::invalid-key",
        format!("`{key}` is not a valid key in {}", display_path(pointer)),
    )
    .at(&doc.source, doc.key_span(&child), "not a valid Kubernetes label key")
    .with_help("label keys are an optional DNS-subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'")
    .with_path(child)
}

/// Whether `key` meets a `propertyNames` schema's `pattern`, `minLength` and `maxLength`
/// (the keywords the config schema uses there); true when there is none.
fn fits_names(names: Option<&Value>, key: &str) -> bool {
    let Some(names) = names else {
        return true;
    };
    let length = key.chars().count() as u64;
    let pattern_ok = names
        .get("pattern")
        .and_then(Value::as_str)
        .and_then(|p| regex::Regex::new(p).ok())
        .is_none_or(|re| re.is_match(key));
    pattern_ok
        && names
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_none_or(|max| length <= max)
        && names
            .get("minLength")
            .and_then(Value::as_u64)
            .is_none_or(|min| length >= min)
}

/// A readable name for a config path: `/taints/effect` -> `taints.effect`.
pub fn display_path(pointer: &str) -> String {
    if pointer.is_empty() {
        return "the config".into();
    }
    let mut s = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.parse::<usize>().is_ok() {
            s.push_str(&format!("[{seg}]"));
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(&seg);
        }
    }
    s
}

fn describe(doc: &Document, pointer: &str, kind: &ValidationErrorKind, out: &mut Vec<Diagnostic>) {
    let node = schema_at(pointer);
    let here = display_path(pointer);
    let value = doc.value.pointer(pointer).unwrap_or(&Value::Null);
    let value_span = doc.value_span(pointer);
    let src = &doc.source;
    // The generated validator reports a key that fails `propertyNames` as a string
    // keyword's error on the object itself; report each such key, at the key.
    let string_keyword = matches!(
        kind,
        ValidationErrorKind::Pattern { .. }
            | ValidationErrorKind::MaxLength { .. }
            | ValidationErrorKind::MinLength { .. }
    );
    if string_keyword && let Value::Object(map) = value {
        let names = node.as_ref().and_then(|n| n.get("propertyNames"));
        let bad: Vec<&String> = map.keys().filter(|k| !fits_names(names, k)).collect();
        if !bad.is_empty() {
            out.extend(bad.into_iter().map(|k| invalid_key(doc, pointer, k)));
            return;
        }
    }
    let d = match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let known: Vec<&str> = node
                .as_ref()
                .and_then(|n| n.get("properties"))
                .and_then(Value::as_object)
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            for field in unexpected {
                let child = format!("{pointer}/{}", escape_pointer(field));
                let mut d = Diagnostic::error(
                    "amlc::schema::unknown-field",
                    format!("unknown field `{field}` in {here}"),
                )
                .at(src, doc.key_span(&child), "not a field of amlc.yaml")
                .with_path(child);
                d = d.with_help(match suggest(field, known.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`? fields here: {}", known.join(", ")),
                    None => format!("fields here: {}", known.join(", ")),
                });
                out.push(d);
            }
            return;
        }
        ValidationErrorKind::Enum { options } => {
            let allowed: Vec<String> = options
                .as_array()
                .map(|a| a.iter().map(plain).collect())
                .unwrap_or_default();
            let found = plain(value);
            let mut help = format!("allowed values: {}", allowed.join(", "));
            if let Some(s) = suggest_value(&found, &allowed) {
                help = format!("did you mean `{s}`? {help}");
            }
            if pointer.starts_with("/warnings/ignore/") {
                help.push_str(
                    "; only these warnings can be acknowledged, and errors must be fixed",
                );
            }
            // A long list is in the help already; the label stays one line.
            let label = if allowed.len() <= 6 {
                format!("expected one of: {}", allowed.join(", "))
            } else {
                "not one of the allowed values".to_owned()
            };
            Diagnostic::error(
                "amlc::schema::invalid-value",
                format!("`{found}` is not a valid value for {here}"),
            )
            .at(src, value_span, label)
            .with_help(help)
        }
        ValidationErrorKind::Constant { expected_value } => {
            let expected = plain(expected_value);
            Diagnostic::error(
                "amlc::schema::invalid-value",
                format!("{here} must be `{expected}`, found `{}`", plain(value)),
            )
            .at(src, value_span, format!("expected `{expected}`"))
            .with_help(format!("write `{}: {expected}`", last_segment(pointer)))
        }
        ValidationErrorKind::Type { .. } => {
            let expected = node
                .as_ref()
                .and_then(|n| n.get("type"))
                .and_then(Value::as_str)
                .map_or("another type", type_phrase);
            let mut d = Diagnostic::error(
                "amlc::schema::wrong-type",
                format!("{here} must be {expected}, found {}", kind_name(value)),
            )
            .at(src, value_span, format!("expected {expected}"));
            let field = last_segment(pointer);
            if let Value::String(s) = value {
                // Suggest dropping the quotes only when the bare text is of the right type.
                let bare = crate::source::resolve_plain(s);
                let fits = match expected {
                    "a boolean" => bare.is_boolean(),
                    "an integer" => bare.is_i64() || bare.is_u64(),
                    _ => false,
                };
                if fits {
                    d = d.with_help(format!("remove the quotes: `{field}: {s}`"));
                } else if expected == "a boolean" {
                    d = d.with_help(format!("write `{field}: true` or `{field}: false`"));
                }
            } else if expected == "a string" && !value.is_object() && !value.is_array() {
                // Quote what the user wrote: `1.30` read as a number is 1.3.
                let written =
                    &doc.source.text[value_span.offset..value_span.offset + value_span.len];
                d = d.with_help(format!(
                    "quote the value: `{field}: \"{}\"`",
                    written.trim()
                ));
            }
            d
        }
        ValidationErrorKind::Required { property } => {
            let field = plain(property);
            let child_desc = node
                .as_ref()
                .and_then(|n| {
                    n.pointer(&format!(
                        "/properties/{}/description",
                        escape_pointer(&field)
                    ))
                })
                .and_then(Value::as_str)
                .unwrap_or("");
            let span = if pointer.is_empty() {
                // The root mapping's first key, not line 1 (which may be a comment).
                doc.source.span(doc.value_span("").offset, 0)
            } else {
                doc.key_span(pointer)
            };
            let mut d = Diagnostic::error(
                "amlc::schema::missing-field",
                format!("missing required field `{field}` in {here}"),
            )
            .at(src, span, format!("`{field}` is required here"));
            if !child_desc.is_empty() {
                d = d.with_help(format!("`{field}`: {child_desc}"));
            }
            d
        }
        ValidationErrorKind::Pattern { .. } => {
            // The shared format's description (e.g. "A fully qualified lower-case DNS name")
            // says what is expected; a field's own description only says what it is for.
            let what = format_description(pointer)
                .or_else(|| {
                    node.as_ref()
                        .and_then(|n| n.get("description"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            Diagnostic::error(
                "amlc::schema::invalid-format",
                format!("`{}` is not a valid value for {here}", plain(value)),
            )
            .at(src, value_span, "does not match the expected format")
            .with_help(what)
        }
        ValidationErrorKind::PropertyNames { error } => {
            // The bad key is the error's instance (a string).
            invalid_key(doc, pointer, &plain(error.instance()))
        }
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => Diagnostic::error(
            "amlc::schema::out-of-range",
            format!("{here} must be at least {limit}, found {}", plain(value)),
        )
        .at(src, value_span, format!("at least {limit}")),
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => Diagnostic::error(
            "amlc::schema::out-of-range",
            format!("{here} must be at most {limit}, found {}", plain(value)),
        )
        .at(src, value_span, format!("at most {limit}")),
        ValidationErrorKind::MinLength { limit } => Diagnostic::error(
            "amlc::schema::too-short",
            format!("{here} must have at least {limit} character(s)"),
        )
        .at(src, value_span, "too short"),
        ValidationErrorKind::MaxLength { limit } => Diagnostic::error(
            "amlc::schema::too-long",
            format!(
                "{here} must have at most {limit} characters, found {}",
                value.as_str().map_or(0, |s| s.chars().count())
            ),
        )
        .at(src, value_span, "too long"),
        ValidationErrorKind::MinItems { limit } => Diagnostic::error(
            "amlc::schema::too-few-items",
            format!("{here} needs at least {limit} item(s)"),
        )
        .at(src, value_span, "too few items"),
        ValidationErrorKind::UniqueItems => Diagnostic::error(
            "amlc::schema::duplicate-item",
            format!("{here} lists the same item twice"),
        )
        .at(src, value_span, "items must be unique")
        .with_help("remove the repeated item"),
        other => Diagnostic::error(
            "amlc::schema::invalid",
            format!("{here} is invalid ({})", other.keyword()),
        )
        .at(src, value_span, "here"),
    };
    out.push(d.with_path(pointer));
}

/// The allowed value most like `found`. Codes that share a namespace (the warning codes'
/// `amlc::rule::`) are compared by what follows it, or every code would look alike; a
/// `found` without it (`selinux`) is compared as it is. Codes are suggested for a slip of
/// a few letters only: `ingress-needs-clusterip` is another code, not a misspelt
/// `ingress-unused`, though the two start alike.
fn suggest_value<'a>(found: &str, allowed: &'a [String]) -> Option<&'a str> {
    let first = allowed.first()?;
    let common = allowed.iter().skip(1).fold(first.as_str(), |common, a| {
        let len = common
            .chars()
            .zip(a.chars())
            .take_while(|(x, y)| x == y)
            .map(|(x, _)| x.len_utf8())
            .sum();
        &common[..len]
    });
    let prefix = match common.rfind("::") {
        Some(i) if allowed.len() > 1 => &first[..i + 2],
        _ => "",
    };
    if prefix.is_empty() {
        return suggest(found, allowed.iter().map(String::as_str));
    }
    let word = found.strip_prefix(prefix).unwrap_or(found);
    let slips = (word.chars().count() / 5).max(2);
    allowed
        .iter()
        .map(|a| (strsim::damerau_levenshtein(word, &a[prefix.len()..]), a))
        .filter(|(distance, _)| *distance <= slips)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, a)| a.as_str())
}

/// A scalar as the user wrote it, without JSON quotes.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn last_segment(pointer: &str) -> String {
    pointer
        .rsplit('/')
        .next()
        .unwrap_or("")
        .replace("~1", "/")
        .replace("~0", "~")
}

fn type_phrase(t: &str) -> &'static str {
    match t {
        "boolean" => "a boolean",
        "integer" => "an integer",
        "number" => "a number",
        "string" => "a string",
        "array" => "a list",
        "object" => "a mapping",
        _ => "another type",
    }
}

/// The schema node that describes the config node at a pointer, with local `$ref`s merged
/// in (sibling keywords win, as in draft 2020-12).
pub fn schema_at(pointer: &str) -> Option<Value> {
    let root = schema();
    let mut node = resolve(root, root);
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        let next = if let Some(p) = node.get("properties").and_then(|p| p.get(&seg)) {
            p.clone()
        } else if let Some(items) = node.get("items") {
            items.clone()
        } else if let Some(ap) = node.get("additionalProperties").filter(|v| v.is_object()) {
            ap.clone()
        } else {
            return None;
        };
        node = resolve(root, &next);
    }
    Some(node)
}

/// The description of the `$defs` format a field refers to, if it refers to one.
fn format_description(pointer: &str) -> Option<String> {
    let root = schema();
    let parent = pointer.rsplit_once('/').map_or("", |(p, _)| p);
    let key = last_segment(pointer);
    let parent_node = schema_at(parent)?;
    let raw = parent_node
        .get("properties")
        .and_then(|p| p.get(&key))
        .or_else(|| parent_node.get("items"))
        .or_else(|| parent_node.get("additionalProperties"))?;
    let target = raw.get("$ref")?.as_str()?.strip_prefix('#')?;
    root.pointer(target)?
        .get("description")?
        .as_str()
        .map(str::to_owned)
}

/// A schema node with its local `$ref` merged in (for walking the schema from outside).
pub fn schema_at_node(root: &Value, node: &Value) -> Value {
    resolve(root, node)
}

fn resolve(root: &Value, node: &Value) -> Value {
    let Some(r) = node.get("$ref").and_then(Value::as_str) else {
        return node.clone();
    };
    let target = r
        .strip_prefix('#')
        .and_then(|p| root.pointer(p))
        .cloned()
        .unwrap_or(Value::Null);
    let mut merged = resolve(root, &target);
    if let (Some(m), Some(own)) = (merged.as_object_mut(), node.as_object()) {
        for (k, v) in own {
            if k != "$ref" {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Source;

    fn errors(text: &str) -> Vec<Diagnostic> {
        let doc = crate::source::parse(&Source::new("t.yaml", text)).unwrap();
        check(&doc)
    }

    const HEAD: &str = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: aks\n";

    /// The validator generated at build time judges every corpus config as the schema
    /// compiled at run time does (which also proves the schema valid for its meta-schema).
    #[test]
    fn the_generated_validator_agrees_with_the_runtime_one() {
        let runtime = jsonschema::validator_for(schema()).unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
        let mut seen = 0;
        for dir in ["valid", "invalid"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let Ok(doc) = crate::source::parse(&Source::new("t.yaml", text)) else {
                    continue;
                };
                seen += 1;
                assert_eq!(
                    ConfigSchema::is_valid(&doc.value),
                    runtime.is_valid(&doc.value),
                    "{}",
                    path.display()
                );
            }
        }
        assert!(seen > 80, "{seen}");
    }

    #[test]
    fn schema_compiles_and_accepts_a_minimal_config() {
        assert!(errors(HEAD).is_empty());
    }

    #[test]
    fn enum_three_levels_deep_is_located_and_suggested() {
        let d = &errors(&format!(
            "{HEAD}inference:\n  ssl:\n    cname: X\ntaints:\n  keys: [overall]\n  effect: NoSchddule\n"
        ))[..];
        let effect = d
            .iter()
            .find(|d| d.path.as_deref() == Some("/taints/effect"))
            .unwrap();
        let span = effect.primary.as_ref().unwrap().span;
        assert_eq!((span.line, span.column), (10, 11));
        assert!(
            effect
                .help
                .as_ref()
                .unwrap()
                .contains("did you mean `NoSchedule`?")
        );
    }

    #[test]
    fn unknown_field_points_at_its_key_with_a_suggestion() {
        let d = errors(&format!("{HEAD}  nodeCout: 3\n"));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, "amlc::schema::unknown-field");
        let span = d[0].primary.as_ref().unwrap().span;
        assert_eq!((span.line, span.column), (5, 3));
        assert!(
            d[0].help
                .as_ref()
                .unwrap()
                .starts_with("did you mean `nodeCount`?")
        );
    }

    #[test]
    fn schema_at_follows_refs_and_keeps_sibling_keywords() {
        let n = schema_at("/metadata/name").unwrap();
        assert_eq!(n["maxLength"], 40);
        assert!(n["pattern"].is_string());
        assert_eq!(
            schema_at("/nodeSelector/agentpool").unwrap()["maxLength"],
            63
        );
    }

    #[test]
    fn display_path_reads_like_the_config() {
        assert_eq!(
            display_path("/storage/0/nfs/server"),
            "storage[0].nfs.server"
        );
        assert_eq!(display_path(""), "the config");
    }
}
