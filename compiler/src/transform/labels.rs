//! Common labels on every object (`metadata.labels`, not pod templates or selectors, so
//! adding or changing them never changes a Deployment's immutable selector):
//! `app.kubernetes.io/name` (the component), `app.kubernetes.io/part-of: azureml`,
//! `app.kubernetes.io/managed-by: amlc`, and `amlc/instance: <extension name>`, which the
//! diff uses to recognise amlc's objects on a cluster. `app.kubernetes.io/instance` is
//! deliberately not used: Argo CD tracks applications with it and would overwrite it.

use serde_json::Value;

use crate::object::{self, Object};

/// The label the diff matches this extension's objects by.
pub const INSTANCE_LABEL: &str = "amlc/instance";

pub fn apply(mut objects: Vec<Object>, instance: &str) -> Vec<Object> {
    for o in &mut objects {
        let component = o.component.clone();
        let Some(meta) = object::object_entry(&mut o.value, "metadata") else {
            continue;
        };
        let labels = meta
            .entry("labels")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if labels.is_null() {
            *labels = Value::Object(serde_json::Map::new());
        }
        let Some(labels) = labels.as_object_mut() else {
            continue;
        };
        for (k, v) in [
            ("app.kubernetes.io/name", component.as_str()),
            ("app.kubernetes.io/part-of", "azureml"),
            ("app.kubernetes.io/managed-by", "amlc"),
            (INSTANCE_LABEL, instance),
        ] {
            labels.insert(k.into(), Value::String(v.into()));
        }
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::table::{expect, objects};

    #[test]
    fn every_object_gets_the_common_labels() {
        expect(
            &apply(
                objects("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"),
                "ml",
            ),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {app.kubernetes.io/name: comp, app.kubernetes.io/part-of: azureml, app.kubernetes.io/managed-by: amlc, amlc/instance: ml}\n",
        );
    }

    #[test]
    fn existing_labels_are_kept_and_pod_templates_untouched() {
        expect(
            &apply(
                objects(
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, labels: {app: a}}\nspec: {template: {metadata: {labels: {app: a}}}}\n",
                ),
                "azureml",
            ),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n  labels: {app: a, app.kubernetes.io/name: comp, app.kubernetes.io/part-of: azureml, app.kubernetes.io/managed-by: amlc, amlc/instance: azureml}\nspec: {template: {metadata: {labels: {app: a}}}}\n",
        );
    }
}
