//! `amlc taints`: every taint key with its value, every effect, the AKS node-pool line,
//! and a missing value as a located error (exit 2).

use crate::common;

fn taints(config: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("amlc.yaml"), config).unwrap();
    common::run(dir.path(), &["taints", "--config", "amlc.yaml"])
}

fn config(cluster_type: &str, keys: &str, effect: &str, extra: &str) -> String {
    format!(
        "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: {cluster_type}\n  name: prod\n  resourceGroup: ml-rg\nworkspace: ws-x\ncompute: gpu-x\n{extra}taints:\n  keys: [{keys}]\n  effect: {effect}\n"
    )
}

/// The seed's taint table: config key -> node taint key=value (values from the config above).
const TABLE: [(&str, &str); 6] = [
    ("overall", "ml.azure.com/amlarc=true"),
    ("system", "ml.azure.com/amlarc-system=true"),
    ("workload", "ml.azure.com/amlarc-workload=true"),
    ("resourceGroup", "ml.azure.com/resource-group=ml-rg"),
    ("workspace", "ml.azure.com/workspace=ws-x"),
    ("compute", "ml.azure.com/compute=gpu-x"),
];

#[test]
fn every_key_and_effect_becomes_a_kubectl_line() {
    for effect in ["NoSchedule", "NoExecute", "PreferNoSchedule"] {
        for (key, taint) in TABLE {
            let (code, stdout, stderr) = taints(&config("arc", key, effect, ""));
            assert_eq!(code, 0, "{key} {effect}: {stderr}");
            let first = stdout.lines().next().unwrap();
            assert_eq!(
                first,
                format!("kubectl taint nodes --all {taint}:{effect}"),
                "{key} {effect}"
            );
            // Arc clusters have no AKS node pools.
            assert!(!stdout.contains("az aks"), "{stdout}");
        }
    }
}

#[test]
fn aks_gets_one_node_pool_line_with_every_taint_and_the_selector() {
    let all = TABLE.map(|(k, _)| k).join(", ");
    let (code, stdout, stderr) = taints(&config(
        "aks",
        &all,
        "NoSchedule",
        "nodeSelector:\n  agentpool: mlpool\n",
    ));
    assert_eq!(code, 0, "{stderr}");
    let kubectl: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("kubectl"))
        .collect();
    assert_eq!(kubectl.len(), 6);
    for (_, taint) in TABLE {
        assert!(kubectl.contains(
            &format!("kubectl taint nodes -l agentpool=mlpool {taint}:NoSchedule").as_str()
        ));
    }
    let az = stdout
        .lines()
        .find(|l| l.starts_with("az aks nodepool update"))
        .expect("az line");
    let specs: Vec<String> = TABLE
        .iter()
        .map(|(_, t)| format!("{t}:NoSchedule"))
        .collect();
    assert_eq!(
        az,
        format!(
            "az aks nodepool update --resource-group ml-rg --cluster-name prod --name mlpool --node-taints {}",
            specs.join(",")
        )
    );
}

#[test]
fn a_seed_scenario_is_named_and_a_near_miss_says_what_is_missing() {
    let (_, stdout, _) = taints(&config("aks", "overall, system", "NoSchedule", ""));
    assert!(
        stdout.contains("# best practice: keep non-system pods off the dedicated nodes"),
        "{stdout}"
    );
    let (_, stdout, _) = taints(&config(
        "aks",
        "overall, resourceGroup, compute",
        "NoSchedule",
        "",
    ));
    assert!(stdout.contains("# missing for it: workspace"), "{stdout}");
}

#[test]
fn a_missing_value_is_a_located_error() {
    let text = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: aks\ntaints:\n  keys: [overall, workspace]\n";
    let (code, stdout, stderr) = taints(text);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(
        stderr.contains("amlc.yaml:6:19: error: the workspace taint needs `workspace`"),
        "{stderr}"
    );
}
