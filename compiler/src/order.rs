//! Install order: the order objects are written in, so `kubectl apply -f` of the stream
//! creates what others depend on first (namespaces, accounts, configuration, CRDs, RBAC)
//! before the workloads that use them. Unknown kinds (custom resources) go last, after the
//! CRDs that define them, alphabetically; then namespace, then name. The sort is stable.

use serde_json::Value;

use crate::object;

/// DESIGN.md, "Determinism": the fixed install order.
pub const INSTALL_ORDER: &[&str] = &[
    "Namespace",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Deployment",
    "StatefulSet",
    "Job",
    "CronJob",
    "Ingress",
];

/// A kind's place in the install order; every unknown kind shares the place after the last.
pub fn kind_rank(kind: &str) -> usize {
    INSTALL_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(INSTALL_ORDER.len())
}

/// The sort key of an object: known kinds by their place, unknown ones after all of them
/// by kind name; then namespace (cluster-scoped first) and name. Borrowed: sorting a
/// build's objects allocates nothing.
fn key(v: &Value) -> (usize, &str, &str, &str) {
    let kind = object::kind(v);
    let rank = kind_rank(kind);
    let unknown_kind = if rank == INSTALL_ORDER.len() {
        kind
    } else {
        ""
    };
    (
        rank,
        unknown_kind,
        object::namespace(v).unwrap_or(""),
        object::name(v),
    )
}

/// Sorts into install order, stably; `value` gives an item's object. Each key is made
/// once, not once per comparison.
pub fn sort<T>(items: Vec<T>, value: impl Fn(&T) -> &Value) -> Vec<T> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    {
        let keys: Vec<_> = items.iter().map(|t| key(value(t))).collect();
        order.sort_by(|a, b| keys[*a].cmp(&keys[*b]));
    }
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::table::objects;

    fn order(yaml: &str) -> Vec<String> {
        sort(objects(yaml), |o| &o.value)
            .iter()
            .map(|o| format!("{}/{}", o.kind(), o.name()))
            .collect()
    }

    #[test]
    fn kinds_follow_the_install_order_then_names() {
        assert_eq!(
            order(
                "kind: Deployment\nmetadata: {name: b}\n---\nkind: Deployment\nmetadata: {name: a}\n---\nkind: Namespace\nmetadata: {name: azureml}\n---\nkind: ServiceAccount\nmetadata: {name: z}\n"
            ),
            [
                "Namespace/azureml",
                "ServiceAccount/z",
                "Deployment/a",
                "Deployment/b"
            ]
        );
    }

    #[test]
    fn unknown_kinds_go_last_alphabetically() {
        assert_eq!(
            order(
                "kind: Prometheus\nmetadata: {name: p}\n---\nkind: Ingress\nmetadata: {name: i}\n---\nkind: InstanceType\nmetadata: {name: t}\n"
            ),
            ["Ingress/i", "InstanceType/t", "Prometheus/p"]
        );
    }

    #[test]
    fn namespace_orders_before_name() {
        assert_eq!(
            order(
                "kind: PersistentVolumeClaim\nmetadata: {name: a, namespace: team}\n---\nkind: PersistentVolumeClaim\nmetadata: {name: b, namespace: default}\n"
            ),
            ["PersistentVolumeClaim/b", "PersistentVolumeClaim/a"]
        );
    }
}
