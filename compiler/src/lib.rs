//! amlc compiles one config into the Azure ML Kubernetes extension's manifests.
//!
//! Modules, in pipeline order:
//! `source` (YAML text -> spanned tree) · `schema` (JSON Schema, located errors) ·
//! `config` (typed config) · `rules` (semantic rules from the seeds) · `validate` (the three
//! together) · `diagnostic` (errors and warnings, shown by miette) · `embedded` (data
//! folders compiled in) · `catalog` (component folders) · `plan` (which components are on,
//! replicas, resources) · `render` (templates -> objects) · `object` (object accessors) ·
//! `transform` (namespace, labels, scheduling, registry, checksums) · `order` (install
//! order) · `lint` (GitOps safety: Flux substitution, Argo CD tracking, empty output) · `emit`
//! (YAML stream, kustomize folder) · `build` (the whole compile) · `arm`
//! (the ARM deployment-template target) · `diff` (render against a previous render, dump,
//! config or live cluster) · `taints` (node taint commands) · `init` (starter config).

pub mod arm;
pub mod build;
pub mod capacity;
pub mod catalog;
pub mod config;
pub mod diagnostic;
pub mod diff;
pub mod embedded;
pub mod emit;
pub mod init;
pub mod lint;
pub mod object;
pub mod order;
pub mod plan;
pub mod releases;
pub mod render;
pub mod rules;
pub mod schema;
pub mod source;
pub mod taints;
pub mod transform;
pub mod validate;

pub use build::{Build, build};

/// `amlc --version`: the tool's version and the extension releases it knows.
pub fn version_text() -> String {
    let r = releases::Releases::embedded();
    format!(
        "{} (extension releases {} to {})",
        env!("CARGO_PKG_VERSION"),
        r.known().first().copied().unwrap_or("?"),
        r.newest()
    )
}
