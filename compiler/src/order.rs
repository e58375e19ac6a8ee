//! Install order: the order objects are written in, so `kubectl apply -f` of the stream
//! creates what others depend on first (namespaces, accounts, configuration, CRDs, RBAC)
//! before the workloads that use them. Unknown kinds (custom resources) go last, after the
//! CRDs that define them, alphabetically; then namespace, then name. The sort is stable.

use crate::object::Object;

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
/// by kind name; then namespace (cluster-scoped first) and name.
fn key(o: &Object) -> (usize, String, String, String) {
    let kind = o.kind();
    let rank = kind_rank(kind);
    let unknown_kind = if rank == INSTALL_ORDER.len() {
        kind.to_owned()
    } else {
        String::new()
    };
    (
        rank,
        unknown_kind,
        o.namespace().unwrap_or("").to_owned(),
        o.name().to_owned(),
    )
}

pub fn sort(mut objects: Vec<Object>) -> Vec<Object> {
    objects.sort_by_cached_key(key);
    objects
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::table::objects;

    fn order(yaml: &str) -> Vec<String> {
        sort(objects(yaml))
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
