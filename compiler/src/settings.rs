//! THE mapping from config to the extension's `configurationSettings` and
//! `configurationProtectedSettings`, shared by every installer of the real extension (ARM,
//! Terraform, Azure Service Operator): one table ([`ROWS`], [`PROTECTED_ROWS`]) saying, per
//! key, which config field (or fact about the cluster) sets it and why. [`settings`] walks
//! the table; [`read_back`] inverts it, so tests prove the mapping both ways; and
//! [`check_extra_settings`] uses the same table to accept or reject `arm.extraSettings`.
//!
//! Values are strings, spelled as `az k8s-extension create` sends them (facts sheet,
//! "Settings that `az k8s-extension create --config` takes" and "The CLI, measured"):
//! what the user passes as `True`/`False`, as the docs write them (and as the CLI's Python
//! booleans serialise), what the CLI writes itself with its own literals `true`/`false`
//! (azure-cli-extensions, partner_extensions/AzureMLKubernetes.py, `Create`). Values that
//! depend on the cluster (its resource id, name, region) or on secrets are [`Fact`]s: each
//! target says them its own way (an ARM expression, a Terraform reference, a concrete string
//! or a Secret key), so the table does not know any target's syntax.
//!
//! It reads no files and holds no key material: a protected value is only ever a [`Fact`].

use std::collections::BTreeMap;

use crate::config::{Config, Profile, ServiceType};
use crate::diagnostic::{Diagnostic, suggest};
use crate::source::{Document, escape_pointer};

/// One setting value: a literal string, or a fact each target renders its own way.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SettingValue {
    Literal(String),
    Fact(Fact),
}

/// What a setting says about the cluster or its secrets, known only where it is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fact {
    /// The cluster's resource id (`Microsoft.ContainerService/managedClusters/NAME` on AKS,
    /// `Microsoft.Kubernetes/connectedClusters/NAME` on Arc-connected clusters).
    ClusterId,
    /// The cluster resource's name.
    ClusterName,
    /// The cluster resource's own region, lower-cased (not its resource group's).
    Region,
    /// `<region>.cloudapp.azure.com`.
    Domain,
    /// The resource id of the Azure Relay hybrid connection created for the cluster.
    HybridConnectionId,
    /// The name of that hybrid connection (the cluster's name, as the CLI names it).
    HybridConnectionName,
    /// The relay's connection string: from the `azureml_rw` rule created for the cluster, or
    /// given by the user (`arm.relayConnectionSecret`, and always for Azure Service Operator).
    RelayConnectionString,
    /// Base64 of the azureml-fe certificate PEM, supplied at install time.
    SslCertBase64,
    /// Base64 of the azureml-fe private key PEM, supplied at install time.
    SslKeyBase64,
}

impl SettingValue {
    pub fn lit(s: impl Into<String>) -> Self {
        SettingValue::Literal(s.into())
    }

    pub fn as_literal(&self) -> Option<&str> {
        match self {
            SettingValue::Literal(s) => Some(s),
            SettingValue::Fact(_) => None,
        }
    }
}

/// What the table is walked for: the config, and how the target gets the Azure Relay of an
/// Arc-connected cluster.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub config: &'a Config,
    /// Whether the target creates the relay namespace, hybrid connection and `azureml_rw`
    /// rule itself, as the CLI's `_get_relay_connection_str` does (ARM and Terraform, unless
    /// `arm.relayConnectionSecret`), rather than taking a connection string it is given.
    pub creates_relay: bool,
}

impl<'a> Subject<'a> {
    /// ARM and Terraform: the relay is created unless `arm.relayConnectionSecret` says a
    /// connection string is given.
    pub fn creating_relay(config: &'a Config) -> Self {
        Subject {
            config,
            creates_relay: uses_relay(config) && !config.arm.relay_connection_secret,
        }
    }

    /// A target that cannot create Azure resources (Azure Service Operator has no Relay
    /// kind): the connection string is always given, as when the CLI is passed
    /// `relayServerConnectionString`.
    pub fn given_relay(config: &'a Config) -> Self {
        Subject {
            config,
            creates_relay: false,
        }
    }
}

/// Whether the extension uses Azure Relay on this cluster: always on Arc-connected clusters,
/// and on AKS only before 1.1.5 (release note 1.1.5: "Removed Azure Relay usage for AKS
/// extension"; DESIGN.md). The CLI's `relayserver.enabled` default follows the same split.
pub fn uses_relay(config: &Config) -> bool {
    config.cluster.cluster_type.is_arc_connected()
        || !crate::releases::Releases::embedded().is_on("noRelayOnAks", &config.extension.version)
}

/// A `cluster` field an installer target needs that the config schema leaves optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterField {
    Name,
    ResourceGroup,
    SubscriptionId,
    Location,
}

impl ClusterField {
    fn describe(self) -> (&'static str, &'static str, &'static str) {
        match self {
            ClusterField::Name => (
                "name",
                "the AKS or Arc-connected cluster resource the extension is installed on",
                "name: prod-cluster",
            ),
            ClusterField::ResourceGroup => (
                "resourceGroup",
                "the resource group of that cluster",
                "resourceGroup: ml-rg",
            ),
            ClusterField::SubscriptionId => (
                "subscriptionId",
                "the subscription of that cluster, for its resource id",
                "subscriptionId: 00000000-0000-0000-0000-000000000000",
            ),
            ClusterField::Location => (
                "location",
                "the cluster's region, which this target cannot read from Azure",
                "location: westeurope",
            ),
        }
    }

    fn is_missing(self, c: &Config) -> bool {
        match self {
            ClusterField::Name => c.cluster.name.is_none(),
            ClusterField::ResourceGroup => c.cluster.resource_group.is_none(),
            ClusterField::SubscriptionId => c.cluster.subscription_id.is_none(),
            ClusterField::Location => c.cluster.location.is_none(),
        }
    }
}

/// The `cluster` fields a target needs (DESIGN.md: name and resource group for every
/// installer; subscription and region too where nothing can read them from Azure). One
/// error per missing field, each at the `cluster` key, with the line to add.
pub fn check_cluster_fields(
    config: &Config,
    doc: &Document,
    target: &str,
    fields: &[ClusterField],
    why_in_config: &str,
) -> Vec<Diagnostic> {
    fields
        .iter()
        .filter(|f| f.is_missing(config))
        .map(|f| {
            let (field, what, example) = f.describe();
            Diagnostic::error(
                "amlc::target::missing-cluster-field",
                format!("the {target} target needs cluster.{field}: {what}"),
            )
            .at(
                &doc.source,
                doc.key_span("/cluster"),
                format!("cluster.{field} is missing here"),
            )
            .with_path("/cluster")
            .with_help(format!("add `{example}` under cluster; {why_in_config}"))
        })
        .collect()
}

/// `True`/`False`: user-level booleans, as the docs write them and as the CLI's Python
/// booleans serialise (`str(True)`).
fn title(b: bool) -> SettingValue {
    SettingValue::lit(if b { "True" } else { "False" })
}

/// `true`/`false`: the CLI's own string literals for `relayserver.enabled`,
/// `nginxIngress.enabled` and `servicebus.enabled`.
fn lower(b: bool) -> SettingValue {
    SettingValue::lit(if b { "true" } else { "false" })
}

fn fact(f: Fact) -> SettingValue {
    SettingValue::Fact(f)
}

/// What sets a key. Decides what `arm.extraSettings` may say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A config field (its dotted path); extraSettings may not set it.
    Field(&'static str),
    /// The deployment or the cluster type (what determines it); extraSettings may not set it.
    Derived(&'static str),
    /// A protected setting: never a plain setting.
    Protected(&'static str),
    /// Known to the extension, no amlc field: extraSettings may set it.
    PassThrough,
}

/// How a row produces its key(s).
#[derive(Clone, Copy)]
pub enum Emit {
    /// One key, when the function says so.
    One(fn(&Config) -> Option<SettingValue>),
    /// One key that depends on how the target gets the relay.
    OneFor(fn(&Subject) -> Option<SettingValue>),
    /// `PREFIX.KEY` for each pair (the key column holds the prefix with a trailing `.`).
    Prefixed(fn(&Config) -> Vec<(String, SettingValue)>),
    /// Never emitted by amlc (pass-through keys, for extraSettings).
    Never,
}

/// One row of the mapping table.
#[derive(Clone, Copy)]
pub struct Row {
    pub key: &'static str,
    pub origin: Origin,
    pub emit: Emit,
    /// Where the rule comes from.
    pub source: &'static str,
}

/// HTTPS is on exactly when `inference.ssl` is given, whatever allowInsecureConnections
/// says (which only keeps HTTP open beside it): the rule the YAML target and the
/// validation rules follow too, and what the CLI sends.
fn https(c: &Config) -> bool {
    c.inference.enabled && c.inference.ssl.is_some()
}

fn tls_files(c: &Config) -> bool {
    https(c)
        && c.inference
            .ssl
            .as_ref()
            .is_some_and(|s| s.cert_file.is_some() && s.key_file.is_some())
}

/// The TLS secret, when it is what HTTPS uses: "the files win over sslSecret" (facts sheet).
fn tls_secret(c: &Config) -> Option<&str> {
    if !https(c) || tls_files(c) {
        return None;
    }
    c.inference.ssl.as_ref()?.secret_name.as_deref()
}

/// The CLI's `isSmallScale`: fewer than 3 nodes (it counts the agent pools; amlc takes
/// `cluster.nodeCount`).
fn is_small(c: &Config) -> bool {
    c.cluster.node_count < crate::config::PRODUCTION_MIN_NODES
}

fn internal_lb(c: &Config) -> bool {
    // The CLI checks nodePort first, then internalLoadBalancerProvider (`elif`).
    c.inference.enabled
        && c.inference.internal_load_balancer
        && c.inference.router_service_type != ServiceType::NodePort
}

/// The authorization rule the CLI creates on the hybrid connection (`RELAY_HC_AUTH_NAME`).
pub const RELAY_RULE: &str = "azureml_rw";

/// configurationSettings, in the order of the facts sheet: user-level settings first, then
/// what the CLI derives. Keys not listed here are unknown to amlc.
pub const ROWS: &[Row] = &[
    // --- user-level settings (facts sheet, "Settings that az k8s-extension create takes")
    Row {
        key: "enableTraining",
        origin: Origin::Field("training.enabled"),
        // The CLI always writes both flags (`__validate_config`).
        emit: Emit::One(|c| Some(title(c.training.enabled))),
        source: "settings table; CLI __validate_config always sets it",
    },
    Row {
        key: "enableInference",
        origin: Origin::Field("inference.enabled"),
        emit: Emit::One(|c| Some(title(c.inference.enabled))),
        source: "settings table; CLI __validate_config always sets it",
    },
    Row {
        key: "allowInsecureConnections",
        origin: Origin::Field("inference.allowInsecureConnections"),
        // Only when written: the CLI passes the user's --config through and adds nothing
        // here (facts sheet, "The CLI, measured"); the extension's default is False.
        emit: Emit::One(|c| {
            let given = c.inference.allow_insecure_connections?;
            c.inference.enabled.then(|| title(given))
        }),
        source: "settings table (inference only); CLI measured: not sent unless given",
    },
    Row {
        key: "inferenceRouterServiceType",
        origin: Origin::Field("inference.routerServiceType"),
        emit: Emit::One(|c| {
            c.inference
                .enabled
                .then(|| SettingValue::lit(c.inference.router_service_type.as_str()))
        }),
        source: "settings table: required with inference",
    },
    Row {
        key: "internalLoadBalancerProvider",
        origin: Origin::Field("inference.internalLoadBalancer"),
        emit: Emit::One(|c| internal_lb(c).then(|| SettingValue::lit("azure"))),
        source: "settings table: azure, AKS only, not with nodePort",
    },
    Row {
        key: "inferenceRouterHA",
        origin: Origin::Field("profile"),
        emit: Emit::One(|c| match c.profile {
            // A written profile is the user passing the setting: sent as the docs spell it.
            Some(p) => Some(title(p == Profile::Production)),
            // The CLI's own literal, and only on small clusters (CLI Create, isSmallScale).
            None => is_small(c).then(|| lower(false)),
        }),
        source: "settings table; small-clusters rule: 'false' below 3 nodes, else unsent",
    },
    Row {
        key: "sslCname",
        origin: Origin::Field("inference.ssl.cname"),
        emit: Emit::One(|c| {
            if !https(c) {
                return None;
            }
            let cname = c.inference.ssl.as_ref()?.cname.as_deref()?;
            Some(SettingValue::lit(cname))
        }),
        source: "settings table: required for HTTPS",
    },
    Row {
        key: "sslSecret",
        origin: Origin::Field("inference.ssl.secretName"),
        emit: Emit::One(|c| tls_secret(c).map(SettingValue::lit)),
        source: "settings table: alternative to the PEM files",
    },
    Row {
        key: "nodeSelector.",
        origin: Origin::Field("nodeSelector"),
        emit: Emit::Prefixed(|c| {
            c.node_selector
                .iter()
                .map(|(k, v)| (k.clone(), SettingValue::lit(v.as_str())))
                .collect()
        }),
        source: "settings table: one key per label",
    },
    // The four install switches are written only when they differ from the extension's
    // default, so a default config yields exactly the CLI's observed key list.
    Row {
        key: "installNvidiaDevicePlugin",
        origin: Origin::Field("monitoring.nvidiaDevicePlugin"),
        emit: Emit::One(|c| c.monitoring.nvidia_device_plugin.then(|| title(true))),
        source: "settings table: default False",
    },
    Row {
        key: "installPromOp",
        origin: Origin::Field("monitoring.prometheusOperator"),
        emit: Emit::One(|c| (!c.monitoring.prometheus_operator).then(|| title(false))),
        source: "settings table: default True",
    },
    Row {
        key: "installVolcano",
        origin: Origin::Field("training.volcano"),
        emit: Emit::One(|c| (!c.training.volcano).then(|| title(false))),
        source: "settings table: default True",
    },
    Row {
        key: "installDcgmExporter",
        origin: Origin::Field("monitoring.dcgmExporter"),
        emit: Emit::One(|c| c.monitoring.dcgm_exporter.then(|| title(true))),
        source: "settings table: default False",
    },
    // --- what the CLI adds (facts sheet, "What the CLI adds before it calls ARM")
    Row {
        key: "cluster_name",
        origin: Origin::Derived("the cluster resource id (cluster.name, cluster.resourceGroup)"),
        emit: Emit::One(|_| Some(fact(Fact::ClusterId))),
        source: "rules table, cluster identity",
    },
    Row {
        key: "clusterId",
        origin: Origin::Derived("the cluster resource id (cluster.name, cluster.resourceGroup)"),
        emit: Emit::One(|_| Some(fact(Fact::ClusterId))),
        source: "rules table, cluster identity (CLI reference_mapping of cluster_name)",
    },
    Row {
        key: "prometheus.prometheusSpec.externalLabels.cluster_name",
        origin: Origin::Derived("the cluster resource id (cluster.name, cluster.resourceGroup)"),
        emit: Emit::One(|_| Some(fact(Fact::ClusterId))),
        source: "rules table, cluster identity (CLI reference_mapping of cluster_name)",
    },
    Row {
        key: "cluster_name_friendly",
        origin: Origin::Derived("cluster.name"),
        emit: Emit::One(|_| Some(fact(Fact::ClusterName))),
        source: "rules table, cluster identity",
    },
    Row {
        key: "location",
        origin: Origin::Derived("the cluster resource's region"),
        emit: Emit::One(|_| Some(fact(Fact::Region))),
        source: "rules table, location",
    },
    Row {
        key: "jobSchedulerLocation",
        origin: Origin::Derived("the cluster resource's region"),
        emit: Emit::One(|_| Some(fact(Fact::Region))),
        source: "rules table, location",
    },
    Row {
        key: "domain",
        origin: Origin::Derived("the cluster resource's region"),
        // `<region>.cloudapp.azure.com`, not the bare region of the official sample (a known
        // defect, facts sheet).
        emit: Emit::One(|_| Some(fact(Fact::Domain))),
        source: "rules table, location",
    },
    Row {
        key: "clusterPurpose",
        origin: Origin::Field("profile"),
        emit: Emit::One(|c| match c.profile {
            Some(p) => Some(SettingValue::lit(if p == Profile::Production {
                "FastProd"
            } else {
                "DevTest"
            })),
            None => is_small(c).then(|| SettingValue::lit("DevTest")),
        }),
        source: "rules table, small clusters: DevTest below 3 nodes, else unsent (FastProd only when profile says production)",
    },
    Row {
        key: "relayserver.enabled",
        origin: Origin::Derived("cluster.type (and extension.version before 1.1.5)"),
        emit: Emit::One(|c| Some(lower(uses_relay(c)))),
        source: "rules table, cluster type; release note 1.1.5",
    },
    Row {
        key: "nginxIngress.enabled",
        origin: Origin::Field("inference.nginxIngress"),
        // Config::nginx_ingress() holds the CLI's default, so YAML and ARM agree (DESIGN.md).
        emit: Emit::One(|c| Some(lower(c.nginx_ingress()))),
        source: "rules table, cluster type",
    },
    Row {
        key: "servicebus.enabled",
        origin: Origin::Derived("amlc (always false: release note 1.1.5 removed service bus)"),
        emit: Emit::One(|_| Some(lower(false))),
        source: "rules table, cluster type: always false",
    },
    Row {
        key: "openshift",
        origin: Origin::Derived("cluster.type (aro, ocp)"),
        // The CLI sets it when the connected cluster's distribution is openshift.
        emit: Emit::One(|c| {
            c.cluster
                .cluster_type
                .is_openshift()
                .then(|| SettingValue::lit("true"))
        }),
        source: "CLI Create: distribution == openshift",
    },
    Row {
        key: "scoringFe.sslSecret",
        origin: Origin::Field("inference.ssl.secretName"),
        emit: Emit::One(|c| tls_secret(c).map(SettingValue::lit)),
        source: "rules table, TLS secret",
    },
    Row {
        key: "scoringFe.serviceType.nodePort",
        origin: Origin::Field("inference.routerServiceType"),
        emit: Emit::One(|c| {
            (c.inference.enabled && c.inference.router_service_type == ServiceType::NodePort)
                .then(|| title(true))
        }),
        source: "rules table, service type",
    },
    Row {
        key: "scoringFe.serviceType.internalLoadBalancer",
        origin: Origin::Field("inference.internalLoadBalancer"),
        emit: Emit::One(|c| internal_lb(c).then(|| title(true))),
        source: "rules table, service type",
    },
    Row {
        key: "relayserver.hybridConnectionResourceID",
        origin: Origin::Derived("the relay amlc creates (arm.relayConnectionSecret)"),
        emit: Emit::OneFor(|s| s.creates_relay.then(|| fact(Fact::HybridConnectionId))),
        source: "rules table, Arc relay",
    },
    Row {
        key: "relayserver.hybridConnectionName",
        origin: Origin::Derived("the relay amlc creates (arm.relayConnectionSecret)"),
        emit: Emit::OneFor(|s| s.creates_relay.then(|| fact(Fact::HybridConnectionName))),
        source: "rules table, Arc relay: named after the cluster",
    },
    // --- known to the extension and the CLI, no amlc field: extraSettings may set them
    Row {
        key: "isAKSMigration",
        origin: Origin::PassThrough,
        emit: Emit::Never,
        source: "CLI __validate_scoring_fe_settings (AKS-v1 migration)",
    },
    Row {
        key: "scoringFe.namespace",
        origin: Origin::PassThrough,
        emit: Emit::Never,
        source: "CLI __validate_scoring_fe_settings (set with isAKSMigration)",
    },
    Row {
        key: "azure_log_analytics.enabled",
        origin: Origin::PassThrough,
        emit: Emit::Never,
        source: "CLI __create_required_resource (existing Log Analytics workspace)",
    },
    Row {
        key: "azure_log_analytics.customer_id",
        origin: Origin::PassThrough,
        emit: Emit::Never,
        source: "CLI __create_required_resource (existing Log Analytics workspace)",
    },
];

/// configurationProtectedSettings. Every value is a [`Fact`] supplied at install time: key
/// material never enters an amlc output.
pub const PROTECTED_ROWS: &[Row] = &[
    Row {
        key: "scoringFe.sslCert",
        origin: Origin::Protected("inference.ssl.certFile"),
        emit: Emit::One(|c| tls_files(c).then(|| fact(Fact::SslCertBase64))),
        source: "rules table, TLS files: base64 of the certificate PEM",
    },
    Row {
        key: "scoringFe.sslKey",
        origin: Origin::Protected("inference.ssl.keyFile"),
        emit: Emit::One(|c| tls_files(c).then(|| fact(Fact::SslKeyBase64))),
        source: "rules table, TLS files: base64 of the key PEM",
    },
    Row {
        key: "relayServerConnectionString",
        origin: Origin::Protected("the relay amlc creates (arm.relayConnectionSecret)"),
        emit: Emit::One(|c| uses_relay(c).then(|| fact(Fact::RelayConnectionString))),
        source: "rules table, Arc relay",
    },
    Row {
        key: "relayserver.relayConnectionString",
        origin: Origin::Protected("the relay amlc creates (arm.relayConnectionSecret)"),
        // The CLI's reference_mapping copies relayServerConnectionString here.
        emit: Emit::One(|c| uses_relay(c).then(|| fact(Fact::RelayConnectionString))),
        source: "rules table, Arc relay (copied by the CLI)",
    },
    Row {
        key: "sslCertPemFile",
        origin: Origin::Protected("inference.ssl.certFile"),
        emit: Emit::Never,
        source: "settings table: a CLI-side file path, never sent by amlc",
    },
    Row {
        key: "sslKeyPemFile",
        origin: Origin::Protected("inference.ssl.keyFile"),
        emit: Emit::Never,
        source: "settings table: a CLI-side file path, never sent by amlc",
    },
];

fn walk(rows: &[Row], subject: &Subject) -> BTreeMap<String, SettingValue> {
    let config = subject.config;
    let mut out = BTreeMap::new();
    for row in rows {
        match row.emit {
            Emit::One(f) => {
                if let Some(v) = f(config) {
                    out.insert(row.key.to_owned(), v);
                }
            }
            Emit::OneFor(f) => {
                if let Some(v) = f(subject) {
                    out.insert(row.key.to_owned(), v);
                }
            }
            Emit::Prefixed(f) => {
                for (k, v) in f(config) {
                    out.insert(format!("{}{k}", row.key), v);
                }
            }
            Emit::Never => {}
        }
    }
    out
}

/// `configurationSettings`: every row that applies, plus `arm.extraSettings` (validated by
/// [`check_extra_settings`] before any target is made).
pub fn settings(subject: &Subject) -> BTreeMap<String, SettingValue> {
    let mut out = walk(ROWS, subject);
    for (k, v) in &subject.config.arm.extra_settings {
        out.entry(k.clone())
            .or_insert_with(|| SettingValue::lit(v.as_str()));
    }
    out
}

/// `configurationProtectedSettings` (facts only; never key material).
pub fn protected_settings(subject: &Subject) -> BTreeMap<String, SettingValue> {
    walk(PROTECTED_ROWS, subject)
}

/// What a settings map says about the extension, read back with the extension's defaults
/// for absent keys (facts sheet, settings table "default" column). The inverse of
/// [`settings`], used to prove both targets describe the same extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readback {
    pub training: bool,
    pub inference: bool,
    pub volcano: bool,
    pub prometheus_operator: bool,
    pub dcgm_exporter: bool,
    pub nvidia_device_plugin: bool,
    pub nginx_ingress: bool,
    pub relay: bool,
    /// `inferenceRouterServiceType`, when inference is on.
    pub service_type: Option<String>,
    pub internal_load_balancer: bool,
    /// azureml-fe replicas: 3 with inferenceRouterHA True, else 1.
    pub router_replicas: u32,
    pub node_selector: BTreeMap<String, String>,
}

fn flag(map: &BTreeMap<String, SettingValue>, key: &str, default: bool) -> bool {
    map.get(key)
        .and_then(SettingValue::as_literal)
        .map_or(default, |v| v.eq_ignore_ascii_case("true"))
}

/// Reads a settings map back (see [`Readback`]).
pub fn read_back(map: &BTreeMap<String, SettingValue>) -> Readback {
    let inference = flag(map, "enableInference", false);
    Readback {
        training: flag(map, "enableTraining", false),
        inference,
        volcano: flag(map, "installVolcano", true),
        prometheus_operator: flag(map, "installPromOp", true),
        dcgm_exporter: flag(map, "installDcgmExporter", false),
        nvidia_device_plugin: flag(map, "installNvidiaDevicePlugin", false),
        nginx_ingress: flag(map, "nginxIngress.enabled", false),
        relay: flag(map, "relayserver.enabled", false),
        service_type: map
            .get("inferenceRouterServiceType")
            .and_then(SettingValue::as_literal)
            .map(str::to_owned),
        internal_load_balancer: map
            .get("internalLoadBalancerProvider")
            .and_then(SettingValue::as_literal)
            == Some("azure"),
        router_replicas: if flag(map, "inferenceRouterHA", true) {
            3
        } else {
            1
        },
        node_selector: map
            .iter()
            .filter_map(|(k, v)| {
                let label = k.strip_prefix("nodeSelector.")?;
                Some((label.to_owned(), v.as_literal()?.to_owned()))
            })
            .collect(),
    }
}

/// Every key amlc knows, exact case (nodeSelector as its prefix), for suggestions.
pub fn known_keys() -> impl Iterator<Item = &'static str> {
    ROWS.iter().chain(PROTECTED_ROWS).map(|r| r.key)
}

fn find_row(key: &str) -> Option<&'static Row> {
    ROWS.iter().chain(PROTECTED_ROWS).find(|r| {
        if r.key.ends_with('.') && matches!(r.emit, Emit::Prefixed(_)) {
            key.starts_with(r.key) && key.len() > r.key.len()
        } else {
            r.key == key
        }
    })
}

/// Checks `arm.extraSettings`: each key must be a setting the extension knows, in exact case
/// (the extension silently ignores a mis-cased key such as `InferenceRouterHA`: facts sheet,
/// pain point 5), and one amlc does not already set from the config or the deployment. Each
/// diagnostic points at the key.
pub fn check_extra_settings(config: &Config, doc: &Document) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for key in config.arm.extra_settings.keys() {
        let pointer = format!("/arm/extraSettings/{}", escape_pointer(key));
        let span = doc.key_span(&pointer);
        let d = match find_row(key).map(|r| r.origin) {
            Some(Origin::PassThrough) => continue,
            Some(Origin::Field(field)) => Diagnostic::error(
                "amlc::arm::derived-setting",
                format!("`{key}` is set from the config field {field}"),
            )
            .at(&doc.source, span, "amlc already sets this key")
            .with_help(format!(
                "set {field} in the config instead, so the YAML and ARM targets agree"
            )),
            Some(Origin::Derived(what)) => Diagnostic::error(
                "amlc::arm::derived-setting",
                format!("`{key}` is derived by amlc from {what}, as `az k8s-extension create` derives it"),
            )
            .at(&doc.source, span, "amlc already sets this key")
            .with_help(format!(
                "remove it; set {what} in the config instead, or override the template parameter at deploy time"
            )),
            Some(Origin::Protected(what)) => Diagnostic::error(
                "amlc::arm::protected-setting",
                format!("`{key}` is a protected setting and cannot be a plain configuration setting"),
            )
            .at(&doc.source, span, "protected setting")
            .with_help(format!(
                "remove it; amlc fills it from {what} as a secureString parameter, so it never appears in any output"
            )),
            None => {
                let mut d = Diagnostic::error(
                    "amlc::arm::unknown-setting",
                    format!("`{key}` is not a setting of the Azure ML extension"),
                )
                .at(&doc.source, span, "unknown setting");
                d = match suggestion(key) {
                    Some(s) if s.eq_ignore_ascii_case(key) => d.with_help(format!(
                        "setting keys are case-sensitive and the extension ignores `{key}`: did you mean `{s}`?"
                    )),
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(
                        "extraSettings takes only settings the extension knows and amlc has no field for: isAKSMigration, scoringFe.namespace, azure_log_analytics.enabled, azure_log_analytics.customer_id",
                    ),
                };
                d
            }
        };
        out.push(d.with_path(pointer));
    }
    out
}

/// The closest known key; `nodeSelector.x` keeps its label part (`nodeselector.pool` ->
/// `nodeSelector.pool`).
fn suggestion(key: &str) -> Option<String> {
    if let Some((prefix, rest)) = key.split_once('.')
        && prefix.eq_ignore_ascii_case("nodeSelector")
        && !rest.is_empty()
    {
        return Some(format!("nodeSelector.{rest}"));
    }
    suggest(key, known_keys().filter(|k| !k.ends_with('.'))).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Config {
        let v: serde_json::Value = serde_yaml_ng::from_str(yaml).expect("test yaml");
        serde_json::from_value(v).expect("test config")
    }

    fn settings_of(c: &Config) -> BTreeMap<String, SettingValue> {
        settings(&Subject::creating_relay(c))
    }

    fn protected_of(c: &Config) -> BTreeMap<String, SettingValue> {
        protected_settings(&Subject::creating_relay(c))
    }

    const OBSERVED_AKS_KEYS: [&str; 16] = [
        "allowInsecureConnections",
        "clusterId",
        "clusterPurpose",
        "cluster_name",
        "cluster_name_friendly",
        "domain",
        "enableInference",
        "enableTraining",
        "inferenceRouterHA",
        "inferenceRouterServiceType",
        "jobSchedulerLocation",
        "location",
        "nginxIngress.enabled",
        "prometheus.prometheusSpec.externalLabels.cluster_name",
        "relayserver.enabled",
        "servicebus.enabled",
    ];

    /// Facts sheet, "What the CLI adds": the observed `az k8s-extension show` of a CLI install
    /// on AKS (training + inference, LoadBalancer, insecure, one node, nothing else passed).
    #[test]
    fn reproduces_the_observed_cli_result_on_aks() {
        let c = config(
            "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks, name: c, resourceGroup: rg, nodeCount: 1}\ntraining: {enabled: true}\ninference: {enabled: true, routerServiceType: LoadBalancer, allowInsecureConnections: true}\n",
        );
        let s = settings_of(&c);
        let keys: Vec<&str> = s.keys().map(String::as_str).collect();
        assert_eq!(keys, OBSERVED_AKS_KEYS);
        assert_eq!(s["clusterPurpose"], SettingValue::lit("DevTest"));
        // Derived by the CLI itself: its own lower-case literal.
        assert_eq!(s["inferenceRouterHA"], SettingValue::lit("false"));
        assert_eq!(s["allowInsecureConnections"], SettingValue::lit("True"));
        assert_eq!(s["relayserver.enabled"], SettingValue::lit("false"));
        assert_eq!(s["nginxIngress.enabled"], SettingValue::lit("true"));
        assert_eq!(s["servicebus.enabled"], SettingValue::lit("false"));
        assert!(protected_of(&c).is_empty());
    }

    /// CLI measured: from 3 nodes the CLI sends neither key (the extension's defaults,
    /// inferenceRouterHA True, then hold).
    #[test]
    fn from_three_nodes_the_cli_sends_no_cluster_purpose() {
        let c = config(
            "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks, nodeCount: 3}\n",
        );
        let s = settings_of(&c);
        assert!(!s.contains_key("clusterPurpose"));
        assert!(!s.contains_key("inferenceRouterHA"));
        assert_eq!(read_back(&s).router_replicas, 3);
    }

    /// CLI measured: what the user passed goes through as given, whatever the node count.
    #[test]
    fn a_written_profile_is_sent_as_given() {
        for (profile, nodes, purpose, ha) in [
            ("production", 5, "FastProd", "True"),
            ("test", 5, "DevTest", "False"),
            ("production", 1, "FastProd", "True"),
        ] {
            let c = config(&format!(
                "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {{type: aks, nodeCount: {nodes}}}\nprofile: {profile}\n"
            ));
            let s = settings_of(&c);
            assert_eq!(s["clusterPurpose"], SettingValue::lit(purpose), "{profile}");
            assert_eq!(s["inferenceRouterHA"], SettingValue::lit(ha), "{profile}");
        }
    }

    /// CLI measured: allowInsecureConnections is not sent unless the user passed it.
    #[test]
    fn allow_insecure_connections_is_sent_only_when_written() {
        let base = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks}\n";
        let ssl = "ssl: {cname: ml.contoso.com, secretName: tls}";
        let unwritten = config(&format!("{base}inference: {{enabled: true, {ssl}}}\n"));
        assert!(!settings_of(&unwritten).contains_key("allowInsecureConnections"));
        let written = config(&format!(
            "{base}inference: {{enabled: true, allowInsecureConnections: false, {ssl}}}\n"
        ));
        assert_eq!(
            settings_of(&written)["allowInsecureConnections"],
            SettingValue::lit("False")
        );
    }

    /// The cluster-dependent keys are facts every target renders its own way.
    #[test]
    fn cluster_identity_and_region_are_facts() {
        let c = config("apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks}\n");
        let s = settings_of(&c);
        for (key, f) in [
            ("cluster_name", Fact::ClusterId),
            ("clusterId", Fact::ClusterId),
            (
                "prometheus.prometheusSpec.externalLabels.cluster_name",
                Fact::ClusterId,
            ),
            ("cluster_name_friendly", Fact::ClusterName),
            ("location", Fact::Region),
            ("jobSchedulerLocation", Fact::Region),
            ("domain", Fact::Domain),
        ] {
            assert_eq!(s[key], SettingValue::Fact(f), "{key}");
        }
    }

    #[test]
    fn arc_uses_the_relay_and_no_nginx() {
        let c = config("apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: arc}\n");
        let s = settings_of(&c);
        assert_eq!(s["relayserver.enabled"], SettingValue::lit("true"));
        assert_eq!(s["nginxIngress.enabled"], SettingValue::lit("false"));
        assert!(s.contains_key("relayserver.hybridConnectionResourceID"));
        let ps = protected_of(&c);
        assert_eq!(
            ps["relayServerConnectionString"],
            SettingValue::Fact(Fact::RelayConnectionString)
        );
        assert_eq!(
            ps["relayServerConnectionString"],
            ps["relayserver.relayConnectionString"]
        );
    }

    #[test]
    fn relay_secret_replaces_the_relay_resources() {
        let c = config(
            "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: ocp}\narm: {relayConnectionSecret: true}\n",
        );
        let s = settings_of(&c);
        assert!(!s.contains_key("relayserver.hybridConnectionResourceID"));
        assert_eq!(s["openshift"], SettingValue::lit("true"));
        assert!(protected_of(&c).contains_key("relayServerConnectionString"));
    }

    /// A target that cannot create the relay gets the connection string, never the
    /// hybrid connection's id or name (what the CLI sends when given a connection string).
    #[test]
    fn a_given_relay_sends_no_hybrid_connection() {
        let c = config("apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: arc}\n");
        let given = Subject::given_relay(&c);
        let s = settings(&given);
        assert!(!s.contains_key("relayserver.hybridConnectionResourceID"));
        assert!(!s.contains_key("relayserver.hybridConnectionName"));
        assert_eq!(s["relayserver.enabled"], SettingValue::lit("true"));
        assert!(protected_settings(&given).contains_key("relayserver.relayConnectionString"));
    }

    #[test]
    fn aks_before_1_1_5_still_uses_the_relay() {
        let c = config(
            "apiVersion: amlc/v1\nkind: ExtensionConfig\nextension: {version: '1.0.37'}\ncluster: {type: aks}\n",
        );
        assert_eq!(
            settings_of(&c)["relayserver.enabled"],
            SettingValue::lit("true")
        );
    }

    #[test]
    fn every_row_key_is_unique() {
        let mut keys: Vec<&str> = known_keys().collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }

    #[test]
    fn suggestions_keep_the_label_of_a_node_selector_key() {
        assert_eq!(
            suggestion("nodeselector.pool").as_deref(),
            Some("nodeSelector.pool")
        );
        assert_eq!(
            suggestion("InferenceRouterHA").as_deref(),
            Some("inferenceRouterHA")
        );
    }
}
