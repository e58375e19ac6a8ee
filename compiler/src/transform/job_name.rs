//! Job names that follow the Job's content: `<name>-<first 10 hex digits of the sha256 of
//! the canonical JSON of its spec>`, so a render that changes a Job renders a new object.
//!
//! Why (facts sheet, "Applying rendered YAML"): a Job's pod template is immutable, so
//! `kubectl apply`, Flux and Argo CD cannot change a Job in place, and the next change of
//! it would fail to apply. Helm and Argo CD hook annotations, which recreate a Job, mean
//! nothing to Flux or kubectl. A Job named after its spec is re-applied unchanged while it
//! stays the same, and when it changes the new name is created beside the old one, which
//! Flux and Argo CD prune.
//!
//! Jobs get no `ttlSecondsAfterFinished`: the cluster would delete the finished Job, a
//! GitOps tool would find it missing and create it again, and it would run in a loop.
//!
//! Runs after `checksum`, so the hash covers the spec as it is written (images, checksum
//! annotations and scheduling included).

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::object::{self, Object};

/// Hex digits of the hash in the name.
const HASH_LEN: usize = 10;

/// A Job's name is the value of its pods' `job-name` label, so at most 63 characters.
const MAX_NAME: usize = 63;

pub fn apply(mut objects: Vec<Object>) -> Vec<Object> {
    for o in &mut objects {
        rename(&mut o.value);
    }
    objects
}

/// Names a Job after its spec; any other object is left alone.
pub fn rename(value: &mut Value) {
    if object::kind(value) != "Job" || object::group(value) != "batch" {
        return;
    }
    let spec = value.get("spec").unwrap_or(&Value::Null);
    let digest = Sha256::digest(crate::emit::canonical_json(spec).as_bytes());
    let hash = crate::emit::hex(&digest);
    let name = hashed_name(object::name(value), &hash[..HASH_LEN]);
    if let Some(meta) = object::object_entry(value, "metadata") {
        meta.insert("name".into(), Value::String(name));
    }
}

/// `<name>-<hash>`, the name shortened to fit (and cut back to a letter or digit, so the
/// result stays a DNS label).
fn hashed_name(name: &str, hash: &str) -> String {
    let room = MAX_NAME - hash.len() - 1;
    let mut base: String = name.chars().take(room).collect();
    base.truncate(base.trim_end_matches(['-', '.']).len());
    if base.is_empty() {
        hash.to_owned()
    } else {
        format!("{base}-{hash}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::table::{expect, objects};

    const JOB: &str = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: healthcheck, namespace: azureml}\nspec: {backoffLimit: 0, template: {spec: {restartPolicy: Never, containers: [{name: c, image: 'x:1'}]}}}\n";

    fn name_of(yaml: &str) -> String {
        apply(objects(yaml))[0].name().to_owned()
    }

    #[test]
    fn a_job_is_named_after_its_spec() {
        // Pinned, so a change of the canonical form (which renames every rendered Job) is
        // seen: `printf %s '{"backoffLimit":0,"template":{"spec":{"containers":[{"image":
        // "x:1","name":"c"}],"restartPolicy":"Never"}}}' | sha256sum` (one line, no spaces).
        expect(
            &apply(objects(JOB)),
            &JOB.replace("name: healthcheck,", "name: healthcheck-68bc44e5d1,"),
        );
    }

    #[test]
    fn other_kinds_and_groups_keep_their_names() {
        let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {containers: []}}}\n---\napiVersion: example.com/v1\nkind: Job\nmetadata: {name: j}\nspec: {a: 1}\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {schedule: '* * * * *'}\n";
        expect(&apply(objects(yaml)), yaml);
    }

    #[test]
    fn the_name_changes_with_the_spec_and_only_with_it() {
        let same = name_of(JOB);
        assert_eq!(name_of(JOB), same);
        // Key order and metadata do not count.
        assert_eq!(
            name_of(
                &JOB.replace("backoffLimit: 0, template", "template")
                    .replace("}}}\n", "}}, backoffLimit: 0}\n")
            ),
            same
        );
        assert_eq!(
            name_of(&JOB.replace("namespace: azureml", "namespace: azureml, labels: {a: b}")),
            same
        );
        assert_ne!(name_of(&JOB.replace("'x:1'", "'x:2'")), same);
        assert_ne!(
            name_of(&JOB.replace("backoffLimit: 0", "backoffLimit: 1")),
            same
        );
    }

    #[test]
    fn a_long_name_is_shortened_to_a_dns_label() {
        let hash = "0123456789";
        assert_eq!(hashed_name("healthcheck", hash), "healthcheck-0123456789");
        let long = format!("{}-{}", "a".repeat(51), "b".repeat(20));
        let named = hashed_name(&long, hash);
        assert_eq!(named, format!("{}-{hash}", "a".repeat(51)));
        assert_eq!(named.len(), 62);
        assert_eq!(
            hashed_name(&"a".repeat(60), hash),
            format!("{}-{hash}", "a".repeat(52))
        );
        assert_eq!(hashed_name("", hash), hash);
    }
}
