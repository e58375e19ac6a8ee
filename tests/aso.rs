//! Golden cases of the Azure Service Operator target (`golden-aso/<case>/amlc.yaml` ->
//! `expected/extension.yaml`, and `expected/stderr`: the note on the protected-settings
//! Secret), driven through the library. Also proves, for every case: the object names only
//! fields of ASO's `Extension` (v1api20241101, the vendored tree in
//! tests/data/aso/extension-v1api20241101.txt), its settings are strings, its owner is an ARM
//! id ASO accepts, and no key material appears; and, through the CLI, that a config without
//! `cluster.subscriptionId` or `cluster.location` is exit 2, located, and writes nothing.
//!
//! Re-bless: `UPDATE_GOLDEN=1 cargo test --test integration aso::`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use amlc::aso::{self, AsoOutput};
use base64::Engine as _;
use serde_json::Value;

use super::terraform::{cases_in, load, name};
use crate::common::compare;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cases() -> Vec<PathBuf> {
    cases_in("golden-aso")
}

fn build(case: &Path) -> AsoOutput {
    aso::extension(&load(case)).unwrap_or_else(|d| {
        panic!(
            "{}: aso target failed:\n{}",
            name(case),
            amlc::diagnostic::render_text(&d, false, 80)
        )
    })
}

fn object(out: &AsoOutput) -> Value {
    serde_yaml_ng::from_str(&out.text).expect("the aso target writes YAML")
}

#[test]
fn golden_objects_match() {
    let mut failures = Vec::new();
    for case in cases() {
        let out = build(&case);
        compare(
            &case.join("expected/extension.yaml"),
            &out.text,
            &mut failures,
        );
        compare(
            &case.join("expected/stderr"),
            out.secret_note.as_deref().unwrap_or_default(),
            &mut failures,
        );
    }
    assert!(
        failures.is_empty(),
        "golden mismatch (re-bless with UPDATE_GOLDEN=1 cargo test --test integration aso::):\n{}",
        failures.join("\n")
    );
}

// ---------------------------------------------------------------- the ASO schema

/// A node of the vendored field tree: its Go type text and its children by JSON name.
#[derive(Debug, Default)]
struct Field {
    ty: String,
    children: BTreeMap<String, Field>,
}

/// JSON name of an ASO field: the Go name with its first letter lower-cased.
fn json_name(go: &str) -> String {
    let mut c = go.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

/// Parses the vendored tree (structure.txt's format: `├── Name: Type`, four columns per
/// level) into the Extension's spec and the genruntime types it names.
fn schema() -> (Field, BTreeMap<String, Field>) {
    let text =
        std::fs::read_to_string(root().join("tests/data/aso/extension-v1api20241101.txt")).unwrap();
    let mut roots: BTreeMap<String, Field> = BTreeMap::new();
    let mut stack: Vec<(usize, Vec<String>)> = Vec::new();
    let mut current_root = String::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some(pos) = line.find(['├', '└']) else {
            // A root line: `Extension: Resource`, `genruntime.X: Object (...)`.
            current_root = line.split(':').next().unwrap().to_owned();
            roots.entry(current_root.clone()).or_default();
            stack.clear();
            continue;
        };
        let depth = line[..pos].chars().count() / 4;
        let item = line[pos..].trim_start_matches(['├', '└', '─', ' ']);
        let Some((go, ty)) = item.split_once(": ") else {
            // An enum value: a leaf under its enum, kept with its quotes.
            stack.truncate(depth);
            let parent = stack.last().map(|(_, p)| p.clone()).unwrap_or_default();
            let mut node = roots.get_mut(&current_root).unwrap();
            for seg in &parent {
                node = node.children.entry(seg.clone()).or_default();
            }
            node.children.insert(item.to_owned(), Field::default());
            continue;
        };
        stack.truncate(depth);
        let path: Vec<String> = stack
            .last()
            .map(|(_, p)| p.clone())
            .unwrap_or_default()
            .into_iter()
            .chain([json_name(go)])
            .collect();
        let mut node = roots.get_mut(&current_root).unwrap();
        for seg in &path {
            node = node.children.entry(seg.clone()).or_default();
        }
        node.ty = ty.to_owned();
        stack.push((depth, path));
    }
    let mut extension = roots.remove("Extension").expect("Extension in the tree");
    let spec = extension.children.remove("spec").expect("Extension spec");
    (spec, roots)
}

/// Every field of `value` is in `field`; maps of strings take any key with a string value.
fn check(
    value: &Value,
    field: &Field,
    types: &BTreeMap<String, Field>,
    at: &str,
    out: &mut Vec<String>,
) {
    let ty = field.ty.trim_start_matches('*');
    if let Some(named) = types.get(ty) {
        return check(value, named, types, at, out);
    }
    if ty == "map[string]string" {
        match value.as_object() {
            Some(m) => {
                for (k, v) in m {
                    if !v.is_string() {
                        out.push(format!("{at}.{k}: not a string"));
                    }
                }
            }
            None => out.push(format!("{at}: not a map")),
        }
        return;
    }
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                match field.children.get(k) {
                    Some(f) => check(v, f, types, &format!("{at}.{k}"), out),
                    None => out.push(format!("{at}.{k}: not a field of ASO's Extension")),
                }
            }
        }
        Value::Bool(_) if ty != "bool" => out.push(format!("{at}: {ty}, not a boolean")),
        // The parser keeps an enum's values, the quoted lines under it, as children.
        Value::String(s)
            if ty.starts_with("Enum") && !field.children.contains_key(&format!("\"{s}\"")) =>
        {
            out.push(format!("{at}: `{s}` is not one of the enum's values"));
        }
        Value::String(_) if ty.starts_with("Enum") => {}
        Value::String(_) if !(ty == "string" || ty.starts_with("Enum")) => {
            out.push(format!("{at}: {ty}, not a string"))
        }
        _ => {}
    }
}

/// ASO's pattern for an owner's `armId` (genruntime ArbitraryOwnerReference).
fn arm_id_pattern() -> regex::Regex {
    regex::Regex::new(r"(?i)(^(/subscriptions/([^/]+)(/resourcegroups/([^/]+))?)?/providers/([^/]+)/([^/]+/[^/]+)(/([^/]+/[^/]+))*$|^/subscriptions/([^/]+)(/resourcegroups/([^/]+))?$)").unwrap()
}

#[test]
fn every_golden_object_validates_against_the_aso_extension_fields() {
    let (spec, types) = schema();
    assert!(spec.children.contains_key("configurationProtectedSettings"));
    for case in cases() {
        let v = object(&build(&case));
        assert_eq!(v["apiVersion"], aso::API_VERSION);
        assert_eq!(v["kind"], "Extension");
        let meta = v["metadata"].as_object().unwrap();
        assert!(meta.keys().all(|k| k == "name"), "{}", name(&case));
        let mut problems = Vec::new();
        check(&v["spec"], &spec, &types, "spec", &mut problems);
        assert!(problems.is_empty(), "{}: {problems:#?}", name(&case));
        let owner = v["spec"]["owner"]["armId"].as_str().unwrap();
        assert!(arm_id_pattern().is_match(owner), "{}: {owner}", name(&case));
        assert_eq!(v["spec"]["azureName"], v["metadata"]["name"]);
    }
}

#[test]
fn the_field_check_catches_what_aso_does_not_have() {
    let (spec, types) = schema();
    let bad: Value = serde_json::json!({
        "autoUpgrade": true,
        "configurationSettings": {"a": true},
        "identity": {"type": "UserAssigned"},
        "owner": {"armId": "/x", "namespace": "n"},
    });
    let mut problems = Vec::new();
    check(&bad, &spec, &types, "spec", &mut problems);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(!arm_id_pattern().is_match("not-an-id"));
}

#[test]
fn settings_are_concrete_and_protected_ones_name_only_the_secret() {
    let tls = root().join("tests/data/tls");
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = std::fs::read_to_string(tls.join("key.pem")).unwrap();
    let cert = std::fs::read_to_string(tls.join("cert.pem")).unwrap();
    for case in cases() {
        let out = build(&case);
        let v = object(&out);
        let c = load(&case).config;
        let settings = v["spec"]["configurationSettings"].as_object().unwrap();
        for (k, s) in settings {
            let s = s.as_str().unwrap();
            assert!(
                !s.starts_with('['),
                "{}: {k} is an ARM expression",
                name(&case)
            );
            assert!(
                !s.contains("${"),
                "{}: {k} is a Terraform expression",
                name(&case)
            );
        }
        assert_eq!(
            settings["location"],
            c.cluster.location.as_deref().unwrap(),
            "{}",
            name(&case)
        );
        for text in [&out.text, out.secret_note.as_deref().unwrap_or_default()] {
            for needle in [b64.encode(&key), b64.encode(&cert)] {
                assert!(!text.contains(&needle), "{}: key material", name(&case));
            }
            assert!(!text.contains("PRIVATE KEY"), "{}", name(&case));
        }
        // A Secret is named exactly when there are protected settings, and stderr says how to
        // create it with every key.
        let secret = v["spec"].get("configurationProtectedSettings");
        assert_eq!(
            secret.is_some(),
            out.secret_note.is_some(),
            "{}",
            name(&case)
        );
        if let Some(note) = &out.secret_note {
            assert_eq!(secret.unwrap()["name"], aso::secret_name(&c));
            assert!(note.contains(&format!(
                "kubectl create secret generic {}",
                aso::secret_name(&c)
            )));
        }
    }
}

// ---------------------------------------------------------------- bad input

#[test]
fn without_subscription_or_location_the_cli_exits_2_located_and_writes_nothing() {
    let amlc = env!("CARGO_BIN_EXE_amlc");
    let dir = tempfile::tempdir().unwrap();
    for (missing, yaml) in [
        (
            "cluster.subscriptionId",
            "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: aks\n  name: c\n  resourceGroup: rg\n  location: westeurope\n",
        ),
        (
            "cluster.location",
            "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: aks\n  name: c\n  resourceGroup: rg\n  subscriptionId: 00000000-0000-0000-0000-000000000000\n",
        ),
    ] {
        let config = dir.path().join("amlc.yaml");
        std::fs::write(&config, yaml).unwrap();
        let target = dir.path().join("out/extension.yaml");
        for args in [vec![], vec!["-o".to_owned(), target.display().to_string()]] {
            let out = std::process::Command::new(amlc)
                .env("NO_COLOR", "1")
                .args(["build", "--target", "aso", "-c"])
                .arg(&config)
                .args(&args)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{missing}: {stderr}");
            assert!(out.stdout.is_empty(), "{missing}: wrote to stdout");
            assert!(
                !target.exists() && !dir.path().join("out").exists(),
                "{missing}: wrote a file"
            );
            assert!(
                stderr.contains(&format!("the aso target needs {missing}")),
                "{stderr}"
            );
            assert!(
                stderr.contains("amlc.yaml:3:1"),
                "{missing}: not located: {stderr}"
            );
            assert!(stderr.contains("add `"), "{missing}: no fix: {stderr}");
        }
    }
}

#[test]
fn the_cli_writes_the_file_and_notes_the_secret_on_stderr() {
    let amlc = env!("CARGO_BIN_EXE_amlc");
    let case = root().join("golden-aso/arc-relay");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("clusters/edge/azureml.yaml");
    let out = std::process::Command::new(amlc)
        .args(["build", "--target", "aso", "-c"])
        .arg(case.join("amlc.yaml"))
        .arg("-o")
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        std::fs::read_to_string(case.join("expected/extension.yaml")).unwrap()
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&std::fs::read_to_string(case.join("expected/stderr")).unwrap())
    );
}
