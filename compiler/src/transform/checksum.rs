//! `checksum/config`: a pod-template annotation holding the sha256 of the rendered
//! ConfigMaps the pod uses (volumes, projected volumes, `envFrom`, `env.valueFrom`), so a
//! configuration change rolls exactly the pods that read it. ConfigMaps amlc does not
//! render (created by someone else) are not hashed; a pod using none gets no annotation.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::object::{self, At, Object};

pub const ANNOTATION: &str = "checksum/config";

pub fn apply(mut objects: Vec<Object>) -> Vec<Object> {
    let config_maps = ConfigMaps::of(objects.iter().map(|o| &o.value));
    for o in &mut objects {
        if let Some(digest) = Uses::of(&o.value).and_then(|u| u.digest(&config_maps)) {
            annotate(&mut o.value, digest);
        }
    }
    objects
}

/// The rendered ConfigMaps: (namespace, name) -> canonical JSON of their content.
pub struct ConfigMaps(BTreeMap<(String, String), String>);

impl ConfigMaps {
    pub fn of<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Self {
        ConfigMaps(
            objects
                .into_iter()
                .filter(|v| object::kind(v) == "ConfigMap" && object::group(v).is_empty())
                .map(|v| {
                    let content = serde_json::json!({
                        "binaryData": v.get("binaryData"),
                        "data": v.get("data"),
                    });
                    (
                        (
                            object::namespace(v).unwrap_or("").to_owned(),
                            object::name(v).to_owned(),
                        ),
                        crate::emit::canonical_json(&content),
                    )
                })
                .collect(),
        )
    }
}

/// The ConfigMaps a pod template uses, by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uses {
    namespace: String,
    names: BTreeSet<String>,
}

impl Uses {
    /// What an object's pod template uses; None for an object without one (which this
    /// transform leaves alone).
    pub fn of(value: &Value) -> Option<Self> {
        let template = object::pod_template(value)?;
        Some(Uses {
            namespace: object::namespace(value).unwrap_or("").to_owned(),
            names: referenced_config_maps(template.get("spec").unwrap_or(&Value::Null)),
        })
    }

    /// The annotation's value: the hash of the rendered ConfigMaps among those used; None
    /// when the render holds none of them.
    pub fn digest(&self, config_maps: &ConfigMaps) -> Option<String> {
        let mut hasher = Sha256::new();
        let mut any = false;
        for name in &self.names {
            if let Some(content) = config_maps.0.get(&(self.namespace.clone(), name.clone())) {
                any = true;
                hasher.update(name.as_bytes());
                hasher.update(b"\n");
                hasher.update(content.as_bytes());
                hasher.update(b"\n");
            }
        }
        any.then(|| crate::emit::hex(&hasher.finalize()))
    }
}

/// Sets the annotation on an object's pod template.
pub fn annotate(value: &mut Value, digest: String) {
    let Some(template) = object::pod_template_mut(value) else {
        return;
    };
    let Some(meta) = object::object_entry(template, "metadata") else {
        return;
    };
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if let Some(a) = annotations.as_object_mut() {
        a.insert(ANNOTATION.into(), Value::String(digest));
    }
}

/// Names of the ConfigMaps a pod spec uses, sorted.
fn referenced_config_maps(spec: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut add = |v: Option<&Value>| {
        if let Some(n) = v.and_then(Value::as_str) {
            names.insert(n.to_owned());
        }
    };
    for volume in spec["volumes"].as_array().into_iter().flatten() {
        add(volume.at("/configMap/name"));
        for source in volume
            .at("/projected/sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            add(source.at("/configMap/name"));
        }
    }
    for list in ["containers", "initContainers"] {
        for c in spec[list].as_array().into_iter().flatten() {
            for from in c["envFrom"].as_array().into_iter().flatten() {
                add(from.at("/configMapRef/name"));
            }
            for env in c["env"].as_array().into_iter().flatten() {
                add(env.at("/valueFrom/configMapKeyRef/name"));
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::table::objects;

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: azureml}\ndata: {a: '1'}\n";

    fn checksum(yaml: &str) -> Option<String> {
        let out = apply(objects(yaml));
        out.iter()
            .find(|o| o.kind() == "Deployment")
            .and_then(|o| {
                o.value
                    .at("/spec/template/metadata/annotations/checksum~1config")
            })
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    fn deployment(spec: &str) -> String {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d, namespace: azureml}}\nspec: {{template: {{spec: {spec}}}}}\n"
        )
    }

    #[test]
    fn a_mounted_config_map_is_hashed() {
        let sum = checksum(&format!(
            "{CM}---\n{}",
            deployment("{volumes: [{name: v, configMap: {name: cfg}}]}")
        ));
        assert_eq!(sum.as_deref().map(str::len), Some(64));
    }

    #[test]
    fn env_from_and_key_refs_count_and_content_changes_the_sum() {
        let a = checksum(&format!(
            "{CM}---\n{}",
            deployment("{containers: [{name: c, envFrom: [{configMapRef: {name: cfg}}]}]}")
        ));
        let b = checksum(&format!(
            "{}---\n{}",
            CM.replace("'1'", "'2'"),
            deployment(
                "{containers: [{name: c, env: [{name: X, valueFrom: {configMapKeyRef: {name: cfg, key: a}}}]}]}"
            )
        ));
        assert!(a.is_some() && b.is_some());
        assert_ne!(a, b);
    }

    #[test]
    fn pods_without_rendered_config_maps_get_no_annotation() {
        assert_eq!(
            checksum(&deployment(
                "{volumes: [{name: v, configMap: {name: elsewhere}}]}"
            )),
            None
        );
        assert_eq!(
            checksum(&format!("{CM}---\n{}", deployment("{containers: []}"))),
            None
        );
    }

    #[test]
    fn a_config_map_in_another_namespace_is_not_used() {
        let other = CM.replace("namespace: azureml", "namespace: other");
        assert_eq!(
            checksum(&format!(
                "{other}---\n{}",
                deployment("{volumes: [{name: v, configMap: {name: cfg}}]}")
            )),
            None
        );
    }
}
