//! A tiny in-process Kubernetes API server for the live-diff and apply tests: plain HTTP
//! on 127.0.0.1 and a random port, bearer-token auth, `/version`, discovery (legacy:
//! `/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`; aggregated `apidiscovery.k8s.io/v2`
//! on `/api` and `/apis` when the client asks for it, as Kubernetes 1.30+ does), LIST and
//! GET of namespaced and cluster-scoped resources, 404s, Forbidden rules, and slow
//! responses. It records every request so tests can prove a client never writes; any
//! method but GET gets 405.
//!
//! What it serves can change while it runs ([`ApiServer::serve`]), as a cluster's
//! discovery does once a CustomResourceDefinition is Established.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

pub const TOKEN: &str = "test-token";

/// The Kubernetes version the server claims at `/version`.
pub const KUBERNETES_VERSION: (&str, &str) = ("1", "32");

/// The content type of aggregated discovery, as a client asks for it and the server answers.
const AGGREGATED_V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// One resource the server serves (the short form the live-diff tests use).
#[derive(Clone)]
pub struct Resource {
    /// `v1` or `apps/v1`.
    pub api_version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

/// The standard resources amlc renders.
pub fn standard_resources() -> Vec<Resource> {
    let r = |api_version, kind, plural, namespaced| Resource {
        api_version,
        kind,
        plural,
        namespaced,
    };
    vec![
        r("v1", "Namespace", "namespaces", false),
        r("v1", "ServiceAccount", "serviceaccounts", true),
        r("v1", "Secret", "secrets", true),
        r("v1", "ConfigMap", "configmaps", true),
        r("v1", "Service", "services", true),
        r("apps/v1", "Deployment", "deployments", true),
        r("apps/v1", "DaemonSet", "daemonsets", true),
        r(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "clusterroles",
            false,
        ),
    ]
}

/// One resource as discovery describes it, with owned names (CRD-defined kinds are known
/// only at run time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// `""` for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// `status`, `scale`, `token`, `proxy`, `finalize`.
    pub subresources: Vec<String>,
}

impl Served {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The resource name errors use: `namespaces`, `deployments.apps`.
    fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    fn verbs(&self) -> Vec<&'static str> {
        // Namespaces alone cannot be deleted as a collection.
        if self.group.is_empty() && self.plural == "namespaces" {
            vec![
                "create", "delete", "get", "list", "patch", "update", "watch",
            ]
        } else {
            vec![
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ]
        }
    }
}

impl From<&Resource> for Served {
    fn from(r: &Resource) -> Served {
        let (group, version) = r.api_version.split_once('/').unwrap_or(("", r.api_version));
        Served {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: r.kind.to_owned(),
            plural: r.plural.to_owned(),
            singular: r.kind.to_lowercase(),
            namespaced: r.namespaced,
            short_names: Vec::new(),
            categories: Vec::new(),
            subresources: Vec::new(),
        }
    }
}

/// Built-in resources of a Kubernetes 1.32 API server, as its discovery describes them:
/// every kind amlc renders today and its near neighbours. Custom resources are not here;
/// [`crd_resources`] serves those once their CRD is installed.
pub fn builtin_resources() -> Vec<Served> {
    // (apiVersion, kind, plural, namespaced, short names, categories, subresources)
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        bool,
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
    );
    #[rustfmt::skip]
    let table: &[Row] = &[
        ("v1", "Namespace", "namespaces", false, &["ns"], &[], &["finalize", "status"]),
        ("v1", "Node", "nodes", false, &["no"], &[], &["proxy", "status"]),
        ("v1", "ServiceAccount", "serviceaccounts", true, &["sa"], &[], &["token"]),
        ("v1", "Secret", "secrets", true, &[], &[], &[]),
        ("v1", "ConfigMap", "configmaps", true, &["cm"], &[], &[]),
        ("v1", "Service", "services", true, &["svc"], &["all"], &["proxy", "status"]),
        ("v1", "Endpoints", "endpoints", true, &["ep"], &[], &[]),
        ("v1", "Pod", "pods", true, &["po"], &["all"], &["status"]),
        ("v1", "PersistentVolume", "persistentvolumes", false, &["pv"], &[], &["status"]),
        ("v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, &["pvc"], &[], &["status"]),
        ("v1", "ResourceQuota", "resourcequotas", true, &["quota"], &[], &["status"]),
        ("v1", "LimitRange", "limitranges", true, &["limits"], &[], &[]),
        ("apps/v1", "Deployment", "deployments", true, &["deploy"], &["all"], &["scale", "status"]),
        ("apps/v1", "DaemonSet", "daemonsets", true, &["ds"], &["all"], &["status"]),
        ("apps/v1", "StatefulSet", "statefulsets", true, &["sts"], &["all"], &["scale", "status"]),
        ("apps/v1", "ReplicaSet", "replicasets", true, &["rs"], &["all"], &["scale", "status"]),
        ("batch/v1", "Job", "jobs", true, &[], &["all"], &["status"]),
        ("batch/v1", "CronJob", "cronjobs", true, &["cj"], &["all"], &["status"]),
        ("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true, &["hpa"], &["all"], &["status"]),
        ("autoscaling/v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true, &["hpa"], &["all"], &["status"]),
        ("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", true, &["pdb"], &[], &["status"]),
        ("networking.k8s.io/v1", "Ingress", "ingresses", true, &["ing"], &[], &["status"]),
        ("networking.k8s.io/v1", "IngressClass", "ingressclasses", false, &[], &[], &[]),
        ("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", true, &["netpol"], &[], &[]),
        ("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", false, &[], &[], &[]),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", false, &[], &[], &[]),
        ("rbac.authorization.k8s.io/v1", "Role", "roles", true, &[], &[], &[]),
        ("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", true, &[], &[], &[]),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", false, &["crd", "crds"], &["api-extensions"], &["status"]),
        ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", false, &[], &["api-extensions"], &[]),
        ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", false, &[], &["api-extensions"], &[]),
        ("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", false, &["pc"], &[], &[]),
        ("storage.k8s.io/v1", "StorageClass", "storageclasses", false, &["sc"], &[], &[]),
        ("coordination.k8s.io/v1", "Lease", "leases", true, &[], &[], &[]),
    ];
    let owned = |list: &[&str]| {
        list.iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<String>>()
    };
    table
        .iter()
        .map(
            |(api_version, kind, plural, namespaced, short, categories, sub)| {
                let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
                Served {
                    group: group.to_owned(),
                    version: version.to_owned(),
                    kind: (*kind).to_owned(),
                    plural: (*plural).to_owned(),
                    singular: kind.to_lowercase(),
                    namespaced: *namespaced,
                    short_names: owned(short),
                    categories: owned(categories),
                    subresources: owned(sub),
                }
            },
        )
        .collect()
}

/// What the API server serves for an Established CustomResourceDefinition: one resource per
/// served version, with the CRD's names, scope and subresources.
pub fn crd_resources(crd: &Value) -> Vec<Served> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let kind = text(&names["kind"]);
    let singular = match names["singular"].as_str() {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => kind.to_lowercase(),
    };
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    versions
        .iter()
        .filter(|v| v["served"].as_bool() == Some(true))
        .map(|v| {
            let mut subresources = Vec::new();
            if v["subresources"]["status"].is_object() {
                subresources.push("status".to_owned());
            }
            if v["subresources"]["scale"].is_object() {
                subresources.push("scale".to_owned());
            }
            Served {
                group: text(&spec["group"]),
                version: text(&v["name"]),
                kind: kind.clone(),
                plural: text(&names["plural"]),
                singular: singular.clone(),
                namespaced: spec["scope"] == "Namespaced",
                short_names: list(&names["shortNames"]),
                categories: list(&names["categories"]),
                subresources,
            }
        })
        .collect()
}

/// A rule refusing a verb (`list` or `get`) on a resource in a namespace ("" = cluster).
#[derive(Clone)]
pub struct Forbid {
    pub verb: &'static str,
    pub plural: &'static str,
    pub namespace: &'static str,
}

#[derive(Clone, Default)]
pub struct State {
    pub resources: Vec<Resource>,
    /// Live objects, with apiVersion and kind (stripped from LIST items, as the server does).
    pub objects: Vec<Value>,
    pub forbid: Vec<Forbid>,
    /// Requests whose path contains this text wait this long before answering.
    pub slow: Vec<(&'static str, Duration)>,
}

/// How the server answers a client that asks `/api` and `/apis` for aggregated discovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discovery {
    /// As Kubernetes 1.30 and later: `apidiscovery.k8s.io/v2` when asked for, else legacy.
    Aggregated,
    /// As Kubernetes before 1.26: always the legacy `APIVersions` and `APIGroupList`.
    Legacy,
}

/// A cluster with nothing in it yet: the resources it serves and how it answers discovery.
#[derive(Clone)]
pub struct Cluster {
    pub resources: Vec<Served>,
    pub discovery: Discovery,
    /// Whether requests need `Authorization: Bearer TOKEN`. kubectl (client-go) never sends
    /// credentials over plain HTTP, so a server for kubectl answers everyone, as
    /// kube-apiserver's localhost insecure port did before Kubernetes 1.20.
    pub token_required: bool,
}

/// What the server answers from.
struct Inner {
    /// What `/version` answers: (major, minor).
    version: (String, String),
    resources: Vec<Served>,
    discovery: Discovery,
    token_required: bool,
    objects: Vec<Value>,
    forbid: Vec<Forbid>,
    slow: Vec<(&'static str, Duration)>,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub status: u16,
    /// The Accept header, if any.
    pub accept: String,
    /// The response's content type.
    pub content_type: String,
}

pub struct ApiServer {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    inner: Arc<RwLock<Inner>>,
    _runtime: tokio::runtime::Runtime,
}

impl ApiServer {
    /// Starts the server on its own runtime (so tests can block on the client).
    pub fn start(state: State) -> ApiServer {
        ApiServer::run(Inner {
            version: default_version(),
            resources: state.resources.iter().map(Served::from).collect(),
            discovery: Discovery::Aggregated,
            token_required: true,
            objects: state.objects,
            forbid: state.forbid,
            slow: state.slow,
        })
    }

    /// Starts an empty cluster serving `cluster.resources`.
    pub fn start_cluster(cluster: Cluster) -> ApiServer {
        ApiServer::run(Inner {
            version: default_version(),
            resources: cluster.resources,
            discovery: cluster.discovery,
            token_required: cluster.token_required,
            objects: Vec::new(),
            forbid: Vec::new(),
            slow: Vec::new(),
        })
    }

    fn run(inner: Inner) -> ApiServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let inner = Arc::new(RwLock::new(inner));
        let state = inner.clone();
        let recorded = requests.clone();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = state.clone();
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let state = state.clone();
                        let recorded = recorded.clone();
                        async move { Ok::<_, Infallible>(handle(req, &state, &recorded).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        ApiServer {
            addr,
            requests,
            inner,
            _runtime: runtime,
        }
    }

    /// From now on, hold these objects (with apiVersion and kind) and refuse these reads.
    pub fn hold(&self, objects: Vec<Value>, forbid: Vec<Forbid>) {
        let mut inner = self.inner.write().unwrap();
        inner.objects = objects;
        inner.forbid = forbid;
    }

    /// From now on, claim this Kubernetes version at `/version`.
    pub fn claim_version(&self, major: &str, minor: &str) {
        self.inner.write().unwrap().version = (major.to_owned(), minor.to_owned());
    }

    /// Answers to requests whose path and query contain `needle` wait this long.
    pub fn slow_down(&self, needle: &'static str, delay: Duration) {
        self.inner.write().unwrap().slow.push((needle, delay));
    }

    /// From now on, serve these resources (as discovery does once a CRD is Established).
    pub fn serve(&self, resources: Vec<Served>) {
        self.inner.write().unwrap().resources = resources;
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

/// A kubeconfig for `server` with a token user, as `kubectl config view --raw` writes it.
pub fn kubeconfig(server: &str, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {server}\nusers:\n- name: test\n  user:\n    token: {token}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: azureml\ncurrent-context: test\n"
    )
}

async fn handle(
    req: Request<Incoming>,
    state: &RwLock<Inner>,
    recorded: &Mutex<Vec<Recorded>>,
) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let uri = req.uri().to_string();
    let path = req.uri().path().to_owned();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let accept = header("accept");
    let authorization = header("authorization");
    let delays: Vec<Duration> = state
        .read()
        .unwrap()
        .slow
        .iter()
        .filter(|(needle, _)| uri.contains(needle))
        .map(|(_, delay)| *delay)
        .collect();
    for delay in delays {
        tokio::time::sleep(delay).await;
    }
    let (status, body, content_type) = if method != "GET" {
        (
            405,
            status_body(405, "MethodNotAllowed", "this test server only reads"),
            "application/json",
        )
    } else if state.read().unwrap().token_required && authorization != format!("Bearer {TOKEN}") {
        (
            401,
            status_body(401, "Unauthorized", "Unauthorized"),
            "application/json",
        )
    } else {
        let state = state.read().unwrap();
        let aggregated = state.discovery == Discovery::Aggregated && wants_aggregated_v2(&accept);
        match path.trim_end_matches('/') {
            "/api" if aggregated => (200, aggregated_discovery(&state, true), AGGREGATED_V2),
            "/apis" if aggregated => (200, aggregated_discovery(&state, false), AGGREGATED_V2),
            _ => {
                let (status, body) = route(&path, &state);
                (status, body, "application/json")
            }
        }
    };
    recorded.lock().unwrap().push(Recorded {
        method,
        uri,
        status,
        accept,
        content_type: content_type.to_owned(),
    });
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", content_type)
        .header("vary", "Accept")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// Whether an Accept header lists aggregated discovery v2 (as client-go 1.30+ sends it:
/// `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,...`).
fn wants_aggregated_v2(accept: &str) -> bool {
    accept.split(',').any(|media| {
        let params: Vec<&str> = media.split(';').map(str::trim).collect();
        params.first() == Some(&"application/json")
            && params.contains(&"g=apidiscovery.k8s.io")
            && params.contains(&"v=v2")
            && params.contains(&"as=APIGroupDiscoveryList")
    })
}

fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

/// A path the server has no handler for.
fn no_route() -> (u16, Value) {
    let mut body = status_body(
        404,
        "NotFound",
        "the server could not find the requested resource",
    );
    body["details"] = json!({});
    (404, body)
}

/// An object that does not exist, as the API server words it.
fn object_not_found(resource: &Served, name: &str) -> (u16, Value) {
    let mut body = status_body(
        404,
        "NotFound",
        &format!("{} \"{name}\" not found", resource.qualified()),
    );
    body["details"] = if resource.group.is_empty() {
        json!({"name": name, "kind": resource.plural})
    } else {
        json!({"name": name, "group": resource.group, "kind": resource.plural})
    };
    (404, body)
}

fn default_version() -> (String, String) {
    let (major, minor) = KUBERNETES_VERSION;
    (major.to_owned(), minor.to_owned())
}

fn version_info(state: &Inner) -> Value {
    let (major, minor) = &state.version;
    json!({"major": major, "minor": minor, "gitVersion": format!("v{major}.{minor}.4"),
           "gitCommit": "59526cd4867447956156ae3a602fcbac5de2f8c6", "gitTreeState": "clean",
           "buildDate": "2025-04-22T16:02:27Z", "goVersion": "go1.23.6", "compiler": "gc",
           "platform": "linux/amd64"})
}

fn route(path: &str, state: &Inner) -> (u16, Value) {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (api_version, rest): (String, &[&str]) = match segs.as_slice() {
        ["version"] => return (200, version_info(state)),
        ["api"] => {
            return (
                200,
                json!({"kind": "APIVersions", "versions": ["v1"],
                       "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:6443"}]}),
            );
        }
        ["apis"] => return (200, api_groups(state)),
        ["api", v, rest @ ..] => ((*v).to_owned(), rest),
        ["apis", g, v, rest @ ..] => (format!("{g}/{v}"), rest),
        _ => return no_route(),
    };
    let served: Vec<&Served> = state
        .resources
        .iter()
        .filter(|r| r.api_version() == api_version)
        .collect();
    if served.is_empty() {
        return no_route();
    }
    let (namespace, plural, name) = match rest {
        [] => return (200, resource_list(&api_version, &served)),
        ["namespaces", ns, plural] => (*ns, *plural, None),
        ["namespaces", ns, plural, name] => (*ns, *plural, Some(*name)),
        [plural] => ("", *plural, None),
        [plural, name] => ("", *plural, Some(*name)),
        _ => return no_route(),
    };
    let Some(resource) = served.iter().find(|r| r.plural == plural) else {
        return no_route();
    };
    // A cluster-scoped resource has no namespaced path; a namespaced object has no
    // cluster-wide one (though a namespaced resource lists across namespaces).
    if (!resource.namespaced && !namespace.is_empty())
        || (resource.namespaced && namespace.is_empty() && name.is_some())
    {
        return no_route();
    }
    let verb = if name.is_some() { "get" } else { "list" };
    if state
        .forbid
        .iter()
        .any(|f| f.verb == verb && f.plural == plural && f.namespace == namespace)
    {
        let message = format!(
            "{plural} is forbidden: User \"system:serviceaccount:ci:diff\" cannot {verb} resource \"{plural}\" in namespace \"{namespace}\""
        );
        return (403, status_body(403, "Forbidden", &message));
    }
    let matching = state.objects.iter().filter(|o| {
        o["apiVersion"] == api_version
            && o["kind"] == resource.kind.as_str()
            && (namespace.is_empty() || o["metadata"]["namespace"] == namespace)
    });
    match name {
        Some(name) => match matching.clone().find(|o| o["metadata"]["name"] == name) {
            Some(o) => (200, o.clone()),
            None => object_not_found(resource, name),
        },
        None => {
            let items: Vec<Value> = matching
                .map(|o| {
                    let mut o = o.clone();
                    let m = o.as_object_mut().unwrap();
                    m.remove("apiVersion");
                    m.remove("kind");
                    o
                })
                .collect();
            (
                200,
                json!({"kind": format!("{}List", resource.kind), "apiVersion": api_version,
                       "metadata": {"resourceVersion": "5000"}, "items": items}),
            )
        }
    }
}

/// Kubernetes' version priority: GA before beta before alpha, higher numbers first, then
/// versions that do not look like Kubernetes versions, alphabetically.
fn version_priority(version: &str) -> (u8, i64, i64, String) {
    let parsed = version.strip_prefix('v').and_then(|rest| {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let major: i64 = rest[..digits].parse().ok()?;
        let tail = &rest[digits..];
        if tail.is_empty() {
            return Some((0, -major, 0));
        }
        for (rank, word) in [(1, "beta"), (2, "alpha")] {
            if let Some(minor) = tail.strip_prefix(word) {
                return Some((rank, -major, -minor.parse::<i64>().ok()?));
            }
        }
        None
    });
    match parsed {
        Some((rank, major, minor)) => (rank, major, minor, String::new()),
        None => (3, 0, 0, version.to_owned()),
    }
}

/// The groups served, each with its versions in priority order (first = preferred), in
/// the order their resources are listed.
fn groups(state: &Inner) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for r in &state.resources {
        match out.iter_mut().find(|(g, _)| *g == r.group) {
            Some((_, versions)) if versions.contains(&r.version) => {}
            Some((_, versions)) => versions.push(r.version.clone()),
            None => out.push((r.group.clone(), vec![r.version.clone()])),
        }
    }
    for (_, versions) in &mut out {
        versions.sort_by_key(|v| version_priority(v));
    }
    out
}

fn api_groups(state: &Inner) -> Value {
    let groups: Vec<Value> = groups(state)
        .into_iter()
        .filter(|(group, _)| !group.is_empty())
        .map(|(group, versions)| {
            let gvs: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
                .collect();
            json!({"name": group, "versions": gvs, "preferredVersion": gvs[0]})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// A subresource's kind (group, version, kind) and verbs, as the API server lists them.
fn subresource(parent: &Served, name: &str) -> (String, String, String, Vec<&'static str>) {
    let own = || {
        (
            parent.group.clone(),
            parent.version.clone(),
            parent.kind.clone(),
        )
    };
    let ((group, version, kind), verbs) = match name {
        "scale" => (
            ("autoscaling".into(), "v1".into(), "Scale".into()),
            vec!["get", "patch", "update"],
        ),
        "token" => (
            (
                "authentication.k8s.io".into(),
                "v1".into(),
                "TokenRequest".into(),
            ),
            vec!["create"],
        ),
        "proxy" => (
            ("".into(), "v1".into(), "ServiceProxyOptions".into()),
            vec!["create", "delete", "get", "patch", "update"],
        ),
        "finalize" => (own(), vec!["update"]),
        _ => (own(), vec!["get", "patch", "update"]),
    };
    (group, version, kind, verbs)
}

fn resource_list(api_version: &str, served: &[&Served]) -> Value {
    let mut resources: Vec<Value> = Vec::new();
    for r in served {
        let mut entry = json!({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                               "kind": r.kind, "verbs": r.verbs()});
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        resources.push(entry);
        for sub in &r.subresources {
            let (group, version, kind, verbs) = subresource(r, sub);
            let mut entry = json!({"name": format!("{}/{sub}", r.plural), "singularName": "",
                                   "namespaced": r.namespaced, "kind": kind, "verbs": verbs});
            if group != r.group || version != r.version {
                entry["group"] = json!(group);
                entry["version"] = json!(version);
            }
            resources.push(entry);
        }
    }
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version, "resources": resources})
}

/// `/api` (the core group) or `/apis` (every other group) as one
/// `apidiscovery.k8s.io/v2` APIGroupDiscoveryList.
fn aggregated_discovery(state: &Inner, core: bool) -> Value {
    let items: Vec<Value> = groups(state)
        .into_iter()
        .filter(|(group, _)| group.is_empty() == core)
        .map(|(group, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|version| {
                    let resources: Vec<Value> = state
                        .resources
                        .iter()
                        .filter(|r| r.group == group && r.version == *version)
                        .map(aggregated_resource)
                        .collect();
                    json!({"version": version, "resources": resources, "freshness": "Current"})
                })
                .collect();
            let mut metadata = json!({"creationTimestamp": null});
            if !group.is_empty() {
                metadata["name"] = json!(group);
            }
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
           "metadata": {}, "items": items})
}

fn aggregated_resource(r: &Served) -> Value {
    let mut entry = json!({
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs(),
    });
    if !r.short_names.is_empty() {
        entry["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        entry["categories"] = json!(r.categories);
    }
    let subresources: Vec<Value> = r
        .subresources
        .iter()
        .map(|sub| {
            let (group, version, kind, verbs) = subresource(r, sub);
            json!({"subresource": sub,
                   "responseKind": {"group": group, "version": version, "kind": kind},
                   "verbs": verbs})
        })
        .collect();
    if !subresources.is_empty() {
        entry["subresources"] = json!(subresources);
    }
    entry
}
