//! Objects finished (written as they will be output, and linted: `lint::finish`) once per
//! process and shared by every build that makes an equal one.
//!
//! A fleet's configs make mostly the same objects: names and selectors differ between
//! clusters, but most RBAC, Services, ConfigMaps and webhooks do not, and workloads repeat
//! wherever clusters share a node pool (the 200-config fleet of README "Performance" makes
//! some 25,000 objects besides its CRDs, and 655 distinct documents). So from a process's
//! second build on, a finished object is kept by value, and a build that makes an equal
//! value takes the kept one, its document written once, instead of writing and linting
//! its own. Equal values give equal documents and findings, so the output is the same
//! bytes either way (tests compare); a single build keeps nothing.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::fx_hash::FxBuild;
use crate::manifest::Manifest;

/// Finished objects kept at most; the bound keeps a pathological fleet's memory in check.
const ENTRIES: usize = 4096;

/// Whether the build starting now should share finished objects: from the process's
/// second build on.
pub fn sharing() -> bool {
    static BUILDS: AtomicUsize = AtomicUsize::new(0);
    BUILDS.fetch_add(1, Ordering::Relaxed) > 0
}

/// An object as a build outputs it, with its lint warnings: a kept equal one when there
/// is one and `share` holds, else [`crate::lint::finish`]ed (and kept, if the lints found
/// nothing).
pub fn finish(value: Value, share: bool) -> (Manifest, Vec<Diagnostic>) {
    if !share {
        return crate::lint::finish(value);
    }
    let hash = FxBuild::default().hash_one(&value);
    // Compared outside the lock: the other threads go on finishing theirs.
    let candidates: Vec<Manifest> = kept()
        .lock()
        .ok()
        .and_then(|kept| kept.get(&hash).cloned())
        .unwrap_or_default();
    if let Some(hit) = candidates.into_iter().find(|m| *m.value() == value) {
        return (hit, Vec::new());
    }
    let (manifest, warnings) = crate::lint::finish(value);
    if warnings.is_empty()
        && let Ok(mut kept) = kept().lock()
        && kept.len() < ENTRIES
    {
        kept.entry(hash).or_default().push(manifest.clone());
    }
    (manifest, warnings)
}

type Kept = std::collections::HashMap<u64, Vec<Manifest>, FxBuild>;

fn kept() -> &'static Mutex<Kept> {
    static KEPT: OnceLock<Mutex<Kept>> = OnceLock::new();
    KEPT.get_or_init(Mutex::default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_equal_object_gets_the_kept_one_and_a_different_one_its_own() {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "finished-test-a", "namespace": "azureml"}, "data": {"k": "v"}});
        let (first, w) = finish(object.clone(), true);
        assert!(w.is_empty());
        let (second, _) = finish(object.clone(), true);
        assert!(std::ptr::eq(first.yaml(), second.yaml()), "shared");
        let mut other = object.clone();
        other["data"]["k"] = json!("w");
        let (third, _) = finish(other.clone(), true);
        assert_eq!(*third.value(), other);
        assert_eq!(third.yaml(), crate::emit::yaml_document(&other));
        // Not shared: written anew.
        let (alone, _) = finish(object.clone(), false);
        assert!(!std::ptr::eq(first.yaml(), alone.yaml()));
        assert_eq!(first.yaml(), alone.yaml());
    }

    #[test]
    fn objects_the_lints_warn_about_are_finished_each_time() {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "finished-test-b"}, "data": {"path": "${HOME}"}});
        let (first, w1) = finish(object.clone(), true);
        let (second, w2) = finish(object, true);
        assert_eq!((w1.len(), w2.len()), (1, 1));
        assert!(!std::ptr::eq(first.yaml(), second.yaml()));
        assert_eq!(first.yaml(), second.yaml());
    }
}
