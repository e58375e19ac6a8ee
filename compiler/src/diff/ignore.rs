//! Ignore rules, in the shape of Flux's `spec.ignore`: JSON Pointer paths, optionally
//! limited to objects by kind, name (a regex matching the whole name) and namespace.
//! An ignored field is removed from both sides before comparing, so it is never a
//! difference; how many ignored fields did differ is counted for the report.
//!
//! Rules come from the config's `diff.ignore` and from `--ignore FILE`; this module parses
//! the file and compiles both, but reads no files itself.

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use super::ObjectId;
use crate::config::IgnoreRule;
use crate::diagnostic::Diagnostic;

/// Compiled ignore rules.
#[derive(Debug, Default)]
pub struct IgnoreSet {
    rules: Vec<Rule>,
}

#[derive(Debug)]
struct Rule {
    /// Each path as its decoded reference tokens.
    paths: Vec<Vec<String>>,
    kind: Option<String>,
    name: Option<Regex>,
    namespace: Option<String>,
}

/// The two shapes an `--ignore` file may take: a bare list of rules, or `ignore:` holding one.
#[derive(Deserialize)]
#[serde(untagged)]
enum IgnoreFile {
    List(Vec<IgnoreRule>),
    Wrapped { ignore: Vec<IgnoreRule> },
}

/// Parses the text of an `--ignore` file; `name` is how errors refer to it.
pub fn parse_file(name: &str, text: &str) -> Result<Vec<IgnoreRule>, Vec<Diagnostic>> {
    let parsed: Result<IgnoreFile, _> = serde_yaml_ng::from_str(text);
    match parsed {
        Ok(IgnoreFile::List(rules) | IgnoreFile::Wrapped { ignore: rules }) => Ok(rules),
        Err(e) => Err(vec![Diagnostic::error(
            "amlc::diff::invalid-ignore-file",
            format!("{name} is not a list of ignore rules: {e}"),
        )
        .with_help(
            "write a YAML list of rules such as `- paths: [/spec/replicas]\n  target: {kind: Deployment, name: azureml-fe-v2}`, or the same list under `ignore:`",
        )]),
    }
}

impl IgnoreSet {
    /// Compiles rules; `origin` names where they came from in error messages.
    pub fn compile(rules: &[IgnoreRule], origin: &str) -> Result<IgnoreSet, Vec<Diagnostic>> {
        let mut compiled = Vec::new();
        let mut errors = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            let mut paths = Vec::new();
            for p in &rule.paths {
                match decode_pointer(p) {
                    Some(tokens) => paths.push(tokens),
                    None => errors.push(
                        Diagnostic::error(
                            "amlc::diff::invalid-ignore-path",
                            format!("{origin}: ignore rule {} has an invalid JSON Pointer {p:?}", i + 1),
                        )
                        .with_help("a JSON Pointer starts with / and escapes ~ and / as ~0 and ~1, e.g. /metadata/annotations/example.com~1key"),
                    ),
                }
            }
            let target = rule.target.clone().unwrap_or_default();
            // Anchored so `gateway` does not also match `gateway-v2`, as in Flux.
            let name = match target
                .name
                .as_deref()
                .map(|n| Regex::new(&format!("^(?:{n})$")))
            {
                Some(Ok(r)) => Some(r),
                Some(Err(e)) => {
                    errors.push(Diagnostic::error(
                        "amlc::diff::invalid-ignore-name",
                        format!(
                            "{origin}: ignore rule {} has an invalid name regex: {e}",
                            i + 1
                        ),
                    ));
                    None
                }
                None => None,
            };
            compiled.push(Rule {
                paths,
                kind: target.kind,
                name,
                namespace: target.namespace,
            });
        }
        if errors.is_empty() {
            Ok(IgnoreSet { rules: compiled })
        } else {
            Err(errors)
        }
    }

    /// Adds another set's rules (the config's and the file's rules together).
    pub fn extend(&mut self, other: IgnoreSet) {
        self.rules.extend(other.rules);
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Removes every ignored field from both sides of one object; returns how many of the
    /// removed fields differed between the sides. Either side may be `Value::Null`.
    pub fn apply(&self, id: &ObjectId, rendered: &mut Value, other: &mut Value) -> usize {
        let mut differing = 0;
        for rule in self.rules.iter().filter(|r| r.matches(id)) {
            for path in &rule.paths {
                let a = remove(rendered, path);
                let b = remove(other, path);
                if a != b && !(rendered.is_null() || other.is_null()) {
                    differing += 1;
                }
            }
        }
        differing
    }
}

impl Rule {
    fn matches(&self, id: &ObjectId) -> bool {
        self.kind.as_ref().is_none_or(|k| *k == id.kind)
            && self.namespace.as_ref().is_none_or(|n| *n == id.namespace)
            && self.name.as_ref().is_none_or(|r| r.is_match(&id.name))
    }
}

/// The reference tokens of a JSON Pointer (RFC 6901); `None` when it is malformed.
fn decode_pointer(pointer: &str) -> Option<Vec<String>> {
    let rest = pointer.strip_prefix('/')?;
    rest.split('/')
        .map(|t| {
            let mut out = String::new();
            let mut chars = t.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => return None,
                    }
                } else {
                    out.push(c);
                }
            }
            Some(out)
        })
        .collect()
}

/// Removes the value at a path, returning it when there was one.
fn remove(root: &mut Value, tokens: &[String]) -> Option<Value> {
    let (last, parents) = tokens.split_last()?;
    let mut node = root;
    for t in parents {
        node = match node {
            Value::Object(m) => m.get_mut(t)?,
            Value::Array(a) => a.get_mut(t.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match node {
        Value::Object(m) => m.remove(last),
        Value::Array(a) => {
            let i = last.parse::<usize>().ok()?;
            (i < a.len()).then(|| a.remove(i))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IgnoreTarget;
    use serde_json::json;

    fn id(kind: &str, ns: &str, name: &str) -> ObjectId {
        ObjectId {
            group: "apps".into(),
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    fn rule(paths: &[&str], kind: Option<&str>, name: Option<&str>) -> IgnoreRule {
        IgnoreRule {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            target: Some(IgnoreTarget {
                kind: kind.map(Into::into),
                name: name.map(Into::into),
                namespace: None,
            }),
        }
    }

    #[test]
    fn removes_matching_paths_from_both_sides_and_counts_differences() {
        let set = IgnoreSet::compile(
            &[rule(
                &["/spec/replicas", "/metadata/annotations/a~1b"],
                Some("Deployment"),
                Some("azureml-fe.*"),
            )],
            "test",
        )
        .unwrap();
        let mut r = json!({"spec": {"replicas": 3}, "metadata": {"annotations": {"a/b": "x"}}});
        let mut o = json!({"spec": {"replicas": 1}, "metadata": {"annotations": {"a/b": "x"}}});
        assert_eq!(
            set.apply(
                &id("Deployment", "azureml", "azureml-fe-v2"),
                &mut r,
                &mut o
            ),
            1
        );
        assert_eq!(r, o);
    }

    #[test]
    fn name_regex_matches_the_whole_name_only() {
        let set = IgnoreSet::compile(&[rule(&["/spec/replicas"], None, Some("gateway"))], "test")
            .unwrap();
        let mut r = json!({"spec": {"replicas": 3}});
        let mut o = json!({"spec": {"replicas": 1}});
        assert_eq!(
            set.apply(&id("Deployment", "azureml", "gateway-v2"), &mut r, &mut o),
            0
        );
        assert_ne!(r, o);
    }

    #[test]
    fn reads_both_file_shapes() {
        let list = "- paths: [/spec/replicas]\n  target: {kind: Deployment}\n";
        let wrapped = "ignore:\n  - paths: [/spec/replicas]\n    target: {kind: Deployment}\n";
        assert_eq!(
            parse_file("a", list).unwrap(),
            parse_file("b", wrapped).unwrap()
        );
        assert!(parse_file("c", "paths: 3").is_err());
    }

    #[test]
    fn rejects_bad_pointers_and_regexes() {
        assert!(IgnoreSet::compile(&[rule(&["spec/replicas"], None, None)], "t").is_err());
        assert!(IgnoreSet::compile(&[rule(&["/a~2"], None, None)], "t").is_err());
        assert!(IgnoreSet::compile(&[rule(&["/a"], None, Some("("))], "t").is_err());
    }
}
