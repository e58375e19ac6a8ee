//! Builds the deployment template and its parameters file around the settings of
//! [`super::settings`]: one `Microsoft.KubernetesConfiguration/extensions` resource scoped to
//! the cluster, and on Arc-connected clusters the Azure Relay resources the CLI would create
//! (facts sheet, "Arc relay" row; azure-cli-extensions `_get_relay_connection_str`).
//!
//! The output is deterministic: serde_json's map is sorted by key, pretty-printed with two
//! spaces and a trailing newline. Nothing here reads the clock or makes names up
//! (`utcNow()`, `newGuid()`), and no read-only property is written, so `what-if` stays quiet
//! on a re-deploy. Certificate and key are `securestring` parameters that neither file fills.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::diagnostic::{self, Diagnostic};
use crate::validate::Validated;

use crate::settings::{ClusterField, check_cluster_fields};

use super::{
    EXTENSION_TYPE, EXTENSIONS_API_VERSION, PARAMETERS_SCHEMA, RELAY_API_VERSION, RELAY_RULE,
    RELEASE_NAMESPACE, TEMPLATE_SCHEMA, check_extra_settings, cluster_id_expr,
    configuration_protected_settings, configuration_settings, creates_relay,
    hybrid_connection_id_expr, p, param, region_expr, relay_rule_id_expr,
};

/// The two files of the ARM target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmOutput {
    /// `azuredeploy.json`.
    pub template: String,
    /// `azuredeploy.parameters.json`.
    pub parameters: String,
}

/// File names under `-o DIR` (DESIGN.md, "--target arm").
pub const TEMPLATE_FILE: &str = "azuredeploy.json";
pub const PARAMETERS_FILE: &str = "azuredeploy.parameters.json";

/// Tag the CLI puts on the relay namespace it creates (`resource_tag`).
const RELAY_TAG: (&str, &str) = ("created_by", "Azure Arc-enabled ML");

/// Compiles a validated config into the ARM target, or the diagnostics that stop it
/// (missing cluster fields, invalid `arm.extraSettings`), in file order.
pub fn template(validated: &Validated) -> Result<ArmOutput, Vec<Diagnostic>> {
    let config = &validated.config;
    let doc = &validated.document;
    let mut problems = check_cluster_fields(
        config,
        doc,
        "ARM",
        &[ClusterField::Name, ClusterField::ResourceGroup],
        "the template keeps it as the default of a parameter, so one template still serves a fleet",
    );
    problems.extend(check_extra_settings(config, doc));
    if diagnostic::has_errors(&problems) {
        diagnostic::sort(&mut problems);
        return Err(problems);
    }
    let params = parameters(config);
    let template = json!({
        "$schema": TEMPLATE_SCHEMA,
        "contentVersion": "1.0.0.0",
        "metadata": {
            "description": format!(
                "Azure Machine Learning extension ({EXTENSION_TYPE}) for cluster type {}, compiled by amlc. Rebuild with `amlc build --target arm` rather than editing.",
                config.cluster.cluster_type.as_str()
            ),
        },
        "parameters": params.iter().map(|(k, v)| ((*k).to_owned(), v.declaration())).collect::<Map<_, _>>(),
        "resources": resources(config),
    });
    let file = json!({
        "$schema": PARAMETERS_SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": params
            .iter()
            .filter_map(|(k, v)| v.file_value.as_ref().map(|val| ((*k).to_owned(), json!({ "value": val }))))
            .collect::<Map<_, _>>(),
    });
    Ok(ArmOutput {
        template: to_text(&template),
        parameters: to_text(&file),
    })
}

/// Two-space indent, keys sorted (serde_json's default map is ordered), trailing newline.
fn to_text(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|e| {
        // Serialising a serde_json::Value cannot fail; if it ever does it is amlc's bug.
        panic!("bug in amlc: cannot serialise the ARM template: {e}")
    });
    s.push('\n');
    s
}

/// One template parameter: its declaration, and the value the parameters file gives it.
struct Param {
    kind: &'static str,
    default: Option<String>,
    description: String,
    /// Written to the parameters file: the config's literal values only. Never a secret.
    file_value: Option<String>,
}

impl Param {
    fn declaration(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), json!(self.kind));
        if let Some(d) = &self.default {
            m.insert("defaultValue".into(), json!(d));
        }
        m.insert(
            "metadata".into(),
            json!({ "description": self.description }),
        );
        Value::Object(m)
    }
}

/// The parameters the template declares: exactly the ones its expressions use (a test in
/// tests/arm.rs scans every `parameters('x')` to prove it).
fn parameters(config: &Config) -> BTreeMap<&'static str, Param> {
    let mut out = BTreeMap::new();
    let literal = |s: &str| Param {
        kind: "string",
        default: Some(s.to_owned()),
        description: String::new(),
        file_value: Some(s.to_owned()),
    };
    let name = config.cluster.name.as_deref().unwrap_or_default();
    let rg = config.cluster.resource_group.as_deref().unwrap_or_default();
    out.insert(
        param::CLUSTER_NAME,
        Param {
            description: "Name of the AKS or Arc-connected cluster resource.".into(),
            ..literal(name)
        },
    );
    out.insert(
        param::CLUSTER_RESOURCE_GROUP,
        Param {
            description: "Resource group of the cluster.".into(),
            ..literal(rg)
        },
    );
    out.insert(
        param::EXTENSION_NAME,
        Param {
            description: "Name of the extension resource (the Helm release name).".into(),
            ..literal(config.name())
        },
    );
    if configuration_protected_settings(config).contains_key("scoringFe.sslCert") {
        out.insert(
            param::SSL_CERT,
            secure("Base64 of the azureml-fe certificate PEM: base64 -w0 cert.pem"),
        );
        out.insert(
            param::SSL_KEY,
            secure("Base64 of the azureml-fe private key PEM: base64 -w0 key.pem"),
        );
    }
    if config.arm.relay_connection_secret && super::uses_relay(config) {
        out.insert(
            param::RELAY_CONNECTION_STRING,
            secure("Connection string of an existing Azure Relay hybrid connection rule (Manage, Send, Listen) for this cluster."),
        );
    }
    if creates_relay(config) {
        out.insert(
            param::RELAY_NAMESPACE_NAME,
            Param {
                kind: "string",
                // Deterministic per cluster (uniqueString hashes its arguments; no clock, no
                // random), so a re-deploy targets the same namespace. 9 + 13 characters, within
                // the 6-50 a relay namespace allows.
                default: Some(format!(
                    "[concat('amlrelay-', uniqueString(subscription().subscriptionId, {}, {}))]",
                    p(param::CLUSTER_RESOURCE_GROUP),
                    p(param::CLUSTER_NAME)
                )),
                description: "Azure Relay namespace created for the extension. To reuse the namespace an earlier `az k8s-extension create` made, pass its name.".into(),
                file_value: None,
            },
        );
    }
    out
}

fn secure(description: &str) -> Param {
    Param {
        kind: "securestring",
        default: None,
        description: description.into(),
        file_value: None,
    }
}

fn string_map(map: BTreeMap<String, String>) -> Value {
    Value::Object(
        map.into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}

fn resources(config: &Config) -> Vec<Value> {
    let mut out = Vec::new();
    let mut extension_depends = Vec::new();
    if creates_relay(config) {
        let ns = p(param::RELAY_NAMESPACE_NAME);
        let cluster = p(param::CLUSTER_NAME);
        out.push(json!({
            "type": "Microsoft.Relay/namespaces",
            "apiVersion": RELAY_API_VERSION,
            "name": format!("[{ns}]"),
            // The CLI creates the relay in the cluster's region.
            "location": format!("[{}]", region_expr(config)),
            "sku": { "name": "Standard", "tier": "Standard" },
            "tags": { RELAY_TAG.0: RELAY_TAG.1 },
            "properties": {},
        }));
        out.push(json!({
            "type": "Microsoft.Relay/namespaces/hybridConnections",
            "apiVersion": RELAY_API_VERSION,
            "name": format!("[format('{{0}}/{{1}}', {ns}, {cluster})]"),
            "properties": { "requiresClientAuthorization": true },
            "dependsOn": [format!("[resourceId('Microsoft.Relay/namespaces', {ns})]")],
        }));
        out.push(json!({
            "type": "Microsoft.Relay/namespaces/hybridConnections/authorizationRules",
            "apiVersion": RELAY_API_VERSION,
            "name": format!("[format('{{0}}/{{1}}/{{2}}', {ns}, {cluster}, '{RELAY_RULE}')]"),
            "properties": { "rights": ["Manage", "Send", "Listen"] },
            "dependsOn": [format!("[{}]", hybrid_connection_id_expr())],
        }));
        extension_depends.push(format!("[{}]", relay_rule_id_expr()));
    }
    let mut properties = Map::new();
    properties.insert("extensionType".into(), json!(EXTENSION_TYPE));
    properties.insert(
        "autoUpgradeMinorVersion".into(),
        json!(config.extension.auto_upgrade_minor_version),
    );
    properties.insert("releaseTrain".into(), json!(config.extension.release_train));
    // `version` may only be set with autoUpgradeMinorVersion false (facts sheet).
    if !config.extension.auto_upgrade_minor_version {
        properties.insert("version".into(), json!(config.extension.version));
    }
    properties.insert(
        "scope".into(),
        json!({ "cluster": { "releaseNamespace": RELEASE_NAMESPACE } }),
    );
    properties.insert(
        "configurationSettings".into(),
        string_map(configuration_settings(config)),
    );
    // Always an object, never '' (a known defect of the official sample, facts sheet).
    properties.insert(
        "configurationProtectedSettings".into(),
        string_map(configuration_protected_settings(config)),
    );
    let mut extension = Map::new();
    extension.insert(
        "type".into(),
        json!("Microsoft.KubernetesConfiguration/extensions"),
    );
    extension.insert("apiVersion".into(), json!(EXTENSIONS_API_VERSION));
    extension.insert(
        "name".into(),
        json!(format!("[{}]", p(param::EXTENSION_NAME))),
    );
    extension.insert(
        "scope".into(),
        json!(format!("[{}]", cluster_id_expr(config))),
    );
    // The CLI sends no identity on AKS and asks for a system-assigned one on Arc-connected
    // clusters (facts sheet, "The CLI, measured").
    if config.cluster.cluster_type.is_arc_connected() {
        extension.insert("identity".into(), json!({ "type": "SystemAssigned" }));
    }
    extension.insert("properties".into(), Value::Object(properties));
    if !extension_depends.is_empty() {
        extension.insert("dependsOn".into(), json!(extension_depends));
    }
    out.push(Value::Object(extension));
    out
}
