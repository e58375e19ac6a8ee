//! Output shapes (DESIGN.md, "Output shapes"): the YAML stream and the `--target dir` file
//! set with its `kustomization.yaml`. Pure: returns text and file names, writes nothing.
//!
//! Keys are sorted at every level, documents are separated by `---`, lines end in LF and
//! the text ends with one newline, so the same objects always give the same bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::Value;

use crate::manifest::Manifest;
use crate::object;

mod document;
pub use document::{inline_string, yaml_document};

/// A copy of a value with every object's keys in sorted order, whatever map type
/// serde_json was built with.
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Compact JSON with sorted keys: the form hashed for checksums. Written straight from the
/// value, keys sorted in place: `serde_json::to_string(&sorted(v))` gives the same bytes
/// but copies the whole tree first (every Job and config is hashed on every build).
pub fn canonical_json(v: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    write_canonical(&mut out, v);
    // serde_json writes UTF-8, and keys and strings are whole `str`s.
    String::from_utf8(out).unwrap_or_default()
}

fn write_canonical(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if !map.keys().is_sorted() {
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            }
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // Strings and scalars as serde_json's compact writer writes them.
                let _ = serde_json::to_writer(&mut *out, k);
                out.push(b':');
                write_canonical(out, v);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(out, item);
            }
            out.push(b']');
        }
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

/// Bytes as lower-case hex, the way checksums and hashed names are written (one `format!`
/// per byte cost a Job's hashed name as much as half its hash).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// The YAML stream: documents separated by `---` lines.
pub fn yaml_stream(objects: &[Manifest]) -> String {
    let documents = documents(objects);
    stream_parts(&documents).concat()
}

/// Every object's YAML document, shared with the manifests (written in parallel the first
/// time): a fleet's outputs share the CRDs' documents, and keep these rather than the
/// objects or a joined copy per cluster.
pub fn documents(objects: &[Manifest]) -> Vec<Arc<str>> {
    write_documents(objects);
    objects.iter().map(|m| Arc::clone(m.document())).collect()
}

/// The YAML stream of documents in pieces (documents and `---` separators), for writing
/// without joining them first.
pub fn stream_parts(documents: &[Arc<str>]) -> Vec<&str> {
    let mut parts = Vec::with_capacity(documents.len() * 2);
    for (i, d) in documents.iter().enumerate() {
        if i > 0 {
            parts.push("---\n");
        }
        parts.push(&**d);
    }
    parts
}

/// Writes the documents not yet written, in parallel: each is a pure function of its
/// object, so the bytes do not depend on which thread wrote them.
fn write_documents(objects: &[Manifest]) {
    objects.par_iter().for_each(|m| {
        m.yaml();
    });
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
/// prefix. Documents are shared with the manifests, as in [`documents`].
pub fn dir_files(objects: &[Manifest]) -> Vec<(String, Arc<str>)> {
    write_documents(objects);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for m in objects {
        *counts.entry(file_name(m.shape(), false)).or_default() += 1;
    }
    let mut files: Vec<(String, Arc<str>)> = objects
        .iter()
        .map(|m| {
            let plain = file_name(m.shape(), false);
            let collides = counts.get(&plain).is_some_and(|n| *n > 1);
            (file_name(m.shape(), collides), Arc::clone(m.document()))
        })
        .collect();
    let resources: Vec<Value> = files
        .iter()
        .map(|(n, _)| Value::String(n.clone()))
        .collect();
    // kustomize re-sorts resources by kind unless told to keep the listed (install) order.
    let kustomization = serde_json::json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
        "sortOptions": {"order": "fifo"},
    });
    files.push((
        KUSTOMIZATION.to_owned(),
        yaml_document(&kustomization).into(),
    ));
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
    fn hex_is_formats_lower_case_hex() {
        let bytes: Vec<u8> = (0..=255).collect();
        let want: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&bytes), want);
        assert_eq!(hex(&[]), "");
    }

    /// The canonical form is serde_json's compact writing of the sorted tree, byte for byte.
    #[test]
    fn canonical_json_is_serde_jsons_of_the_sorted_tree() {
        let values = [
            json!(null),
            json!({}),
            json!([]),
            json!({"b": 1, "a": [true, false, null, -3, 18446744073709551615u64, 1.5, 1e300, -0.0]}),
            json!({"z": {"y": "quote \" backslash \\ tab \t nl \n ctl \u{1} del \u{7f}", "x": "€ é 中"}}),
            json!({"": "", "a/b": {"~": [[], {}]}, "A": "upper before lower"}),
        ];
        for v in values {
            assert_eq!(
                canonical_json(&v),
                serde_json::to_string(&sorted(&v)).unwrap(),
                "{v}"
            );
        }
    }

    #[test]
    fn the_stream_separates_documents_and_sorts_keys() {
        let out = yaml_stream(&[
            json!({"kind": "A", "apiVersion": "v1", "metadata": {"name": "a"}}).into(),
            json!({"kind": "B", "apiVersion": "v1", "metadata": {"name": "b"}}).into(),
        ]);
        assert_eq!(
            out,
            "apiVersion: v1\nkind: A\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: B\nmetadata:\n  name: b\n"
        );
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
        let files = dir_files(&[a.into(), b.into(), c.into()]);
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
