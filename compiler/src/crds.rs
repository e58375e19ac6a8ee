//! The CRDs of a component as a build outputs them, made once per extension name and
//! shared by every build of the process that has that name.
//!
//! They are four fifths of a build's output and the same for every cluster: what the
//! transforms do to a CustomResourceDefinition depends on the extension name alone (it is
//! cluster-scoped and has no pod template or image, so only `transform::labels` changes
//! it; the catalog admits no other kind, and `transform`'s tests prove the rest), and each
//! lint looks at one object alone. So a fleet transforms, lints and emits them once.

use std::sync::Arc;

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

/// `component`'s CRDs transformed with `settings` and linted; from the component's memo
/// when a build with the same extension name made them before.
pub fn built(component: &Component, settings: &transform::Settings) -> Arc<Built> {
    component
        .built_crds
        .get_or_insert_with(&settings.instance, || build(component, settings))
}

fn build(component: &Component, settings: &transform::Settings) -> Built {
    let objects = component
        .crd_objects
        .iter()
        .map(|v| Object::new(&component.name, v.clone()))
        .collect();
    let manifests = transform::apply(objects, settings, &[])
        .into_iter()
        .map(|mut o| {
            let warnings = lint::apply(&mut o.value);
            (Manifest::new(o.value), warnings)
        })
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
