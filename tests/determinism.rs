//! The same config renders byte-identically across runs, working directories, time zones
//! and locales; and `amlc build` in an empty folder prints the embedded default.

use crate::common;

use std::path::Path;

fn stdout(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Vec<u8> {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let out = common::amlc(cwd, &args, env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn output_is_the_same_across_runs_folders_time_zones_and_locales() {
    let case = common::root().join("golden/taints-all");
    let config = case.join("amlc.yaml");
    let config = config.to_str().expect("utf-8 path");
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let reference = stdout(&case, &["build"], &[]);
    for (cwd, env) in [
        (
            case.as_path(),
            vec![("TZ", "Pacific/Kiritimati"), ("LANG", "tr_TR.UTF-8")],
        ),
        (
            elsewhere.path(),
            vec![
                ("TZ", "America/St_Johns"),
                ("LANG", "de_DE.UTF-8"),
                ("LC_ALL", "C"),
            ],
        ),
        (
            elsewhere.path(),
            vec![("TZ", "UTC"), ("LANG", "ja_JP.UTF-8")],
        ),
    ] {
        assert!(
            stdout(cwd, &["build", "-c", config], &env) == reference,
            "output differs in {} with {env:?}",
            cwd.display()
        );
    }
    assert!(
        stdout(&case, &["build"], &[]) == reference,
        "a second run differs"
    );
}

#[test]
fn build_in_an_empty_folder_prints_the_embedded_default() {
    let empty = tempfile::tempdir().expect("temp dir");
    let out = common::amlc(empty.path(), &["build".to_owned()], &[]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let expected =
        std::fs::read_to_string(common::root().join("golden/embedded-default/expected/stdout"))
            .expect("golden default");
    assert_eq!(text, expected);
    // A complete render: every default-on component's workload is there.
    for workload in [
        "gateway",
        "aml-operator",
        "azureml-fe-v2",
        "volcano-scheduler",
        "healthcheck",
    ] {
        assert!(
            text.contains(&format!("  name: {workload}\n")),
            "{workload} missing"
        );
    }
    assert!(text.ends_with('\n') && !text.contains("\r\n"));
}
