//! `amlc diff` end to end through the binary, with amlc's own renderer.
//!
//! The config cases render with the embedded components.

use serde_json::Value;

const CONFIG: &str = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: aks\n  nodeCount: 3\ninference:\n  enabled: true\n  allowInsecureConnections: true\n";

use crate::common;

use common::run as amlc;

#[test]
fn same_config_is_exit_0() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("a.yaml"),
        format!("{CONFIG}profile: test\n"),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("b.yaml"),
        format!("{CONFIG}profile: test\n"),
    )
    .unwrap();
    let (code, stdout, stderr) = amlc(tmp.path(), &["diff", "-c", "b.yaml", "--against", "a.yaml"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout, "0 to add, 0 to change, 0 to remove\n");
}

/// The anchor: a change of `profile` shows the azureml-fe-v2 replicas change,
/// exits 1, and names azureml-fe-v2 among the workloads that restart only if its pod
/// template changed.
#[test]
fn profile_change_shows_the_azureml_fe_replicas_change() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("test.yaml"),
        format!("{CONFIG}profile: test\n"),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("prod.yaml"),
        format!("{CONFIG}profile: production\n"),
    )
    .unwrap();

    let (code, stdout, stderr) = amlc(
        tmp.path(),
        &["diff", "-c", "prod.yaml", "--against", "test.yaml"],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("--- config apps/v1 Deployment azureml/azureml-fe-v2\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-  replicas: 1\n+  replicas: 3\n"),
        "{stdout}"
    );

    let (code, json, _) = amlc(
        tmp.path(),
        &[
            "diff",
            "-c",
            "prod.yaml",
            "--against",
            "test.yaml",
            "--output",
            "json",
        ],
    );
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&json).unwrap();
    let fe = report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["name"] == "azureml-fe-v2")
        .expect("azureml-fe-v2 changes");
    // Restarts exactly when a changed field lies inside the pod template.
    let paths: Vec<&str> = fe["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(paths.contains(&"/spec/replicas"), "{paths:?}");
    let template_changed = paths.iter().any(|p| p.starts_with("/spec/template/"));
    let restarts = report["restarts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "azureml-fe-v2");
    assert_eq!(restarts, template_changed, "{paths:?}");
    assert_eq!(fe["restarts"], Value::Bool(restarts));
    if !template_changed {
        assert!(
            !stdout.contains("Pods will restart: Deployment azureml/azureml-fe-v2"),
            "{stdout}"
        );
    }
}
