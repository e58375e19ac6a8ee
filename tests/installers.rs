//! The three installers of the real extension carry the same settings: for every golden
//! config (golden-arm/, golden-terraform/, golden-aso/ and the YAML target's golden/), the ARM
//! template's `configurationSettings`, evaluated the way ARM evaluates them for one fixed
//! cluster, equal the Terraform module's `configuration_settings`, evaluated with hcl-rs for the
//! same cluster, and the Azure Service Operator object's `configurationSettings`; the protected
//! settings carry the same keys (and, for ARM and Terraform, the same values).
//!
//! The one designed difference: ASO cannot create Azure Relay, so on Arc-connected clusters
//! it is given the relay's connection string and sends no `relayserver.hybridConnection*`
//! keys, exactly as `az k8s-extension create` does when given `relayServerConnectionString`.
//!
//! The fixed cluster: the config's name, resource group, subscription and region where it has
//! them, else stand-ins; Azure answers the region with capitals (`Westeurope`), so every
//! target must lower-case it as the CLI does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use amlc::diagnostic::Source;
use amlc::validate::{self, Validated};
use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};
use serde_json::Value;

use super::terraform::{CaseHost, cases_in};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cluster every config is evaluated for.
#[derive(Debug, Clone)]
struct FixedCluster {
    subscription: String,
    resource_group: String,
    name: String,
    /// As the config says it (lower case).
    region: String,
    /// As Azure returns it from the cluster resource.
    region_from_azure: String,
    resource_type: &'static str,
}

const RELAY_NAMESPACE: &str = "amlrelay-fixed";
const GIVEN_RELAY_CS: &str = "given-relay-connection-string";
const CERT: &str = "CERT-BASE64";
const KEY: &str = "KEY-BASE64";

impl FixedCluster {
    fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{}/{}",
            self.subscription, self.resource_group, self.resource_type, self.name
        )
    }
}

/// Puts the fixed cluster into a validated config, filling what the config leaves out.
fn fix(mut v: Validated) -> (Validated, FixedCluster) {
    let c = &mut v.config.cluster;
    c.name.get_or_insert_with(|| "fixed-cluster".into());
    c.resource_group.get_or_insert_with(|| "fixed-rg".into());
    c.subscription_id
        .get_or_insert_with(|| "00000000-0000-0000-0000-0000000000aa".into());
    c.location.get_or_insert_with(|| "westeurope".into());
    let region = c.location.clone().unwrap();
    let mut chars = region.chars();
    let region_from_azure: String = chars
        .next()
        .map(|f| f.to_uppercase().chain(chars).collect())
        .unwrap();
    let fixed = FixedCluster {
        subscription: c.subscription_id.clone().unwrap(),
        resource_group: c.resource_group.clone().unwrap(),
        name: c.name.clone().unwrap(),
        region,
        region_from_azure,
        resource_type: amlc::arm::cluster_resource_type(&v.config),
    };
    (v, fixed)
}

// ---------------------------------------------------------------- ARM, evaluated

#[derive(Debug, Clone, PartialEq)]
enum ArmValue {
    Str(String),
    Obj(BTreeMap<String, ArmValue>),
}

impl ArmValue {
    fn str(self) -> String {
        match self {
            ArmValue::Str(s) => s,
            ArmValue::Obj(o) => panic!("a string expected, got {o:?}"),
        }
    }
}

/// Evaluates the subset of ARM template expressions amlc writes: string literals, function
/// calls and property access.
struct ArmEval<'a> {
    params: &'a BTreeMap<String, String>,
    cluster: &'a FixedCluster,
}

impl ArmEval<'_> {
    fn string(&self, s: &str) -> String {
        if let Some(rest) = s.strip_prefix("[[") {
            return format!("[{rest}");
        }
        match s.strip_prefix('[').and_then(|e| e.strip_suffix(']')) {
            Some(expr) => {
                let mut p = Parser { s: expr, i: 0 };
                let v = self.expr(&mut p);
                assert_eq!(p.i, expr.len(), "trailing text in `{expr}`");
                v.str()
            }
            None => s.to_owned(),
        }
    }

    fn expr(&self, p: &mut Parser) -> ArmValue {
        p.ws();
        let mut v = if p.peek() == Some('\'') {
            ArmValue::Str(p.literal())
        } else {
            let name = p.ident();
            p.expect('(');
            let mut args = Vec::new();
            p.ws();
            if p.peek() != Some(')') {
                loop {
                    args.push(self.expr(p));
                    p.ws();
                    if p.peek() == Some(',') {
                        p.i += 1;
                    } else {
                        break;
                    }
                }
            }
            p.expect(')');
            self.call(&name, args)
        };
        while p.peek() == Some('.') {
            p.i += 1;
            let prop = p.ident();
            v = match v {
                ArmValue::Obj(mut o) => o
                    .remove(&prop)
                    .unwrap_or_else(|| panic!("no property {prop}")),
                s => panic!("property {prop} of a string {s:?}"),
            };
        }
        v
    }

    fn call(&self, name: &str, args: Vec<ArmValue>) -> ArmValue {
        let strs = || -> Vec<String> { args.iter().cloned().map(ArmValue::str).collect() };
        let c = self.cluster;
        match name {
            "parameters" => {
                let p = args[0].clone().str();
                ArmValue::Str(
                    self.params
                        .get(&p)
                        .unwrap_or_else(|| panic!("parameter {p} has no value"))
                        .clone(),
                )
            }
            "resourceId" => {
                let a = strs();
                let t = a
                    .iter()
                    .position(|s| s.contains('/'))
                    .expect("a resource type");
                // A leading argument before the type is the resource group.
                let rg = if t == 1 { &a[0] } else { &c.resource_group };
                let (ns, types) = a[t].split_once('/').unwrap();
                let types: Vec<&str> = types.split('/').collect();
                let names = &a[t + 1..];
                assert_eq!(types.len(), names.len(), "resourceId({a:?})");
                let mut id = format!(
                    "/subscriptions/{}/resourceGroups/{rg}/providers/{ns}",
                    c.subscription
                );
                for (ty, n) in types.iter().zip(names) {
                    id.push_str(&format!("/{ty}/{n}"));
                }
                ArmValue::Str(id)
            }
            "reference" => {
                let a = strs();
                assert_eq!(a[0], c.id(), "only the cluster is read with reference()");
                assert_eq!(a.get(2).map(String::as_str), Some("Full"));
                ArmValue::Obj(BTreeMap::from([(
                    "location".to_owned(),
                    ArmValue::Str(c.region_from_azure.clone()),
                )]))
            }
            "listKeys" => ArmValue::Obj(BTreeMap::from([(
                "primaryConnectionString".to_owned(),
                ArmValue::Str(format!("connection-string-of:{}", strs()[0])),
            )])),
            "subscription" => ArmValue::Obj(BTreeMap::from([(
                "subscriptionId".to_owned(),
                ArmValue::Str(c.subscription.clone()),
            )])),
            "toLower" => ArmValue::Str(strs()[0].to_lowercase()),
            "concat" => ArmValue::Str(strs().concat()),
            other => panic!("ARM function {other} is not evaluated by this test"),
        }
    }
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }
    fn ws(&mut self) {
        while self.peek() == Some(' ') {
            self.i += 1;
        }
    }
    fn expect(&mut self, c: char) {
        self.ws();
        assert_eq!(
            self.peek(),
            Some(c),
            "`{c}` expected at {} in {}",
            self.i,
            self.s
        );
        self.i += 1;
    }
    fn ident(&mut self) -> String {
        self.ws();
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.i += 1;
        }
        assert!(
            self.i > start,
            "identifier expected at {} in {}",
            start,
            self.s
        );
        self.s[start..self.i].to_owned()
    }
    fn literal(&mut self) -> String {
        self.expect('\'');
        let mut out = String::new();
        loop {
            let c = self.peek().expect("unterminated literal");
            self.i += c.len_utf8();
            if c == '\'' {
                if self.peek() == Some('\'') {
                    self.i += 1;
                    out.push('\'');
                } else {
                    return out;
                }
            } else {
                out.push(c);
            }
        }
    }
}

struct Evaluated {
    settings: BTreeMap<String, String>,
    protected: BTreeMap<String, String>,
}

fn arm(v: &Validated, cluster: &FixedCluster) -> Evaluated {
    let out = amlc::arm::template(v).expect("the ARM target builds");
    let t: Value = serde_json::from_str(&out.template).unwrap();
    let mut params = BTreeMap::new();
    for (k, decl) in t["parameters"].as_object().unwrap() {
        let value = match decl["defaultValue"].as_str() {
            Some(d) if !d.starts_with('[') => d.to_owned(),
            _ => match k.as_str() {
                "relayNamespaceName" => RELAY_NAMESPACE.to_owned(),
                "relayConnectionString" => GIVEN_RELAY_CS.to_owned(),
                "sslCertPemBase64" => CERT.to_owned(),
                "sslKeyPemBase64" => KEY.to_owned(),
                other => panic!("no value for parameter {other}"),
            },
        };
        params.insert(k.clone(), value);
    }
    let eval = ArmEval {
        params: &params,
        cluster,
    };
    let ext = t["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Microsoft.KubernetesConfiguration/extensions")
        .unwrap();
    assert_eq!(eval.string(ext["scope"].as_str().unwrap()), cluster.id());
    let map = |m: &Value| -> BTreeMap<String, String> {
        m.as_object()
            .unwrap()
            .iter()
            .map(|(k, s)| (k.clone(), eval.string(s.as_str().unwrap())))
            .collect()
    };
    Evaluated {
        settings: map(&ext["properties"]["configurationSettings"]),
        protected: map(&ext["properties"]["configurationProtectedSettings"]),
    }
}

// ---------------------------------------------------------------- Terraform, evaluated

fn lower(args: FuncArgs) -> Result<hcl::Value, String> {
    Ok(hcl::Value::String(
        args[0].as_str().ok_or("lower: a string")?.to_lowercase(),
    ))
}

fn coalesce(args: FuncArgs) -> Result<hcl::Value, String> {
    args.iter()
        .find(|v| !v.is_null() && v.as_str() != Some(""))
        .cloned()
        .ok_or_else(|| "coalesce: no non-null argument".into())
}

fn substr(args: FuncArgs) -> Result<hcl::Value, String> {
    let s = args[0].as_str().ok_or("substr: a string")?;
    let from = args[1].as_u64().ok_or("substr: offset")? as usize;
    let len = args[2].as_u64().ok_or("substr: length")? as usize;
    Ok(hcl::Value::String(s.chars().skip(from).take(len).collect()))
}

/// The value is never used (a relay namespace name is given); Terraform evaluates every
/// argument, so the function must exist.
fn sha1(_: FuncArgs) -> Result<hcl::Value, String> {
    Ok(hcl::Value::String(
        "da39a3ee5e6b4b0d3255bfef95601890afd80709".into(),
    ))
}

fn obj(pairs: impl IntoIterator<Item = (String, hcl::Value)>) -> hcl::Value {
    hcl::Value::Object(pairs.into_iter().collect())
}

fn s(v: impl Into<String>) -> hcl::Value {
    hcl::Value::String(v.into())
}

fn attr_value(body: &hcl::Body, key: &str, ctx: &Context) -> hcl::Value {
    body.attributes()
        .find(|a| a.key() == key)
        .unwrap_or_else(|| panic!("no attribute {key}"))
        .expr()
        .evaluate(ctx)
        .unwrap_or_else(|e| panic!("{key}: {e}"))
}

fn string_map(v: hcl::Value) -> BTreeMap<String, String> {
    match v {
        hcl::Value::Object(m) => m
            .into_iter()
            .map(|(k, v)| match v {
                hcl::Value::String(s) => (k, s),
                other => panic!("{k} is not a string: {other:?}"),
            })
            .collect(),
        other => panic!("an object expected: {other:?}"),
    }
}

fn terraform(v: &Validated, cluster: &FixedCluster) -> Evaluated {
    let out = amlc::terraform::module(v).expect("the terraform target builds");
    let file = |n: &str| -> hcl::Body {
        hcl::parse(&out.files.iter().find(|(f, _)| *f == n).unwrap().1).unwrap()
    };
    let mut vars = hcl::Map::new();
    for b in file("variables.tf").blocks() {
        let name = b.labels()[0].as_str().to_owned();
        let given = match name.as_str() {
            "relay_namespace_name" => Some(s(RELAY_NAMESPACE)),
            "relay_connection_string" => Some(s(GIVEN_RELAY_CS)),
            "ssl_cert_pem_base64" => Some(s(CERT)),
            "ssl_key_pem_base64" => Some(s(KEY)),
            _ => None,
        };
        let value = given.unwrap_or_else(|| attr_value(b.body(), "default", &Context::new()));
        vars.insert(name, value);
    }
    let mut ctx = Context::new();
    let string_fn = |f| FuncDef::builder().param(ParamType::String).build(f);
    ctx.declare_func("lower", string_fn(lower));
    ctx.declare_func("sha1", string_fn(sha1));
    ctx.declare_func(
        "coalesce",
        FuncDef::builder()
            .variadic_param(ParamType::Any)
            .build(coalesce),
    );
    ctx.declare_func(
        "substr",
        FuncDef::builder()
            .param(ParamType::String)
            .param(ParamType::Number)
            .param(ParamType::Number)
            .build(substr),
    );
    ctx.declare_var("var", hcl::Value::Object(vars.clone()));
    let main = file("main.tf");
    // The data source answers for the fixed cluster, if the module asks for it by name.
    let data = main
        .blocks()
        .find(|b| b.identifier() == "data")
        .expect("the cluster data source");
    assert_eq!(
        attr_value(data.body(), "name", &ctx),
        s(&cluster.name),
        "data source name"
    );
    assert_eq!(
        attr_value(data.body(), "resource_group_name", &ctx),
        s(&cluster.resource_group)
    );
    assert_eq!(
        attr_value(data.body(), "type", &ctx),
        s(cluster.resource_type)
    );
    ctx.declare_var(
        "data",
        obj([(
            "azurerm_resources".into(),
            obj([(
                "cluster".into(),
                obj([(
                    "resources".into(),
                    hcl::Value::Array(vec![obj([
                        ("id".into(), s(cluster.id())),
                        ("name".into(), s(&cluster.name)),
                        ("type".into(), s(cluster.resource_type)),
                        ("location".into(), s(&cluster.region_from_azure)),
                    ])]),
                )]),
            )]),
        )]),
    );
    let mut locals = hcl::Map::new();
    for block in main.blocks().filter(|b| b.identifier() == "locals") {
        for a in block.body().attributes() {
            ctx.declare_var("local", hcl::Value::Object(locals.clone()));
            let value = a
                .expr()
                .evaluate(&ctx)
                .unwrap_or_else(|e| panic!("local.{}: {e}", a.key()));
            locals.insert(a.key().to_owned(), value);
        }
    }
    ctx.declare_var("local", hcl::Value::Object(locals));
    // Relay resources, in the order written: each one's id from its own evaluated arguments,
    // as Azure assigns it, so the extension's references are checked end to end.
    let relay = format!(
        "/subscriptions/{}/resourceGroups/{{rg}}/providers/Microsoft.Relay/namespaces",
        cluster.subscription
    );
    for b in main.blocks().filter(|b| b.identifier() == "resource") {
        let ty = b.labels()[0].as_str().to_owned();
        let local_name = b.labels()[1].as_str().to_owned();
        let arg = |k: &str| attr_value(b.body(), k, &ctx).as_str().unwrap().to_owned();
        let attrs = match ty.as_str() {
            "azurerm_relay_namespace" => {
                let rg = arg("resource_group_name");
                vec![
                    ("name", arg("name")),
                    (
                        "id",
                        format!("{}/{}", relay.replace("{rg}", &rg), arg("name")),
                    ),
                ]
            }
            "azurerm_relay_hybrid_connection" => {
                let rg = arg("resource_group_name");
                vec![
                    ("name", arg("name")),
                    (
                        "id",
                        format!(
                            "{}/{}/hybridConnections/{}",
                            relay.replace("{rg}", &rg),
                            arg("relay_namespace_name"),
                            arg("name")
                        ),
                    ),
                ]
            }
            "azurerm_relay_hybrid_connection_authorization_rule" => {
                let rg = arg("resource_group_name");
                let id = format!(
                    "{}/{}/hybridConnections/{}/authorizationRules/{}",
                    relay.replace("{rg}", &rg),
                    arg("namespace_name"),
                    arg("hybrid_connection_name"),
                    arg("name")
                );
                vec![
                    (
                        "primary_connection_string",
                        format!("connection-string-of:{id}"),
                    ),
                    ("id", id),
                ]
            }
            _ => continue,
        };
        ctx.declare_var(
            ty,
            obj([(
                local_name,
                obj(attrs.into_iter().map(|(k, v)| (k.to_owned(), s(v)))),
            )]),
        );
    }
    let ext = main
        .blocks()
        .find(|b| {
            b.identifier() == "resource" && b.labels()[0].as_str().ends_with("cluster_extension")
        })
        .unwrap();
    assert_eq!(attr_value(ext.body(), "cluster_id", &ctx), s(cluster.id()));
    let has = |k: &str| ext.body().attributes().any(|a| a.key() == k);
    Evaluated {
        settings: string_map(attr_value(ext.body(), "configuration_settings", &ctx)),
        protected: if has("configuration_protected_settings") {
            string_map(attr_value(
                ext.body(),
                "configuration_protected_settings",
                &ctx,
            ))
        } else {
            BTreeMap::new()
        },
    }
}

// ---------------------------------------------------------------- ASO

/// Settings, and the keys of the Secret the note asks for (its values are the user's).
fn aso(v: &Validated) -> (BTreeMap<String, String>, BTreeSet<String>) {
    let out = amlc::aso::extension(v).expect("the aso target builds");
    let o: Value = serde_yaml_ng::from_str(&out.text).unwrap();
    let settings = o["spec"]["configurationSettings"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let keys = out
        .secret_note
        .as_deref()
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("--from-literal="))
        .map(|l| l.split_once('=').unwrap().0.to_owned())
        .collect();
    (settings, keys)
}

// ---------------------------------------------------------------- the comparison

/// Every golden config that validates, read relative to its own folder.
fn golden_configs() -> Vec<(PathBuf, Validated)> {
    let mut dirs: Vec<PathBuf> = ["golden-arm", "golden-terraform", "golden-aso"]
        .into_iter()
        .flat_map(cases_in)
        .collect();
    dirs.extend(
        cases_in("golden")
            .into_iter()
            .filter(|p| !p.join("args").exists()),
    );
    dirs.into_iter()
        .filter_map(|case| {
            let text = std::fs::read_to_string(case.join("amlc.yaml")).unwrap();
            let source = Source::new("amlc.yaml", Arc::<str>::from(text));
            validate::validate(&source, &CaseHost(case.clone()))
                .ok()
                .map(|v| (case, v))
        })
        .collect()
}

const CREATED_RELAY_KEYS: [&str; 2] = [
    "relayserver.hybridConnectionName",
    "relayserver.hybridConnectionResourceID",
];

#[test]
fn arm_terraform_and_aso_carry_the_same_settings_for_every_golden_config() {
    let configs = golden_configs();
    assert!(configs.len() >= 40, "only {} configs", configs.len());
    let mut arc_relay_seen = false;
    for (case, v) in configs {
        let shown = case.strip_prefix(root()).unwrap().display().to_string();
        let (v, cluster) = fix(v);
        let a = arm(&v, &cluster);
        let t = terraform(&v, &cluster);
        let (aso_settings, aso_secret_keys) = aso(&v);

        assert_eq!(
            a.settings, t.settings,
            "{shown}: ARM and Terraform settings"
        );
        assert_eq!(
            a.protected, t.protected,
            "{shown}: ARM and Terraform protected settings"
        );

        // Values are concrete strings: every expression was evaluated.
        for (k, val) in &a.settings {
            assert!(
                !val.starts_with('[') || v.config.arm.extra_settings.contains_key(k),
                "{shown}: {k}"
            );
        }
        assert_eq!(a.settings["location"], cluster.region, "{shown}");
        assert_eq!(a.settings["clusterId"], cluster.id(), "{shown}");

        let mut expected_aso = a.settings.clone();
        if amlc::arm::creates_relay(&v.config) {
            arc_relay_seen = true;
            for k in CREATED_RELAY_KEYS {
                assert!(expected_aso.remove(k).is_some(), "{shown}: {k}");
            }
        }
        assert_eq!(aso_settings, expected_aso, "{shown}: ARM and ASO settings");
        let protected_keys: BTreeSet<String> = a.protected.keys().cloned().collect();
        assert_eq!(aso_secret_keys, protected_keys, "{shown}: ASO Secret keys");
    }
    assert!(arc_relay_seen, "no config creates the relay");
}

/// The evaluator itself: a wrong region or id would not go unnoticed.
#[test]
fn the_arm_evaluator_reads_what_arm_would() {
    let cluster = FixedCluster {
        subscription: "s".into(),
        resource_group: "rg".into(),
        name: "c".into(),
        region: "eastus".into(),
        region_from_azure: "EastUS".into(),
        resource_type: "Microsoft.ContainerService/managedClusters",
    };
    let params = BTreeMap::from([
        ("clusterName".to_owned(), "c".to_owned()),
        ("clusterResourceGroup".to_owned(), "rg".to_owned()),
    ]);
    let e = ArmEval {
        params: &params,
        cluster: &cluster,
    };
    let id = "resourceId(parameters('clusterResourceGroup'), 'Microsoft.ContainerService/managedClusters', parameters('clusterName'))";
    assert_eq!(e.string(&format!("[{id}]")), cluster.id());
    assert_eq!(
        e.string(&format!(
            "[concat(toLower(reference({id}, '2022-11-01', 'Full').location), '.x')]"
        )),
        "eastus.x"
    );
    assert_eq!(e.string("[[literal]"), "[literal]");
    assert_eq!(e.string("['it''s']"), "it's");
}
