//! Where extension pods may run: the config's `nodeSelector` on every extension pod
//! template (facts sheet: `nodeSelector.KEY` settings apply to every extension pod), and
//! the system tolerations (seed "Supported Azure Machine Learning taints and tolerations":
//! extension system pods tolerate `amlarc overall` and `amlarc system`).
//!
//! The Prometheus custom resource carries both for the StatefulSet its operator creates.
//! Workload tolerations are not applied here: they are data in the operators' configuration
//! and the default instance type, rendered by those components' templates.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::object::{self, Object};

pub fn apply(
    mut objects: Vec<Object>,
    node_selector: &BTreeMap<String, String>,
    tolerations: &[Value],
) -> Vec<Object> {
    for o in &mut objects {
        let is_prometheus =
            object::group(&o.value) == super::PROMETHEUS_GROUP && o.kind() == "Prometheus";
        let spec = if is_prometheus {
            o.value.get_mut("spec")
        } else {
            object::pod_template_mut(&mut o.value).and_then(|t| t.get_mut("spec"))
        };
        if let Some(spec) = spec {
            schedule(spec, node_selector, tolerations);
        }
    }
    objects
}

/// Adds the selector (the config wins over a template's own value for the same key) and
/// appends the tolerations a pod does not already have.
fn schedule(spec: &mut Value, node_selector: &BTreeMap<String, String>, tolerations: &[Value]) {
    if !node_selector.is_empty()
        && let Some(selector) = object::object_entry(spec, "nodeSelector")
    {
        for (k, v) in node_selector {
            selector.insert(k.clone(), Value::String(v.clone()));
        }
    }
    if tolerations.is_empty() {
        return;
    }
    let Some(map) = spec.as_object_mut() else {
        return;
    };
    let list = map
        .entry("tolerations")
        .or_insert_with(|| Value::Array(Vec::new()));
    if list.is_null() {
        *list = Value::Array(Vec::new());
    }
    if let Some(list) = list.as_array_mut() {
        for t in tolerations {
            if !list.contains(t) {
                list.push(t.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::table::{expect, objects};
    use serde_json::json;

    fn selector() -> BTreeMap<String, String> {
        BTreeMap::from([("agentpool".to_owned(), "mlpool".to_owned())])
    }

    fn system() -> Vec<Value> {
        vec![json!({"key": "ml.azure.com/amlarc", "operator": "Equal", "value": "true"})]
    }

    #[test]
    fn pod_templates_get_selector_and_tolerations() {
        expect(
            &apply(
                objects(
                    "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: a}\nspec: {template: {spec: {containers: []}}}\n",
                ),
                &selector(),
                &system(),
            ),
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: a}\nspec: {template: {spec: {containers: [], nodeSelector: {agentpool: mlpool}, tolerations: [{key: ml.azure.com/amlarc, operator: Equal, value: 'true'}]}}}\n",
        );
    }

    #[test]
    fn existing_tolerations_are_kept_once() {
        expect(
            &apply(
                objects(
                    "apiVersion: batch/v1\nkind: Job\nmetadata: {name: a}\nspec: {template: {spec: {tolerations: [{key: ml.azure.com/amlarc, operator: Equal, value: 'true'}, {key: g, operator: Exists}]}}}\n",
                ),
                &BTreeMap::new(),
                &system(),
            ),
            "apiVersion: batch/v1\nkind: Job\nmetadata: {name: a}\nspec: {template: {spec: {tolerations: [{key: ml.azure.com/amlarc, operator: Equal, value: 'true'}, {key: g, operator: Exists}]}}}\n",
        );
    }

    #[test]
    fn the_prometheus_resource_is_scheduled_too() {
        expect(
            &apply(
                objects(
                    "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: p}\nspec: {replicas: 1}\n",
                ),
                &selector(),
                &[],
            ),
            "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: p}\nspec: {replicas: 1, nodeSelector: {agentpool: mlpool}}\n",
        );
    }

    #[test]
    fn objects_without_pods_are_untouched() {
        let yaml =
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: a}}\n";
        expect(&apply(objects(yaml), &selector(), &system()), yaml);
    }
}
