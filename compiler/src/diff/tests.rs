//! Tests of `diff` on objects built by hand: what counts as a change, a removal, a
//! restart, and what the three output formats show.

use serde_json::{Value, json};

use super::*;
use crate::config::{IgnoreRule, IgnoreTarget};

fn deployment(replicas: u64, image: &str, annotation: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "azureml-fe-v2", "namespace": "azureml", "labels": {"amlc/instance": "azureml"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "azureml-fe"}},
            "template": {
                "metadata": {"labels": {"app": "azureml-fe"}, "annotations": {"checksum/config": annotation}},
                "spec": {"containers": [{"name": "azureml-fe", "image": image}]}
            }
        }
    })
}

fn secret(token_base64: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "azureml-fe-secret", "namespace": "azureml", "labels": {"amlc/instance": "azureml"}},
        "data": {"token": token_base64, "same": "c2FtZS12YWx1ZQ=="},
        "type": "Opaque"
    })
}

fn config_map(name: &str, labelled: bool) -> Value {
    let mut cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "azureml"},
        "data": {"k": "v"}
    });
    if labelled {
        cm["metadata"]["labels"] = json!({"amlc/instance": "azureml"});
    }
    cm
}

fn options() -> Options {
    Options {
        instance: "azureml".into(),
        ignore: IgnoreSet::default(),
    }
}

fn run(rendered: &[Value], origin: Origin, other: &[Value]) -> Report {
    diff(rendered, &Side::new(origin, other.to_vec()), &options())
}

#[test]
fn identical_sides_have_no_differences() {
    let objects = [deployment(1, "fe:1", "a"), secret("YQ==")];
    let report = run(&objects, Origin::Render, &objects);
    assert!(!report.has_differences());
    assert_eq!(report.unchanged, 2);
    assert_eq!(report.summary_line(), "0 to add, 0 to change, 0 to remove");
}

#[test]
fn replica_change_alone_does_not_restart_pods() {
    let report = run(
        &[deployment(3, "fe:1", "a")],
        Origin::Render,
        &[deployment(1, "fe:1", "a")],
    );
    assert_eq!(report.summary_line(), "0 to add, 1 to change, 0 to remove");
    assert_eq!(report.restarts().count(), 0);
    let text = output::render_text(&report, false);
    assert!(text.contains("-  replicas: 1\n+  replicas: 3\n"), "{text}");
    assert!(!text.contains("Pods will restart"), "{text}");
}

#[test]
fn image_change_in_the_pod_template_restarts_pods() {
    let report = run(
        &[deployment(1, "fe:2", "a")],
        Origin::Render,
        &[deployment(1, "fe:1", "a")],
    );
    let text = output::render_text(&report, false);
    assert!(text.ends_with("0 to add, 1 to change, 0 to remove\nPods will restart: Deployment azureml/azureml-fe-v2\n"), "{text}");
}

#[test]
fn annotation_change_in_the_pod_template_restarts_pods() {
    let report = run(
        &[deployment(3, "fe:1", "b")],
        Origin::Render,
        &[deployment(1, "fe:1", "a")],
    );
    let names: Vec<&str> = report.restarts().map(|o| o.id.name.as_str()).collect();
    assert_eq!(names, ["azureml-fe-v2"]);
}

#[test]
fn only_workloads_can_restart() {
    // A ConfigMap change is a change, never a restart, even with a `template` key.
    let mut a = config_map("c", true);
    a["spec"] = json!({"template": 1});
    let mut b = a.clone();
    b["spec"]["template"] = json!(2);
    assert_eq!(run(&[a], Origin::Render, &[b]).restarts().count(), 0);
}

#[test]
fn headers_name_both_sides() {
    let report = run(
        &[deployment(3, "fe:1", "a")],
        Origin::Live,
        &[deployment(1, "fe:1", "a")],
    );
    assert!(report.objects[0].diff.starts_with(
        "--- live apps/v1 Deployment azureml/azureml-fe-v2\n+++ rendered apps/v1 Deployment azureml/azureml-fe-v2\n@@"
    ));
}

#[test]
fn removals_from_a_render_count_but_unlabelled_live_objects_do_not() {
    let rendered = [config_map("kept", true)];
    let other = [
        config_map("kept", true),
        config_map("ours", true),
        config_map("not-ours", false),
    ];
    let from_render = run(&rendered, Origin::Render, &other);
    assert_eq!(
        from_render.summary_line(),
        "0 to add, 0 to change, 2 to remove"
    );
    for origin in [Origin::Live, Origin::Dump] {
        let report = run(&rendered, origin, &other);
        let removed: Vec<&str> = report.objects.iter().map(|o| o.id.name.as_str()).collect();
        assert_eq!(removed, ["ours"], "{origin:?}");
    }
}

#[test]
fn another_instance_label_is_not_a_removal() {
    let mut other = config_map("theirs", true);
    other["metadata"]["labels"]["amlc/instance"] = json!("azureml-2");
    assert!(!run(&[], Origin::Live, &[other]).has_differences());
}

#[test]
fn additions_show_the_whole_object() {
    let report = run(&[config_map("new", true)], Origin::Live, &[]);
    assert_eq!(report.summary_line(), "1 to add, 0 to change, 0 to remove");
    assert!(report.objects[0].diff.contains("+kind: ConfigMap\n"));
    // Only Secret data is masked; a ConfigMap's shows (regression: it was masked too).
    assert!(report.objects[0].diff.contains("+  k: v\n"));
    assert!(
        report.objects[0]
            .diff
            .starts_with("--- live (absent) ConfigMap azureml/new\n")
    );
}

#[test]
fn matching_ignores_the_api_version() {
    let mut old = json!({"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget", "metadata": {"name": "p", "namespace": "azureml"}});
    let new = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p", "namespace": "azureml"}});
    let report = run(
        std::slice::from_ref(&new),
        Origin::Render,
        std::slice::from_ref(&old),
    );
    assert_eq!(report.summary_line(), "0 to add, 1 to change, 0 to remove");
    old["apiVersion"] = json!("policy/v1");
    assert!(!run(&[new], Origin::Render, &[old]).has_differences());
}

#[test]
fn ignored_differences_do_not_count() {
    let mut opts = options();
    opts.ignore = IgnoreSet::compile(
        &[IgnoreRule {
            paths: vec!["/spec/replicas".into()],
            target: Some(IgnoreTarget {
                kind: Some("Deployment".into()),
                name: Some("azureml-fe-.*".into()),
                namespace: Some("azureml".into()),
            }),
        }],
        "test",
    )
    .unwrap();
    let side = Side::new(Origin::Live, vec![deployment(1, "fe:1", "a")]);
    let report = diff(&[deployment(3, "fe:1", "a")], &side, &opts);
    assert!(!report.has_differences());
    assert_eq!(report.ignored, 1);
    assert!(output::render_text(&report, false).contains("1 ignored difference(s) not counted"));
}

#[test]
fn forbidden_kinds_are_not_compared_rather_than_added() {
    let mut side = Side::new(Origin::Live, vec![]);
    side.unread.push(Unread {
        group: String::new(),
        kind: "Secret".into(),
        namespace: "azureml".into(),
    });
    let report = diff(&[secret("YQ=="), config_map("c", true)], &side, &options());
    assert_eq!(report.not_compared, 1);
    assert_eq!(report.summary_line(), "1 to add, 0 to change, 0 to remove");
}

/// Secret values must not appear in any format: not the values, their base64, or hashes.
#[test]
fn secret_values_never_appear_in_any_output() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut live = secret(&b64("old-password-1"));
    live["metadata"]["annotations"] = json!({
        "kubectl.kubernetes.io/last-applied-configuration":
            "{\"stringData\":{\"token\":\"old-password-1\"}}"
    });
    live["metadata"]["uid"] = json!("u-1");
    let mut rendered = secret("");
    rendered["data"].as_object_mut().unwrap().remove("token");
    rendered["stringData"] = json!({"token": "new-password-2", "added": "added-value-3"});
    // A removed Secret too, whose values must not show either.
    let mut gone = secret(&b64("gone-value-4"));
    gone["metadata"]["name"] = json!("gone");

    let report = run(&[rendered], Origin::Live, &[live, gone]);
    assert_eq!(report.summary_line(), "0 to add, 1 to change, 1 to remove");
    let outputs = [
        output::render_text(&report, false),
        output::render_text(&report, true),
        output::render_markdown(&report),
        output::render_json(&report),
        format!("{report:?}"),
    ];
    for out in &outputs {
        for value in [
            "old-password-1",
            "new-password-2",
            "added-value-3",
            "gone-value-4",
            "same-value",
        ] {
            assert!(!out.contains(value), "{value} leaked:\n{out}");
            assert!(
                !out.contains(&b64(value)),
                "{value} leaked as base64:\n{out}"
            );
        }
        assert!(
            !out.contains("sha256") && !out.contains(&hex_sha256("new-password-2")),
            "hash leaked:\n{out}"
        );
    }
    let text = &outputs[0];
    assert!(
        text.contains("-  token: '***'\n+  token: '*** (changed)'\n"),
        "{text}"
    );
    assert!(text.contains("+  added: '***'\n"), "{text}");
}

fn hex_sha256(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn report_order_is_install_order_then_namespace_and_name() {
    let rendered = [
        deployment(1, "x", "a"),
        config_map("b", true),
        config_map("a", true),
        secret("YQ=="),
    ];
    let report = run(&rendered, Origin::Live, &[]);
    let order: Vec<String> = report
        .objects
        .iter()
        .map(|o| format!("{}/{}", o.id.kind, o.id.name))
        .collect();
    assert_eq!(
        order,
        [
            "Secret/azureml-fe-secret",
            "ConfigMap/a",
            "ConfigMap/b",
            "Deployment/azureml-fe-v2"
        ]
    );
}

#[test]
fn markdown_has_heading_summary_table_and_sections() {
    let report = run(
        &[deployment(3, "fe:2", "a")],
        Origin::Live,
        &[deployment(1, "fe:1", "a")],
    );
    let md = output::render_markdown(&report);
    assert!(
        md.starts_with("## amlc diff\n\n0 to add, 1 to change, 0 to remove\n"),
        "{md}"
    );
    assert!(md.contains("| change | kind | namespace | name |\n|---|---|---|---|\n| change | Deployment | azureml | azureml-fe-v2 |\n"), "{md}");
    assert!(md.contains("<details><summary>change Deployment azureml/azureml-fe-v2</summary>\n\n```diff\n--- live"), "{md}");
    assert!(md.contains("\n```\n\n</details>\n"), "{md}");
    assert!(!md.contains("Trimmed"));
}

#[test]
fn markdown_is_trimmed_to_the_github_limit_with_a_note() {
    // 400 ConfigMaps with big data: far more than one comment holds.
    let big = "x".repeat(400);
    let rendered: Vec<Value> = (0..400)
        .map(|i| {
            let mut cm = config_map(&format!("cm-{i:03}"), true);
            cm["data"] = json!({"a": big, "b": big});
            cm
        })
        .collect();
    let report = run(&rendered, Origin::Live, &[]);
    let md = output::render_markdown(&report);
    assert!(md.len() <= output::GITHUB_COMMENT_LIMIT, "{}", md.len());
    assert!(
        md.contains("**Trimmed** to GitHub's 65,536-character comment limit"),
        "{}",
        &md[md.len() - 500..]
    );
    assert!(md.contains("more object diff(s) were left out"));
    // The table still names every object, so nothing is hidden silently.
    assert!(md.contains("| add | ConfigMap | azureml | cm-399 |"));
    // Sections are whole or visibly cut: every opened fence is closed.
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
}

#[test]
fn one_huge_object_is_shortened_not_dropped() {
    let mut cm = config_map("huge", true);
    cm["data"] = json!({"lines": (0..20_000).map(|i| format!("line {i}")).collect::<Vec<_>>()});
    let report = run(&[cm], Origin::Live, &[]);
    let md = output::render_markdown(&report);
    assert!(md.len() <= output::GITHUB_COMMENT_LIMIT);
    assert!(
        md.contains("the diff of ConfigMap azureml/huge was shortened"),
        "{}",
        &md[md.len() - 300..]
    );
    assert!(md.contains("... (cut)\n```\n"));
}

#[test]
fn json_output_has_a_stable_shape() {
    let report = run(
        &[deployment(1, "fe:2", "a"), config_map("new", true)],
        Origin::Live,
        &[deployment(1, "fe:1", "a")],
    );
    let v: Value = serde_json::from_str(&output::render_json(&report)).unwrap();
    assert_eq!(
        v["summary"],
        json!({"add": 1, "change": 1, "remove": 0, "unchanged": 0, "notCompared": 0, "ignored": 0})
    );
    assert_eq!(
        v["restarts"],
        json!([{"kind": "Deployment", "namespace": "azureml", "name": "azureml-fe-v2"}])
    );
    assert_eq!(v["against"], json!("live"));
    let first = &v["objects"][0];
    assert_eq!(first["change"], json!("add"));
    assert_eq!(first["kind"], json!("ConfigMap"));
    assert_eq!(first["apiVersion"], json!("v1"));
    assert_eq!(first["group"], json!(""));
    assert!(first["diff"].as_str().unwrap().contains("+kind: ConfigMap"));
    assert_eq!(v["objects"][1]["restarts"], json!(true));
    assert_eq!(
        v["objects"][1]["paths"],
        json!(["/spec/template/spec/containers/0/image"])
    );
    assert_eq!(first["paths"], json!([]));
}

#[test]
fn colour_only_when_asked() {
    let report = run(
        &[deployment(3, "fe:1", "a")],
        Origin::Live,
        &[deployment(1, "fe:1", "a")],
    );
    assert!(!output::render_text(&report, false).contains('\x1b'));
    assert!(output::render_text(&report, true).contains("\x1b[32m+  replicas: 3\x1b[0m"));
}

#[test]
fn malformed_objects_are_skipped_with_a_warning_not_a_panic() {
    let report = run(
        &[json!({"kind": "ConfigMap"}), json!(3)],
        Origin::Render,
        &[json!(null)],
    );
    assert_eq!(report.warnings.len(), 3);
    assert!(!report.has_differences());
}

#[test]
fn cron_job_template_change_restarts_but_schedule_change_does_not() {
    let cron = |schedule: &str, image: &str| {
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cleanup", "namespace": "azureml"},
               "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": {
                   "containers": [{"name": "c", "image": image}]}}}}}})
    };
    let schedule_only = run(
        &[cron("0 * * * *", "a")],
        Origin::Render,
        &[cron("5 * * * *", "a")],
    );
    assert_eq!(
        (
            schedule_only.objects.len(),
            schedule_only.restarts().count()
        ),
        (1, 0)
    );
    let image = run(
        &[cron("0 * * * *", "b")],
        Origin::Render,
        &[cron("0 * * * *", "a")],
    );
    assert_eq!(image.restarts().count(), 1);
}

#[test]
fn ignore_rules_on_secret_data_cover_string_data_too() {
    let mut opts = options();
    opts.ignore = IgnoreSet::compile(
        &[IgnoreRule {
            paths: vec!["/data/token".into()],
            target: Some(IgnoreTarget {
                kind: Some("Secret".into()),
                ..IgnoreTarget::default()
            }),
        }],
        "test",
    )
    .unwrap();
    let mut rendered = secret("");
    rendered["data"].as_object_mut().unwrap().remove("token");
    rendered["stringData"] = json!({"token": "rotated-elsewhere"});
    let side = Side::new(Origin::Render, vec![secret("b2xk")]);
    let report = diff(&[rendered], &side, &opts);
    assert!(!report.has_differences());
    assert_eq!(report.ignored, 1);
}
