//! The soundness stage over every golden case and the property-test configs: no reference
//! to an object nothing creates, no pod template without a node to run on, and every object
//! the user must create named in the one "create first" note.
//!
//! The note is checked against the graph walked without the user's objects: every
//! reference that then resolves to nothing must be in the note (its target, or the
//! namespace that brings a `default` ServiceAccount).

use crate::{common, properties};

use amlc::config::Config;
use amlc::soundness::{self, Environment, Findings, ObjectRef};
use proptest::prelude::*;
use proptest::test_runner::Config as RunnerConfig;
use serde_json::Value;

/// What the note must name for a render: the targets of references that only the user's
/// objects resolve.
fn user_supplied(objects: &[Value], env: &Environment) -> Vec<ObjectRef> {
    let mut bare = env.clone();
    bare.supplied.clear();
    let mut want: Vec<ObjectRef> = soundness::check(objects, &bare)
        .dangling
        .into_iter()
        .map(|r| {
            if r.to.kind == "ServiceAccount" && r.to.name == "default" {
                ObjectRef::cluster("Namespace", &r.to.namespace)
            } else {
                r.to
            }
        })
        .collect();
    want.sort();
    want.dedup();
    want
}

fn assert_sound(what: &str, findings: &Findings) {
    let dangling: Vec<String> = findings.dangling.iter().map(ToString::to_string).collect();
    let stranded: Vec<String> = findings
        .unschedulable
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        dangling.is_empty() && stranded.is_empty(),
        "{what}:\n  dangling: {dangling:#?}\n  unschedulable: {stranded:#?}"
    );
}

#[test]
fn every_golden_case_is_sound_and_its_note_names_what_the_user_creates() {
    let mut cases = 0;
    let mut noted = 0;
    for case in common::golden_cases() {
        let out = common::build_case(&case);
        if !out.status.success() {
            continue;
        }
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(case.join("amlc.yaml"))
            .unwrap_or_else(|_| amlc::validate::default_config_source().text.to_string());
        let config: Config = serde_yaml_ng::from_str(&text).expect("a golden config parses");
        let objects = amlc::render::parse_documents(&String::from_utf8_lossy(&out.stdout))
            .expect("the render is YAML");
        let env = soundness::environment(&config, None);
        assert_sound(&name, &soundness::check(&objects, &env));
        let stderr = String::from_utf8_lossy(&out.stderr);
        for target in user_supplied(&objects, &env) {
            assert!(
                stderr.contains(&format!("\n  {target}: ")),
                "{name}: {target} is referenced, not rendered, and not in the note:\n{stderr}"
            );
            noted += 1;
        }
        cases += 1;
    }
    assert!(cases >= 20, "only {cases} golden cases built");
    // The cases cover TLS Secrets, IngressClasses, the relay Secret and namespaces.
    assert!(
        noted >= 10,
        "only {noted} user-supplied objects across the cases"
    );
}

proptest! {
    #![proptest_config(RunnerConfig { cases: 96, failure_persistence: None, ..RunnerConfig::default() })]

    #[test]
    fn every_valid_generated_config_is_sound(c in properties::config()) {
        let text = properties::text(&c, None);
        let source = amlc::diagnostic::Source::new("amlc.yaml", text.as_str());
        let host = amlc::validate::NoFiles { now_unix: 1_700_000_000 };
        let Ok(validated) = amlc::validate::validate(&source, &host) else {
            return Ok(());
        };
        let built = amlc::build(&validated, properties::catalog()).expect("a valid config builds");
        let objects: Vec<Value> = built.objects.iter().map(|m| m.value().clone()).collect();
        let env = soundness::environment(&validated.config, None);
        assert_sound(&text, &soundness::check(&objects, &env));
        let noted: Vec<&ObjectRef> = built.create_first.iter().map(|s| &s.target).collect();
        for target in user_supplied(&objects, &env) {
            prop_assert!(noted.contains(&&target), "{target} not in the note {noted:?}\n{text}");
        }
        // The build reports nothing unsound either.
        for w in &built.warnings {
            prop_assert!(!w.code.starts_with("amlc::build::"), "{}: {}\n{text}", w.code, w.message);
        }
    }
}
