//! Built-in templates' documents shared across a fleet's builds, by what each template
//! reads of its context.
//!
//! A template's output is a function of its text and of the values it reads. minijinja
//! finds what a template reads, down to the attributes it looks up
//! (`Template::undeclared_variables`): the gateway's template reads `cluster.type`,
//! `component.image` and a few more, never the node selector or the cluster's name. So
//! from a process's second build on, a template's documents are kept under those values
//! (once they are seen twice), and a build that gives it the same values takes them
//! instead of rendering and parsing it again (a 200-config fleet renders each built-in
//! template a handful of times).
//!
//! Only built-in templates: their reads are complete, which a test checks (no `include`,
//! `import` or `extends`, whose templates' reads minijinja does not follow, and no name
//! but the context's and the functions below). A path the context does not hold all of
//! counts as the longest part it holds (`x.items()` reads `x`): a key holds at least all
//! a template reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use crate::fx_hash::FxBuild;

/// Rendered templates kept at most, to bound a pathological run's memory.
const ENTRIES: usize = 4096;

/// Functions templates may call that read nothing of the context but what is listed.
const FUNCTIONS: &[(&str, &[&str])] = &[
    // catalog::template_environment's `image()`.
    ("image", &["imageRepository", "version"]),
    ("range", &[]),
    ("dict", &[]),
];

/// The key of a template's documents for a build: the template and the values it reads
/// (`context`: the build's context; `component`: `component.*`); None when the template's
/// reads are not known.
pub fn key(
    env: &minijinja::Environment<'static>,
    template: &str,
    context: &Value,
    component: &Value,
) -> Option<String> {
    key_of(
        template,
        &reads(env, template, context)?,
        context,
        component,
    )
}

fn key_of(template: &str, reads: &[String], context: &Value, component: &Value) -> Option<String> {
    let mut key = String::with_capacity(256);
    key.push_str(template);
    for path in reads.iter() {
        let mut segments = path.split('.');
        let first = segments.next()?;
        let mut value = if first == "component" {
            component
        } else {
            context.get(first)?
        };
        for segment in segments {
            match value.get(segment) {
                Some(v) if value.is_object() => value = v,
                _ => break,
            }
        }
        key.push('\0');
        key.push_str(path);
        key.push('=');
        key.push_str(&crate::emit::canonical_json(value));
    }
    Some(key)
}

/// A template's kept documents, under an id no other kept documents have in the
/// process (`reuse` keys what it makes of them by it).
#[derive(Debug)]
pub struct Documents {
    pub id: u64,
    pub values: Vec<Value>,
}

/// The documents kept under `key`.
pub fn get(key: &str) -> Option<Arc<Documents>> {
    table().lock().ok()?.kept.get(key).cloned()
}

/// Keeps a template's documents under `key`, from the second time the key is seen: a
/// fleet whose every config renders its own (every extension named apart) keeps none.
pub fn keep(key: String, documents: &[Value]) {
    use std::hash::BuildHasher;
    let hash = FxBuild::default().hash_one(&key);
    let Ok(mut t) = table().lock() else {
        return;
    };
    if t.seen.insert(hash) || t.kept.len() >= ENTRIES {
        return;
    }
    let id = t.kept.len() as u64;
    t.kept.entry(key).or_insert_with(|| {
        Arc::new(Documents {
            id,
            values: documents.to_vec(),
        })
    });
}

#[derive(Default)]
struct Kept {
    /// Documents by key; never removed, so `kept.len()` is a fresh id.
    kept: HashMap<String, Arc<Documents>, FxBuild>,
    /// Hashes of the keys seen once (a collision only keeps documents sooner).
    seen: std::collections::HashSet<u64, FxBuild>,
}

fn table() -> &'static Mutex<Kept> {
    static TABLE: OnceLock<Mutex<Kept>> = OnceLock::new();
    TABLE.get_or_init(Mutex::default)
}

/// What a template reads of the context, as dotted paths in sorted order (a function's
/// reads included); None when it reads a name that is neither the context's nor one of
/// [`FUNCTIONS`]. Found once per template and process.
fn reads(
    env: &minijinja::Environment<'static>,
    template: &str,
    context: &Value,
) -> Option<Arc<[String]>> {
    type Known = HashMap<String, Option<Arc<[String]>>, FxBuild>;
    static READS: OnceLock<Mutex<Known>> = OnceLock::new();
    let reads = READS.get_or_init(Mutex::default);
    if let Some(known) = reads.lock().ok()?.get(template) {
        return known.clone();
    }
    let found = env
        .get_template(template)
        .ok()
        .and_then(|t| complete_reads(t.undeclared_variables(true), context));
    reads
        .lock()
        .ok()?
        .insert(template.to_owned(), found.clone());
    found
}

/// The paths `undeclared` names, with each function's reads in place of the function;
/// None when a name is unknown.
fn complete_reads(
    undeclared: std::collections::HashSet<String>,
    context: &Value,
) -> Option<Arc<[String]>> {
    let mut undeclared: Vec<String> = undeclared.into_iter().collect();
    undeclared.sort_unstable();
    let mut paths = std::collections::BTreeSet::new();
    for path in undeclared {
        let first = path.split('.').next().unwrap_or_default();
        if first == "component" || context.get(first).is_some() {
            paths.insert(path);
        } else {
            let (_, reads) = FUNCTIONS.iter().find(|(name, _)| *name == first)?;
            paths.extend(reads.iter().map(|r| (*r).to_owned()));
        }
    }
    Some(paths.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    /// Every built-in template's reads are complete: it includes no other template, and
    /// names nothing but the context's and the known functions.
    #[test]
    fn every_built_in_template_has_known_reads() {
        let catalog = Catalog::embedded().unwrap();
        let config: crate::config::Config = serde_json::from_value(serde_json::json!({
            "apiVersion": "amlc/v1", "kind": "ExtensionConfig", "cluster": {"type": "aks"},
        }))
        .unwrap();
        let context = crate::plan::context(&config);
        let mut checked = 0;
        for component in catalog.components() {
            for t in &component.templates {
                for statement in ["include", "import", "extends", "from"] {
                    let text = t.text.replace(' ', "");
                    assert!(
                        !text.contains(&format!("{{%{statement}"))
                            && !text.contains(&format!("{{%-{statement}")),
                        "{} uses {statement}",
                        t.path
                    );
                }
                let env = catalog.templates().environment();
                let reads = reads(env, &t.path, &context);
                assert!(reads.is_some(), "{}", t.path);
                checked += 1;
            }
        }
        assert!(checked > 20, "{checked}");
    }

    #[test]
    fn a_key_holds_every_value_read_and_the_longest_part_of_a_path_held() {
        let context = serde_json::json!({
            "imageRepository": "mcr", "version": "1.1", "name": "ml",
            "cluster": {"type": "aks", "name": "c1"}, "inference": {"ssl": null},
        });
        let undeclared = [
            "cluster.type",
            "image",
            "inference.ssl.cname",
            "component.replicas",
            "cluster.name.items",
        ]
        .map(String::from)
        .into_iter()
        .collect();
        let reads = complete_reads(undeclared, &context).unwrap();
        assert_eq!(
            reads.to_vec(),
            [
                "cluster.name.items",
                "cluster.type",
                "component.replicas",
                "imageRepository",
                "inference.ssl.cname",
                "version"
            ]
        );
        let unknown = ["lipsum"].map(String::from).into_iter().collect();
        assert!(complete_reads(unknown, &context).is_none());

        let component = serde_json::json!({"replicas": 2});
        let key = |context: &Value| key_of("t", &reads, context, &component).unwrap();
        let with = |pointer: &str, v: Value| {
            let mut c = context.clone();
            *c.pointer_mut(pointer).unwrap() = v;
            c
        };
        // What is read changes the key, whatever its depth; what is not, does not.
        assert_ne!(key(&context), key(&with("/cluster/name", "c2".into())));
        assert_ne!(
            key(&context),
            key(&with("/inference/ssl", serde_json::json!({"cname": "x"})))
        );
        assert_ne!(key(&context), key(&with("/version", "1.2".into())));
        assert_eq!(key(&context), key(&with("/name", "other".into())));
        assert_ne!(
            key_of("t", &reads, &context, &serde_json::json!({"replicas": 3})).unwrap(),
            key(&context)
        );
    }
}
