//! The README's plain-kubectl recipe works with the real kubectl (DESIGN.md, "Deployable
//! as rendered"): against a fresh cluster (tests/support/apiserver.rs, serving the built-in
//! kinds but no custom resource group), `kubectl apply` of the full render fails with "no
//! matches for kind", `amlc build --crds-only` applies, and once its CRDs are Established
//! `amlc build --skip-crds` applies too. For every golden case that builds.
//!
//! kubectl runs as `kubectl apply --dry-run=client --validate=false -f -`, which reads only:
//! discovery, then one GET per object. Each run gets its own HOME and `--cache-dir`, so no
//! discovery cache leaks between runs; one extra run reuses phase 1's cache, as a user's
//! second command does. kubectl must be installed (CI's .ci/run installs it): this test
//! fails without it rather than skipping.

use crate::common;
use crate::support::apiserver::{
    ApiServer, Cluster, Discovery, Recorded, Served, TOKEN, builtin_resources, crd_resources,
    kubeconfig,
};

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long one kubectl run may take (it takes well under a second).
const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);

/// Cases that must build and be checked; a build failure in any other case skips it.
const REQUIRED: [&str; 7] = [
    "embedded-default",
    "aks-production",
    "arc",
    "ocp",
    "nfs-storage",
    "nginx-https",
    "gpu-monitoring",
];

/// API groups a config may use without rendering their CRDs, because it says (the setting
/// at this JSON pointer is `false`) that their operator is already on the cluster: that
/// cluster serves them from the start, as the CRDs amlc's default render bundles them.
const PREINSTALLED: [(&str, &str); 1] =
    [("monitoring.coreos.com", "/monitoring/prometheusOperator")];

/// kubectl's client version, or a failure saying to install it.
fn kubectl_version() -> String {
    let out = Command::new("kubectl")
        .args(["version", "--client"])
        .output();
    match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
        Ok(out) => panic!(
            "`kubectl version --client` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "kubectl is not on PATH ({e}): the apply-phases test runs the real kubectl; install it \
             (Debian: `apt-get install kubernetes-client`; CI's .ci/run does)"
        ),
    }
}

/// The (apiVersion, kind) of an object.
fn type_of(o: &Value) -> (String, String) {
    (
        o["apiVersion"].as_str().unwrap_or_default().to_owned(),
        o["kind"].as_str().unwrap_or_default().to_owned(),
    )
}

/// (apiVersion, kind, namespace, name).
fn key(o: &Value) -> (String, String, String, String) {
    let (api_version, kind) = type_of(o);
    let meta = &o["metadata"];
    (
        api_version,
        kind,
        meta["namespace"].as_str().unwrap_or_default().to_owned(),
        meta["name"].as_str().unwrap_or_default().to_owned(),
    )
}

fn served_types(resources: &[Served]) -> BTreeSet<(String, String)> {
    resources
        .iter()
        .map(|r| (r.api_version(), r.kind.clone()))
        .collect()
}

/// One kubectl run's outcome.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Lines saying an object would be created.
    fn created(&self) -> usize {
        self.stdout
            .lines()
            .filter(|l| l.ends_with(" created (dry run)"))
            .count()
    }

    /// (apiVersion, kind) of every "no matches for kind" error.
    fn unmapped(&self) -> BTreeSet<(String, String)> {
        let re = regex::Regex::new(r#"no matches for kind "([^"]+)" in version "([^"]+)""#)
            .expect("a valid regex");
        re.captures_iter(&self.stderr)
            .map(|c| (c[2].to_owned(), c[1].to_owned()))
            .collect()
    }

    fn show(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            if self.success { "0" } else { "non-zero" },
            self.stdout,
            self.stderr
        )
    }
}

/// Runs `kubectl apply --dry-run=client --validate=false -f -` on `yaml` against `server`,
/// with HOME and the discovery cache in `cache` (fresh unless reused on purpose).
fn kubectl_apply(
    server: &ApiServer,
    dir: &Path,
    cache: &Path,
    yaml: &str,
    label: &str,
) -> Result<Run, String> {
    let kubeconfig_path = dir.join("kubeconfig");
    std::fs::write(&kubeconfig_path, kubeconfig(&server.url(), TOKEN)).unwrap();
    let input = dir.join(format!("{label}.yaml"));
    let stdout_path = dir.join(format!("{label}.stdout"));
    let stderr_path = dir.join(format!("{label}.stderr"));
    std::fs::write(&input, yaml).unwrap();
    std::fs::create_dir_all(cache).unwrap();
    let mut child = Command::new("kubectl")
        .args(["apply", "--dry-run=client", "--validate=false", "-f", "-"])
        .arg("--kubeconfig")
        .arg(&kubeconfig_path)
        .arg("--cache-dir")
        .arg(cache.join("cache"))
        .arg("--request-timeout=20s")
        .env("HOME", cache)
        .env_remove("KUBECONFIG")
        .env_remove("KUBECACHEDIR")
        .env_remove("KUBECTL_KUBERC")
        .stdin(File::open(&input).unwrap())
        .stdout(File::create(&stdout_path).unwrap())
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .map_err(|e| format!("kubectl does not start: {e}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > KUBECTL_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{label}: kubectl did not finish within {KUBECTL_TIMEOUT:?}; stderr so far:\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(Run {
        success: status.success(),
        stdout: std::fs::read_to_string(&stdout_path).unwrap(),
        stderr: std::fs::read_to_string(&stderr_path).unwrap(),
    })
}

/// `amlc build ARGS EXTRA` in a case folder: stdout, or the failure.
fn build(case: &Path, extra: &[&str]) -> Result<String, String> {
    let mut args = vec!["build".to_owned()];
    args.extend(common::case_args(case));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let out = common::amlc(case, &args, &[]);
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`amlc {}` exited {:?}: {}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn parse(yaml: &str, what: &str) -> Result<Vec<Value>, String> {
    amlc::render::parse_documents(yaml).map_err(|e| format!("{what} is not YAML: {e:?}"))
}

/// Every request was a read.
fn check_only_reads(requests: &[Recorded]) -> Result<(), String> {
    match requests.iter().find(|r| r.method != "GET") {
        Some(r) => Err(format!("kubectl sent a write: {r:?}")),
        None if requests.is_empty() => Err("kubectl sent no request at all".into()),
        None => Ok(()),
    }
}

/// What one case proved.
struct Checked {
    objects: usize,
    crds: usize,
    custom: BTreeSet<(String, String)>,
    /// PREINSTALLED groups the cluster served from the start.
    existing: BTreeSet<String>,
}

/// What the CRDs of the default render serve, for the [`PREINSTALLED`] groups.
fn preinstalled() -> Vec<Served> {
    let default = common::root().join("golden/embedded-default");
    let crds = build(&default, &["--crds-only"]).expect("the default config builds");
    let crds = parse(&crds, "the default --crds-only").unwrap();
    let served: Vec<Served> = crds
        .iter()
        .flat_map(crd_resources)
        .filter(|r| PREINSTALLED.iter().any(|(g, _)| *g == r.group))
        .collect();
    for (group, _) in PREINSTALLED {
        assert!(
            served.iter().any(|r| r.group == group),
            "the default render has no CRD of {group}"
        );
    }
    served
}

/// Steps 2-5 for one case and one discovery flavour.
fn check_case(
    full_yaml: &str,
    case: &Path,
    discovery: Discovery,
    reuse_cache: bool,
    preinstalled: &[Served],
) -> Result<Checked, String> {
    let crds_yaml = build(case, &["--crds-only"])?;
    let rest_yaml = build(case, &["--skip-crds"])?;
    let full = parse(full_yaml, "the full render")?;
    let crds = parse(&crds_yaml, "--crds-only")?;
    let rest = parse(&rest_yaml, "--skip-crds")?;

    // The phases split the render: CRDs first, everything else second, nothing lost.
    if let Some(o) = crds
        .iter()
        .find(|o| o["kind"] != "CustomResourceDefinition")
    {
        return Err(format!("--crds-only printed {:?}", key(o)));
    }
    if let Some(o) = rest
        .iter()
        .find(|o| o["kind"] == "CustomResourceDefinition")
    {
        return Err(format!("--skip-crds printed {:?}", key(o)));
    }
    let mut split: Vec<_> = crds.iter().chain(&rest).map(key).collect();
    let mut whole: Vec<_> = full.iter().map(key).collect();
    split.sort();
    whole.sort();
    if split != whole {
        return Err("--crds-only plus --skip-crds is not the full render".into());
    }

    // Every kind of the render is built in (served from the start) or defined by one of
    // the render's CRDs (served once installed); the CRD groups are not built in.
    let builtin = builtin_resources();
    let from_crds: Vec<Served> = crds.iter().flat_map(crd_resources).collect();
    let builtin_types = served_types(&builtin);
    let crd_types = served_types(&from_crds);
    let builtin_groups: BTreeSet<&str> = builtin.iter().map(|r| r.group.as_str()).collect();
    if let Some(r) = from_crds
        .iter()
        .find(|r| builtin_groups.contains(r.group.as_str()))
    {
        return Err(format!(
            "a CRD of the render defines {} {}, in a group the test server treats as built in",
            r.api_version(),
            r.kind
        ));
    }
    // A group whose CRDs the render leaves out because the config says its operator is
    // already there (PREINSTALLED): that cluster serves it from the start.
    let config = config_of(case)?;
    let crd_groups: BTreeSet<&str> = from_crds.iter().map(|r| r.group.as_str()).collect();
    let existing_groups: BTreeSet<String> = PREINSTALLED
        .iter()
        .filter(|(group, setting)| {
            !crd_groups.contains(group) && config.pointer(setting) == Some(&Value::Bool(false))
        })
        .map(|(group, _)| (*group).to_owned())
        .collect();
    let existing: Vec<Served> = preinstalled
        .iter()
        .filter(|r| existing_groups.contains(&r.group))
        .cloned()
        .collect();
    let existing_types = served_types(&existing);
    let unknown: BTreeSet<(String, String)> = full
        .iter()
        .map(type_of)
        .filter(|t| {
            !builtin_types.contains(t) && !crd_types.contains(t) && !existing_types.contains(t)
        })
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "the render has kinds that are neither built into Kubernetes as the test server \
             knows it nor defined by a CRD of the render: {unknown:?}. If a kind is built in, \
             add it to builtin_resources() in tests/support/apiserver.rs; if its CRD comes \
             from elsewhere, the apply recipe needs that CRD first"
        ));
    }
    let custom: BTreeSet<(String, String)> = full
        .iter()
        .map(type_of)
        .filter(|t| crd_types.contains(t))
        .collect();
    let custom_objects = full
        .iter()
        .filter(|o| crd_types.contains(&type_of(o)))
        .count();

    let dir = tempfile::tempdir().unwrap();
    let fresh_cache = |label: &str| dir.path().join(format!("home-{label}"));
    let mut fresh = builtin;
    fresh.extend(existing);
    let server = ApiServer::start_cluster(Cluster {
        resources: fresh.clone(),
        discovery,
        token_required: false,
    });
    let context = |what: &str, run: &Run| format!("{what}\n{}", run.show());

    // Step 2: one stream with CRDs and their custom resources fails on a fresh cluster.
    let run = kubectl_apply(&server, dir.path(), &fresh_cache("full"), full_yaml, "full")?;
    if !custom.is_empty() {
        if run.success || !run.stderr.contains("no matches for kind") {
            return Err(context(
                "kubectl apply of the full render did not fail with \"no matches for kind\"",
                &run,
            ));
        }
        if run.unmapped() != custom {
            return Err(context(
                &format!(
                    "the kinds kubectl could not map are not the render's custom resources {custom:?}"
                ),
                &run,
            ));
        }
    }
    if run.created() != full.len() - custom_objects {
        return Err(context(
            &format!(
                "expected {} objects created (dry run) from the full render",
                full.len() - custom_objects
            ),
            &run,
        ));
    }

    // Step 3: the CRDs alone apply.
    let phase1_cache = fresh_cache("crds");
    let run = kubectl_apply(&server, dir.path(), &phase1_cache, &crds_yaml, "crds")?;
    if !run.success || run.created() != crds.len() {
        return Err(context(
            &format!("kubectl apply of --crds-only ({} CRDs) failed", crds.len()),
            &run,
        ));
    }

    // Step 4: the CRDs are Established: the cluster serves their kinds; the rest applies.
    let mut installed = fresh;
    installed.extend(from_crds);
    server.serve(installed);
    let mut phase2_caches = vec![("rest", fresh_cache("rest"))];
    if reuse_cache {
        // As a user's second command: phase 1's discovery cache is on disk, without the
        // new kinds; kubectl must notice and ask the cluster again.
        phase2_caches.push(("rest-cached", phase1_cache));
    }
    for (label, cache) in phase2_caches {
        let run = kubectl_apply(&server, dir.path(), &cache, &rest_yaml, label)?;
        if !run.success || run.stderr.contains("no matches for kind") || run.created() != rest.len()
        {
            return Err(context(
                &format!(
                    "kubectl apply of --skip-crds ({} objects) after the CRDs ({label})",
                    rest.len()
                ),
                &run,
            ));
        }
    }

    // Step 5: client dry-run only reads; every custom resource was looked up where its
    // CRD serves it.
    let requests = server.recorded();
    check_only_reads(&requests)?;
    for (api_version, kind) in &custom {
        let r = plural_of(&crds, api_version, kind);
        let prefix = format!("/apis/{api_version}/");
        let looked_up = requests
            .iter()
            .any(|q| q.uri.starts_with(&prefix) && q.uri.contains(&format!("/{r}/")));
        if !looked_up {
            return Err(format!(
                "kubectl never asked for a {kind} at {prefix}…/{r}/NAME"
            ));
        }
    }
    // kubectl asks for aggregated discovery; a server without it answers plain JSON and
    // kubectl falls back to one request per group version.
    let asked_aggregated = requests
        .iter()
        .any(|q| q.uri.starts_with("/apis?") && q.accept.contains("g=apidiscovery.k8s.io;v=v2"));
    let got_aggregated = requests
        .iter()
        .any(|q| q.content_type.contains("g=apidiscovery.k8s.io;v=v2"));
    let per_group_version = requests
        .iter()
        .any(|q| q.uri.starts_with("/apis/apps/v1?") || q.uri == "/apis/apps/v1");
    if !asked_aggregated {
        return Err("kubectl never asked for aggregated discovery".into());
    }
    match discovery {
        Discovery::Aggregated if !got_aggregated || per_group_version => {
            return Err("kubectl did not use aggregated discovery".into());
        }
        Discovery::Legacy if got_aggregated || !per_group_version => {
            return Err("kubectl did not fall back to legacy discovery".into());
        }
        _ => {}
    }
    Ok(Checked {
        objects: full.len(),
        crds: crds.len(),
        custom,
        existing: existing_groups,
    })
}

/// A case's config (`amlc.yaml`), or null when it has none (the embedded default).
fn config_of(case: &Path) -> Result<Value, String> {
    match std::fs::read_to_string(case.join("amlc.yaml")) {
        Ok(text) => serde_yaml_ng::from_str(&text).map_err(|e| format!("amlc.yaml: {e}")),
        Err(_) => Ok(Value::Null),
    }
}

/// The plural a CRD of the render gives a kind.
fn plural_of(crds: &[Value], api_version: &str, kind: &str) -> String {
    crds.iter()
        .flat_map(crd_resources)
        .find(|r| r.api_version() == api_version && r.kind == kind)
        .map(|r| r.plural)
        .unwrap_or_default()
}

/// A golden case: its checks, None when it does not build (and need not), or the failure.
fn check_golden_case(
    case: &Path,
    preinstalled: &[Served],
) -> (String, Result<Option<Vec<Checked>>, String>) {
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    let full = common::build_case(case);
    if !full.status.success() {
        let result = if REQUIRED.contains(&name.as_str()) {
            Err(format!(
                "{name}: a required case did not build: {}",
                String::from_utf8_lossy(&full.stderr)
            ))
        } else {
            Ok(None)
        };
        return (name, result);
    }
    let full = String::from_utf8_lossy(&full.stdout).into_owned();
    // Every case against a cluster with aggregated discovery (Kubernetes 1.30+); the
    // default one also against legacy discovery only, and with phase 1's discovery cache
    // reused for phase 2.
    let flavours = if name == "embedded-default" {
        vec![(Discovery::Aggregated, true), (Discovery::Legacy, true)]
    } else {
        vec![(Discovery::Aggregated, false)]
    };
    let result = flavours
        .into_iter()
        .map(|(discovery, reuse)| {
            check_case(&full, case, discovery, reuse, preinstalled)
                .map_err(|e| format!("{name} ({discovery:?} discovery): {e}"))
        })
        .collect::<Result<Vec<Checked>, String>>()
        .map(Some);
    (name, result)
}

#[test]
fn kubectl_applies_crds_then_the_rest_of_every_render() {
    let version = kubectl_version();
    let started = Instant::now();
    let preinstalled = &preinstalled();
    let cases: Vec<PathBuf> = common::golden_cases();
    let names: BTreeSet<String> = cases
        .iter()
        .map(|c| c.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for required in REQUIRED {
        assert!(names.contains(required), "golden/{required} is missing");
    }

    // A few cases at a time, one per CPU: each runs amlc and kubectl several times, and the
    // other integration tests (some with tight timeouts) share the machine.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers.min(cases.len()) {
            s.spawn(|| {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let outcome = check_golden_case(case, preinstalled);
                    results.lock().unwrap().push(outcome);
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));

    let mut failures = Vec::new();
    let mut checked = BTreeMap::new();
    let mut skipped = Vec::new();
    for (name, result) in results {
        match result {
            Ok(Some(runs)) => {
                checked.insert(name, runs);
            }
            Ok(None) => skipped.push(name),
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "with {version}:\n{}",
        failures.join("\n\n")
    );
    for required in REQUIRED {
        assert!(checked.contains_key(required), "{required} was not checked");
    }
    let default = &checked["embedded-default"][0];
    assert!(
        default.custom.len() >= 3 && default.crds >= 10 && default.objects > default.crds,
        "the default render has too little to prove anything: {} objects, {} CRDs, custom kinds {:?}",
        default.objects,
        default.crds,
        default.custom
    );
    let existing: Vec<String> = checked
        .iter()
        .filter(|(_, runs)| !runs[0].existing.is_empty())
        .map(|(name, runs)| format!("{name} ({:?})", runs[0].existing))
        .collect();
    eprintln!(
        "apply phases: {} golden cases with {version} in {:?}; did not build: {skipped:?}; \
         operator already installed: {existing:?}",
        checked.len(),
        started.elapsed()
    );
}
