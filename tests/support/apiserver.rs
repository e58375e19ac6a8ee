//! A tiny in-process Kubernetes API server for the live-diff tests: plain HTTP on
//! 127.0.0.1 and a random port, bearer-token auth, discovery (`/api`, `/apis`, `/api/v1`,
//! `/apis/<group>/<version>`), LIST and GET of namespaced and cluster-scoped resources,
//! 404s, Forbidden rules, and slow responses. It records every request so tests can prove
//! the diff never writes; any method but GET gets 405.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

pub const TOKEN: &str = "test-token";

/// One resource the server serves.
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

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub status: u16,
}

pub struct ApiServer {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    _runtime: tokio::runtime::Runtime,
}

impl ApiServer {
    /// Starts the server on its own runtime (so tests can block on the client).
    pub fn start(state: State) -> ApiServer {
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
        let state = Arc::new(state);
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
            _runtime: runtime,
        }
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
    state: &State,
    recorded: &Mutex<Vec<Recorded>>,
) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let uri = req.uri().to_string();
    let path = req.uri().path().to_owned();
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    for (needle, delay) in &state.slow {
        if uri.contains(needle) {
            tokio::time::sleep(*delay).await;
        }
    }
    let (status, body) = if method != "GET" {
        (
            405,
            status_body(405, "MethodNotAllowed", "this test server only reads"),
        )
    } else if !authorized {
        (401, status_body(401, "Unauthorized", "Unauthorized"))
    } else {
        route(&path, state)
    };
    recorded.lock().unwrap().push(Recorded {
        method,
        uri,
        status,
    });
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn not_found(what: &str) -> (u16, Value) {
    (
        404,
        status_body(404, "NotFound", &format!("{what} not found")),
    )
}

fn route(path: &str, state: &State) -> (u16, Value) {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (api_version, rest): (String, &[&str]) = match segs.as_slice() {
        ["api"] => {
            return (
                200,
                json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
            );
        }
        ["apis"] => return (200, api_groups(state)),
        ["api", v, rest @ ..] => ((*v).to_owned(), rest),
        ["apis", g, v, rest @ ..] => (format!("{g}/{v}"), rest),
        _ => return not_found(path),
    };
    let served: Vec<&Resource> = state
        .resources
        .iter()
        .filter(|r| r.api_version == api_version)
        .collect();
    if served.is_empty() {
        return not_found(&format!(
            "the server could not find the requested resource ({api_version})"
        ));
    }
    let (namespace, plural, name) = match rest {
        [] => return (200, resource_list(&api_version, &served)),
        ["namespaces", ns, plural] => (*ns, *plural, None),
        ["namespaces", ns, plural, name] => (*ns, *plural, Some(*name)),
        [plural] => ("", *plural, None),
        [plural, name] => ("", *plural, Some(*name)),
        _ => return not_found(path),
    };
    let Some(resource) = served.iter().find(|r| r.plural == plural) else {
        return not_found(plural);
    };
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
            && o["kind"] == resource.kind
            && (namespace.is_empty() || o["metadata"]["namespace"] == namespace)
    });
    match name {
        Some(name) => match matching.clone().find(|o| o["metadata"]["name"] == name) {
            Some(o) => (200, o.clone()),
            None => not_found(&format!("{plural} \"{name}\"")),
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

fn api_groups(state: &State) -> Value {
    let mut groups: Vec<Value> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for r in &state.resources {
        if let Some((group, version)) = r.api_version.split_once('/')
            && !seen.contains(&r.api_version)
        {
            seen.push(r.api_version);
            let gv = json!({"groupVersion": r.api_version, "version": version});
            groups.push(json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv}));
        }
    }
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn resource_list(api_version: &str, served: &[&Resource]) -> Value {
    let resources: Vec<Value> = served
        .iter()
        .map(|r| {
            json!({"name": r.plural, "singularName": r.kind.to_lowercase(), "namespaced": r.namespaced,
                   "kind": r.kind, "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]})
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version, "resources": resources})
}
