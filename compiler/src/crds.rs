//! The CRDs of a component as a build outputs them, made once per extension name and
//! shared by every build of the process that has that name.
//!
//! They are four fifths of a build's output and the same for every cluster: what the
//! transforms do to a CustomResourceDefinition depends on the extension name alone (it is
//! cluster-scoped and has no pod template or image, so only `transform::labels` changes
//! it; the catalog admits no other kind, and `transform`'s tests prove the rest), and each
//! lint looks at one object alone. So a fleet transforms, lints and emits them once.
//!
//! A fleet whose extensions have different names still writes their documents once: the
//! document for a name is the document for [`MODEL_NAME`] with the label's value swapped,
//! which is what the emitter writes (keys are sorted, a one-line value is written alone
//! on its line, and the model name appears nowhere else in the document: checked, and
//! emitted in full otherwise).

use std::sync::Arc;

use rayon::prelude::*;
use serde_json::Value;

use crate::catalog::Component;
use crate::diagnostic::Diagnostic;
use crate::manifest::Manifest;
use crate::object::Object;
use crate::{lint, transform};

/// One component's CRDs for one extension name, each with its lint warnings.
#[derive(Debug)]
pub struct Built {
    pub manifests: Vec<(Manifest, Vec<Diagnostic>)>,
}

/// The extension name of the model documents others are derived from: a valid name no
/// CRD holds.
const MODEL_NAME: &str = "amlc-model-instance-name";

/// `component`'s CRDs transformed with `settings` and linted; from the component's memo
/// when a build with the same extension name made them before.
pub fn built(component: &Component, settings: &transform::Settings) -> Arc<Built> {
    component
        .built_crds
        .get_or_insert_with(&settings.instance, || {
            // A second name in a process means a fleet of names: from then on CRDs are
            // derived from the model (made once), not transformed, linted and emitted
            // per name.
            if settings.instance == MODEL_NAME || component.built_crds.is_empty() {
                return build(component, settings);
            }
            let model_settings = transform::Settings {
                instance: MODEL_NAME.to_owned(),
                ..settings.clone()
            };
            let model = built_model(component, &model_settings);
            derived(&model, &settings.instance).unwrap_or_else(|| {
                let mut built = build(component, settings);
                derive_documents(&mut built, &model, &settings.instance);
                built
            })
        })
}

/// The model's CRDs with the label's value swapped, values and documents; `None` unless
/// every one is sure to equal a build for `instance` (see the module comment): the model
/// name appears once in each document, in the label, and the lints found nothing (their
/// findings and the annotation they add are left to a build of its own).
fn derived(model: &Built, instance: &str) -> Option<Built> {
    let (from, to) = label_lines(instance)?;
    let pointer = format!(
        "/metadata/labels/{}",
        transform::labels::INSTANCE_LABEL.replace('/', "~1")
    );
    let manifests = model
        .manifests
        .iter()
        .map(|(manifest, warnings)| {
            if !warnings.is_empty() {
                return None;
            }
            let document = swap_label(manifest.yaml(), &from, &to)?;
            (manifest.value().pointer(&pointer)? == MODEL_NAME).then(|| {
                let derived = Manifest::derived(
                    manifest,
                    pointer.clone(),
                    instance.to_owned(),
                    document.into(),
                );
                (derived, Vec::new())
            })
        })
        .collect::<Option<_>>()?;
    Some(Built { manifests })
}

/// The label's line in the model's documents and in `instance`'s, as the emitter writes
/// them; `None` when a value would not be written inline.
fn label_lines(instance: &str) -> Option<(String, String)> {
    let line = |name: &str| {
        crate::emit::inline_string(name)
            .map(|v| format!("{}: {v}\n", transform::labels::INSTANCE_LABEL))
    };
    Some((line(MODEL_NAME)?, line(instance)?))
}

fn built_model(component: &Component, settings: &transform::Settings) -> Arc<Built> {
    component
        .built_crds
        .get_or_insert_with(MODEL_NAME, || build(component, settings))
}

/// Gives each manifest of `built` the model's document with the label's value swapped,
/// where the swap is sure to give the emitter's document (see the module comment).
fn derive_documents(built: &mut Built, model: &Built, instance: &str) {
    let Some((from, to)) = label_lines(instance) else {
        return;
    };
    for ((manifest, _), (model, _)) in built.manifests.iter_mut().zip(&model.manifests) {
        if let Some(document) = swap_label(model.yaml(), &from, &to) {
            let value = std::mem::replace(manifest, Manifest::new(Value::Null)).into_value();
            *manifest = Manifest::with_document(value, document.into());
        }
    }
}

/// A model document with the label line `from` made `to`; `None` unless the model name
/// appears once in it, in that line (`from` holds it), so nothing else changes.
fn swap_label(document: &str, from: &str, to: &str) -> Option<String> {
    (document.matches(MODEL_NAME).count() == 1 && document.contains(from))
        .then(|| document.replacen(from, to, 1))
}

fn build(component: &Component, settings: &transform::Settings) -> Built {
    // The first name in a process takes the CRDs as values of its own; further names (a
    // fleet of names) copy them from the component's parsed set, parsed once.
    let values = if component.built_crds.is_empty() {
        component.crd_values()
    } else {
        component.crd_objects().to_vec()
    };
    let objects = values
        .into_iter()
        .map(|v| Object::new(&component.name, v))
        .collect();
    let manifests = transform::apply(objects, settings, [])
        .into_par_iter()
        .map(|o| lint::finish(o.value))
        .collect();
    Built { manifests }
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;
    use crate::config::Config;
    use crate::emit;

    fn config(name: &str, pool: &str) -> Config {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "amlc/v1", "kind": "ExtensionConfig",
            "metadata": {"name": name},
            "cluster": {"type": "aks"},
            "nodeSelector": {"pool": pool},
            "images": {"registry": format!("{pool}.example.com")},
        }))
        .unwrap()
    }

    fn stream(config: &Config, catalog: &Catalog) -> String {
        emit::yaml_stream(&crate::build::build_config(config, catalog).unwrap().objects)
    }

    /// Documents derived from the model are the emitter's own, names that must be quoted
    /// included.
    #[test]
    fn derived_documents_are_the_emitters() {
        let shared = Catalog::embedded().unwrap();
        for name in ["azureml", "ml", "123", "true", "null", "a-b-c", "azureml"] {
            let b = crate::build::build_config(&config(name, "x"), &shared).unwrap();
            let crds: Vec<_> = b
                .objects
                .iter()
                .filter(|m| crate::object::kind(m) == "CustomResourceDefinition")
                .collect();
            assert!(crds.len() > 20);
            for m in crds {
                assert_eq!(m.yaml(), emit::yaml_document(m.value()), "{name}");
                assert_eq!(m["metadata"]["labels"]["amlc/instance"], name);
            }
        }
    }

    /// CRDs derived from the model equal, value and document, the CRDs built for the name.
    #[test]
    fn derived_crds_equal_a_build_of_their_own() {
        let catalog = Catalog::embedded().unwrap();
        let settings = |instance: &str| crate::transform::Settings {
            namespace: "azureml".into(),
            instance: instance.into(),
            node_selector: [("pool".to_owned(), "a".to_owned())].into(),
            tolerations: Vec::new(),
            registry: "registry.example.com".into(),
            pod_security: Default::default(),
            default_user: None,
        };
        let mut derived_crds = 0;
        for component in catalog.components() {
            let model = super::build(component, &settings(super::MODEL_NAME));
            for name in ["ml", "123", "true", "a-b-c"] {
                let own = super::build(component, &settings(name));
                let derived = super::derived(&model, name).unwrap();
                assert_eq!(derived.manifests.len(), own.manifests.len());
                for ((d, dw), (o, ow)) in derived.manifests.iter().zip(&own.manifests) {
                    // What builds read of the shape (kind, name, group, scope) is the CRD's.
                    let (shape, own) = (d.shape(), o.value());
                    assert_eq!(shape["kind"], own["kind"]);
                    assert_eq!(shape["metadata"]["name"], own["metadata"]["name"]);
                    assert_eq!(shape["spec"], own["spec"]);
                    assert_eq!(d.value(), o.value(), "{name}");
                    assert_eq!(d.yaml(), o.yaml(), "{name}");
                    assert!(dw.is_empty() && ow.is_empty());
                    derived_crds += 1;
                }
            }
        }
        assert!(derived_crds > 4 * 20, "{derived_crds}");
    }

    /// A build sharing CRDs made for an earlier config gives the bytes of a build alone.
    #[test]
    fn shared_crds_give_the_output_of_a_build_alone() {
        let shared = Catalog::embedded().unwrap();
        for (name, pool) in [
            ("azureml", "a"),
            ("azureml", "b"),
            ("ml", "b"),
            ("azureml", "c"),
        ] {
            let c = config(name, pool);
            let alone = stream(&c, &Catalog::embedded().unwrap());
            assert_eq!(stream(&c, &shared), alone, "{name} {pool}");
        }
        let crds = |name: &str| {
            let b = crate::build::build_config(&config(name, "x"), &shared).unwrap();
            b.objects
                .into_iter()
                .find(|m| crate::object::kind(m) == "CustomResourceDefinition")
                .unwrap()
        };
        // Shared, not equal copies: emitted once.
        assert!(std::ptr::eq(crds("azureml").yaml(), crds("azureml").yaml()));
        assert!(!std::ptr::eq(crds("azureml").yaml(), crds("ml").yaml()));
    }
}
