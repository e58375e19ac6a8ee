//! `amlc build --check -o PATH`, the CI guard of the rendered-manifests pattern: 0 when PATH
//! is what amlc would write now; 1 with a short diff for an edited, deleted or stale amlc
//! file; a file amlc never wrote is only warned about; and PATH is never touched — every
//! case hashes the whole folder before and after.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use common::run;

fn config(dir: &Path, cluster: &str) {
    std::fs::write(
        dir.join("amlc.yaml"),
        format!("apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: {cluster}\n"),
    )
    .expect("write config");
}

/// Every entry under `root` (folders too, hidden ones too) with the sha256 of its bytes.
fn snapshot(root: &Path) -> BTreeMap<String, String> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .map(|e| {
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            let hash = if e.file_type().is_file() {
                format!("{:x}", Sha256::digest(std::fs::read(e.path()).unwrap()))
            } else {
                "dir".to_owned()
            };
            (rel, hash)
        })
        .collect()
}

/// Runs `build --check` and asserts that nothing under the work folder changed.
fn check(cwd: &Path, args: &[&str]) -> (i32, String) {
    let before = snapshot(cwd);
    let mut all = vec!["build", "--check"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run(cwd, &all);
    assert_eq!(stdout, "", "--check prints nothing on stdout");
    assert_eq!(snapshot(cwd), before, "--check changed files: {stderr}");
    (code, stderr)
}

const DIR: &[&str] = &["--target", "dir", "-o", "out"];
const RELAY: &str = "out/apps_v1_deployment_relayserver.yaml";

fn built_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    config(dir.path(), "arc");
    let mut args = vec!["build"];
    args.extend_from_slice(DIR);
    let (code, _, stderr) = run(dir.path(), &args);
    assert_eq!(code, 0, "{stderr}");
    dir
}

#[test]
fn dir_check_passes_right_after_a_build() {
    let dir = built_dir();
    let (code, stderr) = check(dir.path(), DIR);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn dir_check_fails_on_an_edited_amlc_file_with_a_short_diff() {
    let dir = built_dir();
    let path = dir.path().join(RELAY);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("replicas: 1", "replicas: 5")).unwrap();
    let (code, stderr) = check(dir.path(), DIR);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("apps_v1_deployment_relayserver.yaml is not what amlc build would write")
            && stderr.contains("-  replicas: 5")
            && stderr.contains("+  replicas: 1"),
        "{stderr}"
    );
    assert!(stderr.lines().count() < 60, "the diff is short: {stderr}");
}

#[test]
fn dir_check_fails_on_an_edited_kustomization() {
    let dir = built_dir();
    let path = dir.path().join("out/kustomization.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("fifo", "legacy")).unwrap();
    let (code, stderr) = check(dir.path(), DIR);
    assert_eq!(code, 1);
    assert!(stderr.contains("+  order: fifo"), "{stderr}");
}

#[test]
fn dir_check_fails_on_a_deleted_amlc_file() {
    let dir = built_dir();
    std::fs::remove_file(dir.path().join(RELAY)).unwrap();
    let (code, stderr) = check(dir.path(), DIR);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("apps_v1_deployment_relayserver.yaml is missing"),
        "{stderr}"
    );
}

#[test]
fn dir_check_fails_on_a_stale_amlc_file() {
    // On AKS (from 1.1.5) there is no relayserver: the file amlc wrote for Arc is stale.
    let dir = built_dir();
    config(dir.path(), "aks");
    let (code, stderr) = check(dir.path(), DIR);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("apps_v1_deployment_relayserver.yaml is stale"),
        "{stderr}"
    );
}

#[test]
fn dir_check_only_warns_about_files_amlc_never_wrote() {
    let dir = built_dir();
    std::fs::write(dir.path().join("out/NOTES.md"), "ours, not amlc's\n").unwrap();
    std::fs::create_dir(dir.path().join("out/patches")).unwrap();
    std::fs::write(dir.path().join("out/patches/p.yaml"), "x: 1\n").unwrap();
    let (code, stderr) = check(dir.path(), DIR);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("amlc::build::foreign-files") && stderr.contains("NOTES.md"),
        "{stderr}"
    );
}

#[test]
fn dir_check_of_a_missing_folder_fails_without_creating_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    config(dir.path(), "aks");
    let (code, stderr) = check(dir.path(), DIR);
    assert_eq!(code, 1);
    assert!(stderr.contains("is missing"), "{stderr}");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn dir_check_of_a_file_is_the_wrong_kind() {
    let dir = tempfile::tempdir().expect("temp dir");
    config(dir.path(), "aks");
    std::fs::write(dir.path().join("out"), "a file\n").unwrap();
    let (code, stderr) = check(dir.path(), DIR);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("amlc::cli::output-kind") && stderr.contains("--target yaml"),
        "{stderr}"
    );
}

const FILE: &[&str] = &["-o", "out.yaml"];

fn built_file() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    config(dir.path(), "arc");
    let (code, _, stderr) = run(dir.path(), &["build", "-o", "out.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    dir
}

#[test]
fn yaml_check_passes_after_a_build_and_fails_on_edited_deleted_or_stale_output() {
    let dir = built_file();
    assert_eq!(check(dir.path(), FILE).0, 0);

    let path = dir.path().join("out.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("replicas: 1", "replicas: 7", 1)).unwrap();
    let (code, stderr) = check(dir.path(), FILE);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("-  replicas: 7") && stderr.contains("+++ amlc build"),
        "{stderr}"
    );

    std::fs::write(&path, &text).unwrap();
    config(dir.path(), "aks");
    let (code, stderr) = check(dir.path(), FILE);
    assert_eq!(code, 1, "stale: relayserver is gone on AKS");
    assert!(stderr.contains("-  name: relayserver"), "{stderr}");

    std::fs::remove_file(&path).unwrap();
    let (code, stderr) = check(dir.path(), FILE);
    assert_eq!(code, 1);
    assert!(stderr.contains("out.yaml is missing"), "{stderr}");
}

#[test]
fn yaml_check_of_a_folder_is_the_wrong_kind_with_a_hint() {
    let dir = tempfile::tempdir().expect("temp dir");
    config(dir.path(), "aks");
    std::fs::create_dir(dir.path().join("out.yaml")).unwrap();
    std::fs::write(dir.path().join("out.yaml/keep"), "x\n").unwrap();
    let (code, stderr) = check(dir.path(), FILE);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("is a folder") && stderr.contains("--target dir"),
        "{stderr}"
    );
}

#[test]
fn a_dir_build_leaves_unchanged_files_alone_and_clears_an_interrupted_run() {
    let dir = built_dir();
    let out = dir.path().join("out");
    // What an interrupted run leaves behind: a staging folder with a half-written file.
    std::fs::create_dir(out.join(".amlc-interrupted")).unwrap();
    std::fs::write(out.join(".amlc-interrupted/x.yaml"), "half").unwrap();
    let namespace = out.join("v1_namespace_azureml.yaml");
    let before = std::fs::metadata(&namespace).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut args = vec!["build"];
    args.extend_from_slice(DIR);
    let (code, _, stderr) = run(dir.path(), &args);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::metadata(&namespace).unwrap().modified().unwrap(),
        before,
        "an unchanged file is not rewritten"
    );
    let hidden: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
    assert_eq!(check(dir.path(), DIR).0, 0);
}
