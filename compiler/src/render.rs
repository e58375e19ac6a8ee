//! Rendering: each enabled component's templates (minijinja) -> YAML text -> objects (its
//! CRDs, plain YAML, are made apart: `crds`). Errors name the template file and line
//! (minijinja's own line information) and say whose bug it is: amlc's, or the user's
//! `--components` folder's.
//!
//! It does not decide which components are on (`plan`) or apply the cross-cutting
//! changes (namespace, labels, scheduling, registry, checksums: `transform`).

use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::catalog::{self, Catalog, Component, File, Resources};
use crate::diagnostic::{Diagnostic, Source};
use crate::object::{self, Object};
use crate::plan::{Plan, PlannedComponent, Replicas};

mod block_yaml;
pub(crate) mod memo;
mod name_swap;

use name_swap::NameSwap;

/// Renders every enabled component. Every problem is reported at once. `share`: take
/// built-in templates' documents from earlier builds of the process where they read the
/// same values (`memo`), and keep them for later ones.
pub fn render(
    plan: &Plan,
    catalog: &Catalog,
    share: bool,
) -> Result<Vec<Rendered>, Vec<Diagnostic>> {
    // The templates were compiled once with the catalog; the plan's context is converted
    // to minijinja's values once per build, not once per template.
    let env = catalog.templates().environment();
    let base = minijinja::Value::from_serialize(&plan.context);
    let swap = NameSwap::for_fleet(plan);
    let rendering = Rendering {
        env,
        base: &base,
        swap: swap.as_ref(),
        shared: share.then_some(&plan.context),
    };
    render_with(plan, catalog, &rendering)
}

/// A rendered object: this build's own, or a document an earlier build of the process
/// rendered from the same template and values (`memo`), shared instead of copied.
#[derive(Debug, Clone)]
pub enum Rendered {
    Own(Object),
    Kept {
        component: String,
        documents: Arc<memo::Documents>,
        index: usize,
    },
}

impl Rendered {
    pub fn value(&self) -> &Value {
        match self {
            Rendered::Own(o) => &o.value,
            Rendered::Kept {
                documents, index, ..
            } => &documents.values[*index],
        }
    }

    pub fn component(&self) -> &str {
        match self {
            Rendered::Own(o) => &o.component,
            Rendered::Kept { component, .. } => component,
        }
    }

    /// Where a kept document comes from: its documents' id and its place among them;
    /// None for the build's own.
    pub fn kept_as(&self) -> Option<(u64, usize)> {
        match self {
            Rendered::Own(_) => None,
            Rendered::Kept {
                documents, index, ..
            } => Some((documents.id, *index)),
        }
    }

    /// The object to change (a kept document is copied).
    pub fn into_object(self) -> Object {
        match self {
            Rendered::Own(o) => o,
            Rendered::Kept {
                component,
                documents,
                index,
            } => Object::new(component, documents.values[index].clone()),
        }
    }
}

/// What every component's rendering shares.
struct Rendering<'a> {
    env: &'a minijinja::Environment<'static>,
    base: &'a minijinja::Value,
    swap: Option<&'a NameSwap<'a>>,
    /// The build's context, when built-in templates' documents are shared (`memo`).
    shared: Option<&'a Value>,
}

fn render_with(
    plan: &Plan,
    catalog: &Catalog,
    rendering: &Rendering,
) -> Result<Vec<Rendered>, Vec<Diagnostic>> {
    // Components render in parallel (parsing their YAML is most of a single build), and
    // are collected in plan order, so the result does not depend on thread timing.
    let rendered: Vec<Result<Vec<Rendered>, Vec<Diagnostic>>> = plan
        .components
        .par_iter()
        .map(|planned| match catalog.get(&planned.name) {
            Some(component) => render_component(rendering, planned, component),
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
    rendering: &Rendering,
    planned: &PlannedComponent,
    component: &Component,
) -> Result<Vec<Rendered>, Vec<Diagnostic>> {
    let env = rendering.env;
    let component_json = component_context(planned);
    let shared = rendering
        .shared
        .filter(|_| component.origin == catalog::Origin::BuiltIn);
    let context = OnceCell::new();
    let stand_in = OnceCell::new();
    let mut diagnostics = Vec::new();
    let mut objects = Vec::new();
    for t in &component.templates {
        let key = shared.and_then(|cx| memo::key(env, &t.path, cx, &component_json));
        if let Some(kept) = key.as_deref().and_then(memo::get) {
            objects.extend((0..kept.values.len()).map(|index| Rendered::Kept {
                component: component.name.clone(),
                documents: Arc::clone(&kept),
                index,
            }));
            continue;
        }
        let context =
            context.get_or_init(|| template_context(rendering.base, component_json.clone()));
        let text = env
            .get_template(&t.path)
            .and_then(|tmpl| tmpl.render(context));
        match text {
            Ok(text) => match stand_in
                .get_or_init(|| {
                    let swap = rendering.swap?;
                    Some((swap, stand_in_context(env, swap, planned, component)?))
                })
                .as_ref()
                // A text without the name is the same for every config: the plain cache has it.
                .filter(|(swap, _)| text.contains(swap.name))
                .and_then(|(swap, cx)| swapped_documents(env, t, &text, swap, cx))
                .map_or_else(|| parse_documents_cached(&text), Ok)
            {
                Ok(values) => {
                    if let Some(key) = key {
                        memo::keep(key, &values);
                    }
                    objects.extend(
                        values
                            .into_iter()
                            .map(|v| Rendered::Own(Object::new(&component.name, v))),
                    )
                }
                Err(e) => diagnostics.push(rendered_yaml_error(t, &text, &e, component)),
            },
            Err(e) => diagnostics.push(catalog::template_diagnostic(t, &e, component.origin)),
        }
    }
    for o in objects.iter().map(Rendered::value) {
        if object::kind(o).is_empty()
            || object::name(o).is_empty()
            || object::api_version(o).is_empty()
        {
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

/// The context a component's templates see: the build's, and `component.*`.
fn template_context(base: &minijinja::Value, component: Value) -> minijinja::Value {
    minijinja::context! {
        component => minijinja::Value::from_serialize(component),
        ..minijinja::Value::clone(base)
    }
}

/// The template context of a component with the stand-in name (the workload's name may
/// hold the extension name too); `None` leaves the component to the plain path.
fn stand_in_context(
    env: &minijinja::Environment<'static>,
    swap: &NameSwap,
    planned: &PlannedComponent,
    component: &Component,
) -> Option<minijinja::Value> {
    let mut cx = component_context(planned);
    if let (Some(meta), Some(_)) = (&component.meta.workload, &planned.workload) {
        cx["workloadName"] = Value::from(env.render_str(&meta.name, &swap.base).ok()?);
    }
    Some(template_context(&swap.base, cx))
}

/// The template's documents from its stand-in rendering, parsed once for the fleet (see
/// `name_swap`); `None` when that path does not apply.
fn swapped_documents(
    env: &minijinja::Environment<'static>,
    file: &File,
    text: &str,
    swap: &NameSwap,
    stand_in_context: &minijinja::Value,
) -> Option<Vec<Value>> {
    let stand_in_text = env
        .get_template(&file.path)
        .and_then(|tmpl| tmpl.render(stand_in_context))
        .ok()?;
    let parsed = parse_documents_shared(&stand_in_text).ok()?;
    swap.documents(text, &stand_in_text, &parsed)
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
    let cache = parse_cache();
    let hash = {
        use std::hash::BuildHasher;
        crate::fx_hash::FxBuild::default().hash_one(text)
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

#[derive(Default)]
struct ParseCache {
    /// Hashes of the texts seen once (a collision only makes a text kept sooner).
    seen: std::collections::HashSet<u64, crate::fx_hash::FxBuild>,
    parsed: HashMap<String, Arc<Vec<Value>>, crate::fx_hash::FxBuild>,
}

fn parse_cache() -> &'static Mutex<ParseCache> {
    static CACHE: OnceLock<Mutex<ParseCache>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// [`parse_documents`] of a text kept from its first sighting: a stand-in text is only
/// rendered in a fleet, where further configs will render it again.
fn parse_documents_shared(text: &str) -> Result<Arc<Vec<Value>>, serde_yaml_ng::Error> {
    let cache = parse_cache();
    if let Ok(c) = cache.lock()
        && let Some(hit) = c.parsed.get(text)
    {
        return Ok(Arc::clone(hit));
    }
    let parsed = Arc::new(parse_documents(text)?);
    if let Ok(mut c) = cache.lock()
        && c.parsed.len() < PARSE_CACHE_ENTRIES
    {
        c.parsed.insert(text.to_owned(), Arc::clone(&parsed));
    }
    Ok(parsed)
}

/// The documents of a YAML stream; empty and comment-only documents are dropped. The
/// subset the templates write is read directly (`block_yaml`); anything else by
/// serde_yaml_ng, which also gives the errors.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, serde_yaml_ng::Error> {
    if let Some(documents) = block_yaml::parse(text) {
        return Ok(documents);
    }
    parse_documents_libyaml(text)
}

/// [`parse_documents`] by serde_yaml_ng alone.
fn parse_documents_libyaml(text: &str) -> Result<Vec<Value>, serde_yaml_ng::Error> {
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

    /// The golden cases' configs (those that build with the built-in components).
    fn golden_configs() -> Vec<(String, crate::config::Config)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(root).unwrap() {
            let dir = entry.unwrap().path();
            let file = dir.join("amlc.yaml");
            if dir.join("components").exists() || dir.join("args").exists() {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(&file)
                && let Ok(config) = serde_yaml_ng::from_str(&text)
            {
                out.push((dir.display().to_string(), config));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Every template of every golden case renders YAML the direct reader takes, and reads
    /// it as serde_yaml_ng does: a template leaving the subset would silently cost the
    /// build its speed, a difference would change the objects.
    #[test]
    fn every_rendered_template_is_read_directly_and_as_libyaml_reads_it() {
        let catalog = Catalog::embedded().unwrap();
        let env = catalog.templates().environment();
        let configs = golden_configs();
        assert!(configs.len() >= 15, "only {} golden configs", configs.len());
        let mut texts = 0;
        for (case, config) in &configs {
            let plan = crate::plan::plan(config, &catalog).unwrap();
            let base = minijinja::Value::from_serialize(&plan.context);
            for planned in &plan.components {
                let component = catalog.get(&planned.name).unwrap();
                let cx = template_context(&base, component_context(planned));
                for t in &component.templates {
                    let text = env.get_template(&t.path).unwrap().render(&cx).unwrap();
                    let direct = block_yaml::parse(&text).unwrap_or_else(|| {
                        panic!(
                            "{case}: {} renders YAML outside block_yaml's subset",
                            t.path
                        )
                    });
                    assert_eq!(
                        direct,
                        parse_documents_libyaml(&text).unwrap(),
                        "{case}: {}",
                        t.path
                    );
                    texts += 1;
                }
            }
        }
        assert!(texts >= 200, "only {texts} rendered texts");
    }

    /// The golden outputs (the emitter's style: quoted strings, block scalars, flow
    /// collections) read the same both ways whenever the direct reader takes them.
    #[test]
    fn golden_outputs_read_the_same_both_ways() {
        let mut read = 0;
        for dir in ["golden", "golden-aso"] {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            for entry in walkdir::WalkDir::new(root) {
                let path = entry.unwrap().into_path();
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let Ok(libyaml) = parse_documents_libyaml(&text) else {
                    continue;
                };
                if let Some(direct) = block_yaml::parse(&text) {
                    assert_eq!(direct, libyaml, "{}", path.display());
                    read += 1;
                }
            }
        }
        assert!(read >= 20, "only {read} golden files read directly");
    }

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
        let objects: Vec<Object> = render(&p, &c, false)
            .unwrap()
            .into_iter()
            .map(Rendered::into_object)
            .collect();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].name(), "azureml-x");
        assert_eq!(objects[0].component, "x");
    }

    #[test]
    fn an_undefined_variable_names_the_template_line_and_the_culprit() {
        let c = catalog("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ nmae }}\n");
        let p = crate::plan::plan(&config(), &c).unwrap();
        let err = render(&p, &c, false).unwrap_err();
        assert!(
            err[0].message.starts_with("mine/x/templates/a.yaml.j2:4"),
            "{}",
            err[0].message
        );
        assert!(err[0].help.as_deref().unwrap().contains("--components"));
    }

    /// Every config of the corpus and the goldens, under names that swap and names that
    /// must not: the stand-in path gives exactly the objects parsing gives, and is taken.
    #[test]
    fn the_stand_in_path_gives_what_parsing_gives() {
        let catalog = Catalog::embedded().unwrap();
        let env = catalog.templates().environment();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<_> = std::fs::read_dir(root.join("tests/valid"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        for case in std::fs::read_dir(root.join("golden")).unwrap() {
            files.push(case.unwrap().path().join("amlc.yaml"));
        }
        let (mut configs, mut swapped) = (0, 0);
        for (file, valid) in crate::reuse::tests::valid_configs(files) {
            configs += 1;
            for name in [
                "ml",
                "e5",
                "x1",
                "a-b-c",
                name_swap::STAND_IN,
                "true",
                "n",
                "no",
            ] {
                let mut config = valid.clone();
                config.metadata.name = name.to_owned();
                let plan = crate::plan::plan(&config, &catalog).unwrap();
                let base = minijinja::Value::from_serialize(&plan.context);
                let swap = NameSwap::new(&plan);
                assert_eq!(
                    swap.is_some(),
                    !["true", "n", "no"].contains(&name),
                    "{name}"
                );
                let rendering = |swap, shared| Rendering {
                    env,
                    base: &base,
                    swap,
                    shared,
                };
                let plain = render_with(&plan, &catalog, &rendering(None, None)).unwrap();
                let via = render_with(&plan, &catalog, &rendering(swap.as_ref(), None)).unwrap();
                let values = |o: Vec<Rendered>| {
                    o.into_iter()
                        .map(|o| {
                            let o = o.into_object();
                            (o.component, o.value)
                        })
                        .collect::<Vec<_>>()
                };
                // Documents kept for earlier builds (`memo`): before they are kept (two
                // sightings) and after.
                let shared = rendering(swap.as_ref(), Some(&plan.context));
                for _ in 0..3 {
                    let kept = render_with(&plan, &catalog, &shared).unwrap();
                    assert_eq!(
                        values(kept),
                        values(plain.clone()),
                        "{} as {name}",
                        file.display()
                    );
                }
                assert_eq!(values(via), values(plain), "{} as {name}", file.display());
                let Some(swap) = swap else { continue };
                for planned in &plan.components {
                    let component = catalog.get(&planned.name).unwrap();
                    let cx = stand_in_context(env, &swap, planned, component).unwrap();
                    for t in &component.templates {
                        let text = env
                            .get_template(&t.path)
                            .and_then(|tmpl| {
                                tmpl.render(template_context(&base, component_context(planned)))
                            })
                            .unwrap();
                        if let Some(docs) = swapped_documents(env, t, &text, &swap, &cx) {
                            assert_eq!(docs, parse_documents(&text).unwrap());
                            swapped += 1;
                        }
                    }
                }
            }
        }
        assert!(configs > 20, "{configs}");
        // Most templates write the name; their texts must take the stand-in path.
        assert!(swapped > configs * 5 * 10, "{swapped} of {configs} configs");
    }

    #[test]
    fn invalid_rendered_yaml_is_located() {
        let c = catalog("apiVersion: v1\nkind: [\n");
        let p = crate::plan::plan(&config(), &c).unwrap();
        let err = render(&p, &c, false).unwrap_err();
        assert_eq!(err[0].code, "amlc::component::invalid-yaml");
    }

    /// The objects `amlc build` writes for a config, with the built-in components.
    fn built(config: &str) -> Vec<Value> {
        let yaml = crate::compile_bytes("amlc.yaml", config.as_bytes()).unwrap();
        parse_documents(&yaml).unwrap()
    }

    fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    }

    /// A comma list written in a YAML flow list (`[--a=x,y]`) splits into separate
    /// arguments; the admission paths must reach Volcano as one `--enabled-admission`.
    #[test]
    fn volcano_admission_gets_every_admission_path_in_one_argument() {
        let objects = built("apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks}\n");
        let args: Vec<&str> = find(&objects, "Deployment", "volcano-admission")
            .pointer("/spec/template/spec/containers/0/args")
            .and_then(Value::as_array)
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let enabled: Vec<&str> = args
            .iter()
            .filter_map(|a| a.strip_prefix("--enabled-admission="))
            .collect();
        assert_eq!(
            enabled,
            [
                "/jobs/mutate,/jobs/validate,/podgroups/mutate,/pods/validate,/queues/mutate,/queues/validate"
            ],
            "{args:?}"
        );
        assert!(!args.iter().any(|a| a.starts_with('/')), "{args:?}");
    }

    /// The healthcheck Job is applied like any object (facts sheet, "Applying rendered
    /// YAML"): no hook annotations anywhere, and its name follows its spec.
    #[test]
    fn the_healthcheck_job_is_no_hook_and_is_named_after_its_spec() {
        let objects = built("apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks}\n");
        for o in &objects {
            for key in o["metadata"]["annotations"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
            {
                assert!(
                    !key.starts_with("helm.sh/hook")
                        && !key.starts_with("argocd.argoproj.io/hook")
                        && key != "argocd.argoproj.io/sync-wave",
                    "{key} on {} {}",
                    o["kind"],
                    o["metadata"]["name"]
                );
            }
        }
        // The healthcheck, and Volcano admission's certificate Job.
        let jobs: Vec<&str> = objects
            .iter()
            .filter(|o| o["kind"] == "Job")
            .map(|o| o["metadata"]["name"].as_str().unwrap())
            .filter(|n| n.starts_with("healthcheck-"))
            .collect();
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        let hash = jobs[0].strip_prefix("healthcheck-").unwrap();
        assert!(
            hash.len() == 10
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{hash}"
        );
    }

    /// Static NFS storage: each claim binds its own volume and the volume is reserved for
    /// that claim, so neither binds another entry's (or anyone's) object.
    #[test]
    fn static_nfs_claim_and_volume_name_each_other() {
        let objects = built(
            "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks}\nstorage:\n\
             - {name: nfs-pvc, mountPath: /mnt/nfs, size: 1Gi, nfs: {server: 10.0.0.4, path: /share}}\n\
             - {name: data, namespace: jobs, mountPath: /mnt/data, size: 2Gi, nfs: {server: 10.0.0.4, path: /data}}\n",
        );
        for (claim, volume, namespace) in [
            ("nfs-pvc", "nfs-pv", "default"),
            ("data", "data-pv", "jobs"),
        ] {
            let pvc = find(&objects, "PersistentVolumeClaim", claim);
            assert_eq!(pvc["metadata"]["namespace"], namespace);
            assert_eq!(pvc["spec"]["volumeName"], volume);
            let pv = find(&objects, "PersistentVolume", volume);
            assert_eq!(
                pv["spec"]["claimRef"],
                json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": claim, "namespace": namespace})
            );
        }
    }
}
