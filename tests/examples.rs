//! The GitOps and CI examples parse and carry the fields their consumers require
//! (Flux's Kustomization v1, Argo CD's ConfigManagementPlugin and sidecar, GitHub Actions).

use serde_json::Value;

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/examples/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing {pointer}"))
}

#[test]
fn flux_kustomization_has_what_flux_requires() {
    let k = load("flux/kustomization.yaml");
    assert_eq!(str_at(&k, "/apiVersion"), "kustomize.toolkit.fluxcd.io/v1");
    assert_eq!(str_at(&k, "/kind"), "Kustomization");
    // Required by the v1 API: interval, prune, sourceRef.kind and name.
    assert!(str_at(&k, "/spec/interval").ends_with('m'));
    assert!(k.pointer("/spec/prune").and_then(Value::as_bool).is_some());
    assert_eq!(str_at(&k, "/spec/sourceRef/kind"), "GitRepository");
    assert!(!str_at(&k, "/spec/sourceRef/name").is_empty());
    assert!(str_at(&k, "/spec/path").starts_with("./"));
}

#[test]
fn argocd_plugin_discovers_amlc_yaml_and_generates_with_amlc_build() {
    let p = load("argocd/plugin.yaml");
    assert_eq!(str_at(&p, "/apiVersion"), "argoproj.io/v1alpha1");
    assert_eq!(str_at(&p, "/kind"), "ConfigManagementPlugin");
    assert!(!str_at(&p, "/metadata/name").is_empty());
    assert!(str_at(&p, "/spec/discover/fileName").ends_with("amlc.yaml"));
    let cmd: Vec<&str> = p
        .pointer("/spec/generate/command")
        .and_then(Value::as_array)
        .expect("generate.command")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(&cmd[..2], ["amlc", "build"]);
}

#[test]
fn argocd_sidecar_runs_the_cmp_server_with_the_plugin_config() {
    let d = load("argocd/repo-server-patch.yaml");
    assert_eq!(str_at(&d, "/metadata/name"), "argocd-repo-server");
    let c = &d
        .pointer("/spec/template/spec/containers/0")
        .expect("sidecar container")
        .clone();
    assert_eq!(str_at(c, "/command/0"), "/var/run/argocd/argocd-cmp-server");
    // Argo CD runs plugins as user 999.
    assert_eq!(
        c.pointer("/securityContext/runAsUser")
            .and_then(Value::as_i64),
        Some(999)
    );
    let mounts: Vec<(&str, &str)> = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (str_at(m, "/name"), str_at(m, "/mountPath")))
        .collect();
    for (name, path) in [
        ("var-files", "/var/run/argocd"),
        ("plugins", "/home/argocd/cmp-server/plugins"),
        ("amlc-plugin", "/home/argocd/cmp-server/config/plugin.yaml"),
    ] {
        assert!(
            mounts.contains(&(name, path)),
            "missing mount {name} at {path}"
        );
    }
}

#[test]
fn github_workflow_validates_checks_and_posts_the_diff() {
    let w = load("github-actions/amlc.yaml");
    assert!(w.get("on").and_then(|o| o.get("pull_request")).is_some());
    let steps = w
        .pointer("/jobs/check/steps")
        .and_then(Value::as_array)
        .expect("steps");
    assert!(
        steps
            .iter()
            .all(|s| s.get("run").is_some() || s.get("uses").is_some())
    );
    let script: String = steps
        .iter()
        .filter_map(|s| s.get("run").and_then(Value::as_str))
        .collect();
    for needle in [
        "amlc validate",
        "amlc build --check",
        "amlc diff",
        "--output markdown",
    ] {
        assert!(script.contains(needle), "workflow does not run `{needle}`");
    }
}
