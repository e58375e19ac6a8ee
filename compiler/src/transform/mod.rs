//! Cross-cutting changes applied once, in Rust, to every rendered object, instead of being
//! repeated in each template (DESIGN.md, "Pipeline"). One module per concern, each a pure
//! function over the objects with a table of YAML-in / YAML-out tests beside it.
//!
//! They do not add or remove objects, and they run in a fixed order: checksums last, so
//! they hash ConfigMaps as they will be written.

pub mod checksum;
pub mod labels;
pub mod namespace;
pub mod registry;
pub mod scheduling;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::object::Object;

/// What the transforms need from the config.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub namespace: String,
    /// The extension name, for the `amlc/instance` label.
    pub instance: String,
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations of extension system pods.
    pub tolerations: Vec<Value>,
    /// `images.registry`.
    pub registry: String,
}

/// Applies every transform, in order.
pub fn apply(objects: Vec<Object>, settings: &Settings) -> Vec<Object> {
    let cluster_scoped: BTreeSet<(String, String)> = namespace::cluster_scoped_kinds(&objects);
    let objects = namespace::apply(objects, &settings.namespace, &cluster_scoped);
    let objects = labels::apply(objects, &settings.instance);
    let objects = scheduling::apply(objects, &settings.node_selector, &settings.tolerations);
    let objects = registry::apply(objects, &settings.registry);
    checksum::apply(objects)
}

#[cfg(test)]
pub(crate) mod table {
    //! Helpers for the transforms' YAML-in / YAML-out tables.
    use super::*;

    pub fn objects(yaml: &str) -> Vec<Object> {
        crate::render::parse_documents(yaml)
            .unwrap()
            .into_iter()
            .map(|v| Object::new("comp", v))
            .collect()
    }

    pub fn values(objects: &[Object]) -> Vec<Value> {
        objects.iter().map(|o| o.value.clone()).collect()
    }

    pub fn expect(objects: &[Object], yaml: &str) {
        let want: Vec<Value> = crate::render::parse_documents(yaml).unwrap();
        assert_eq!(values(objects), want);
    }
}
