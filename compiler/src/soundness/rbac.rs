//! Least privilege, judged on the rendered ClusterRoles (DESIGN.md, "Second round",
//! "Hardened"). Three rules, each a finding with the role and the rule that breaks it:
//!
//! - **deletes-cluster-objects**: no ClusterRole may delete nodes, namespaces or persistent
//!   volumes. Losing one of those loses other people's work (every pod of a node, every
//!   object of a namespace, the data of a volume), and no extension component needs to.
//! - **wildcard-outside-own-groups**: `*` (in apiGroups, resources or verbs) only in rules
//!   whose groups are all groups of the render's own CRDs. A wildcard grants whatever
//!   Kubernetes adds later; inside the render's own API that is the component's own design,
//!   outside it it is a grant nobody reviewed.
//! - **reads-secrets-cluster-wide**: a ClusterRole that may get, list or watch every Secret
//!   of the cluster; allowed only for components that declare why (`rbac.clusterWideSecrets`
//!   in component.yaml), checked by the caller, who knows the components.
//!
//! Example: `{apiGroups: [""], resources: ["*"], verbs: [get, delete]}` breaks the first two.
//! The fix is naming the resources and verbs the program uses, and moving Secret access
//! into a Role in the namespaces that hold the Secrets.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::object;

/// Which rule a ClusterRole breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Breach {
    DeletesClusterObjects,
    WildcardOutsideOwnGroups,
    ReadsSecretsClusterWide,
}

impl Breach {
    /// The diagnostic code.
    pub fn code(self) -> &'static str {
        match self {
            Breach::DeletesClusterObjects => "amlc::security::deletes-cluster-objects",
            Breach::WildcardOutsideOwnGroups => "amlc::security::wildcard-outside-own-groups",
            Breach::ReadsSecretsClusterWide => "amlc::security::reads-secrets-cluster-wide",
        }
    }
}

/// One breach: the ClusterRole, the index of its rule, and what the rule grants.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub breach: Breach,
    pub role: String,
    pub rule: usize,
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ClusterRole {} rules[{}] {}",
            self.role, self.rule, self.detail
        )
    }
}

/// Cluster-scoped objects whose deletion no extension component may have.
const PROTECTED: [&str; 3] = ["nodes", "namespaces", "persistentvolumes"];

/// The API groups of the CRDs among `objects`.
pub fn own_groups<'a>(objects: impl IntoIterator<Item = &'a Value>) -> BTreeSet<&'a str> {
    objects
        .into_iter()
        .filter(|v| object::kind(v) == "CustomResourceDefinition")
        .filter_map(|v| v.get("spec")?.get("group")?.as_str())
        .collect()
}

/// The breaches of one ClusterRole (any other object: none). `own` are the groups of the
/// render's CRDs.
pub fn check(role: &Value, own: &BTreeSet<&str>) -> Vec<Finding> {
    if object::kind(role) != "ClusterRole" || object::group(role) != "rbac.authorization.k8s.io" {
        return Vec::new();
    }
    let name = object::name(role);
    let mut out = Vec::new();
    for (i, rule) in role
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        // Iterated in place, not collected: every build judges every ClusterRole.
        let groups = || strings(rule, "apiGroups");
        let resources = || strings(rule, "resources");
        let verbs = || strings(rule, "verbs");
        let core = groups().any(|g| g.is_empty() || g == "*");
        let covers = |resource: &str| resources().any(|r| r == resource || r == "*");
        let may = |verb: &str| verbs().any(|v| v == verb || v == "*");
        let mut finding = |breach: Breach, detail: String| {
            out.push(Finding {
                breach,
                role: name.to_owned(),
                rule: i,
                detail,
            });
        };
        if core && (may("delete") || may("deletecollection")) {
            for p in PROTECTED.iter().filter(|p| covers(p)) {
                finding(Breach::DeletesClusterObjects, format!("may delete {p}"));
            }
        }
        let wildcard = groups()
            .chain(resources())
            .chain(verbs())
            .any(|s| s.contains('*'));
        if wildcard && groups().any(|g| !own.contains(g)) {
            let foreign: Vec<&str> = groups()
                .filter(|g| !own.contains(g))
                .map(|g| if g.is_empty() { "\"\" (core)" } else { g })
                .collect();
            finding(
                Breach::WildcardOutsideOwnGroups,
                format!(
                    "grants `*` in API groups the render defines no CRD for: {}",
                    foreign.join(", ")
                ),
            );
        }
        let named_only = rule
            .get("resourceNames")
            .and_then(Value::as_array)
            .is_some_and(|n| !n.is_empty());
        if core
            && covers("secrets")
            && !named_only
            && ["get", "list", "watch"].iter().any(|v| may(v))
        {
            finding(
                Breach::ReadsSecretsClusterWide,
                "may read Secrets in every namespace".into(),
            );
        }
    }
    out
}

fn strings<'a>(rule: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    rule.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn role(rules: Value) -> Value {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": "r"}, "rules": rules})
    }

    fn breaches(rules: Value) -> Vec<Breach> {
        let own = BTreeSet::from(["batch.volcano.sh"]);
        check(&role(rules), &own)
            .into_iter()
            .map(|f| f.breach)
            .collect()
    }

    #[test]
    fn each_rule_and_what_passes_it() {
        use Breach::*;
        let cases = [
            (
                json!([{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]),
                vec![],
            ),
            (
                json!([{"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["delete"]}]),
                vec![DeletesClusterObjects],
            ),
            (
                json!([{"apiGroups": [""], "resources": ["persistentvolumes"], "verbs": ["deletecollection"]}]),
                vec![DeletesClusterObjects],
            ),
            (
                json!([{"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}]),
                vec![WildcardOutsideOwnGroups, ReadsSecretsClusterWide],
            ),
            (
                json!([{"apiGroups": [""], "resources": ["*"], "verbs": ["*"]}]),
                vec![
                    DeletesClusterObjects,
                    DeletesClusterObjects,
                    DeletesClusterObjects,
                    WildcardOutsideOwnGroups,
                    ReadsSecretsClusterWide,
                ],
            ),
            (
                json!([{"apiGroups": ["batch.volcano.sh"], "resources": ["*"], "verbs": ["*"]}]),
                vec![],
            ),
            (
                json!([{"apiGroups": ["batch.volcano.sh", "apps"], "resources": ["*"], "verbs": ["get"]}]),
                vec![WildcardOutsideOwnGroups],
            ),
            (
                json!([{"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": ["*"]}]),
                vec![WildcardOutsideOwnGroups],
            ),
            (
                json!([{"apiGroups": ["*"], "resources": ["jobs"], "verbs": ["get"]}]),
                vec![WildcardOutsideOwnGroups],
            ),
            (
                json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "watch"]}]),
                vec![ReadsSecretsClusterWide],
            ),
            (
                json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}]),
                vec![],
            ),
            (
                json!([{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["one"], "verbs": ["get"]}]),
                vec![],
            ),
        ];
        for (rules, want) in cases {
            assert_eq!(breaches(rules.clone()), want, "{rules}");
        }
    }

    #[test]
    fn roles_and_other_objects_are_not_judged() {
        let mut r = role(json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]));
        r["kind"] = json!("Role");
        assert!(check(&r, &BTreeSet::new()).is_empty());
    }

    #[test]
    fn own_groups_are_the_crds_groups() {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                         "spec": {"group": "amlarc.azureml.com"}});
        assert_eq!(own_groups([&crd]), BTreeSet::from(["amlarc.azureml.com"]));
    }
}
