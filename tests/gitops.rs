//! GitOps safety through the binary and over every golden output: no empty stream or
//! comment-only document (Argo CD and Flux prune everything on empty output), no claim on
//! Argo CD's tracking label, and Flux substitution disabled where a `${` is rendered.

use crate::common;

use std::path::Path;

use common::run;

fn exits_zero(case: &Path) -> bool {
    std::fs::read_to_string(case.join("expected/exit_code")).is_ok_and(|c| c.trim() == "0")
}

#[test]
fn no_golden_stream_is_empty_or_has_a_comment_only_document() {
    for case in common::golden_cases().into_iter().filter(|c| exits_zero(c)) {
        let stdout = std::fs::read_to_string(case.join("expected/stdout")).unwrap();
        assert!(
            !stdout.trim().is_empty(),
            "{}: empty stream",
            case.display()
        );
        for (i, doc) in stdout.split("---\n").enumerate() {
            let has_content = doc
                .lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
            assert!(has_content, "{}: document {i} is empty", case.display());
        }
    }
}

#[test]
fn no_golden_output_claims_argocd_tracking_label() {
    for case in common::golden_cases() {
        let stdout = std::fs::read_to_string(case.join("expected/stdout")).unwrap_or_default();
        assert!(
            !stdout.contains(amlc::lint::ARGOCD_TRACKING_LABEL),
            "{} sets Argo CD's tracking label",
            case.display()
        );
    }
}

#[test]
fn every_rendered_dollar_brace_is_shielded_from_flux() {
    let mut seen = 0;
    for case in common::golden_cases().into_iter().filter(|c| exits_zero(c)) {
        for v in common::expected_objects(&case) {
            let text = serde_json::to_string(&v).unwrap();
            if text.contains("${") {
                seen += 1;
                assert_eq!(
                    v.pointer("/metadata/annotations")
                        .and_then(|a| a.get(amlc::lint::SUBSTITUTE_ANNOTATION))
                        .and_then(serde_json::Value::as_str),
                    Some(amlc::lint::SUBSTITUTE_DISABLED),
                    "{}: {}",
                    case.display(),
                    amlc::object::name(&v)
                );
            }
        }
    }
    assert!(seen >= 2, "golden/flux-substitution renders `${{` twice");
}

/// A `--components` folder that turns every built-in component off and adds one whose
/// template renders only comments.
fn components_rendering_nothing(dir: &Path) {
    let builtin = std::fs::read_dir(common::root().join("components")).unwrap();
    for entry in builtin.flatten().filter(|e| e.path().is_dir()) {
        let folder = dir.join(entry.file_name());
        std::fs::create_dir_all(folder.join("templates")).unwrap();
        std::fs::write(
            folder.join("component.yaml"),
            "description: turned off\nfeature: both\nwhen: \"false\"\n",
        )
        .unwrap();
    }
    let note = dir.join("note");
    std::fs::create_dir_all(note.join("templates")).unwrap();
    std::fs::write(
        note.join("component.yaml"),
        "description: renders only comments\nfeature: both\nwhen: \"true\"\n",
    )
    .unwrap();
    std::fs::write(
        note.join("templates/note.yaml.j2"),
        "# nothing here\n---\n# nor here\n",
    )
    .unwrap();
}

#[test]
fn a_build_that_renders_nothing_is_an_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("amlc.yaml"),
        "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: aks\n",
    )
    .unwrap();
    components_rendering_nothing(&dir.path().join("comps"));
    for extra in [
        &[][..],
        &["-o", "out.yaml"],
        &["--target", "dir", "-o", "out"],
    ] {
        let mut args = vec!["build", "--components", "comps"];
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = run(dir.path(), &args);
        assert_eq!((code, stdout.as_str()), (2, ""), "{args:?}: {stderr}");
        assert!(
            stderr.contains("amlc::build::empty-output") && stderr.contains("renders no objects"),
            "{stderr}"
        );
    }
    assert!(!dir.path().join("out.yaml").exists());
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_dollar_brace_from_a_user_component_is_annotated_and_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("amlc.yaml"),
        "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: aks\n",
    )
    .unwrap();
    let comp = dir.path().join("comps/greeting");
    std::fs::create_dir_all(comp.join("templates")).unwrap();
    std::fs::write(
        comp.join("component.yaml"),
        "description: a ConfigMap with a shell snippet\nfeature: both\nwhen: \"true\"\n",
    )
    .unwrap();
    std::fs::write(
        comp.join("templates/cm.yaml.j2"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  run.sh: echo \"hello ${USER}\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["build", "--components", "comps"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("amlc::lint::flux-substitution")
            && stderr.contains("ConfigMap azureml/greeting")
            && stderr.contains("/data/run.sh"),
        "{stderr}"
    );
    let objects = amlc::render::parse_documents(&stdout).unwrap();
    let cm = objects
        .iter()
        .find(|v| amlc::object::name(v) == "greeting")
        .unwrap();
    assert_eq!(
        cm.pointer("/metadata/annotations/kustomize.toolkit.fluxcd.io~1substitute"),
        Some(&serde_json::json!("disabled"))
    );
    assert_eq!(cm["data"]["run.sh"], "echo \"hello ${USER}\"");
}

/// Regression: `amlc diff --against` a folder amlc wrote warned that the kustomization's
/// `sortOptions` (which amlc itself writes) was not applied.
#[test]
fn diff_against_a_dir_build_is_silent_and_the_same() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("amlc.yaml"),
        "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: arc\n",
    )
    .unwrap();
    let (code, _, stderr) = run(dir.path(), &["build", "--target", "dir", "-o", "out"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(dir.path(), &["diff", "--against", "out"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr, "");
}
