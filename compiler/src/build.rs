//! The top-level compile: a validated config and the component catalog in, the extension's
//! objects (in install order) out. Reads like the pipeline in DESIGN.md; each stage is its
//! own module. Reads no files, environment or clock, and prints nothing.

use rayon::prelude::*;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::manifest::Manifest;
use crate::plan::{self, NAMESPACE, Plan};
use crate::soundness::{self, Supplied};
use crate::validate::Validated;
use crate::{crds, finished, lint, order, render, reuse, transform};

/// What a build produces.
#[derive(Debug, Clone)]
pub struct Build {
    /// The plan the objects were rendered from (components, replicas, resources).
    pub plan: Plan,
    /// Every object, final, in install order.
    pub objects: Vec<Manifest>,
    /// Objects the render references but does not create, with how to create them: the
    /// "create first" note (DESIGN.md, "Second round", "Deployable as rendered").
    pub create_first: Vec<Supplied>,
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

/// Compiles a validated config.
pub fn build(validated: &Validated, catalog: &Catalog) -> Result<Build, Vec<Diagnostic>> {
    let name = &validated.document.source.name;
    let dir = name.rfind('/').map(|i| &name[..i]);
    build_in(&validated.config, catalog, dir)
}

/// Compiles a config (one that passed validation) whose file is in the current folder.
pub fn build_config(config: &Config, catalog: &Catalog) -> Result<Build, Vec<Diagnostic>> {
    build_in(config, catalog, None)
}

/// Compiles a config whose file is in `config_dir` (as the user named it), so the advice
/// in the "create first" note names its files as the user would.
pub fn build_in(
    config: &Config,
    catalog: &Catalog,
    config_dir: Option<&str>,
) -> Result<Build, Vec<Diagnostic>> {
    build_sharing(config, catalog, config_dir, finished::sharing())
}

/// [`build_in`], taking from earlier builds of the process and keeping for later ones
/// what it makes (`render::memo`, `reuse`, `finished`) or not; the output is the same.
pub(crate) fn build_sharing(
    config: &Config,
    catalog: &Catalog,
    config_dir: Option<&str>,
    share: bool,
) -> Result<Build, Vec<Diagnostic>> {
    let plan = plan::plan(config, catalog)?;
    let settings = transform_settings(config, &plan, catalog);
    // The CRDs are made (or found made) while the templates render.
    let (rendered, crds) = rayon::join(
        || render::render(&plan, catalog, share),
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
    // Each object transformed, written as it will be output and linted (`lint::finish`);
    // in a fleet, objects another build made of the same document under the same settings
    // are taken from it (`reuse`), and others equal to another build's too (`finished`).
    let made = reuse::finish(rendered, &settings, crds, share);
    linted.extend(made);
    let (objects, warnings): (Vec<Manifest>, Vec<Vec<Diagnostic>>) =
        order::sort(linted, |(m, _)| m.shape()).into_iter().unzip();
    if let Some(empty) = lint::require_objects(&objects) {
        return Err(vec![empty]);
    }
    let mut warnings: Vec<Diagnostic> = warnings.into_iter().flatten().collect();
    // Soundness and hardening last, on the objects exactly as they will be written; the
    // two read them apart.
    let env = soundness::environment(config, config_dir);
    let (findings, breaches) = rayon::join(
        || soundness::check(objects.iter().map(Manifest::shape), &env),
        || insecure(&objects, catalog),
    );
    warnings.extend(unsound(&findings));
    warnings.extend(breaches);
    Ok(Build {
        create_first: findings.create_first,
        plan,
        objects,
        warnings,
    })
}

/// A reference to nothing or a pod with nowhere to run is a fault of the components (the
/// built-in ones are tested to have none; a user's `--components` folder may): a warning,
/// so the user sees it before applying.
fn unsound(findings: &soundness::Findings) -> Vec<Diagnostic> {
    let dangling = findings.dangling.iter().map(|r| {
        Diagnostic::warning(
            "amlc::build::dangling-reference",
            format!("{r}, which the render does not create"),
        )
        .with_help("render that object too, or remove the reference; applied as is, this fails or waits forever")
    });
    let stranded = findings.unschedulable.iter().map(|u| {
        Diagnostic::warning("amlc::build::unschedulable", u.to_string()).with_help(
            "check nodeSelector, taints and taints.nodeSelector: the pod tolerates only some taints",
        )
    });
    dangling.chain(stranded).collect()
}

/// A pod below its component's declared Pod Security level, or a ClusterRole beyond least
/// privilege (DESIGN.md, "Second round", "Hardened"): the built-in components are tested to
/// have none; a user's `--components` folder may, and the user should know before applying.
fn insecure(objects: &[Manifest], catalog: &Catalog) -> Vec<Diagnostic> {
    soundness::hardening::check_manifests(objects, catalog)
        .into_iter()
        .map(|f| {
            let help = if f.code == soundness::hardening::POD_SECURITY {
                "set it in the template, or declare the exception and why in the component's podSecurity (components/README.md)"
            } else {
                "name the resources and verbs the program uses; Secrets in a Role of their namespace, or declare why in the component's rbac.clusterWideSecrets"
            };
            Diagnostic::warning(f.code, f.message).with_help(help)
        })
        .collect()
}

pub(crate) fn transform_settings(
    config: &Config,
    plan: &Plan,
    catalog: &Catalog,
) -> transform::Settings {
    transform::Settings {
        namespace: NAMESPACE.to_owned(),
        instance: config.name().to_owned(),
        node_selector: config.node_selector.clone(),
        tolerations: plan::system_tolerations(config),
        registry: config.images.registry.clone(),
        pod_security: plan
            .components
            .iter()
            .filter_map(|p| catalog.get(&p.name))
            .map(|c| (c.name.clone(), c.meta.pod_security.clone()))
            .collect(),
        // OpenShift's security context constraints assign the user (and refuse others).
        default_user: (!config.cluster.cluster_type.is_openshift())
            .then_some(crate::catalog::DEFAULT_USER),
    }
}
