//! Every object of every golden case is valid, strictly: built-in kinds deserialise into
//! their `k8s-openapi` type and serialise back to the same JSON (an unknown field is
//! dropped on the way, so it shows as a difference; a wrong type fails to deserialise);
//! custom resources validate against the CRDs amlc renders, converted to JSON Schema with
//! objects closed unless `x-kubernetes-preserve-unknown-fields`.

use crate::common;

use std::collections::BTreeMap;

use k8s_openapi::api::{admissionregistration, apps, batch, core, networking, policy, rbac};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn round_trip<T: DeserializeOwned + Serialize>(v: &Value) -> Result<(), String> {
    let typed: T =
        serde_json::from_value(v.clone()).map_err(|e| format!("does not deserialise: {e}"))?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    match first_difference(v, &back, "") {
        None => Ok(()),
        Some(at) => Err(format!(
            "changes on a round trip at {at} (unknown field or wrong shape)"
        )),
    }
}

/// Where two values first differ. Numbers compare by value: k8s-openapi keeps JSON Schema
/// bounds as floats, so `31` comes back as `31.0`.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => (x.as_f64() != y.as_f64()).then(|| path.to_owned()),
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) => first_difference(p, q, &format!("{path}/{k}")),
                _ => Some(format!("{path}/{k}")),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, &format!("{path}/{i}"))),
        _ => (a != b).then(|| path.to_owned()),
    }
}

/// Checks a built-in kind; None when the kind is not built in.
fn check_builtin(v: &Value) -> Option<Result<(), String>> {
    let api = v["apiVersion"].as_str().unwrap_or("");
    let kind = v["kind"].as_str().unwrap_or("");
    Some(match (api, kind) {
        ("v1", "Namespace") => round_trip::<core::v1::Namespace>(v),
        ("v1", "ServiceAccount") => round_trip::<core::v1::ServiceAccount>(v),
        ("v1", "Secret") => round_trip::<core::v1::Secret>(v),
        ("v1", "ConfigMap") => round_trip::<core::v1::ConfigMap>(v),
        ("v1", "Service") => round_trip::<core::v1::Service>(v),
        ("v1", "PersistentVolume") => round_trip::<core::v1::PersistentVolume>(v),
        ("v1", "PersistentVolumeClaim") => round_trip::<core::v1::PersistentVolumeClaim>(v),
        ("v1", "ResourceQuota") => round_trip::<core::v1::ResourceQuota>(v),
        ("apps/v1", "Deployment") => round_trip::<apps::v1::Deployment>(v),
        ("apps/v1", "DaemonSet") => round_trip::<apps::v1::DaemonSet>(v),
        ("apps/v1", "StatefulSet") => round_trip::<apps::v1::StatefulSet>(v),
        ("batch/v1", "Job") => round_trip::<batch::v1::Job>(v),
        ("batch/v1", "CronJob") => round_trip::<batch::v1::CronJob>(v),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => round_trip::<rbac::v1::ClusterRole>(v),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            round_trip::<rbac::v1::ClusterRoleBinding>(v)
        }
        ("rbac.authorization.k8s.io/v1", "Role") => round_trip::<rbac::v1::Role>(v),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => round_trip::<rbac::v1::RoleBinding>(v),
        ("networking.k8s.io/v1", "Ingress") => round_trip::<networking::v1::Ingress>(v),
        ("networking.k8s.io/v1", "IngressClass") => round_trip::<networking::v1::IngressClass>(v),
        ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration") => {
            round_trip::<admissionregistration::v1::MutatingWebhookConfiguration>(v)
        }
        ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration") => {
            round_trip::<admissionregistration::v1::ValidatingWebhookConfiguration>(v)
        }
        ("policy/v1", "PodDisruptionBudget") => round_trip::<policy::v1::PodDisruptionBudget>(v),
        ("networking.k8s.io/v1", "NetworkPolicy") => round_trip::<networking::v1::NetworkPolicy>(v),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => {
            round_trip::<CustomResourceDefinition>(v)
        }
        _ => return None,
    })
}

/// A CRD's openAPIV3Schema as a JSON Schema: objects with `properties` are closed unless
/// they preserve unknown fields; int-or-string and nullable become their JSON Schema forms.
fn to_json_schema(s: &Value) -> Value {
    let Some(map) = s.as_object() else {
        return s.clone();
    };
    let mut out = serde_json::Map::new();
    let preserve = map.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true))
        || map.get("x-kubernetes-embedded-resource") == Some(&json!(true));
    for (k, v) in map {
        match k.as_str() {
            "properties" => {
                let props: serde_json::Map<String, Value> = v
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, p)| (name.clone(), to_json_schema(p)))
                    .collect();
                out.insert(k.clone(), Value::Object(props));
            }
            "items" | "additionalProperties" | "not" => {
                out.insert(k.clone(), to_json_schema(v));
            }
            "anyOf" | "oneOf" | "allOf" => {
                let list = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(to_json_schema)
                    .collect();
                out.insert(k.clone(), Value::Array(list));
            }
            "type" | "required" | "enum" | "pattern" | "minimum" | "maximum" | "minLength"
            | "maxLength" | "minItems" | "maxItems" | "uniqueItems" | "exclusiveMinimum"
            | "exclusiveMaximum" | "multipleOf" | "minProperties" | "maxProperties" => {
                out.insert(k.clone(), v.clone());
            }
            _ => {}
        }
    }
    if map.get("x-kubernetes-int-or-string") == Some(&json!(true)) {
        out.remove("type");
        out.insert(
            "anyOf".into(),
            json!([{"type": "integer"}, {"type": "string"}]),
        );
    }
    if map.get("nullable") == Some(&json!(true))
        && let Some(t) = out.get("type").cloned()
    {
        out.insert("type".into(), json!([t, "null"]));
    }
    if map.contains_key("properties") && !preserve && !map.contains_key("additionalProperties") {
        out.insert("additionalProperties".into(), json!(false));
    }
    Value::Object(out)
}

/// (apiVersion, kind) -> JSON Schema, from every CRD in amlc's components.
fn crd_schemas() -> BTreeMap<(String, String), Value> {
    let catalog = amlc::catalog::Catalog::embedded().expect("built-in components load");
    let mut out = BTreeMap::new();
    for c in catalog.components() {
        for file in &c.crds {
            for crd in amlc::render::parse_documents(&file.text).expect("CRD YAML") {
                let group = crd["spec"]["group"].as_str().unwrap_or("").to_owned();
                let kind = crd["spec"]["names"]["kind"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned();
                for version in crd["spec"]["versions"].as_array().into_iter().flatten() {
                    let name = version["name"].as_str().unwrap_or("");
                    let schema = to_json_schema(&version["schema"]["openAPIV3Schema"]);
                    out.insert((format!("{group}/{name}"), kind.clone()), schema);
                }
            }
        }
    }
    out
}

fn check_custom(v: &Value, schemas: &BTreeMap<(String, String), Value>) -> Result<(), String> {
    let key = (
        v["apiVersion"].as_str().unwrap_or("").to_owned(),
        v["kind"].as_str().unwrap_or("").to_owned(),
    );
    let schema = schemas
        .get(&key)
        .ok_or_else(|| format!("no built-in type and no CRD for {key:?}"))?;
    let validator = jsonschema::validator_for(schema).map_err(|e| format!("CRD schema: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

#[test]
fn every_golden_object_is_valid_against_the_api_types_and_crds() {
    let schemas = crd_schemas();
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in common::golden_cases() {
        for v in common::expected_objects(&case) {
            checked += 1;
            let result = check_builtin(&v).unwrap_or_else(|| check_custom(&v, &schemas));
            if let Err(e) = result {
                failures.push(format!(
                    "{}: {} {}: {e}",
                    case.file_name().unwrap_or_default().to_string_lossy(),
                    v["kind"],
                    v["metadata"]["name"]
                ));
            }
        }
    }
    assert!(checked > 1000, "too few objects checked: {checked}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_check_catches_unknown_fields_and_wrong_types() {
    let unknown =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "bogus": 1});
    assert!(check_builtin(&unknown).unwrap().is_err());
    let wrong = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "spec": {"replicas": "three"}});
    assert!(check_builtin(&wrong).unwrap().is_err());
    let schemas = crd_schemas();
    let bad_cr = json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": {"name": "p"}, "spec": {"replicaz": 1}});
    assert!(check_custom(&bad_cr, &schemas).is_err());
    let bad_type = json!({"apiVersion": "amlarc.azureml.com/v1alpha1", "kind": "InstanceType", "metadata": {"name": "t"}, "spec": {"resources": {"limits": {"memory": "two gigs"}}}});
    assert!(check_custom(&bad_type, &schemas).is_err());
}
