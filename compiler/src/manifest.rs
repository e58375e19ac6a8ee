//! A final object, as a build returns it: shared rather than copied, with its YAML
//! document written at most once.
//!
//! The CRDs are four fifths of a build's output and the same for every config of an
//! extension name, so a fleet build transforms, lints and emits them once and hands every
//! config the same `Manifest`s (`crds`). Cloning one is a reference count.

use std::sync::{Arc, OnceLock};

use serde_json::Value;

#[derive(Clone)]
pub struct Manifest(Arc<Inner>);

struct Inner {
    value: Value,
    yaml: OnceLock<Arc<str>>,
}

impl Manifest {
    pub fn new(value: Value) -> Self {
        Manifest(Arc::new(Inner {
            value,
            yaml: OnceLock::new(),
        }))
    }

    /// A manifest whose document was derived from another's (`crds`); the caller
    /// guarantees it is exactly the emitter's document of `value`.
    pub fn with_document(value: Value, yaml: Arc<str>) -> Self {
        Manifest(Arc::new(Inner {
            value,
            yaml: OnceLock::from(yaml),
        }))
    }

    pub fn value(&self) -> &Value {
        &self.0.value
    }

    /// The object as one YAML document (no `---`), ending in a newline; written on first
    /// use and kept, so shared manifests are emitted once per process.
    pub fn yaml(&self) -> &str {
        self.document()
    }

    /// [`Manifest::yaml`], shared: an output can keep the document without the object.
    pub fn document(&self) -> &Arc<str> {
        self.0
            .yaml
            .get_or_init(|| crate::emit::yaml_document(&self.0.value).into())
    }

    /// The object itself, copied only when another build still shares it.
    pub fn into_value(self) -> Value {
        match Arc::try_unwrap(self.0) {
            Ok(inner) => inner.value,
            Err(shared) => shared.value.clone(),
        }
    }
}

impl std::ops::Deref for Manifest {
    type Target = Value;
    fn deref(&self) -> &Value {
        self.value()
    }
}

impl From<Value> for Manifest {
    fn from(value: Value) -> Self {
        Manifest::new(value)
    }
}

impl PartialEq for Manifest {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.value() == other.value()
    }
}

impl std::fmt::Debug for Manifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_the_emitters_and_is_written_once() {
        let m = Manifest::new(serde_json::json!({"kind": "ConfigMap", "apiVersion": "v1"}));
        let shared = m.clone();
        assert_eq!(m.yaml(), "apiVersion: v1\nkind: ConfigMap\n");
        assert!(std::ptr::eq(m.yaml(), shared.yaml()));
    }

    #[test]
    fn into_value_copies_only_when_shared() {
        let v = serde_json::json!({"a": [1, 2]});
        let m = Manifest::new(v.clone());
        let shared = m.clone();
        assert_eq!(m.into_value(), v);
        assert_eq!(shared.into_value(), v);
    }
}
