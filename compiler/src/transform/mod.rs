//! Cross-cutting changes applied once, in Rust, to every rendered object, instead of being
//! repeated in each template (DESIGN.md, "Pipeline"). One module per concern, each a pure
//! function over the objects with a table of YAML-in / YAML-out tests beside it.
//!
//! They do not add or remove objects, and they run in a fixed order: pod security after
//! scheduling and before Job names, so a Job's name covers its security context; checksums
//! after every change to ConfigMaps, so they hash them as they will be written; Job names
//! last, so a Job is named after its final spec.

pub mod checksum;
pub mod job_name;
pub mod labels;
pub mod namespace;
pub mod pod_security;
pub mod registry;
pub mod scheduling;
pub mod sync_options;

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use serde_json::Value;

use crate::object::{self, Object};

/// What the transforms need from the config.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub namespace: String,
    /// The extension name, for the `amlc/instance` label.
    pub instance: String,
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations of extension system pods.
    pub tolerations: Vec<Value>,
    /// `images.registry`.
    pub registry: String,
    /// Each component's pod security metadata (`catalog::PodSecurityMeta`).
    pub pod_security: pod_security::Policies,
    /// The user of containers whose component names none (`transform::pod_security`).
    pub default_user: Option<u32>,
}

/// Applies every transform, in order. `crds` are the build's CRDs made apart (`crds`):
/// they are not changed here, but the scope they give their kinds counts.
pub fn apply<'a>(
    objects: Vec<Object>,
    settings: &Settings,
    crds: impl IntoIterator<Item = &'a Value>,
) -> Vec<Object> {
    let mut scoping: Vec<&Value> = crds.into_iter().collect();
    scoping.extend(objects.iter().map(|o| &o.value));
    let scope = Scope::of(scoping);
    // These change each object by itself alone, so parts of the set go through them in
    // parallel; the checksums read other objects (ConfigMaps), so they wait for all.
    let objects: Vec<Object> = parts(objects)
        .into_par_iter()
        .flat_map_iter(|part| each(part, settings, &scope))
        .collect();
    job_name::apply(checksum::apply(objects))
}

/// What the set of objects (the CRDs among them) tells each object's transforms: which
/// kinds are cluster-scoped, and which the render's own CRDs serve.
#[derive(Debug, Clone)]
pub struct Scope {
    pub cluster_scoped: BTreeSet<(String, String)>,
    pub served: BTreeSet<(String, String)>,
}

impl Scope {
    /// The scope of a set of objects, CRDs included.
    pub fn of(objects: Vec<&Value>) -> Self {
        Scope {
            cluster_scoped: namespace::cluster_scoped_kinds(objects.iter().copied()),
            served: sync_options::served_kinds(objects),
        }
    }
}

/// The transforms that change each object by itself alone, in order (every one but the
/// checksums and Job names, which [`apply`] runs after them on the whole set).
pub fn each(objects: Vec<Object>, settings: &Settings, scope: &Scope) -> Vec<Object> {
    let objects = namespace::apply(objects, &settings.namespace, &scope.cluster_scoped);
    let objects = labels::apply(objects, &settings.instance);
    let objects = scheduling::apply(objects, &settings.node_selector, &settings.tolerations);
    let objects = pod_security::apply(objects, &settings.pod_security, settings.default_user);
    let objects = registry::apply(objects, &settings.registry);
    sync_options::apply(objects, &scope.served)
}

/// What [`each`] reads of the build for one object, besides the object and its
/// component: the namespace and extension name always (`namespace`, `labels`); whether
/// its kind is cluster-scoped (`namespace`) and served by the render's CRDs
/// (`sync_options`); and, for a pod template, the Prometheus resource or a Prometheus
/// Operator resource naming an image alone (`workload`), the node selector, tolerations,
/// registry, default user and its component's pod security (`scheduling`, `registry`,
/// `pod_security`). Two builds that give an object equal reads make the same object of it
/// (`reuse` relies on this; a test changes every other input and compares).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reads {
    pub cluster_scoped: bool,
    pub served: bool,
    pub workload: bool,
}

impl Reads {
    pub fn of(value: &Value, scope: &Scope) -> Self {
        let (group, kind) = (object::group(value), object::kind(value));
        let holds =
            |set: &BTreeSet<(String, String)>| set.iter().any(|(g, k)| k == kind && g == group);
        Reads {
            cluster_scoped: holds(&scope.cluster_scoped),
            served: holds(&scope.served),
            workload: object::pod_template(value).is_some()
                || (group == PROMETHEUS_GROUP
                    && (kind == "Prometheus" || value.pointer("/spec/image").is_some())),
        }
    }
}

/// The Prometheus Operator's group: `scheduling` and `registry` change its Prometheus
/// resource as they change pod templates.
pub(crate) const PROMETHEUS_GROUP: &str = "monitoring.coreos.com";

/// Objects transformed by one task at most: a task per object would cost more than the
/// transforms of a small one.
const PART: usize = 8;

/// The objects in parts of [`PART`], in order.
fn parts(objects: Vec<Object>) -> Vec<Vec<Object>> {
    let mut parts = Vec::with_capacity(objects.len().div_ceil(PART));
    let mut objects = objects.into_iter().peekable();
    while objects.peek().is_some() {
        parts.push(objects.by_ref().take(PART).collect());
    }
    parts
}

#[cfg(test)]
pub(crate) mod table {
    //! Helpers for the transforms' YAML-in / YAML-out tables.
    use super::*;

    pub fn objects(yaml: &str) -> Vec<Object> {
        crate::render::parse_documents(yaml)
            .unwrap()
            .into_iter()
            .map(|v| Object::new("comp", v))
            .collect()
    }

    pub fn values(objects: &[Object]) -> Vec<Value> {
        objects.iter().map(|o| o.value.clone()).collect()
    }

    pub fn expect(objects: &[Object], yaml: &str) {
        let want: Vec<Value> = crate::render::parse_documents(yaml).unwrap();
        assert_eq!(values(objects), want);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn parts_keep_every_object_in_order() {
        for n in [0, 1, PART - 1, PART, PART + 1, 3 * PART + 2] {
            let objects: Vec<Object> = (0..n)
                .map(|i| {
                    Object::new(
                        "c",
                        serde_json::json!({"metadata": {"name": i.to_string()}}),
                    )
                })
                .collect();
            let parts = parts(objects);
            assert!(parts.iter().all(|p| !p.is_empty() && p.len() <= PART));
            let names: Vec<String> = parts
                .iter()
                .flatten()
                .map(|o| o.name().to_owned())
                .collect();
            assert_eq!(names, (0..n).map(|i| i.to_string()).collect::<Vec<_>>());
        }
    }

    fn settings(instance: &str, other: bool) -> Settings {
        Settings {
            namespace: if other { "elsewhere" } else { "azureml" }.into(),
            instance: instance.into(),
            node_selector: if other {
                [("pool".to_owned(), "gpu".to_owned())].into()
            } else {
                BTreeMap::new()
            },
            tolerations: if other {
                vec![serde_json::json!({"key": "k", "operator": "Exists"})]
            } else {
                Vec::new()
            },
            registry: if other {
                "registry.example.com"
            } else {
                "mcr.microsoft.com"
            }
            .into(),
            pod_security: pod_security::Policies::new(),
            default_user: None,
        }
    }

    /// What `reuse` relies on: an object's transforms read of the build no more than its
    /// `Reads` say. For every object rendered from the golden configs: kinds it is not
    /// change nothing; a non-workload is the same under other workload settings; a
    /// workload is the same whatever the other components' pod security.
    #[test]
    fn objects_read_no_more_than_their_reads_say() {
        let catalog = Catalog::embedded().unwrap();
        let crds: Vec<Value> = catalog
            .components()
            .flat_map(|c| c.crd_objects().iter().cloned())
            .collect();
        let (mut workloads, mut others) = (0, 0);
        for config in crate::reuse::tests::golden_configs() {
            let Ok(plan) = crate::plan::plan(&config, &catalog) else {
                continue;
            };
            let settings = crate::build::transform_settings(&config, &plan, &catalog);
            let objects: Vec<Object> = crate::render::render(&plan, &catalog, false)
                .unwrap()
                .into_iter()
                .map(crate::render::Rendered::into_object)
                .collect();
            let scope = Scope::of(
                crds.iter()
                    .chain(objects.iter().map(|o| &o.value))
                    .collect(),
            );
            let mut wider = scope.clone();
            for set in [&mut wider.cluster_scoped, &mut wider.served] {
                set.insert(("example.com".into(), "Elsewhere".into()));
            }
            let mut other_workloads = settings.clone();
            other_workloads.node_selector = [("k".to_owned(), "v".to_owned())].into();
            other_workloads.tolerations =
                vec![serde_json::json!({"key": "k", "operator": "Exists"})];
            other_workloads.registry = "registry.example.com".into();
            other_workloads.default_user = Some(4242);
            for policy in other_workloads.pod_security.values_mut() {
                policy.run_as_user = Some(4343);
                policy.calls_api_server = !policy.calls_api_server;
            }
            let one = |o: &Object, settings: &Settings, scope: &Scope| {
                each(vec![o.clone()], settings, scope).remove(0)
            };
            for o in &objects {
                let reads = Reads::of(&o.value, &scope);
                assert_eq!(reads, Reads::of(&o.value, &wider), "{}", o.name());
                let made = one(o, &settings, &scope);
                assert_eq!(one(o, &settings, &wider), made, "{}", o.name());
                if reads.workload {
                    workloads += 1;
                    let mut others_changed = other_workloads.clone();
                    others_changed.node_selector = settings.node_selector.clone();
                    others_changed.tolerations = settings.tolerations.clone();
                    others_changed.registry = settings.registry.clone();
                    others_changed.default_user = settings.default_user;
                    if let Some(own) = settings.pod_security.get(&o.component) {
                        others_changed
                            .pod_security
                            .insert(o.component.clone(), own.clone());
                    }
                    assert_eq!(one(o, &others_changed, &scope), made, "{}", o.name());
                    // The workload settings do reach it.
                    assert_ne!(one(o, &other_workloads, &scope), made, "{}", o.name());
                } else {
                    others += 1;
                    assert_eq!(one(o, &other_workloads, &scope), made, "{}", o.name());
                }
            }
        }
        assert!(workloads > 100 && others > 1000, "{workloads} {others}");
    }

    /// What `crds` relies on to share CRDs between builds: every transform leaves a CRD
    /// alone but for the labels, which depend on the extension name only.
    #[test]
    fn crds_depend_on_the_extension_name_alone() {
        let catalog = Catalog::embedded().unwrap();
        let crds: Vec<Object> = catalog
            .components()
            .flat_map(|c| {
                c.crd_objects()
                    .iter()
                    .map(|v| Object::new(&c.name, v.clone()))
            })
            .collect();
        assert!(crds.len() > 20, "{}", crds.len());
        let plain = apply(crds.clone(), &settings("azureml", false), []);
        let other = apply(crds.clone(), &settings("azureml", true), []);
        assert_eq!(plain, other);
        let renamed = apply(crds.clone(), &settings("ml", false), []);
        for ((before, after), renamed) in crds.iter().zip(&plain).zip(&renamed) {
            let mut without_labels = after.value.clone();
            without_labels["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("labels");
            let mut original = before.value.clone();
            original["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("labels");
            assert_eq!(without_labels, original, "{}", before.name());
            assert_eq!(
                renamed.value["metadata"]["labels"]["amlc/instance"],
                "ml",
                "{}",
                before.name()
            );
        }
    }
}
