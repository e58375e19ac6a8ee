//! The ARM target: compiles a validated config into an ARM deployment template (plus a
//! parameters file) that installs the extension exactly as `az k8s-extension create` does.
//!
//! Plain ARM and Terraform installs of `Microsoft.AzureML.Kubernetes` fail the pre-install
//! healthcheck because the CLI rewrites and adds settings a hand-written template lacks
//! (facts sheet, "What the CLI adds before it calls ARM"; terraform-provider-azurerm#24547).
//! The settings come from the one table every installer shares ([`crate::settings`]); this
//! module says its facts as ARM expressions and builds the template around them
//! ([`template`]). It reads no files and never sees key material: certificate and key come
//! in at deploy time as `securestring` parameters.
//!
//! What it does not do: talk to Azure, or render Kubernetes objects (the YAML target does).

pub mod template;

use std::collections::BTreeMap;

use crate::config::Config;
use crate::settings::{Fact, SettingValue, Subject};

pub use crate::settings::{RELAY_RULE, Readback, check_extra_settings, read_back, uses_relay};
pub use template::{ArmOutput, template};

/// API version of `Microsoft.KubernetesConfiguration/extensions`: the newest stable one the
/// facts sheet lists ("How the extension is installed today"), and the newest stable schema
/// in azure-resource-manager-schemas (2025-04-01 there only covers fluxConfigurations).
pub const EXTENSIONS_API_VERSION: &str = "2025-03-01";

/// API version of the `Microsoft.Relay` resources for Arc-connected clusters: the newest
/// stable one in azure-resource-manager-schemas.
pub const RELAY_API_VERSION: &str = "2024-01-01";

/// API versions the CLI reads the cluster with (azure-cli-extensions k8s-extension
/// consts.py, `MANAGED_CLUSTER_API_VERSION`, `CONNECTED_CLUSTER_API_VERSION`).
pub const MANAGED_CLUSTER_API_VERSION: &str = "2022-11-01";
pub const CONNECTED_CLUSTER_API_VERSION: &str = "2021-10-01";

/// The extension type (facts sheet; ARM returns it lower-cased, but accepts this spelling).
pub const EXTENSION_TYPE: &str = "Microsoft.AzureML.Kubernetes";

/// The release namespace the CLI forces (facts sheet, "scope" row).
pub const RELEASE_NAMESPACE: &str = "azureml";

/// `$schema` of the template (DESIGN.md, "--target arm").
pub const TEMPLATE_SCHEMA: &str =
    "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#";

/// `$schema` of the parameters file.
pub const PARAMETERS_SCHEMA: &str =
    "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#";

/// Template parameter names. One place, so expressions and declarations cannot drift.
pub mod param {
    pub const CLUSTER_NAME: &str = "clusterName";
    pub const CLUSTER_RESOURCE_GROUP: &str = "clusterResourceGroup";
    pub const EXTENSION_NAME: &str = "extensionName";
    /// Base64 of the certificate PEM (`base64 -w0 cert.pem`), as the CLI sends it.
    pub const SSL_CERT: &str = "sslCertPemBase64";
    /// Base64 of the private key PEM (`base64 -w0 key.pem`), as the CLI sends it.
    pub const SSL_KEY: &str = "sslKeyPemBase64";
    /// An existing Azure Relay connection string (`arm.relayConnectionSecret: true`).
    pub const RELAY_CONNECTION_STRING: &str = "relayConnectionString";
    /// Name of the Azure Relay namespace the template creates.
    pub const RELAY_NAMESPACE_NAME: &str = "relayNamespaceName";
}

/// `parameters('name')`, the expression body (no brackets).
pub(crate) fn p(name: &str) -> String {
    format!("parameters('{name}')")
}

/// Whether the template creates the relay namespace, hybrid connection and rule itself (the
/// CLI's `_get_relay_connection_str`), rather than taking a connection string parameter.
pub fn creates_relay(config: &Config) -> bool {
    Subject::creating_relay(config).creates_relay
}

/// The settings table walked for this target, facts not yet said in ARM syntax: what
/// [`read_back`] and the cross-target tests compare.
pub fn settings(config: &Config) -> BTreeMap<String, SettingValue> {
    crate::settings::settings(&Subject::creating_relay(config))
}

/// `configurationSettings` as the template writes them.
pub fn configuration_settings(config: &Config) -> BTreeMap<String, String> {
    let subject = Subject::creating_relay(config);
    render_map(&crate::settings::settings(&subject), &subject)
}

/// `configurationProtectedSettings` as the template writes them: parameter and `listKeys`
/// expressions only.
pub fn configuration_protected_settings(config: &Config) -> BTreeMap<String, String> {
    let subject = Subject::creating_relay(config);
    render_map(&crate::settings::protected_settings(&subject), &subject)
}

fn render_map(map: &BTreeMap<String, SettingValue>, subject: &Subject) -> BTreeMap<String, String> {
    map.iter()
        .map(|(k, v)| (k.clone(), to_arm_string(v, subject)))
        .collect()
}

/// The JSON string ARM reads: `[expr]` for a fact; a literal that starts with `[` is escaped
/// as `[[` so ARM does not evaluate it (ARM template syntax, "Escape characters").
pub fn to_arm_string(value: &SettingValue, subject: &Subject) -> String {
    match value {
        SettingValue::Fact(f) => format!("[{}]", fact_expr(*f, subject)),
        SettingValue::Literal(s) if s.starts_with('[') => format!("[{s}"),
        SettingValue::Literal(s) => s.clone(),
    }
}

/// A fact as an ARM expression body (no brackets).
pub fn fact_expr(fact: Fact, subject: &Subject) -> String {
    let c = subject.config;
    match fact {
        Fact::ClusterId => cluster_id_expr(c),
        Fact::ClusterName | Fact::HybridConnectionName => p(param::CLUSTER_NAME),
        Fact::Region => region_expr(c),
        Fact::Domain => format!("concat({}, '.cloudapp.azure.com')", region_expr(c)),
        Fact::HybridConnectionId => hybrid_connection_id_expr(),
        Fact::RelayConnectionString if subject.creates_relay => format!(
            "listKeys({}, '{RELAY_API_VERSION}').primaryConnectionString",
            relay_rule_id_expr()
        ),
        Fact::RelayConnectionString => p(param::RELAY_CONNECTION_STRING),
        Fact::SslCertBase64 => p(param::SSL_CERT),
        Fact::SslKeyBase64 => p(param::SSL_KEY),
    }
}

/// The cluster's resource type: `Microsoft.ContainerService/managedClusters` for AKS,
/// `Microsoft.Kubernetes/connectedClusters` for Arc-connected types (facts sheet).
pub fn cluster_resource_type(c: &Config) -> &'static str {
    if c.cluster.cluster_type.is_arc_connected() {
        "Microsoft.Kubernetes/connectedClusters"
    } else {
        "Microsoft.ContainerService/managedClusters"
    }
}

/// The cluster's resource id.
pub fn cluster_id_expr(c: &Config) -> String {
    format!(
        "resourceId({}, '{}', {})",
        p(param::CLUSTER_RESOURCE_GROUP),
        cluster_resource_type(c),
        p(param::CLUSTER_NAME)
    )
}

/// The cluster resource's own region, lower-cased, as the CLI reads it
/// (`resources.get_by_id(cluster).location.lower()`): not the resource group's, which may
/// differ (facts sheet, "The CLI, measured").
pub fn region_expr(c: &Config) -> String {
    let api = if c.cluster.cluster_type.is_arc_connected() {
        CONNECTED_CLUSTER_API_VERSION
    } else {
        MANAGED_CLUSTER_API_VERSION
    };
    format!(
        "toLower(reference({}, '{api}', 'Full').location)",
        cluster_id_expr(c)
    )
}

/// The hybrid connection's resource id (named after the cluster, as the CLI names it).
pub fn hybrid_connection_id_expr() -> String {
    format!(
        "resourceId('Microsoft.Relay/namespaces/hybridConnections', {}, {})",
        p(param::RELAY_NAMESPACE_NAME),
        p(param::CLUSTER_NAME)
    )
}

/// The `azureml_rw` rule's resource id.
pub fn relay_rule_id_expr() -> String {
    format!(
        "resourceId('Microsoft.Relay/namespaces/hybridConnections/authorizationRules', {}, {}, '{}')",
        p(param::RELAY_NAMESPACE_NAME),
        p(param::CLUSTER_NAME),
        RELAY_RULE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Config {
        let v: serde_json::Value = serde_yaml_ng::from_str(yaml).expect("test yaml");
        serde_json::from_value(v).expect("test config")
    }

    /// CLI measured: the region is the cluster resource's own, read from the cluster (with
    /// the API version the CLI reads it with), not the resource group's.
    #[test]
    fn the_region_is_read_from_the_cluster_resource() {
        for (ty, rtype, api) in [
            (
                "aks",
                "Microsoft.ContainerService/managedClusters",
                "2022-11-01",
            ),
            (
                "arc",
                "Microsoft.Kubernetes/connectedClusters",
                "2021-10-01",
            ),
        ] {
            let c = config(&format!(
                "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {{type: {ty}}}\n"
            ));
            let want = format!(
                "[toLower(reference(resourceId(parameters('clusterResourceGroup'), '{rtype}', parameters('clusterName')), '{api}', 'Full').location)]"
            );
            let s = configuration_settings(&c);
            assert_eq!(s["location"], want);
            assert_eq!(s["jobSchedulerLocation"], want);
            assert!(!s["domain"].contains("resourceGroup()"));
        }
    }

    #[test]
    fn the_relay_connection_string_comes_from_the_rule_or_a_parameter() {
        let created = config("apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: arc}\n");
        let ps = configuration_protected_settings(&created);
        assert!(ps["relayServerConnectionString"].starts_with("[listKeys("));
        assert_eq!(
            ps["relayServerConnectionString"],
            ps["relayserver.relayConnectionString"]
        );
        let given = config(
            "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: ocp}\narm: {relayConnectionSecret: true}\n",
        );
        assert_eq!(
            configuration_protected_settings(&given)["relayServerConnectionString"],
            "[parameters('relayConnectionString')]"
        );
    }

    #[test]
    fn literals_starting_with_a_bracket_are_escaped() {
        let c = config("apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks}\n");
        let s = Subject::creating_relay(&c);
        assert_eq!(to_arm_string(&SettingValue::lit("[x]"), &s), "[[x]");
        assert_eq!(to_arm_string(&SettingValue::lit("x"), &s), "x");
        assert_eq!(
            to_arm_string(&SettingValue::Fact(Fact::ClusterName), &s),
            "[parameters('clusterName')]"
        );
    }
}
