//! Node taints for a config: the `kubectl taint` and `az aks nodepool update` commands that
//! put the configured amlarc taints on the dedicated nodes, and which of the seed's
//! best-practice scenarios the set implements (seed "Supported Azure Machine Learning taints
//! and tolerations", "Best practices").
//!
//! It only describes; it runs nothing. Validation has already made sure every taint has
//! its value (`amlc::rule::taint-needs-value`).

use serde::Serialize;

use crate::config::{ClusterType, Config, TaintKey};

/// One node taint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeTaint {
    pub key: &'static str,
    pub value: String,
    pub effect: &'static str,
}

impl NodeTaint {
    /// `KEY=VALUE:EFFECT`, the form both kubectl and az take.
    pub fn spec(&self) -> String {
        format!("{}={}:{}", self.key, self.value, self.effect)
    }
}

/// A best-practice scenario from the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    pub goal: &'static str,
    pub keys: &'static [TaintKey],
}

/// The seed's "Best practices" list, in its order.
pub const SCENARIOS: [Scenario; 5] = [
    Scenario {
        goal: "keep non-Azure Machine Learning workloads off the dedicated nodes",
        keys: &[TaintKey::Overall],
    },
    Scenario {
        goal: "keep non-system pods off the dedicated nodes",
        keys: &[TaintKey::Overall, TaintKey::System],
    },
    Scenario {
        goal: "keep non-machine-learning workloads off the dedicated nodes",
        keys: &[TaintKey::Overall, TaintKey::Workload],
    },
    Scenario {
        goal: "keep workloads not created from this workspace off the dedicated nodes",
        keys: &[
            TaintKey::Overall,
            TaintKey::ResourceGroup,
            TaintKey::Workspace,
        ],
    },
    Scenario {
        goal: "keep workloads not created by this compute target off the dedicated nodes",
        keys: &[
            TaintKey::Overall,
            TaintKey::ResourceGroup,
            TaintKey::Workspace,
            TaintKey::Compute,
        ],
    },
];

/// How the configured set relates to the scenarios.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScenarioMatch {
    /// The set is exactly this scenario's.
    Implements(Scenario),
    /// The closest scenario, and the taints the set lacks for it.
    Closest {
        scenario: Scenario,
        missing: Vec<TaintKey>,
        extra: Vec<TaintKey>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaintCommands {
    pub taints: Vec<NodeTaint>,
    /// One `kubectl taint nodes` line per taint.
    pub kubectl: Vec<String>,
    /// The AKS node-pool line, on aks only.
    pub az: Option<String>,
    pub scenario: Option<ScenarioMatch>,
}

/// Node label that names an AKS node pool.
const AKS_POOL_LABELS: [&str; 2] = ["agentpool", "kubernetes.azure.com/agentpool"];

/// The node taints of a validated config, in the seed table's order.
pub fn node_taints(config: &Config) -> Vec<NodeTaint> {
    let Some(t) = &config.taints else {
        return Vec::new();
    };
    TaintKey::ALL
        .iter()
        .filter(|k| t.keys.contains(k))
        .filter_map(|k| {
            Some(NodeTaint {
                key: k.node_key(),
                value: config.taint_value(*k)?.to_owned(),
                effect: t.effect.as_str(),
            })
        })
        .collect()
}

pub fn commands(config: &Config) -> TaintCommands {
    let taints = node_taints(config);
    let tainted = config.taint_node_selector();
    let selector = if tainted.is_empty() {
        "--all".to_owned()
    } else {
        let labels: Vec<String> = tainted.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("-l {}", labels.join(","))
    };
    let kubectl = taints
        .iter()
        .map(|t| format!("kubectl taint nodes {selector} {}", t.spec()))
        .collect();
    let az = (config.cluster.cluster_type == ClusterType::Aks && !taints.is_empty()).then(|| {
        let pool = AKS_POOL_LABELS
            .iter()
            .find_map(|l| tainted.get(*l))
            .map_or("<nodepool>", String::as_str);
        let specs: Vec<String> = taints.iter().map(NodeTaint::spec).collect();
        format!(
            "az aks nodepool update --resource-group {} --cluster-name {} --name {pool} --node-taints {}",
            config.cluster.resource_group.as_deref().unwrap_or("<resource-group>"),
            config.cluster.name.as_deref().unwrap_or("<cluster-name>"),
            specs.join(",")
        )
    });
    TaintCommands {
        taints,
        kubectl,
        az,
        scenario: scenario(config.taint_keys()),
    }
}

/// The scenario a set of keys implements, or the closest one: fewest taints added or
/// removed, then fewest to add, then the seed's order. Returns nothing for an empty set.
pub fn scenario(keys: &[TaintKey]) -> Option<ScenarioMatch> {
    if keys.is_empty() {
        return None;
    }
    let diff = |s: &Scenario| {
        let missing: Vec<TaintKey> = s
            .keys
            .iter()
            .copied()
            .filter(|k| !keys.contains(k))
            .collect();
        let mut extra: Vec<TaintKey> = keys
            .iter()
            .copied()
            .filter(|k| !s.keys.contains(k))
            .collect();
        extra.sort();
        (missing, extra)
    };
    let best = SCENARIOS
        .iter()
        .min_by_key(|s| {
            let (m, e) = diff(s);
            (m.len() + e.len(), m.len())
        })
        .copied()?;
    let (missing, extra) = diff(&best);
    Some(if missing.is_empty() && extra.is_empty() {
        ScenarioMatch::Implements(best)
    } else {
        ScenarioMatch::Closest {
            scenario: best,
            missing,
            extra,
        }
    })
}

/// The text `amlc taints` prints: the commands, then the scenario as `#` comments so the
/// output stays a runnable script.
pub fn render(c: &TaintCommands) -> String {
    let mut out = String::new();
    for line in &c.kubectl {
        out.push_str(line);
        out.push('\n');
    }
    if let Some(az) = &c.az {
        out.push_str(az);
        out.push('\n');
    }
    match &c.scenario {
        Some(ScenarioMatch::Implements(s)) => {
            out.push_str(&format!("# best practice: {}\n", s.goal));
        }
        Some(ScenarioMatch::Closest {
            scenario,
            missing,
            extra,
        }) => {
            out.push_str(&format!("# closest best practice: {}\n", scenario.goal));
            let names =
                |ks: &[TaintKey]| ks.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ");
            if !missing.is_empty() {
                out.push_str(&format!("# missing for it: {}\n", names(missing)));
            }
            if !extra.is_empty() {
                out.push_str(&format!("# not part of it: {}\n", names(extra)));
            }
        }
        None => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaintKey::*;

    #[test]
    fn every_seed_scenario_is_recognised() {
        for s in SCENARIOS {
            assert_eq!(scenario(s.keys), Some(ScenarioMatch::Implements(s)));
        }
    }

    #[test]
    fn compute_without_workspace_names_what_is_missing() {
        let Some(ScenarioMatch::Closest {
            scenario, missing, ..
        }) = scenario(&[Overall, ResourceGroup, Compute])
        else {
            panic!("closest expected")
        };
        assert_eq!(scenario.keys.len(), 4);
        assert_eq!(missing, [Workspace]);
    }

    #[test]
    fn system_and_workload_together_match_no_scenario_exactly() {
        let m = scenario(&[Overall, System, Workload]).unwrap();
        assert!(
            matches!(m, ScenarioMatch::Closest { ref missing, ref extra, .. } if missing.is_empty() && extra.len() == 1)
        );
    }
}
