//! `amlc doctor` against the in-process API server (tests/support/apiserver.rs): one healthy
//! cluster that gives exit 0, then one cluster per check that fails it, then a forbidden
//! read (that check skipped, the others run), an unreachable cluster, bad credentials and a
//! slow server. Every test checks that only GET requests were sent, and no test shows a
//! Secret's value.

use crate::common;
use crate::support::apiserver::{
    ApiServer, Cluster, Discovery, Forbid, Served, TOKEN, builtin_resources, kubeconfig,
};

use std::path::PathBuf;
use std::time::Duration;

use amlc::diff::live::LiveOptions;
use amlc::doctor::{Finding, Severity};
use serde_json::{Value, json};

/// Extension pods run anywhere; training and HTTP inference; one node (test profile).
const BASE: &str = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks, nodeCount: 1}\ninference: {enabled: true, allowInsecureConnections: true}\n";

struct Fixture {
    server: ApiServer,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Fixture {
    fn new(resources: Vec<Served>, objects: Vec<Value>, forbid: Vec<Forbid>) -> Fixture {
        let server = ApiServer::start_cluster(Cluster {
            resources,
            discovery: Discovery::Aggregated,
            token_required: true,
        });
        server.hold(objects, forbid);
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_for(&server.url(), TOKEN)).unwrap();
        Fixture {
            server,
            dir,
            kubeconfig,
        }
    }

    fn healthy(objects: Vec<Value>) -> Fixture {
        let mut all = cluster_basics();
        all.extend(objects);
        Fixture::new(builtin_resources(), all, Vec::new())
    }

    fn options(&self, timeout: Duration) -> LiveOptions {
        LiveOptions {
            kubeconfig: Some(self.kubeconfig.clone()),
            timeout,
            ..LiveOptions::default()
        }
    }

    /// Runs the checks through the library.
    fn findings(&self, config: &str) -> Vec<Finding> {
        let source = amlc::diagnostic::Source::new("amlc.yaml", config);
        let validated =
            amlc::validate::validate(&source, &amlc::validate::NoFiles { now_unix: 0 }).unwrap();
        let catalog = amlc::catalog::Catalog::embedded().unwrap();
        let build = amlc::build(&validated, &catalog).unwrap();
        let findings = amlc::doctor::run(
            &validated.config,
            &build,
            &self.options(Duration::from_secs(20)),
        )
        .unwrap();
        self.assert_only_gets();
        findings
    }

    /// Runs `amlc doctor` through the binary: exit code, stdout, stderr.
    fn run(&self, config: &str, extra: &[&str]) -> (i32, String, String) {
        std::fs::write(self.dir.path().join("amlc.yaml"), config).unwrap();
        let mut args = vec![
            "doctor",
            "-c",
            "amlc.yaml",
            "--kubeconfig",
            self.kubeconfig.to_str().unwrap(),
        ];
        args.extend(extra);
        let out = common::run(self.dir.path(), &args);
        self.assert_only_gets();
        out
    }

    fn assert_only_gets(&self) {
        let requests = self.server.recorded();
        assert!(!requests.is_empty());
        for r in &requests {
            assert_eq!(r.method, "GET", "a write was sent: {r:?}");
        }
    }
}

fn kubeconfig_for(url: &str, token: &str) -> String {
    kubeconfig(url, token)
}

fn node(name: &str, cpu: &str, memory: &str, labels: Value, taints: Value) -> Value {
    let mut l = json!({"kubernetes.io/os": "linux", "kubernetes.io/hostname": name});
    for (k, v) in labels.as_object().unwrap() {
        l[k] = v.clone();
    }
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": l},
           "spec": {"taints": taints},
           "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"}}})
}

fn big_node(name: &str) -> Value {
    node(name, "16", "64Gi", json!({}), json!([]))
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

/// What every cluster has: its namespaces and one roomy node.
fn cluster_basics() -> Vec<Value> {
    vec![
        namespace("default"),
        namespace("kube-system"),
        big_node("node-1"),
    ]
}

fn codes(findings: &[Finding]) -> Vec<(&'static str, Severity)> {
    findings.iter().map(|f| (f.code, f.severity)).collect()
}

fn has<'a>(findings: &'a [Finding], code: &str, severity: Severity) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.code == code && f.severity == severity)
        .unwrap_or_else(|| panic!("no {severity:?} {code} in {findings:#?}"))
}

#[test]
fn a_healthy_cluster_passes_with_exit_0() {
    let f = Fixture::healthy(Vec::new());
    assert_eq!(codes(&f.findings(BASE)), []);
    let (code, stdout, stderr) = f.run(BASE, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "doctor: 0 errors, 0 warnings, 0 skipped: nothing found that would fail the install\n"
    );
    let (code, stdout, _) = f.run(BASE, &["--output", "json"]);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap(), json!([]));
}

#[test]
fn a_kubernetes_version_outside_the_window_is_an_error() {
    let f = Fixture::healthy(Vec::new());
    f.server.claim_version("1", "29");
    let found = f.findings(BASE);
    let v = has(&found, "amlc::doctor::kubernetes-version", Severity::Error);
    assert!(v.message.contains("v1.29.4"), "{}", v.message);
    // Through the binary: exit 1, text grouped by severity, JSON with the fixed fields.
    let (code, stdout, _) = f.run(BASE, &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.starts_with("error: /version: the cluster runs Kubernetes v1.29.4"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("doctor: 1 error, 0 warnings, 0 skipped: the install would fail\n"),
        "{stdout}"
    );
    let (_, stdout, _) = f.run(BASE, &["--output", "json"]);
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let keys: Vec<&str> = json[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["code", "help", "message", "object", "severity"]);
    assert_eq!(json[0]["severity"], "error");
}

#[test]
fn requests_that_do_not_fit_the_nodes_are_an_error() {
    let small = node("small", "1", "2Gi", json!({}), json!([]));
    let busy = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hog", "namespace": "default"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", "resources": {"requests": {"cpu": "15500m", "memory": "60Gi"}}}]},
        "status": {"phase": "Running"}});
    let f = Fixture::new(
        builtin_resources(),
        vec![namespace("default"), big_node("node-1"), small, busy],
        Vec::new(),
    );
    let found = f.findings(BASE);
    let c = has(&found, "amlc::doctor::capacity", Severity::Error);
    assert!(
        c.message.contains("the 2 nodes it may use (node-1, small)"),
        "{}",
        c.message
    );
}

#[test]
fn production_needs_three_nodes_for_the_azureml_fe_spread_and_warns_on_limits() {
    let production = BASE.replace("nodeCount: 1", "nodeCount: 3");
    let f = Fixture::new(
        builtin_resources(),
        vec![
            namespace("default"),
            node("a", "6", "16Gi", json!({}), json!([])),
            node("b", "6", "16Gi", json!({}), json!([])),
        ],
        Vec::new(),
    );
    let found = f.findings(&production);
    has(&found, "amlc::doctor::spread", Severity::Error);
    let limits = has(&found, "amlc::doctor::limits", Severity::Warning);
    assert!(
        limits.message.contains("(12000m, 32768Mi)"),
        "{}",
        limits.message
    );
}

#[test]
fn taints_the_extension_does_not_tolerate_strand_its_pods() {
    let tainted = node(
        "node-1",
        "16",
        "64Gi",
        json!({}),
        json!([{"key": "ml.azure.com/amlarc-workload", "value": "true", "effect": "NoSchedule"}]),
    );
    let f = Fixture::new(
        builtin_resources(),
        vec![namespace("default"), tainted],
        Vec::new(),
    );
    let found = f.findings(BASE);
    let u = has(&found, "amlc::doctor::unschedulable", Severity::Error);
    assert!(
        u.message
            .contains("taint ml.azure.com/amlarc-workload=true:NoSchedule not tolerated"),
        "{}",
        u.message
    );
}

#[test]
fn nodes_the_taint_selector_picks_must_carry_the_taints() {
    let config = format!("{BASE}taints:\n  keys: [overall]\n  nodeSelector: {{agentpool: gpu}}\n");
    let gpu = node(
        "gpu-1",
        "16",
        "64Gi",
        json!({"agentpool": "gpu"}),
        json!([]),
    );
    let f = Fixture::healthy(vec![gpu]);
    let found = f.findings(&config);
    let t = has(&found, "amlc::doctor::taints-missing", Severity::Warning);
    assert_eq!(t.object, "Node gpu-1");
    assert!(
        t.help
            .starts_with("kubectl taint nodes gpu-1 ml.azure.com/amlarc=true:NoSchedule"),
        "{}",
        t.help
    );
}

#[test]
fn a_legacy_azureml_fe_owned_by_something_else_is_a_conflict() {
    let legacy = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "azureml-fe", "namespace": "azureml", "labels": {"app": "azureml-fe"}},
        "spec": {"ports": [{"port": 80}]}});
    let ours = json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "gateway", "namespace": "azureml", "labels": {"amlc/instance": "azureml"}}});
    let f = Fixture::healthy(vec![namespace("azureml"), legacy, ours]);
    let found = f.findings(BASE);
    let c = has(&found, "amlc::doctor::conflict", Severity::Error);
    assert_eq!(c.object, "Service azureml/azureml-fe");
    assert!(c.help.contains("AKS-v1"), "{}", c.help);
    // The object amlc itself labelled is no conflict.
    assert_eq!(
        found
            .iter()
            .filter(|f| f.code == "amlc::doctor::conflict")
            .count(),
        1
    );
}

#[test]
fn prometheus_crds_of_another_release_suggest_reusing_it() {
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "prometheuses.monitoring.coreos.com", "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": "kube-prometheus-stack", "meta.helm.sh/release-namespace": "monitoring"}},
        "spec": {"group": "monitoring.coreos.com", "names": {"kind": "Prometheus", "plural": "prometheuses"}, "scope": "Namespaced"}});
    let f = Fixture::healthy(vec![crd]);
    let found = f.findings(BASE);
    let p = has(
        &found,
        "amlc::doctor::foreign-prometheus-operator",
        Severity::Error,
    );
    assert!(
        p.message
            .contains("Helm release kube-prometheus-stack in namespace monitoring"),
        "{}",
        p.message
    );
    assert!(
        p.help.contains("monitoring.prometheusOperator: false"),
        "{}",
        p.help
    );
}

#[test]
fn another_ingress_nginx_webhook_that_fails_closed_is_an_error() {
    let config = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks}\ninference: {enabled: true, routerServiceType: ClusterIP, allowInsecureConnections: true}\ningress: {controller: nginx}\n";
    let webhook = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "ingress-nginx-admission"},
        "webhooks": [{"name": "validate.nginx.ingress.kubernetes.io", "failurePolicy": "Fail",
            "rules": [{"apiGroups": ["networking.k8s.io"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["ingresses"]}],
            "clientConfig": {"service": {"name": "ingress-nginx-controller-admission", "namespace": "ingress-nginx"}}}]});
    let f = Fixture::healthy(vec![webhook]);
    let found = f.findings(config);
    let w = has(
        &found,
        "amlc::doctor::foreign-ingress-webhook",
        Severity::Error,
    );
    assert_eq!(
        w.object,
        "ValidatingWebhookConfiguration ingress-nginx-admission"
    );
}

/// An earlier install of the same render (bundled ingress-nginx, its webhook fails closed)
/// holds the webhook configuration the render writes: that is the extension's own, not a
/// foreign controller's.
#[test]
fn the_renders_own_ingress_nginx_webhook_is_not_foreign() {
    let config = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks, nodeCount: 1}\ninference: {enabled: true, allowInsecureConnections: true, nginxIngress: true}\n";
    let source = amlc::diagnostic::Source::new("amlc.yaml", config);
    let validated =
        amlc::validate::validate(&source, &amlc::validate::NoFiles { now_unix: 0 }).unwrap();
    let catalog = amlc::catalog::Catalog::embedded().unwrap();
    let build = amlc::build(&validated, &catalog).unwrap();
    let own: Vec<Value> = build
        .objects
        .iter()
        .map(|o| o.value().clone())
        .filter(|o| {
            o["kind"] == "ValidatingWebhookConfiguration"
                && o["webhooks"].as_array().into_iter().flatten().any(|w| {
                    w["name"]
                        .as_str()
                        .is_some_and(|n| n.contains("nginx.ingress.kubernetes.io"))
                })
        })
        .collect();
    assert_eq!(own.len(), 1, "the render has its ingress-nginx webhook");
    let f = Fixture::healthy(own);
    let found = f.findings(config);
    assert!(
        !codes(&found).contains(&("amlc::doctor::foreign-ingress-webhook", Severity::Error)),
        "{:?}",
        codes(&found)
    );
    assert!(
        !codes(&found).contains(&("amlc::doctor::foreign-ingress-webhook", Severity::Warning)),
        "{:?}",
        codes(&found)
    );
}

#[test]
fn the_tls_secret_must_exist_with_its_keys_and_its_values_are_never_shown() {
    let config = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks}\ninference:\n  enabled: true\n  ssl: {cname: ml.contoso.com, secretName: fe-tls}\n";
    let f = Fixture::healthy(Vec::new());
    let found = f.findings(config);
    let m = has(&found, "amlc::doctor::missing-object", Severity::Error);
    assert_eq!(m.object, "Secret azureml/fe-tls");
    assert!(m.help.contains("cert.pem"), "{}", m.help);
    // Present, with the wrong keys: named, and the value nowhere.
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "fe-tls", "namespace": "azureml"},
        "type": "kubernetes.io/tls", "data": {"tls.crt": "Q0VSVElGSUNBVEU=", "tls.key": "UFJJVkFURUtFWVZBTFVF"}});
    let f = Fixture::healthy(vec![secret]);
    let found = f.findings(config);
    let k = has(&found, "amlc::doctor::secret-keys", Severity::Error);
    assert!(k.message.contains("cert.pem, key.pem"), "{}", k.message);
    let (code, stdout, stderr) = f.run(config, &["--output", "json"]);
    assert_eq!(code, 1);
    assert!(!stdout.contains("UFJJVkFURUtFWVZBTFVF") && !stderr.contains("UFJJVkFURUtFWVZBTFVF"));
}

#[test]
fn the_compute_namespace_must_exist() {
    let config = BASE.replace("nodeCount: 1", "nodeCount: 1, computeNamespace: ml-jobs");
    let f = Fixture::healthy(Vec::new());
    let found = f.findings(&config);
    let m = has(&found, "amlc::doctor::missing-object", Severity::Error);
    assert_eq!(m.object, "Namespace ml-jobs");
    assert_eq!(m.help, "kubectl create namespace ml-jobs");
}

#[test]
fn the_ingress_class_of_the_chosen_controller_must_exist() {
    let config = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: arc}\ninference: {enabled: true, routerServiceType: ClusterIP, allowInsecureConnections: true}\ningress: {controller: nginx}\n";
    let f = Fixture::healthy(vec![namespace("azure-arc"), relay_secret()]);
    let found = f.findings(config);
    let m = has(&found, "amlc::doctor::missing-object", Severity::Error);
    assert_eq!(m.object, "IngressClass nginx");
}

fn relay_secret() -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "relayserver-connection", "namespace": "azureml"},
           "data": {"connectionString": "RW5kcG9pbnQ9c2I6Ly8="}})
}

#[test]
fn an_arc_type_needs_the_arc_agents() {
    let config = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: arc}\ntraining: {enabled: true}\n";
    let f = Fixture::healthy(vec![relay_secret()]);
    let found = f.findings(config);
    let a = has(&found, "amlc::doctor::not-arc-connected", Severity::Error);
    assert_eq!(a.object, "Namespace azure-arc");
    // With the agents there, nothing is left.
    let f = Fixture::healthy(vec![relay_secret(), namespace("azure-arc")]);
    assert_eq!(codes(&f.findings(config)), []);
}

fn scc_resource() -> Served {
    Served {
        group: "security.openshift.io".into(),
        version: "v1".into(),
        kind: "SecurityContextConstraints".into(),
        plural: "securitycontextconstraints".into(),
        singular: "securitycontextconstraints".into(),
        namespaced: false,
        short_names: vec!["scc".into()],
        categories: Vec::new(),
        subresources: Vec::new(),
    }
}

#[test]
fn openshift_needs_its_security_context_constraints() {
    let config = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: ocp}\ntraining: {enabled: true}\n";
    let openshift_basics = || {
        let arc_account = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "azure-arc-kube-aad-proxy-sa", "namespace": "azure-arc"}});
        let scc_role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:openshift:scc:privileged"}});
        let mut o = cluster_basics();
        o.extend([
            namespace("azure-arc"),
            relay_secret(),
            arc_account,
            scc_role,
        ]);
        o
    };
    // A cluster that serves no SCC API is not OpenShift.
    let f = Fixture::new(builtin_resources(), openshift_basics(), Vec::new());
    has(
        &f.findings(config),
        "amlc::doctor::not-openshift",
        Severity::Error,
    );
    // The API without the privileged SCC.
    let mut resources = builtin_resources();
    resources.push(scc_resource());
    let restricted = json!({"apiVersion": "security.openshift.io/v1", "kind": "SecurityContextConstraints",
        "metadata": {"name": "restricted-v2"}, "users": []});
    let mut objects = openshift_basics();
    objects.push(restricted.clone());
    let f = Fixture::new(resources.clone(), objects, Vec::new());
    has(
        &f.findings(config),
        "amlc::doctor::scc-missing",
        Severity::Error,
    );
    // And with it, the OpenShift cluster passes.
    let privileged = json!({"apiVersion": "security.openshift.io/v1", "kind": "SecurityContextConstraints",
        "metadata": {"name": "privileged"}, "users": ["system:admin"]});
    let mut objects = openshift_basics();
    objects.extend([restricted, privileged]);
    let f = Fixture::new(resources, objects, Vec::new());
    assert_eq!(codes(&f.findings(config)), []);
}

#[test]
fn a_forbidden_read_skips_its_check_and_the_rest_still_run() {
    let mut objects = cluster_basics();
    objects.push(node("tiny", "100m", "128Mi", json!({}), json!([])));
    let f = Fixture::new(
        builtin_resources(),
        objects,
        vec![Forbid {
            verb: "list",
            plural: "nodes",
            namespace: "",
        }],
    );
    f.server.claim_version("1", "29");
    let found = f.findings(BASE);
    let s = has(&found, "amlc::doctor::skipped", Severity::Skipped);
    assert_eq!(s.object, "nodes");
    assert!(
        s.help.contains("grant `list nodes (cluster-wide)`"),
        "{}",
        s.help
    );
    // The version check still ran; capacity did not.
    has(&found, "amlc::doctor::kubernetes-version", Severity::Error);
    assert!(!found.iter().any(|f| f.code == "amlc::doctor::capacity"));
    let (code, stdout, _) = f.run(BASE, &[]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("\nskipped: nodes: scheduling, capacity and taints was not checked"),
        "{stdout}"
    );
}

/// Exit 3 with one line of reason, nothing on stdout.
fn assert_unreachable(out: (i32, String, String), want: &str) {
    let (code, stdout, stderr) = out;
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(want),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_cluster_is_exit_3_with_one_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("amlc.yaml"), BASE).unwrap();
    std::fs::write(
        dir.path().join("kc"),
        kubeconfig_for(&format!("http://127.0.0.1:{port}"), TOKEN),
    )
    .unwrap();
    let out = common::run(
        dir.path(),
        &["doctor", "--kubeconfig", "kc", "--timeout", "10"],
    );
    assert_unreachable(out, "cannot reach the cluster");
    let out = common::run(
        dir.path(),
        &["doctor", "--kubeconfig", "missing-kubeconfig"],
    );
    assert_unreachable(out, "cannot load the kubeconfig");
}

#[test]
fn expired_credentials_are_exit_3_with_one_line() {
    let f = Fixture::healthy(Vec::new());
    std::fs::write(
        &f.kubeconfig,
        kubeconfig_for(&f.server.url(), "expired-token"),
    )
    .unwrap();
    assert_unreachable(f.run(BASE, &[]), "401 Unauthorized");
}

#[test]
fn a_slow_server_past_the_timeout_is_exit_3() {
    let f = Fixture::healthy(Vec::new());
    f.server.slow_down("/nodes", Duration::from_secs(30));
    let started = std::time::Instant::now();
    assert_unreachable(
        f.run(BASE, &["--timeout", "3"]),
        "did not answer within 3s (--timeout)",
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}
