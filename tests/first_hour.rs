//! What a new user meets first: config discovery (`amlc.yaml`, `amlc.yml`, both, neither),
//! the embedded default announcing itself, `-c -` from stdin, output files that follow the
//! umask, and a missing kubeconfig said in one plain line.

use crate::common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use common::run;

const CONFIG: &str = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: arc, name: c, resourceGroup: rg}\n";

#[test]
fn amlc_yml_is_found_and_two_configs_are_not_guessed_between() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("amlc.yml"), CONFIG).unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["build"]);
    assert_eq!(code, 0, "{stderr}");
    // The arc config, not the embedded AKS default: relayserver is there.
    assert!(
        stdout.contains("name: relayserver"),
        "amlc.yml was not used"
    );
    assert!(!stderr.contains("embedded default"), "{stderr}");
    std::fs::write(dir.path().join("amlc.yaml"), CONFIG).unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["validate"]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(
        stderr.contains("both ./amlc.yaml and ./amlc.yml are here"),
        "{stderr}"
    );
}

#[test]
fn the_embedded_default_announces_itself_and_commands_that_need_a_config_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["build"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("kind: Deployment"));
    assert!(
        stderr.starts_with(
            "note: no ./amlc.yaml or ./amlc.yml here, so this is the embedded default config"
        ),
        "{stderr}"
    );
    let (code, _, stderr) = run(dir.path(), &["validate"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no ./amlc.yaml or ./amlc.yml and no -c FILE"),
        "{stderr}"
    );
}

fn amlc_with_stdin(cwd: &Path, args: &[&str], input: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_amlc"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_config_can_come_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("arc.yaml"), CONFIG).unwrap();
    let (_, from_file, _) = run(dir.path(), &["build", "-c", "arc.yaml"]);
    let (code, from_stdin, stderr) = amlc_with_stdin(dir.path(), &["build", "-c", "-"], CONFIG);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(from_stdin, from_file);
    // Diagnostics name it.
    let (code, _, stderr) = amlc_with_stdin(
        dir.path(),
        &["validate", "-c", "-"],
        "apiVersion: amlc/v1\nkind: X\n",
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("<stdin>:2:7: error:"), "{stderr}");
    // It cannot join a fleet.
    let (code, _, stderr) = amlc_with_stdin(
        dir.path(),
        &["build", "-c", "-", "-c", "arc.yaml", "-o", "out"],
        CONFIG,
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot be combined"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn written_files_follow_the_umask() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("amlc.yaml"), CONFIG).unwrap();
    let amlc = env!("CARGO_BIN_EXE_amlc");
    let script = format!(
        "umask 022 && {amlc} build -o out.yaml && {amlc} build --target dir -o dir && {amlc} build --target arm -o arm && {amlc} init -o started.yaml"
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in [
        "out.yaml",
        "dir/kustomization.yaml",
        "arm/azuredeploy.json",
        "arm/azuredeploy.parameters.json",
        "started.yaml",
    ] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o644, "{file}: {mode:o}");
    }
}

#[test]
fn a_missing_kubeconfig_is_one_plain_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("amlc.yaml"), CONFIG).unwrap();
    for args in [&["diff", "--cluster"][..], &["doctor"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_amlc"))
            .args(args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("HOME", dir.path())
            .env_remove("KUBECONFIG")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        let line = stderr.lines().last().unwrap();
        assert!(
            line.starts_with("error: no kubeconfig: the default kubeconfig is ")
                && line.ends_with("pass --kubeconfig FILE or set KUBECONFIG"),
            "{args:?}: {stderr}"
        );
        assert_eq!(
            line.matches('(').count(),
            line.matches(')').count(),
            "{line}"
        );
    }
}
