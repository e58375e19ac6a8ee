//! The Azure Service Operator target: the same extension as the ARM target, as an ASO v2
//! `Extension` custom resource (`kubernetesconfiguration.azure.com/v1api20241101`) for a
//! GitOps repository read by Flux or Argo CD on a cluster that runs ASO.
//!
//! ASO asks Azure nothing on amlc's behalf, so every fact the ARM template reads at deploy
//! time is written out here: the owner is the cluster's full resource id (needs
//! `cluster.subscriptionId`), the region is `cluster.location`. The settings come from the one
//! table every installer shares ([`crate::settings`]). Protected settings go through a
//! Secret named in `configurationProtectedSettings` (an ASO `SecretMapReference`: its keys
//! are the setting names); amlc never writes that Secret, and returns a note saying how to
//! create it. ASO has no Azure Relay kind, so on Arc-connected clusters the relay's
//! connection string is one of that Secret's keys, as when `az k8s-extension create` is given
//! `relayServerConnectionString`.
//!
//! Field names are ASO's (Azure/azure-service-operator,
//! v2/api/kubernetesconfiguration/v1api20241101/structure.txt); the list amlc uses is
//! vendored in tests/data/aso/ and every golden object is checked against it.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::arm::{EXTENSION_TYPE, RELAY_RULE, RELEASE_NAMESPACE, cluster_resource_type};
use crate::config::Config;
use crate::diagnostic::{self, Diagnostic};
use crate::settings::{
    ClusterField, Fact, SettingValue, Subject, check_cluster_fields, check_extra_settings,
    protected_settings, settings,
};
use crate::validate::Validated;

pub const API_VERSION: &str = "kubernetesconfiguration.azure.com/v1api20241101";
pub const KIND: &str = "Extension";

/// The compiled object and what the user must create for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsoOutput {
    /// The `Extension` as one YAML document.
    pub text: String,
    /// How to create the protected-settings Secret, when the extension needs one.
    pub secret_note: Option<String>,
}

/// Compiles a validated config into the `Extension`, or the diagnostics that stop it.
pub fn extension(validated: &Validated) -> Result<AsoOutput, Vec<Diagnostic>> {
    let config = &validated.config;
    let doc = &validated.document;
    let mut problems = check_cluster_fields(
        config,
        doc,
        "aso",
        &[
            ClusterField::Name,
            ClusterField::ResourceGroup,
            ClusterField::SubscriptionId,
            ClusterField::Location,
        ],
        "Azure Service Operator applies the Extension as written, so the cluster's resource id and region must be in it",
    );
    problems.extend(check_extra_settings(config, doc));
    if diagnostic::has_errors(&problems) {
        diagnostic::sort(&mut problems);
        return Err(problems);
    }
    let subject = Subject::given_relay(config);
    let cluster = Cluster::of(config);
    let protected = protected_settings(&subject);
    let secret = secret_name(config);
    let mut spec = Map::new();
    spec.insert("azureName".into(), json!(config.name()));
    spec.insert("owner".into(), json!({ "armId": cluster.id }));
    spec.insert("extensionType".into(), json!(EXTENSION_TYPE));
    spec.insert(
        "autoUpgradeMinorVersion".into(),
        json!(config.extension.auto_upgrade_minor_version),
    );
    spec.insert("releaseTrain".into(), json!(config.extension.release_train));
    // `version` may only be set with autoUpgradeMinorVersion false (facts sheet).
    if !config.extension.auto_upgrade_minor_version {
        spec.insert("version".into(), json!(config.extension.version));
    }
    spec.insert(
        "scope".into(),
        json!({ "cluster": { "releaseNamespace": RELEASE_NAMESPACE } }),
    );
    spec.insert(
        "configurationSettings".into(),
        Value::Object(
            settings(&subject)
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(value(v, &cluster))))
                .collect(),
        ),
    );
    if !protected.is_empty() {
        spec.insert(
            "configurationProtectedSettings".into(),
            json!({ "name": secret }),
        );
    }
    // As the CLI: a system-assigned identity on Arc-connected clusters only.
    if config.cluster.cluster_type.is_arc_connected() {
        spec.insert("identity".into(), json!({ "type": "SystemAssigned" }));
    }
    let object = json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": { "name": config.name() },
        "spec": Value::Object(spec),
    });
    let mut text = format!(
        "# Azure Machine Learning extension ({EXTENSION_TYPE}) for cluster {}, compiled by amlc.\n# Rebuild with `amlc build --target aso` rather than editing.\n",
        cluster.name
    );
    text.push_str(&crate::emit::yaml_document(&crate::emit::sorted(&object)));
    Ok(AsoOutput {
        text,
        secret_note: (!protected.is_empty()).then(|| secret_note(config, &secret, &protected)),
    })
}

/// The Secret the `Extension` reads its protected settings from.
pub fn secret_name(config: &Config) -> String {
    format!("{}-protected-settings", config.name())
}

/// What the facts are for this cluster, from the config alone.
struct Cluster {
    id: String,
    name: String,
    region: String,
}

impl Cluster {
    fn of(config: &Config) -> Self {
        let c = &config.cluster;
        let name = c.name.clone().unwrap_or_default();
        Cluster {
            id: format!(
                "/subscriptions/{}/resourceGroups/{}/providers/{}/{name}",
                c.subscription_id.as_deref().unwrap_or_default(),
                c.resource_group.as_deref().unwrap_or_default(),
                cluster_resource_type(config),
            ),
            // The CLI sends the region lower-cased; the schema already asks for lower case.
            region: c.location.as_deref().unwrap_or_default().to_lowercase(),
            name,
        }
    }
}

/// A plain setting's concrete value. Protected facts never reach here: they are keys of the
/// Secret, and the relay's id and name are only sent by targets that create the relay.
fn value(v: &SettingValue, cluster: &Cluster) -> String {
    match v {
        SettingValue::Literal(s) => s.clone(),
        SettingValue::Fact(Fact::ClusterId) => cluster.id.clone(),
        SettingValue::Fact(Fact::ClusterName) => cluster.name.clone(),
        SettingValue::Fact(Fact::Region) => cluster.region.clone(),
        SettingValue::Fact(Fact::Domain) => format!("{}.cloudapp.azure.com", cluster.region),
        SettingValue::Fact(f) => {
            panic!("bug in amlc: {f:?} is not a plain setting of the aso target")
        }
    }
}

/// The stderr note: the Secret's keys and how to create it, never its values.
fn secret_note(
    config: &Config,
    secret: &str,
    protected: &BTreeMap<String, SettingValue>,
) -> String {
    let ssl = config.inference.ssl.as_ref();
    let cert = ssl
        .and_then(|s| s.cert_file.as_deref())
        .unwrap_or("cert.pem");
    let key = ssl.and_then(|s| s.key_file.as_deref()).unwrap_or("key.pem");
    let mut literals = Vec::new();
    for (k, v) in protected {
        let source = match v {
            SettingValue::Fact(Fact::SslCertBase64) => format!("\"$(base64 -w0 {cert})\""),
            SettingValue::Fact(Fact::SslKeyBase64) => format!("\"$(base64 -w0 {key})\""),
            SettingValue::Fact(Fact::RelayConnectionString) => {
                "\"$RELAY_CONNECTION_STRING\"".into()
            }
            _ => "\"...\"".into(),
        };
        literals.push(format!("      --from-literal={k}={source}"));
    }
    let mut note = format!(
        "note: the Extension reads its protected settings from Secret {secret}, which amlc does not write (it holds key material).\n  Create it in the namespace you apply the Extension to, before applying it{}:\n    kubectl create secret generic {secret} \\\n{}\n  In a GitOps repository, keep that Secret encrypted (SOPS) or sync it from a vault (External Secrets); its keys are the setting names above.\n",
        if ssl.is_some_and(|s| s.cert_file.is_some()) {
            " (file paths as the config gives them, relative to its folder)"
        } else {
            ""
        },
        literals.join(" \\\n")
    );
    if protected.contains_key("relayServerConnectionString") {
        let c = &config.cluster;
        let rg = c.resource_group.as_deref().unwrap_or("RG");
        let name = c.name.as_deref().unwrap_or("CLUSTER");
        let region = c.location.as_deref().unwrap_or("REGION");
        note.push_str(&format!(
            "  RELAY_CONNECTION_STRING: the extension on an Arc-connected cluster talks to Azure through Azure Relay, which Azure Service Operator cannot create. Create it once (or reuse the one `az k8s-extension create` made):\n    az relay namespace create -g {rg} -n NAMESPACE -l {region}\n    az relay hyco create -g {rg} --namespace-name NAMESPACE -n {name}\n    az relay hyco authorization-rule create -g {rg} --namespace-name NAMESPACE --hybrid-connection-name {name} -n {RELAY_RULE} --rights Manage Send Listen\n    RELAY_CONNECTION_STRING=$(az relay hyco authorization-rule keys list -g {rg} --namespace-name NAMESPACE --hybrid-connection-name {name} -n {RELAY_RULE} --query primaryConnectionString -o tsv)\n"
        ));
    }
    note
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Source;
    use crate::validate::{NoFiles, validate};

    const CLUSTER: &str = "cluster: {type: arc, name: c1, resourceGroup: rg, subscriptionId: 00000000-0000-0000-0000-000000000001, location: westeurope}\n";

    fn build(text: &str) -> Result<AsoOutput, Vec<Diagnostic>> {
        let v = validate(&Source::new("amlc.yaml", text), &NoFiles { now_unix: 0 }).unwrap();
        extension(&v)
    }

    #[test]
    fn owner_and_settings_are_concrete() {
        let out = build(&format!(
            "apiVersion: amlc/v1\nkind: ExtensionConfig\n{CLUSTER}"
        ))
        .unwrap();
        let v: Value = serde_yaml_ng::from_str(&out.text).unwrap();
        let id = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/c1";
        assert_eq!(v["spec"]["owner"]["armId"], id);
        let s = &v["spec"]["configurationSettings"];
        assert_eq!(s["clusterId"], id);
        assert_eq!(s["location"], "westeurope");
        assert_eq!(s["domain"], "westeurope.cloudapp.azure.com");
        assert_eq!(s["cluster_name_friendly"], "c1");
        assert!(s.get("relayserver.hybridConnectionResourceID").is_none());
        assert_eq!(v["spec"]["identity"]["type"], "SystemAssigned");
        assert_eq!(
            v["spec"]["configurationProtectedSettings"]["name"],
            "azureml-protected-settings"
        );
        let note = out.secret_note.unwrap();
        assert!(note.contains("--from-literal=relayServerConnectionString="));
        assert!(note.contains("SOPS") && note.contains("External Secrets"));
    }

    #[test]
    fn subscription_and_location_are_required_and_located() {
        let d = build(
            "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks, name: c, resourceGroup: rg}\n",
        )
        .unwrap_err();
        let msgs: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(d.len(), 2, "{msgs:?}");
        assert!(msgs[0].contains("cluster.subscriptionId"), "{msgs:?}");
        assert!(msgs[1].contains("cluster.location"), "{msgs:?}");
        assert!(
            d.iter()
                .all(|d| d.location().as_deref() == Some("amlc.yaml:3:1"))
        );
        assert!(
            d[1].help
                .as_deref()
                .unwrap()
                .contains("location: westeurope")
        );
    }

    #[test]
    fn aks_without_tls_needs_no_secret() {
        let out = build(
            "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks, name: c, resourceGroup: rg, subscriptionId: 00000000-0000-0000-0000-000000000001, location: eastus}\n",
        )
        .unwrap();
        assert!(out.secret_note.is_none());
        let v: Value = serde_yaml_ng::from_str(&out.text).unwrap();
        assert!(v["spec"].get("configurationProtectedSettings").is_none());
        assert!(v["spec"].get("identity").is_none());
    }
}
