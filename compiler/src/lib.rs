//! amlc compiles one config into the Azure ML Kubernetes extension's manifests.
//!
//! Modules, in pipeline order:
//! `source` (YAML text -> spanned tree) · `schema` (JSON Schema, located errors) ·
//! `config` (typed config) · `rules` (semantic rules from the seeds) · `validate` (the three
//! together) · `diagnostic` (errors and warnings, shown by miette) · `embedded` (data
//! folders compiled in) · `arm` (the ARM deployment-template target) · `diff` (render
//! against a previous render, dump, config or live cluster).

pub mod arm;
pub mod config;
pub mod diagnostic;
pub mod diff;
pub mod embedded;
pub mod init;
pub mod releases;
pub mod rules;
pub mod schema;
pub mod source;
pub mod taints;
pub mod validate;

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
