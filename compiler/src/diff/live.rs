//! Reads the live side of `amlc diff --cluster` through the kube crate: kubeconfig and
//! context (token, client-certificate and exec auth as kubectl does), one discovery
//! request per rendered apiVersion, then one LIST per rendered kind and namespace (a LIST
//! also finds objects amlc labelled but no longer renders), a bounded number at a time,
//! all within one overall timeout.
//!
//! It only ever sends GET requests: no create, update, patch or delete. When listing a
//! kind is forbidden it falls back to a GET per rendered object; when that is forbidden
//! too, the kind is left out with a warning naming the permission to grant.
//! It does not compare anything; `diff` does. Removals are found only among the kinds
//! and namespaces the render still has: a kind amlc stopped rendering altogether is not
//! listed, so its leftover objects are not reported.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt as _;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::params::{GetParams, ListParams};
use serde_json::Value;

use super::{ObjectId, Origin, Side, Unread};

/// How to reach the cluster.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// A kubeconfig file; else `$KUBECONFIG`, `~/.kube/config`, or in-cluster config.
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// The whole read (connecting, discovery, every LIST) must finish within this.
    pub timeout: Duration,
    /// Requests in flight at once; kept small so a big render does not flood the server.
    pub concurrency: usize,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            kubeconfig: None,
            context: None,
            timeout: Duration::from_secs(30),
            concurrency: 4,
        }
    }
}

/// The cluster could not be read at all (exit 3): bad kubeconfig, unreachable,
/// unauthorised, or too slow. The text is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreachable(pub String);

/// Reads the live objects matching the rendered ones, blocking on a private runtime.
/// Call [`fetch_async`] instead from inside a tokio runtime.
pub fn fetch(rendered: &[Value], opts: &LiveOptions) -> Result<Side, Unreachable> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Unreachable(format!("cannot start the network runtime: {e}")))?;
    runtime.block_on(fetch_async(rendered, opts))
}

/// Reads the live objects matching the rendered ones.
pub async fn fetch_async(rendered: &[Value], opts: &LiveOptions) -> Result<Side, Unreachable> {
    match tokio::time::timeout(opts.timeout, read_cluster(rendered, opts)).await {
        Ok(result) => result,
        Err(_) => Err(Unreachable(format!(
            "the cluster did not answer within {}s (--timeout)",
            opts.timeout.as_secs_f64()
        ))),
    }
}

/// What the render asks of one kind: its resource and the namespaces to read.
struct KindPlan {
    api_version: String,
    kind: String,
    /// Rendered object names per namespace ("" when cluster-scoped).
    names: BTreeMap<String, Vec<String>>,
}

async fn read_cluster(rendered: &[Value], opts: &LiveOptions) -> Result<Side, Unreachable> {
    let client = connect(opts).await?;
    let plans = plan(rendered);

    // Discovery: one request per apiVersion, for resource names and scope.
    let versions: BTreeSet<&str> = plans.iter().map(|p| p.api_version.as_str()).collect();
    let discovered: Vec<(
        String,
        Result<k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList, Failure>,
    )> = futures::stream::iter(versions.into_iter().map(|v| {
        let client = client.clone();
        async move {
            let result = if v.contains('/') {
                client.list_api_group_resources(v).await
            } else {
                client.list_core_api_resources(v).await
            };
            (v.to_owned(), result.map_err(classify))
        }
    }))
    .buffer_unordered(opts.concurrency.max(1))
    .collect()
    .await;
    let discovered: BTreeMap<String, _> = discovered.into_iter().collect();

    let mut side = Side::new(Origin::Live, Vec::new());
    let mut reads = Vec::new();
    for p in &plans {
        let Some(discovery) = discovered.get(&p.api_version) else {
            continue;
        };
        let resources = match discovery {
            Ok(list) => list,
            Err(Failure::Fatal(reason)) => return Err(Unreachable(reason.clone())),
            Err(Failure::NotFound) => {
                side.warnings.push(format!(
                    "the cluster does not serve {} {}: its rendered objects count as additions",
                    p.api_version, p.kind
                ));
                continue;
            }
            Err(Failure::Forbidden) => {
                side.warnings.push(format!(
                    "discovery of {} is forbidden: {} objects were not compared",
                    p.api_version, p.kind
                ));
                mark_unread(&mut side, p);
                continue;
            }
        };
        let Some(resource) = resources
            .resources
            .iter()
            .find(|r| r.kind == p.kind && !r.name.contains('/'))
        else {
            side.warnings.push(format!(
                "the cluster does not serve {} {}: its rendered objects count as additions",
                p.api_version, p.kind
            ));
            continue;
        };
        // A cluster-scoped kind is one LIST, whatever namespaces its objects were given.
        let scopes: Vec<(String, Vec<String>)> = if resource.namespaced {
            p.names.clone().into_iter().collect()
        } else {
            vec![(String::new(), p.names.values().flatten().cloned().collect())]
        };
        for (namespace, names) in scopes {
            // amlc renders every namespaced object with its namespace; one without would
            // be listed across all namespaces and match nothing, so it shows as an addition.
            reads.push(Read {
                api_version: p.api_version.clone(),
                kind: p.kind.clone(),
                plural: resource.name.clone(),
                namespaced: resource.namespaced,
                namespace,
                names,
            });
        }
    }

    let outcomes: Vec<Result<ReadOutcome, Unreachable>> =
        futures::stream::iter(reads.into_iter().map(|r| {
            let client = client.clone();
            async move { r.run(&client).await }
        }))
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    let mut outcomes = outcomes.into_iter().collect::<Result<Vec<_>, _>>()?;
    // Requests finish in any order; sort so warnings and objects come out the same each run.
    outcomes.sort_by(|a, b| a.key.cmp(&b.key));
    for o in outcomes {
        side.objects.extend(o.objects);
        side.warnings.extend(o.warning);
        side.unread.extend(o.unread);
    }
    Ok(side)
}

fn mark_unread(side: &mut Side, p: &KindPlan) {
    for namespace in p.names.keys() {
        side.unread.push(Unread {
            group: super::group_of(&p.api_version).to_owned(),
            kind: p.kind.clone(),
            namespace: namespace.clone(),
        });
    }
}

/// A kubeconfig that is not there, said plainly: the client library's own message nests
/// every way it tried (in-cluster, then the file) in parentheses.
fn missing_kubeconfig(opts: &LiveOptions) -> Option<Unreachable> {
    if let Some(path) = &opts.kubeconfig {
        return (!path.is_file()).then(|| {
            Unreachable(format!(
                "cannot load the kubeconfig: {} is not a file (--kubeconfig)",
                path.display()
            ))
        });
    }
    let in_cluster = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    let from_env = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty());
    let paths: Vec<PathBuf> = match &from_env {
        Some(list) => std::env::split_paths(list).collect(),
        None => std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".kube/config"))
            .into_iter()
            .collect(),
    };
    if in_cluster || paths.iter().any(|p| p.is_file()) {
        return None;
    }
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let source = if from_env.is_some() {
        "KUBECONFIG names"
    } else {
        "the default kubeconfig is"
    };
    Some(Unreachable(format!(
        "no kubeconfig: {source} {}, which does not exist, and this is not a pod inside a cluster; pass --kubeconfig FILE or set KUBECONFIG",
        if shown.is_empty() {
            "nothing".to_owned()
        } else {
            shown.join(", ")
        }
    )))
}

pub(crate) async fn connect(opts: &LiveOptions) -> Result<kube::Client, Unreachable> {
    if let Some(missing) = missing_kubeconfig(opts) {
        return Err(missing);
    }
    let options = KubeConfigOptions {
        context: opts.context.clone(),
        cluster: None,
        user: None,
    };
    let config = match &opts.kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path).map_err(|e| bad_kubeconfig(&e))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| bad_kubeconfig(&e))?
        }
        None if opts.context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| bad_kubeconfig(&e))?,
        None => kube::Config::infer()
            .await
            .map_err(|e| bad_kubeconfig(&e))?,
    };
    let mut config = config;
    config.connect_timeout = Some(opts.timeout);
    config.read_timeout = Some(opts.timeout);
    kube::Client::try_from(config).map_err(|e| {
        Unreachable(format!(
            "cannot set up the cluster client: {}",
            one_line(&e)
        ))
    })
}

fn bad_kubeconfig(e: &dyn std::error::Error) -> Unreachable {
    Unreachable(format!("cannot load the kubeconfig: {}", one_line(e)))
}

/// An error and its causes on one line, without repeats (kube nests hyper's errors, whose
/// messages often repeat their source's).
pub(crate) fn one_line(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = current {
        let text = err.to_string().replace('\n', " ");
        // The OS error number says nothing the message does not.
        let text = match text.find(" (os error ") {
            Some(i) => text[..i].to_owned(),
            None => text,
        };
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = err.source();
    }
    tidy(&parts.join(": "))
}

/// Quotes as a person writes them, and no parenthesis left open by a cut message.
fn tidy(text: &str) -> String {
    let text = text.replace("'\"", "'").replace("\"'", "'");
    if text.matches('(').count() == text.matches(')').count() {
        return text;
    }
    text.replace(['(', ')'], "")
}

/// The rendered objects grouped by apiVersion and kind, with their namespaces and names.
fn plan(rendered: &[Value]) -> Vec<KindPlan> {
    let mut by_kind: BTreeMap<(String, String), BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for object in rendered {
        let (Some(id), Some(api_version)) = (
            ObjectId::of(object),
            object.get("apiVersion").and_then(Value::as_str),
        ) else {
            continue;
        };
        by_kind
            .entry((api_version.to_owned(), id.kind))
            .or_default()
            .entry(id.namespace)
            .or_default()
            .push(id.name);
    }
    by_kind
        .into_iter()
        .map(|((api_version, kind), names)| KindPlan {
            api_version,
            kind,
            names,
        })
        .collect()
}

pub(crate) enum Failure {
    Forbidden,
    NotFound,
    Fatal(String),
}

pub(crate) fn classify(e: kube::Error) -> Failure {
    match &e {
        kube::Error::Api(status) if status.code == 403 => Failure::Forbidden,
        kube::Error::Api(status) if status.code == 404 => Failure::NotFound,
        kube::Error::Api(status) if status.code == 401 => Failure::Fatal(
            "the cluster refused the credentials (401 Unauthorized): check the kubeconfig user"
                .into(),
        ),
        _ => Failure::Fatal(format!("cannot reach the cluster: {}", one_line(&e))),
    }
}

/// Every item of a LIST at `url`, page by page (bounded memory and response size on big
/// clusters).
pub(crate) async fn list_pages(client: &kube::Client, url: &str) -> Result<Vec<Value>, Failure> {
    let request = kube::core::Request::new(url);
    let mut items = Vec::new();
    let mut continue_token: Option<String> = None;
    loop {
        let mut params = ListParams::default().limit(PAGE_SIZE);
        if let Some(t) = &continue_token {
            params = params.continue_token(t);
        }
        let http = request
            .list(&params)
            .map_err(|e| Failure::Fatal(format!("cannot build a request: {e}")))?;
        let page: Value = client.request(http).await.map_err(classify)?;
        if let Some(list) = page.get("items").and_then(Value::as_array) {
            items.extend(list.iter().cloned());
        }
        continue_token = page
            .pointer("/metadata/continue")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if continue_token.is_none() {
            return Ok(items);
        }
    }
}

/// One LIST (or GETs in its place) of one kind in one namespace.
struct Read {
    api_version: String,
    kind: String,
    plural: String,
    namespaced: bool,
    /// "" for cluster-scoped kinds.
    namespace: String,
    names: Vec<String>,
}

struct ReadOutcome {
    key: (String, String, String),
    objects: Vec<Value>,
    warning: Option<String>,
    unread: Option<Unread>,
}

/// Objects per LIST page: bounded memory and response size on big clusters.
const PAGE_SIZE: u32 = 500;

impl Read {
    fn url(&self) -> String {
        let base = if self.api_version.contains('/') {
            format!("/apis/{}", self.api_version)
        } else {
            format!("/api/{}", self.api_version)
        };
        if self.namespaced && !self.namespace.is_empty() {
            format!("{base}/namespaces/{}/{}", self.namespace, self.plural)
        } else {
            format!("{base}/{}", self.plural)
        }
    }

    /// `list deployments.apps in namespace azureml`: the RBAC rule that would allow the read.
    fn permission(&self, verb: &str) -> String {
        let group = super::group_of(&self.api_version);
        let resource = if group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{group}", self.plural)
        };
        if self.namespace.is_empty() {
            format!("{verb} {resource} (cluster-wide)")
        } else {
            format!("{verb} {resource} in namespace {}", self.namespace)
        }
    }

    fn where_(&self) -> String {
        if self.namespace.is_empty() {
            String::new()
        } else {
            format!(" in namespace {}", self.namespace)
        }
    }

    async fn run(self, client: &kube::Client) -> Result<ReadOutcome, Unreachable> {
        let mut outcome = ReadOutcome {
            key: (
                self.api_version.clone(),
                self.kind.clone(),
                self.namespace.clone(),
            ),
            objects: Vec::new(),
            warning: None,
            unread: None,
        };
        match self.list(client).await {
            Ok(objects) => outcome.objects = objects,
            Err(Failure::Fatal(reason)) => return Err(Unreachable(reason)),
            // A namespace that does not exist yet holds nothing.
            Err(Failure::NotFound) => {}
            Err(Failure::Forbidden) => match self.get_each(client).await {
                Ok(objects) => {
                    outcome.objects = objects;
                    outcome.warning = Some(format!(
                        "cannot list {}{} (403 Forbidden), compared by GET instead: objects amlc no longer renders are not found; grant `{}`",
                        self.kind,
                        self.where_(),
                        self.permission("list")
                    ));
                }
                Err(Failure::Fatal(reason)) => return Err(Unreachable(reason)),
                Err(_) => {
                    outcome.warning = Some(format!(
                        "cannot read {}{} (403 Forbidden): {} not compared; grant `{}`",
                        self.kind,
                        self.where_(),
                        self.names.len(),
                        self.permission("list")
                    ));
                    outcome.unread = Some(Unread {
                        group: super::group_of(&self.api_version).to_owned(),
                        kind: self.kind.clone(),
                        namespace: self.namespace.clone(),
                    });
                }
            },
        }
        Ok(outcome)
    }

    async fn list(&self, client: &kube::Client) -> Result<Vec<Value>, Failure> {
        let items = list_pages(client, &self.url()).await?;
        Ok(items.into_iter().map(|i| self.typed(i)).collect())
    }

    async fn get_each(&self, client: &kube::Client) -> Result<Vec<Value>, Failure> {
        let request = kube::core::Request::new(self.url());
        let mut objects = Vec::new();
        for name in &self.names {
            let http = request
                .get(name, &GetParams::default())
                .map_err(|e| Failure::Fatal(format!("cannot build a request: {e}")))?;
            match client.request::<Value>(http).await.map_err(classify) {
                Ok(object) => objects.push(self.typed(object)),
                Err(Failure::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(objects)
    }

    /// LIST items carry no apiVersion or kind; put them back so objects match.
    fn typed(&self, mut object: Value) -> Value {
        if let Value::Object(m) = &mut object {
            m.insert("apiVersion".into(), Value::String(self.api_version.clone()));
            m.insert("kind".into(), Value::String(self.kind.clone()));
        }
        object
    }
}
