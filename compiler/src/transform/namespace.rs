//! Puts namespaced objects in the extension's namespace (`azureml`) and keeps cluster-scoped
//! objects free of one. An object that already names a namespace keeps it: the storage
//! claims live where the jobs run (seed "Azure Machine Learning jobs connect with custom
//! data storage": "Create PVC in the same Kubernetes namespace with ML workloads").

use std::collections::BTreeSet;

use serde_json::Value;

use crate::object::{self, Object};

/// Built-in cluster-scoped kinds amlc can render, as (API group, kind).
pub const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("networking.k8s.io", "IngressClass"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("security.openshift.io", "SecurityContextConstraints"),
    ("storage.k8s.io", "StorageClass"),
];

/// The built-in cluster-scoped kinds plus those of every `scope: Cluster` CRD among
/// `objects`.
pub fn cluster_scoped_kinds<'a>(
    objects: impl IntoIterator<Item = &'a Value>,
) -> BTreeSet<(String, String)> {
    let mut set: BTreeSet<(String, String)> = CLUSTER_SCOPED
        .iter()
        .map(|(g, k)| ((*g).to_owned(), (*k).to_owned()))
        .collect();
    for v in objects
        .into_iter()
        .filter(|v| object::kind(v) == "CustomResourceDefinition")
    {
        let spec = &v["spec"];
        if spec["scope"] == "Cluster"
            && let (Some(g), Some(k)) = (spec["group"].as_str(), spec["names"]["kind"].as_str())
        {
            set.insert((g.to_owned(), k.to_owned()));
        }
    }
    set
}

pub fn apply(
    mut objects: Vec<Object>,
    namespace: &str,
    cluster_scoped: &BTreeSet<(String, String)>,
) -> Vec<Object> {
    for o in &mut objects {
        let key = (object::group(&o.value).to_owned(), o.kind().to_owned());
        let Some(meta) = object::object_entry(&mut o.value, "metadata") else {
            continue;
        };
        if cluster_scoped.contains(&key) {
            meta.remove("namespace");
        } else if !meta.get("namespace").is_some_and(Value::is_string) {
            meta.insert("namespace".into(), Value::String(namespace.to_owned()));
        }
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::table::{expect, objects};

    fn run(input: &str, output: &str) {
        let objects = objects(input);
        let scoped = cluster_scoped_kinds(objects.iter().map(|o| &o.value));
        expect(&apply(objects, "azureml", &scoped), output);
    }

    #[test]
    fn namespaced_objects_move_into_azureml() {
        run(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: gateway}\n",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: gateway, namespace: azureml}\n",
        );
    }

    #[test]
    fn storage_claims_keep_their_namespace() {
        run(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: nfs-pvc, namespace: default}\n",
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: nfs-pvc, namespace: default}\n",
        );
    }

    #[test]
    fn cluster_scoped_objects_get_no_namespace() {
        run(
            "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: nfs-pv, namespace: x}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n",
            "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: nfs-pv}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n",
        );
    }

    #[test]
    fn custom_resources_follow_their_crd_scope() {
        run(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: instancetypes.amlarc.azureml.com}\nspec: {group: amlarc.azureml.com, scope: Cluster, names: {kind: InstanceType}}\n---\napiVersion: amlarc.azureml.com/v1alpha1\nkind: InstanceType\nmetadata: {name: defaultinstancetype}\n---\napiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: prom-prometheus}\n",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: instancetypes.amlarc.azureml.com}\nspec: {group: amlarc.azureml.com, scope: Cluster, names: {kind: InstanceType}}\n---\napiVersion: amlarc.azureml.com/v1alpha1\nkind: InstanceType\nmetadata: {name: defaultinstancetype}\n---\napiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: prom-prometheus, namespace: azureml}\n",
        );
    }
}
