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

use crate::object::Object;

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
    let cluster_scoped: BTreeSet<(String, String)> =
        namespace::cluster_scoped_kinds(scoping.iter().copied());
    let served = sync_options::served_kinds(scoping);
    // These change each object by itself alone, so parts of the set go through them in
    // parallel; the checksums read other objects (ConfigMaps), so they wait for all.
    let objects: Vec<Object> = parts(objects)
        .into_par_iter()
        .flat_map_iter(|part| {
            let part = namespace::apply(part, &settings.namespace, &cluster_scoped);
            let part = labels::apply(part, &settings.instance);
            let part = scheduling::apply(part, &settings.node_selector, &settings.tolerations);
            let part = pod_security::apply(part, &settings.pod_security, settings.default_user);
            let part = registry::apply(part, &settings.registry);
            sync_options::apply(part, &served)
        })
        .collect();
    job_name::apply(checksum::apply(objects))
}

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
