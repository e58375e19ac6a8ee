//! The CRDs of a component as a build outputs them, made once per extension name and
//! shared by every build of the process that has that name.
//!
//! They are four fifths of a build's output and the same for every cluster: what the
//! transforms do to a CustomResourceDefinition depends on the extension name alone (it is
//! cluster-scoped and has no pod template or image, so only `transform::labels` changes
//! it; the catalog admits no other kind, and `transform`'s tests prove the rest), and each
//! lint looks at one object alone. So a fleet transforms, lints and emits them once, and
//! the built-in ones are written when amlc is compiled (`build.rs`, for the default name
//! [`EMBEDDED_NAME`], which most clusters' extensions carry): a build outputs their
//! documents and reads their shapes, and parses none of them.
//!
//! A build for another name still writes no CRD document of its own: the document for a
//! name is the embedded one (a user's component: the one for [`MODEL_NAME`]) with the
//! label's value swapped, which is what the emitter writes (keys are sorted, a one-line
//! value is written alone on its line, and the label's line is found where it was
//! written, or the model name appears nowhere else in the document: checked, and emitted
//! in full otherwise).

use std::sync::Arc;

use rayon::prelude::*;
use serde_json::Value;

use crate::catalog::{Component, Origin};
use crate::diagnostic::Diagnostic;
use crate::manifest::Manifest;
use crate::object::Object;
use crate::{lint, transform};

/// One component's CRDs for one extension name, each with its lint warnings.
#[derive(Debug)]
pub struct Built {
    pub manifests: Vec<(Manifest, Vec<Diagnostic>)>,
}

/// The extension name `build.rs` writes the built-in CRDs for: the default.
const EMBEDDED_NAME: &str = "azureml";

/// The extension name of a user's component's model documents, others are derived from:
/// a valid name no CRD holds.
const MODEL_NAME: &str = "amlc-model-instance-name";

/// `component`'s CRDs transformed with `settings` and linted; from the component's memo
/// when a build with the same extension name made them before.
pub fn built(component: &Component, settings: &transform::Settings) -> Arc<Built> {
    component
        .built_crds
        .get_or_insert_with(&settings.instance, || {
            // Built-in CRDs come written for the default name (`build.rs`); a user's are
            // made for the first name in a process; a second name means a fleet of names,
            // and from then on they are derived from the model (made once), not
            // transformed, linted and emitted per name.
            let model_name = if is_embedded(component) {
                EMBEDDED_NAME
            } else {
                MODEL_NAME
            };
            if settings.instance == model_name {
                return model(component, settings);
            }
            if model_name == MODEL_NAME && component.built_crds.is_empty() {
                return build(component, settings);
            }
            let model_settings = transform::Settings {
                instance: model_name.to_owned(),
                ..settings.clone()
            };
            let model = built_model(component, &model_settings);
            derived(&model, model_name, &settings.instance).unwrap_or_else(|| {
                let mut built = build(component, settings);
                derive_documents(&mut built, &model, model_name, &settings.instance);
                built
            })
        })
}

/// The model's CRDs (for `model_name`) with the label's value swapped, values and
/// documents; `None` unless every one is sure to equal a build for `instance` (see the
/// module comment): the label's line is known, and the lints found nothing (their findings
/// and the annotation they add are left to a build of its own).
fn derived(model: &Built, model_name: &str, instance: &str) -> Option<Built> {
    let (from, to) = label_lines(model_name, instance)?;
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
            let document = swap_label(manifest, model_name, &from, &to)?;
            (manifest.shape().pointer(&pointer)? == model_name).then(|| {
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
fn label_lines(model_name: &str, instance: &str) -> Option<(String, String)> {
    let line = |name: &str| {
        crate::emit::inline_string(name)
            .map(|v| format!("{}: {v}\n", transform::labels::INSTANCE_LABEL))
    };
    Some((line(model_name)?, line(instance)?))
}

fn built_model(component: &Component, settings: &transform::Settings) -> Arc<Built> {
    component
        .built_crds
        .get_or_insert_with(&settings.instance, || model(component, settings))
}

/// The CRDs for the model's name: as `build.rs` wrote them when it wrote them all, else
/// made.
fn model(component: &Component, settings: &transform::Settings) -> Built {
    embedded(component).unwrap_or_else(|| build(component, settings))
}

/// Whether `build.rs` wrote every one of the component's CRDs.
fn is_embedded(component: &Component) -> bool {
    component.origin == Origin::BuiltIn
        && component
            .crds
            .iter()
            .all(|f| crate::embedded::built_crd(&f.path).is_some())
}

/// The component's CRDs as `build.rs` wrote them for the default name; None unless it wrote
/// every one and the lints find nothing in them (a CRD they would change is made, with
/// its warnings, at run time).
fn embedded(component: &Component) -> Option<Built> {
    if !is_embedded(component) {
        return None;
    }
    let manifests = component
        .crds
        .iter()
        .map(|f| {
            let manifest = Manifest::embedded(crate::embedded::built_crd(&f.path)?)?;
            lint::finds_nothing(manifest.shape(), manifest.yaml()).then_some((manifest, Vec::new()))
        })
        .collect::<Option<_>>()?;
    Some(Built { manifests })
}

/// Gives each manifest of `built` the model's document with the label's value swapped,
/// where the swap is sure to give the emitter's document (see the module comment).
fn derive_documents(built: &mut Built, model: &Built, model_name: &str, instance: &str) {
    let Some((from, to)) = label_lines(model_name, instance) else {
        return;
    };
    for ((manifest, _), (model, _)) in built.manifests.iter_mut().zip(&model.manifests) {
        if let Some(document) = swap_label(model, model_name, &from, &to) {
            let value = std::mem::replace(manifest, Manifest::new(Value::Null)).into_value();
            *manifest = Manifest::with_document(value, document.into());
        }
    }
}

/// A model's document with the label line `from` made `to`; `None` unless the model's
/// name appears once in it, in that line (`from` holds it), so nothing else changes. For
/// a CRD `build.rs` wrote, it found that line when it wrote the document.
fn swap_label(model: &Manifest, model_name: &str, from: &str, to: &str) -> Option<String> {
    let document = model.yaml();
    let at = match model.embedded_crd() {
        Some(crd) => crd.label_at?,
        None => {
            (document.matches(model_name).count() == 1).then_some(())?;
            document.find(from)?
        }
    };
    document[at..]
        .starts_with(from)
        .then(|| [&document[..at], to, &document[at + from.len()..]].concat())
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
            let embedded = super::embedded(component).unwrap();
            for name in ["ml", "123", "true", "a-b-c"] {
                let own = super::build(component, &settings(name));
                let derived = super::derived(&model, super::MODEL_NAME, name).unwrap();
                let from_embedded = super::derived(&embedded, super::EMBEDDED_NAME, name).unwrap();
                for ((d, e), o) in derived
                    .manifests
                    .iter()
                    .zip(&from_embedded.manifests)
                    .zip(&own.manifests)
                {
                    assert_eq!(e.0.yaml(), o.0.yaml(), "{name}");
                    assert_eq!(e.0.value(), d.0.value(), "{name}");
                }
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

    /// Every built-in CRD is written by build.rs, and exactly as a build for the default name
    /// makes it: document, value, no warnings, and a shape that is the value without its
    /// versions' schemas.
    #[test]
    fn embedded_crds_are_what_a_build_makes() {
        let catalog = Catalog::embedded().unwrap();
        let settings = crate::transform::Settings {
            namespace: "azureml".into(),
            instance: super::EMBEDDED_NAME.into(),
            node_selector: [("pool".to_owned(), "a".to_owned())].into(),
            tolerations: vec![serde_json::json!({"key": "k", "operator": "Exists"})],
            registry: "registry.example.com".into(),
            pod_security: Default::default(),
            default_user: Some(1000),
        };
        let mut checked = 0;
        for component in catalog.components() {
            let embedded = super::embedded(component).unwrap();
            let own = super::build(component, &settings);
            assert_eq!(embedded.manifests.len(), component.crds.len());
            assert_eq!(own.manifests.len(), component.crds.len());
            for ((e, ew), (o, ow)) in embedded.manifests.iter().zip(&own.manifests) {
                let name = crate::object::name(o);
                assert!(ew.is_empty() && ow.is_empty(), "{name}");
                assert_eq!(e.yaml(), o.yaml(), "{name}");
                assert_eq!(e.value(), o.value(), "{name}");
                let mut shape = o.value().clone();
                for version in shape["spec"]["versions"].as_array_mut().unwrap() {
                    version.as_object_mut().unwrap().remove("schema");
                }
                assert_eq!(e.shape(), &shape, "{name}");
                assert!(!std::ptr::eq(e.shape(), e.value()));
                // Other names rewrite the label's line alone, found when it was written.
                let at = e.embedded_crd().unwrap().label_at.unwrap();
                assert!(e.yaml()[at..].starts_with("amlc/instance: azureml\n"));
                checked += 1;
            }
        }
        assert!(checked > 20, "{checked}");
    }

    /// A build reads only the shape of an object (for a built-in CRD: not its schemas):
    /// what it finds reading shapes is what it finds reading whole values.
    #[test]
    fn builds_find_in_shapes_what_they_find_in_values() {
        let catalog = Catalog::embedded().unwrap();
        for cluster in ["aks", "arc", "aro", "ocp"] {
            let config: Config = serde_json::from_value(serde_json::json!({
                "apiVersion": "amlc/v1", "kind": "ExtensionConfig",
                "cluster": {"type": cluster},
                "training": {"enabled": true}, "inference": {"enabled": true},
                "monitoring": {"prometheusOperator": true},
            }))
            .unwrap();
            let b = crate::build::build_config(&config, &catalog).unwrap();
            let shapes = || b.objects.iter().map(crate::manifest::Manifest::shape);
            let values = || b.objects.iter().map(crate::manifest::Manifest::value);
            let env = crate::soundness::environment(&config, None);
            assert_eq!(
                format!("{:?}", crate::soundness::check(shapes(), &env)),
                format!("{:?}", crate::soundness::check(values(), &env)),
            );
            assert_eq!(
                format!(
                    "{:?}",
                    crate::soundness::hardening::check(shapes(), &catalog)
                ),
                format!(
                    "{:?}",
                    crate::soundness::hardening::check(values(), &catalog)
                ),
            );
            assert!(
                b.objects.iter().any(|m| m.shape() != m.value()),
                "{cluster}"
            );
        }
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
