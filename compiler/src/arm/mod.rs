//! The ARM target: compiles a validated config into an ARM deployment template (plus a
//! parameters file) that installs the extension exactly as `az k8s-extension create` does.
//!
//! Plain ARM and Terraform installs of `Microsoft.AzureML.Kubernetes` fail the pre-install
//! healthcheck because the CLI rewrites and adds settings a hand-written template lacks
//! (facts sheet, "What the CLI adds before it calls ARM"; terraform-provider-azurerm#24547).
//! This module owns the one mapping from config to `configurationSettings` ([`settings`])
//! and the template around it ([`template`]). It reads no files and never sees key material:
//! certificate and key come in at deploy time as `securestring` parameters.
//!
//! What it does not do: talk to Azure, or render Kubernetes objects (the YAML target does).

pub mod settings;
pub mod template;

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::source::Document;

pub use settings::{
    Readback, SettingValue, check_extra_settings, protected_settings, read_back, settings,
};
pub use template::{ArmOutput, template};

/// API version of `Microsoft.KubernetesConfiguration/extensions`: the newest stable one the
/// facts sheet lists ("How the extension is installed today"), and the newest stable schema
/// in azure-resource-manager-schemas (2025-04-01 there only covers fluxConfigurations).
pub const EXTENSIONS_API_VERSION: &str = "2025-03-01";

/// API version of the `Microsoft.Relay` resources for Arc-connected clusters: the newest
/// stable one in azure-resource-manager-schemas.
pub const RELAY_API_VERSION: &str = "2024-01-01";

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

/// Fields the ARM target needs that the config schema leaves optional (DESIGN.md: `cluster.name`
/// and `cluster.resourceGroup` are "required for the ARM target"). Call it only for
/// `--target arm`; each diagnostic points at the `cluster` mapping.
pub fn check_target(config: &Config, doc: &Document) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let missing = [
        (
            "name",
            config.cluster.name.is_none(),
            "the AKS or Arc-connected cluster resource the extension is installed on",
            "name: prod-cluster",
        ),
        (
            "resourceGroup",
            config.cluster.resource_group.is_none(),
            "the resource group of that cluster",
            "resourceGroup: ml-rg",
        ),
    ];
    for (field, is_missing, what, example) in missing {
        if !is_missing {
            continue;
        }
        out.push(
            Diagnostic::error(
                "amlc::arm::missing-cluster-field",
                format!("the ARM target needs cluster.{field}: {what}"),
            )
            .at(
                &doc.source,
                doc.key_span("/cluster"),
                format!("cluster.{field} is missing here"),
            )
            .with_path("/cluster")
            .with_help(format!(
                "add `{example}` under cluster; the template keeps it as the default of a \
                 parameter, so one template still serves a fleet"
            )),
        );
    }
    out
}

/// Whether the extension uses Azure Relay on this cluster: always on Arc-connected clusters,
/// and on AKS only before 1.1.5 (release note 1.1.5: "Removed Azure Relay usage for AKS
/// extension"; DESIGN.md). The CLI's `relayserver.enabled` default follows the same split.
pub fn uses_relay(config: &Config) -> bool {
    config.cluster.cluster_type.is_arc_connected()
        || !crate::releases::Releases::embedded().is_on("noRelayOnAks", &config.extension.version)
}

/// Whether the template creates the relay namespace, hybrid connection and rule itself (the
/// CLI's `_get_relay_connection_str`), rather than taking a connection string parameter.
pub fn creates_relay(config: &Config) -> bool {
    uses_relay(config) && !config.arm.relay_connection_secret
}
