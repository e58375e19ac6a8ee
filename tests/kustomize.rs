//! `kubectl kustomize DIR` on the `--target dir` folder of every golden case that builds
//! gives exactly the objects of that case's YAML stream (DESIGN.md, "Output shapes").
//!
//! Objects are compared as parsed values, matched by API group, kind, namespace and name,
//! so key order and quoting do not matter but every value, type and namespace does.
//! kubectl is the consumer Flux and Argo CD stand in for; CI (`CI=true`) must have it
//! (`.ci/run` installs Debian's `kubernetes-client`), elsewhere the test says it skipped.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// (group, kind, namespace, name): how Kubernetes, and amlc's diff, identify an object.
type Key = (String, String, String, String);

fn key(v: &Value) -> Key {
    let api = v["apiVersion"].as_str().unwrap_or_default();
    let group = api.rsplit_once('/').map_or("", |(g, _)| g);
    let meta = &v["metadata"];
    (
        group.to_owned(),
        v["kind"].as_str().unwrap_or_default().to_owned(),
        meta["namespace"].as_str().unwrap_or_default().to_owned(),
        meta["name"].as_str().unwrap_or_default().to_owned(),
    )
}

fn by_key(objects: Vec<Value>, what: &str) -> BTreeMap<Key, Value> {
    let mut out = BTreeMap::new();
    for v in objects {
        let k = key(&v);
        assert!(
            out.insert(k.clone(), v).is_none(),
            "{what}: two objects are {k:?}"
        );
    }
    out
}

/// kubectl's version line, or None when kubectl is not installed.
fn kubectl() -> Option<String> {
    let out = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The `amlc build` arguments of a case, with `--target dir -o OUT` added.
fn dir_args(case: &Path, out: &Path) -> Vec<String> {
    let mut args = vec!["build".to_owned()];
    args.extend(common::case_args(case));
    args.extend([
        "--target".to_owned(),
        "dir".to_owned(),
        "-o".to_owned(),
        out.display().to_string(),
    ]);
    args
}

#[test]
fn kubectl_kustomize_of_every_dir_build_gives_the_stream() {
    if kubectl().is_none() {
        assert!(
            !is_ci(),
            "kubectl is not installed: CI must run the kustomize test (.ci/run installs kubernetes-client)"
        );
        eprintln!("note: kubectl is not installed; skipping the kustomize comparison");
        return;
    }
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in common::golden_cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let stream = common::build_case(&case);
        if stream.status.code() != Some(0) {
            continue;
        }
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        let built = common::amlc(&case, &dir_args(&case, &out), &[]);
        assert_eq!(
            built.status.code(),
            Some(0),
            "{name}: --target dir failed: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        let kustomized = Command::new("kubectl")
            .arg("kustomize")
            .arg(&out)
            .output()
            .expect("kubectl runs");
        assert!(
            kustomized.status.success(),
            "{name}: kubectl kustomize failed: {}",
            String::from_utf8_lossy(&kustomized.stderr)
        );
        let from_stream = amlc::render::parse_documents(&String::from_utf8_lossy(&stream.stdout))
            .expect("the stream is YAML");
        let from_kustomize =
            amlc::render::parse_documents(&String::from_utf8_lossy(&kustomized.stdout))
                .expect("kustomize output is YAML");
        assert!(!from_stream.is_empty(), "{name}: empty stream");
        // kustomization.yaml asks for `sortOptions: fifo`, so kubectl keeps install order.
        let order = |objects: &[Value]| objects.iter().map(key).collect::<Vec<Key>>();
        if order(&from_stream) != order(&from_kustomize) {
            failures.push(format!(
                "{name}: kubectl kustomize changed the install order"
            ));
        }
        let want = by_key(from_stream, &name);
        let got = by_key(from_kustomize, &name);
        let missing: Vec<&Key> = want.keys().filter(|k| !got.contains_key(k)).collect();
        let extra: Vec<&Key> = got.keys().filter(|k| !want.contains_key(k)).collect();
        if !missing.is_empty() || !extra.is_empty() {
            failures.push(format!(
                "{name}: kustomize lost {missing:?} and added {extra:?}"
            ));
            continue;
        }
        for (k, v) in &want {
            if got[k] != *v {
                let show = |v: &Value| serde_yaml_ng::to_string(v).unwrap_or_default();
                let diff = similar::TextDiff::from_lines(&show(v), &show(&got[k]))
                    .unified_diff()
                    .header("stream", "kubectl kustomize")
                    .to_string();
                failures.push(format!("{name}: {k:?} differs\n{diff}"));
            }
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} golden cases were built");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
