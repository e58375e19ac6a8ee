//! Golden cases of the ARM target (`golden-arm/<case>/amlc.yaml` -> `expected/`), driven
//! through the library so they do not depend on the CLI wiring. Also proves, for every
//! case: the template and parameters file validate offline against the vendored ARM JSON
//! Schemas (`tests/data/arm-schemas/`), parameters are declared iff used, no key material
//! appears in any output, and the ARM settings describe the same extension as the config's
//! resolved fields (the YAML target reads the same accessors).
//!
//! Re-bless: `UPDATE_GOLDEN=1 cargo test --test integration arm::`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::common::compare;
use amlc::arm::{self, ArmOutput};
use amlc::config::{Config, Profile};
use amlc::diagnostic::Source;
use amlc::validate::{self, Host, Validated};
use base64::Engine as _;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Reads files relative to a case folder; a fixed clock, so output never depends on today.
struct CaseHost(PathBuf);

impl Host for CaseHost {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        std::fs::read(self.0.join(path)).map_err(|e| format!("cannot read {path}: {e}"))
    }
    fn now_unix(&self) -> i64 {
        1_767_225_600 // 2026-01-01T00:00:00Z
    }
}

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("golden-arm"))
        .expect("golden-arm/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("amlc.yaml").is_file())
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no golden-arm cases found");
    v
}

fn name(case: &Path) -> String {
    case.file_name().unwrap().to_string_lossy().into_owned()
}

fn load(case: &Path) -> Validated {
    let text = std::fs::read_to_string(case.join("amlc.yaml")).unwrap();
    let source = Source::new(format!("{}/amlc.yaml", name(case)), text);
    validate::validate(&source, &CaseHost(case.to_path_buf())).unwrap_or_else(|d| {
        panic!(
            "{}: config invalid:\n{}",
            name(case),
            amlc::diagnostic::render_text(&d, false, 80)
        )
    })
}

fn build(case: &Path) -> ArmOutput {
    arm::template(&load(case)).unwrap_or_else(|d| {
        panic!(
            "{}: ARM target failed:\n{}",
            name(case),
            amlc::diagnostic::render_text(&d, false, 80)
        )
    })
}

#[test]
fn golden_templates_match() {
    let mut failures = Vec::new();
    for case in cases() {
        let out = build(&case);
        compare(
            &case.join("expected/azuredeploy.json"),
            &out.template,
            &mut failures,
        );
        compare(
            &case.join("expected/azuredeploy.parameters.json"),
            &out.parameters,
            &mut failures,
        );
    }
    assert!(
        failures.is_empty(),
        "golden mismatch (re-bless with UPDATE_GOLDEN=1 cargo test --test integration arm::):\n{}",
        failures.join("\n")
    );
}

#[test]
fn output_is_deterministic_and_shaped() {
    for case in cases() {
        let a = build(&case);
        let b = build(&case);
        assert_eq!(a, b, "{}", name(&case));
        for text in [&a.template, &a.parameters] {
            assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
            assert!(!text.contains('\t') && !text.contains('\r'));
            // Two-space indent: serde_json's pretty printer, re-serialised identically.
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                &format!("{}\n", serde_json::to_string_pretty(&v).unwrap()),
                text
            );
            for banned in ["utcNow", "newGuid"] {
                assert!(!text.contains(banned), "{}: uses {banned}", name(&case));
            }
        }
    }
}

// ---------------------------------------------------------------- JSON Schema validation

/// Serves `https://schema.management.azure.com/schemas/...` from the vendored folder; no
/// network. A few schemas deploymentTemplate.json names but amlc never emits are stubbed
/// (see tests/data/arm-schemas/README.md).
struct Vendored;

const STUBBED: &[(&str, &[&str])] = &[
    ("2015-02-01-preview/Microsoft.Logic.json", &["workflows"]),
    (
        "2016-06-01/Microsoft.Logic.json",
        &[
            "workflows",
            "integrationAccounts",
            "integrationAccounts_agreements",
            "integrationAccounts_certificates",
            "integrationAccounts_maps",
            "integrationAccounts_partners",
            "integrationAccounts_schemas",
            "integrationAccounts_assemblies",
            "integrationAccounts_batchConfigurations",
        ],
    ),
    ("2016-10-01/Microsoft.Logic.json", &["workflows"]),
    ("2017-07-01/Microsoft.Logic.json", &["workflows"]),
    ("2015-01-01/Sendgrid.Email.json", &["accounts"]),
];

const PREFIX: &str = "https://schema.management.azure.com/schemas/";

fn vendored_path(rel: &str) -> Option<PathBuf> {
    let file = match rel {
        "2025-03-01/Microsoft.KubernetesConfiguration.extensions.amlc.json" => {
            "amlc/Microsoft.KubernetesConfiguration.extensions.json"
        }
        other => other,
    };
    let p = root().join("tests/data/arm-schemas").join(file);
    p.is_file().then_some(p)
}

impl jsonschema::Retrieve for Vendored {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let s = uri.as_str();
        let rel = s
            .strip_prefix(PREFIX)
            .ok_or_else(|| format!("not vendored (no network in tests): {s}"))?;
        let rel = rel.trim_end_matches('#');
        if let Some(p) = vendored_path(rel) {
            return Ok(one_of_as_any_of(serde_json::from_str(
                &std::fs::read_to_string(p)?,
            )?));
        }
        if let Some((_, names)) = STUBBED.iter().find(|(f, _)| *f == rel) {
            // Matches nothing: amlc never emits these types, and the real definitions
            // require their own `type` enum, so they would not match amlc's resources either.
            let defs: serde_json::Map<String, Value> = names
                .iter()
                .map(|n| ((*n).to_owned(), serde_json::json!({ "not": {} })))
                .collect();
            return Ok(serde_json::json!({ "resourceDefinitions": defs }));
        }
        Err(format!("not vendored: {s}").into())
    }
}

/// Reads every `oneOf` as `anyOf`, in memory (the vendored files stay verbatim). The generated
/// ARM schemas offer "a literal or an expression" as two `oneOf` branches, and an expression
/// string such as `[parameters('name')]` satisfies both (`{"type": "string", "minLength": 1}`
/// and the expression pattern), so a strict draft-04 validator rejects every expression-valued
/// name. See tests/data/arm-schemas/README.md.
fn one_of_as_any_of(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let k = if k == "oneOf" { "anyOf".to_owned() } else { k };
                    (k, one_of_as_any_of(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(one_of_as_any_of).collect()),
        other => other,
    }
}

fn validator(rel: &str) -> jsonschema::Validator {
    let schema: Value = one_of_as_any_of(
        serde_json::from_str(&std::fs::read_to_string(vendored_path(rel).unwrap()).unwrap())
            .unwrap(),
    );
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .with_retriever(Vendored)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{rel} does not compile: {e}"))
}

fn template_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| validator("2019-04-01/deploymentTemplate.json"))
}

fn parameters_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| validator("2019-04-01/deploymentParameters.json"))
}

/// The extension resource on its own, against its resource definition: the deployment
/// template schema's `oneOf` would only say "no resource type matched".
fn extension_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema = serde_json::json!({
            "$ref": format!("{PREFIX}2025-03-01/Microsoft.KubernetesConfiguration.extensions.amlc.json#/resourceDefinitions/extensions")
        });
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .with_retriever(Vendored)
            .build(&schema)
            .unwrap()
    })
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn every_golden_template_validates_against_the_arm_schemas() {
    for case in cases() {
        let out = build(&case);
        let t: Value = serde_json::from_str(&out.template).unwrap();
        let p: Value = serde_json::from_str(&out.parameters).unwrap();
        let e = errors(template_validator(), &t);
        assert!(e.is_empty(), "{}: template: {e:#?}", name(&case));
        let e = errors(parameters_validator(), &p);
        assert!(e.is_empty(), "{}: parameters: {e:#?}", name(&case));
        let ext = extension(&t);
        let e = errors(extension_validator(), ext);
        assert!(e.is_empty(), "{}: extension resource: {e:#?}", name(&case));
    }
}

#[test]
fn the_schemas_reject_what_the_official_sample_gets_wrong() {
    // A boolean setting and '' for protected settings: defects of the official sample
    // (facts sheet). Proves the vendored schema is actually checking the resource.
    let t: Value = serde_json::from_str(&build(&cases()[0]).template).unwrap();
    let mut ext = extension(&t).clone();
    ext["properties"]["configurationSettings"]["enableTraining"] = Value::Bool(true);
    assert!(!errors(extension_validator(), &ext).is_empty());
    let mut ext = extension(&t).clone();
    ext["properties"]["configurationProtectedSettings"] = Value::String(String::new());
    assert!(!errors(extension_validator(), &ext).is_empty());
    let mut ext = extension(&t).clone();
    ext["apiVersion"] = Value::String("2099-01-01".into());
    assert!(!errors(extension_validator(), &ext).is_empty());
    // The whole-template schema checks the envelope and each relay resource too.
    let mut broken = t.clone();
    broken.as_object_mut().unwrap().remove("contentVersion");
    assert!(!errors(template_validator(), &broken).is_empty());
    let arc: Value =
        serde_json::from_str(&build(&root().join("golden-arm/arc-relay")).template).unwrap();
    assert!(errors(template_validator(), &arc).is_empty());
    let mut broken = arc.clone();
    broken["resources"][0]["sku"]["name"] = Value::String("Premium".into());
    assert!(!errors(template_validator(), &broken).is_empty());
    let mut broken = arc;
    broken["resources"][2]["properties"]["rights"][0] = Value::String("Admin".into());
    assert!(!errors(template_validator(), &broken).is_empty());
}

fn extension(t: &Value) -> &Value {
    let list = t["resources"].as_array().unwrap();
    let found: Vec<&Value> = list
        .iter()
        .filter(|r| r["type"] == "Microsoft.KubernetesConfiguration/extensions")
        .collect();
    assert_eq!(found.len(), 1, "exactly one extension resource");
    found[0]
}

// ---------------------------------------------------------------- template shape

/// Every `parameters('x')` in a string.
fn used_parameters(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(i) = rest.find("parameters('") {
                rest = &rest[i + "parameters('".len()..];
                if let Some(j) = rest.find('\'') {
                    out.insert(rest[..j].to_owned());
                    rest = &rest[j..];
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| used_parameters(x, out)),
        Value::Object(m) => m.values().for_each(|x| used_parameters(x, out)),
        _ => {}
    }
}

#[test]
fn parameters_are_declared_exactly_when_used() {
    for case in cases() {
        let out = build(&case);
        let t: Value = serde_json::from_str(&out.template).unwrap();
        let declared: BTreeSet<String> = t["parameters"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let mut used = BTreeSet::new();
        // Defaults may use other parameters; resources use the rest.
        used_parameters(&t["resources"], &mut used);
        for decl in t["parameters"].as_object().unwrap().values() {
            used_parameters(&decl["defaultValue"], &mut used);
        }
        assert_eq!(declared, used, "{}", name(&case));
        // The parameters file only names declared, non-secure parameters.
        let p: Value = serde_json::from_str(&out.parameters).unwrap();
        for (k, _) in p["parameters"].as_object().unwrap() {
            assert!(declared.contains(k), "{}: {k} not declared", name(&case));
            assert_ne!(t["parameters"][k]["type"], "securestring");
        }
        // Parameters without a default are exactly the secure ones: they come in at deploy time.
        for (k, decl) in t["parameters"].as_object().unwrap() {
            assert_eq!(
                decl.get("defaultValue").is_none(),
                decl["type"] == "securestring",
                "{}: {k}",
                name(&case)
            );
        }
    }
}

#[test]
fn the_extension_resource_has_the_cli_shape_and_no_read_only_properties() {
    let writable: BTreeSet<&str> = [
        "extensionType",
        "autoUpgradeMinorVersion",
        "releaseTrain",
        "version",
        "scope",
        "configurationSettings",
        "configurationProtectedSettings",
    ]
    .into();
    for case in cases() {
        let v = load(&case);
        let t: Value = serde_json::from_str(&arm::template(&v).unwrap().template).unwrap();
        let ext = extension(&t);
        let props = ext["properties"].as_object().unwrap();
        for k in props.keys() {
            assert!(writable.contains(k.as_str()), "{}: {k}", name(&case));
        }
        assert_eq!(ext["apiVersion"], arm::EXTENSIONS_API_VERSION);
        assert_eq!(props["extensionType"], "Microsoft.AzureML.Kubernetes");
        // CLI measured: no identity on AKS, a system-assigned one on Arc-connected clusters.
        if v.config.cluster.cluster_type.is_arc_connected() {
            assert_eq!(ext["identity"]["type"], "SystemAssigned", "{}", name(&case));
        } else {
            assert!(ext.get("identity").is_none(), "{}", name(&case));
        }
        assert_eq!(props["scope"]["cluster"]["releaseNamespace"], "azureml");
        assert_eq!(
            props.contains_key("version"),
            !v.config.extension.auto_upgrade_minor_version
        );
        let scope = ext["scope"].as_str().unwrap();
        let rtype = if v.config.cluster.cluster_type.is_arc_connected() {
            "'Microsoft.Kubernetes/connectedClusters'"
        } else {
            "'Microsoft.ContainerService/managedClusters'"
        };
        assert!(scope.starts_with("[resourceId(") && scope.contains(rtype));
        for (k, s) in props["configurationSettings"].as_object().unwrap() {
            assert!(s.is_string(), "{}: {k} is not a string", name(&case));
        }
        assert!(props["configurationProtectedSettings"].is_object());
        // Relay resources exist exactly when the template creates the relay.
        let relay = t["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["type"].as_str().unwrap().starts_with("Microsoft.Relay/"))
            .count();
        assert_eq!(relay, if arm::creates_relay(&v.config) { 3 } else { 0 });
    }
}

// ---------------------------------------------------------------- secrets

#[test]
fn no_key_material_in_any_output() {
    let tls = root().join("tests/data/tls");
    let cert = std::fs::read_to_string(tls.join("cert.pem")).unwrap();
    let key = std::fs::read_to_string(tls.join("key.pem")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut needles: Vec<String> = vec![b64.encode(&cert), b64.encode(&key)];
    // Every base64 body line of both PEMs, so no fragment slips through either.
    for pem in [&cert, &key] {
        needles.extend(
            pem.lines()
                .filter(|l| !l.starts_with("-----") && l.len() > 16)
                .map(str::to_owned),
        );
    }
    let case = root().join("golden-arm/https-files");
    let v = load(&case);
    let out = arm::template(&v).unwrap();
    let debug = format!("{v:?}");
    for needle in &needles {
        for (what, text) in [
            ("template", &out.template),
            ("parameters", &out.parameters),
            ("Debug of the validated config", &debug),
        ] {
            assert!(
                !text.contains(needle.as_str()),
                "key material in the {what}"
            );
        }
    }
    // The protected settings are the two secure parameters, and nothing fills them.
    let t: Value = serde_json::from_str(&out.template).unwrap();
    let ps = &extension(&t)["properties"]["configurationProtectedSettings"];
    assert_eq!(ps["scoringFe.sslCert"], "[parameters('sslCertPemBase64')]");
    assert_eq!(ps["scoringFe.sslKey"], "[parameters('sslKeyPemBase64')]");
    assert_eq!(t["parameters"]["sslKeyPemBase64"]["type"], "securestring");
    let p: Value = serde_json::from_str(&out.parameters).unwrap();
    assert!(p["parameters"].get("sslKeyPemBase64").is_none());
    assert!(p["parameters"].get("sslCertPemBase64").is_none());
}

// ---------------------------------------------------------------- both targets agree

/// The extension as the typed config's resolved accessors describe it: what the YAML
/// target renders from.
fn from_config(c: &Config) -> arm::Readback {
    let inference = c.inference.enabled;
    arm::Readback {
        training: c.training.enabled,
        inference,
        volcano: c.training.volcano,
        prometheus_operator: c.monitoring.prometheus_operator,
        dcgm_exporter: c.monitoring.dcgm_exporter,
        nvidia_device_plugin: c.monitoring.nvidia_device_plugin,
        nginx_ingress: c.nginx_ingress(),
        relay: arm::uses_relay(c),
        service_type: inference.then(|| c.inference.router_service_type.as_str().to_owned()),
        internal_load_balancer: inference
            && c.inference.internal_load_balancer
            && c.inference.router_service_type != amlc::config::ServiceType::NodePort,
        // Seed resource table: azureml-fe has 1 replica in test, 3 in production.
        router_replicas: if c.profile() == Profile::Production {
            3
        } else {
            1
        },
        node_selector: c.node_selector.clone(),
    }
}

#[test]
fn arm_settings_and_the_config_describe_the_same_extension() {
    for case in cases() {
        let v = load(&case);
        let read = arm::read_back(&arm::settings(&v.config));
        assert_eq!(read, from_config(&v.config), "{}", name(&case));
    }
}

// The observed `az k8s-extension show` key list is asserted once, beside the mapping table
// (`arm::settings` unit test `reproduces_the_observed_cli_result_on_aks`); its golden case
// `golden-arm/aks-observed-cli` pins the whole template byte for byte in `golden_templates_match`.

// ---------------------------------------------------------------- extraSettings and target checks

/// The diagnostics `amlc validate` reports for a config it rejects.
fn rejected(yaml: &str) -> Vec<amlc::diagnostic::Diagnostic> {
    let source = Source::new("amlc.yaml", Arc::<str>::from(yaml));
    validate::validate(&source, &validate::NoFiles { now_unix: 0 }).expect_err("invalid config")
}

fn validated(yaml: &str) -> Validated {
    let source = Source::new("amlc.yaml", Arc::<str>::from(yaml));
    validate::validate(&source, &validate::NoFiles { now_unix: 0 }).expect("valid config")
}

const BASE: &str = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: aks\n  name: c\n  resourceGroup: rg\n";

#[test]
fn a_mis_cased_setting_is_rejected_with_a_suggestion_at_its_key() {
    // Caught by validation itself, so `amlc validate` reports it for every target.
    let d = rejected(&format!(
        "{BASE}arm:\n  extraSettings:\n    InferenceRouterHA: \"False\"\n"
    ));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, "amlc::arm::unknown-setting");
    assert!(
        d[0].help
            .as_deref()
            .unwrap()
            .contains("`inferenceRouterHA`")
    );
    assert_eq!(d[0].location().unwrap(), "amlc.yaml:9:5");
}

#[test]
fn a_setting_amlc_derives_is_rejected_with_the_field_to_set() {
    let d = rejected(&format!(
        "{BASE}arm:\n  extraSettings:\n    installVolcano: \"False\"\n    nodeSelector.pool: ml\n    domain: x\n    scoringFe.sslKey: abc\n    bogus: x\n"
    ));
    let got: Vec<(&str, u32)> = d
        .iter()
        .map(|d| (d.code, d.primary.as_ref().unwrap().span.line as u32))
        .collect();
    assert_eq!(
        got,
        [
            ("amlc::arm::derived-setting", 9),
            ("amlc::arm::derived-setting", 10),
            ("amlc::arm::derived-setting", 11),
            ("amlc::arm::protected-setting", 12),
            ("amlc::arm::unknown-setting", 13),
        ]
    );
    assert!(d[0].help.as_deref().unwrap().contains("training.volcano"));
    assert!(d[1].help.as_deref().unwrap().contains("nodeSelector"));
    // The protected value itself is never echoed.
    assert!(!d.iter().any(|d| d.message.contains("abc")));
}

#[test]
fn the_arm_target_needs_cluster_name_and_resource_group() {
    let v = validated("apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: arc\n");
    let d = arm::template(&v).unwrap_err();
    let msgs: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(d.len(), 2, "{msgs:?}");
    assert!(msgs[0].contains("cluster.name") && msgs[1].contains("cluster.resourceGroup"));
    assert!(d.iter().all(|d| d.location().unwrap() == "amlc.yaml:3:1"));
}

/// Facts sheet, "The CLI, measured": the refusals of `az k8s-extension create` are validation
/// errors here, each located in the config (exit 2 from every command).
#[test]
fn the_clis_refusals_are_validation_errors() {
    let cases = [
        (
            "nothing enabled",
            "training:\n  enabled: false\n",
            "amlc::rule::nothing-enabled",
            "amlc.yaml:8:12",
        ),
        (
            "HTTPS without certificate or secret",
            "inference:\n  enabled: true\n",
            "amlc::rule::inference-needs-ssl",
            "amlc.yaml:7:1",
        ),
        (
            "sslSecret without sslCname",
            "inference:\n  enabled: true\n  ssl:\n    secretName: fe-tls\n",
            "amlc::rule::ssl-needs-cname",
            "amlc.yaml:9:3",
        ),
        (
            "nodePort with internalLoadBalancerProvider",
            "inference:\n  enabled: true\n  allowInsecureConnections: true\n  routerServiceType: NodePort\n  internalLoadBalancer: true\n",
            "amlc::rule::internal-lb-needs-loadbalancer",
            "amlc.yaml:11:25",
        ),
        (
            "a pinned version with auto-upgrade",
            "extension:\n  version: \"1.1.35\"\n  autoUpgradeMinorVersion: true\n",
            "amlc::rule::version-with-auto-upgrade",
            "amlc.yaml:8:12",
        ),
    ];
    for (what, tail, code, at) in cases {
        let d = rejected(&format!("{BASE}{tail}"));
        let found: Vec<&str> = d.iter().map(|d| d.code).collect();
        let hit = d
            .iter()
            .find(|d| d.code == code)
            .unwrap_or_else(|| panic!("{what}: expected {code}, got {found:?}"));
        assert_eq!(hit.location().unwrap(), at, "{what}");
        assert!(hit.help.is_some(), "{what}: no fix offered");
    }
}

/// CLI measured: the CLI sends no identity on AKS and a system-assigned one on Arc-connected
/// clusters (arc, aro, ocp).
#[test]
fn no_identity_on_aks_a_system_assigned_one_on_arc_connected_clusters() {
    for (ty, want) in [
        ("aks", None),
        ("arc", Some("SystemAssigned")),
        ("aro", Some("SystemAssigned")),
        ("ocp", Some("SystemAssigned")),
    ] {
        let v = validated(&format!(
            "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: {ty}\n  name: c\n  resourceGroup: rg\n"
        ));
        let t: Value = serde_json::from_str(&arm::template(&v).unwrap().template).unwrap();
        assert_eq!(
            extension(&t)
                .get("identity")
                .map(|i| i["type"].as_str().unwrap()),
            want,
            "{ty}"
        );
    }
}

/// CLI measured: what the CLI writes itself is its own lower-case literal; what the user
/// passes (a config field) goes through as the docs spell it.
#[test]
fn derived_booleans_are_the_clis_lower_case_literals() {
    let v = validated(
        "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: ocp\n  name: c\n  resourceGroup: rg\n  nodeCount: 2\ninference:\n  enabled: true\n  allowInsecureConnections: true\n  routerServiceType: NodePort\n",
    );
    let s = arm::configuration_settings(&v.config);
    for key in [
        "relayserver.enabled",
        "nginxIngress.enabled",
        "servicebus.enabled",
        "openshift",
        "inferenceRouterHA",
    ] {
        assert!(
            matches!(s[key].as_str(), "true" | "false"),
            "{key}: {}",
            s[key]
        );
    }
    for key in [
        "enableTraining",
        "enableInference",
        "allowInsecureConnections",
        "scoringFe.serviceType.nodePort",
    ] {
        assert!(
            matches!(s[key].as_str(), "True" | "False"),
            "{key}: {}",
            s[key]
        );
    }
}

/// CLI measured: the CLI also sends the local PEM paths as protected settings; amlc sends
/// only the base64 of the files, as the CLI does beside them.
#[test]
fn local_pem_paths_are_never_sent() {
    let v = load(&root().join("golden-arm/https-files"));
    let ps = arm::configuration_protected_settings(&v.config);
    let keys: Vec<&str> = ps.keys().map(String::as_str).collect();
    assert_eq!(keys, ["scoringFe.sslCert", "scoringFe.sslKey"]);
    let t = arm::template(&v).unwrap().template;
    let ssl = v.config.inference.ssl.as_ref().unwrap();
    assert!(!t.contains("sslCertPemFile") && !t.contains("sslKeyPemFile"));
    assert!(!t.contains(ssl.cert_file.as_deref().unwrap()));
    assert!(!t.contains(ssl.key_file.as_deref().unwrap()));
}

/// Auto-upgrade without a written version is what the CLI does by default: no `version`.
#[test]
fn auto_upgrade_without_a_pinned_version_sends_no_version() {
    let v = validated(&format!(
        "{BASE}extension:\n  autoUpgradeMinorVersion: true\n"
    ));
    let t: Value = serde_json::from_str(&arm::template(&v).unwrap().template).unwrap();
    let props = &extension(&t)["properties"];
    assert_eq!(props["autoUpgradeMinorVersion"], true);
    assert!(props.get("version").is_none());
}

#[test]
fn pass_through_settings_are_kept() {
    let v = validated(&format!(
        "{BASE}arm:\n  extraSettings:\n    isAKSMigration: \"true\"\n"
    ));
    let out = arm::template(&v).unwrap();
    assert!(out.template.contains("\"isAKSMigration\": \"true\""));
}

#[test]
fn docs_list_every_setting_amlc_emits() {
    let doc = std::fs::read_to_string(root().join("docs/arm.md")).unwrap();
    for row in amlc::settings::ROWS
        .iter()
        .chain(amlc::settings::PROTECTED_ROWS)
    {
        if matches!(row.emit, amlc::settings::Emit::Never) {
            continue;
        }
        let key = if row.key.ends_with('.') {
            format!("`{}KEY`", row.key)
        } else {
            format!("`{}`", row.key)
        };
        assert!(doc.contains(&key), "docs/arm.md does not mention {key}");
    }
}

// ------------------------------------------------- the ARM settings and the rendered YAML agree

/// The extension as the rendered YAML shows it: which workloads exist, the azureml-fe
/// Service's type, the router's replicas and the extension pods' nodeSelector.
fn from_rendered(objects: &[amlc::manifest::Manifest], name: &str) -> arm::Readback {
    let find = |kind: &str, n: &str| {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == n)
    };
    let has = |kind: &str, n: &str| find(kind, n).is_some();
    // azureml-fe-v2 from 1.1.5 ("Updated inference azureml-fe to v2"); azureml-fe before.
    let fe = find("Deployment", "azureml-fe-v2").or_else(|| find("Deployment", "azureml-fe"));
    let service = find("Service", "azureml-fe");
    // Every extension workload carries the same nodeSelector; collect them all to prove it.
    let selectors: std::collections::BTreeSet<String> = objects
        .iter()
        .filter(|o| matches!(o["kind"].as_str(), Some("Deployment" | "DaemonSet")))
        .map(|o| o["spec"]["template"]["spec"]["nodeSelector"].to_string())
        .collect();
    assert!(
        selectors.len() <= 1,
        "workloads disagree on nodeSelector: {selectors:?}"
    );
    let node_selector = objects
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .and_then(|o| o["spec"]["template"]["spec"]["nodeSelector"].as_object())
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    arm::Readback {
        training: has("Deployment", "aml-operator"),
        inference: fe.is_some(),
        volcano: has("Deployment", "volcano-scheduler"),
        prometheus_operator: has("Deployment", &format!("{name}-prometheus-operator")),
        dcgm_exporter: has("DaemonSet", &format!("{name}-dcgm-exporter")),
        nvidia_device_plugin: has("DaemonSet", "nvidia-device-plugin-daemonset"),
        nginx_ingress: has("Deployment", "azureml-ingress-nginx-controller"),
        relay: has("Deployment", "relayserver"),
        service_type: service.map(|s| s["spec"]["type"].as_str().unwrap().to_owned()),
        internal_load_balancer: service.is_some_and(|s| {
            s["metadata"]["annotations"]["service.beta.kubernetes.io/azure-load-balancer-internal"]
                == "true"
        }),
        router_replicas: fe.map_or(0, |d| d["spec"]["replicas"].as_u64().unwrap() as u32),
        node_selector,
    }
}

/// The ARM settings' view, with the fields that mean nothing for a disabled feature
/// cleared the way the YAML target shows them (no workload, nothing to compare).
fn from_settings(v: &Validated) -> arm::Readback {
    let mut r = arm::read_back(&arm::settings(&v.config));
    // Volcano arrived in 1.1.5 (release note); older extensions ignore installVolcano.
    let releases = amlc::releases::Releases::embedded();
    r.volcano &= r.training && releases.is_on("volcano", &v.config.extension.version);
    // The bundled ingress-nginx fronts inference only (DESIGN.md "Required semantics").
    r.nginx_ingress &= r.inference;
    if !r.inference {
        r.router_replicas = 0;
        r.service_type = None;
    }
    r
}

fn all_configs() -> Vec<PathBuf> {
    let mut v = cases();
    let golden: Vec<PathBuf> = std::fs::read_dir(root().join("golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("amlc.yaml").is_file() && !p.join("args").exists())
        .collect();
    v.extend(golden);
    v.sort();
    v
}

#[test]
fn arm_settings_and_the_rendered_yaml_describe_the_same_extension() {
    let catalog = amlc::catalog::Catalog::embedded().unwrap();
    let mut compared = 0;
    for case in all_configs() {
        let text = std::fs::read_to_string(case.join("amlc.yaml")).unwrap();
        let source = Source::new("amlc.yaml", Arc::<str>::from(text));
        let host = amlc_test_host(&case);
        let Ok(v) = validate::validate(&source, &host) else {
            continue;
        };
        let built = amlc::build(&v, &catalog).expect("valid configs build");
        assert_eq!(
            from_settings(&v),
            from_rendered(&built.objects, v.config.name()),
            "{}",
            case.display()
        );
        compared += 1;
    }
    assert!(compared >= 30, "only {compared} configs compared");
}

/// Reads files a config names relative to its case folder.
fn amlc_test_host(case: &Path) -> impl validate::Host {
    struct CaseFiles(PathBuf);
    impl validate::Host for CaseFiles {
        fn read(&self, path: &str) -> Result<Vec<u8>, String> {
            std::fs::read(self.0.join(path)).map_err(|e| e.to_string())
        }
        fn now_unix(&self) -> i64 {
            0
        }
    }
    CaseFiles(case.to_path_buf())
}

/// One HTTPS rule for both targets: azureml-fe serves HTTPS exactly when `inference.ssl` is
/// given, and the ARM target then sends the TLS settings, whatever allowInsecureConnections
/// says (which only keeps HTTP open beside it).
#[test]
fn https_is_the_same_in_the_yaml_and_the_arm_target() {
    let catalog = amlc::catalog::Catalog::embedded().unwrap();
    let ssl = "  ssl: {cname: ml.contoso.com, secretName: fe-tls}\n";
    for (insecure, with_ssl) in [(true, true), (false, true), (true, false)] {
        let text = format!(
            "{BASE}inference:\n  enabled: true\n  allowInsecureConnections: {insecure}\n{}",
            if with_ssl { ssl } else { "" }
        );
        let v = validated(&text);
        let built = amlc::build(&v, &catalog).unwrap();
        let config_map = built
            .objects
            .iter()
            .map(|m| m.value())
            .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "azureml-fe-config")
            .expect("azureml-fe-config");
        let yaml_https = config_map["data"]["config.yaml"]
            .as_str()
            .unwrap()
            .contains("https: true");
        let settings = arm::settings(&v.config);
        let arm_https = settings.contains_key("sslCname") && settings.contains_key("sslSecret");
        assert_eq!(yaml_https, with_ssl, "{text}");
        assert_eq!(arm_https, with_ssl, "{text}");
    }
}
