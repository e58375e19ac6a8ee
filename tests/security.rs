//! Hardened as rendered (DESIGN.md, "Second round", "Hardened"), over every golden case:
//!
//! - every pod template meets the Pod Security Standards `restricted` level, judged control
//!   by control (baseline and restricted tables of the Kubernetes documentation), except the
//!   controls its component's metadata allows, which only node agents (DaemonSets) may do,
//!   with a reason; and no agent falls below the level it declares;
//! - pods of components that do not call the API server get no token, and those whose
//!   program allows it a read-only root filesystem;
//! - no ClusterRole may delete nodes, namespaces or persistent volumes, grant `*` outside
//!   the API groups of the render's own CRDs, or read every Secret of the cluster unless its
//!   component declares why;
//! - every workload taken from an upstream project has exactly the probes that project's
//!   manifest gives it (recorded in its component.yaml with the release and file), and every
//!   webhook configuration names a rendered Service whose pods serve with a certificate that
//!   a caBundle or a rendered Job provides (for kube-webhook-certgen: a certificate for that
//!   Service, a patch Job that writes its CA into that configuration, and the RBAC both need);
//! - no fail-closed webhook can refuse an object of the render on a fresh apply: every object
//!   it would judge comes before its configuration in the stream and the kustomize folder;
//! - the certificate Jobs meet restricted as their image runs (user 65532, read-only);
//! - on OpenShift (aro, ocp), every pod's account holds an SCC that admits the pod.

use std::collections::{BTreeMap, BTreeSet};

use crate::common;

use amlc::catalog::{Catalog, ComponentMeta};
use amlc::soundness::pod_security::{self, Control, Level};
use amlc::soundness::rbac::{self, Breach};
use serde_json::Value;

fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| Catalog::embedded().expect("the built-in components load"))
}

/// The metadata of the component that rendered an object (amlc labels every object with it).
fn component_of(o: &Value) -> Option<(&'static str, &'static ComponentMeta)> {
    let name = o
        .pointer("/metadata/labels/app.kubernetes.io~1name")?
        .as_str()?;
    catalog().get(name).map(|c| (c.name.as_str(), &c.meta))
}

/// Every golden case that renders, with its objects.
fn golden_renders() -> Vec<(String, Vec<Value>)> {
    common::golden_cases()
        .into_iter()
        .filter(|case| {
            std::fs::read_to_string(case.join("expected/exit_code")).is_ok_and(|c| c.trim() == "0")
        })
        .map(|case| {
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            (name, common::expected_objects(&case))
        })
        .collect()
}

fn label(o: &Value) -> String {
    format!(
        "{} {}",
        o["kind"].as_str().unwrap_or("?"),
        o["metadata"]["name"].as_str().unwrap_or("?")
    )
}

fn pod_template(o: &Value) -> Option<&Value> {
    match o["kind"].as_str()? {
        "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet" | "Job" => {
            o.pointer("/spec/template")
        }
        "CronJob" => o.pointer("/spec/jobTemplate/spec/template"),
        _ => None,
    }
}

#[test]
fn every_pod_meets_restricted_or_its_components_declared_exception() {
    let mut pods = 0;
    let mut agents: BTreeMap<&str, Level> = BTreeMap::new();
    for (case, objects) in golden_renders() {
        for o in &objects {
            let Some(template) = pod_template(o) else {
                continue;
            };
            let (component, meta) = component_of(o)
                .unwrap_or_else(|| panic!("{case}: {} has no built-in component", label(o)));
            let violations = pod_security::violations(&template["metadata"], &template["spec"]);
            let failed = pod_security::controls(&violations);
            let allowed = pod_security::with_implied(&meta.pod_security.allows);
            let beyond: Vec<String> = violations
                .iter()
                .filter(|v| !allowed.contains(&v.control))
                .map(ToString::to_string)
                .collect();
            assert!(
                beyond.is_empty(),
                "{case}: {} ({component}) fails controls its component does not allow:\n  {}",
                label(o),
                beyond.join("\n  ")
            );
            let level = pod_security::level_of(&failed);
            assert!(
                level >= meta.pod_security.level,
                "{case}: {} meets only {level}, below its declared {}",
                label(o),
                meta.pod_security.level
            );
            if level < Level::Restricted {
                assert_eq!(
                    o["kind"],
                    "DaemonSet",
                    "{case}: {} is below restricted and not a node agent",
                    label(o)
                );
                assert!(
                    meta.pod_security
                        .why
                        .as_deref()
                        .is_some_and(|w| w.len() > 40),
                    "{component}: an exception needs its reason"
                );
                agents.insert(component, level);
            }
            pods += 1;
        }
    }
    assert!(pods > 150, "only {pods} pod templates judged");
    // The node agents the design names, each on the level it declares, and no other.
    assert_eq!(
        agents,
        BTreeMap::from([
            ("dcgm-exporter", Level::Privileged),
            ("fluent-bit", Level::Privileged),
            ("nvidia-device-plugin", Level::Privileged),
        ])
    );
}

/// The Prometheus pods are the operator's StatefulSet's: the custom resource carries their
/// pod security context, and the operator gives their containers the restricted settings.
#[test]
fn the_prometheus_pods_run_as_non_root_with_the_default_seccomp_profile() {
    let mut seen = 0;
    for (case, objects) in golden_renders() {
        for o in objects.iter().filter(|o| o["kind"] == "Prometheus") {
            let sc = &o["spec"]["securityContext"];
            assert_eq!(sc["runAsNonRoot"], true, "{case}");
            assert_ne!(sc["runAsUser"], 0, "{case}");
            assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{case}");
            seen += 1;
        }
    }
    assert!(seen > 10);
}

#[test]
fn pods_get_a_token_only_when_they_call_the_api_server() {
    let mut without = BTreeSet::new();
    for (case, objects) in golden_renders() {
        for o in &objects {
            let (Some(template), Some((component, meta))) = (pod_template(o), component_of(o))
            else {
                continue;
            };
            let mounted = template["spec"]["automountServiceAccountToken"] != false;
            assert_eq!(
                mounted,
                meta.pod_security.calls_api_server,
                "{case}: {} ({component})",
                label(o)
            );
            if !mounted {
                without.insert(component);
            }
        }
    }
    assert_eq!(
        without,
        BTreeSet::from(["dcgm-exporter", "nvidia-device-plugin", "relayserver"])
    );
}

#[test]
fn root_filesystems_are_read_only_where_the_program_allows_it() {
    for (case, objects) in golden_renders() {
        for o in &objects {
            let (Some(template), Some((component, meta))) = (pod_template(o), component_of(o))
            else {
                continue;
            };
            if !meta.pod_security.read_only_root_filesystem {
                continue;
            }
            for c in template["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
            {
                assert_eq!(
                    c["securityContext"]["readOnlyRootFilesystem"],
                    true,
                    "{case}: {} ({component}) container {}",
                    label(o),
                    c["name"]
                );
            }
        }
    }
}

/// The test above is only as good as the judge: a pod that fails each kind of control is
/// caught.
#[test]
fn the_judge_catches_what_a_component_does_not_allow() {
    let spec: Value = serde_json::json!({
        "hostNetwork": true,
        "containers": [{"name": "c", "securityContext": {"privileged": true}}],
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}]
    });
    let failed = pod_security::controls(&pod_security::violations(&Value::Null, &spec));
    for c in [
        Control::HostNamespaces,
        Control::Privileged,
        Control::HostPath,
        Control::PrivilegeEscalation,
        Control::RunAsNonRoot,
        Control::RestrictedSeccomp,
        Control::RestrictedCapabilities,
    ] {
        assert!(failed.contains(&c), "{c} not caught: {failed:?}");
    }
    assert_eq!(pod_security::level_of(&failed), Level::Privileged);
}

#[test]
fn cluster_roles_are_least_privilege() {
    let mut roles = 0;
    let mut secret_readers = BTreeSet::new();
    for (case, objects) in golden_renders() {
        let own = rbac::own_groups(&objects);
        for o in objects.iter().filter(|o| o["kind"] == "ClusterRole") {
            let (component, meta) = component_of(o)
                .unwrap_or_else(|| panic!("{case}: {} has no built-in component", label(o)));
            for f in rbac::check(o, &own) {
                match f.breach {
                    Breach::ReadsSecretsClusterWide => {
                        assert!(
                            meta.rbac.cluster_wide_secrets.is_some(),
                            "{case}: {f} ({component} does not declare why)"
                        );
                        secret_readers.insert(component);
                    }
                    _ => panic!("{case}: {f}"),
                }
            }
            roles += 1;
        }
    }
    assert!(roles > 100, "only {roles} ClusterRoles judged");
    assert_eq!(
        secret_readers,
        BTreeSet::from(["azureml-ingress-nginx-controller", "prometheus-operator"])
    );
}

/// Volcano's three components each get their own role, none of them another's: the
/// scheduler binds pods, the controllers make them, admission only reads what it checks.
#[test]
fn volcano_components_have_their_own_narrower_roles() {
    let objects = common::expected_objects(&common::root().join("golden/training-only"));
    let rules = |name: &str| -> Vec<Value> {
        objects
            .iter()
            .find(|o| o["kind"] == "ClusterRole" && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))["rules"]
            .as_array()
            .unwrap()
            .clone()
    };
    let grants = |rules: &[Value], resource: &str, verb: &str| {
        rules.iter().any(|r| {
            r["resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == resource)
                && r["verbs"].as_array().unwrap().iter().any(|v| v == verb)
        })
    };
    let admission = rules("azureml-volcano-admission");
    let controllers = rules("azureml-volcano-controllers");
    let scheduler = rules("azureml-volcano-scheduler");
    assert_ne!(admission, controllers);
    assert_ne!(controllers, scheduler);
    assert!(grants(&scheduler, "pods/binding", "create"));
    assert!(!grants(&controllers, "pods/binding", "create"));
    assert!(grants(&controllers, "pods", "create"));
    assert!(!grants(&admission, "pods", "create"));
    assert!(grants(
        &admission,
        "validatingwebhookconfigurations",
        "update"
    ));
    assert!(!grants(
        &scheduler,
        "validatingwebhookconfigurations",
        "update"
    ));
}

/// A probe's handler with named ports resolved against the container's ports.
fn handler(probe: &Value, container: &Value) -> Value {
    let mut h = serde_json::Map::new();
    for kind in ["httpGet", "tcpSocket", "grpc", "exec"] {
        let Some(v) = probe.get(kind) else { continue };
        let mut v = v.clone();
        if let Some(name) = v.get("port").and_then(Value::as_str) {
            let number = container["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == name)
                .map(|p| p["containerPort"].clone())
                .unwrap_or_else(|| {
                    panic!(
                        "port {name} is not a port of container {}",
                        container["name"]
                    )
                });
            v["port"] = number;
        }
        if let Some(m) = v.as_object_mut() {
            // Only what must match the program: the timings and scheme are tuning.
            m.retain(|k, _| matches!(k.as_str(), "path" | "port" | "command" | "service"));
        }
        h.insert(kind.to_owned(), v);
    }
    Value::Object(h)
}

#[test]
fn upstream_workloads_have_their_upstream_probes_and_azures_have_none() {
    let mut checked: BTreeSet<&str> = BTreeSet::new();
    for (case, objects) in golden_renders() {
        for o in &objects {
            let (Some(template), Some((component, meta))) = (pod_template(o), component_of(o))
            else {
                continue;
            };
            for c in template["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let name = c["name"].as_str().unwrap();
                let want = meta
                    .upstream
                    .as_ref()
                    .and_then(|u| u.probes.get(name))
                    .cloned()
                    .unwrap_or_default();
                for (kind, want) in [
                    ("livenessProbe", &want.liveness),
                    ("readinessProbe", &want.readiness),
                    ("startupProbe", &want.startup),
                ] {
                    let got = c.get(kind).map(|p| handler(p, c));
                    assert_eq!(
                        got.as_ref(),
                        want.as_ref(),
                        "{case}: {} ({component}) container {name} {kind}: {}",
                        label(o),
                        meta.upstream.as_ref().map_or_else(
                            || format!(
                                "no upstream manifest ({})",
                                meta.no_probes.as_deref().unwrap_or("?")
                            ),
                            |u| format!("upstream {} {}", u.project, u.release)
                        )
                    );
                }
            }
            if meta.upstream.is_some() {
                checked.insert(component);
            }
        }
    }
    // Every upstream-derived component the design names is rendered by some golden case.
    for c in [
        "volcano-admission",
        "volcano-controllers",
        "volcano-scheduler",
        "prometheus-operator",
        "kube-state-metrics",
        "azureml-ingress-nginx-controller",
        "dcgm-exporter",
        "nvidia-device-plugin",
        "fluent-bit",
    ] {
        assert!(checked.contains(c), "{c} is in no golden case");
    }
}

/// The pods a Service selects.
fn selected_pods<'a>(objects: &'a [Value], service: &'a Value) -> impl Iterator<Item = &'a Value> {
    let ns = &service["metadata"]["namespace"];
    let selector = service["spec"]["selector"].as_object();
    objects
        .iter()
        .filter(move |o| &o["metadata"]["namespace"] == ns)
        .filter_map(pod_template)
        .filter(move |t| {
            selector.is_some_and(|s| {
                s.iter()
                    .all(|(k, v)| t["metadata"]["labels"].get(k) == Some(v))
            })
        })
}

/// The certificate a webhook's pods serve with: a Secret their pods mount, made by a
/// rendered Job (`amlc/creates`), as (the Job, the Secret); None when there is none.
fn certificate_source<'a>(
    objects: &'a [Value],
    service: &'a Value,
) -> Option<(&'a Value, &'a str)> {
    let ns = service["metadata"]["namespace"].as_str()?;
    let secrets: BTreeSet<&str> = selected_pods(objects, service)
        .flat_map(|t| t["spec"]["volumes"].as_array().into_iter().flatten())
        .filter_map(|v| v.pointer("/secret/secretName").and_then(Value::as_str))
        .collect();
    objects.iter().find_map(|o| {
        if o["kind"] != "Job" || o["metadata"]["namespace"] != ns {
            return None;
        }
        let created = o
            .pointer("/metadata/annotations/amlc~1creates")
            .and_then(Value::as_str)?;
        created
            .split(',')
            .filter_map(|i| i.trim().strip_prefix("Secret/"))
            .find(|s| secrets.contains(s))
            .map(|s| (o, s))
    })
}

/// The first container's arguments of a Job that runs kube-webhook-certgen, if it does.
fn certgen_args(job: &Value) -> Option<Vec<&str>> {
    let c = job.pointer("/spec/template/spec/containers/0")?;
    if !c["image"].as_str()?.contains("/kube-webhook-certgen:") {
        return None;
    }
    Some(
        c["args"]
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .collect(),
    )
}

/// The value of `--name=` among a certgen Job's arguments, `$(POD_NAMESPACE)` resolved.
fn flag(args: &[&str], name: &str, ns: &str) -> Option<String> {
    args.iter()
        .find_map(|a| a.strip_prefix(&format!("--{name}=")))
        .map(|v| v.replace("$(POD_NAMESPACE)", ns))
}

/// The bindings that grant the service account `account` (namespace, name) anything in
/// namespace `ns`: ClusterRoleBindings, and RoleBindings of that namespace (a RoleBinding
/// grants in its own namespace only).
fn bindings_of<'a, 'b>(
    objects: &'a [Value],
    account: (&'b str, &'b str),
    ns: &'b str,
) -> impl Iterator<Item = &'a Value> + use<'a, 'b> {
    objects
        .iter()
        .filter(|b| {
            matches!(
                b["kind"].as_str(),
                Some("RoleBinding" | "ClusterRoleBinding")
            )
        })
        .filter(move |b| b["kind"] == "ClusterRoleBinding" || b["metadata"]["namespace"] == ns)
        .filter(move |b| {
            b["subjects"].as_array().into_iter().flatten().any(|s| {
                s["kind"] == "ServiceAccount"
                    && s["name"] == account.1
                    && s["namespace"] == account.0
            })
        })
}

/// Whether the render's RBAC lets a service account do `verb` on `resource` (API group
/// `group`) named `name` in namespace `ns` ("" for cluster-scoped objects).
fn may(
    objects: &[Value],
    account: (&str, &str),
    (group, resource, verb, name, ns): (&str, &str, &str, &str, &str),
) -> bool {
    let has = |list: &Value, want: &str| {
        list.as_array()
            .is_some_and(|l| l.iter().any(|x| x == want || x == "*"))
    };
    bindings_of(objects, account, ns)
        .filter_map(|b| {
            let role_kind = b["roleRef"]["kind"].as_str()?;
            objects.iter().find(|r| {
                r["kind"] == role_kind
                    && r["metadata"]["name"] == b["roleRef"]["name"]
                    && (role_kind == "ClusterRole"
                        || r["metadata"]["namespace"] == b["metadata"]["namespace"])
            })
        })
        .flat_map(|r| r["rules"].as_array().into_iter().flatten())
        .any(|rule| {
            has(&rule["apiGroups"], group)
                && has(&rule["resources"], resource)
                && has(&rule["verbs"], verb)
                // A rule limited by name never allows a create: the name is not known when
                // the request is authorized.
                && rule["resourceNames"]
                    .as_array()
                    .is_none_or(|names| verb != "create" && names.iter().any(|n| n == name))
        })
}

/// For a certificate that kube-webhook-certgen makes: it covers the Service, a patch Job
/// writes its CA into this configuration, and RBAC lets both Jobs do their part. `None`
/// when all holds, else what does not.
fn certgen_gap(
    objects: &[Value],
    config: &Value,
    service: &Value,
    create: &Value,
    secret: &str,
) -> Option<String> {
    let ns = service["metadata"]["namespace"].as_str().unwrap();
    let svc = service["metadata"]["name"].as_str().unwrap();
    let args = certgen_args(create)?;
    let account = |job: &Value| {
        (
            ns.to_owned(),
            job.pointer("/spec/template/spec/serviceAccountName")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_owned(),
        )
    };
    if args.first() != Some(&"create") || flag(&args, "secret-name", ns).as_deref() != Some(secret)
    {
        return Some(format!(
            "the create Job does not make Secret {secret}: {args:?}"
        ));
    }
    let hosts = flag(&args, "host", ns).unwrap_or_default();
    for want in [svc.to_owned(), format!("{svc}.{ns}.svc")] {
        if !hosts.split(',').any(|h| h == want) {
            return Some(format!(
                "the certificate does not name {want}: --host={hosts}"
            ));
        }
    }
    let (cns, csa) = account(create);
    for verb in ["get", "create"] {
        if !may(objects, (&cns, &csa), ("", "secrets", verb, secret, ns)) {
            return Some(format!("{csa} may not {verb} Secret {secret}"));
        }
    }
    let config_name = config["metadata"]["name"].as_str().unwrap();
    let resource = if config["kind"] == "MutatingWebhookConfiguration" {
        "mutatingwebhookconfigurations"
    } else {
        "validatingwebhookconfigurations"
    };
    let patch = objects.iter().filter(|o| o["kind"] == "Job").find(|o| {
        certgen_args(o).is_some_and(|a| {
            let off = |which: &str| a.contains(&format!("--patch-{which}=false").as_str());
            a.first() == Some(&"patch")
                && flag(&a, "webhook-name", ns).as_deref() == Some(config_name)
                && flag(&a, "secret-name", ns).as_deref() == Some(secret)
                && !off(if resource.starts_with("mutating") {
                    "mutating"
                } else {
                    "validating"
                })
        })
    });
    let Some(patch) = patch else {
        return Some(format!(
            "no patch Job writes the CA of {secret} into {config_name}"
        ));
    };
    let (pns, psa) = account(patch);
    for (res, verb, name, in_ns) in [
        ("secrets", "get", secret, ns),
        (resource, "get", config_name, ""),
        (resource, "update", config_name, ""),
    ] {
        let group = if res == "secrets" {
            ""
        } else {
            "admissionregistration.k8s.io"
        };
        if !may(objects, (&pns, &psa), (group, res, verb, name, in_ns)) {
            return Some(format!("{psa} may not {verb} {res} {name}"));
        }
    }
    None
}

fn is_webhook_configuration(o: &Value) -> bool {
    matches!(
        o["kind"].as_str(),
        Some("ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration")
    )
}

#[test]
fn every_webhook_names_a_rendered_service_and_has_a_certificate() {
    let mut webhooks = 0;
    let mut configs = BTreeSet::new();
    let mut by_certgen = BTreeSet::new();
    for (case, objects) in golden_renders() {
        for o in objects.iter().filter(|o| is_webhook_configuration(o)) {
            for w in o["webhooks"].as_array().unwrap() {
                let svc = &w["clientConfig"]["service"];
                let service = objects
                    .iter()
                    .find(|s| {
                        s["kind"] == "Service"
                            && s["metadata"]["name"] == svc["name"]
                            && s["metadata"]["namespace"] == svc["namespace"]
                    })
                    .unwrap_or_else(|| panic!("{case}: {} names no rendered Service", label(o)));
                let port = svc["port"].as_i64().unwrap_or(443);
                assert!(
                    service["spec"]["ports"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["port"] == port),
                    "{case}: {} port {port}",
                    label(o)
                );
                let ca = w["clientConfig"]["caBundle"]
                    .as_str()
                    .is_some_and(|c| !c.is_empty());
                let source = certificate_source(&objects, service);
                assert!(
                    ca || source.is_some(),
                    "{case}: {} has no caBundle and its pods no certificate a rendered Job makes",
                    label(o)
                );
                if let Some((job, secret)) = source.filter(|(job, _)| certgen_args(job).is_some()) {
                    if let Some(gap) = certgen_gap(&objects, o, service, job, secret) {
                        panic!("{case}: {}: {gap}", label(o));
                    }
                    by_certgen.insert(label(o));
                }
                configs.insert(label(o));
                webhooks += 1;
            }
        }
    }
    assert!(webhooks >= 9, "only {webhooks} webhooks checked");
    // Volcano's six, ingress-nginx's and the Prometheus operator's two, whatever the
    // release is called.
    let configs: BTreeSet<String> = configs.iter().map(|l| without_release(l)).collect();
    assert_eq!(configs.len(), 9, "{configs:#?}");
    let by_certgen: BTreeSet<String> = by_certgen.iter().map(|l| without_release(l)).collect();
    assert_eq!(
        by_certgen,
        BTreeSet::from([
            "MutatingWebhookConfiguration <release>-prom-admission".to_owned(),
            "ValidatingWebhookConfiguration <release>-ingress-nginx-admission".to_owned(),
            "ValidatingWebhookConfiguration <release>-prom-admission".to_owned(),
        ])
    );
}

/// A webhook configuration's label with the release name (the prefix of the objects named
/// after it) written `<release>`.
fn without_release(label: &str) -> String {
    for suffix in ["-prom-admission", "-ingress-nginx-admission"] {
        if let Some(head) = label.strip_suffix(suffix)
            && let Some((kind, _release)) = head.split_once(' ')
        {
            return format!("{kind} <release>{suffix}");
        }
    }
    label.to_owned()
}

/// The judge above catches a certificate that does not name the Service, a configuration
/// no patch Job writes to, and an account that may not update it.
#[test]
fn the_certgen_judge_catches_what_would_leave_a_webhook_without_its_ca() {
    let objects = common::expected_objects(&common::root().join("golden/nginx-bundled"));
    let find = |kind: &str, name: &str| {
        objects
            .iter()
            .position(|o| {
                o["kind"] == kind && o["metadata"]["name"].as_str().unwrap().starts_with(name)
            })
            .unwrap_or_else(|| panic!("{kind} {name}"))
    };
    let config = find(
        "ValidatingWebhookConfiguration",
        "azureml-ingress-nginx-admission",
    );
    let service = find("Service", "azureml-ingress-nginx-controller-admission");
    let create = find("Job", "azureml-ingress-nginx-admission-create");
    let patch = find("Job", "azureml-ingress-nginx-admission-patch");
    let role = find("ClusterRole", "azureml-ingress-nginx-admission");
    let gap = |objects: &[Value]| {
        certgen_gap(
            objects,
            &objects[config],
            &objects[service],
            &objects[create],
            "azureml-ingress-nginx-admission",
        )
    };
    assert_eq!(gap(&objects), None);

    let mut wrong_host = objects.clone();
    wrong_host[create]["spec"]["template"]["spec"]["containers"][0]["args"][1] =
        Value::from("--host=elsewhere");
    assert!(gap(&wrong_host).unwrap().contains("does not name"));

    let mut no_patch = objects.clone();
    no_patch[patch]["spec"]["template"]["spec"]["containers"][0]["args"][1] =
        Value::from("--webhook-name=another");
    assert!(gap(&no_patch).unwrap().contains("no patch Job"));

    let mut no_update = objects.clone();
    no_update[role]["rules"][0]["resourceNames"] = serde_json::json!(["another"]);
    assert!(gap(&no_update).unwrap().contains("may not get"));
}

/// Whether a label selector (matchLabels, matchExpressions) holds for these labels; `None`
/// labels stand for an object the selector cannot see.
fn selects(selector: &Value, labels: &Value) -> bool {
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let matched = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| label(k) == v.as_str());
    matched
        && selector["matchExpressions"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| {
                let key = e["key"].as_str().unwrap_or("");
                let values: Vec<&str> = e["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                match e["operator"].as_str() {
                    Some("In") => label(key).is_some_and(|v| values.contains(&v)),
                    Some("NotIn") => label(key).is_none_or(|v| !values.contains(&v)),
                    Some("Exists") => label(key).is_some(),
                    Some("DoesNotExist") => label(key).is_none(),
                    _ => true,
                }
            })
}

/// Whether a webhook judges the creation of a rendered object: its rules name the object's
/// group and resource with CREATE, and its namespace and object selectors let it through.
/// Namespaces are known by their `kubernetes.io/metadata.name` label, which the API server
/// gives every namespace; a selector on other namespace labels is taken to match.
fn judges_creation(webhook: &Value, o: &Value) -> bool {
    let api = o["apiVersion"].as_str().unwrap_or("");
    let (group, version) = api.rsplit_once('/').unwrap_or(("", api));
    let resource = amlc::soundness::refs::plural(o["kind"].as_str().unwrap_or(""));
    let any = |list: &Value, want: &str| {
        list.as_array()
            .is_some_and(|l| l.iter().any(|x| x == want || x == "*"))
    };
    let ruled = webhook["rules"].as_array().into_iter().flatten().any(|r| {
        any(&r["apiGroups"], group)
            && any(&r["apiVersions"], version)
            && any(&r["resources"], &resource)
            && any(&r["operations"], "CREATE")
    });
    let namespace_ok = match o["metadata"]["namespace"].as_str() {
        // namespaceSelector does not apply to cluster-scoped objects.
        None => true,
        Some(ns) => {
            let selector = &webhook["namespaceSelector"];
            let only_name = selector["matchExpressions"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|e| e["key"] == "kubernetes.io/metadata.name")
                && selector["matchLabels"]
                    .as_object()
                    .is_none_or(|m| m.keys().all(|k| k == "kubernetes.io/metadata.name"));
            !only_name
                || selects(
                    selector,
                    &serde_json::json!({"kubernetes.io/metadata.name": ns}),
                )
        }
    };
    ruled && namespace_ok && selects(&webhook["objectSelector"], &o["metadata"]["labels"])
}

/// The order of a stream's objects against its fail-closed webhooks: for every webhook that
/// fails closed, each object of the stream it would judge on creation must come before its
/// configuration, or a fresh apply sends it to a webhook whose pods are not running yet
/// (Azure/AML-Kubernetes#297). Returns the violations and how many (webhook, object) pairs
/// were judged.
fn judged_after_their_webhook(objects: &[Value]) -> (Vec<String>, usize) {
    let mut bad = Vec::new();
    let mut pairs = 0;
    for (at, config) in objects.iter().enumerate() {
        if !is_webhook_configuration(config) {
            continue;
        }
        for w in config["webhooks"].as_array().into_iter().flatten() {
            if w["failurePolicy"].as_str().unwrap_or("Fail") != "Fail" {
                continue;
            }
            for (i, o) in objects.iter().enumerate() {
                if !judges_creation(w, o) {
                    continue;
                }
                pairs += 1;
                if i > at {
                    bad.push(format!(
                        "{} comes after {} ({}), which would refuse it",
                        label(o),
                        label(config),
                        w["name"].as_str().unwrap_or("?")
                    ));
                }
            }
        }
    }
    (bad, pairs)
}

#[test]
fn no_fail_closed_webhook_sees_an_object_of_the_render_before_it_is_created() {
    let mut pairs = 0;
    let mut judged = BTreeSet::new();
    for (case, objects) in golden_renders() {
        let (bad, n) = judged_after_their_webhook(&objects);
        assert!(bad.is_empty(), "{case}:\n  {}", bad.join("\n  "));
        pairs += n;
        for o in &objects {
            for config in objects.iter().filter(|c| is_webhook_configuration(c)) {
                if config["webhooks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|w| judges_creation(w, o))
                {
                    judged.insert(format!(
                        "{} by {}",
                        o["kind"].as_str().unwrap(),
                        label(config)
                    ));
                }
            }
        }
    }
    // Not vacuous: the bundled ingress-nginx's Ingress meets its own fail-closed webhook.
    assert!(
        judged
            .contains("Ingress by ValidatingWebhookConfiguration azureml-ingress-nginx-admission"),
        "{judged:#?}"
    );
    assert!(pairs >= 1);
    // And the check catches a stream in the wrong order.
    let mut objects = common::expected_objects(&common::root().join("golden/nginx-bundled"));
    let ingress = objects.iter().position(|o| o["kind"] == "Ingress").unwrap();
    let moved = objects.remove(ingress);
    objects.push(moved);
    assert_eq!(judged_after_their_webhook(&objects).0.len(), 1);
}

/// The same order in the `--target dir` folder: its kustomization lists the files in
/// install order (`sortOptions: fifo`), which `kubectl apply -k` keeps.
#[test]
fn the_kustomize_folder_keeps_the_ingress_before_its_webhook() {
    let case = common::root().join("golden/nginx-bundled");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rendered");
    let (code, _, stderr) = common::run(
        &case,
        &["build", "--target", "dir", "-o", out.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    let kustomization: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(out.join("kustomization.yaml")).unwrap())
            .unwrap();
    let objects: Vec<Value> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(out.join(f.as_str().unwrap())).unwrap();
            serde_yaml_ng::from_str(&text).unwrap()
        })
        .collect();
    let (bad, pairs) = judged_after_their_webhook(&objects);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(pairs >= 1);
}

/// kube-webhook-certgen's Jobs meet restricted as the image runs: its own user (65532, the
/// Dockerfile's USER), read-only, no capability, no escalation, the default seccomp profile.
#[test]
fn the_certificate_jobs_run_as_the_images_non_root_user_read_only() {
    let mut jobs = BTreeSet::new();
    for (case, objects) in golden_renders() {
        for o in objects.iter().filter(|o| certgen_args(o).is_some()) {
            let spec = &o["spec"]["template"]["spec"];
            let pod = &spec["securityContext"];
            assert_eq!(pod["runAsNonRoot"], true, "{case}: {}", label(o));
            assert_eq!(pod["runAsUser"], 65532, "{case}: {}", label(o));
            assert_eq!(
                pod["seccompProfile"]["type"],
                "RuntimeDefault",
                "{case}: {}",
                label(o)
            );
            for c in spec["containers"].as_array().unwrap() {
                let sc = &c["securityContext"];
                assert_eq!(
                    sc["allowPrivilegeEscalation"],
                    false,
                    "{case}: {}",
                    label(o)
                );
                assert_eq!(sc["readOnlyRootFilesystem"], true, "{case}: {}", label(o));
                assert_eq!(
                    sc["capabilities"]["drop"],
                    serde_json::json!(["ALL"]),
                    "{case}: {}",
                    label(o)
                );
                assert!(c["resources"]["limits"].is_object(), "{case}: {}", label(o));
            }
            let name = o["metadata"]["name"].as_str().unwrap();
            jobs.insert(name[..name.rfind('-').unwrap()].to_owned());
        }
    }
    assert_eq!(
        jobs,
        BTreeSet::from([
            "azureml-ingress-nginx-admission-create".to_owned(),
            "azureml-ingress-nginx-admission-patch".to_owned(),
            "prom-admission-create".to_owned(),
            "prom-admission-patch".to_owned(),
        ])
    );
}

/// What a pod asks of OpenShift's security context constraints.
#[derive(Debug, Default)]
struct SccAsks {
    host_path: bool,
    host_namespaces: bool,
    privileged: bool,
    /// Capabilities added beyond NET_BIND_SERVICE, which restricted-v2 allows.
    capabilities: bool,
    /// A user the pod names (restricted-v2 assigns one from the namespace's range and
    /// refuses any other).
    names_user: bool,
    /// Root, or possibly root: no runAsNonRoot and no user of its own.
    root: bool,
    seccomp: bool,
    escalation: bool,
}

fn scc_asks(spec: &Value) -> SccAsks {
    let pod = &spec["securityContext"];
    let mut asks = SccAsks {
        host_path: spec["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| v.get("hostPath").is_some()),
        host_namespaces: ["hostNetwork", "hostPID", "hostIPC"]
            .iter()
            .any(|k| spec[k] == true),
        seccomp: pod.get("seccompProfile").is_some(),
        ..SccAsks::default()
    };
    for c in ["initContainers", "containers"]
        .iter()
        .flat_map(|k| spec[k].as_array().into_iter().flatten())
    {
        let sc = &c["securityContext"];
        asks.privileged |= sc["privileged"] == true;
        asks.escalation |= sc["allowPrivilegeEscalation"] != false;
        asks.seccomp |= sc.get("seccompProfile").is_some();
        asks.capabilities |= sc["capabilities"]["add"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c != "NET_BIND_SERVICE");
        let user = sc.get("runAsUser").or_else(|| pod.get("runAsUser"));
        let non_root = sc
            .get("runAsNonRoot")
            .or_else(|| pod.get("runAsNonRoot"))
            .is_some_and(|v| v == true);
        asks.names_user |= user.is_some();
        asks.root |= user.is_some_and(|u| u == 0) || (user.is_none() && !non_root);
    }
    asks
}

/// Whether one of OpenShift's built-in SCCs admits a pod, after their definitions in
/// openshift/cluster-kube-apiserver-operator (bindata/bootkube/scc-manifests): `privileged`
/// anything; `hostmount-anyuid` a host path and any user, but no added capability and no
/// seccomp profile (it lists none, so "seccomp may not be set"); `anyuid` the same without a
/// host path; `nonroot-v2` any non-root user, RuntimeDefault, no escalation, every capability
/// dropped; `restricted-v2` (every account's) the same with a user from the namespace's range.
fn scc_admits(scc: &str, a: &SccAsks) -> bool {
    let hostless = !a.host_namespaces && !a.privileged;
    let restricted = hostless && !a.host_path && !a.capabilities && !a.root && !a.escalation;
    match scc {
        "privileged" => true,
        "hostmount-anyuid" => hostless && !a.capabilities && !a.seccomp,
        "anyuid" => hostless && !a.host_path && !a.capabilities && !a.seccomp,
        "nonroot-v2" => restricted,
        "restricted-v2" => restricted && !a.names_user,
        _ => false,
    }
}

/// The SCCs the render grants an account: bindings to `system:openshift:scc:<name>`.
fn granted_sccs<'a>(objects: &'a [Value], ns: &str, account: &str) -> BTreeSet<&'a str> {
    bindings_of(objects, (ns, account), ns)
        .filter_map(|b| {
            b["roleRef"]["name"]
                .as_str()?
                .strip_prefix("system:openshift:scc:")
        })
        .collect()
}

/// On OpenShift (aro, ocp) every pod is admitted by an SCC its account holds: restricted-v2,
/// which every account has, or one the render grants. So a node agent running as root with
/// a host path, or a pod that names its own user, has its account granted one that admits
/// it; a grant the reference page does not list (dcgm-exporter, fluent-bit) included.
#[test]
fn on_openshift_every_pod_is_admitted_by_an_scc_its_account_holds() {
    let mut granted_for = BTreeSet::new();
    let mut cases = 0;
    for case in common::golden_cases() {
        let Ok(text) = std::fs::read_to_string(case.join("amlc.yaml")) else {
            continue;
        };
        let config: Value = serde_yaml_ng::from_str(&text).unwrap();
        if !matches!(config["cluster"]["type"].as_str(), Some("aro" | "ocp")) {
            continue;
        }
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let objects = common::expected_objects(&case);
        for o in &objects {
            let Some(template) = pod_template(o) else {
                continue;
            };
            let spec = &template["spec"];
            let ns = o["metadata"]["namespace"].as_str().unwrap();
            let account = spec["serviceAccountName"].as_str().unwrap_or("default");
            let asks = scc_asks(spec);
            let mut holds = granted_sccs(&objects, ns, account);
            if scc_admits("restricted-v2", &asks) {
                continue;
            }
            let level = pod_security::level_of(&pod_security::controls(&pod_security::violations(
                &template["metadata"],
                spec,
            )));
            holds.insert("restricted-v2");
            assert!(
                holds.iter().any(|scc| scc_admits(scc, &asks)),
                "{name}: {} (Pod Security level {level}) runs as {ns}/{account}, which holds only {holds:?}: no SCC admits {asks:?}",
                label(o)
            );
            if let Some((component, _)) = component_of(o) {
                granted_for.insert(component);
            }
        }
        cases += 1;
    }
    assert!(cases >= 3, "only {cases} OpenShift cases");
    for c in [
        "dcgm-exporter",
        "fluent-bit",
        "nvidia-device-plugin",
        "azureml-ingress-nginx-controller",
        "prometheus-operator",
        "kube-state-metrics",
    ] {
        assert!(
            granted_for.contains(c),
            "{c}: no OpenShift golden case needs its grant: {granted_for:?}"
        );
    }
}

/// The SCC model above, held to OpenShift's definitions: a root node agent with a host
/// path and the RuntimeDefault profile needs privileged; a pod naming its non-root user is
/// refused by restricted-v2 and admitted by nonroot-v2.
#[test]
fn the_scc_model_refuses_what_openshift_refuses() {
    let agent: Value = serde_json::json!({
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
        "volumes": [{"name": "log", "hostPath": {"path": "/var/log"}}]
    });
    let a = scc_asks(&agent);
    assert!(a.root && a.host_path && a.seccomp);
    assert!(!scc_admits("hostmount-anyuid", &a) && !scc_admits("restricted-v2", &a));
    assert!(scc_admits("privileged", &a));
    let own_user: Value = serde_json::json!({
        "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]
    });
    let u = scc_asks(&own_user);
    assert!(!scc_admits("restricted-v2", &u) && scc_admits("nonroot-v2", &u));
}

/// A replicated azureml-fe survives one node drained or lost: a PodDisruptionBudget lets
/// evictions take one replica at a time, and the replicas prefer different nodes. One
/// replica gets neither (a budget would block every drain of its node).
#[test]
fn a_replicated_router_has_a_disruption_budget_and_spreads_over_nodes() {
    let mut replicated = 0;
    for (case, objects) in golden_renders() {
        let Some(fe) = objects.iter().find(|o| {
            o["kind"] == "Deployment"
                && o["spec"]["template"]["metadata"]["labels"]["azuremlappname"] == "azureml-fe"
        }) else {
            continue;
        };
        let replicas = fe["spec"]["replicas"].as_u64().unwrap_or(1);
        let pdb = objects
            .iter()
            .find(|o| o["kind"] == "PodDisruptionBudget" && o["metadata"]["name"] == "azureml-fe");
        let spread = &fe["spec"]["template"]["spec"]["topologySpreadConstraints"];
        if replicas > 1 {
            let pdb = pdb.unwrap_or_else(|| panic!("{case}: no PodDisruptionBudget"));
            assert_eq!(pdb["spec"]["maxUnavailable"], 1, "{case}");
            assert_eq!(
                pdb["spec"]["selector"]["matchLabels"]["azuremlappname"], "azureml-fe",
                "{case}"
            );
            let c = &spread[0];
            assert_eq!(c["topologyKey"], "kubernetes.io/hostname", "{case}");
            assert_eq!(c["maxSkew"], 1, "{case}");
            // DoNotSchedule would strand a drained node's replica (the cordoned node still
            // counts as a domain with none) on a cluster of exactly as many nodes.
            assert_eq!(c["whenUnsatisfiable"], "ScheduleAnyway", "{case}");
            assert_eq!(
                c["labelSelector"]["matchLabels"]["azuremlappname"], "azureml-fe",
                "{case}"
            );
            replicated += 1;
        } else {
            assert!(pdb.is_none() && spread.is_null(), "{case}");
        }
    }
    assert!(replicated >= 2, "only {replicated} replicated cases");
}

/// The build judges every render the same way (`soundness::hardening`) and warns; the
/// built-in components give it nothing to say.
#[test]
fn no_golden_build_warns_about_security() {
    for case in common::golden_cases() {
        let stderr = std::fs::read_to_string(case.join("expected/stderr")).unwrap_or_default();
        assert!(
            !stderr.contains("amlc::security::"),
            "{}:\n{stderr}",
            case.display()
        );
    }
}
