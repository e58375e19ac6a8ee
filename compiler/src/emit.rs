//! Output shapes (DESIGN.md, "Output shapes"): the YAML stream and the `--target dir` file
//! set with its `kustomization.yaml`. Pure: returns text and file names, writes nothing.
//!
//! Keys are sorted at every level, documents are separated by `---`, lines end in LF and
//! the text ends with one newline, so the same objects always give the same bytes.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::object;

/// A copy of a value with every object's keys in sorted order, whatever map type
/// serde_json was built with.
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, Value> = map.iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Compact JSON with sorted keys: the form hashed for checksums.
pub fn canonical_json(v: &Value) -> String {
    serde_json::to_string(&sorted(v)).unwrap_or_default()
}

/// One object as a YAML document (no `---`), ending in a newline.
pub fn yaml_document(v: &Value) -> String {
    // Serialising a serde_json::Value to YAML cannot fail: every key is a string.
    let text = serde_yaml_ng::to_string(&sorted(v)).unwrap_or_default();
    text.replace("\r\n", "\n")
}

/// The YAML stream: documents separated by `---` lines.
pub fn yaml_stream(objects: &[Value]) -> String {
    let mut out = String::new();
    for (i, v) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&yaml_document(v));
    }
    out
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
/// prefix.
pub fn dir_files(objects: &[Value]) -> Vec<(String, String)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for v in objects {
        *counts.entry(file_name(v, false)).or_default() += 1;
    }
    let mut files: Vec<(String, String)> = objects
        .iter()
        .map(|v| {
            let plain = file_name(v, false);
            let collides = counts.get(&plain).is_some_and(|n| *n > 1);
            (file_name(v, collides), yaml_document(v))
        })
        .collect();
    let resources: Vec<Value> = files.iter().map(|(n, _)| Value::String(n.clone())).collect();
    // kustomize re-sorts resources by kind unless told to keep the listed (install) order.
    let kustomization = serde_json::json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
        "sortOptions": {"order": "fifo"},
    });
    files.push((KUSTOMIZATION.to_owned(), yaml_document(&kustomization)));
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
    fn the_stream_separates_documents_and_sorts_keys() {
        let out = yaml_stream(&[
            json!({"kind": "A", "apiVersion": "v1", "metadata": {"name": "a"}}),
            json!({"kind": "B", "apiVersion": "v1", "metadata": {"name": "b"}}),
        ]);
        assert_eq!(
            out,
            "apiVersion: v1\nkind: A\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: B\nmetadata:\n  name: b\n"
        );
    }

    #[test]
    fn strings_that_look_like_other_types_stay_strings() {
        let out = yaml_document(&json!({"a": "true", "b": "1", "c": "", "d": "null"}));
        let back: Value = serde_yaml_ng::from_str(&out).unwrap();
        assert_eq!(back, json!({"a": "true", "b": "1", "c": "", "d": "null"}));
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
        let files = dir_files(&[a, b, c]);
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
