//! Reads what the checks need from a live cluster, as `diff --cluster` does (kubeconfig,
//! context, exec auth, one overall timeout), with GET requests only: the server version, the
//! nodes and the pods on them, CRDs, admission webhooks, OpenShift's
//! SecurityContextConstraints, the objects the render names but does not create, and the
//! live objects of the rendered kinds. What cannot be read (403, a kind not served) is
//! recorded as such, so its check is reported as skipped while the rest still run.
//!
//! Secret values are dropped as each Secret is read: only the names of its keys are kept.

use std::collections::BTreeMap;

use futures::StreamExt as _;
use kube::core::params::GetParams;
use serde_json::Value;

use crate::diff::Side;
use crate::diff::live::{self, Failure, LiveOptions, Unreachable};
use crate::soundness::ObjectRef;

/// One read's result.
#[derive(Debug, Clone, PartialEq)]
pub enum Read<T> {
    Ok(T),
    /// 403: the RBAC rule that would allow it.
    Forbidden(String),
    /// The cluster does not serve this API (e.g. SecurityContextConstraints off OpenShift).
    NotServed,
}

impl<T> Read<T> {
    pub fn ok(&self) -> Option<&T> {
        match self {
            Read::Ok(t) => Some(t),
            _ => None,
        }
    }
}

/// An object looked up by reference: Some when present, None when absent.
pub type Lookup = Read<Option<Value>>;

/// What was read, as plain data for the checks.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// `gitVersion` of `/version`, e.g. `v1.32.4`.
    pub version: Read<String>,
    pub nodes: Read<Vec<Value>>,
    /// Pods in every namespace, for what they already take of their nodes.
    pub pods: Read<Vec<Value>>,
    pub crds: Read<Vec<Value>>,
    pub webhooks: Read<Vec<Value>>,
    pub sccs: Read<Vec<Value>>,
    /// Objects looked up by reference: Some when present, None when absent. Secrets keep
    /// their key names with empty values.
    pub objects: BTreeMap<ObjectRef, Read<Option<Value>>>,
    /// The live objects of the rendered kinds in the rendered namespaces.
    pub rendered_live: Side,
}

impl Snapshot {
    /// Whether a looked-up object is there: Some(true/false), None when it could not be read.
    pub fn has(&self, r: &ObjectRef) -> Option<bool> {
        match self.objects.get(r)? {
            Read::Ok(o) => Some(o.is_some()),
            _ => None,
        }
    }

    pub fn object(&self, r: &ObjectRef) -> Option<&Value> {
        self.objects.get(r)?.ok()?.as_ref()
    }
}

/// The URL of a kind the checks look objects up by; None for kinds they never look up.
fn base_url(kind: &str) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        "Namespace" => ("/api/v1", "namespaces"),
        "Secret" => ("/api/v1", "secrets"),
        "ServiceAccount" => ("/api/v1", "serviceaccounts"),
        "ConfigMap" => ("/api/v1", "configmaps"),
        "Service" => ("/api/v1", "services"),
        "PersistentVolume" => ("/api/v1", "persistentvolumes"),
        "PersistentVolumeClaim" => ("/api/v1", "persistentvolumeclaims"),
        "IngressClass" => ("/apis/networking.k8s.io/v1", "ingressclasses"),
        "ClusterRole" => ("/apis/rbac.authorization.k8s.io/v1", "clusterroles"),
        "Role" => ("/apis/rbac.authorization.k8s.io/v1", "roles"),
        "CustomResourceDefinition" => {
            ("/apis/apiextensions.k8s.io/v1", "customresourcedefinitions")
        }
        _ => return None,
    })
}

fn collection(base: &str, plural: &str, namespace: &str) -> String {
    if namespace.is_empty() {
        format!("{base}/{plural}")
    } else {
        format!("{base}/namespaces/{namespace}/{plural}")
    }
}

/// Reads everything, within the options' timeout.
pub async fn snapshot(
    rendered: &[Value],
    lookups: &[ObjectRef],
    opts: &LiveOptions,
) -> Result<Snapshot, Unreachable> {
    match tokio::time::timeout(opts.timeout, read(rendered, lookups, opts)).await {
        Ok(r) => r,
        Err(_) => Err(Unreachable(format!(
            "the cluster did not answer within {}s (--timeout)",
            opts.timeout.as_secs_f64()
        ))),
    }
}

async fn read(
    rendered: &[Value],
    lookups: &[ObjectRef],
    opts: &LiveOptions,
) -> Result<Snapshot, Unreachable> {
    let client = live::connect(opts).await?;
    // The version first: it is the cheapest proof that the cluster answers at all.
    let version = match client.apiserver_version().await.map_err(live::classify) {
        Ok(info) => Read::Ok(info.git_version),
        Err(Failure::Fatal(reason)) => return Err(Unreachable(reason)),
        Err(Failure::Forbidden) => Read::Forbidden("get /version".into()),
        Err(Failure::NotFound) => Read::NotServed,
    };
    let list = |base: &'static str, plural: &'static str, what: &'static str| {
        let client = client.clone();
        async move { list_all(&client, &collection(base, plural, ""), what).await }
    };
    let (nodes, pods, crds, webhooks, sccs) = futures::join!(
        list("/api/v1", "nodes", "list nodes (cluster-wide)"),
        list("/api/v1", "pods", "list pods (cluster-wide)"),
        list(
            "/apis/apiextensions.k8s.io/v1",
            "customresourcedefinitions",
            "list customresourcedefinitions.apiextensions.k8s.io"
        ),
        list(
            "/apis/admissionregistration.k8s.io/v1",
            "validatingwebhookconfigurations",
            "list validatingwebhookconfigurations.admissionregistration.k8s.io"
        ),
        list(
            "/apis/security.openshift.io/v1",
            "securitycontextconstraints",
            "list securitycontextconstraints.security.openshift.io"
        ),
    );
    let gets: Vec<(ObjectRef, Result<Lookup, Unreachable>)> =
        futures::stream::iter(lookups.iter().cloned().map(|r| {
            let client = client.clone();
            async move {
                let result = get(&client, &r).await;
                (r, result)
            }
        }))
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    let mut objects = BTreeMap::new();
    for (r, result) in gets {
        objects.insert(r, result?);
    }
    let rendered_live = live::fetch_async(rendered, opts).await?;
    Ok(Snapshot {
        version,
        nodes: nodes?,
        pods: pods?,
        crds: crds?,
        webhooks: webhooks?,
        sccs: sccs?,
        objects,
        rendered_live,
    })
}

/// Every item of a LIST, or why it could not be read.
async fn list_all(
    client: &kube::Client,
    url: &str,
    permission: &str,
) -> Result<Read<Vec<Value>>, Unreachable> {
    match live::list_pages(client, url).await {
        Ok(items) => Ok(Read::Ok(items)),
        Err(Failure::Fatal(reason)) => Err(Unreachable(reason)),
        Err(Failure::Forbidden) => Ok(Read::Forbidden(permission.to_owned())),
        Err(Failure::NotFound) => Ok(Read::NotServed),
    }
}

/// One object by reference.
async fn get(client: &kube::Client, r: &ObjectRef) -> Result<Read<Option<Value>>, Unreachable> {
    let Some((base, plural)) = base_url(&r.kind) else {
        return Ok(Read::NotServed);
    };
    let request = kube::core::Request::new(collection(base, plural, &r.namespace));
    let http = request
        .get(&r.name, &GetParams::default())
        .map_err(|e| Unreachable(format!("cannot build a request: {e}")))?;
    match client.request::<Value>(http).await.map_err(live::classify) {
        Ok(mut object) => {
            if r.kind == "Secret" {
                forget_values(&mut object);
            }
            Ok(Read::Ok(Some(object)))
        }
        Err(Failure::NotFound) => Ok(Read::Ok(None)),
        Err(Failure::Forbidden) => Ok(Read::Forbidden(if r.namespace.is_empty() {
            format!("get {plural}")
        } else {
            format!("get {plural} in namespace {}", r.namespace)
        })),
        Err(Failure::Fatal(reason)) => Err(Unreachable(reason)),
    }
}

/// Keeps a Secret's key names, never its values.
fn forget_values(secret: &mut Value) {
    for field in ["data", "stringData"] {
        if let Some(map) = secret.get_mut(field).and_then(Value::as_object_mut) {
            for v in map.values_mut() {
                *v = Value::String(String::new());
            }
        }
    }
    if let Some(annotations) = secret
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_keeps_its_key_names_only() {
        let mut s = serde_json::json!({"kind": "Secret", "metadata": {"name": "t", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"key.pem\":\"c2VjcmV0\"}}"}},
            "data": {"cert.pem": "Y2VydA==", "key.pem": "c2VjcmV0"}, "stringData": {"x": "y"}});
        forget_values(&mut s);
        let text = s.to_string();
        assert!(
            !text.contains("c2VjcmV0") && !text.contains("Y2VydA=="),
            "{text}"
        );
        assert_eq!(s["data"]["key.pem"], "");
    }
}
