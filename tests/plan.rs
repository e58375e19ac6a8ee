//! `amlc plan`: golden cases in `golden-plan/` (table and JSON), the seed's six
//! total-resource rows reproduced, and the totals proven equal to the sum of the components
//! and to the requests and limits of the rendered manifests.
//!
//! Re-bless with `UPDATE_GOLDEN=1 cargo test --test integration plan::` and review the diff.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common;

use common::run as amlc;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("golden-plan"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("amlc.yaml").is_file())
        .collect();
    v.sort();
    v
}

fn extra_args(case: &Path) -> Vec<String> {
    std::fs::read_to_string(case.join("args"))
        .map(|s| {
            s.lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn plan_json(case: &Path) -> Value {
    let extra = extra_args(case);
    let mut args = vec!["plan", "--format", "json"];
    args.extend(extra.iter().map(String::as_str));
    let (code, stdout, stderr) = amlc(case, &args);
    assert_eq!(code, 0, "{}: {stderr}", case.display());
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn golden_plans() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for case in cases() {
        let extra = extra_args(&case);
        for (format, file) in [("table", "table"), ("json", "json")] {
            let mut args = vec!["plan", "--format", format];
            args.extend(extra.iter().map(String::as_str));
            let (code, stdout, stderr) = amlc(&case, &args);
            let actual = format!("exit code: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}");
            let path = case.join("expected").join(file);
            if update {
                std::fs::create_dir_all(case.join("expected")).unwrap();
                std::fs::write(&path, &actual).unwrap();
                continue;
            }
            let expected = std::fs::read_to_string(&path).unwrap_or_default();
            if expected != actual {
                let diff = similar::TextDiff::from_lines(&expected, &actual)
                    .unified_diff()
                    .header("expected", "actual")
                    .to_string();
                failures.push(format!("{}/{file}:\n{diff}", case.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}\nre-bless with UPDATE_GOLDEN=1 cargo test --test integration plan::",
        failures.join("\n")
    );
}

/// The seed's "total minimum system resources requirements" table, as printed there:
/// (case, cpu request, cpu limit, memory request, memory limit, nodes, AKS SKU).
const SEED_ROWS: [(&str, u64, u64, u64, u64, u64, &str); 6] = [
    ("seed-test-inference", 1780, 8300, 2440, 12296, 1, "DS2v2"),
    ("seed-test-training", 410, 4420, 1492, 10960, 1, "DS2v2"),
    ("seed-test-both", 1910, 10420, 2884, 15744, 1, "DS3v2"),
    (
        "seed-production-inference",
        3600,
        12700,
        4240,
        15296,
        3,
        "DS3v2",
    ),
    (
        "seed-production-training",
        410,
        4420,
        1492,
        10960,
        1,
        "DS4v2",
    ),
    ("seed-production-both", 3730, 14820, 4684, 18744, 3, "DS4v2"),
];

#[test]
fn the_seeds_six_scenarios_are_reproduced_exactly() {
    for (case, cpu_req, cpu_lim, mem_req, mem_lim, nodes, sku) in SEED_ROWS {
        let p = plan_json(&root().join("golden-plan").join(case));
        let t = &p["totals"];
        assert_eq!(
            [
                &t["cpuRequestMillicores"],
                &t["cpuLimitMillicores"],
                &t["memoryRequestMiB"],
                &t["memoryLimitMiB"]
            ],
            [cpu_req, cpu_lim, mem_req, mem_lim]
                .map(Value::from)
                .each_ref(),
            "{case}"
        );
        assert_eq!(p["nodeCount"], nodes, "{case}");
        assert_eq!(p["recommendedVmSize"], sku, "{case}");
        assert!(
            p["rule"].as_str().unwrap().starts_with("reference table"),
            "{case}"
        );
    }
    // The production row with both features contradicts itself; the output says so.
    let p = plan_json(&root().join("golden-plan/seed-production-both"));
    assert!(
        p["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("keeps the page's SKU"))
    );
}

fn sum(p: &Value, field: &str) -> u64 {
    p["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[field].as_u64().unwrap())
        .sum()
}

#[test]
fn totals_are_the_sum_of_the_components() {
    for case in cases() {
        let p = plan_json(&case);
        for f in [
            "cpuRequestMillicores",
            "cpuLimitMillicores",
            "memoryRequestMiB",
            "memoryLimitMiB",
        ] {
            assert_eq!(
                p["totals"][f].as_u64().unwrap(),
                sum(&p, f),
                "{} {f}",
                case.display()
            );
        }
    }
}

/// A quantity in millicores (cpu) or MiB (memory).
fn quantity(q: &Value, cpu: bool) -> u64 {
    let s = match q {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if cpu {
        match s.strip_suffix('m') {
            Some(m) => m.parse().unwrap(),
            None => (s.parse::<f64>().unwrap() * 1000.0).round() as u64,
        }
    } else if let Some(mi) = s.strip_suffix("Mi") {
        mi.parse().unwrap()
    } else if let Some(gi) = s.strip_suffix("Gi") {
        gi.parse::<u64>().unwrap() * 1024
    } else {
        panic!("unexpected memory quantity {s}")
    }
}

/// Requests and limits of the rendered manifests: each workload's containers times its
/// pods (replicas; one per node for DaemonSets). The Prometheus custom resource stands for
/// the StatefulSet its operator creates. Hook Jobs run before install and are not counted.
fn rendered_totals(case: &Path, nodes: u64) -> [u64; 4] {
    let (code, stdout, stderr) = amlc(case, &["build"]);
    assert_eq!(code, 0, "{stderr}");
    let mut t = [0u64; 4];
    for doc in serde_yaml_ng::Deserializer::from_str(&stdout) {
        let o: Value = serde::Deserialize::deserialize(doc).unwrap();
        let kind = o["kind"].as_str().unwrap();
        let (pods, containers) = match kind {
            "Deployment" | "StatefulSet" => (
                o["spec"]["replicas"].as_u64().unwrap_or(1),
                &o["spec"]["template"]["spec"]["containers"],
            ),
            "DaemonSet" => (nodes, &o["spec"]["template"]["spec"]["containers"]),
            "Prometheus" => (
                o["spec"]["replicas"].as_u64().unwrap_or(1),
                &Value::Array(vec![o["spec"].clone()]),
            ),
            _ => continue,
        };
        for c in containers.as_array().unwrap() {
            let r = &c["resources"];
            t[0] += pods * quantity(&r["requests"]["cpu"], true);
            t[1] += pods * quantity(&r["limits"]["cpu"], true);
            t[2] += pods * quantity(&r["requests"]["memory"], false);
            t[3] += pods * quantity(&r["limits"]["memory"], false);
        }
    }
    t
}

#[test]
fn totals_equal_the_rendered_manifests() {
    for case in cases() {
        // Sidecars of online deployments are not part of the extension's manifests.
        if !extra_args(&case).is_empty() {
            continue;
        }
        let p = plan_json(&case);
        let nodes = p["nodeCount"].as_u64().unwrap();
        let t = &p["totals"];
        let planned = [
            "cpuRequestMillicores",
            "cpuLimitMillicores",
            "memoryRequestMiB",
            "memoryLimitMiB",
        ]
        .map(|f| t[f].as_u64().unwrap());
        assert_eq!(planned, rendered_totals(&case, nodes), "{}", case.display());
    }
}

#[test]
fn deployments_add_one_identity_sidecar_each() {
    let with = plan_json(&root().join("golden-plan/deployments"));
    let sidecar = with["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "online-deployment/identity-sidecar")
        .expect("sidecar line");
    // The seed's row: 10m / 50m CPU, 100Mi / 100Mi per deployment.
    assert_eq!(sidecar["replicas"], 10);
    assert_eq!(
        [&sidecar["cpuRequestMillicores"], &sidecar["memoryLimitMiB"]],
        [&Value::from(100), &Value::from(1000)]
    );
}

/// On Arc-connected clusters the nodes are not Azure VMs: the plan gives their size in vCPU
/// and memory, names a SKU only as an example, and does not size them by AKS's reservations;
/// on aks it recommends the SKU. `recommendedVmSize` stays in the JSON on every type.
#[test]
fn arc_connected_clusters_get_a_node_size_not_an_aks_sku() {
    for cluster_type in ["aks", "arc", "aro", "ocp"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("amlc.yaml"),
            format!(
                "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: {cluster_type}\n  nodeCount: 2\ninference:\n  enabled: true\n  allowInsecureConnections: true\nwarnings:\n  ignore: [amlc::rule::selinux]\n"
            ),
        )
        .unwrap();
        let (code, table, stderr) = amlc(dir.path(), &["plan"]);
        assert_eq!(code, 0, "{cluster_type}: {stderr}");
        let (code, json, stderr) = amlc(dir.path(), &["plan", "--format", "json"]);
        assert_eq!(code, 0, "{cluster_type}: {stderr}");
        let p: Value = serde_json::from_str(&json).unwrap();
        let sku = p["recommendedVmSize"].as_str().unwrap();
        let vcpus = p["nodeSize"]["vcpus"].as_u64().unwrap();
        let memory = p["nodeSize"]["memoryMiB"].as_u64().unwrap();
        assert!(vcpus >= 1 && memory >= 1024, "{cluster_type}: {json}");
        assert_eq!(p["clusterType"], cluster_type);
        let rule = p["rule"].as_str().unwrap();
        if cluster_type == "aks" {
            assert!(
                table.contains(&format!("recommended VM:   {sku}\n")),
                "{table}"
            );
            assert!(rule.contains("after AKS reservations"), "{rule}");
        } else {
            let line = table
                .lines()
                .find(|l| l.starts_with("node size:"))
                .unwrap_or_else(|| panic!("{cluster_type}: no node size line:\n{table}"));
            assert!(
                line.contains(&format!("{vcpus} vCPU"))
                    && line.contains("GiB memory")
                    && line.contains(&format!("(e.g. Azure {sku})")),
                "{cluster_type}: {line}"
            );
            assert!(
                !table.contains("recommended VM:"),
                "{cluster_type}:\n{table}"
            );
            assert!(
                !table.contains("AKS reservations") && !json.contains("AKS reservations"),
                "{cluster_type}:\n{table}"
            );
        }
    }
}
