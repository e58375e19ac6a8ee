//! Objects finished (written as they will be output, and linted: `lint::finish`) once per
//! process and shared by every build that makes an equal one.
//!
//! A fleet's configs make mostly the same objects: names and selectors differ between
//! clusters, but most RBAC, Services, ConfigMaps and webhooks do not, and workloads repeat
//! wherever clusters share a node pool (the 200-config fleet of README "Performance" makes
//! some 25,000 objects besides its CRDs, and 655 distinct documents). So from a process's
//! second build on, a finished object seen twice is kept by value, and a build that makes an equal
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
/// is one and `share` holds, else [`crate::lint::finish`]ed (and kept, from the second
/// time its hash is seen, if the lints found nothing: a fleet whose objects all differ,
/// every extension named apart, keeps none of them).
pub fn finish(value: Value, share: bool) -> (Manifest, Vec<Diagnostic>) {
    if !share {
        return crate::lint::finish(value);
    }
    let hash = FxBuild::default().hash_one(&value);
    // Compared outside the lock: the other threads go on finishing theirs.
    let (candidates, seen_before) = match table().lock() {
        Ok(mut t) => match t.kept.get(&hash) {
            Some(kept) => (kept.clone(), true),
            None => (Vec::new(), !t.seen.insert(hash)),
        },
        Err(_) => (Vec::new(), false),
    };
    if let Some(hit) = candidates.into_iter().find(|m| *m.value() == value) {
        return (hit, Vec::new());
    }
    let (manifest, warnings) = crate::lint::finish(value);
    if warnings.is_empty()
        && seen_before
        && let Ok(mut t) = table().lock()
        && t.entries < ENTRIES
    {
        t.kept.entry(hash).or_default().push(manifest.clone());
        t.entries += 1;
    }
    (manifest, warnings)
}

#[derive(Default)]
struct Table {
    /// Finished objects by the hash of their value.
    kept: std::collections::HashMap<u64, Vec<Manifest>, FxBuild>,
    /// How many `kept` holds.
    entries: usize,
    /// Hashes seen once (a collision only keeps an object sooner).
    seen: std::collections::HashSet<u64, FxBuild>,
}

fn table() -> &'static Mutex<Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE.get_or_init(Mutex::default)
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
        // Kept from its second sighting on.
        let (second, _) = finish(object.clone(), true);
        assert!(!std::ptr::eq(first.yaml(), second.yaml()));
        let (third, _) = finish(object.clone(), true);
        assert!(std::ptr::eq(second.yaml(), third.yaml()), "shared");
        let mut other = object.clone();
        other["data"]["k"] = json!("w");
        let (different, _) = finish(other.clone(), true);
        assert_eq!(*different.value(), other);
        assert_eq!(different.yaml(), crate::emit::yaml_document(&other));
        // Not shared: written anew.
        let (alone, _) = finish(object.clone(), false);
        assert!(!std::ptr::eq(third.yaml(), alone.yaml()));
        assert_eq!(third.yaml(), alone.yaml());
    }

    #[test]
    fn objects_the_lints_warn_about_are_finished_each_time() {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "finished-test-b"}, "data": {"path": "${HOME}"}});
        let (first, w1) = finish(object.clone(), true);
        let _ = finish(object.clone(), true);
        let (second, w2) = finish(object, true);
        assert_eq!((w1.len(), w2.len()), (1, 1));
        assert!(!std::ptr::eq(first.yaml(), second.yaml()));
        assert_eq!(first.yaml(), second.yaml());
    }
}
