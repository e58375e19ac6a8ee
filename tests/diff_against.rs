//! `amlc diff --against PATH` for each kind of PATH: a YAML stream, a `--target dir`
//! folder (with and without kustomization.yaml), a `kubectl get -o yaml` dump in YAML and
//! JSON, and another amlc config through the renderer callback. Objects are fed directly;
//! no renderer is needed.

use std::path::{Path, PathBuf};

use amlc::diagnostic::Diagnostic;
use amlc::diff::{self, Options, Origin, Side, load, output};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/diff")
        .join(name)
}

fn rendered() -> Vec<Value> {
    let text = std::fs::read_to_string(fixture("rendered.yaml")).unwrap();
    load::parse_documents(&text).unwrap()
}

fn no_render(_: &Path) -> Result<Vec<Value>, Vec<Diagnostic>> {
    panic!("the renderer must not be called for manifests")
}

fn load(path: &Path) -> Side {
    load::load_against(path, &no_render).unwrap_or_else(|d| panic!("{d:?}"))
}

fn options() -> Options {
    Options {
        instance: "azureml".into(),
        ..Options::default()
    }
}

fn assert_clean(report: &diff::Report) {
    assert!(
        !report.has_differences(),
        "expected no differences:\n{}",
        output::render_text(report, false)
    );
}

#[test]
fn stream_file_of_the_same_render_is_clean() {
    let side = load(&fixture("rendered.yaml"));
    assert_eq!(side.origin, Origin::Render);
    assert_eq!(side.objects.len(), 7);
    let report = diff::diff(&rendered(), &side, &options());
    assert_clean(&report);
    assert_eq!(report.unchanged, 7);
}

#[test]
fn stream_file_shows_a_replica_change_without_a_restart() {
    let mut now = rendered();
    let fe = now
        .iter_mut()
        .find(|o| o["metadata"]["name"] == "azureml-fe-v2")
        .unwrap();
    fe["spec"]["replicas"] = json!(3);
    let report = diff::diff(&now, &load(&fixture("rendered.yaml")), &options());
    let text = output::render_text(&report, false);
    assert!(text.contains("--- previous apps/v1 Deployment azureml/azureml-fe-v2\n+++ rendered apps/v1 Deployment azureml/azureml-fe-v2\n"), "{text}");
    assert!(text.contains("-  replicas: 1\n+  replicas: 3\n"), "{text}");
    assert!(
        text.ends_with("0 to add, 1 to change, 0 to remove\n"),
        "{text}"
    );
}

/// Writes the render as `amlc build --target dir` lays it out: one file per object,
/// named the kustomize way, and a kustomization.yaml listing them.
fn write_dir(dir: &Path, objects: &[Value], with_kustomization: bool) {
    let mut files = Vec::new();
    for o in objects {
        let api_version = o["apiVersion"].as_str().unwrap().replace('/', "_");
        let name = format!(
            "{api_version}_{}_{}.yaml",
            o["kind"].as_str().unwrap(),
            o["metadata"]["name"].as_str().unwrap()
        )
        .to_lowercase();
        std::fs::write(dir.join(&name), serde_yaml_ng::to_string(o).unwrap()).unwrap();
        files.push(name);
    }
    if with_kustomization {
        let k = json!({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": files});
        std::fs::write(
            dir.join("kustomization.yaml"),
            serde_yaml_ng::to_string(&k).unwrap(),
        )
        .unwrap();
    }
}

#[test]
fn dir_folder_reads_the_files_its_kustomization_lists() {
    let tmp = tempfile::tempdir().unwrap();
    write_dir(tmp.path(), &rendered(), true);
    // A file kustomization.yaml does not list is not amlc's and not compared.
    std::fs::write(
        tmp.path().join("notes.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stray, namespace: azureml}\n",
    )
    .unwrap();
    let side = load(tmp.path());
    assert_eq!(side.origin, Origin::Render);
    assert_eq!(side.objects.len(), 7);
    assert_clean(&diff::diff(&rendered(), &side, &options()));

    // An object dropped from the render is a removal from a previous render.
    let mut now = rendered();
    now.retain(|o| o["kind"] != "ConfigMap");
    let report = diff::diff(&now, &side, &options());
    assert_eq!(report.summary_line(), "0 to add, 0 to change, 1 to remove");
}

#[test]
fn dir_folder_without_kustomization_reads_every_yaml_file() {
    let tmp = tempfile::tempdir().unwrap();
    write_dir(tmp.path(), &rendered(), false);
    let side = load(tmp.path());
    assert_eq!(side.objects.len(), 7);
    assert_clean(&diff::diff(&rendered(), &side, &options()));
}

/// The dump carries server metadata, status, server defaults (revisionHistoryLimit,
/// strategy, imagePullPolicy, terminationMessagePath, dnsPolicy, clusterIP, nodePort...),
/// kubectl/Argo CD/Flux annotations and labels, quantities written another way, list
/// entries in another order, Secret data as base64 rather than stringData, and an
/// unlabelled object amlc does not own: none of it is a difference.
#[test]
fn yaml_list_dump_of_the_render_is_clean() {
    let side = load(&fixture("dump.yaml"));
    assert_eq!(side.origin, Origin::Dump);
    assert_eq!(side.objects.len(), 8);
    let report = diff::diff(&rendered(), &side, &options());
    assert_clean(&report);
    assert_eq!(report.unchanged, 7);
}

#[test]
fn json_list_dump_of_the_render_is_clean() {
    let side = load(&fixture("dump.json"));
    assert_eq!(side.origin, Origin::Dump);
    assert_clean(&diff::diff(&rendered(), &side, &options()));
}

#[test]
fn dump_as_a_stream_of_objects_is_a_dump_too() {
    let list: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("dump.json")).unwrap()).unwrap();
    let stream: String = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| format!("---\n{}", serde_yaml_ng::to_string(o).unwrap()))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("dump-stream.yaml");
    std::fs::write(&path, stream).unwrap();
    let side = load(&path);
    assert_eq!(side.origin, Origin::Dump);
    assert_clean(&diff::diff(&rendered(), &side, &options()));
}

#[test]
fn dump_shows_drift_in_rendered_fields() {
    let mut now = rendered();
    let fe = now
        .iter_mut()
        .find(|o| o["metadata"]["name"] == "azureml-fe-v2")
        .unwrap();
    fe["spec"]["template"]["spec"]["containers"][0]["image"] =
        json!("mcr.microsoft.com/azureml/amlarc/docker/azureml-fe:1.1.36");
    let report = diff::diff(&now, &load(&fixture("dump.yaml")), &options());
    let text = output::render_text(&report, false);
    assert!(
        text.contains("--- dump apps/v1 Deployment azureml/azureml-fe-v2\n"),
        "{text}"
    );
    assert!(text.contains("-        image: mcr.microsoft.com/azureml/amlarc/docker/azureml-fe:1.1.35\n+        image: mcr.microsoft.com/azureml/amlarc/docker/azureml-fe:1.1.36\n"), "{text}");
    // Server defaults the render does not set stay out of the printed diff.
    assert!(
        !text.contains("imagePullPolicy") && !text.contains("revisionHistoryLimit"),
        "{text}"
    );
    assert!(text.ends_with("0 to add, 1 to change, 0 to remove\nPods will restart: Deployment azureml/azureml-fe-v2\n"), "{text}");
}

#[test]
fn dump_secret_change_prints_redacted() {
    let mut now = rendered();
    let secret = now.iter_mut().find(|o| o["kind"] == "Secret").unwrap();
    secret["stringData"]["token"] = json!("n3w-s3cr3t");
    let report = diff::diff(&now, &load(&fixture("dump.yaml")), &options());
    for out in [
        output::render_text(&report, false),
        output::render_markdown(&report),
        output::render_json(&report),
    ] {
        assert!(out.contains("*** (changed)"), "{out}");
        assert!(
            !out.contains("s3cr3t") && !out.contains("czNjcjN0"),
            "{out}"
        );
    }
}

#[test]
fn config_is_rendered_through_the_callback() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("old.yaml");
    std::fs::write(
        &path,
        "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks}\n",
    )
    .unwrap();
    let seen = std::cell::RefCell::new(None);
    let render = |p: &Path| -> Result<Vec<Value>, Vec<Diagnostic>> {
        *seen.borrow_mut() = Some(p.to_path_buf());
        let mut objects = rendered();
        objects.retain(|o| o["kind"] != "DaemonSet");
        Ok(objects)
    };
    let side = load::load_against(&path, &render).unwrap();
    assert_eq!(seen.borrow().as_deref(), Some(path.as_path()));
    assert_eq!(side.origin, Origin::Config);
    let report = diff::diff(&rendered(), &side, &options());
    assert_eq!(report.summary_line(), "1 to add, 0 to change, 0 to remove");
    assert!(
        report.objects[0]
            .diff
            .starts_with("--- config (absent) DaemonSet azureml/fluent-bit\n")
    );
}

#[test]
fn config_render_errors_are_passed_on() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bad.yaml");
    std::fs::write(&path, "apiVersion: amlc/v1\nkind: ExtensionConfig\n").unwrap();
    let render = |_: &Path| -> Result<Vec<Value>, Vec<Diagnostic>> {
        Err(vec![Diagnostic::error(
            "amlc::schema::required",
            "cluster is required",
        )])
    };
    let err = load::load_against(&path, &render).unwrap_err();
    assert_eq!(err[0].code, "amlc::schema::required");
}

#[test]
fn missing_path_is_invalid_input() {
    let err = load::load_against(Path::new("no/such/render.yaml"), &no_render).unwrap_err();
    assert_eq!(err[0].code, "amlc::diff::against-unreadable");
    assert!(
        err[0].message.contains("no such file or folder"),
        "{}",
        err[0].message
    );
}

#[test]
fn unparsable_or_non_object_input_is_invalid_without_quoting_it() {
    let tmp = tempfile::tempdir().unwrap();
    let bad_yaml = tmp.path().join("bad.yaml");
    std::fs::write(
        &bad_yaml,
        "apiVersion: v1\nkind: Secret\ndata: {token: hunter2\n",
    )
    .unwrap();
    let err = load::load_against(&bad_yaml, &no_render).unwrap_err();
    assert_eq!(err[0].code, "amlc::diff::against-unparsable");
    assert!(!err[0].message.contains("hunter2"), "{}", err[0].message);

    let not_object = tmp.path().join("list.yaml");
    std::fs::write(&not_object, "- a\n- b\n").unwrap();
    let err = load::load_against(&not_object, &no_render).unwrap_err();
    assert_eq!(err[0].code, "amlc::diff::not-an-object");
}
