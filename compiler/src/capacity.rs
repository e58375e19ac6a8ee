//! `amlc plan`: what the extension costs a cluster and which VM size it needs, summed from
//! the same [`Plan`] the manifests are rendered from, so the two can never disagree.
//!
//! The figures follow the seed's "Recommended resource planning": the per-component table
//! gives each workload's requests and limits; the total-resource table sums them per
//! scenario. How each seed total follows from the per-component table:
//!
//! - a workload counts its replicas (azureml-fe-v2: 1 for test, 3 for production) and a
//!   DaemonSet (fluent-bit before 1.1.17) one pod per node, so the production rows, sized
//!   for 3 nodes, carry two more azureml-fe-v2 replicas and two more fluent-bit pods;
//! - test sizing reads requests and production sizing reads limits (the seed's note).
//!
//! When the computed need equals one of the seed's six rows, that row's SKU is the
//! recommendation; otherwise amlc picks the smallest DSv2 size whose allocatable CPU and
//! memory fit one node's share: after AKS's reservations on aks, after an allowance for the
//! distribution's own reservations on Arc-connected clusters (arc, aro, ocp), whose nodes
//! are not Azure VMs. There the size is given in vCPU and memory, the SKU only as an
//! example. The report says which rule answered. The healthcheck Job runs only before an
//! install or upgrade and is not counted.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::catalog::{Amount, Resources};
use crate::config::{ClusterType, Config, Profile};
use crate::plan::{Plan, Replicas};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scenario {
    pub profile: Profile,
    pub inference: bool,
    pub training: bool,
    pub cpu_request: u64,
    pub cpu_limit: u64,
    pub memory_request: u64,
    pub memory_limit: u64,
    pub nodes: u32,
    /// The seed's "Recommended minimum VM size" text.
    pub vm: String,
    pub sku: String,
    /// Where the seed's row disagrees with itself.
    #[serde(default)]
    pub contradiction: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmSize {
    pub sku: String,
    pub vcpus: u64,
    #[serde(rename = "memoryMiB")]
    pub memory_mib: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemorySlice {
    #[serde(rename = "upToMiB")]
    pub up_to_mib: u64,
    pub percent: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservations {
    pub cpu_millicores: BTreeMap<String, u64>,
    pub memory_slices: Vec<MemorySlice>,
    #[serde(rename = "evictionMiB")]
    pub eviction_mib: u64,
    pub minimum_vcpus: u64,
    #[serde(rename = "minimumMemoryMiB")]
    pub minimum_memory_mib: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sidecar {
    pub cpu_request: u64,
    pub cpu_limit: u64,
    pub memory_request: u64,
    pub memory_limit: u64,
}

/// What a node of an Arc-connected cluster keeps back, as amlc allows for it: the
/// distribution decides (`targets/capacity.yaml` says which defaults these are).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArcReservations {
    pub cpu_millicores: u64,
    #[serde(rename = "memoryMiB")]
    pub memory_mib: u64,
    #[serde(rename = "evictionMiB")]
    pub eviction_mib: u64,
}

/// `targets/capacity.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityData {
    pub scenarios: Vec<Scenario>,
    pub vm_sizes: Vec<VmSize>,
    pub reservations: Reservations,
    pub arc_reservations: ArcReservations,
    pub identity_sidecar: Sidecar,
}

impl CapacityData {
    pub fn embedded() -> &'static CapacityData {
        static DATA: OnceLock<CapacityData> = OnceLock::new();
        DATA.get_or_init(|| {
            let text = crate::embedded::file("targets/capacity.yaml")
                .expect("targets/capacity.yaml is embedded at build time");
            crate::embedded::read_yaml("targets/capacity.yaml", text)
                .expect("targets/capacity.yaml is valid (a test proves it)")
        })
    }
}

impl VmSize {
    /// CPU and memory left for pods after AKS's reservations.
    pub fn allocatable(&self, r: &Reservations) -> Amount {
        let reserved_cpu = r
            .cpu_millicores
            .get(&self.vcpus.to_string())
            .copied()
            .unwrap_or(0);
        let mut reserved_mem_tenths = 0u64;
        let mut below = 0u64;
        for slice in &r.memory_slices {
            let in_slice = self.memory_mib.min(slice.up_to_mib).saturating_sub(below);
            // Percent of MiB, kept in tenths of a MiB to round once at the end.
            reserved_mem_tenths += in_slice * slice.percent / 10;
            below = slice.up_to_mib;
            if self.memory_mib <= below {
                break;
            }
        }
        let reserved_mem = reserved_mem_tenths.div_ceil(10) + r.eviction_mib;
        Amount {
            cpu_millicores: (self.vcpus * 1000).saturating_sub(reserved_cpu),
            memory_mib: self.memory_mib.saturating_sub(reserved_mem),
        }
    }

    /// CPU and memory left for pods on a node of this shape in an Arc-connected cluster.
    pub fn allocatable_arc(&self, r: &ArcReservations) -> Amount {
        Amount {
            cpu_millicores: (self.vcpus * 1000).saturating_sub(r.cpu_millicores),
            memory_mib: self
                .memory_mib
                .saturating_sub(r.memory_mib + r.eviction_mib),
        }
    }

    fn meets_minimum(&self, r: &Reservations) -> bool {
        self.vcpus >= r.minimum_vcpus && self.memory_mib >= r.minimum_memory_mib
    }

    fn shape(&self) -> NodeSize {
        NodeSize {
            vcpus: self.vcpus,
            memory_mib: self.memory_mib,
        }
    }
}

/// A node's size in vCPU and memory: what an Arc-connected cluster's nodes need, whatever
/// machines they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSize {
    pub vcpus: u64,
    #[serde(rename = "memoryMiB")]
    pub memory_mib: u64,
}

impl std::fmt::Display for NodeSize {
    /// `4 vCPU, 14 GiB memory`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} vCPU, {} memory", self.vcpus, gib(self.memory_mib))
    }
}

/// MiB as GiB for people: `14 GiB`, `3.5 GiB`.
fn gib(mib: u64) -> String {
    if mib.is_multiple_of(1024) {
        format!("{} GiB", mib / 1024)
    } else {
        format!("{:.1} GiB", mib as f64 / 1024.0)
    }
}

/// One line of the plan: a workload's requests and limits across its replicas or nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentLine {
    pub name: String,
    pub kind: String,
    /// Pods: replicas, one per node for DaemonSets, one per deployment for sidecars.
    pub replicas: u32,
    /// Across all its pods.
    #[serde(flatten)]
    pub figures: Totals,
    /// Whether the figures are the seed's (else the values amlc renders).
    pub from_seed: bool,
    #[serde(skip)]
    per_pod: Resources,
    #[serde(skip)]
    per_node: bool,
}

/// Requests and limits, in the units DESIGN.md fixes for `amlc plan --format json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    #[serde(rename = "cpuRequestMillicores")]
    pub cpu_request_millicores: u64,
    #[serde(rename = "cpuLimitMillicores")]
    pub cpu_limit_millicores: u64,
    #[serde(rename = "memoryRequestMiB")]
    pub memory_request_mib: u64,
    #[serde(rename = "memoryLimitMiB")]
    pub memory_limit_mib: u64,
}

impl std::ops::Add for Totals {
    type Output = Totals;
    fn add(self, o: Totals) -> Totals {
        Totals {
            cpu_request_millicores: self.cpu_request_millicores + o.cpu_request_millicores,
            cpu_limit_millicores: self.cpu_limit_millicores + o.cpu_limit_millicores,
            memory_request_mib: self.memory_request_mib + o.memory_request_mib,
            memory_limit_mib: self.memory_limit_mib + o.memory_limit_mib,
        }
    }
}

impl From<Resources> for Totals {
    fn from(r: Resources) -> Totals {
        Totals {
            cpu_request_millicores: r.requests.cpu_millicores,
            cpu_limit_millicores: r.limits.cpu_millicores,
            memory_request_mib: r.requests.memory_mib,
            memory_limit_mib: r.limits.memory_mib,
        }
    }
}

/// The plan report, in the JSON shape DESIGN.md fixes (plus `nodeSize`, `clusterType`,
/// `profile`, `sizing`, `rule` and `notes`, which scripts may ignore).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub components: Vec<ComponentLine>,
    pub totals: Totals,
    pub node_count: u32,
    /// The Azure SKU: the recommendation on aks, an example of `node_size` elsewhere.
    pub recommended_vm_size: String,
    /// The recommended node in vCPU and memory (the SKU's shape).
    pub node_size: NodeSize,
    pub cluster_type: ClusterType,
    pub profile: Profile,
    /// What the size was chosen by: `requests` (test) or `limits` (production).
    pub sizing: &'static str,
    /// Which rule produced the recommendation.
    pub rule: String,
    pub notes: Vec<String>,
}

/// Builds the report for a plan; `deployments` online deployments add their identity sidecars.
pub fn report(plan: &Plan, config: &Config, deployments: u32) -> Report {
    let data = CapacityData::embedded();
    let mut notes = Vec::new();
    let mut components: Vec<ComponentLine> = Vec::new();
    let mut not_from_seed = Vec::new();
    for w in plan.workloads() {
        // Hook Jobs (the healthcheck) run before install or upgrade, not alongside.
        if w.kind == "Job" {
            notes.push(format!(
                "{} runs as a {} before install and upgrade and is not counted",
                w.name, w.kind
            ));
            continue;
        }
        if !w.resources_from_seed {
            not_from_seed.push(w.name.clone());
        }
        components.push(line(
            &w.name,
            &w.kind,
            w.pods,
            w.per_pod,
            w.resources_from_seed,
            w.replicas == Replicas::PerNode,
        ));
    }
    let releases = crate::releases::Releases::embedded();
    if releases.is_on("fluentBitSidecar", &config.extension.version) {
        let since = releases
            .gate("fluentBitSidecar")
            .map_or_else(String::new, |g| format!(" from {}", g.cite()));
        notes.push(format!(
            "fluent-bit runs as sidecars of the jobs' and deployments' pods{since}, not as a DaemonSet; extension {} counts none",
            config.extension.version
        ));
    }
    // By name, as on the cluster; the sidecar line stays last.
    components.sort_by(|a, b| a.name.cmp(&b.name));
    if deployments > 0 {
        if config.inference.enabled {
            let s = &data.identity_sidecar;
            let per_pod = Resources {
                requests: Amount {
                    cpu_millicores: s.cpu_request,
                    memory_mib: s.memory_request,
                },
                limits: Amount {
                    cpu_millicores: s.cpu_limit,
                    memory_mib: s.memory_limit,
                },
            };
            components.push(line(
                "online-deployment/identity-sidecar",
                "Sidecar",
                deployments,
                per_pod,
                true,
                false,
            ));
            notes.push(format!("{deployments} online deployment(s) each add an identity sidecar; the deployments' own containers are yours to size"));
        } else {
            notes.push("--deployments is ignored: online deployments need inference".into());
        }
    }
    if !not_from_seed.is_empty() {
        notes.push(format!(
            "not in the resource table of the Azure ML reference page, \"Recommended resource planning\" (the values amlc renders): {}",
            not_from_seed.join(", ")
        ));
    }
    let totals = components
        .iter()
        .fold(Totals::default(), |t, c| t + c.figures);
    let profile = config.profile();
    let sizing = match profile {
        Profile::Test => "requests",
        Profile::Production => "limits",
    };
    let nodes = config.cluster.node_count.max(1);
    let cluster_type = config.cluster.cluster_type;
    let (vm, rule) = match seed_row(data, config, &totals, nodes) {
        Some(row) => {
            if let Some(c) = &row.contradiction {
                notes.push(c.clone());
            }
            let vm = data
                .vm_sizes
                .iter()
                .find(|vm| vm.sku == row.sku)
                .expect("every scenario's SKU is a listed VM size (a test proves it)");
            (
                vm,
                format!(
                    "reference table: the need equals the {} row with {} of the Azure ML reference page, \"Recommended resource planning\" ({})",
                    profile.as_str(),
                    features(row.training, row.inference),
                    row.vm
                ),
            )
        }
        None => computed_size(data, &components, profile, nodes, cluster_type),
    };
    if cluster_type.is_arc_connected() {
        let r = &data.arc_reservations;
        notes.push(format!(
            "{} nodes are not AKS nodes: each keeps back what its distribution configures (kube-reserved, system-reserved, eviction); amlc allows {}m CPU and {}Mi memory per node (OpenShift's defaults); `kubectl describe node` shows a node's Allocatable",
            cluster_type.as_str(),
            r.cpu_millicores,
            r.memory_mib + r.eviction_mib
        ));
    }
    Report {
        components,
        totals,
        node_count: nodes,
        recommended_vm_size: vm.sku.clone(),
        node_size: vm.shape(),
        cluster_type,
        profile,
        sizing,
        rule,
        notes,
    }
}

fn line(
    name: &str,
    kind: &str,
    pods: u32,
    per_pod: Resources,
    from_seed: bool,
    per_node: bool,
) -> ComponentLine {
    ComponentLine {
        name: name.to_owned(),
        kind: kind.to_owned(),
        replicas: pods,
        figures: per_pod.times(u64::from(pods)).into(),
        from_seed,
        per_pod,
        per_node,
    }
}

fn features(training: bool, inference: bool) -> &'static str {
    match (training, inference) {
        (true, true) => "training and inference",
        (true, false) => "training",
        _ => "inference",
    }
}

/// The seed row this config's need is identical to, if any.
fn seed_row<'a>(
    data: &'a CapacityData,
    config: &Config,
    t: &Totals,
    nodes: u32,
) -> Option<&'a Scenario> {
    data.scenarios.iter().find(|s| {
        s.profile == config.profile()
            && s.training == config.training.enabled
            && s.inference == config.inference.enabled
            && s.nodes == nodes
            && (s.cpu_request, s.cpu_limit, s.memory_request, s.memory_limit)
                == (
                    t.cpu_request_millicores,
                    t.cpu_limit_millicores,
                    t.memory_request_mib,
                    t.memory_limit_mib,
                )
    })
}

/// The smallest DSv2 size whose allocatable resources fit one node's share: the per-node
/// pods in full, plus the other pods spread over the nodes (but at least the largest one).
/// Allocatable is after AKS's reservations on aks, after the Arc allowance elsewhere.
fn computed_size<'a>(
    data: &'a CapacityData,
    components: &[ComponentLine],
    profile: Profile,
    nodes: u32,
    cluster_type: ClusterType,
) -> (&'a VmSize, String) {
    let pick = |r: &Resources| match profile {
        Profile::Test => r.requests,
        Profile::Production => r.limits,
    };
    let mut per_node_pods = Amount::default();
    let mut spread = Amount::default();
    let mut largest = Amount::default();
    for c in components {
        let one = pick(&c.per_pod);
        if c.per_node {
            per_node_pods = per_node_pods + one;
        } else {
            spread = spread + one.times(u64::from(c.replicas));
            largest.cpu_millicores = largest.cpu_millicores.max(one.cpu_millicores);
            largest.memory_mib = largest.memory_mib.max(one.memory_mib);
        }
    }
    let n = u64::from(nodes);
    let share = Amount {
        cpu_millicores: spread
            .cpu_millicores
            .div_ceil(n)
            .max(largest.cpu_millicores)
            + per_node_pods.cpu_millicores,
        memory_mib: spread.memory_mib.div_ceil(n).max(largest.memory_mib)
            + per_node_pods.memory_mib,
    };
    let r = &data.reservations;
    let is_aks = cluster_type == ClusterType::Aks;
    let allocatable = |vm: &VmSize| {
        if is_aks {
            vm.allocatable(r)
        } else {
            vm.allocatable_arc(&data.arc_reservations)
        }
    };
    let fit = data.vm_sizes.iter().find(|vm| {
        let a = allocatable(vm);
        (vm.meets_minimum(r) || !is_aks)
            && a.cpu_millicores >= share.cpu_millicores
            && a.memory_mib >= share.memory_mib
    });
    let need = format!(
        "{}m CPU and {}Mi memory of {} per node over {nodes} node(s)",
        share.cpu_millicores,
        share.memory_mib,
        if profile == Profile::Test {
            "requests"
        } else {
            "limits"
        }
    );
    let largest = data
        .vm_sizes
        .last()
        .expect("targets/capacity.yaml lists VM sizes (a test proves it)");
    match (fit, is_aks) {
        (Some(vm), true) => {
            let a = allocatable(vm);
            (
                vm,
                format!(
                    "computed: {need} fits {} ({}m CPU, {}Mi allocatable after AKS reservations), the smallest DSv2 size that does",
                    vm.sku, a.cpu_millicores, a.memory_mib
                ),
            )
        }
        (Some(vm), false) => {
            let a = allocatable(vm);
            (
                vm,
                format!(
                    "computed: {need} fits a node of {} ({}m CPU, {}Mi allocatable after the allowance for its own reservations), the smallest of the DSv2 shapes that does",
                    vm.shape(),
                    a.cpu_millicores,
                    a.memory_mib
                ),
            )
        }
        (None, true) => (
            largest,
            format!(
                "computed: {need} fits no DSv2 size; add nodes (this names the largest, {})",
                largest.sku
            ),
        ),
        (None, false) => (
            largest,
            format!(
                "computed: {need} fits no node of up to {}; add nodes (this names the largest)",
                largest.shape()
            ),
        ),
    }
}

/// The table `amlc plan` prints.
pub fn render_table(r: &Report) -> String {
    let header = [
        "COMPONENT",
        "KIND",
        "PODS",
        "CPU REQ (m)",
        "CPU LIM (m)",
        "MEM REQ (Mi)",
        "MEM LIM (Mi)",
    ];
    let mut rows: Vec<[String; 7]> = r
        .components
        .iter()
        .map(|c| {
            [
                if c.from_seed {
                    c.name.clone()
                } else {
                    format!("{}*", c.name)
                },
                c.kind.clone(),
                c.replicas.to_string(),
                c.figures.cpu_request_millicores.to_string(),
                c.figures.cpu_limit_millicores.to_string(),
                c.figures.memory_request_mib.to_string(),
                c.figures.memory_limit_mib.to_string(),
            ]
        })
        .collect();
    let t = &r.totals;
    rows.push([
        "TOTAL".into(),
        String::new(),
        String::new(),
        t.cpu_request_millicores.to_string(),
        t.cpu_limit_millicores.to_string(),
        t.memory_request_mib.to_string(),
        t.memory_limit_mib.to_string(),
    ]);
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let fmt_row = |cells: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            // Names left-aligned, numbers right-aligned.
            if i < 2 {
                s.push_str(&format!("{cell:<w$}"));
            } else {
                s.push_str(&format!("{cell:>w$}"));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = fmt_row(&header.map(str::to_owned));
    for row in &rows {
        out.push_str(&fmt_row(row));
    }
    out.push('\n');
    out.push_str(&format!(
        "profile:          {} (sized by {})\n",
        r.profile.as_str(),
        r.sizing
    ));
    out.push_str(&format!("node count:       {}\n", r.node_count));
    if r.cluster_type == ClusterType::Aks {
        out.push_str(&format!("recommended VM:   {}\n", r.recommended_vm_size));
    } else {
        // Not an Azure VM: the shape is the recommendation, the SKU an example of it.
        out.push_str(&format!(
            "node size:        {} per node (e.g. Azure {})\n",
            r.node_size, r.recommended_vm_size
        ));
    }
    out.push_str(&format!("rule:             {}\n", r.rule));
    if r.components.iter().any(|c| !c.from_seed) {
        out.push_str("* not in the reference page's resource table\n");
    }
    for n in &r.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}

/// The JSON `amlc plan --format json` prints.
pub fn render_json(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("the report serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(sku: &str) -> &'static VmSize {
        CapacityData::embedded()
            .vm_sizes
            .iter()
            .find(|v| v.sku == sku)
            .unwrap()
    }

    #[test]
    fn data_parses_with_six_seed_rows() {
        assert_eq!(CapacityData::embedded().scenarios.len(), 6);
    }

    #[test]
    fn allocatable_follows_aks_reservations() {
        let r = &CapacityData::embedded().reservations;
        // DS2v2: 2000m - 100m; 7168Mi - (25% of 4096 + 20% of 3072) - 750.
        assert_eq!(
            vm("DS2v2").allocatable(r),
            Amount {
                cpu_millicores: 1900,
                memory_mib: 7168 - 1639 - 750
            }
        );
        assert_eq!(vm("DS3v2").allocatable(r).cpu_millicores, 3860);
    }

    #[test]
    fn the_seed_test_rows_also_follow_from_the_computed_rule() {
        // Why the seed picks DS3v2 for test with both features: 1910m of requests does not
        // fit DS2v2's 1900m allocatable CPU.
        let r = &CapacityData::embedded().reservations;
        assert!(vm("DS2v2").allocatable(r).cpu_millicores < 1910);
        assert!(vm("DS2v2").allocatable(r).cpu_millicores >= 1780);
    }
}
