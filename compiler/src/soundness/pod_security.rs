//! The Pod Security Standards, evaluated on a pod spec: which controls of the baseline and
//! restricted levels it fails, and so the strictest level it meets (Kubernetes
//! documentation, "Pod Security Standards", the control tables of v1.28, the release
//! current with extension 1.1.35).
//!
//! Plain data in, findings out: the build, the tests and `amlc doctor` judge pods the same
//! way. It does not change pods (`transform::pod_security` does) and knows nothing of
//! components; whether a component may fail a control is its metadata's business.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A level of the Pod Security Standards, loosest first.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Privileged,
    Baseline,
    #[default]
    Restricted,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        })
    }
}

/// One control of the standard, named as the documentation's tables name it. The restricted
/// level repeats two baseline controls more strictly (seccomp, capabilities); those are
/// their own controls here, so an exception can name exactly what a pod needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Control {
    // Baseline.
    HostProcess,
    HostNamespaces,
    Privileged,
    Capabilities,
    HostPath,
    HostPorts,
    AppArmor,
    SeLinux,
    ProcMount,
    Seccomp,
    Sysctls,
    // Restricted.
    VolumeTypes,
    PrivilegeEscalation,
    RunAsNonRoot,
    RunAsUser,
    RestrictedSeccomp,
    RestrictedCapabilities,
}

impl Control {
    /// The level whose table lists the control: failing it leaves a pod below that level.
    pub fn level(self) -> Level {
        match self {
            Control::VolumeTypes
            | Control::PrivilegeEscalation
            | Control::RunAsNonRoot
            | Control::RunAsUser
            | Control::RestrictedSeccomp
            | Control::RestrictedCapabilities => Level::Restricted,
            _ => Level::Baseline,
        }
    }

    /// The restricted control a baseline one implies: a pod that adds `SYS_ADMIN` cannot
    /// drop ALL capabilities, and one with a hostPath volume has a disallowed volume type.
    pub fn implies(self) -> Option<Control> {
        match self {
            Control::Capabilities => Some(Control::RestrictedCapabilities),
            Control::Seccomp => Some(Control::RestrictedSeccomp),
            Control::HostPath => Some(Control::VolumeTypes),
            _ => None,
        }
    }

    /// The name in component metadata (`allows:`).
    pub fn name(self) -> &'static str {
        match self {
            Control::HostProcess => "hostProcess",
            Control::HostNamespaces => "hostNamespaces",
            Control::Privileged => "privileged",
            Control::Capabilities => "capabilities",
            Control::HostPath => "hostPath",
            Control::HostPorts => "hostPorts",
            Control::AppArmor => "appArmor",
            Control::SeLinux => "seLinux",
            Control::ProcMount => "procMount",
            Control::Seccomp => "seccomp",
            Control::Sysctls => "sysctls",
            Control::VolumeTypes => "volumeTypes",
            Control::PrivilegeEscalation => "privilegeEscalation",
            Control::RunAsNonRoot => "runAsNonRoot",
            Control::RunAsUser => "runAsUser",
            Control::RestrictedSeccomp => "restrictedSeccomp",
            Control::RestrictedCapabilities => "restrictedCapabilities",
        }
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The strictest level a pod meets when it fails these controls.
pub fn level_of<'a>(failed: impl IntoIterator<Item = &'a Control>) -> Level {
    failed
        .into_iter()
        .map(|c| match c.level() {
            Level::Restricted => Level::Baseline,
            _ => Level::Privileged,
        })
        .min()
        .unwrap_or(Level::Restricted)
}

/// Controls `allowed` lets a pod fail, with the restricted controls they imply.
pub fn with_implied(allowed: &BTreeSet<Control>) -> BTreeSet<Control> {
    allowed
        .iter()
        .flat_map(|c| [Some(*c), c.implies()])
        .flatten()
        .collect()
}

/// A failed control and where.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Violation {
    pub control: Control,
    /// What fails it, e.g. `container exporter adds capability SYS_ADMIN`.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.control,
            self.control.level(),
            self.detail
        )
    }
}

/// Capabilities the baseline level lets a container add.
const BASELINE_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Sysctls the baseline level allows.
const SAFE_SYSCTLS: [&str; 6] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
];

/// SELinux types the baseline level allows (besides none).
const SELINUX_TYPES: [&str; 3] = ["container_t", "container_init_t", "container_kvm_t"];

/// Volume sources the restricted level allows.
const RESTRICTED_VOLUMES: [&str; 8] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

const APPARMOR_ANNOTATION: &str = "container.apparmor.security.beta.kubernetes.io/";

/// The controls a pod fails. `metadata` is the pod template's (AppArmor annotations live
/// there); `spec` its spec. Sorted, one entry per control and place.
pub fn violations<'a>(metadata: &'a Value, spec: &'a Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut fail = |control: Control, detail: String| out.push(Violation { control, detail });
    let pod = spec.get("securityContext").unwrap_or(&Value::Null);
    let containers: Vec<(&str, &Value)> = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|k| spec.get(*k).and_then(Value::as_array).into_iter().flatten())
        .map(|c| (c["name"].as_str().unwrap_or("?"), c))
        .collect();
    let csc = |c: &'a Value| -> &'a Value { c.get("securityContext").unwrap_or(&Value::Null) };

    // Baseline.
    let host_process =
        |sc: &Value| at(sc, &["windowsOptions", "hostProcess"]) == Some(&true.into());
    if host_process(pod) || containers.iter().any(|(_, c)| host_process(csc(c))) {
        fail(
            Control::HostProcess,
            "windowsOptions.hostProcess is true".into(),
        );
    }
    for ns in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec.get(ns) == Some(&Value::Bool(true)) {
            fail(Control::HostNamespaces, format!("{ns} is true"));
        }
    }
    for (name, c) in &containers {
        let sc = csc(c);
        if sc.get("privileged") == Some(&Value::Bool(true)) {
            fail(
                Control::Privileged,
                format!("container {name} is privileged"),
            );
        }
        for cap in strings(at(sc, &["capabilities", "add"])) {
            if !BASELINE_CAPABILITIES.contains(&cap) {
                fail(
                    Control::Capabilities,
                    format!("container {name} adds capability {cap}"),
                );
            }
        }
        for p in list(c.get("ports")) {
            if p.get("hostPort").and_then(Value::as_i64).unwrap_or(0) != 0 {
                fail(
                    Control::HostPorts,
                    format!("container {name} uses hostPort {}", p["hostPort"]),
                );
            }
        }
        if let Some(m) = sc.get("procMount").and_then(Value::as_str)
            && m != "Default"
        {
            fail(
                Control::ProcMount,
                format!("container {name} has procMount {m}"),
            );
        }
    }
    for v in list(spec.get("volumes")) {
        if v.get("hostPath").is_some() {
            fail(
                Control::HostPath,
                format!(
                    "volume {} mounts host path {}",
                    v["name"].as_str().unwrap_or("?"),
                    at(v, &["hostPath", "path"])
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                ),
            );
        }
    }
    if let Some(annotations) = metadata.get("annotations").and_then(Value::as_object) {
        for (k, v) in annotations {
            if let Some(container) = k.strip_prefix(APPARMOR_ANNOTATION) {
                let v = v.as_str().unwrap_or("");
                if v != "runtime/default" && !v.starts_with("localhost/") {
                    fail(
                        Control::AppArmor,
                        format!("container {container} has AppArmor profile {v}"),
                    );
                }
            }
        }
    }
    // Who is named only when something fails: most pods fail nothing.
    let contexts =
        std::iter::once((None, pod)).chain(containers.iter().map(|(n, c)| (Some(*n), csc(c))));
    for (name, sc) in contexts {
        let who = Who(name);
        if let Some(t) = at(sc, &["appArmorProfile", "type"]).and_then(Value::as_str)
            && t != "RuntimeDefault"
            && t != "Localhost"
        {
            fail(
                Control::AppArmor,
                format!("{who} has AppArmor profile type {t}"),
            );
        }
        if let Some(se) = sc.get("seLinuxOptions") {
            let t = se["type"].as_str().unwrap_or("");
            if !t.is_empty() && !SELINUX_TYPES.contains(&t) {
                fail(Control::SeLinux, format!("{who} has SELinux type {t}"));
            }
            for field in ["user", "role"] {
                if se
                    .get(field)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
                {
                    fail(Control::SeLinux, format!("{who} sets SELinux {field}"));
                }
            }
        }
        if at(sc, &["seccompProfile", "type"]).and_then(Value::as_str) == Some("Unconfined") {
            fail(
                Control::Seccomp,
                format!("{who} has seccomp profile Unconfined"),
            );
        }
    }
    for s in list(pod.get("sysctls")) {
        let name = s["name"].as_str().unwrap_or("?");
        if !SAFE_SYSCTLS.contains(&name) {
            fail(Control::Sysctls, format!("the pod sets sysctl {name}"));
        }
    }

    // Restricted.
    for v in list(spec.get("volumes")) {
        let Some(fields) = v.as_object() else {
            continue;
        };
        let source = fields.keys().find(|k| *k != "name").map(String::as_str);
        // hostPath is the baseline control's.
        if let Some(source) = source
            && source != "hostPath"
            && !RESTRICTED_VOLUMES.contains(&source)
        {
            fail(
                Control::VolumeTypes,
                format!(
                    "volume {} is of type {source}",
                    v["name"].as_str().unwrap_or("?")
                ),
            );
        }
    }
    for (name, c) in &containers {
        let sc = csc(c);
        if sc.get("allowPrivilegeEscalation") != Some(&Value::Bool(false)) {
            fail(
                Control::PrivilegeEscalation,
                format!("container {name} does not set allowPrivilegeEscalation: false"),
            );
        }
        let pod_non_root = pod.get("runAsNonRoot") == Some(&Value::Bool(true));
        match sc.get("runAsNonRoot") {
            Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => fail(
                Control::RunAsNonRoot,
                format!("container {name} sets runAsNonRoot: false"),
            ),
            _ if pod_non_root => {}
            _ => fail(
                Control::RunAsNonRoot,
                format!("container {name} may run as root (no runAsNonRoot: true)"),
            ),
        }
        if sc.get("runAsUser").and_then(Value::as_i64) == Some(0) {
            fail(
                Control::RunAsUser,
                format!("container {name} sets runAsUser: 0"),
            );
        }
        let confined = |t: Option<&str>| matches!(t, Some("RuntimeDefault") | Some("Localhost"));
        let own = at(sc, &["seccompProfile", "type"]).and_then(Value::as_str);
        let inherited = at(pod, &["seccompProfile", "type"]).and_then(Value::as_str);
        if !confined(own.or(inherited)) {
            fail(
                Control::RestrictedSeccomp,
                format!("container {name} has no RuntimeDefault or Localhost seccomp profile"),
            );
        }
        if !strings(at(sc, &["capabilities", "drop"])).any(|c| c == "ALL") {
            fail(
                Control::RestrictedCapabilities,
                format!("container {name} does not drop ALL capabilities"),
            );
        }
        for cap in strings(at(sc, &["capabilities", "add"])) {
            if cap != "NET_BIND_SERVICE" {
                fail(
                    Control::RestrictedCapabilities,
                    format!("container {name} adds capability {cap}"),
                );
            }
        }
    }
    if pod.get("runAsUser").and_then(Value::as_i64) == Some(0) {
        fail(Control::RunAsUser, "the pod sets runAsUser: 0".into());
    }
    out.sort();
    out.dedup();
    out
}

/// The pod, or one of its containers, in a violation's detail.
struct Who<'a>(Option<&'a str>);

impl fmt::Display for Who<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("the pod"),
            Some(n) => write!(f, "container {n}"),
        }
    }
}

/// The distinct controls of some violations.
pub fn controls(violations: &[Violation]) -> BTreeSet<Control> {
    violations.iter().map(|v| v.control).collect()
}

/// `v[k0][k1]...`: a JSON Pointer without parsing one (it allocates per token), since every
/// build judges every pod.
fn at<'v>(v: &'v Value, keys: &[&str]) -> Option<&'v Value> {
    keys.iter().try_fold(v, |v, k| v.get(*k))
}

fn list(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array).into_iter().flatten()
}

fn strings(v: Option<&Value>) -> impl Iterator<Item = &str> {
    list(v).filter_map(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A pod that meets restricted, to change one field at a time.
    fn restricted() -> Value {
        json!({
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "securityContext": {
                "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
            "volumes": [{"name": "c", "configMap": {"name": "x"}}, {"name": "s", "secret": {"secretName": "y"}}]
        })
    }

    fn failed(spec: &Value) -> BTreeSet<Control> {
        controls(&violations(&json!({}), spec))
    }

    fn with(pointer: &str, value: Value) -> Value {
        let mut spec = restricted();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        spec.pointer_mut(parent)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .insert(key.into(), value);
        spec
    }

    #[test]
    fn a_restricted_pod_fails_nothing() {
        assert_eq!(failed(&restricted()), BTreeSet::new());
        assert_eq!(level_of(&failed(&restricted())), Level::Restricted);
    }

    /// One row per control of the documentation's tables: the field that fails it.
    #[test]
    fn each_control_is_failed_by_its_field() {
        let cases: Vec<(Value, Control)> = vec![
            (with("/hostNetwork", json!(true)), Control::HostNamespaces),
            (with("/hostPID", json!(true)), Control::HostNamespaces),
            (
                with(
                    "/securityContext/windowsOptions",
                    json!({"hostProcess": true}),
                ),
                Control::HostProcess,
            ),
            (
                with("/containers/0/securityContext/privileged", json!(true)),
                Control::Privileged,
            ),
            (
                with(
                    "/containers/0/ports",
                    json!([{"containerPort": 80, "hostPort": 80}]),
                ),
                Control::HostPorts,
            ),
            (
                with("/containers/0/securityContext/procMount", json!("Unmasked")),
                Control::ProcMount,
            ),
            (
                with("/securityContext/seLinuxOptions", json!({"type": "spc_t"})),
                Control::SeLinux,
            ),
            (
                with("/securityContext/seLinuxOptions", json!({"user": "root"})),
                Control::SeLinux,
            ),
            (
                with(
                    "/securityContext/sysctls",
                    json!([{"name": "kernel.msgmax", "value": "1"}]),
                ),
                Control::Sysctls,
            ),
            (
                with(
                    "/containers/0/securityContext/appArmorProfile",
                    json!({"type": "Unconfined"}),
                ),
                Control::AppArmor,
            ),
            (
                with(
                    "/volumes",
                    json!([{"name": "n", "nfs": {"server": "s", "path": "/"}}]),
                ),
                Control::VolumeTypes,
            ),
            (
                with(
                    "/containers/0/securityContext/allowPrivilegeEscalation",
                    json!(true),
                ),
                Control::PrivilegeEscalation,
            ),
            (
                with("/securityContext/runAsNonRoot", json!(false)),
                Control::RunAsNonRoot,
            ),
            (
                with("/containers/0/securityContext/runAsUser", json!(0)),
                Control::RunAsUser,
            ),
            (
                with("/securityContext/seccompProfile", json!({})),
                Control::RestrictedSeccomp,
            ),
            (
                with("/containers/0/securityContext/capabilities", json!({})),
                Control::RestrictedCapabilities,
            ),
            (
                with(
                    "/containers/0/securityContext/capabilities",
                    json!({"drop": ["ALL"], "add": ["CHOWN"]}),
                ),
                Control::RestrictedCapabilities,
            ),
        ];
        for (spec, control) in cases {
            assert_eq!(failed(&spec), BTreeSet::from([control]), "{spec}");
        }
    }

    #[test]
    fn baseline_controls_that_imply_restricted_ones() {
        let caps = with(
            "/containers/0/securityContext/capabilities",
            json!({"drop": ["ALL"], "add": ["SYS_ADMIN"]}),
        );
        assert_eq!(
            failed(&caps),
            BTreeSet::from([Control::Capabilities, Control::RestrictedCapabilities])
        );
        let unconfined = with(
            "/securityContext/seccompProfile",
            json!({"type": "Unconfined"}),
        );
        assert_eq!(
            failed(&unconfined),
            BTreeSet::from([Control::Seccomp, Control::RestrictedSeccomp])
        );
        // hostPath is reported once, under baseline.
        let host = with(
            "/volumes",
            json!([{"name": "log", "hostPath": {"path": "/var/log"}}]),
        );
        assert_eq!(failed(&host), BTreeSet::from([Control::HostPath]));
        assert_eq!(level_of(&failed(&host)), Level::Privileged);
        assert!(with_implied(&BTreeSet::from([Control::HostPath])).contains(&Control::VolumeTypes));
    }

    #[test]
    fn apparmor_annotations_are_read_from_the_template_metadata() {
        let meta = json!({"annotations": {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}});
        assert_eq!(
            controls(&violations(&meta, &restricted())),
            BTreeSet::from([Control::AppArmor])
        );
        let ok = json!({"annotations": {"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"}});
        assert!(violations(&ok, &restricted()).is_empty());
    }

    #[test]
    fn container_settings_can_stand_in_for_the_pod() {
        let spec = json!({"containers": [{"name": "a", "securityContext": {
            "runAsNonRoot": true, "allowPrivilegeEscalation": false,
            "seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"},
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}]});
        assert_eq!(failed(&spec), BTreeSet::new());
        // A restricted pod with a container that opts out of its seccomp profile.
        let opt_out = with(
            "/containers/0/securityContext/seccompProfile",
            json!({"type": "Unconfined"}),
        );
        assert!(failed(&opt_out).contains(&Control::RestrictedSeccomp));
    }

    #[test]
    fn the_level_is_the_loosest_failed_control() {
        assert_eq!(level_of(&[Control::RunAsNonRoot]), Level::Baseline);
        assert_eq!(
            level_of(&[Control::RunAsNonRoot, Control::HostPath]),
            Level::Privileged
        );
    }
}
