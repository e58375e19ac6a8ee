//! Rendering: each enabled component's templates (minijinja) -> YAML text -> objects (its
//! CRDs, plain YAML, are made apart: `crds`). Errors name the template file and line
//! (minijinja's own line information) and say whose bug it is: amlc's, or the user's
//! `--components` folder's.
//!
//! It does not decide which components are on (`plan`) or apply the cross-cutting
//! changes (namespace, labels, scheduling, registry, checksums: `transform`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::catalog::{self, Catalog, Component, File, Resources};
use crate::diagnostic::{Diagnostic, Source};
use crate::object::{self, Object};
use crate::plan::{Plan, PlannedComponent, Replicas};

/// Renders every enabled component. Every problem is reported at once.
pub fn render(plan: &Plan, catalog: &Catalog) -> Result<Vec<Object>, Vec<Diagnostic>> {
    // The templates were compiled once with the catalog; the plan's context is converted
    // to minijinja's values once per build, not once per template.
    let env = catalog.templates().environment();
    let base = minijinja::Value::from_serialize(&plan.context);
    // Components render in parallel (parsing their YAML is most of a single build), and
    // are collected in plan order, so the result does not depend on thread timing.
    let rendered: Vec<Result<Vec<Object>, Vec<Diagnostic>>> = plan
        .components
        .par_iter()
        .map(|planned| match catalog.get(&planned.name) {
            Some(component) => render_component(env, &base, planned, component),
            None => Err(vec![Diagnostic::error(
                "amlc::bug::plan-catalog-mismatch",
                format!(
                    "bug in amlc: the plan names component {} that the catalog lacks",
                    planned.name
                ),
            )]),
        })
        .collect();
    let mut objects = Vec::new();
    let mut diagnostics = Vec::new();
    for r in rendered {
        match r {
            Ok(mut o) => objects.append(&mut o),
            Err(mut d) => diagnostics.append(&mut d),
        }
    }
    if diagnostics.is_empty() {
        Ok(objects)
    } else {
        Err(diagnostics)
    }
}

/// The per-component part of the template context (`component.*`).
fn component_context(planned: &PlannedComponent) -> Value {
    let Some(w) = &planned.workload else {
        return json!({"name": planned.name});
    };
    json!({
        "name": planned.name,
        "workloadName": w.name,
        "replicas": match w.replicas { Replicas::Fixed(n) => Some(n), Replicas::PerNode => None },
        "image": w.image,
        "resources": resources_value(&w.per_pod),
        "containers": w.containers.iter().map(|(k, r)| (k.clone(), resources_value(r))).collect::<serde_json::Map<_, _>>(),
    })
}

/// A container's `resources` block in Kubernetes quantities, in the seed's units.
pub fn resources_value(r: &Resources) -> Value {
    json!({
        "requests": {"cpu": format!("{}m", r.requests.cpu_millicores), "memory": format!("{}Mi", r.requests.memory_mib)},
        "limits": {"cpu": format!("{}m", r.limits.cpu_millicores), "memory": format!("{}Mi", r.limits.memory_mib)},
    })
}

fn render_component(
    env: &minijinja::Environment<'static>,
    base: &minijinja::Value,
    planned: &PlannedComponent,
    component: &Component,
) -> Result<Vec<Object>, Vec<Diagnostic>> {
    let context = minijinja::context! {
        component => minijinja::Value::from_serialize(component_context(planned)),
        ..minijinja::Value::clone(base)
    };
    let mut diagnostics = Vec::new();
    let mut objects = Vec::new();
    for t in &component.templates {
        let text = env
            .get_template(&t.path)
            .and_then(|tmpl| tmpl.render(&context));
        match text {
            Ok(text) => match parse_documents_cached(&text) {
                Ok(values) => {
                    objects.extend(values.into_iter().map(|v| Object::new(&component.name, v)))
                }
                Err(e) => diagnostics.push(rendered_yaml_error(t, &text, &e, component)),
            },
            Err(e) => diagnostics.push(catalog::template_diagnostic(t, &e, component.origin)),
        }
    }
    for o in &objects {
        if o.kind().is_empty() || o.name().is_empty() || object::api_version(&o.value).is_empty() {
            diagnostics.push(
                Diagnostic::error(
                    "amlc::component::not-an-object",
                    format!(
                        "component {} rendered a document without apiVersion, kind and metadata.name",
                        component.name
                    ),
                )
                .with_help(component.origin.blame()),
            );
        }
    }
    if diagnostics.is_empty() {
        Ok(objects)
    } else {
        Err(diagnostics)
    }
}

/// Rendered texts the cache keeps at most; a fleet renders far fewer distinct ones per
/// template, and the bound keeps a pathological run's memory in check.
const PARSE_CACHE_ENTRIES: usize = 4096;

/// [`parse_documents`], remembered by text. Across a fleet most templates render the same
/// text for every config (names and selectors are applied later by the transforms), and
/// parsing YAML is the costliest step of a render; parsing is a pure function of the text,
/// so a cached result is exactly what parsing again would give. A text is kept from the
/// second time it is seen: a single build (or a text only one config renders) gets its
/// values to own, without a copy kept beside them.
fn parse_documents_cached(text: &str) -> Result<Vec<Value>, serde_yaml_ng::Error> {
    #[derive(Default)]
    struct Cache {
        /// Hashes of the texts seen once (a collision only makes a text kept sooner).
        seen: std::collections::HashSet<u64>,
        parsed: HashMap<String, Arc<Vec<Value>>>,
    }
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let hash = {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        BuildHasherDefault::<DefaultHasher>::default().hash_one(text)
    };
    let seen_before = match cache.lock() {
        Ok(mut c) => {
            if let Some(hit) = c.parsed.get(text) {
                return Ok(hit.as_ref().clone());
            }
            !c.seen.insert(hash)
        }
        Err(_) => false,
    };
    let parsed = parse_documents(text)?;
    if seen_before
        && let Ok(mut c) = cache.lock()
        && c.parsed.len() < PARSE_CACHE_ENTRIES
    {
        c.parsed.insert(text.to_owned(), Arc::new(parsed.clone()));
    }
    Ok(parsed)
}

/// The documents of a YAML stream; empty and comment-only documents are dropped.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, serde_yaml_ng::Error> {
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let v = Value::deserialize(doc)?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

fn rendered_yaml_error(
    file: &File,
    rendered: &str,
    e: &serde_yaml_ng::Error,
    component: &Component,
) -> Diagnostic {
    let source = Source::new(format!("{} (rendered)", file.path), rendered.to_owned());
    let mut d = Diagnostic::error(
        "amlc::component::invalid-yaml",
        format!(
            "{} renders invalid YAML{}: {}",
            file.path,
            e.location()
                .map(|l| format!(" (line {} of its output)", l.line()))
                .unwrap_or_default(),
            catalog::yaml_message(e)
        ),
    )
    .with_help(component.origin.blame());
    if let Some(l) = e.location() {
        let (offset, len) = catalog::line_range(rendered, l.line());
        d = d.at(&source, source.span(offset, len), "here");
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Origin;

    fn catalog(template: &str) -> Catalog {
        Catalog::from_files(
            "mine",
            &[
                (
                    "x/component.yaml".into(),
                    "description: d\nfeature: both\nwhen: \"true\"\n".into(),
                ),
                ("x/templates/a.yaml.j2".into(), template.into()),
            ],
            Origin::User,
        )
        .unwrap()
    }

    fn config() -> crate::config::Config {
        serde_json::from_value(
            json!({"apiVersion": "amlc/v1", "kind": "ExtensionConfig", "cluster": {"type": "aks"}}),
        )
        .unwrap()
    }

    #[test]
    fn renders_a_yaml_stream_into_objects() {
        let c = catalog(
            "# comment only\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ name }}-x\n---\n",
        );
        let p = crate::plan::plan(&config(), &c).unwrap();
        let objects = render(&p, &c).unwrap();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].name(), "azureml-x");
        assert_eq!(objects[0].component, "x");
    }

    #[test]
    fn an_undefined_variable_names_the_template_line_and_the_culprit() {
        let c = catalog("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ nmae }}\n");
        let p = crate::plan::plan(&config(), &c).unwrap();
        let err = render(&p, &c).unwrap_err();
        assert!(
            err[0].message.starts_with("mine/x/templates/a.yaml.j2:4"),
            "{}",
            err[0].message
        );
        assert!(err[0].help.as_deref().unwrap().contains("--components"));
    }

    #[test]
    fn invalid_rendered_yaml_is_located() {
        let c = catalog("apiVersion: v1\nkind: [\n");
        let p = crate::plan::plan(&config(), &c).unwrap();
        let err = render(&p, &c).unwrap_err();
        assert_eq!(err[0].code, "amlc::component::invalid-yaml");
    }
}
