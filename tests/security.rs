//! Hardened as rendered (DESIGN.md, "Second round", "Hardened"), over every golden case:
//!
//! - every pod template meets the Pod Security Standards `restricted` level, judged control
//!   by control (baseline and restricted tables of the Kubernetes documentation), except the
//!   controls its component's metadata allows, which only node agents (DaemonSets) may do,
//!   with a reason; and no agent falls below the level it declares;
//! - pods of components that do not call the API server get no token, and those whose
//!   program allows it a read-only root filesystem.

use std::collections::{BTreeMap, BTreeSet};

use crate::common;

use amlc::catalog::{Catalog, ComponentMeta};
use amlc::soundness::pod_security::{self, Control, Level};
use serde_json::Value;

fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| Catalog::embedded().expect("the built-in components load"))
}

/// The metadata of the component that rendered an object (amlc labels every object with it).
fn component_of(o: &Value) -> Option<(&'static str, &'static ComponentMeta)> {
    let name = o.pointer("/metadata/labels/app.kubernetes.io~1name")?.as_str()?;
    catalog().get(name).map(|c| (c.name.as_str(), &c.meta))
}

/// Every golden case that renders, with its objects.
fn golden_renders() -> Vec<(String, Vec<Value>)> {
    common::golden_cases()
        .into_iter()
        .filter(|case| {
            std::fs::read_to_string(case.join("expected/exit_code"))
                .is_ok_and(|c| c.trim() == "0")
        })
        .map(|case| {
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            (name, common::expected_objects(&case))
        })
        .collect()
}

fn label(o: &Value) -> String {
    format!(
        "{} {}",
        o["kind"].as_str().unwrap_or("?"),
        o["metadata"]["name"].as_str().unwrap_or("?")
    )
}

fn pod_template(o: &Value) -> Option<&Value> {
    match o["kind"].as_str()? {
        "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet" | "Job" => {
            o.pointer("/spec/template")
        }
        "CronJob" => o.pointer("/spec/jobTemplate/spec/template"),
        _ => None,
    }
}

#[test]
fn every_pod_meets_restricted_or_its_components_declared_exception() {
    let mut pods = 0;
    let mut agents: BTreeMap<&str, Level> = BTreeMap::new();
    for (case, objects) in golden_renders() {
        for o in &objects {
            let Some(template) = pod_template(o) else {
                continue;
            };
            let (component, meta) = component_of(o)
                .unwrap_or_else(|| panic!("{case}: {} has no built-in component", label(o)));
            let violations = pod_security::violations(&template["metadata"], &template["spec"]);
            let failed = pod_security::controls(&violations);
            let allowed = pod_security::with_implied(&meta.pod_security.allows);
            let beyond: Vec<String> = violations
                .iter()
                .filter(|v| !allowed.contains(&v.control))
                .map(ToString::to_string)
                .collect();
            assert!(
                beyond.is_empty(),
                "{case}: {} ({component}) fails controls its component does not allow:\n  {}",
                label(o),
                beyond.join("\n  ")
            );
            let level = pod_security::level_of(&failed);
            assert!(
                level >= meta.pod_security.level,
                "{case}: {} meets only {level}, below its declared {}",
                label(o),
                meta.pod_security.level
            );
            if level < Level::Restricted {
                assert_eq!(
                    o["kind"], "DaemonSet",
                    "{case}: {} is below restricted and not a node agent",
                    label(o)
                );
                assert!(
                    meta.pod_security
                        .why
                        .as_deref()
                        .is_some_and(|w| w.len() > 40),
                    "{component}: an exception needs its reason"
                );
                agents.insert(component, level);
            }
            pods += 1;
        }
    }
    assert!(pods > 150, "only {pods} pod templates judged");
    // The node agents the design names, each on the level it declares, and no other.
    assert_eq!(
        agents,
        BTreeMap::from([
            ("dcgm-exporter", Level::Privileged),
            ("fluent-bit", Level::Privileged),
            ("nvidia-device-plugin", Level::Privileged),
        ])
    );
}

/// The Prometheus pods are the operator's StatefulSet's: the custom resource carries their
/// pod security context, and the operator gives their containers the restricted settings.
#[test]
fn the_prometheus_pods_run_as_non_root_with_the_default_seccomp_profile() {
    let mut seen = 0;
    for (case, objects) in golden_renders() {
        for o in objects.iter().filter(|o| o["kind"] == "Prometheus") {
            let sc = &o["spec"]["securityContext"];
            assert_eq!(sc["runAsNonRoot"], true, "{case}");
            assert_ne!(sc["runAsUser"], 0, "{case}");
            assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{case}");
            seen += 1;
        }
    }
    assert!(seen > 10);
}

#[test]
fn pods_get_a_token_only_when_they_call_the_api_server() {
    let mut without = BTreeSet::new();
    for (case, objects) in golden_renders() {
        for o in &objects {
            let (Some(template), Some((component, meta))) = (pod_template(o), component_of(o))
            else {
                continue;
            };
            let mounted = template["spec"]["automountServiceAccountToken"] != false;
            assert_eq!(
                mounted,
                meta.pod_security.calls_api_server,
                "{case}: {} ({component})",
                label(o)
            );
            if !mounted {
                without.insert(component);
            }
        }
    }
    assert_eq!(
        without,
        BTreeSet::from(["dcgm-exporter", "nvidia-device-plugin", "relayserver"])
    );
}

#[test]
fn root_filesystems_are_read_only_where_the_program_allows_it() {
    for (case, objects) in golden_renders() {
        for o in &objects {
            let (Some(template), Some((component, meta))) = (pod_template(o), component_of(o))
            else {
                continue;
            };
            if !meta.pod_security.read_only_root_filesystem {
                continue;
            }
            for c in template["spec"]["containers"].as_array().into_iter().flatten() {
                assert_eq!(
                    c["securityContext"]["readOnlyRootFilesystem"], true,
                    "{case}: {} ({component}) container {}",
                    label(o),
                    c["name"]
                );
            }
        }
    }
}

/// The test above is only as good as the judge: a pod that fails each kind of control is
/// caught.
#[test]
fn the_judge_catches_what_a_component_does_not_allow() {
    let spec: Value = serde_json::json!({
        "hostNetwork": true,
        "containers": [{"name": "c", "securityContext": {"privileged": true}}],
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}]
    });
    let failed = pod_security::controls(&pod_security::violations(&Value::Null, &spec));
    for c in [
        Control::HostNamespaces,
        Control::Privileged,
        Control::HostPath,
        Control::PrivilegeEscalation,
        Control::RunAsNonRoot,
        Control::RestrictedSeccomp,
        Control::RestrictedCapabilities,
    ] {
        assert!(failed.contains(&c), "{c} not caught: {failed:?}");
    }
    assert_eq!(pod_security::level_of(&failed), Level::Privileged);
}
