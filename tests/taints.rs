//! `amlc taints`: every taint key with its value, every effect, the AKS node-pool line,
//! the nodes `taints.nodeSelector` selects, a missing value as a located error (exit 2), and
//! a plan that would strand the extension's own pods refused (exit 2).

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
            // Keys the extension's pods do not tolerate go on a pool of their own.
            let (selector, extra) = match key {
                "overall" | "system" => ("--all", ""),
                _ => ("-l pool=gpu", "  nodeSelector: {pool: gpu}\n"),
            };
            let text = format!("{}{extra}", config("arc", key, effect, ""));
            let (code, stdout, stderr) = taints(&text);
            assert_eq!(code, 0, "{key} {effect}: {stderr}");
            let first = stdout.lines().next().unwrap();
            assert_eq!(
                first,
                format!("kubectl taint nodes {selector} {taint}:{effect}"),
                "{key} {effect}"
            );
            // Arc clusters have no AKS node pools.
            assert!(!stdout.contains("az aks"), "{stdout}");
        }
    }
}

#[test]
fn a_taint_that_strands_the_extension_is_refused_at_its_key() {
    for (key, _) in &TABLE[2..] {
        for effect in ["NoSchedule", "NoExecute"] {
            let (code, stdout, stderr) = taints(&config("arc", key, effect, ""));
            assert_eq!((code, stdout.as_str()), (2, ""), "{key} {effect}");
            assert!(
                stderr.contains("amlc.yaml:10:10: error: the ")
                    && stderr.contains("amlc::rule::taints-strand-extension")
                    && stderr.contains("taints.nodeSelector"),
                "{key} {effect}: {stderr}"
            );
        }
        // A soft taint strands nothing: the scheduler only prefers other nodes.
        let (code, _, stderr) = taints(&config("arc", key, "PreferNoSchedule", ""));
        assert_eq!(code, 0, "{key}: {stderr}");
    }
}

#[test]
fn the_tainted_nodes_default_to_the_node_selector() {
    let (code, stdout, stderr) = taints(&config(
        "aks",
        "overall, system",
        "NoSchedule",
        "nodeSelector:\n  agentpool: mlpool\n",
    ));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with(
            "kubectl taint nodes -l agentpool=mlpool ml.azure.com/amlarc=true:NoSchedule\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("--name mlpool "), "{stdout}");
}

#[test]
fn aks_gets_one_node_pool_line_with_every_taint_and_the_selector() {
    let all = TABLE.map(|(k, _)| k).join(", ");
    let text = config(
        "aks",
        &all,
        "NoSchedule",
        "nodeSelector:\n  agentpool: mlpool\n",
    ) + "  nodeSelector:\n    agentpool: gpupool\n";
    let (code, stdout, stderr) = taints(&text);
    assert_eq!(code, 0, "{stderr}");
    let kubectl: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("kubectl"))
        .collect();
    assert_eq!(kubectl.len(), 6);
    for (_, taint) in TABLE {
        assert!(kubectl.contains(
            &format!("kubectl taint nodes -l agentpool=gpupool {taint}:NoSchedule").as_str()
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
            "az aks nodepool update --resource-group ml-rg --cluster-name prod --name gpupool --node-taints {}",
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
        "PreferNoSchedule",
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
