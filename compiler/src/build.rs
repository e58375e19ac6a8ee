//! The top-level compile: a validated config and the component catalog in, the extension's
//! objects (in install order) out. Reads like the pipeline in DESIGN.md; each stage is its
//! own module. Reads no files, environment or clock, and prints nothing.

use rayon::prelude::*;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::manifest::Manifest;
use crate::plan::{self, NAMESPACE, Plan};
use crate::validate::Validated;
use crate::{crds, lint, order, render, transform};

/// What a build produces.
#[derive(Debug, Clone)]
pub struct Build {
    /// The plan the objects were rendered from (components, replicas, resources).
    pub plan: Plan,
    /// Every object, final, in install order.
    pub objects: Vec<Manifest>,
    /// Secrets the objects reference that amlc must not write (key material): the CLI
    /// tells the user how to create them.
    pub secrets: Vec<SecretToCreate>,
    /// Warnings about the output itself (the GitOps lints); the CLI prints them.
    pub warnings: Vec<Diagnostic>,
}

/// Which objects an apply phase holds (DESIGN.md, "Second round", "Deployable as
/// rendered"): kubectl maps kinds once per run, so on a fresh cluster one stream holding a
/// CRD and custom resources of it fails; the CRDs go first, on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// Every object.
    #[default]
    All,
    /// The CustomResourceDefinitions alone.
    CrdsOnly,
    /// Everything but the CustomResourceDefinitions.
    SkipCrds,
}

impl Phase {
    /// Whether an object (its shape: apiVersion, kind, metadata) belongs to this phase.
    pub fn holds(self, shape: &serde_json::Value) -> bool {
        let crd = shape["kind"] == "CustomResourceDefinition"
            && shape["apiVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with("apiextensions.k8s.io/"));
        match self {
            Phase::All => true,
            Phase::CrdsOnly => crd,
            Phase::SkipCrds => !crd,
        }
    }

    /// The objects of this phase, in install order.
    pub fn select(self, objects: &[Manifest]) -> Vec<Manifest> {
        objects
            .iter()
            .filter(|m| self.holds(m.shape()))
            .cloned()
            .collect()
    }
}

/// A TLS Secret referenced by name, to be created from the config's certificate files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretToCreate {
    pub name: String,
    pub namespace: String,
    /// As written in the config (relative to the config file).
    pub cert_file: String,
    pub key_file: String,
}

/// Compiles a validated config.
pub fn build(validated: &Validated, catalog: &Catalog) -> Result<Build, Vec<Diagnostic>> {
    build_config(&validated.config, catalog)
}

/// Compiles a config (one that passed validation).
pub fn build_config(config: &Config, catalog: &Catalog) -> Result<Build, Vec<Diagnostic>> {
    let plan = plan::plan(config, catalog)?;
    let settings = transform_settings(config);
    // The CRDs are made (or found made) while the templates render.
    let (rendered, crds) = rayon::join(
        || render::render(&plan, catalog),
        || {
            plan.components
                .par_iter()
                .filter_map(|planned| catalog.get(&planned.name))
                .map(|component| crds::built(component, &settings))
                .collect::<Vec<_>>()
        },
    );
    let rendered = rendered?;
    // Each object with its lint warnings, so the warnings follow the install order.
    let mut linted: Vec<(Manifest, Vec<Diagnostic>)> = crds
        .iter()
        .flat_map(|built| built.manifests.iter().cloned())
        .collect();
    // A CRD derived for this name shares its group, kind and scope with its model.
    let crds = linted.iter().map(|(m, _)| m.shape());
    for mut o in transform::apply(rendered, &settings, crds) {
        // Last, so the lints see every value exactly as it will be written.
        let warnings = lint::apply(&mut o.value);
        linted.push((Manifest::new(o.value), warnings));
    }
    let (objects, warnings): (Vec<Manifest>, Vec<Vec<Diagnostic>>) =
        order::sort(linted, |(m, _)| m.shape()).into_iter().unzip();
    if let Some(empty) = lint::require_objects(&objects) {
        return Err(vec![empty]);
    }
    Ok(Build {
        secrets: secrets_to_create(config, &plan),
        plan,
        objects,
        warnings: warnings.into_iter().flatten().collect(),
    })
}

fn transform_settings(config: &Config) -> transform::Settings {
    transform::Settings {
        namespace: NAMESPACE.to_owned(),
        instance: config.name().to_owned(),
        node_selector: config.node_selector.clone(),
        tolerations: plan::system_tolerations(config),
        registry: config.images.registry.clone(),
    }
}

/// HTTPS on azureml-fe from certificate files: the YAML never embeds the key, so the
/// Secret it references must be created from the files by hand.
fn secrets_to_create(config: &Config, plan: &Plan) -> Vec<SecretToCreate> {
    let Some(ssl) = &config.inference.ssl else {
        return Vec::new();
    };
    let (Some(cert), Some(key)) = (&ssl.cert_file, &ssl.key_file) else {
        return Vec::new();
    };
    if plan.component("azureml-fe-v2").is_none() {
        return Vec::new();
    }
    let name = plan.context["inference"]["ssl"]["secretName"]
        .as_str()
        .unwrap_or(plan::DEFAULT_TLS_SECRET)
        .to_owned();
    vec![SecretToCreate {
        name,
        namespace: NAMESPACE.to_owned(),
        cert_file: cert.clone(),
        key_file: key.clone(),
    }]
}
