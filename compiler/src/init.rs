//! The starter config `amlc init` writes: commented, valid as written, with the
//! yaml-language-server modeline so editors complete and check it against the schema.

use crate::config::ClusterType;

/// The schema file `amlc init` writes beside the config, which the modeline names by a
/// relative path: editors resolve it against the config's folder, with no network.
pub const SCHEMA_FILE: &str = "amlc.schema.json";

/// A commented starter config for a cluster type.
pub fn starter_config(cluster_type: ClusterType) -> String {
    let t = cluster_type.as_str();
    let (cluster_note, nginx_note) = if cluster_type.is_arc_connected() {
        (
            "# Arc-connected: the ARM target scopes the extension to a connectedClusters resource and\n# creates the Azure Relay it needs.",
            "  # nginxIngress: false    # the bundled ingress-nginx is off by default on Arc-connected clusters",
        )
    } else {
        (
            "# AKS: the ARM target scopes the extension to the managedClusters resource.",
            "  # nginxIngress: true     # the bundled ingress-nginx is on by default on AKS",
        )
    };
    let openshift = if cluster_type.is_openshift() {
        "# OpenShift: amlc grants the privileged SCC to the extension's service accounts\n# declaratively; disable SELinux on workers that run training jobs using datasets.\n"
    } else {
        ""
    };
    format!(
        "# yaml-language-server: $schema=./{SCHEMA_FILE}
# amlc config: how the Azure Machine Learning extension should look on one cluster.
# Check it with `amlc validate`, render it with `amlc build`, size it with `amlc plan`.
{cluster_note}
{openshift}apiVersion: amlc/v1
kind: ExtensionConfig
metadata:
  name: azureml                # the extension name (az k8s-extension create --name)
extension:
  version: \"{version}\"          # a release from the release notes
cluster:
  type: {t}
  name: my-cluster             # needed by the ARM target
  resourceGroup: my-rg         # needed by the ARM target and the resourceGroup taint
  nodeCount: 1                 # 3 or more selects the production profile (3 azureml-fe replicas)
  computeNamespace: default    # where machine-learning workloads run
training:
  enabled: true
  volcano: true                # false: reuse an existing Volcano
inference:
  enabled: true
  routerServiceType: LoadBalancer   # LoadBalancer | NodePort | ClusterIP
  # Plain HTTP is fine for a first try; for HTTPS set this to false and add `ssl`:
  allowInsecureConnections: true
{nginx_note}
  # ssl:
  #   cname: ml.contoso.com
  #   secretName: azureml-fe-tls   # or certFile: ./cert.pem and keyFile: ./key.pem
monitoring:
  prometheusOperator: true     # false: reuse an existing Prometheus operator
warnings:
  # Plain HTTP on a public load balancer, acknowledged for a first try: anyone on the path
  # reads and changes scoring traffic. Remove this line once `ssl` is set up.
  ignore: [amlc::rule::plain-http-load-balancer]
# nodeSelector:                # run the extension on labelled nodes only
#   agentpool: mlpool
# taints:                      # amlarc taints the dedicated nodes carry (see `amlc taints`)
#   keys: [overall, system]
#   effect: NoSchedule
",
        version = crate::config::NEWEST_VERSION,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Source;
    use crate::validate::{NoFiles, validate};

    #[test]
    fn every_starter_config_validates_without_warnings() {
        for t in [
            ClusterType::Aks,
            ClusterType::Arc,
            ClusterType::Aro,
            ClusterType::Ocp,
        ] {
            let v = validate(
                &Source::new("amlc.yaml", starter_config(t)),
                &NoFiles { now_unix: 0 },
            )
            .unwrap_or_else(|d| panic!("{t:?}: {d:?}"));
            let codes: Vec<_> = v.warnings.iter().map(|d| d.code).collect();
            let expected: &[&str] = if t.is_openshift() {
                &["amlc::rule::selinux"]
            } else {
                &[]
            };
            assert_eq!(codes, expected, "{t:?}");
            assert_eq!(v.config.cluster.cluster_type, t);
        }
    }
}
