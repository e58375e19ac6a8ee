//! The objects as a graph: every reference one object makes to another, and whether it
//! resolves to a rendered object, one the platform gives, one the user supplies, or nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Environment, ObjectRef, Reference};
use crate::object::{self, At};

/// What a reference needs of its target beyond the target existing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Only that it exists.
    Exists,
    /// A Service that serves this port (a number, or a port name).
    ServicePort(Port),
    /// A pod template in the namespace whose labels hold the selector, with this target
    /// port (when the pods declare their ports).
    Pods {
        selector: BTreeMap<String, String>,
        port: Option<Port>,
    },
    /// A CRD that serves this group and kind.
    Crd { group: String, kind: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Port {
    Number(i64),
    Name(String),
}

impl Port {
    fn of(v: &Value) -> Option<Port> {
        match v {
            Value::Number(n) => n.as_i64().map(Port::Number),
            Value::String(s) => Some(match s.parse() {
                Ok(n) => Port::Number(n),
                Err(_) => Port::Name(s.clone()),
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

/// A pod template as Services see it.
struct Pods<'a> {
    namespace: &'a str,
    labels: BTreeMap<&'a str, &'a str>,
    /// Container ports: (name, number).
    ports: Vec<(Option<&'a str>, i64)>,
}

pub struct Graph<'a> {
    objects: &'a [&'a Value],
    rendered: BTreeSet<ObjectRef>,
    crds: BTreeSet<(&'a str, &'a str)>,
    pods: Vec<Pods<'a>>,
    /// Service ports: (name, port).
    services: BTreeMap<ObjectRef, Vec<(Option<&'a str>, i64)>>,
}

impl<'a> Graph<'a> {
    pub fn new(objects: &'a [&'a Value]) -> Self {
        let mut rendered = BTreeSet::new();
        let mut crds = BTreeSet::new();
        let mut pods = Vec::new();
        let mut services = BTreeMap::new();
        for v in objects {
            let me = ObjectRef::of(v);
            match object::kind(v) {
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
                    services.insert(me.clone(), ports);
                }
                _ => {}
            }
            if let Some(template) = object::pod_template(v) {
                let labels = template
                    .at("/metadata/labels")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
                            .collect()
                    })
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
                    namespace: object::namespace(v).unwrap_or(""),
                    labels,
                    ports,
                });
            }
            let ns = object::namespace(v).unwrap_or("");
            rendered.extend(created(v).map(|(kind, name)| ObjectRef::new(kind, ns, name)));
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

    /// Every reference of every object, with what it needs of its target.
    pub fn references(&self) -> Vec<(Reference, Need)> {
        let mut out = Vec::new();
        for v in self.objects {
            references_of(v, &mut out);
        }
        out
    }

    /// Where a reference leads.
    pub fn resolve<'e>(&self, r: &Reference, need: &Need, env: &'e Environment) -> Resolution<'e> {
        let to = &r.to;
        let rendered = match need {
            Need::Exists => self.rendered.contains(to),
            Need::ServicePort(port) => self.services.get(to).is_some_and(|ports| {
                ports.iter().any(|(name, number)| match port {
                    Port::Number(n) => number == n,
                    Port::Name(n) => *name == Some(n.as_str()),
                })
            }),
            Need::Pods { selector, port } => self.pods.iter().any(|p| {
                p.namespace == to.namespace
                    && selector
                        .iter()
                        .all(|(k, v)| p.labels.get(k.as_str()) == Some(&v.as_str()))
                    && match port {
                        None => true,
                        // Ports need not be declared; when they are, the target must be one.
                        Some(Port::Number(n)) => {
                            p.ports.is_empty() || p.ports.iter().any(|(_, c)| c == n)
                        }
                        Some(Port::Name(n)) => p.ports.iter().any(|(c, _)| *c == Some(n.as_str())),
                    }
            }),
            Need::Crd { group, kind } => self.crds.contains(&(group.as_str(), kind.as_str())),
        };
        if rendered {
            return Resolution::Rendered;
        }
        // A Service that is rendered but lacks the port, or pods that lack it, is the
        // render's own fault: the user cannot supply a port.
        let partly_rendered = match need {
            Need::ServicePort(_) => self.rendered.contains(to),
            Need::Pods { .. } => true,
            _ => false,
        };
        if partly_rendered {
            return Resolution::Missing;
        }
        if env.given.contains(to) {
            return Resolution::Given;
        }
        if let Some(how) = env.supplied.get(to) {
            return Resolution::Supplied(to.clone(), how);
        }
        // Kubernetes creates a `default` ServiceAccount in every namespace: it is there
        // when its namespace is.
        if to.kind == "ServiceAccount" && to.name == "default" {
            let ns = ObjectRef::cluster("Namespace", &to.namespace);
            if self.rendered.contains(&ns) || env.given.contains(&ns) {
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

struct Out<'o, 'v> {
    from: ObjectRef,
    ns: &'v str,
    out: &'o mut Vec<(Reference, Need)>,
}

impl Out<'_, '_> {
    fn add(&mut self, field: impl Into<String>, to: ObjectRef, need: Need) {
        let detail = match &need {
            Need::Exists | Need::Crd { .. } => None,
            Need::ServicePort(p) => Some(p.text()),
            Need::Pods { selector, port } => {
                let labels: Vec<String> =
                    selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
                Some(match port {
                    Some(p) => format!("pods labelled {} serving {}", labels.join(","), p.text()),
                    None => format!("pods labelled {}", labels.join(",")),
                })
            }
        };
        self.out.push((
            Reference {
                from: self.from.clone(),
                field: field.into(),
                to,
                detail,
            },
            need,
        ));
    }

    fn named(&mut self, field: impl Into<String>, kind: &str, name: Option<&str>) {
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            let to = ObjectRef::new(kind, self.ns, name);
            self.add(field, to, Need::Exists);
        }
    }
}

/// The references one object makes.
fn references_of(v: &Value, out: &mut Vec<(Reference, Need)>) {
    let ns = object::namespace(v).unwrap_or("");
    let mut o = Out {
        from: ObjectRef::of(v),
        ns,
        out,
    };
    let group = object::group(v);
    if !ns.is_empty() {
        o.add(
            "metadata.namespace",
            ObjectRef::cluster("Namespace", ns),
            Need::Exists,
        );
    }
    if !BUILT_IN_GROUPS.contains(&group) {
        let kind = object::kind(v);
        o.add(
            "apiVersion",
            ObjectRef::cluster(
                "CustomResourceDefinition",
                &format!("{}.{group}", plural(kind)),
            ),
            Need::Crd {
                group: group.to_owned(),
                kind: kind.to_owned(),
            },
        );
    }
    if let Some(template) = object::pod_template(v) {
        let at = match object::kind(v) {
            "CronJob" => "spec.jobTemplate.spec.template.spec",
            _ => "spec.template.spec",
        };
        pod_spec(template.get("spec").unwrap_or(&Value::Null), at, &mut o);
        if let Some(service) = text(v, "/spec/serviceName") {
            o.named("spec.serviceName", "Service", Some(service));
        }
    }
    match (group, object::kind(v)) {
        ("rbac.authorization.k8s.io", "ClusterRoleBinding" | "RoleBinding") => {
            let role_kind = text(v, "/roleRef/kind").unwrap_or("ClusterRole");
            let role_ns = if role_kind == "Role" { ns } else { "" };
            if let Some(role) = text(v, "/roleRef/name") {
                o.add(
                    "roleRef",
                    ObjectRef::new(role_kind, role_ns, role),
                    Need::Exists,
                );
            }
            for (i, s) in list(v.get("subjects")).enumerate() {
                if s["kind"] == "ServiceAccount"
                    && let Some(name) = s["name"].as_str()
                {
                    let sns = s["namespace"].as_str().unwrap_or(ns);
                    o.add(
                        format!("subjects[{i}]"),
                        ObjectRef::new("ServiceAccount", sns, name),
                        Need::Exists,
                    );
                }
            }
        }
        ("", "Service") => {
            if let Some(selector) = v.at("/spec/selector").and_then(Value::as_object) {
                let selector: BTreeMap<String, String> = selector
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect();
                if !selector.is_empty() {
                    for (i, p) in list(v.at("/spec/ports")).enumerate() {
                        let port = p
                            .get("targetPort")
                            .or_else(|| p.get("port"))
                            .and_then(Port::of);
                        o.add(
                            format!("spec.ports[{i}]"),
                            ObjectRef::new("Pod", ns, "(selected)"),
                            Need::Pods {
                                selector: selector.clone(),
                                port,
                            },
                        );
                    }
                }
            }
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(name) = text(v, "/spec/volumeName") {
                o.add(
                    "spec.volumeName",
                    ObjectRef::cluster("PersistentVolume", name),
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
                    "spec.claimRef",
                    ObjectRef::new("PersistentVolumeClaim", cns, cname),
                    Need::Exists,
                );
            }
        }
        ("networking.k8s.io", "Ingress") => {
            if let Some(class) = text(v, "/spec/ingressClassName") {
                o.add(
                    "spec.ingressClassName",
                    ObjectRef::cluster("IngressClass", class),
                    Need::Exists,
                );
            }
            for (i, t) in list(v.at("/spec/tls")).enumerate() {
                o.named(
                    format!("spec.tls[{i}].secretName"),
                    "Secret",
                    t["secretName"].as_str(),
                );
            }
            let mut backends: Vec<(String, &Value)> = Vec::new();
            if let Some(b) = v.at("/spec/defaultBackend") {
                backends.push(("spec.defaultBackend".into(), b));
            }
            for (i, rule) in list(v.at("/spec/rules")).enumerate() {
                for (j, p) in list(rule.at("/http/paths")).enumerate() {
                    if let Some(b) = p.get("backend") {
                        backends.push((format!("spec.rules[{i}].http.paths[{j}].backend"), b));
                    }
                }
            }
            for (field, b) in backends {
                let Some(name) = b.at("/service/name").and_then(Value::as_str) else {
                    continue;
                };
                let port = b
                    .at("/service/port/number")
                    .or_else(|| b.at("/service/port/name"))
                    .and_then(Port::of);
                let need = port.map_or(Need::Exists, Need::ServicePort);
                o.add(field, ObjectRef::new("Service", ns, name), need);
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
                        format!("webhooks[{i}].clientConfig.service"),
                        ObjectRef::new("Service", sns, name),
                        Need::ServicePort(Port::Number(port)),
                    );
                }
            }
        }
        ("monitoring.coreos.com", "Prometheus" | "Alertmanager") => {
            o.named(
                "spec.serviceAccountName",
                "ServiceAccount",
                text(v, "/spec/serviceAccountName"),
            );
        }
        _ => {}
    }
}

/// A pod spec's references: its service account, volumes, environment and pull secrets.
fn pod_spec(spec: &Value, at: &str, o: &mut Out) {
    let account = text(spec, "/serviceAccountName")
        .or_else(|| text(spec, "/serviceAccount"))
        .unwrap_or("default");
    o.named(
        format!("{at}.serviceAccountName"),
        "ServiceAccount",
        Some(account),
    );
    for (i, s) in list(spec.get("imagePullSecrets")).enumerate() {
        o.named(
            format!("{at}.imagePullSecrets[{i}]"),
            "Secret",
            s["name"].as_str(),
        );
    }
    for (i, vol) in list(spec.get("volumes")).enumerate() {
        let field = format!("{at}.volumes[{i}]");
        o.named(&field, "Secret", text(vol, "/secret/secretName"));
        o.named(&field, "ConfigMap", text(vol, "/configMap/name"));
        o.named(
            &field,
            "PersistentVolumeClaim",
            text(vol, "/persistentVolumeClaim/claimName"),
        );
        for src in list(vol.at("/projected/sources")) {
            o.named(&field, "Secret", text(src, "/secret/name"));
            o.named(&field, "ConfigMap", text(src, "/configMap/name"));
        }
    }
    for c in containers(Some(spec)) {
        let cname = c["name"].as_str().unwrap_or("?");
        for e in list(c.get("env")) {
            let field = format!(
                "{at}.containers[{cname}].env[{}]",
                e["name"].as_str().unwrap_or("?")
            );
            o.named(&field, "Secret", text(e, "/valueFrom/secretKeyRef/name"));
            o.named(
                &field,
                "ConfigMap",
                text(e, "/valueFrom/configMapKeyRef/name"),
            );
        }
        for (i, e) in list(c.get("envFrom")).enumerate() {
            let field = format!("{at}.containers[{cname}].envFrom[{i}]");
            o.named(&field, "Secret", text(e, "/secretRef/name"));
            o.named(&field, "ConfigMap", text(e, "/configMapRef/name"));
        }
    }
}
