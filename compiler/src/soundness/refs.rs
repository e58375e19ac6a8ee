//! The objects as a graph: every reference one object makes to another, and whether it
//! resolves to a rendered object, one the platform gives, one the user supplies, or nothing.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::{Environment, ObjectRef, Reference};
use crate::fx_hash::FxBuild;
use crate::object::{self, At};

/// What a reference needs of its target beyond the target existing, borrowed from the
/// object that makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need<'a> {
    /// Only that it exists.
    Exists,
    /// A Service that serves this port (a number, or a port name).
    ServicePort(Port<'a>),
    /// A pod template in the namespace whose labels hold the selector (its string values),
    /// with this target port (when the pods declare their ports).
    Pods {
        selector: &'a serde_json::Map<String, Value>,
        port: Option<Port<'a>>,
    },
    /// A CRD that serves this group and kind.
    Crd { group: &'a str, kind: &'a str },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port<'a> {
    Number(i64),
    Name(&'a str),
}

impl<'a> Port<'a> {
    fn of(v: &'a Value) -> Option<Port<'a>> {
        match v {
            Value::Number(n) => n.as_i64().map(Port::Number),
            Value::String(s) => Some(match s.parse() {
                Ok(n) => Port::Number(n),
                Err(_) => Port::Name(s),
            }),
            _ => None,
        }
    }

    fn text(&self) -> String {
        match self {
            Port::Number(n) => format!("port {n}"),
            Port::Name(n) => format!("port `{n}`"),
        }
    }
}

impl Need<'_> {
    /// What must hold of the target beyond existing, as a finding says it.
    fn detail(&self) -> Option<String> {
        match self {
            Need::Exists | Need::Crd { .. } => None,
            Need::ServicePort(p) => Some(p.text()),
            Need::Pods { selector, port } => {
                let labels: Vec<String> = selector_pairs(selector)
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                Some(match port {
                    Some(p) => format!("pods labelled {} serving {}", labels.join(","), p.text()),
                    None => format!("pods labelled {}", labels.join(",")),
                })
            }
        }
    }
}

/// A selector's string pairs (a Service's selector holds nothing else when it is valid).
fn selector_pairs(selector: &serde_json::Map<String, Value>) -> impl Iterator<Item = (&str, &str)> {
    selector
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
}

/// A reference's target: kind, namespace ("" when cluster-scoped) and name, borrowed from
/// the objects except where the name is derived (a CRD's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<'a> {
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: Cow<'a, str>,
}

impl<'a> Target<'a> {
    fn new(kind: &'a str, namespace: &'a str, name: &'a str) -> Self {
        Target {
            kind,
            namespace,
            name: Cow::Borrowed(name),
        }
    }

    fn key(&self) -> Key<'_> {
        (self.kind, self.namespace, &self.name)
    }

    pub fn to_ref(&self) -> ObjectRef {
        ObjectRef::new(self.kind, self.namespace, &self.name)
    }
}

/// One reference as the walk finds it: the object, where in it (written only when the
/// reference is reported), the target and what the target must hold. The walk allocates
/// nothing for the references that resolve, which are nearly all of them.
pub struct Edge<'e, 'a> {
    pub from: &'a Value,
    field: &'e dyn Fn() -> String,
    pub to: Target<'a>,
    pub need: Need<'a>,
}

impl Edge<'_, '_> {
    /// The reference, for a finding.
    pub fn reference(&self) -> Reference {
        Reference {
            from: ObjectRef::of(self.from),
            field: (self.field)(),
            to: self.to.to_ref(),
            detail: self.need.detail(),
        }
    }
}

/// How a reference resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution<'e> {
    Rendered,
    Given,
    /// The user creates this object first (the target, or the namespace that brings it); how.
    Supplied(ObjectRef, &'e str),
    Missing,
}

/// API groups Kubernetes itself serves: anything else needs a CRD.
const BUILT_IN_GROUPS: [&str; 17] = [
    "",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "apps",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
];

/// An object by (kind, namespace, name), borrowed.
type Key<'a> = (&'a str, &'a str, &'a str);

/// A pod template as Services see it.
struct Pods<'a> {
    namespace: &'a str,
    labels: BTreeMap<&'a str, &'a str>,
    /// Container ports: (name, number).
    ports: Vec<(Option<&'a str>, i64)>,
}

pub struct Graph<'a> {
    objects: &'a [&'a Value],
    rendered: HashSet<Key<'a>, FxBuild>,
    crds: HashSet<(&'a str, &'a str), FxBuild>,
    pods: Vec<Pods<'a>>,
    /// Service ports: (name, port).
    services: HashMap<Key<'a>, Vec<(Option<&'a str>, i64)>, FxBuild>,
}

impl<'a> Graph<'a> {
    pub fn new(objects: &'a [&'a Value]) -> Self {
        let mut rendered = HashSet::with_capacity_and_hasher(objects.len() + 8, FxBuild::default());
        let mut crds = HashSet::default();
        let mut pods = Vec::new();
        let mut services = HashMap::default();
        for v in objects {
            let v: &'a Value = v;
            let kind = object::kind(v);
            let ns = object::namespace(v).unwrap_or("");
            let me = (kind, ns, object::name(v));
            match kind {
                "CustomResourceDefinition" => {
                    if let (Some(g), Some(k)) = (
                        v.at("/spec/group").and_then(Value::as_str),
                        v.at("/spec/names/kind").and_then(Value::as_str),
                    ) {
                        crds.insert((g, k));
                    }
                }
                "Service" => {
                    let ports = list(v.at("/spec/ports"))
                        .filter_map(|p| {
                            Some((p["name"].as_str(), p.get("port").and_then(Value::as_i64)?))
                        })
                        .collect();
                    services.insert(me, ports);
                }
                _ => {}
            }
            if let Some(template) = object::pod_template(v) {
                let labels = template
                    .at("/metadata/labels")
                    .and_then(Value::as_object)
                    .map(|m| selector_pairs(m).collect())
                    .unwrap_or_default();
                let ports = containers(template.get("spec"))
                    .flat_map(|c| list(c.get("ports")))
                    .filter_map(|p| {
                        Some((
                            p["name"].as_str(),
                            p.get("containerPort").and_then(Value::as_i64)?,
                        ))
                    })
                    .collect();
                pods.push(Pods {
                    namespace: ns,
                    labels,
                    ports,
                });
            }
            rendered.extend(created(v).map(|(kind, name)| (kind, ns, name)));
            rendered.insert(me);
        }
        Graph {
            objects,
            rendered,
            crds,
            pods,
            services,
        }
    }

    /// Visits every reference of every object, with what it needs of its target.
    pub fn walk(&self, visit: &mut dyn FnMut(Edge<'_, 'a>)) {
        for v in self.objects {
            references_of(v, visit);
        }
    }

    /// Where a reference leads.
    pub fn resolve<'e>(&self, to: &Target, need: &Need, env: &'e Environment) -> Resolution<'e> {
        let rendered = match need {
            Need::Exists => self.rendered.contains(&to.key()),
            Need::ServicePort(port) => self.services.get(&to.key()).is_some_and(|ports| {
                ports.iter().any(|(name, number)| match port {
                    Port::Number(n) => number == n,
                    Port::Name(n) => *name == Some(*n),
                })
            }),
            Need::Pods { selector, port } => self.pods.iter().any(|p| {
                p.namespace == to.namespace
                    && selector_pairs(selector).all(|(k, v)| p.labels.get(k) == Some(&v))
                    && match port {
                        None => true,
                        // Ports need not be declared; when they are, the target must be one.
                        Some(Port::Number(n)) => {
                            p.ports.is_empty() || p.ports.iter().any(|(_, c)| c == n)
                        }
                        Some(Port::Name(n)) => p.ports.iter().any(|(c, _)| *c == Some(*n)),
                    }
            }),
            Need::Crd { group, kind } => self.crds.contains(&(*group, *kind)),
        };
        if rendered {
            return Resolution::Rendered;
        }
        // A Service that is rendered but lacks the port, or pods that lack it, is the
        // render's own fault: the user cannot supply a port.
        let partly_rendered = match need {
            Need::ServicePort(_) => self.rendered.contains(&to.key()),
            Need::Pods { .. } => true,
            _ => false,
        };
        if partly_rendered {
            return Resolution::Missing;
        }
        let to = to.to_ref();
        if env.given.contains(&to) {
            return Resolution::Given;
        }
        if let Some(how) = env.supplied.get(&to) {
            return Resolution::Supplied(to, how);
        }
        // Kubernetes creates a `default` ServiceAccount in every namespace: it is there
        // when its namespace is.
        if to.kind == "ServiceAccount" && to.name == "default" {
            if self
                .rendered
                .contains(&("Namespace", "", to.namespace.as_str()))
            {
                return Resolution::Given;
            }
            let ns = ObjectRef::cluster("Namespace", &to.namespace);
            if env.given.contains(&ns) {
                return Resolution::Given;
            }
            if let Some(how) = env.supplied.get(&ns) {
                return Resolution::Supplied(ns, how);
            }
        }
        Resolution::Missing
    }
}

/// The annotation by which a rendered Job says what it creates when it runs (`Kind/name`,
/// comma-separated, in its own namespace): a webhook's certificate Secret, which no render
/// may hold (it is key material) and nobody else creates.
pub const CREATES_ANNOTATION: &str = "amlc/creates";

/// What an object says it creates at run time, as (kind, name).
pub fn created(v: &Value) -> impl Iterator<Item = (&str, &str)> {
    v.at("/metadata/annotations")
        .and_then(|a| a.get(CREATES_ANNOTATION))
        .and_then(Value::as_str)
        .into_iter()
        .flat_map(|s| s.split(','))
        .filter_map(|item| item.trim().split_once('/'))
}

fn list(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array).into_iter().flatten()
}

fn containers(spec: Option<&Value>) -> impl Iterator<Item = &Value> {
    let spec = spec.unwrap_or(&Value::Null);
    list(spec.get("initContainers")).chain(list(spec.get("containers")))
}

fn text<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.at(pointer).and_then(Value::as_str)
}

/// The lower-case plural Kubernetes derives for a kind when a CRD does not say (the
/// names amlc's CRDs and the Prometheus operator's use).
pub fn plural(kind: &str) -> String {
    let lower = kind.to_lowercase();
    if lower.ends_with('s') || lower.ends_with('x') {
        format!("{lower}es")
    } else if let Some(stem) = lower.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}

struct Out<'o, 'a> {
    from: &'a Value,
    ns: &'a str,
    visit: &'o mut dyn FnMut(Edge<'_, 'a>),
}

impl<'a> Out<'_, 'a> {
    fn add(&mut self, field: impl Fn() -> String, to: Target<'a>, need: Need<'a>) {
        (self.visit)(Edge {
            from: self.from,
            field: &field,
            to,
            need,
        });
    }

    fn named(&mut self, field: impl Fn() -> String, kind: &'a str, name: Option<&'a str>) {
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            let to = Target::new(kind, self.ns, name);
            self.add(field, to, Need::Exists);
        }
    }
}

/// The references one object makes.
fn references_of<'a>(v: &'a Value, visit: &mut dyn FnMut(Edge<'_, 'a>)) {
    let ns = object::namespace(v).unwrap_or("");
    let mut o = Out { from: v, ns, visit };
    let group = object::group(v);
    if !ns.is_empty() {
        o.add(
            || "metadata.namespace".into(),
            Target::new("Namespace", "", ns),
            Need::Exists,
        );
    }
    if !BUILT_IN_GROUPS.contains(&group) {
        let kind = object::kind(v);
        o.add(
            || "apiVersion".into(),
            Target {
                kind: "CustomResourceDefinition",
                namespace: "",
                name: Cow::Owned(format!("{}.{group}", plural(kind))),
            },
            Need::Crd { group, kind },
        );
    }
    if let Some(template) = object::pod_template(v) {
        let at = match object::kind(v) {
            "CronJob" => "spec.jobTemplate.spec.template.spec",
            _ => "spec.template.spec",
        };
        pod_spec(template.get("spec").unwrap_or(&Value::Null), at, &mut o);
        if let Some(service) = text(v, "/spec/serviceName") {
            o.named(|| "spec.serviceName".into(), "Service", Some(service));
        }
    }
    match (group, object::kind(v)) {
        ("rbac.authorization.k8s.io", "ClusterRoleBinding" | "RoleBinding") => {
            let role_kind = text(v, "/roleRef/kind").unwrap_or("ClusterRole");
            let role_ns = if role_kind == "Role" { ns } else { "" };
            if let Some(role) = text(v, "/roleRef/name") {
                o.add(
                    || "roleRef".into(),
                    Target::new(role_kind, role_ns, role),
                    Need::Exists,
                );
            }
            for (i, s) in list(v.get("subjects")).enumerate() {
                if s["kind"] == "ServiceAccount"
                    && let Some(name) = s["name"].as_str()
                {
                    let sns = s["namespace"].as_str().unwrap_or(ns);
                    o.add(
                        || format!("subjects[{i}]"),
                        Target::new("ServiceAccount", sns, name),
                        Need::Exists,
                    );
                }
            }
        }
        ("", "Service") => {
            if let Some(selector) = v.at("/spec/selector").and_then(Value::as_object)
                && selector_pairs(selector).next().is_some()
            {
                for (i, p) in list(v.at("/spec/ports")).enumerate() {
                    let port = p
                        .get("targetPort")
                        .or_else(|| p.get("port"))
                        .and_then(Port::of);
                    o.add(
                        || format!("spec.ports[{i}]"),
                        Target::new("Pod", ns, "(selected)"),
                        Need::Pods { selector, port },
                    );
                }
            }
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(name) = text(v, "/spec/volumeName") {
                o.add(
                    || "spec.volumeName".into(),
                    Target::new("PersistentVolume", "", name),
                    Need::Exists,
                );
            }
        }
        ("", "PersistentVolume") => {
            if let (Some(cns), Some(cname)) = (
                text(v, "/spec/claimRef/namespace"),
                text(v, "/spec/claimRef/name"),
            ) {
                o.add(
                    || "spec.claimRef".into(),
                    Target::new("PersistentVolumeClaim", cns, cname),
                    Need::Exists,
                );
            }
        }
        ("networking.k8s.io", "Ingress") => {
            if let Some(class) = text(v, "/spec/ingressClassName") {
                o.add(
                    || "spec.ingressClassName".into(),
                    Target::new("IngressClass", "", class),
                    Need::Exists,
                );
            }
            for (i, t) in list(v.at("/spec/tls")).enumerate() {
                o.named(
                    || format!("spec.tls[{i}].secretName"),
                    "Secret",
                    t["secretName"].as_str(),
                );
            }
            let mut backends: Vec<((usize, usize), &Value)> = Vec::new();
            if let Some(b) = v.at("/spec/defaultBackend") {
                backends.push(((usize::MAX, 0), b));
            }
            for (i, rule) in list(v.at("/spec/rules")).enumerate() {
                for (j, p) in list(rule.at("/http/paths")).enumerate() {
                    if let Some(b) = p.get("backend") {
                        backends.push(((i, j), b));
                    }
                }
            }
            for ((i, j), b) in backends {
                let Some(name) = b.at("/service/name").and_then(Value::as_str) else {
                    continue;
                };
                let port = b
                    .at("/service/port/number")
                    .or_else(|| b.at("/service/port/name"))
                    .and_then(Port::of);
                let need = port.map_or(Need::Exists, Need::ServicePort);
                let field = || {
                    if i == usize::MAX {
                        "spec.defaultBackend".to_owned()
                    } else {
                        format!("spec.rules[{i}].http.paths[{j}].backend")
                    }
                };
                o.add(field, Target::new("Service", ns, name), need);
            }
        }
        (
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration",
        ) => {
            for (i, w) in list(v.get("webhooks")).enumerate() {
                let Some(svc) = w.at("/clientConfig/service") else {
                    continue;
                };
                if let (Some(sns), Some(name)) = (svc["namespace"].as_str(), svc["name"].as_str()) {
                    let port = svc.get("port").and_then(Value::as_i64).unwrap_or(443);
                    o.add(
                        || format!("webhooks[{i}].clientConfig.service"),
                        Target::new("Service", sns, name),
                        Need::ServicePort(Port::Number(port)),
                    );
                }
            }
        }
        ("monitoring.coreos.com", "Prometheus" | "Alertmanager") => {
            o.named(
                || "spec.serviceAccountName".into(),
                "ServiceAccount",
                text(v, "/spec/serviceAccountName"),
            );
        }
        _ => {}
    }
}

/// A pod spec's references: its service account, volumes, environment and pull secrets.
fn pod_spec<'a>(spec: &'a Value, at: &str, o: &mut Out<'_, 'a>) {
    let account = text(spec, "/serviceAccountName")
        .or_else(|| text(spec, "/serviceAccount"))
        .unwrap_or("default");
    o.named(
        || format!("{at}.serviceAccountName"),
        "ServiceAccount",
        Some(account),
    );
    for (i, s) in list(spec.get("imagePullSecrets")).enumerate() {
        o.named(
            || format!("{at}.imagePullSecrets[{i}]"),
            "Secret",
            s["name"].as_str(),
        );
    }
    for (i, vol) in list(spec.get("volumes")).enumerate() {
        let field = || format!("{at}.volumes[{i}]");
        o.named(field, "Secret", text(vol, "/secret/secretName"));
        o.named(field, "ConfigMap", text(vol, "/configMap/name"));
        o.named(
            field,
            "PersistentVolumeClaim",
            text(vol, "/persistentVolumeClaim/claimName"),
        );
        for src in list(vol.at("/projected/sources")) {
            o.named(field, "Secret", text(src, "/secret/name"));
            o.named(field, "ConfigMap", text(src, "/configMap/name"));
        }
    }
    for c in containers(Some(spec)) {
        let cname = c["name"].as_str().unwrap_or("?");
        for e in list(c.get("env")) {
            let field = || {
                format!(
                    "{at}.containers[{cname}].env[{}]",
                    e["name"].as_str().unwrap_or("?")
                )
            };
            o.named(field, "Secret", text(e, "/valueFrom/secretKeyRef/name"));
            o.named(
                field,
                "ConfigMap",
                text(e, "/valueFrom/configMapKeyRef/name"),
            );
        }
        for (i, e) in list(c.get("envFrom")).enumerate() {
            let field = || format!("{at}.containers[{cname}].envFrom[{i}]");
            o.named(field, "Secret", text(e, "/secretRef/name"));
            o.named(field, "ConfigMap", text(e, "/configMapRef/name"));
        }
    }
}
