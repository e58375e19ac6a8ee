//! The render judged against its components' own security declarations (DESIGN.md,
//! "Second round", "Hardened"): each pod template against the Pod Security Standards and
//! the exceptions its component's `podSecurity` allows ([`pod_security`]), each ClusterRole
//! against least privilege and its component's `rbac` declaration ([`rbac`]).
//!
//! The built-in components are tested to pass; a user's `--components` folder may not, and
//! the build warns. Objects are matched to their component by the `app.kubernetes.io/name`
//! label amlc puts on every object.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use super::{pod_security, rbac};
use crate::catalog::{Catalog, ComponentMeta, PodSecurityMeta, RbacMeta};
use crate::manifest::Manifest;
use crate::object;

/// Code of a pod that fails a control its component does not allow.
pub const POD_SECURITY: &str = "amlc::security::pod-security";

/// One problem: its code and what, where.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub code: &'static str,
    pub message: String,
}

/// The component that rendered an object, by its label.
pub fn component_of<'c>(v: &Value, catalog: &'c Catalog) -> Option<&'c ComponentMeta> {
    let name = v
        .get("metadata")?
        .get("labels")?
        .get("app.kubernetes.io/name")?
        .as_str()?;
    catalog.get(name).map(|c| &c.meta)
}

/// Every finding of a render.
pub fn check<'a>(objects: impl IntoIterator<Item = &'a Value>, catalog: &Catalog) -> Vec<Finding> {
    let objects: Vec<&Value> = objects.into_iter().collect();
    let own: BTreeSet<&str> = rbac::own_groups(objects.iter().copied());
    objects
        .iter()
        .flat_map(|v| judge(v, catalog, &own))
        .collect()
}

/// [`check`] of a build's objects, by their shapes; an object the same check found
/// nothing in for an earlier build of the process is not looked at again: a fleet's shared
/// objects are checked once. The same check: the same catalog, and for a ClusterRole the
/// same CRD groups (what findings depend on besides the object).
pub fn check_manifests(objects: &[Manifest], catalog: &Catalog) -> Vec<Finding> {
    let own: BTreeSet<&str> = rbac::own_groups(objects.iter().map(Manifest::shape));
    let (any, roles) = (check_id(catalog, &BTreeSet::new()), check_id(catalog, &own));
    let mut out = Vec::new();
    for m in objects {
        let id = if object::kind(m.shape()) == "ClusterRole" {
            roles
        } else {
            any
        };
        if m.found_clean(id) {
            continue;
        }
        let found = judge(m.shape(), catalog, &own);
        if found.is_empty() {
            m.mark_clean(id);
        }
        out.extend(found);
    }
    out
}

/// The id of a check: its catalog and CRD groups, given the first time they are seen.
fn check_id(catalog: &Catalog, own: &BTreeSet<&str>) -> u64 {
    type Ids = HashMap<(u64, Vec<String>), u64>;
    static IDS: OnceLock<Mutex<Ids>> = OnceLock::new();
    let key = (catalog.id(), own.iter().map(|g| (*g).to_owned()).collect());
    let Ok(mut ids) = IDS.get_or_init(Mutex::default).lock() else {
        // No id: nothing is taken as checked.
        return 0;
    };
    let next = ids.len() as u64 + 1;
    *ids.entry(key).or_insert(next)
}

/// One object's findings. `own` are the groups of the render's CRDs.
fn judge(v: &Value, catalog: &Catalog, own: &BTreeSet<&str>) -> Vec<Finding> {
    let mut out = Vec::new();
    // Only pods and ClusterRoles are judged; most objects are neither.
    if object::pod_template(v).is_none() && object::kind(v) != "ClusterRole" {
        return out;
    }
    let (no_pod_security, no_rbac) = (PodSecurityMeta::default(), RbacMeta::default());
    let meta = component_of(v, catalog);
    let policy = meta.map_or(&no_pod_security, |m| &m.pod_security);
    let declared = meta.map_or(&no_rbac, |m| &m.rbac);
    let what = || {
        format!(
            "{} {}",
            object::kind(v),
            [object::namespace(v).unwrap_or(""), object::name(v)]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("/")
        )
    };
    if let Some(template) = object::pod_template(v) {
        let allowed = pod_security::with_implied(&policy.allows);
        for violation in pod_security::violations(
            template.get("metadata").unwrap_or(&Value::Null),
            template.get("spec").unwrap_or(&Value::Null),
        ) {
            if !allowed.contains(&violation.control) {
                out.push(Finding {
                    code: POD_SECURITY,
                    message: format!(
                        "{} fails the Pod Security Standards control {violation}",
                        what()
                    ),
                });
            }
        }
    }
    for f in rbac::check(v, own) {
        if f.breach == rbac::Breach::ReadsSecretsClusterWide
            && declared.cluster_wide_secrets.is_some()
        {
            continue;
        }
        out.push(Finding {
            code: f.breach.code(),
            message: f.to_string(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes(objects: &[Value]) -> Vec<&'static str> {
        let catalog = Catalog::embedded().unwrap();
        check(objects, &catalog)
            .into_iter()
            .map(|f| f.code)
            .collect()
    }

    fn labelled(component: &str, mut v: Value) -> Value {
        v["metadata"]["labels"] = json!({"app.kubernetes.io/name": component});
        v
    }

    /// A user's component gets the default, restricted, and no Secret declaration.
    #[test]
    fn an_undeclared_component_is_held_to_restricted_and_least_privilege() {
        let pod = labelled(
            "mine",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                   "spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}}),
        );
        let role = labelled(
            "mine",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"},
                   "rules": [{"apiGroups": [""], "resources": ["secrets", "nodes"], "verbs": ["get", "delete"]}]}),
        );
        let found = codes(&[pod, role]);
        assert!(
            found.iter().filter(|c| **c == POD_SECURITY).count() >= 4,
            "{found:?}"
        );
        assert!(found.contains(&"amlc::security::deletes-cluster-objects"));
        assert!(found.contains(&"amlc::security::reads-secrets-cluster-wide"));
    }

    /// An object found clean is taken as clean only by the same check: a catalog whose
    /// component declares less finds what the first did not.
    #[test]
    fn an_object_found_clean_is_checked_again_under_another_catalog() {
        let agent = crate::manifest::Manifest::new(labelled(
            "fluent-bit",
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"},
                "spec": {"template": {"spec": {
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{"name": "c", "securityContext": {
                        "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
                    "volumes": [{"name": "log", "hostPath": {"path": "/var/log"}}]}}}}),
        ));
        let built_in = Catalog::embedded().unwrap();
        for _ in 0..2 {
            assert_eq!(check_manifests(std::slice::from_ref(&agent), &built_in), []);
        }
        let user = Catalog::from_files(
            "mine",
            &[
                (
                    "fluent-bit/component.yaml".into(),
                    "description: d\nfeature: both\nwhen: \"true\"\n".into(),
                ),
                ("fluent-bit/templates/a.yaml.j2".into(), String::new()),
            ],
            crate::catalog::Origin::User,
        )
        .unwrap();
        let overridden = Catalog::embedded().unwrap().with_overrides(user);
        let found = check_manifests(std::slice::from_ref(&agent), &overridden);
        assert!(found.iter().any(|f| f.code == POD_SECURITY), "{found:?}");
        assert_eq!(found, check([agent.value()], &overridden));
    }

    /// A built-in agent's declared exception is not reported; what it does not declare is.
    #[test]
    fn a_declared_exception_covers_what_it_names_only() {
        let agent = |extra: Value| {
            let mut v = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"},
                "spec": {"template": {"spec": {
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{"name": "c", "securityContext": {
                        "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
                    "volumes": [{"name": "log", "hostPath": {"path": "/var/log"}}]}}}});
            if let Some((k, x)) = extra.as_object().and_then(|m| m.iter().next()) {
                v["spec"]["template"]["spec"][k] = x.clone();
            }
            labelled("fluent-bit", v)
        };
        assert_eq!(codes(&[agent(json!({}))]), Vec::<&str>::new());
        assert_eq!(
            codes(&[agent(json!({"hostNetwork": true}))]),
            [POD_SECURITY]
        );
    }
}
