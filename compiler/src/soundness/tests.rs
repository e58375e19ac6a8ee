//! The walks on small hand-made object sets: each kind of reference resolving, dangling,
//! given and supplied.

use serde_json::{Value, json};

use super::*;

fn env() -> Environment {
    let mut env = Environment::default();
    env.given.insert(ObjectRef::cluster("Namespace", "default"));
    env.supplied.insert(
        ObjectRef::new("Secret", "azureml", "tls"),
        "kubectl create secret tls tls -n azureml".into(),
    );
    env
}

fn deployment(account: &str, labels: Value, ports: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "azureml"},
        "spec": {"template": {"metadata": {"labels": labels}, "spec": {
            "serviceAccountName": account,
            "volumes": [{"name": "tls", "secret": {"secretName": "tls"}}],
            "containers": [{"name": "c", "ports": ports}]}}}})
}

fn namespace() -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "azureml"}})
}

fn account(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "azureml"}})
}

fn service(selector: Value, target: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "azureml"},
        "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": target}]}})
}

fn dangling(objects: &[Value]) -> Vec<String> {
    check(objects, &env())
        .dangling
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_sound_set_has_no_findings_but_the_supplied_secret() {
    let objects = [
        namespace(),
        account("web"),
        deployment(
            "web",
            json!({"app": "web"}),
            json!([{"name": "http", "containerPort": 8080}]),
        ),
        service(json!({"app": "web"}), json!("http")),
    ];
    let f = check(&objects, &env());
    assert!(f.is_sound(), "{f:?}");
    assert_eq!(
        f.create_first,
        [Supplied {
            target: ObjectRef::new("Secret", "azureml", "tls"),
            how: "kubectl create secret tls tls -n azureml".into()
        }]
    );
    let note = create_first_note(&f.create_first).unwrap();
    assert!(
        note.contains("  Secret azureml/tls: kubectl create secret tls"),
        "{note}"
    );
}

#[test]
fn each_broken_edge_is_named() {
    let objects = [
        deployment(
            "nobody",
            json!({"app": "web"}),
            json!([{"name": "http", "containerPort": 8080}]),
        ),
        service(json!({"app": "other"}), json!("http")),
    ];
    let d = dangling(&objects);
    assert!(d.iter().any(|d| d.contains("Namespace azureml")), "{d:?}");
    assert!(
        d.iter()
            .any(|d| d.contains("ServiceAccount azureml/nobody")),
        "{d:?}"
    );
    assert!(
        d.iter().any(|d| d.contains("pods labelled app=other")),
        "{d:?}"
    );
    // The right pods, but not the port.
    let objects = [
        namespace(),
        account("web"),
        deployment(
            "web",
            json!({"app": "web"}),
            json!([{"name": "http", "containerPort": 8080}]),
        ),
        service(json!({"app": "web"}), json!("metrics")),
        service(json!({"app": "web"}), json!(9999)),
    ];
    let d = dangling(&objects);
    assert_eq!(d.len(), 2, "{d:?}");
}

#[test]
fn bindings_ingresses_webhooks_volumes_and_custom_resources() {
    let objects = [
        namespace(),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "ghost", "namespace": "azureml"},
                         {"kind": "ServiceAccount", "name": "default", "namespace": "default"}]}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "azureml"},
            "spec": {"ingressClassName": "nginx", "tls": [{"secretName": "tls"}],
                "rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": "fe", "port": {"number": 80}}}}]}}]}}),
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "w"},
            "webhooks": [{"name": "w.example.com", "clientConfig": {"service": {"name": "hook", "namespace": "azureml"}}}]}),
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c", "namespace": "azureml"},
            "spec": {"volumeName": "v"}}),
        json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "v"},
            "spec": {"claimRef": {"name": "c", "namespace": "azureml"}}}),
        json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "m", "namespace": "azureml"}}),
    ];
    let d = dangling(&objects);
    let want = [
        "ClusterRole r",
        "ServiceAccount azureml/ghost",
        "IngressClass nginx",
        "Service azureml/fe",
        "Service azureml/hook",
        "CustomResourceDefinition servicemonitors.monitoring.coreos.com",
    ];
    for w in want {
        assert!(
            d.iter().any(|d| d.contains(&format!("names {w} "))),
            "{w}: {d:?}"
        );
    }
    assert_eq!(d.len(), want.len(), "{d:?}");
}

#[test]
fn plurals_follow_kubernetes() {
    assert_eq!(refs::plural("Prometheus"), "prometheuses");
    assert_eq!(refs::plural("ServiceMonitor"), "servicemonitors");
    assert_eq!(refs::plural("NetworkPolicy"), "networkpolicies");
}

/// A webhook's certificate Secret is made by a rendered Job when it runs: the Job's
/// annotation resolves the pods' reference to it; without the Job it dangles.
#[test]
fn a_secret_a_rendered_job_creates_resolves() {
    let pod = |secret: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "hook", "namespace": "azureml"},
            "spec": {"template": {"spec": {"serviceAccountName": "default",
                "volumes": [{"name": "certs", "secret": {"secretName": secret}}], "containers": []}}}})
    };
    let job = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "certs", "namespace": "azureml",
            "annotations": {"amlc/creates": "Secret/hook-certs, ConfigMap/other"}},
        "spec": {"template": {"spec": {"serviceAccountName": "default", "containers": []}}}});
    assert_eq!(
        dangling(&[namespace(), job.clone(), pod("hook-certs")]),
        Vec::<String>::new()
    );
    assert_eq!(
        dangling(&[namespace(), job, pod("nobody-makes-it")]).len(),
        1
    );
    assert_eq!(dangling(&[namespace(), pod("hook-certs")]).len(), 1);
}
