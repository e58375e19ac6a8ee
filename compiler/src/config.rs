//! The typed config (contract v1). Built only from a tree the JSON Schema accepted, so
//! these types carry no validation of their own; defaults here must equal the schema's
//! `default`s (a test in this module walks the schema to prove it).
//!
//! Defaults that depend on other fields (profile, nginxIngress, a claim's namespace) stay
//! `Option` here and are resolved by the accessor methods, so there is one place for each rule.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The newest extension release the seeds list; the default `extension.version`.
pub const NEWEST_VERSION: &str = "1.1.35";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub extension: Extension,
    pub cluster: Cluster,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    #[serde(default)]
    pub training: Training,
    #[serde(default)]
    pub inference: Inference,
    #[serde(default)]
    pub monitoring: Monitoring,
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taints: Option<Taints>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Ingress>,
    #[serde(default)]
    pub storage: Vec<Storage>,
    #[serde(default)]
    pub images: Images,
    #[serde(default)]
    pub arm: Arm,
    #[serde(default)]
    pub diff: DiffSettings,
    #[serde(default)]
    pub warnings: WarningSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Metadata {
    pub name: String,
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata {
            name: "azureml".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Extension {
    pub version: String,
    pub release_train: String,
    pub auto_upgrade_minor_version: bool,
}

impl Default for Extension {
    fn default() -> Self {
        Extension {
            version: NEWEST_VERSION.into(),
            release_train: "stable".into(),
            auto_upgrade_minor_version: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterType {
    Aks,
    Arc,
    Aro,
    Ocp,
}

impl ClusterType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterType::Aks => "aks",
            ClusterType::Arc => "arc",
            ClusterType::Aro => "aro",
            ClusterType::Ocp => "ocp",
        }
    }

    /// Arc-connected types: everything but plain AKS. ARO and OpenShift are installed as
    /// Arc-connected clusters (facts sheet, "How the extension is installed today").
    pub fn is_arc_connected(self) -> bool {
        self != ClusterType::Aks
    }

    /// OpenShift flavours need the privileged SCC grants (seed "Privileged setup for ARO and OCP").
    pub fn is_openshift(self) -> bool {
        matches!(self, ClusterType::Aro | ClusterType::Ocp)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cluster {
    #[serde(rename = "type")]
    pub cluster_type: ClusterType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Needed by the targets that name the cluster by its full resource id without Azure to
    /// ask (`--target aso`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    #[serde(default = "default_node_count")]
    pub node_count: u32,
    #[serde(default = "default_namespace")]
    pub compute_namespace: String,
}

fn default_node_count() -> u32 {
    1
}

fn default_namespace() -> String {
    "default".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Test,
    Production,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Test => "test",
            Profile::Production => "production",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Training {
    pub enabled: bool,
    pub volcano: bool,
}

impl Default for Training {
    fn default() -> Self {
        Training {
            enabled: true,
            volcano: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceType {
    LoadBalancer,
    NodePort,
    ClusterIP,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::LoadBalancer => "LoadBalancer",
            ServiceType::NodePort => "NodePort",
            ServiceType::ClusterIP => "ClusterIP",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Inference {
    pub enabled: bool,
    pub router_service_type: ServiceType,
    pub internal_load_balancer: bool,
    /// None: not written. The schema's default (false) holds, but the ARM target, like
    /// `az k8s-extension create`, sends the setting only when the user gave it. Serialised
    /// resolved, so templates and the schema-default test see the plain boolean.
    #[serde(serialize_with = "resolved_false")]
    pub allow_insecure_connections: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nginx_ingress: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl: Option<Ssl>,
}

impl Default for Inference {
    fn default() -> Self {
        Inference {
            enabled: false,
            router_service_type: ServiceType::LoadBalancer,
            internal_load_balancer: false,
            allow_insecure_connections: None,
            nginx_ingress: None,
            ssl: None,
        }
    }
}

impl Inference {
    /// Whether plain HTTP is allowed (the schema's default: false).
    pub fn allows_insecure_connections(&self) -> bool {
        self.allow_insecure_connections.unwrap_or(false)
    }
}

fn resolved_false<S: serde::Serializer>(v: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(v.unwrap_or(false))
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Ssl {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Monitoring {
    pub prometheus_operator: bool,
    pub dcgm_exporter: bool,
    pub nvidia_device_plugin: bool,
}

impl Default for Monitoring {
    fn default() -> Self {
        Monitoring {
            prometheus_operator: true,
            dcgm_exporter: false,
            nvidia_device_plugin: false,
        }
    }
}

/// The seed's amlarc taints ("Supported Azure Machine Learning taints and tolerations").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TaintKey {
    Overall,
    System,
    Workload,
    ResourceGroup,
    Workspace,
    Compute,
}

impl TaintKey {
    pub const ALL: [TaintKey; 6] = [
        TaintKey::Overall,
        TaintKey::System,
        TaintKey::Workload,
        TaintKey::ResourceGroup,
        TaintKey::Workspace,
        TaintKey::Compute,
    ];

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TaintKey::Overall => "overall",
            TaintKey::System => "system",
            TaintKey::Workload => "workload",
            TaintKey::ResourceGroup => "resourceGroup",
            TaintKey::Workspace => "workspace",
            TaintKey::Compute => "compute",
        }
    }

    /// The node taint key, from the seed's taint table.
    pub fn node_key(self) -> &'static str {
        match self {
            TaintKey::Overall => "ml.azure.com/amlarc",
            TaintKey::System => "ml.azure.com/amlarc-system",
            TaintKey::Workload => "ml.azure.com/amlarc-workload",
            TaintKey::ResourceGroup => "ml.azure.com/resource-group",
            TaintKey::Workspace => "ml.azure.com/workspace",
            TaintKey::Compute => "ml.azure.com/compute",
        }
    }

    /// Whether extension system pods tolerate this taint (seed: "amlarc overall" and
    /// "amlarc system" are the ones extension system service pods tolerate).
    pub fn is_tolerated_by_system_pods(self) -> bool {
        matches!(self, TaintKey::Overall | TaintKey::System)
    }

    /// Whether machine-learning workload pods tolerate this taint.
    pub fn is_tolerated_by_workloads(self) -> bool {
        !matches!(self, TaintKey::System)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaintEffect {
    NoSchedule,
    NoExecute,
    PreferNoSchedule,
}

impl TaintEffect {
    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::NoExecute => "NoExecute",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
        }
    }
}

fn default_effect() -> TaintEffect {
    TaintEffect::NoSchedule
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Taints {
    pub keys: Vec<TaintKey>,
    #[serde(default = "default_effect")]
    pub effect: TaintEffect,
    /// The labels of the tainted nodes; None: the top-level nodeSelector's nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IngressController {
    AzuremlFe,
    Nginx,
    ApplicationGateway,
}

impl IngressController {
    pub fn as_str(self) -> &'static str {
        match self {
            IngressController::AzuremlFe => "azureml-fe",
            IngressController::Nginx => "nginx",
            IngressController::ApplicationGateway => "application-gateway",
        }
    }

    /// The `ingressClassName` of the seed's Ingress examples, for controllers that use an Ingress.
    pub fn ingress_class(self) -> Option<&'static str> {
        match self {
            IngressController::AzuremlFe => None,
            IngressController::Nginx => Some("nginx"),
            IngressController::ApplicationGateway => Some("azure-application-gateway"),
        }
    }
}

/// The IngressClass of the bundled ingress-nginx (component azureml-ingress-nginx-controller).
pub const BUNDLED_NGINX_CLASS: &str = "azureml-ingress-nginx";

fn default_controller() -> IngressController {
    IngressController::AzuremlFe
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ingress {
    #[serde(default = "default_controller")]
    pub controller: IngressController,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<IngressTls>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngressTls {
    pub secret_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Storage {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub mount_path: String,
    pub size: String,
    #[serde(default = "default_access_modes")]
    pub access_modes: Vec<String>,
    #[serde(default = "default_reclaim")]
    pub reclaim_policy: String,
    pub nfs: Nfs,
}

fn default_access_modes() -> Vec<String> {
    vec!["ReadWriteMany".into()]
}

fn default_reclaim() -> String {
    "Retain".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Nfs {
    pub server: String,
    pub path: String,
    #[serde(default)]
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Images {
    pub registry: String,
}

/// The registry the extension's images come from (facts sheet, "Images").
pub const DEFAULT_REGISTRY: &str = "mcr.microsoft.com";

impl Default for Images {
    fn default() -> Self {
        Images {
            registry: DEFAULT_REGISTRY.into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Arm {
    pub extra_settings: BTreeMap<String, String>,
    pub relay_connection_secret: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DiffSettings {
    pub ignore: Vec<IgnoreRule>,
}

/// Warnings the config acknowledges. The schema lists the codes that may appear (the rules'
/// warnings); validation drops those warnings, so every command stops printing them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct WarningSettings {
    pub ignore: Vec<String>,
}

impl WarningSettings {
    /// Whether a warning with this code is acknowledged.
    pub fn is_ignored(&self, code: &str) -> bool {
        self.ignore.iter().any(|c| c == code)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IgnoreRule {
    pub paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<IgnoreTarget>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct IgnoreTarget {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Node count from which `az k8s-extension create` picks the production profile
/// (facts sheet, "small clusters": fewer than 3 nodes means DevTest).
pub const PRODUCTION_MIN_NODES: u32 = 3;

impl Config {
    /// The extension name, `{EXTENSION-NAME}` in the seeds.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// The effective profile: the config's, else test below 3 nodes and production from 3.
    pub fn profile(&self) -> Profile {
        self.profile
            .unwrap_or(if self.cluster.node_count >= PRODUCTION_MIN_NODES {
                Profile::Production
            } else {
                Profile::Test
            })
    }

    /// Whether the bundled ingress-nginx is wanted: the config's choice, else the CLI's
    /// default (true on AKS, false on Arc-connected types).
    pub fn nginx_ingress(&self) -> bool {
        self.inference
            .nginx_ingress
            .unwrap_or(!self.cluster.cluster_type.is_arc_connected())
    }

    /// The ingress controller in front of azureml-fe.
    pub fn ingress_controller(&self) -> IngressController {
        self.ingress
            .as_ref()
            .map_or(IngressController::AzuremlFe, |i| i.controller)
    }

    /// The `ingressClassName` of the Ingress in front of azureml-fe: the bundled
    /// ingress-nginx's own class when it is rendered (it serves the Ingress), else the
    /// class of the Azure ML reference page's example for the controller, which the user's
    /// own controller provides.
    pub fn ingress_class_name(&self) -> Option<&'static str> {
        let controller = self.ingress_controller();
        if controller == IngressController::Nginx && self.inference.enabled && self.nginx_ingress()
        {
            return Some(BUNDLED_NGINX_CLASS);
        }
        controller.ingress_class()
    }

    /// The namespace of a storage claim: its own, else the compute namespace.
    pub fn storage_namespace<'a>(&'a self, storage: &'a Storage) -> &'a str {
        storage
            .namespace
            .as_deref()
            .unwrap_or(&self.cluster.compute_namespace)
    }

    /// The node taint value for a key, when the config can supply it.
    pub fn taint_value(&self, key: TaintKey) -> Option<&str> {
        match key {
            TaintKey::Overall | TaintKey::System | TaintKey::Workload => Some("true"),
            TaintKey::ResourceGroup => self.cluster.resource_group.as_deref(),
            TaintKey::Workspace => self.workspace.as_deref(),
            TaintKey::Compute => self.compute.as_deref(),
        }
    }

    /// The labels of the tainted nodes: `taints.nodeSelector`, else the top-level
    /// nodeSelector (DESIGN.md, "Second round", "Deployable as rendered").
    pub fn taint_node_selector(&self) -> &BTreeMap<String, String> {
        self.taints
            .as_ref()
            .and_then(|t| t.node_selector.as_ref())
            .unwrap_or(&self.node_selector)
    }

    /// Whether every node the extension's pods may use (the nodeSelector's) carries the
    /// taints: no `taints.nodeSelector` of its own, or one that each nodeSelector node
    /// matches too (a subset of the nodeSelector's labels).
    pub fn taints_cover_extension_nodes(&self) -> bool {
        self.taint_node_selector()
            .iter()
            .all(|(k, v)| self.node_selector.get(k) == Some(v))
    }

    pub fn taint_keys(&self) -> &[TaintKey] {
        self.taints.as_ref().map_or(&[], |t| t.keys.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// A config with every optional object present but empty, so serde fills every default.
    fn all_defaults() -> Value {
        let c: Config = serde_json::from_value(json!({
            "apiVersion": "amlc/v1",
            "kind": "ExtensionConfig",
            "cluster": {"type": "aks"},
            "taints": {"keys": ["overall"]},
            "ingress": {},
            "storage": [{"name": "s", "mountPath": "/m", "size": "1Gi", "nfs": {"server": "h", "path": "/p"}}],
            "diff": {"ignore": [{"paths": ["/spec"]}]},
        }))
        .unwrap();
        serde_json::to_value(c).unwrap()
    }

    /// The typed defaults of a config that leaves every optional object out.
    fn minimal() -> Value {
        let c: Config = serde_json::from_value(json!({
            "apiVersion": "amlc/v1", "kind": "ExtensionConfig", "cluster": {"type": "aks"}
        }))
        .unwrap();
        serde_json::to_value(c).unwrap()
    }

    /// Walks the schema; for every `default`, finds the same place in the typed defaults:
    /// a whole object's or list's default in a config that omits it, a field's default in one
    /// that has its parent but not the field.
    fn check_defaults(
        schema: &Value,
        node: &Value,
        instance: &Value,
        path: &str,
        checked: &mut Vec<String>,
    ) {
        let node = crate::schema::schema_at_node(schema, node);
        if let Some(default) = node.get("default") {
            let in_minimal = minimal().pointer(path).cloned();
            let typed = match in_minimal {
                Some(v) if default.is_object() || default.is_array() => v,
                _ => instance.clone(),
            };
            assert_eq!(
                &typed, default,
                "schema default of {path} differs from the typed default"
            );
            checked.push(path.to_owned());
        }
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            for (k, sub) in props {
                if let Some(child) = instance.get(k) {
                    check_defaults(schema, sub, child, &format!("{path}/{k}"), checked);
                }
            }
        }
        if let (Some(items), Some(first)) = (node.get("items"), instance.get(0)) {
            check_defaults(schema, items, first, &format!("{path}/0"), checked);
        }
    }

    #[test]
    fn every_schema_default_equals_the_typed_default() {
        let schema = crate::schema::schema();
        let mut checked = Vec::new();
        check_defaults(schema, schema, &all_defaults(), "", &mut checked);
        // Every default in the schema text was reached by the walk.
        let text = crate::embedded::schema_text();
        assert_eq!(
            checked.len(),
            text.matches("\"default\":").count(),
            "unchecked defaults; checked: {checked:?}"
        );
    }

    /// The default is what `az k8s-extension create` installs with the documented example
    /// settings: plain HTTP on a public load balancer. It keeps that (it has no certificate
    /// to serve HTTPS with, and a ClusterIP router would leave scoring unreachable), so the
    /// one warning it gets is the one that says so.
    #[test]
    fn embedded_default_config_validates_with_only_the_plain_http_warning() {
        let v = crate::validate::validate(
            &crate::validate::default_config_source(),
            &crate::validate::NoFiles { now_unix: 0 },
        )
        .unwrap();
        let codes: Vec<&str> = v.warnings.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            ["amlc::rule::plain-http-load-balancer"],
            "{:?}",
            v.warnings
        );
    }

    #[test]
    fn resolved_defaults_follow_the_cli() {
        let mut c: Config = serde_json::from_value(json!({
            "apiVersion": "amlc/v1", "kind": "ExtensionConfig", "cluster": {"type": "arc", "nodeCount": 3}
        }))
        .unwrap();
        assert_eq!(c.profile(), Profile::Production);
        assert!(!c.nginx_ingress());
        c.cluster.cluster_type = ClusterType::Aks;
        c.cluster.node_count = 2;
        assert_eq!(c.profile(), Profile::Test);
        assert!(c.nginx_ingress());
    }
}
