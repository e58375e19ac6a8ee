//! The plan: which components are on for a config (release gates x config flags x
//! cluster type, each component's `when`), with resolved workload names, replicas and
//! requests/limits. `amlc build` renders from it and `amlc plan` sums it, so the manifests
//! and the capacity figures come from the same numbers.
//!
//! It also builds the context templates see (documented in `components/README.md`).
//! It does not render templates or touch objects.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::catalog::{Catalog, Component, Feature, PER_NODE, ReplicasMeta, Resources};
use crate::config::{ClusterType, Config, Profile, TaintKey};
use crate::diagnostic::Diagnostic;
use crate::releases::Releases;

/// The namespace the extension always lives in: the CLI forces the release namespace
/// (facts sheet, "How the extension is installed today"); amlc has no setting for it.
pub const NAMESPACE: &str = "azureml";

/// Where the extension's images live; the tag is the extension version (facts sheet, "Images").
pub const IMAGE_REPOSITORY: &str = "mcr.microsoft.com/azureml/amlarc/docker";

/// The Secret amlc references for HTTPS on azureml-fe when the config gives certificate
/// files but no `ssl.secretName` (chosen by amlc; the seeds name none).
pub const DEFAULT_TLS_SECRET: &str = "azureml-fe-tls";

/// How many pods a workload runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Replicas {
    Fixed(u32),
    /// One per node (DaemonSets); counted with `cluster.nodeCount`.
    PerNode,
}

/// A workload of an enabled component, resolved for this config.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedWorkload {
    pub kind: String,
    /// The object name, `{EXTENSION-NAME}` substituted.
    pub name: String,
    pub replicas: Replicas,
    /// Pods across the cluster: the replicas, or `cluster.nodeCount` for per-node ones.
    pub pods: u32,
    /// The image before any `images.registry` rewrite.
    pub image: String,
    pub is_system_pod: bool,
    /// Whether the resources are the seed's "Recommended resource planning" figures.
    pub resources_from_seed: bool,
    /// Requests and limits of one pod.
    pub per_pod: Resources,
    /// `per_pod` times `pods`.
    pub total: Resources,
    /// Per-container split of `per_pod`, when the pod has several containers.
    pub containers: BTreeMap<String, Resources>,
}

/// An enabled component.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedComponent {
    pub name: String,
    pub feature: Feature,
    pub optional_flag: Option<String>,
    pub workload: Option<PlannedWorkload>,
    pub notes: Vec<String>,
}

/// Everything `render` needs, and everything `amlc plan` sums.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub extension_name: String,
    pub version: String,
    pub cluster_type: ClusterType,
    pub profile: Profile,
    pub node_count: u32,
    /// Enabled components, in name order.
    pub components: Vec<PlannedComponent>,
    /// Components that are off for this config, in name order.
    pub disabled: Vec<String>,
    /// The context templates and `when` expressions see.
    pub context: Value,
}

impl Plan {
    /// Requests and limits summed over every enabled workload.
    pub fn total(&self) -> Resources {
        self.workloads()
            .fold(Resources::default(), |sum, w| sum + w.total)
    }

    /// Enabled workloads, in component name order.
    pub fn workloads(&self) -> impl Iterator<Item = &PlannedWorkload> {
        self.components.iter().filter_map(|c| c.workload.as_ref())
    }

    pub fn component(&self, name: &str) -> Option<&PlannedComponent> {
        self.components.iter().find(|c| c.name == name)
    }
}

/// Decides which components are on and resolves their workloads.
pub fn plan(config: &Config, catalog: &Catalog) -> Result<Plan, Vec<Diagnostic>> {
    let context = context(config);
    // Converted to minijinja's values once: evaluating with a serde value converts all of
    // it on every call, which was most of planning.
    let values = minijinja::Value::from_serialize(&context);
    let mut components = Vec::new();
    let mut disabled = Vec::new();
    let mut diagnostics = Vec::new();
    for component in catalog.components() {
        match is_enabled(component, &values) {
            Ok(true) => match plan_component(component, config, &values) {
                Ok(c) => components.push(c),
                Err(d) => diagnostics.push(d),
            },
            Ok(false) => disabled.push(component.name.clone()),
            Err(d) => diagnostics.push(d),
        }
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    Ok(Plan {
        extension_name: config.name().to_owned(),
        version: config.extension.version.clone(),
        cluster_type: config.cluster.cluster_type,
        profile: config.profile(),
        node_count: config.cluster.node_count,
        components,
        disabled,
        context,
    })
}

/// `when` expressions and workload names, compiled once per process: a fleet plans every
/// config with the same few dozen, and the catalog checks the same `when`s when it loads.
pub(crate) mod compiled {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

    use minijinja::{Environment, Error, Expression};

    /// The environment they are compiled in: minijinja's defaults.
    static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(Environment::new);

    type Compiled = Arc<Expression<'static, 'static>>;

    /// `source` compiled (from the process's table after the first time).
    pub fn expression(source: &str) -> Result<Compiled, Error> {
        static TABLE: LazyLock<Mutex<HashMap<String, Compiled>>> = LazyLock::new(Mutex::default);
        if let Some(hit) = TABLE.lock().ok().and_then(|t| t.get(source).cloned()) {
            return Ok(hit);
        }
        let compiled = Arc::new(ENVIRONMENT.compile_expression_owned(source.to_owned())?);
        if let Ok(mut table) = TABLE.lock() {
            table.insert(source.to_owned(), Arc::clone(&compiled));
        }
        Ok(compiled)
    }

    /// The template `source` rendered with `context`, as `Environment::render_str` renders
    /// it, compiled once.
    pub fn render(source: &str, context: &minijinja::Value) -> Result<String, Error> {
        let env = templates(source)?;
        env.get_template(source)?.render(context)
    }

    /// Compiles the template `source` into the table [`render`] uses (the catalog checks
    /// workload names with it when it loads). The error is `Environment::template_from_str`'s,
    /// which names the template `<string>`, not by its source as the table does.
    pub fn template(source: &str) -> Result<(), Error> {
        match templates(source) {
            Ok(_) => Ok(()),
            Err(_) => Environment::new().template_from_str(source).map(drop),
        }
    }

    /// The table of compiled templates, `source` among them.
    fn templates(source: &str) -> Result<MutexGuard<'static, Environment<'static>>, Error> {
        static TEMPLATES: LazyLock<Mutex<Environment<'static>>> = LazyLock::new(Mutex::default);
        let mut env = TEMPLATES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if env.get_template(source).is_err() {
            env.add_template_owned(source.to_owned(), source.to_owned())?;
        }
        Ok(env)
    }
}

fn component_error(component: &Component, what: &str, e: &minijinja::Error) -> Diagnostic {
    Diagnostic::error(
        "amlc::component::evaluation",
        format!("components/{}/component.yaml: {what}: {e}", component.name),
    )
    .with_help(component.origin.blame())
}

fn is_enabled(component: &Component, context: &minijinja::Value) -> Result<bool, Diagnostic> {
    let expr = compiled::expression(&component.meta.when)
        .map_err(|e| component_error(component, "when", &e))?;
    expr.eval(context)
        .map(|v| v.is_true())
        .map_err(|e| component_error(component, "when", &e))
}

fn plan_component(
    component: &Component,
    config: &Config,
    context: &minijinja::Value,
) -> Result<PlannedComponent, Diagnostic> {
    let workload = match (&component.meta.workload, component.resources) {
        (Some(w), Some(per_pod)) => {
            let name = compiled::render(&w.name, context)
                .map_err(|e| component_error(component, "workload name", &e))?;
            let replicas = match &w.replicas {
                ReplicasMeta::Count(n) => Replicas::Fixed(*n),
                ReplicasMeta::ByProfile { test, production } => {
                    Replicas::Fixed(match config.profile() {
                        Profile::Test => *test,
                        Profile::Production => *production,
                    })
                }
                // The catalog admits no other word.
                ReplicasMeta::Word(w) => {
                    debug_assert_eq!(w, PER_NODE);
                    Replicas::PerNode
                }
            };
            let pods = match replicas {
                Replicas::Fixed(n) => n,
                Replicas::PerNode => config.cluster.node_count,
            };
            Some(PlannedWorkload {
                kind: w.kind.clone(),
                name,
                replicas,
                pods,
                image: image(&w.image, &config.extension.version),
                is_system_pod: w.system_pod,
                resources_from_seed: w.resources_from_seed,
                per_pod,
                total: per_pod.times(u64::from(pods)),
                containers: component.container_resources.clone(),
            })
        }
        _ => None,
    };
    Ok(PlannedComponent {
        name: component.name.clone(),
        feature: component.meta.feature,
        optional_flag: component.meta.optional_flag.clone(),
        workload,
        notes: component.meta.notes.clone(),
    })
}

/// The full image reference of an extension image.
pub fn image(name: &str, version: &str) -> String {
    format!("{IMAGE_REPOSITORY}/{name}:{version}")
}

/// The tolerations machine-learning workloads get, for the operators' configuration and
/// the default instance type (seed "Supported Azure Machine Learning taints and
/// tolerations": workloads tolerate overall, workload, resource group, workspace and
/// compute, with those values). Keys whose value the config does not know are left out.
/// No effect is given, so one toleration matches the taint whatever effect it was put on
/// with. Empty before release 1.1.16 ("Support Tolerance").
pub fn workload_tolerations(config: &Config) -> Vec<Value> {
    if !Releases::embedded().is_on("tolerations", &config.extension.version) {
        return Vec::new();
    }
    TaintKey::ALL
        .into_iter()
        .filter(|k| k.is_tolerated_by_workloads())
        .filter_map(|k| {
            config
                .taint_value(k)
                .map(|value| json!({"key": k.node_key(), "operator": "Equal", "value": value}))
        })
        .collect()
}

/// The tolerations extension system pods get: `overall` and `system` (same seed section),
/// from release 1.1.16.
pub fn system_tolerations(config: &Config) -> Vec<Value> {
    if !Releases::embedded().is_on("tolerations", &config.extension.version) {
        return Vec::new();
    }
    TaintKey::ALL
        .into_iter()
        .filter(|k| k.is_tolerated_by_system_pods())
        .map(|k| json!({"key": k.node_key(), "operator": "Equal", "value": "true"}))
        .collect()
}

/// The PersistentVolume behind a claim: the seed's example pairs `nfs-pvc` with `nfs-pv`,
/// so a `-pvc` suffix becomes `-pv`; any other name gets `-pv` appended.
pub fn volume_name(claim: &str) -> String {
    match claim.strip_suffix("-pvc") {
        Some(stem) => format!("{stem}-pv"),
        None => format!("{claim}-pv"),
    }
}

/// The context templates and `when` expressions see. Keys are documented in
/// `components/README.md`; every default is already resolved here.
pub fn context(config: &Config) -> Value {
    let releases = Releases::embedded();
    let ssl = config.inference.ssl.as_ref().map(|s| {
        let from_files = s.cert_file.is_some() && s.key_file.is_some();
        json!({
            "cname": s.cname,
            "secretName": s.secret_name.clone().unwrap_or_else(|| DEFAULT_TLS_SECRET.into()),
            "fromFiles": from_files,
        })
    });
    let controller = config.ingress_controller();
    let storage: Vec<Value> = config
        .storage
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "volumeName": volume_name(&s.name),
                "namespace": config.storage_namespace(s),
                "mountPath": s.mount_path,
                "size": s.size,
                "accessModes": s.access_modes,
                "reclaimPolicy": s.reclaim_policy,
                "nfs": {"server": s.nfs.server, "path": s.nfs.path, "readOnly": s.nfs.read_only},
            })
        })
        .collect();
    json!({
        "name": config.name(),
        "namespace": NAMESPACE,
        "version": config.extension.version,
        "imageRepository": IMAGE_REPOSITORY,
        "cluster": {
            "type": config.cluster.cluster_type.as_str(),
            "name": config.cluster.name,
            "resourceGroup": config.cluster.resource_group,
            "nodeCount": config.cluster.node_count,
            "computeNamespace": config.cluster.compute_namespace,
            "arcConnected": config.cluster.cluster_type.is_arc_connected(),
            "openshift": config.cluster.cluster_type.is_openshift(),
        },
        "profile": config.profile().as_str(),
        "workspace": config.workspace,
        "compute": config.compute,
        "training": {
            "enabled": config.training.enabled,
            "volcano": config.training.volcano,
        },
        "inference": {
            "enabled": config.inference.enabled,
            "routerServiceType": config.inference.router_service_type.as_str(),
            "internalLoadBalancer": config.inference.internal_load_balancer,
            "allowInsecureConnections": config.inference.allows_insecure_connections(),
            "nginxIngress": config.nginx_ingress(),
            "ssl": ssl,
        },
        "monitoring": {
            "prometheusOperator": config.monitoring.prometheus_operator,
            "dcgmExporter": config.monitoring.dcgm_exporter,
            "nvidiaDevicePlugin": config.monitoring.nvidia_device_plugin,
        },
        "ingress": {
            "controller": controller.as_str(),
            "className": config.ingress_class_name(),
            "host": config.ingress.as_ref().and_then(|i| i.host.clone()),
            "tlsSecretName": config.ingress.as_ref().and_then(|i| i.tls.as_ref()).map(|t| t.secret_name.clone()),
        },
        "storage": storage,
        "nodeSelector": config.node_selector,
        "gates": releases.gates(&config.extension.version),
        "workloadTolerations": workload_tolerations(config),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Config {
        let mut v: Value = serde_yaml_ng::from_str(yaml).unwrap();
        v["apiVersion"] = json!("amlc/v1");
        v["kind"] = json!("ExtensionConfig");
        serde_json::from_value(v).unwrap()
    }

    fn names(plan: &Plan) -> Vec<&str> {
        plan.components.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn relayserver_is_on_for_arc_and_on_aks_only_before_1_1_5() {
        let catalog = Catalog::embedded().unwrap();
        let on =
            |yaml: &str| names(&plan(&config(yaml), &catalog).unwrap()).contains(&"relayserver");
        assert!(on("cluster: {type: arc}"));
        assert!(on("cluster: {type: ocp}"));
        assert!(!on("cluster: {type: aks}"));
        assert!(on("cluster: {type: aks}\nextension: {version: 1.0.37}"));
    }

    #[test]
    fn azureml_fe_follows_the_profile() {
        let catalog = Catalog::embedded().unwrap();
        for (profile, n) in [("test", 1), ("production", 3)] {
            let p = plan(
                &config(&format!(
                    "cluster: {{type: aks}}\nprofile: {profile}\ninference: {{enabled: true}}"
                )),
                &catalog,
            )
            .unwrap();
            let w = p
                .component("azureml-fe-v2")
                .unwrap()
                .workload
                .as_ref()
                .unwrap();
            assert_eq!(w.replicas, Replicas::Fixed(n));
        }
    }

    #[test]
    fn daemonsets_count_once_per_node() {
        let catalog = Catalog::embedded().unwrap();
        let p = plan(
            &config("cluster: {type: aks, nodeCount: 3}\nextension: {version: 1.1.9}"),
            &catalog,
        )
        .unwrap();
        let w = p
            .component("fluent-bit")
            .unwrap()
            .workload
            .as_ref()
            .unwrap();
        assert_eq!((w.replicas, w.pods), (Replicas::PerNode, 3));
        assert_eq!(w.total.requests.cpu_millicores, 30);
    }

    #[test]
    fn kube_state_metrics_is_named_after_the_extension() {
        let catalog = Catalog::embedded().unwrap();
        let p = plan(
            &config("metadata: {name: ml}\ncluster: {type: aks}"),
            &catalog,
        )
        .unwrap();
        let w = p
            .component("kube-state-metrics")
            .unwrap()
            .workload
            .as_ref()
            .unwrap();
        assert_eq!(w.name, "ml-kube-state-metrics");
    }

    #[test]
    fn volume_names_follow_the_seed_example() {
        assert_eq!(volume_name("nfs-pvc"), "nfs-pv");
        assert_eq!(volume_name("data"), "data-pv");
    }
}
