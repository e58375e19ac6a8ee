//! Normalisation applied to both sides before comparing: drops what the API server and
//! deployment tools add (status, server metadata, their annotations and labels) and
//! empty values, so only what a render controls is compared.
//!
//! It does not prune server defaults (fields only the live side has): that depends on
//! the other side and happens in `compare`. Secret data is handled by `redact`.

use serde_json::{Map, Value};

/// Metadata fields the API server sets; never differences (DESIGN.md, "Diff semantics").
const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Annotations the API server, its controllers, kubectl, Helm, Argo CD and Flux add to
/// objects they apply or manage. amlc never renders any of these; annotations amlc does
/// render (such as `checksum/config`) must never be listed here, or real changes would hide.
/// Argo CD's `app.kubernetes.io/instance` label tracking is deliberately absent: that
/// label is a common label a render may set itself.
const TOOL_ANNOTATIONS: &[&str] = &[
    // kubectl apply's client-side record; it also holds a copy of Secret data.
    "kubectl.kubernetes.io/last-applied-configuration",
    // `kubectl rollout restart` stamps the pod template.
    "kubectl.kubernetes.io/restartedAt",
    // Deployment and DaemonSet controllers.
    "deployment.kubernetes.io/revision",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.daemonset.template.generation",
    // Volume binding and provisioning controllers.
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "pv.kubernetes.io/provisioned-by",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node",
    // Argo CD annotation tracking.
    "argocd.argoproj.io/tracking-id",
    // Flux kustomize-controller (older releases stamp a checksum).
    "kustomize.toolkit.fluxcd.io/checksum",
    // Helm, which installs the extension today through `az k8s-extension`.
    "meta.helm.sh/release-name",
    "meta.helm.sh/release-namespace",
];

/// Labels the API server, Argo CD and Flux add. Same rule as `TOOL_ANNOTATIONS`.
const TOOL_LABELS: &[&str] = &[
    // Set by the API server on every Namespace.
    "kubernetes.io/metadata.name",
    // Argo CD's tracking label when `application.instanceLabelKey` is set to it.
    "argocd.argoproj.io/instance",
    // Flux kustomize-controller and helm-controller ownership labels.
    "kustomize.toolkit.fluxcd.io/name",
    "kustomize.toolkit.fluxcd.io/namespace",
    "helm.toolkit.fluxcd.io/name",
    "helm.toolkit.fluxcd.io/namespace",
];

/// Whether an object carries server metadata, i.e. was read from a cluster (a live
/// object, or one from a `kubectl get -o yaml` dump).
pub fn has_server_metadata(object: &Value) -> bool {
    object
        .get("metadata")
        .and_then(Value::as_object)
        .is_some_and(|m| {
            ["uid", "resourceVersion", "managedFields"]
                .iter()
                .any(|k| m.contains_key(*k))
        })
}

/// The normalised copy of an object: no `status`, no server metadata, no tool-added
/// annotations or labels (on the object and on its pod templates), and no null or empty
/// values, which the server drops or fills in and a render may or may not write.
pub fn normalize(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(Value::Object(meta)) = map.get_mut("metadata") {
            for key in SERVER_METADATA {
                meta.remove(*key);
            }
        }
        strip_tool_metadata(map.get_mut("metadata"));
        for template in [
            "/spec/template/metadata",
            "/spec/jobTemplate/metadata",
            "/spec/jobTemplate/spec/template/metadata",
        ] {
            strip_tool_metadata(object.pointer_mut(template));
        }
    }
    drop_empty(&mut object);
    object
}

fn strip_tool_metadata(metadata: Option<&mut Value>) {
    let Some(Value::Object(meta)) = metadata else {
        return;
    };
    // The template's creationTimestamp is always null in what the server returns.
    meta.remove("creationTimestamp");
    if let Some(Value::Object(annotations)) = meta.get_mut("annotations") {
        for key in TOOL_ANNOTATIONS {
            annotations.remove(*key);
        }
    }
    if let Some(Value::Object(labels)) = meta.get_mut("labels") {
        for key in TOOL_LABELS {
            labels.remove(*key);
        }
    }
}

/// Removes nulls and empty maps and lists, bottom up (a map left empty goes too).
fn drop_empty(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for v in map.values_mut() {
                drop_empty(v);
            }
            map.retain(|_, v| !is_empty(v));
        }
        Value::Array(items) => {
            for v in items.iter_mut() {
                drop_empty(v);
            }
        }
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Rebuilds maps in sorted key order, so printed YAML is the same whatever map type
/// serde_json was built with.
pub fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), sorted(&map[k]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drops_server_fields_and_tool_annotations_but_keeps_rendered_ones() {
        let live = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "gateway", "namespace": "azureml", "uid": "u", "resourceVersion": "7",
                "generation": 3, "creationTimestamp": "2024-01-01T00:00:00Z",
                "managedFields": [{"manager": "kubectl"}],
                "annotations": {
                    "deployment.kubernetes.io/revision": "4",
                    "kubectl.kubernetes.io/last-applied-configuration": "{}",
                    "argocd.argoproj.io/tracking-id": "app:apps/Deployment:azureml/gateway",
                    "checksum/config": "abc"
                },
                "labels": {"kustomize.toolkit.fluxcd.io/name": "x", "amlc/instance": "azureml"}
            },
            "spec": {"template": {"metadata": {"creationTimestamp": null,
                "annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}},
            "status": {"replicas": 1}
        });
        assert_eq!(
            normalize(&live),
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "name": "gateway", "namespace": "azureml",
                    "annotations": {"checksum/config": "abc"},
                    "labels": {"amlc/instance": "azureml"}
                }
            })
        );
    }

    #[test]
    fn server_metadata_marks_live_objects() {
        assert!(has_server_metadata(
            &json!({"metadata": {"resourceVersion": "1"}})
        ));
        assert!(!has_server_metadata(&json!({"metadata": {"name": "x"}})));
        assert!(!has_server_metadata(&json!("not an object")));
    }
}
