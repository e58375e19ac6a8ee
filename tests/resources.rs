//! The requests and limits in the golden outputs are the seed's: summed per workload from
//! the rendered containers (the Prometheus custom resource for prometheus), they equal the
//! seed's "Recommended resource planning" table, and the seed scenario at 1.1.9 adds up to
//! the seed's "total minimum system resources" row.

use crate::common;

use serde_json::Value;

/// Seed "Recommended resource planning": workload name (extension name `azureml`) ->
/// (CPU request m, CPU limit m, memory request Mi, memory limit Mi) per pod.
const SEED: &[(&str, [u64; 4])] = &[
    ("metrics-controller-manager", [10, 100, 20, 300]),
    ("azureml-prometheus-operator", [100, 400, 128, 512]),
    ("prom-prometheus", [100, 1000, 512, 4096]),
    ("azureml-kube-state-metrics", [10, 100, 32, 256]),
    ("gateway", [50, 500, 256, 2048]),
    ("fluent-bit", [10, 200, 100, 300]),
    (
        "inference-operator-controller-manager",
        [100, 1000, 128, 1024],
    ),
    ("amlarc-identity-controller", [200, 1000, 200, 1024]),
    ("amlarc-identity-proxy", [200, 1000, 200, 1024]),
    ("azureml-ingress-nginx-controller", [100, 1000, 64, 512]),
    ("azureml-fe-v2", [900, 2000, 800, 1200]),
    ("aml-operator", [20, 1020, 124, 2168]),
    ("volcano-admission", [10, 100, 64, 256]),
    ("volcano-controllers", [50, 500, 128, 512]),
    ("volcano-scheduler", [50, 500, 128, 512]),
];

fn quantity(v: &Value, unit: &str) -> u64 {
    v.as_str()
        .and_then(|s| s.strip_suffix(unit))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{v} is not in {unit}"))
}

/// Per-pod [cpu req, cpu lim, mem req, mem lim] of a workload or the Prometheus resource.
fn pod_resources(o: &Value) -> Option<[u64; 4]> {
    let resources: Vec<&Value> = if o["kind"] == "Prometheus" {
        vec![&o["spec"]["resources"]]
    } else {
        let spec = &o["spec"]["template"]["spec"];
        spec["containers"]
            .as_array()?
            .iter()
            .map(|c| &c["resources"])
            .collect()
    };
    let mut sum = [0; 4];
    for r in resources {
        sum[0] += quantity(&r["requests"]["cpu"], "m");
        sum[1] += quantity(&r["limits"]["cpu"], "m");
        sum[2] += quantity(&r["requests"]["memory"], "Mi");
        sum[3] += quantity(&r["limits"]["memory"], "Mi");
    }
    Some(sum)
}

fn pods(o: &Value, nodes: u64) -> u64 {
    match o["kind"].as_str() {
        Some("DaemonSet") => nodes,
        _ => o["spec"]["replicas"].as_u64().unwrap_or(1),
    }
}

#[test]
fn rendered_resources_equal_the_seed_table() {
    let mut seen = std::collections::BTreeSet::new();
    for case in common::golden_cases() {
        for o in common::expected_objects(&case) {
            let name = o["metadata"]["name"].as_str().unwrap_or("");
            let Some((_, want)) = SEED.iter().find(|(n, _)| *n == name) else {
                continue;
            };
            if let Some(got) = pod_resources(&o) {
                assert_eq!(got, *want, "{}: {name}", case.display());
                seen.insert(name.to_owned());
            }
        }
    }
    assert_eq!(
        seen.len(),
        SEED.len(),
        "every seed row appears in some golden case"
    );
}

#[test]
fn azureml_fe_has_one_replica_for_test_and_three_for_production() {
    for (case, want) in [("aks-test", 1), ("aks-production", 3)] {
        let objects = common::expected_objects(&common::root().join("golden").join(case));
        let fe = objects
            .iter()
            .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "azureml-fe-v2")
            .expect("azureml-fe-v2");
        assert_eq!(fe["spec"]["replicas"], want, "{case}");
    }
}

#[test]
fn the_seed_test_scenario_adds_up_to_the_seed_total() {
    // Seed "total minimum system resources", For Test with inference and training, 1 node:
    // 1910m / 10420m CPU, 2884Mi / 15744Mi memory, over the components the seed lists.
    let objects = common::expected_objects(&common::root().join("golden/seed-scenario-1.1.9"));
    let mut total = [0; 4];
    for o in &objects {
        let name = o["metadata"]["name"].as_str().unwrap_or("");
        if !SEED.iter().any(|(n, _)| *n == name) {
            continue;
        }
        if let Some(r) = pod_resources(o) {
            let n = pods(o, 1);
            for i in 0..4 {
                total[i] += r[i] * n;
            }
        }
    }
    assert_eq!(total, [1910, 10420, 2884, 15744]);
}
