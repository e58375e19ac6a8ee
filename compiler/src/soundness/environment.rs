//! The environment a config implies: what the platform gives, what the user must create
//! first (and how), and the kinds of node the extension's pods may land on.

use std::collections::{BTreeMap, BTreeSet};

use super::{Environment, NodeClass, NodeTaint, ObjectRef};
use crate::config::{Config, IngressController};
use crate::plan::{DEFAULT_TLS_SECRET, NAMESPACE};

/// Namespaces every Kubernetes cluster has.
const CLUSTER_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// The Arc agents' namespace and the service account of their AAD proxy (Azure ML reference
/// page, "Privileged setup for ARO and OCP": it is granted the privileged SCC).
const ARC_NAMESPACE: &str = "azure-arc";
const ARC_PROXY_ACCOUNT: &str = "azure-arc-kube-aad-proxy-sa";

/// The OpenShift ClusterRole that grants the privileged SCC.
const SCC_PRIVILEGED: &str = "system:openshift:scc:privileged";

/// The Secret relayserver reads its Azure Relay connection string from.
pub const RELAY_SECRET: &str = "relayserver-connection";

/// The environment of a config. `config_dir` is the folder of the config file as the
/// user named it (None: the current folder), so the files in the advice resolve as they do
/// for amlc.
pub fn environment(config: &Config, config_dir: Option<&str>) -> Environment {
    let mut env = Environment::default();
    for ns in CLUSTER_NAMESPACES {
        env.given.insert(ObjectRef::cluster("Namespace", ns));
    }
    for role in ["cluster-admin", "admin", "edit", "view"] {
        env.given.insert(ObjectRef::cluster("ClusterRole", role));
    }
    let kind = config.cluster.cluster_type;
    if kind.is_arc_connected() {
        env.given
            .insert(ObjectRef::cluster("Namespace", ARC_NAMESPACE));
        env.given.insert(ObjectRef::new(
            "ServiceAccount",
            ARC_NAMESPACE,
            ARC_PROXY_ACCOUNT,
        ));
    }
    if kind.is_openshift() {
        env.given
            .insert(ObjectRef::cluster("ClusterRole", SCC_PRIVILEGED));
    }
    supplied(config, config_dir, &mut env.supplied);
    env.nodes = node_classes(config);
    env
}

fn supplied(config: &Config, config_dir: Option<&str>, out: &mut BTreeMap<ObjectRef, String>) {
    let file = |f: &str| match config_dir {
        Some(dir) if !dir.is_empty() && dir != "." && !f.starts_with('/') => {
            format!("{}/{f}", dir.trim_end_matches('/'))
        }
        _ => f.to_owned(),
    };
    // Namespaces the config names that the render does not create.
    let mut namespaces: BTreeSet<&str> = BTreeSet::new();
    namespaces.insert(&config.cluster.compute_namespace);
    for s in &config.storage {
        namespaces.insert(config.storage_namespace(s));
    }
    for ns in namespaces {
        if !CLUSTER_NAMESPACES.contains(&ns) && ns != NAMESPACE {
            out.insert(
                ObjectRef::cluster("Namespace", ns),
                format!("kubectl create namespace {ns}"),
            );
        }
    }
    if config.inference.enabled
        && let Some(ssl) = &config.inference.ssl
    {
        let name = ssl.secret_name.as_deref().unwrap_or(DEFAULT_TLS_SECRET);
        let how = match (&ssl.cert_file, &ssl.key_file) {
            (Some(cert), Some(key)) => format!(
                "kubectl create secret tls {name} -n {NAMESPACE} --cert {} --key {} (the YAML never holds the key)",
                file(cert),
                file(key)
            ),
            _ => format!(
                "an existing Secret with keys cert.pem and key.pem: kubectl create secret generic {name} -n {NAMESPACE} --from-file=cert.pem=CERT.pem --from-file=key.pem=KEY.pem"
            ),
        };
        out.insert(ObjectRef::new("Secret", NAMESPACE, name), how);
    }
    if let Some(ingress) = &config.ingress {
        if let Some(tls) = &ingress.tls {
            let host = ingress.host.as_deref().unwrap_or("the host");
            out.insert(
                ObjectRef::new("Secret", NAMESPACE, &tls.secret_name),
                format!(
                    "kubectl create secret tls {} -n {NAMESPACE} --cert CERT.pem --key KEY.pem (a certificate for {host})",
                    tls.secret_name
                ),
            );
        }
        match (ingress.controller, config.ingress_class_name()) {
            (IngressController::Nginx, Some(class)) => {
                out.insert(
                    ObjectRef::cluster("IngressClass", class),
                    format!("install the NGINX ingress controller, which serves IngressClass {class} (Azure ML reference page, \"Integrate other ingress controller with Azure Machine Learning extension over HTTP or HTTPS\"), or set inference.nginxIngress: true to use the bundled one"),
                );
            }
            (IngressController::ApplicationGateway, Some(class)) => {
                out.insert(
                    ObjectRef::cluster("IngressClass", class),
                    format!("enable the Application Gateway Ingress Controller, which serves IngressClass {class}: az aks enable-addons --addons ingress-appgw (Azure ML reference page, \"Integrate other ingress controller with Azure Machine Learning extension over HTTP or HTTPS\")"),
                );
            }
            _ => {}
        }
    }
    // relayserver runs on Arc-connected clusters, and on AKS before 1.1.5.
    {
        out.insert(
            ObjectRef::new("Secret", NAMESPACE, RELAY_SECRET),
            format!(
                "the Azure Relay connection string of the cluster's hybrid connection, as key connectionString: kubectl create secret generic {RELAY_SECRET} -n {NAMESPACE} --from-literal=connectionString=\"$(az relay hyco authorization-rule keys list -g {} --namespace-name RELAY_NAMESPACE --hybrid-connection-name {} -n azureml_rw --query primaryConnectionString -o tsv)\"",
                config.cluster.resource_group.as_deref().unwrap_or("RESOURCE_GROUP"),
                config.cluster.name.as_deref().unwrap_or("CLUSTER_NAME")
            ),
        );
    }
    if !config.monitoring.prometheus_operator {
        for plural in [
            "prometheuses",
            "servicemonitors",
            "podmonitors",
            "prometheusrules",
        ] {
            out.insert(
                ObjectRef::cluster(
                    "CustomResourceDefinition",
                    &format!("{plural}.monitoring.coreos.com"),
                ),
                "installed by the Prometheus operator the cluster already runs (monitoring.prometheusOperator: false reuses it)".into(),
            );
        }
    }
    if config.training.enabled && !config.training.volcano {
        for name in [
            "jobs.batch.volcano.sh",
            "queues.scheduling.volcano.sh",
            "podgroups.scheduling.volcano.sh",
        ] {
            out.insert(
                ObjectRef::cluster("CustomResourceDefinition", name),
                "installed by the Volcano the cluster already runs (training.volcano: false reuses it)".into(),
            );
        }
    }
}

/// Labels every Linux node carries.
fn well_known_labels() -> BTreeMap<String, String> {
    [("kubernetes.io/os".to_owned(), "linux".to_owned())].into()
}

fn selector_text(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "every node".into();
    }
    let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("nodes labelled {}", l.join(","))
}

/// The kinds of node the config implies: the tainted nodes of `taints.nodeSelector` (or of
/// the nodeSelector), and, when those are not all of the nodeSelector's nodes, the
/// nodeSelector's untainted ones.
pub fn node_classes(config: &Config) -> Vec<NodeClass> {
    let with = |labels: &BTreeMap<String, String>| {
        let mut all = well_known_labels();
        all.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    };
    let taints: Vec<NodeTaint> = crate::taints::node_taints(config)
        .into_iter()
        .map(|t| NodeTaint {
            key: t.key.to_owned(),
            value: t.value,
            effect: t.effect.to_owned(),
        })
        .collect();
    let extension_nodes = NodeClass {
        name: selector_text(&config.node_selector),
        labels: with(&config.node_selector),
        taints: Vec::new(),
    };
    if taints.is_empty() {
        return vec![extension_nodes];
    }
    let tainted_labels = config.taint_node_selector();
    let tainted = NodeClass {
        name: format!("{} (tainted)", selector_text(tainted_labels)),
        labels: with(tainted_labels),
        taints,
    };
    if config.taints_cover_extension_nodes() {
        // Every node the extension may use carries the taints.
        let mut only = tainted;
        only.labels = with(&config.node_selector);
        only.name = format!("{} (tainted)", selector_text(&config.node_selector));
        return vec![only];
    }
    vec![tainted, extension_nodes]
}
