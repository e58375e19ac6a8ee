//! `amlc diff --cluster` against an in-process API server (tests/support/apiserver.rs):
//! discovery, LIST, GET, 404, 403, a response slower than the timeout, a refused
//! connection, a bad kubeconfig and bad credentials. Every test checks that only GET
//! requests were sent.

use crate::support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use amlc::diff::live::{self, LiveOptions, Unreachable};
use amlc::diff::{self, Options, Origin, output};
use serde_json::{Value, json};
use support::apiserver::{ApiServer, Forbid, State, TOKEN, kubeconfig, standard_resources};

fn labels() -> Value {
    json!({"amlc/instance": "azureml"})
}

fn rendered() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "azureml", "labels": labels()}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "azureml-fe", "namespace": "azureml", "labels": labels()}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "azureml-fe-secret", "namespace": "azureml", "labels": labels()},
               "stringData": {"token": "s3cr3t"}, "type": "Opaque"}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "arcml-healthcheck", "namespace": "azureml", "labels": labels()},
               "data": {"interval": "60"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "not-yet-applied", "namespace": "azureml", "labels": labels()},
               "data": {"a": "b"}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "azureml-fe", "namespace": "azureml", "labels": labels()},
               "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 9001}], "selector": {"app": "azureml-fe"}, "type": "LoadBalancer"}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "azureml-fe", "labels": labels()},
               "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
        deployment(3),
        // A kind the cluster does not serve yet (its CRD is not installed).
        json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "azureml-fe", "namespace": "azureml", "labels": labels()}}),
    ]
}

fn deployment(replicas: u64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "azureml-fe-v2", "namespace": "azureml", "labels": labels()},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "azureml-fe"}},
            "template": {"metadata": {"labels": {"app": "azureml-fe"}},
                "spec": {"containers": [{"name": "azureml-fe", "image": "fe:1.1.35",
                    "resources": {"requests": {"cpu": "100m", "memory": "1Gi"}}}]}}
        }
    })
}

/// What the cluster holds: the render as the server returns it (server metadata, status,
/// defaults), with one replica instead of three, plus objects amlc does or does not own.
fn live_objects() -> Vec<Value> {
    let server = |mut o: Value, uid: &str| {
        o["metadata"]["uid"] = json!(uid);
        o["metadata"]["resourceVersion"] = json!("4242");
        o["metadata"]["creationTimestamp"] = json!("2025-01-10T09:00:00Z");
        o
    };
    let mut dep = server(deployment(1), "u-dep");
    dep["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": "2"});
    dep["spec"]["revisionHistoryLimit"] = json!(10);
    dep["spec"]["strategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
    dep["spec"]["template"]["spec"]["dnsPolicy"] = json!("ClusterFirst");
    let c = &mut dep["spec"]["template"]["spec"]["containers"][0];
    c["imagePullPolicy"] = json!("IfNotPresent");
    c["terminationMessagePath"] = json!("/dev/termination-log");
    c["resources"]["requests"]["memory"] = json!("1024Mi");
    dep["status"] = json!({"replicas": 1, "readyReplicas": 1});
    let r = rendered();
    let mut ns = server(r[0].clone(), "u-ns");
    ns["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!("azureml");
    ns["spec"] = json!({"finalizers": ["kubernetes"]});
    let mut svc = server(r[5].clone(), "u-svc");
    svc["spec"]["clusterIP"] = json!("10.0.0.10");
    svc["spec"]["ports"][0]["protocol"] = json!("TCP");
    svc["spec"]["ports"][0]["nodePort"] = json!(31000);
    vec![
        ns,
        server(r[1].clone(), "u-sa"),
        server(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "azureml-fe-secret", "namespace": "azureml", "labels": labels()},
                   "data": {"token": "czNjcjN0"}, "type": "Opaque"}),
            "u-secret",
        ),
        server(r[3].clone(), "u-cm"),
        svc,
        server(r[6].clone(), "u-cr"),
        dep,
        // Labelled as this instance's but no longer rendered: a removal.
        server(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "azureml-old", "namespace": "azureml", "labels": labels()},
                   "spec": {"ports": [{"port": 81}]}}),
            "u-old",
        ),
        // Not amlc's: never a removal.
        server(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "someone-else", "namespace": "azureml"},
                   "spec": {"ports": [{"port": 82}]}}),
            "u-other",
        ),
        server(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "system:basic-user"}}),
            "u-sys",
        ),
    ]
}

struct Harness {
    server: ApiServer,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

fn start(state: State) -> Harness {
    let server = ApiServer::start(state);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, kubeconfig_text(&server.url(), TOKEN)).unwrap();
    Harness {
        server,
        _dir: dir,
        kubeconfig,
    }
}

fn kubeconfig_text(url: &str, token: &str) -> String {
    kubeconfig(url, token)
}

fn opts(kubeconfig: &std::path::Path, timeout: Duration) -> LiveOptions {
    LiveOptions {
        kubeconfig: Some(kubeconfig.to_path_buf()),
        context: None,
        timeout,
        ..LiveOptions::default()
    }
}

fn assert_only_reads(server: &ApiServer) {
    let requests = server.recorded();
    assert!(!requests.is_empty());
    for r in &requests {
        assert_eq!(r.method, "GET", "a write was sent: {r:?}");
    }
}

fn diff_options() -> Options {
    Options {
        instance: "azureml".into(),
        ..Options::default()
    }
}

#[test]
fn live_diff_compares_reads_only_and_reports_forbidden_kinds() {
    let h = start(State {
        resources: standard_resources(),
        objects: live_objects(),
        forbid: vec![
            // Secrets: neither list nor get -> a warning, not compared.
            Forbid {
                verb: "list",
                plural: "secrets",
                namespace: "azureml",
            },
            Forbid {
                verb: "get",
                plural: "secrets",
                namespace: "azureml",
            },
            // ConfigMaps: get only -> compared by GET (one found, one 404).
            Forbid {
                verb: "list",
                plural: "configmaps",
                namespace: "azureml",
            },
        ],
        slow: vec![],
    });
    let side = live::fetch(&rendered(), &opts(&h.kubeconfig, Duration::from_secs(20))).unwrap();
    assert_eq!(side.origin, Origin::Live);
    let report = diff::diff(&rendered(), &side, &diff_options());
    let text = output::render_text(&report, false);

    // Replicas 1 -> 3 changed, the pod template did not (quantities and defaults aside);
    // the unserved ServiceMonitor and the ConfigMap the GET did not find are additions;
    // the labelled Service no longer rendered is a removal; the unlabelled one is not.
    assert_eq!(
        report.summary_line(),
        "2 to add, 1 to change, 1 to remove",
        "{text}"
    );
    let names: Vec<String> = report
        .objects
        .iter()
        .map(|o| format!("{} {} {}", o.change.as_str(), o.id.kind, o.id.name))
        .collect();
    assert_eq!(
        names,
        [
            "add ConfigMap not-yet-applied",
            "remove Service azureml-old",
            "change Deployment azureml-fe-v2",
            "add ServiceMonitor azureml-fe",
        ]
    );
    assert!(
        text.contains("--- live apps/v1 Deployment azureml/azureml-fe-v2\n"),
        "{text}"
    );
    assert!(text.contains("-  replicas: 1\n+  replicas: 3\n"), "{text}");
    assert!(!text.contains("Pods will restart"), "{text}");
    assert!(!text.contains("s3cr3t") && !text.contains("czNjcjN0"));
    assert_eq!(report.not_compared, 1, "the Secret");

    let warnings = report.warnings.join("\n");
    assert!(
        warnings.contains("cannot read Secret in namespace azureml (403 Forbidden): 1 not compared; grant `list secrets in namespace azureml`"),
        "{warnings}"
    );
    assert!(
        warnings.contains(
            "cannot list ConfigMap in namespace azureml (403 Forbidden), compared by GET instead"
        ),
        "{warnings}"
    );
    assert!(
        warnings.contains("the cluster does not serve monitoring.coreos.com/v1 ServiceMonitor"),
        "{warnings}"
    );

    assert_only_reads(&h.server);
    let uris: Vec<String> = h
        .server
        .recorded()
        .iter()
        .map(|r| format!("{} {}", r.status, r.uri))
        .collect();
    for expected in [
        "200 /api/v1",
        "200 /apis/apps/v1",
        "404 /apis/monitoring.coreos.com/v1",
        "200 /apis/apps/v1/namespaces/azureml/deployments?&limit=500",
        "200 /api/v1/namespaces?&limit=500",
        "200 /apis/rbac.authorization.k8s.io/v1/clusterroles?&limit=500",
        "403 /api/v1/namespaces/azureml/configmaps?&limit=500",
        "200 /api/v1/namespaces/azureml/configmaps/arcml-healthcheck",
        "404 /api/v1/namespaces/azureml/configmaps/not-yet-applied",
        "403 /api/v1/namespaces/azureml/secrets/azureml-fe-secret",
    ] {
        assert!(
            uris.iter().any(|u| u == expected),
            "no request {expected}:\n{}",
            uris.join("\n")
        );
    }
    // One LIST per kind and namespace, never one GET per object where LIST works.
    assert!(
        !uris.iter().any(|u| u.contains("/deployments/")),
        "{}",
        uris.join("\n")
    );
}

#[test]
fn live_copy_of_the_render_is_clean() {
    let mut objects = live_objects();
    objects.retain(|o| o["metadata"]["name"] != "azureml-old");
    let mut resources = standard_resources();
    resources.push(support::apiserver::Resource {
        api_version: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        plural: "servicemonitors",
        namespaced: true,
    });
    let mut rendered = rendered();
    rendered.retain(|o| o["metadata"]["name"] != "not-yet-applied");
    let mut sm = rendered.last().unwrap().clone();
    sm["metadata"]["uid"] = json!("u-sm");
    objects.push(sm);
    let fe = rendered
        .iter_mut()
        .find(|o| o["kind"] == "Deployment")
        .unwrap();
    fe["spec"]["replicas"] = json!(1);
    let h = start(State {
        resources,
        objects,
        ..State::default()
    });
    let side = live::fetch(&rendered, &opts(&h.kubeconfig, Duration::from_secs(20))).unwrap();
    let report = diff::diff(&rendered, &side, &diff_options());
    assert!(
        !report.has_differences(),
        "{}",
        output::render_text(&report, false)
    );
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_only_reads(&h.server);
}

#[test]
fn slow_cluster_past_the_timeout_is_unreachable() {
    let h = start(State {
        resources: standard_resources(),
        objects: live_objects(),
        slow: vec![("/deployments", Duration::from_secs(30))],
        ..State::default()
    });
    // Room enough for discovery to be answered on a loaded two-core machine before the
    // budget runs out on the slow LIST; far less than the slow answer takes.
    let started = Instant::now();
    let err = live::fetch(&rendered(), &opts(&h.kubeconfig, Duration::from_secs(3))).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        err,
        Unreachable("the cluster did not answer within 3s (--timeout)".into())
    );
    assert_only_reads(&h.server);
}

#[test]
fn refused_connection_is_unreachable_with_a_one_line_reason() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        kubeconfig_text(&format!("http://127.0.0.1:{port}"), TOKEN),
    )
    .unwrap();
    let Unreachable(reason) =
        live::fetch(&rendered(), &opts(&path, Duration::from_secs(10))).unwrap_err();
    assert!(reason.starts_with("cannot reach the cluster: "), "{reason}");
    assert!(reason.to_lowercase().contains("connect"), "{reason}");
    assert!(!reason.contains('\n'), "{reason}");
}

#[test]
fn bad_kubeconfig_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let Unreachable(reason) =
        live::fetch(&rendered(), &opts(&missing, Duration::from_secs(5))).unwrap_err();
    assert!(
        reason.starts_with("cannot load the kubeconfig: "),
        "{reason}"
    );

    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, "clusters: [[[").unwrap();
    let Unreachable(reason) =
        live::fetch(&rendered(), &opts(&garbage, Duration::from_secs(5))).unwrap_err();
    assert!(
        reason.starts_with("cannot load the kubeconfig: "),
        "{reason}"
    );

    let good = dir.path().join("good");
    std::fs::write(&good, kubeconfig_text("http://127.0.0.1:1", TOKEN)).unwrap();
    let mut o = opts(&good, Duration::from_secs(5));
    o.context = Some("no-such-context".into());
    let Unreachable(reason) = live::fetch(&rendered(), &o).unwrap_err();
    assert!(reason.contains("no-such-context"), "{reason}");
}

#[test]
fn rejected_credentials_are_unreachable() {
    let h = start(State {
        resources: standard_resources(),
        ..State::default()
    });
    std::fs::write(
        &h.kubeconfig,
        kubeconfig_text(&h.server.url(), "wrong-token"),
    )
    .unwrap();
    let Unreachable(reason) =
        live::fetch(&rendered(), &opts(&h.kubeconfig, Duration::from_secs(10))).unwrap_err();
    assert!(reason.contains("401 Unauthorized"), "{reason}");
    assert_only_reads(&h.server);
}
