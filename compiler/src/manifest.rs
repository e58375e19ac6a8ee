//! A final object, as a build returns it: shared rather than copied, with its YAML
//! document written at most once.
//!
//! The CRDs are four fifths of a build's output and the same for every config of an
//! extension name, so a fleet build transforms, lints and emits them once and hands every
//! config the same `Manifest`s (`crds`). Cloning one is a reference count.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::embedded::BuiltCrd;

#[derive(Clone)]
pub struct Manifest(Arc<Inner>);

struct Inner {
    body: Body,
    yaml: OnceLock<Arc<str>>,
    /// A check that found nothing in the object (`soundness::hardening`), by its id; 0:
    /// none. A fleet's shared objects are checked once, not once per build.
    clean: AtomicU64,
}

enum Body {
    Own(Value),
    /// Another manifest's object with one string changed (`crds`: a CRD for a further
    /// extension name is the model's with the instance label's value swapped). The copy is
    /// made on first use of the whole value; a fleet build only reads what the two share.
    Derived {
        model: Manifest,
        pointer: String,
        to: String,
        value: OnceLock<Value>,
    },
    /// A built-in CRD as `build.rs` wrote it (`crds`): read whole only on first use of the
    /// whole value; a build reads its shape and outputs its document.
    Embedded {
        crd: &'static BuiltCrd,
        shape: Value,
        value: OnceLock<Value>,
    },
}

impl Body {
    fn parse(crd: &BuiltCrd) -> Value {
        serde_json::from_str(crd.value).expect("build.rs writes JSON of a value")
    }

    fn derive(model: &Manifest, pointer: &str, to: &str) -> Value {
        let mut value = model.value().clone();
        if let Some(v) = value.pointer_mut(pointer) {
            *v = Value::from(to);
        }
        value
    }
}

impl Manifest {
    pub fn new(value: Value) -> Self {
        Manifest(Arc::new(Inner {
            body: Body::Own(value),
            yaml: OnceLock::new(),
            clean: AtomicU64::new(0),
        }))
    }

    /// `model`'s object with the string at `pointer` set to `to`, and its document
    /// `yaml`; the caller guarantees the pointer names a string and that `yaml` is exactly
    /// the emitter's document of that object.
    pub fn derived(model: &Manifest, pointer: String, to: String, yaml: Arc<str>) -> Self {
        Manifest(Arc::new(Inner {
            body: Body::Derived {
                model: model.clone(),
                pointer,
                to,
                value: OnceLock::new(),
            },
            yaml: OnceLock::from(yaml),
            clean: AtomicU64::new(0),
        }))
    }

    /// A built-in CRD as `build.rs` wrote it; None when its shape does not read (it always
    /// does: a test reads every one).
    pub fn embedded(crd: &'static BuiltCrd) -> Option<Self> {
        let shape = serde_json::from_str(crd.shape).ok()?;
        Some(Manifest(Arc::new(Inner {
            body: Body::Embedded {
                crd,
                shape,
                value: OnceLock::new(),
            },
            yaml: OnceLock::new(),
            clean: AtomicU64::new(0),
        })))
    }

    /// A manifest whose document was derived from another's (`crds`); the caller
    /// guarantees it is exactly the emitter's document of `value`.
    pub fn with_document(value: Value, yaml: Arc<str>) -> Self {
        Manifest(Arc::new(Inner {
            body: Body::Own(value),
            yaml: OnceLock::from(yaml),
            clean: AtomicU64::new(0),
        }))
    }

    pub fn value(&self) -> &Value {
        self.0.value()
    }

    /// The object's shape, for reading what builds read of an object without copying or
    /// parsing all of it: kind, API version, metadata but the instance label's value
    /// (a derived manifest's is its model's), and the spec but a built-in CRD's version
    /// schemas.
    pub fn shape(&self) -> &Value {
        match &self.0.body {
            Body::Own(v) => v,
            Body::Derived { model, .. } => model.shape(),
            Body::Embedded { shape, .. } => shape,
        }
    }

    /// The CRD `build.rs` wrote, when this is one as it wrote it.
    pub fn embedded_crd(&self) -> Option<&'static BuiltCrd> {
        match &self.0.body {
            Body::Embedded { crd, .. } => Some(crd),
            _ => None,
        }
    }

    /// The object as one YAML document (no `---`), ending in a newline; written on first
    /// use and kept, so shared manifests are emitted once per process.
    pub fn yaml(&self) -> &str {
        match &self.0.body {
            Body::Embedded { crd, .. } => crd.document,
            _ => self.document(),
        }
    }

    /// [`Manifest::yaml`], shared: an output can keep the document without the object.
    pub fn document(&self) -> &Arc<str> {
        self.0.yaml.get_or_init(|| match &self.0.body {
            Body::Embedded { crd, .. } => crd.document.into(),
            _ => crate::emit::yaml_document(self.value()).into(),
        })
    }

    /// Whether the check `id` found nothing in this object before.
    pub fn found_clean(&self, id: u64) -> bool {
        id != 0 && self.0.clean.load(Ordering::Relaxed) == id
    }

    /// Records that the check `id` found nothing in this object.
    pub fn mark_clean(&self, id: u64) {
        self.0.clean.store(id, Ordering::Relaxed);
    }

    /// The object itself, copied only when another build still shares it.
    pub fn into_value(self) -> Value {
        match Arc::try_unwrap(self.0) {
            Ok(Inner {
                body: Body::Own(v), ..
            }) => v,
            Ok(Inner {
                body:
                    Body::Derived {
                        model,
                        pointer,
                        to,
                        value,
                    },
                ..
            }) => value
                .into_inner()
                .unwrap_or_else(|| Body::derive(&model, &pointer, &to)),
            Ok(Inner {
                body: Body::Embedded { crd, value, .. },
                ..
            }) => value.into_inner().unwrap_or_else(|| Body::parse(crd)),
            Err(shared) => shared.value().clone(),
        }
    }
}

impl Inner {
    fn value(&self) -> &Value {
        match &self.body {
            Body::Own(v) => v,
            Body::Derived {
                model,
                pointer,
                to,
                value,
            } => value.get_or_init(|| Body::derive(model, pointer, to)),
            Body::Embedded { crd, value, .. } => value.get_or_init(|| Body::parse(crd)),
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
    fn a_derived_manifest_copies_its_model_only_for_its_whole_value() {
        let model = Manifest::new(serde_json::json!({
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "a", "labels": {"amlc/instance": "model"}},
        }));
        let yaml: Arc<str> = "derived document\n".into();
        let d = Manifest::derived(
            &model,
            "/metadata/labels/amlc~1instance".into(),
            "ml".into(),
            Arc::clone(&yaml),
        );
        assert!(std::ptr::eq(d.shape(), model.value()));
        assert!(std::ptr::eq(d.yaml(), &*yaml));
        assert_eq!(d.value()["metadata"]["labels"]["amlc/instance"], "ml");
        assert_eq!(
            model.value()["metadata"]["labels"]["amlc/instance"],
            "model"
        );
        assert_eq!(d.clone().into_value(), *d.value());
        assert_eq!(d.into_value()["metadata"]["name"], "a");
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
