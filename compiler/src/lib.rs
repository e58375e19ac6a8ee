//! amlc compiles one config into the Azure ML Kubernetes extension's manifests.
//!
//! Modules, in pipeline order:
//! `source` (YAML text -> spanned tree) · `schema` (JSON Schema, located errors) ·
//! `config` (typed config) · `rules` (semantic rules from the seeds) · `validate` (the three
//! together) · `diagnostic` (errors and warnings, shown by miette) · `embedded` (data
//! folders compiled in) · `catalog` (component folders) · `plan` (which components are on,
//! replicas, resources) · `render` (templates -> objects) · `object` (object accessors) ·
//! `transform` (namespace, labels, scheduling, pod security, registry, Argo CD sync
//! options, checksums, Job names) · `crds` (CRDs made
//! once per extension name) · `lint` (GitOps safety: Flux substitution, Argo CD tracking,
//! empty output) · `order` (install order) · `manifest` (final, shared objects) ·
//! `soundness` (references resolve, pods schedule: the render as a graph; Pod Security
//! Standards and least-privilege RBAC judged) · `emit`
//! (YAML stream, kustomize folder) · `build` (the whole compile) · `settings` (the
//! extension's settings, one table for every installer) · `arm` (the ARM deployment-template
//! target) · `terraform` (the same extension as a Terraform module) · `aso` (the
//! same extension as an Azure Service Operator custom resource) · `diff` (render against a previous render, dump,
//! config or live cluster) · `taints` (node taint commands) · `init` (starter config).

pub mod arm;
pub mod aso;
pub mod build;
pub mod capacity;
pub mod catalog;
pub mod config;
pub mod crds;
pub mod diagnostic;
pub mod diff;
pub mod doctor;
pub mod embedded;
pub mod emit;
pub mod finished;
pub mod fleet;
pub mod fx_hash;
pub mod init;
pub mod lint;
pub mod manifest;
pub mod object;
pub mod order;
pub mod plan;
pub mod releases;
pub mod render;
pub mod reuse;
pub mod rules;
pub mod schema;
pub mod settings;
pub mod soundness;
pub mod source;
pub mod taints;
pub mod terraform;
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

/// Why [`compile_bytes`] produced no output.
#[derive(Debug)]
pub enum CompileError {
    /// The config is invalid: the user's problem, located.
    Invalid(Vec<diagnostic::Diagnostic>),
    /// The config passed validation but did not build: always a bug in amlc.
    Build(Vec<diagnostic::Diagnostic>),
}

/// The whole `amlc build` path for a config's bytes (decode, parse, schema, rules, plan,
/// render, transforms, YAML stream) with no file access and a fixed clock, against the
/// built-in components (loaded once per process). The fuzz target and the fuzz regression
/// tests call it, so both exercise exactly the same code.
pub fn compile_bytes(name: &str, bytes: &[u8]) -> Result<String, CompileError> {
    static CATALOG: std::sync::OnceLock<Result<catalog::Catalog, Vec<diagnostic::Diagnostic>>> =
        std::sync::OnceLock::new();
    let catalog = CATALOG
        .get_or_init(catalog::Catalog::embedded)
        .as_ref()
        .map_err(|d| CompileError::Build(d.clone()))?;
    let source =
        source::decode(name, bytes.to_vec()).map_err(|d| CompileError::Invalid(vec![d]))?;
    let validated = validate::validate(&source, &validate::NoFiles { now_unix: 0 })
        .map_err(CompileError::Invalid)?;
    let built = build(&validated, catalog).map_err(CompileError::Build)?;
    Ok(emit::yaml_stream(&built.objects))
}
