//! The Pod Security Standards `restricted` level as the default of every pod template
//! (DESIGN.md, "Second round", "Hardened"): what a template does not set itself is set here,
//! once, from its component's `podSecurity` metadata, instead of in each template.
//!
//! Every control of the restricted level is applied except those the component `allows`
//! (a node agent that needs the host, which says why), so an exception opens exactly what
//! the program needs and nothing more. A value the template sets is kept: the security
//! test, not this transform, judges the result. The Prometheus custom resource is left to
//! its template (the operator makes its containers).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::catalog::PodSecurityMeta;
use crate::object::{self, Object};
use crate::soundness::pod_security::Control;

/// Component name -> its pods' security metadata; a component not listed gets the default.
pub type Policies = BTreeMap<String, PodSecurityMeta>;

/// `default_user` is the user of containers whose component names none: [`DEFAULT_USER`],
/// or none on OpenShift, whose security context constraints assign each namespace's pods a
/// user of its own range and refuse others.
pub fn apply(
    mut objects: Vec<Object>,
    policies: &Policies,
    default_user: Option<u32>,
) -> Vec<Object> {
    let default = PodSecurityMeta::default();
    for o in &mut objects {
        let policy = policies.get(&o.component).unwrap_or(&default);
        if let Some(spec) = object::pod_template_mut(&mut o.value).and_then(|t| t.get_mut("spec")) {
            secure(spec, policy, policy.run_as_user.or(default_user));
        }
    }
    objects
}

fn secure(spec: &mut Value, policy: &PodSecurityMeta, user: Option<u32>) {
    let Some(spec) = spec.as_object_mut() else {
        return;
    };
    if !policy.calls_api_server {
        spec.entry("automountServiceAccountToken")
            .or_insert(Value::Bool(false));
    }
    let pod = entry(spec, "securityContext");
    if !policy.allows(Control::RunAsNonRoot) {
        pod.entry("runAsNonRoot").or_insert(Value::Bool(true));
    }
    if !policy.allows(Control::RunAsUser)
        && let Some(user) = user
    {
        pod.entry("runAsUser").or_insert(json!(user));
    }
    if !policy.allows(Control::RestrictedSeccomp) {
        pod.entry("seccompProfile")
            .or_insert(json!({"type": "RuntimeDefault"}));
    }
    for key in ["initContainers", "containers"] {
        let Some(list) = spec.get_mut(key).and_then(Value::as_array_mut) else {
            continue;
        };
        for c in list.iter_mut().filter_map(Value::as_object_mut) {
            let sc = entry(c, "securityContext");
            let privileged = sc.get("privileged") == Some(&Value::Bool(true));
            // A privileged container escalates by definition; the field would be refused.
            if !policy.allows(Control::PrivilegeEscalation) && !privileged {
                sc.entry("allowPrivilegeEscalation")
                    .or_insert(Value::Bool(false));
            }
            if !policy.allows(Control::RestrictedCapabilities) {
                let caps = entry(sc, "capabilities");
                let drop = caps
                    .entry("drop")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Some(drop) = drop.as_array_mut()
                    && !drop.iter().any(|d| d == "ALL")
                {
                    drop.push(Value::String("ALL".into()));
                }
            }
            if policy.read_only_root_filesystem {
                sc.entry("readOnlyRootFilesystem")
                    .or_insert(Value::Bool(true));
            }
        }
    }
}

/// `parent[key]` as a map, made one when absent or null.
fn entry<'a>(parent: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = parent
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("made an object above")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::table::{expect, objects};
    use std::collections::BTreeSet;

    const D: Option<u32> = Some(crate::catalog::DEFAULT_USER);

    fn policies(name: &str, policy: PodSecurityMeta) -> Policies {
        BTreeMap::from([(name.to_owned(), policy)])
    }

    #[test]
    fn a_pod_gets_the_restricted_defaults() {
        expect(
            &apply(
                objects(
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: {initContainers: [{name: i}], containers: [{name: c}]}}}\n",
                ),
                &Policies::new(),
                D,
            ),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: {
              securityContext: {runAsNonRoot: true, runAsUser: 65534, seccompProfile: {type: RuntimeDefault}},
              initContainers: [{name: i, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}],
              containers: [{name: c, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]}}}\n",
        );
    }

    #[test]
    fn what_the_template_sets_is_kept() {
        expect(
            &apply(
                objects(
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: {securityContext: {runAsUser: 101}, containers: [{name: c, securityContext: {capabilities: {drop: [NET_RAW], add: [NET_BIND_SERVICE]}}}]}}}\n",
                ),
                &Policies::new(),
                D,
            ),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: {
              securityContext: {runAsUser: 101, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}},
              containers: [{name: c, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [NET_RAW, ALL], add: [NET_BIND_SERVICE]}}}]}}}\n",
        );
    }

    #[test]
    fn the_component_says_its_user_root_filesystem_and_token() {
        let policy = PodSecurityMeta {
            run_as_user: Some(1000),
            read_only_root_filesystem: true,
            calls_api_server: false,
            ..PodSecurityMeta::default()
        };
        expect(
            &apply(
                objects(
                    "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {template: {spec: {containers: [{name: c}]}}}\n",
                ),
                &policies("comp", policy),
                D,
            ),
            "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {template: {spec: {
              automountServiceAccountToken: false,
              securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}},
              containers: [{name: c, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, readOnlyRootFilesystem: true}}]}}}\n",
        );
    }

    /// A node agent that needs root and a host path gets every other control.
    #[test]
    fn an_exception_opens_only_what_it_names() {
        let policy = PodSecurityMeta {
            level: crate::soundness::pod_security::Level::Privileged,
            allows: BTreeSet::from([Control::HostPath, Control::RunAsNonRoot, Control::RunAsUser]),
            why: Some("reads /var/log".into()),
            ..PodSecurityMeta::default()
        };
        expect(
            &apply(
                objects(
                    "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: c}], volumes: [{name: log, hostPath: {path: /var/log}}]}}}\n",
                ),
                &policies("comp", policy),
                D,
            ),
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec: {template: {spec: {
              securityContext: {seccompProfile: {type: RuntimeDefault}},
              containers: [{name: c, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}],
              volumes: [{name: log, hostPath: {path: /var/log}}]}}}\n",
        );
    }

    #[test]
    fn added_capabilities_are_left_to_an_agent_that_allows_them() {
        let policy = PodSecurityMeta {
            level: crate::soundness::pod_security::Level::Privileged,
            allows: BTreeSet::from([Control::Capabilities]),
            why: Some("profiling counters".into()),
            ..PodSecurityMeta::default()
        };
        let out = apply(
            objects(
                "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: c, securityContext: {capabilities: {add: [SYS_ADMIN]}}}]}}}\n",
            ),
            &policies("comp", policy),
            D,
        );
        assert_eq!(
            out[0]
                .value
                .pointer("/spec/template/spec/containers/0/securityContext/capabilities"),
            Some(&json!({"add": ["SYS_ADMIN"]}))
        );
    }

    #[test]
    fn a_privileged_container_is_not_told_not_to_escalate() {
        let out = apply(
            objects(
                "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: c, securityContext: {privileged: true}}]}}}\n",
            ),
            &Policies::new(),
            D,
        );
        let sc = &out[0].value["spec"]["template"]["spec"]["containers"][0]["securityContext"];
        assert_eq!(sc.get("allowPrivilegeEscalation"), None);
    }

    #[test]
    fn openshift_assigns_the_user_unless_the_component_names_one() {
        let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: {containers: [{name: c}]}}}\n";
        let none = apply(objects(yaml), &Policies::new(), None);
        assert_eq!(
            none[0].value.pointer("/spec/template/spec/securityContext"),
            Some(&json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}))
        );
        let named = PodSecurityMeta {
            run_as_user: Some(101),
            ..PodSecurityMeta::default()
        };
        let own = apply(objects(yaml), &policies("comp", named), None);
        assert_eq!(
            own[0]
                .value
                .pointer("/spec/template/spec/securityContext/runAsUser"),
            Some(&json!(101))
        );
    }

    #[test]
    fn objects_without_pods_are_untouched() {
        let yaml = "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: p}\nspec: {replicas: 1}\n";
        expect(&apply(objects(yaml), &Policies::new(), D), yaml);
    }
}
