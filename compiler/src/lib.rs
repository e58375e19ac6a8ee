//! amlc compiles one config into the Azure ML Kubernetes extension's manifests.
//!
//! Modules, in pipeline order:
//! `source` (YAML text -> spanned tree) · `schema` (JSON Schema, located errors) ·
//! `config` (typed config) · `rules` (semantic rules from the seeds) · `validate` (the three
//! together) · `diagnostic` (errors and warnings, shown by miette) · `embedded` (data
//! folders compiled in).

pub mod config;
pub mod diagnostic;
pub mod embedded;
pub mod source;
