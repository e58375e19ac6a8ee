//! The Terraform target: the same extension as the ARM target, as a Terraform module for the
//! azurerm provider (`main.tf`, `variables.tf`, `outputs.tf`).
//!
//! An `azurerm_kubernetes_cluster_extension` written by hand fails the extension's
//! pre-install healthcheck for want of the settings `az k8s-extension create` adds
//! (hashicorp/terraform-provider-azurerm#24547); this module carries them, from the one
//! settings table every installer shares ([`crate::settings`]), with the cluster's id and
//! region read from a data source as the CLI reads them from Azure.
//!
//! Resource types, arguments and attributes are the provider's documented ones
//! (terraform-provider-azurerm, website/docs/r/kubernetes_cluster_extension.html.markdown,
//! arc_kubernetes_cluster_extension, relay_namespace, relay_hybrid_connection,
//! relay_hybrid_connection_authorization_rule; website/docs/d/resources.html.markdown); the
//! list amlc uses is vendored in tests/data/terraform/ and every golden module is checked
//! against it. Key material never enters the text: certificate and key are `sensitive`
//! variables without a default, set at apply time.

pub mod hcl;

use std::collections::BTreeMap;

use crate::arm::{EXTENSION_TYPE, RELAY_RULE, RELEASE_NAMESPACE, cluster_resource_type};
use crate::config::Config;
use crate::diagnostic::{self, Diagnostic};
use crate::settings::{
    ClusterField, Fact, SettingValue, Subject, check_cluster_fields, check_extra_settings,
    protected_settings, settings,
};
use crate::validate::Validated;

use hcl::Item;

/// The azurerm major version the module is written for: both extension resources and the
/// relay resources have these arguments in 4.x (the provider's docs at the time of writing).
pub const AZURERM_VERSION: &str = "~> 4.0";

pub const MAIN_FILE: &str = "main.tf";
pub const VARIABLES_FILE: &str = "variables.tf";
pub const OUTPUTS_FILE: &str = "outputs.tf";

/// Local names of the module's blocks, so references and declarations cannot drift.
mod name {
    pub const EXTENSION: &str = "azureml";
    pub const CLUSTER: &str = "cluster";
    pub const RELAY: &str = "azureml";
}

/// Variable names.
mod var {
    pub const CLUSTER_NAME: &str = "cluster_name";
    pub const RESOURCE_GROUP: &str = "resource_group_name";
    pub const EXTENSION_NAME: &str = "extension_name";
    pub const SUBSCRIPTION_ID: &str = "subscription_id";
    pub const RELAY_NAMESPACE_NAME: &str = "relay_namespace_name";
    pub const RELAY_CONNECTION_STRING: &str = "relay_connection_string";
    pub const SSL_CERT: &str = "ssl_cert_pem_base64";
    pub const SSL_KEY: &str = "ssl_key_pem_base64";
}

/// The three files of the module, in the order they are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerraformOutput {
    pub files: Vec<(&'static str, String)>,
}

/// Compiles a validated config into the module, or the diagnostics that stop it.
pub fn module(validated: &Validated) -> Result<TerraformOutput, Vec<Diagnostic>> {
    let config = &validated.config;
    let doc = &validated.document;
    let mut problems = check_cluster_fields(
        config,
        doc,
        "terraform",
        &[ClusterField::Name, ClusterField::ResourceGroup],
        "the module keeps it as the default of a variable, so one module still serves a fleet",
    );
    problems.extend(check_extra_settings(config, doc));
    if diagnostic::has_errors(&problems) {
        diagnostic::sort(&mut problems);
        return Err(problems);
    }
    let subject = Subject::creating_relay(config);
    Ok(TerraformOutput {
        files: vec![
            (MAIN_FILE, hcl::file(&main(&subject))),
            (VARIABLES_FILE, hcl::file(&variables(&subject))),
            (OUTPUTS_FILE, hcl::file(&outputs(config))),
        ],
    })
}

/// The extension resource type: the AKS one, or the Arc one for arc, aro and ocp (ARO and
/// OpenShift are installed as Arc-connected clusters, facts sheet).
pub fn extension_resource_type(config: &Config) -> &'static str {
    if config.cluster.cluster_type.is_arc_connected() {
        "azurerm_arc_kubernetes_cluster_extension"
    } else {
        "azurerm_kubernetes_cluster_extension"
    }
}

fn attr(k: &str, v: impl Into<String>) -> Item {
    Item::Attr(k.into(), v.into())
}

fn block(head: impl Into<String>, items: Vec<Item>) -> Item {
    Item::Block(head.into(), items)
}

fn quoted(s: &str) -> String {
    hcl::string(s)
}

fn var_ref(name: &str) -> String {
    format!("var.{name}")
}

const RELAY_NAMESPACE_TYPE: &str = "azurerm_relay_namespace";
const HYBRID_CONNECTION_TYPE: &str = "azurerm_relay_hybrid_connection";
const RELAY_RULE_TYPE: &str = "azurerm_relay_hybrid_connection_authorization_rule";

/// A fact as a Terraform expression.
pub fn fact_expr(fact: Fact, subject: &Subject) -> String {
    match fact {
        Fact::ClusterId => "local.cluster_id".into(),
        Fact::ClusterName => var_ref(var::CLUSTER_NAME),
        Fact::Region => "local.cluster_location".into(),
        Fact::Domain => "\"${local.cluster_location}.cloudapp.azure.com\"".into(),
        Fact::HybridConnectionId => format!("{HYBRID_CONNECTION_TYPE}.{}.id", name::RELAY),
        Fact::HybridConnectionName => format!("{HYBRID_CONNECTION_TYPE}.{}.name", name::RELAY),
        Fact::RelayConnectionString if subject.creates_relay => {
            format!("{RELAY_RULE_TYPE}.{RELAY_RULE}.primary_connection_string")
        }
        Fact::RelayConnectionString => var_ref(var::RELAY_CONNECTION_STRING),
        Fact::SslCertBase64 => var_ref(var::SSL_CERT),
        Fact::SslKeyBase64 => var_ref(var::SSL_KEY),
    }
}

/// A setting value as a Terraform expression.
pub fn value_expr(value: &SettingValue, subject: &Subject) -> String {
    match value {
        SettingValue::Literal(s) => quoted(s),
        SettingValue::Fact(f) => fact_expr(*f, subject),
    }
}

fn object(map: &BTreeMap<String, SettingValue>, subject: &Subject) -> Vec<(String, String)> {
    map.iter()
        .map(|(k, v)| (quoted(k), value_expr(v, subject)))
        .collect()
}

fn main(subject: &Subject) -> Vec<Item> {
    let config = subject.config;
    let mut out = vec![
        Item::Comment(format!(
            "Azure Machine Learning extension ({EXTENSION_TYPE}) for cluster type {}, compiled by amlc.",
            config.cluster.cluster_type.as_str()
        )),
        Item::Comment(
            "Rebuild with `amlc build --target terraform` rather than editing.".into(),
        ),
        Item::Blank,
        block(
            "terraform",
            vec![block(
                "required_providers",
                vec![Item::Object(
                    "azurerm".into(),
                    vec![
                        ("source".into(), quoted("hashicorp/azurerm")),
                        ("version".into(), quoted(AZURERM_VERSION)),
                    ],
                )],
            )],
        ),
        Item::Blank,
        block(
            "provider \"azurerm\"",
            vec![
                // null: the provider's own sources (ARM_SUBSCRIPTION_ID, the az login).
                attr("subscription_id", var_ref(var::SUBSCRIPTION_ID)),
                Item::Blank,
                block("features", vec![]),
            ],
        ),
        Item::Blank,
        // azurerm_resources reads id and region for AKS and Arc-connected clusters alike (the
        // provider has no Arc cluster data source), and unlike azurerm_kubernetes_cluster it
        // reads no cluster credentials into the state.
        Item::Comment(
            "The cluster is read, not managed: its id and region, as az k8s-extension create reads them."
                .into(),
        ),
        block(
            format!("data \"azurerm_resources\" \"{}\"", name::CLUSTER),
            vec![
                attr("type", quoted(cluster_resource_type(config))),
                attr("name", var_ref(var::CLUSTER_NAME)),
                attr("resource_group_name", var_ref(var::RESOURCE_GROUP)),
            ],
        ),
        Item::Blank,
    ];
    let cluster = format!("data.azurerm_resources.{}.resources[0]", name::CLUSTER);
    let mut locals = vec![
        attr("cluster_id", format!("{cluster}.id")),
        // The CLI lower-cases the region it reads (`resource.location.lower()`).
        attr("cluster_location", format!("lower({cluster}.location)")),
    ];
    if subject.creates_relay {
        locals.push(Item::Blank);
        locals.push(Item::Comment(
            "Relay namespace names are global: stable per cluster unless one is given.".into(),
        ));
        locals.push(attr(
            "relay_namespace_name",
            format!(
                "coalesce(var.{}, \"amlrelay-${{substr(sha1(lower(local.cluster_id)), 0, 13)}}\")",
                var::RELAY_NAMESPACE_NAME
            ),
        ));
    }
    out.push(block("locals", locals));
    out.push(Item::Blank);
    if subject.creates_relay {
        out.extend(relay());
    }
    out.push(extension(subject));
    out
}

/// The Azure Relay resources the CLI creates for an Arc-connected cluster
/// (`_get_relay_connection_str`): a Standard namespace in the cluster's resource group and
/// region, a hybrid connection named after the cluster, and the `azureml_rw` rule.
fn relay() -> Vec<Item> {
    let rg = var_ref(var::RESOURCE_GROUP);
    let namespace = format!("{RELAY_NAMESPACE_TYPE}.{}.name", name::RELAY);
    let connection = format!("{HYBRID_CONNECTION_TYPE}.{}.name", name::RELAY);
    vec![
        block(
            format!("resource \"{RELAY_NAMESPACE_TYPE}\" \"{}\"", name::RELAY),
            vec![
                attr("name", "local.relay_namespace_name"),
                attr("location", "local.cluster_location"),
                attr("resource_group_name", rg.clone()),
                attr("sku_name", quoted("Standard")),
                Item::Blank,
                // The CLI's `resource_tag`.
                Item::Object(
                    "tags".into(),
                    vec![(quoted("created_by"), quoted("Azure Arc-enabled ML"))],
                ),
            ],
        ),
        Item::Blank,
        block(
            format!("resource \"{HYBRID_CONNECTION_TYPE}\" \"{}\"", name::RELAY),
            vec![
                attr("name", var_ref(var::CLUSTER_NAME)),
                attr("resource_group_name", rg.clone()),
                attr("relay_namespace_name", namespace.clone()),
                attr("requires_client_authorization", "true"),
            ],
        ),
        Item::Blank,
        block(
            format!("resource \"{RELAY_RULE_TYPE}\" \"{RELAY_RULE}\""),
            vec![
                attr("name", quoted(RELAY_RULE)),
                attr("resource_group_name", rg),
                attr("namespace_name", namespace),
                attr("hybrid_connection_name", connection),
                // Manage, Send, Listen, as the CLI grants them.
                attr("listen", "true"),
                attr("send", "true"),
                attr("manage", "true"),
            ],
        ),
        Item::Blank,
    ]
}

fn extension(subject: &Subject) -> Item {
    let config = subject.config;
    let mut body = vec![
        attr("name", var_ref(var::EXTENSION_NAME)),
        attr("cluster_id", "local.cluster_id"),
        attr("extension_type", quoted(EXTENSION_TYPE)),
        attr("release_train", quoted(&config.extension.release_train)),
        attr("release_namespace", quoted(RELEASE_NAMESPACE)),
    ];
    // azurerm has no auto-upgrade switch: without `version` Azure upgrades the extension,
    // with it the release is pinned (the provider's docs, `version`).
    if !config.extension.auto_upgrade_minor_version {
        body.push(attr("version", quoted(&config.extension.version)));
    }
    // The CLI asks for a system-assigned identity on Arc-connected clusters only; the AKS
    // resource has no identity argument.
    if config.cluster.cluster_type.is_arc_connected() {
        body.push(Item::Blank);
        body.push(block(
            "identity",
            vec![attr("type", quoted("SystemAssigned"))],
        ));
    }
    body.push(Item::Blank);
    body.push(Item::Object(
        "configuration_settings".into(),
        object(&settings(subject), subject),
    ));
    let protected = protected_settings(subject);
    if !protected.is_empty() {
        body.push(Item::Blank);
        body.push(Item::Object(
            "configuration_protected_settings".into(),
            object(&protected, subject),
        ));
    }
    block(
        format!(
            "resource \"{}\" \"{}\"",
            extension_resource_type(config),
            name::EXTENSION
        ),
        body,
    )
}

struct Variable {
    name: &'static str,
    description: String,
    /// None: no default; `Some(None)`: `default = null`.
    default: Option<Option<String>>,
    sensitive: bool,
}

impl Variable {
    fn item(&self) -> Item {
        let mut body = vec![
            attr("description", quoted(&self.description)),
            attr("type", "string"),
        ];
        match &self.default {
            Some(Some(v)) => body.push(attr("default", quoted(v))),
            Some(None) => body.push(attr("default", "null")),
            None => {}
        }
        if self.sensitive {
            body.push(attr("sensitive", "true"));
        }
        block(format!("variable \"{}\"", self.name), body)
    }
}

fn variables(subject: &Subject) -> Vec<Item> {
    let config = subject.config;
    let kind = if config.cluster.cluster_type.is_arc_connected() {
        "Arc-connected"
    } else {
        "AKS"
    };
    let mut vars = vec![
        Variable {
            name: var::CLUSTER_NAME,
            description: format!("Name of the {kind} cluster resource."),
            default: Some(config.cluster.name.clone()),
            sensitive: false,
        },
        Variable {
            name: var::RESOURCE_GROUP,
            description: "Resource group of the cluster.".into(),
            default: Some(config.cluster.resource_group.clone()),
            sensitive: false,
        },
        Variable {
            name: var::EXTENSION_NAME,
            description: "Name of the extension resource (the Helm release name).".into(),
            default: Some(Some(config.name().to_owned())),
            sensitive: false,
        },
        Variable {
            name: var::SUBSCRIPTION_ID,
            description:
                "Subscription of the cluster. null: the provider's own (ARM_SUBSCRIPTION_ID, az login)."
                    .into(),
            default: Some(config.cluster.subscription_id.clone()),
            sensitive: false,
        },
    ];
    if subject.creates_relay {
        vars.push(Variable {
            name: var::RELAY_NAMESPACE_NAME,
            description: "Azure Relay namespace created for the extension. null: amlrelay- and a hash of the cluster id. To reuse the namespace an earlier az k8s-extension create made, give its name.".into(),
            default: Some(None),
            sensitive: false,
        });
    }
    let protected = protected_settings(subject);
    if protected.contains_key("scoringFe.sslCert") {
        vars.push(Variable {
            name: var::SSL_CERT,
            description: "Base64 of the azureml-fe certificate PEM: base64 -w0 cert.pem".into(),
            default: None,
            sensitive: true,
        });
        vars.push(Variable {
            name: var::SSL_KEY,
            description: "Base64 of the azureml-fe private key PEM: base64 -w0 key.pem".into(),
            default: None,
            sensitive: true,
        });
    }
    if !subject.creates_relay && protected.contains_key("relayServerConnectionString") {
        vars.push(Variable {
            name: var::RELAY_CONNECTION_STRING,
            description: "Connection string of an existing Azure Relay hybrid connection rule (Manage, Send, Listen) for this cluster.".into(),
            default: None,
            sensitive: true,
        });
    }
    let mut out = Vec::new();
    for (i, v) in vars.iter().enumerate() {
        if i > 0 {
            out.push(Item::Blank);
        }
        out.push(v.item());
    }
    out
}

fn outputs(config: &Config) -> Vec<Item> {
    vec![block(
        "output \"extension_id\"",
        vec![
            attr(
                "description",
                quoted("Resource id of the Azure Machine Learning extension."),
            ),
            attr(
                "value",
                format!("{}.{}.id", extension_resource_type(config), name::EXTENSION),
            ),
        ],
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Source;
    use crate::validate::{NoFiles, validate};

    fn build(text: &str) -> TerraformOutput {
        let v = validate(&Source::new("amlc.yaml", text), &NoFiles { now_unix: 0 }).unwrap();
        module(&v).unwrap()
    }

    fn main_tf(out: &TerraformOutput) -> &str {
        &out.files[0].1
    }

    #[test]
    fn aks_uses_the_aks_resource_without_identity_or_relay() {
        let out = build(
            "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks, name: c, resourceGroup: rg}\n",
        );
        let main = main_tf(&out);
        assert!(main.contains("resource \"azurerm_kubernetes_cluster_extension\" \"azureml\" {"));
        assert!(!main.contains("identity {"));
        assert!(!main.contains("azurerm_relay"));
        assert!(main.contains("\"Microsoft.ContainerService/managedClusters\""));
        assert!(main.contains("= local.cluster_location\n"));
    }

    #[test]
    fn arc_creates_the_relay_and_asks_for_an_identity() {
        let out = build(
            "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: arc, name: c, resourceGroup: rg}\n",
        );
        let main = main_tf(&out);
        assert!(
            main.contains("resource \"azurerm_arc_kubernetes_cluster_extension\" \"azureml\" {")
        );
        assert!(main.contains("identity {\n    type = \"SystemAssigned\"\n  }"));
        for r in [
            RELAY_NAMESPACE_TYPE,
            HYBRID_CONNECTION_TYPE,
            RELAY_RULE_TYPE,
        ] {
            assert!(main.contains(&format!("resource \"{r}\"")), "{r}");
        }
        assert!(main.contains(
            "= azurerm_relay_hybrid_connection_authorization_rule.azureml_rw.primary_connection_string"
        ));
    }

    #[test]
    fn the_cluster_name_and_resource_group_are_required() {
        let text = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks}\n";
        let v = validate(&Source::new("amlc.yaml", text), &NoFiles { now_unix: 0 }).unwrap();
        let d = module(&v).unwrap_err();
        assert_eq!(d.len(), 2);
        assert!(
            d.iter()
                .all(|d| d.code == "amlc::target::missing-cluster-field")
        );
        assert!(d[0].message.contains("terraform target needs cluster.name"));
    }
}
