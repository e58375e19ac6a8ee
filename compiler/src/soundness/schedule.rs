//! The scheduler's node filter, simulated: whether a pod spec (its nodeSelector, required
//! node affinity and tolerations) may land on a kind of node (its labels and taints).
//! Requests against capacity are `capacity`'s and `doctor`'s business, not this one's.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::ObjectRef;
use crate::object::{self, At};

/// One taint of a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeTaint {
    pub key: String,
    pub value: String,
    pub effect: String,
}

/// A kind of node: what every node of it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeClass {
    /// How the user knows these nodes, e.g. `nodes labelled agentpool=gpupool`.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<NodeTaint>,
}

/// Every pod spec of the objects: workloads' pod templates, and the custom resources whose
/// operators make pods from a pod-like spec (the Prometheus operator's StatefulSet).
pub fn pod_specs<'a>(objects: &[&'a Value]) -> Vec<(ObjectRef, &'a Value)> {
    objects
        .iter()
        .filter_map(|v| {
            let spec = match object::pod_template(v) {
                Some(t) => t.get("spec")?,
                None if object::group(v) == "monitoring.coreos.com"
                    && matches!(object::kind(v), "Prometheus" | "Alertmanager") =>
                {
                    v.get("spec")?
                }
                None => return None,
            };
            Some((ObjectRef::of(v), spec))
        })
        .collect()
}

/// Ok when some node class admits the spec; else why each one does not.
pub fn admitting(spec: &Value, nodes: &[NodeClass]) -> Result<(), Vec<String>> {
    if nodes.is_empty() {
        return Ok(());
    }
    let mut reasons = Vec::new();
    for node in nodes {
        match fits(spec, node) {
            Ok(()) => return Ok(()),
            Err(why) => reasons.push(format!("{}: {why}", node.name)),
        }
    }
    Err(reasons)
}

/// Whether one node class admits a pod spec; else the first reason it does not.
pub fn fits(spec: &Value, node: &NodeClass) -> Result<(), String> {
    if let Some(selector) = spec.get("nodeSelector").and_then(Value::as_object) {
        for (k, v) in selector {
            let want = v.as_str().unwrap_or_default();
            if node.labels.get(k).map(String::as_str) != Some(want) {
                return Err(format!("no label {k}={want}"));
            }
        }
    }
    if let Some(terms) = spec
        .at("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array)
        && !terms.is_empty()
        && !terms.iter().any(|t| term_matches(t, &node.labels))
    {
        return Err("no required node affinity term matches".into());
    }
    let tolerations: Vec<&Value> = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .map(|l| l.iter().collect())
        .unwrap_or_default();
    for taint in &node.taints {
        if taint.effect == "PreferNoSchedule" {
            continue;
        }
        if !tolerations.iter().any(|t| tolerates(t, taint)) {
            return Err(format!(
                "taint {}={}:{} not tolerated",
                taint.key, taint.value, taint.effect
            ));
        }
    }
    Ok(())
}

/// Kubernetes' toleration matching (core/v1 Toleration.ToleratesTaint).
pub fn tolerates(t: &Value, taint: &NodeTaint) -> bool {
    let effect = t["effect"].as_str().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = t["key"].as_str().unwrap_or("");
    let operator = t["operator"].as_str().unwrap_or("Equal");
    if key.is_empty() {
        // An empty key with Exists tolerates everything.
        return operator == "Exists";
    }
    if key != taint.key {
        return false;
    }
    match operator {
        "Exists" => true,
        "Equal" => t["value"].as_str().unwrap_or("") == taint.value,
        _ => false,
    }
}

fn term_matches(term: &Value, labels: &BTreeMap<String, String>) -> bool {
    let exprs = term.get("matchExpressions").and_then(Value::as_array);
    exprs.into_iter().flatten().all(|e| {
        let key = e["key"].as_str().unwrap_or("");
        let values: Vec<&str> = e["values"]
            .as_array()
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let have = labels.get(key).map(String::as_str);
        match e["operator"].as_str().unwrap_or("") {
            "In" => have.is_some_and(|h| values.contains(&h)),
            "NotIn" => have.is_none_or(|h| !values.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            "Gt" | "Lt" => {
                let (Some(h), Some(v)) = (
                    have.and_then(|h| h.parse::<i64>().ok()),
                    values.first().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if e["operator"] == "Gt" { h > v } else { h < v }
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(labels: &[(&str, &str)], taints: &[(&str, &str, &str)]) -> NodeClass {
        NodeClass {
            name: "n".into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            taints: taints
                .iter()
                .map(|(k, v, e)| NodeTaint {
                    key: (*k).into(),
                    value: (*v).into(),
                    effect: (*e).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn selector_affinity_and_taints() {
        let gpu = node(
            &[("pool", "gpu")],
            &[("ml.azure.com/amlarc", "true", "NoSchedule")],
        );
        let plain = json!({});
        assert_eq!(
            fits(&plain, &gpu),
            Err("taint ml.azure.com/amlarc=true:NoSchedule not tolerated".into())
        );
        let tolerant = json!({"tolerations": [{"key": "ml.azure.com/amlarc", "operator": "Equal", "value": "true"}]});
        assert_eq!(fits(&tolerant, &gpu), Ok(()));
        let wrong_value =
            json!({"tolerations": [{"key": "ml.azure.com/amlarc", "value": "false"}]});
        assert!(fits(&wrong_value, &gpu).is_err());
        let everything = json!({"tolerations": [{"operator": "Exists"}]});
        assert_eq!(fits(&everything, &gpu), Ok(()));
        let other_effect = json!({"tolerations": [{"key": "ml.azure.com/amlarc", "operator": "Exists", "effect": "NoExecute"}]});
        assert!(fits(&other_effect, &gpu).is_err());
        let soft = node(&[], &[("k", "v", "PreferNoSchedule")]);
        assert_eq!(fits(&plain, &soft), Ok(()));
        let selected =
            json!({"nodeSelector": {"pool": "cpu"}, "tolerations": [{"operator": "Exists"}]});
        assert_eq!(fits(&selected, &gpu), Err("no label pool=cpu".into()));
        let affinity = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["gpu"]}]}]}}},
            "tolerations": [{"operator": "Exists"}]});
        assert_eq!(fits(&affinity, &gpu), Ok(()));
        let not_in = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "NotIn", "values": ["gpu"]}]}]}}}});
        assert!(fits(&not_in, &node(&[("pool", "gpu")], &[])).is_err());
    }

    #[test]
    fn some_class_must_admit() {
        let classes = [
            node(&[("pool", "gpu")], &[("w", "true", "NoExecute")]),
            node(&[("pool", "cpu")], &[]),
        ];
        assert_eq!(admitting(&json!({}), &classes), Ok(()));
        let pinned = json!({"nodeSelector": {"pool": "gpu"}});
        let Err(reasons) = admitting(&pinned, &classes) else {
            panic!("expected no class")
        };
        assert_eq!(reasons.len(), 2, "{reasons:?}");
    }
}
