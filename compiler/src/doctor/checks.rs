//! The checks, pure functions of the config, its build and what was read. Each finding has
//! a stable code, the object it is about, what will fail, and the fix.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::read::{Read, Snapshot};
use super::{Finding, Severity};
use crate::build::Build;
use crate::config::{Config, Profile};
use crate::diff::quantity;
use crate::plan::{self, NAMESPACE, Replicas};
use crate::releases::Releases;
use crate::soundness::{self, Environment, NodeClass, NodeTaint, ObjectRef, schedule};

/// The objects the checks look up on the cluster: every target the render names but does
/// not create (a `default` ServiceAccount by its namespace), the compute namespace, and the
/// Arc agents' namespace on Arc-connected types.
pub fn lookups(config: &Config, objects: &[&Value]) -> Vec<ObjectRef> {
    let mut out: BTreeSet<ObjectRef> =
        soundness::check(objects.iter().copied(), &Environment::default())
            .dangling
            .into_iter()
            .map(|r| default_account_namespace(&r.to).unwrap_or(r.to))
            .collect();
    out.insert(ObjectRef::cluster(
        "Namespace",
        &config.cluster.compute_namespace,
    ));
    if config.cluster.cluster_type.is_arc_connected() {
        out.insert(ObjectRef::cluster("Namespace", ARC_NAMESPACE));
    }
    out.into_iter().collect()
}

const ARC_NAMESPACE: &str = "azure-arc";

fn default_account_namespace(r: &ObjectRef) -> Option<ObjectRef> {
    (r.kind == "ServiceAccount" && r.name == "default")
        .then(|| ObjectRef::cluster("Namespace", &r.namespace))
}

fn finding(
    code: &'static str,
    severity: Severity,
    object: impl Into<String>,
    message: impl Into<String>,
    help: impl Into<String>,
) -> Finding {
    Finding {
        code,
        severity,
        object: object.into(),
        message: message.into(),
        help: help.into(),
    }
}

fn skipped(what: &str, object: impl Into<String>, permission: &str) -> Finding {
    finding(
        "amlc::doctor::skipped",
        Severity::Skipped,
        object,
        format!("{what} was not checked: reading it is forbidden (403)"),
        format!("grant `{permission}` to the identity doctor runs as"),
    )
}

/// Every check, in a fixed order.
pub fn all(config: &Config, build: &Build, objects: &[&Value], snap: &Snapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    version(snap, &mut out);
    let nodes = live_nodes(snap, &mut out);
    references_and_scheduling(config, objects, snap, nodes.as_deref(), &mut out);
    if let Some(nodes) = &nodes {
        capacity(config, build, snap, nodes, &mut out);
        tainted_nodes(config, nodes, &mut out);
    }
    conflicts(config, objects, snap, &mut out);
    ingress_webhooks(config, objects, snap, &mut out);
    secret_keys(config, snap, &mut out);
    cluster_kind(config, snap, &mut out);
    out
}

/// The reference page's N-2 window, against the server's own version: the extension's
/// pre-install healthcheck refuses releases outside it.
fn version(snap: &Snapshot, out: &mut Vec<Finding>) {
    let git = match &snap.version {
        Read::Ok(v) => v,
        Read::Forbidden(p) => return out.push(skipped("the Kubernetes version", "/version", p)),
        Read::NotServed => return,
    };
    let window = &Releases::embedded().kubernetes;
    let minor = |s: &str| {
        s.trim_start_matches('v')
            .split('.')
            .nth(1)
            .and_then(|m| m.trim_end_matches('+').parse::<u32>().ok())
    };
    let (Some(have), Some(latest)) = (minor(git), minor(&window.latest_aks_minor)) else {
        return;
    };
    let oldest = latest.saturating_sub(2);
    if have < oldest {
        out.push(finding(
            "amlc::doctor::kubernetes-version",
            Severity::Error,
            "/version",
            format!("the cluster runs Kubernetes {git}, outside the extension's N-2 support window (1.{oldest} to 1.{latest})"),
            format!("upgrade the cluster to 1.{oldest} or later before installing (window as of {})", window.as_of),
        ));
    } else if have > latest {
        out.push(finding(
            "amlc::doctor::kubernetes-version",
            Severity::Warning,
            "/version",
            format!("the cluster runs Kubernetes {git}, newer than the newest release amlc knows (1.{latest})"),
            "support cannot be confirmed; check the extension's release notes",
        ));
    }
}

/// A live node, as the checks see it.
pub struct LiveNode {
    /// The node's name (the class's name says "node NAME" for the scheduling reasons).
    pub name: String,
    pub class: NodeClass,
    pub cordoned: bool,
    pub allocatable: Amount,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amount {
    pub cpu_millicores: i128,
    pub memory_mib: i128,
}

fn cpu(v: &Value) -> i128 {
    quantity_of(v, 1000, 1)
}

fn memory(v: &Value) -> i128 {
    quantity_of(v, 1, 1 << 20)
}

fn quantity_of(v: &Value, factor: i128, per: i128) -> i128 {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return 0,
    };
    quantity::parse(&text)
        .and_then(|q| q.ceil_scaled(factor, per))
        .unwrap_or(0)
}

fn live_nodes(snap: &Snapshot, out: &mut Vec<Finding>) -> Option<Vec<LiveNode>> {
    let nodes = match &snap.nodes {
        Read::Ok(n) => n,
        Read::Forbidden(p) => {
            out.push(skipped("scheduling, capacity and taints", "nodes", p));
            return None;
        }
        Read::NotServed => return None,
    };
    Some(
        nodes
            .iter()
            .map(|n| {
                let labels = n
                    .pointer("/metadata/labels")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                            .collect()
                    })
                    .unwrap_or_default();
                let taints = n
                    .pointer("/spec/taints")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|t| NodeTaint {
                        key: t["key"].as_str().unwrap_or_default().to_owned(),
                        value: t["value"].as_str().unwrap_or_default().to_owned(),
                        effect: t["effect"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect();
                LiveNode {
                    name: crate::object::name(n).to_owned(),
                    class: NodeClass {
                        name: format!("node {}", crate::object::name(n)),
                        labels,
                        taints,
                    },
                    cordoned: n.pointer("/spec/unschedulable") == Some(&json!(true)),
                    allocatable: Amount {
                        cpu_millicores: cpu(&n["status"]["allocatable"]["cpu"]),
                        memory_mib: memory(&n["status"]["allocatable"]["memory"]),
                    },
                }
            })
            .collect(),
    )
}

/// The soundness stage against the live cluster: what the render names must be rendered or
/// be there, and every pod template must have a live node that admits it.
fn references_and_scheduling(
    config: &Config,
    objects: &[&Value],
    snap: &Snapshot,
    nodes: Option<&[LiveNode]>,
    out: &mut Vec<Finding>,
) {
    let advice = soundness::environment(config, None).supplied;
    let mut env = Environment::default();
    for (r, read) in &snap.objects {
        match read {
            Read::Ok(Some(_)) => {
                env.given.insert(r.clone());
            }
            Read::Ok(None) | Read::NotServed => {}
            Read::Forbidden(p) => {
                // Unknown: count it as there, and say it was not checked.
                env.given.insert(r.clone());
                out.push(skipped(&format!("whether {r} exists"), r.to_string(), p));
            }
        }
    }
    // The checks below name the compute and Arc namespaces on their own.
    let named_apart = |r: &ObjectRef| {
        r.kind == "Namespace"
            && (r.name == config.cluster.compute_namespace || r.name == ARC_NAMESPACE)
    };
    if let Some(nodes) = nodes {
        env.nodes = nodes
            .iter()
            .filter(|n| !n.cordoned)
            .map(|n| n.class.clone())
            .collect();
    }
    let findings = soundness::check(objects.iter().copied(), &env);
    let mut missing: BTreeMap<ObjectRef, Vec<String>> = BTreeMap::new();
    for r in findings.dangling {
        let target = default_account_namespace(&r.to).unwrap_or(r.to.clone());
        missing.entry(target).or_default().push(r.from.to_string());
    }
    for (target, from) in missing {
        if named_apart(&target) {
            continue;
        }
        let help = advice.get(&target).cloned().unwrap_or_else(|| {
            "create it before installing, or change the config so nothing names it".into()
        });
        out.push(finding(
            "amlc::doctor::missing-object",
            Severity::Error,
            target.to_string(),
            format!(
                "{target} is not on the cluster, and {} needs it",
                from.join(", ")
            ),
            help,
        ));
    }
    for ns in [
        Some(config.cluster.compute_namespace.as_str()),
        config
            .cluster
            .cluster_type
            .is_arc_connected()
            .then_some(ARC_NAMESPACE),
    ]
    .into_iter()
    .flatten()
    {
        let r = ObjectRef::cluster("Namespace", ns);
        if snap.has(&r) == Some(false) {
            let (code, message, help) = if ns == ARC_NAMESPACE {
                (
                    "amlc::doctor::not-arc-connected",
                    format!("namespace {ns} of the Arc agents is missing: the cluster is not connected to Azure Arc"),
                    "connect it first: az connectedk8s connect --name CLUSTER --resource-group RESOURCE_GROUP".to_owned(),
                )
            } else {
                (
                    "amlc::doctor::missing-object",
                    format!(
                        "the compute namespace {ns} (cluster.computeNamespace) is not on the cluster: jobs would have nowhere to run"
                    ),
                    format!("kubectl create namespace {ns}"),
                )
            };
            out.push(finding(code, Severity::Error, r.to_string(), message, help));
        }
    }
    if nodes.is_some_and(|n| n.iter().all(|n| n.cordoned)) {
        out.push(finding(
            "amlc::doctor::unschedulable",
            Severity::Error,
            "nodes",
            "every node is cordoned: no pod can be scheduled",
            "uncordon nodes (kubectl uncordon NODE) before installing",
        ));
        return;
    }
    for u in findings.unschedulable {
        let mut reasons = u.reasons.clone();
        let more = reasons.len().saturating_sub(3);
        reasons.truncate(3);
        if more > 0 {
            reasons.push(format!("and {more} more nodes"));
        }
        out.push(finding(
            "amlc::doctor::unschedulable",
            Severity::Error,
            u.workload.to_string(),
            format!("no node admits its pods: {}", reasons.join("; ")),
            "the extension's pods tolerate only the amlarc overall and system taints and go only to nodes with every nodeSelector label: remove the other taints from those nodes (kubectl taint nodes NODE KEY-), label the nodes, or change nodeSelector",
        ));
    }
}

/// What pods already take of each node.
fn used_by_pods(snap: &Snapshot) -> Option<BTreeMap<String, Amount>> {
    let pods = snap.pods.ok()?;
    let mut used: BTreeMap<String, Amount> = BTreeMap::new();
    for p in pods {
        let phase = p
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("");
        let Some(node) = p.pointer("/spec/nodeName").and_then(Value::as_str) else {
            continue;
        };
        if matches!(phase, "Succeeded" | "Failed") {
            continue;
        }
        let entry = used.entry(node.to_owned()).or_default();
        for c in p
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            entry.cpu_millicores += cpu(&c["resources"]["requests"]["cpu"]);
            entry.memory_mib += memory(&c["resources"]["requests"]["memory"]);
        }
    }
    Some(used)
}

fn amount(a: crate::catalog::Amount) -> Amount {
    Amount {
        cpu_millicores: i128::from(a.cpu_millicores),
        memory_mib: i128::from(a.memory_mib),
    }
}

/// The plan's requests against the room on the nodes the extension's pods may use.
fn capacity(
    config: &Config,
    build: &Build,
    snap: &Snapshot,
    nodes: &[LiveNode],
    out: &mut Vec<Finding>,
) {
    let extension_pod = json!({
        "nodeSelector": config.node_selector,
        "tolerations": plan::system_tolerations(config),
    });
    let used = used_by_pods(snap);
    if let Read::Forbidden(p) = &snap.pods {
        out.push(skipped(
            "what running pods already take of the nodes",
            "pods",
            p,
        ));
    }
    let eligible: Vec<(&LiveNode, Amount)> = nodes
        .iter()
        .filter(|n| !n.cordoned && schedule::fits(&extension_pod, &n.class).is_ok())
        .map(|n| {
            let taken = used
                .as_ref()
                .and_then(|u| u.get(&n.name))
                .copied()
                .unwrap_or_default();
            let free = Amount {
                cpu_millicores: n.allocatable.cpu_millicores - taken.cpu_millicores,
                memory_mib: n.allocatable.memory_mib - taken.memory_mib,
            };
            (n, free)
        })
        .collect();
    if eligible.is_empty() {
        // The scheduling check has said why.
        return;
    }
    let mut requests = Amount::default();
    let mut limits = Amount::default();
    for w in build.plan.workloads() {
        if w.replicas == Replicas::PerNode {
            let per_pod = amount(w.per_pod.requests);
            for (n, free) in &eligible {
                if per_pod.cpu_millicores > free.cpu_millicores
                    || per_pod.memory_mib > free.memory_mib
                {
                    out.push(finding(
                        "amlc::doctor::capacity",
                        Severity::Error,
                        format!("DaemonSet {NAMESPACE}/{}", w.name),
                        format!(
                            "its pod requests {}m CPU and {}Mi memory, but {} has {}m and {}Mi free",
                            per_pod.cpu_millicores, per_pod.memory_mib, n.class.name, free.cpu_millicores.max(0), free.memory_mib.max(0)
                        ),
                        "free room on that node, or use larger nodes (amlc plan shows what the extension needs)",
                    ));
                }
            }
            continue;
        }
        let pods = i128::from(w.pods);
        requests.cpu_millicores += amount(w.per_pod.requests).cpu_millicores * pods;
        requests.memory_mib += amount(w.per_pod.requests).memory_mib * pods;
        limits.cpu_millicores += amount(w.per_pod.limits).cpu_millicores * pods;
        limits.memory_mib += amount(w.per_pod.limits).memory_mib * pods;
    }
    let free = eligible.iter().fold(Amount::default(), |s, (_, f)| Amount {
        cpu_millicores: s.cpu_millicores + f.cpu_millicores.max(0),
        memory_mib: s.memory_mib + f.memory_mib.max(0),
    });
    let allocatable = eligible.iter().fold(Amount::default(), |s, (n, _)| Amount {
        cpu_millicores: s.cpu_millicores + n.allocatable.cpu_millicores,
        memory_mib: s.memory_mib + n.allocatable.memory_mib,
    });
    let names = || {
        let mut n: Vec<&str> = eligible.iter().map(|(n, _)| n.name.as_str()).collect();
        let more = n.len().saturating_sub(5);
        n.truncate(5);
        let mut text = n.join(", ");
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        text
    };
    if requests.cpu_millicores > free.cpu_millicores || requests.memory_mib > free.memory_mib {
        out.push(finding(
            "amlc::doctor::capacity",
            Severity::Error,
            "nodes",
            format!(
                "the extension requests {}m CPU and {}Mi memory, but the {} nodes it may use ({}) have {}m and {}Mi free",
                requests.cpu_millicores, requests.memory_mib, eligible.len(), names(), free.cpu_millicores, free.memory_mib
            ),
            "add nodes or use larger ones (amlc plan recommends a size), or turn off components you do not need",
        ));
    }
    if config.profile() == Profile::Production
        && (limits.cpu_millicores > allocatable.cpu_millicores
            || limits.memory_mib > allocatable.memory_mib)
    {
        out.push(finding(
            "amlc::doctor::limits",
            Severity::Warning,
            "nodes",
            format!(
                "the extension's limits ({}m CPU, {}Mi memory) exceed what its nodes can allocate ({}m, {}Mi): under load its pods can be throttled or evicted",
                limits.cpu_millicores, limits.memory_mib, allocatable.cpu_millicores, allocatable.memory_mib
            ),
            "size the nodes for the reference page's production figures (amlc plan), or accept the risk",
        ));
    }
    if config.inference.enabled
        && config.profile() == Profile::Production
        && eligible.len() < crate::config::PRODUCTION_MIN_NODES as usize
    {
        out.push(finding(
            "amlc::doctor::spread",
            Severity::Error,
            format!("Deployment {NAMESPACE}/azureml-fe-v2"),
            format!(
                "the production profile runs 3 azureml-fe replicas, one per node, but only {} node(s) may run the extension's pods",
                eligible.len()
            ),
            "add nodes the extension may use, or use `profile: test` (1 replica)",
        ));
    }
}

/// Nodes that `taints.nodeSelector` selects but that lack the configured taints.
fn tainted_nodes(config: &Config, nodes: &[LiveNode], out: &mut Vec<Finding>) {
    let want = crate::taints::node_taints(config);
    if want.is_empty() {
        return;
    }
    let selector = config.taint_node_selector();
    for n in nodes {
        if !selector
            .iter()
            .all(|(k, v)| n.class.labels.get(k) == Some(v))
        {
            continue;
        }
        let lacking: Vec<String> = want
            .iter()
            .filter(|t| {
                !n.class
                    .taints
                    .iter()
                    .any(|h| h.key == t.key && h.value == t.value && h.effect == t.effect)
            })
            .map(crate::taints::NodeTaint::spec)
            .collect();
        if !lacking.is_empty() {
            let node = &n.name;
            out.push(finding(
                "amlc::doctor::taints-missing",
                Severity::Warning,
                format!("Node {node}"),
                format!(
                    "the config says these nodes carry {}, but {node} lacks it",
                    lacking.join(", ")
                ),
                format!(
                    "kubectl taint nodes {node} {} (amlc taints prints every command)",
                    lacking.join(" ")
                ),
            ));
        }
    }
}

/// Who owns a live object, in words.
fn owner(v: &Value) -> String {
    let annotations = &v["metadata"]["annotations"];
    let labels = &v["metadata"]["labels"];
    if let Some(release) = annotations["meta.helm.sh/release-name"].as_str() {
        let ns = annotations["meta.helm.sh/release-namespace"]
            .as_str()
            .unwrap_or("?");
        return format!("Helm release {release} in namespace {ns}");
    }
    if let Some(other) = labels["amlc/instance"].as_str() {
        return format!("the amlc extension {other}");
    }
    if let Some(by) = labels["app.kubernetes.io/managed-by"].as_str() {
        return format!("something managed by {by}");
    }
    "something else (it carries no amlc/instance label)".into()
}

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Objects the render would write that already exist and belong to something else.
fn conflicts(config: &Config, objects: &[&Value], snap: &Snapshot, out: &mut Vec<Finding>) {
    let live: BTreeMap<(String, String, String, String), &Value> = snap
        .rendered_live
        .objects
        .iter()
        .map(|o| {
            (
                (
                    group_of(crate::object::api_version(o)).to_owned(),
                    crate::object::kind(o).to_owned(),
                    crate::object::namespace(o).unwrap_or("").to_owned(),
                    crate::object::name(o).to_owned(),
                ),
                o,
            )
        })
        .collect();
    for u in &snap.rendered_live.unread {
        out.push(skipped(
            &format!(
                "whether {} objects{} belong to something else",
                u.kind,
                if u.namespace.is_empty() {
                    String::new()
                } else {
                    format!(" in {}", u.namespace)
                }
            ),
            u.kind.clone(),
            &format!("list {}", u.kind.to_lowercase()),
        ));
    }
    // CRDs of operators someone else runs, one finding per group.
    let mut foreign_crds: BTreeMap<&str, (Vec<&str>, String)> = BTreeMap::new();
    for o in objects {
        let key = (
            crate::object::group(o).to_owned(),
            crate::object::kind(o).to_owned(),
            crate::object::namespace(o).unwrap_or("").to_owned(),
            crate::object::name(o).to_owned(),
        );
        let Some(l) = live.get(&key) else { continue };
        let instance = l["metadata"]["labels"]["amlc/instance"].as_str();
        if instance == Some(config.name()) {
            continue;
        }
        // A namespace someone created for the extension (to hold its Secrets first) is
        // adopted; one another install or release owns is not.
        let helm = l["metadata"]["annotations"]["meta.helm.sh/release-name"].as_str();
        if key.1 == "Namespace" && instance.is_none() && helm.is_none() {
            continue;
        }
        // The real extension's own chart, installed by `az k8s-extension create` (release
        // named after the extension, in azureml): an upgrade, not a conflict.
        let helm_namespace =
            l["metadata"]["annotations"]["meta.helm.sh/release-namespace"].as_str();
        if helm == Some(config.name()) && helm_namespace == Some(NAMESPACE) {
            continue;
        }
        let who = owner(l);
        if key.1 == "CustomResourceDefinition" {
            let group = o["spec"]["group"].as_str().unwrap_or("");
            if group == "monitoring.coreos.com" || group.ends_with("volcano.sh") {
                let family = if group == "monitoring.coreos.com" {
                    "monitoring.coreos.com"
                } else {
                    "volcano.sh"
                };
                let entry = foreign_crds
                    .entry(family)
                    .or_insert_with(|| (Vec::new(), who.clone()));
                entry.0.push(crate::object::name(o));
                continue;
            }
        }
        let what = ObjectRef::of(o);
        out.push(finding(
            "amlc::doctor::conflict",
            Severity::Error,
            what.to_string(),
            format!("{what} already exists and belongs to {who}: the install would fail or take it over"),
            if key.3 == "azureml-fe" || key.3 == "azureml-fe-v2" {
                "a legacy azureml-fe from the AKS-v1 integration (healthcheck E45005): remove the old deployment's objects from namespace azureml first".to_owned()
            } else {
                format!("remove it, or rename the extension (metadata.name) if another install of {} owns it", config.name())
            },
        ));
    }
    for (family, (names, who)) in foreign_crds {
        let (code, setting) = if family == "monitoring.coreos.com" {
            (
                "amlc::doctor::foreign-prometheus-operator",
                "monitoring.prometheusOperator: false",
            )
        } else {
            ("amlc::doctor::foreign-volcano", "training.volcano: false")
        };
        out.push(finding(
            code,
            Severity::Error,
            format!("CustomResourceDefinition *.{family}"),
            format!(
                "{} CRDs of {family} ({}) belong to {who}: two operators would fight over them",
                names.len(),
                names.join(", ")
            ),
            format!("set `{setting}` to reuse the one the cluster runs"),
        ));
    }
}

/// Another ingress-nginx's validating webhook sees every Ingress, the extension's too: when
/// it is down, the install times out (Azure/AML-Kubernetes#297).
fn ingress_webhooks(config: &Config, objects: &[&Value], snap: &Snapshot, out: &mut Vec<Finding>) {
    let renders_ingress = objects.iter().any(|o| crate::object::kind(o) == "Ingress");
    if !renders_ingress {
        return;
    }
    let configs = match &snap.webhooks {
        Read::Ok(c) => c,
        Read::Forbidden(p) => {
            return out.push(skipped(
                "other admission webhooks on Ingress objects",
                "validatingwebhookconfigurations",
                p,
            ));
        }
        Read::NotServed => return,
    };
    for c in configs {
        if c["metadata"]["labels"]["amlc/instance"].as_str() == Some(config.name()) {
            continue;
        }
        for w in c["webhooks"].as_array().into_iter().flatten() {
            let on_ingresses = w["rules"].as_array().into_iter().flatten().any(|r| {
                r["resources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|x| x == "ingresses" || x == "*")
            });
            let nginx = w["name"]
                .as_str()
                .is_some_and(|n| n.contains("nginx.ingress.kubernetes.io"));
            if !(on_ingresses && nginx) {
                continue;
            }
            let fails_closed = w["failurePolicy"].as_str().unwrap_or("Fail") == "Fail";
            out.push(finding(
                "amlc::doctor::foreign-ingress-webhook",
                if fails_closed { Severity::Error } else { Severity::Warning },
                format!("ValidatingWebhookConfiguration {}", crate::object::name(c)),
                format!(
                    "webhook {} of another ingress-nginx validates every Ingress, the extension's too{}",
                    w["name"].as_str().unwrap_or("?"),
                    if fails_closed { ", and fails closed: if it is unreachable the install times out" } else { "" }
                ),
                "make sure that controller's admission service is up, or scope its webhook with a namespaceSelector that leaves out namespace azureml",
            ));
        }
    }
}

/// The TLS and relay Secrets the config names must hold the keys the pods read.
fn secret_keys(config: &Config, snap: &Snapshot, out: &mut Vec<Finding>) {
    let mut wanted: Vec<(String, Vec<&str>)> = Vec::new();
    if config.inference.enabled
        && let Some(ssl) = &config.inference.ssl
    {
        let name = ssl
            .secret_name
            .clone()
            .unwrap_or_else(|| plan::DEFAULT_TLS_SECRET.into());
        let keys = if ssl.cert_file.is_some() && ssl.key_file.is_some() {
            vec!["tls.crt", "tls.key"]
        } else {
            vec!["cert.pem", "key.pem"]
        };
        wanted.push((name, keys));
    }
    if let Some(tls) = config.ingress.as_ref().and_then(|i| i.tls.as_ref()) {
        wanted.push((tls.secret_name.clone(), vec!["tls.crt", "tls.key"]));
    }
    for (name, keys) in wanted {
        let r = ObjectRef::new("Secret", NAMESPACE, &name);
        let Some(secret) = snap.object(&r) else {
            continue;
        };
        let has =
            |k: &str| secret["data"].get(k).is_some() || secret["stringData"].get(k).is_some();
        let lacking: Vec<&str> = keys.iter().copied().filter(|k| !has(k)).collect();
        if !lacking.is_empty() {
            out.push(finding(
                "amlc::doctor::secret-keys",
                Severity::Error,
                r.to_string(),
                format!(
                    "{r} lacks key(s) {}: azureml-fe or the Ingress cannot read its certificate",
                    lacking.join(", ")
                ),
                format!("recreate it with keys {}", keys.join(" and ")),
            ));
        }
    }
}

/// OpenShift types need the SecurityContextConstraints API and its `privileged` SCC.
fn cluster_kind(config: &Config, snap: &Snapshot, out: &mut Vec<Finding>) {
    if !config.cluster.cluster_type.is_openshift() {
        return;
    }
    match &snap.sccs {
        Read::Forbidden(p) => out.push(skipped("the privileged SecurityContextConstraints", "securitycontextconstraints", p)),
        Read::NotServed => out.push(finding(
            "amlc::doctor::not-openshift",
            Severity::Error,
            "securitycontextconstraints.security.openshift.io",
            format!("cluster.type is {}, but the cluster serves no SecurityContextConstraints", config.cluster.cluster_type.as_str()),
            "point doctor at the OpenShift cluster, or set cluster.type to arc for another Arc-connected Kubernetes",
        )),
        Read::Ok(sccs) => {
            if !sccs.iter().any(|s| crate::object::name(s) == "privileged") {
                out.push(finding(
                    "amlc::doctor::scc-missing",
                    Severity::Error,
                    "SecurityContextConstraints privileged",
                    "the privileged SCC the extension's accounts are granted (Azure ML reference page, \"Privileged setup for ARO and OCP\") is not on the cluster",
                    "restore the default privileged SCC (oc get scc privileged)",
                ));
            }
        }
    }
}
