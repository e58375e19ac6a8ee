//! Property tests over generated configs (proptest): the strategy walks the contract's
//! fields (cluster types, feature flags, releases from the release table, taints with and
//! without their values, ingress choices, storage entries, node selectors...), so most
//! cases are valid and the rest fail on the rules.
//!
//! - a config either builds or fails validation with located errors: never a panic, never
//!   validate-passes-but-build-fails;
//! - the order of map keys in the input changes no output byte;
//! - a render diffed against itself is empty;
//! - `amlc build --check` right after `amlc build` passes (through the binary).
//!
//! Case counts keep the whole file within a few seconds of CI time.

use crate::common;

use amlc::diagnostic::Source;
use amlc::validate::{NoFiles, validate};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::test_runner::Config as RunnerConfig;
use serde_json::{Value, json};

pub(crate) fn catalog() -> &'static amlc::catalog::Catalog {
    static CATALOG: std::sync::OnceLock<amlc::catalog::Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| amlc::catalog::Catalog::embedded().expect("built-in components load"))
}

const HOST: NoFiles = NoFiles {
    now_unix: 1_700_000_000,
};

fn maybe<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop::option::of(s).boxed()
}

/// Set in most cases: fields whose absence the rules often reject (taint values).
fn often<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop::option::weighted(0.85, s).boxed()
}

/// Set in few cases: fields that make most configs invalid when set at random (old
/// releases lack features; ingress controllers have prerequisites).
fn rarely<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop::option::weighted(0.2, s).boxed()
}

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,8}[a-z0-9]"
}

fn versions() -> Vec<String> {
    amlc::releases::Releases::embedded()
        .known()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// One config as a JSON tree (unset fields are left out).
pub(crate) fn config() -> impl Strategy<Value = Value> {
    let cluster = (
        select(vec!["aks", "arc", "aro", "ocp"]),
        maybe(word()),
        often(word()),
        maybe(1u32..12),
        maybe(word()),
    )
        .prop_map(|(t, name, rg, nodes, ns)| {
            let mut c = json!({"type": t});
            set(&mut c, "name", name);
            set(&mut c, "resourceGroup", rg);
            set(&mut c, "nodeCount", nodes);
            set(&mut c, "computeNamespace", ns);
            c
        });
    let inference = (
        any::<bool>(),
        maybe(select(vec!["LoadBalancer", "NodePort", "ClusterIP"])),
        often(select(vec![true, true, true, false])),
        maybe(any::<bool>()),
        maybe(any::<bool>()),
        rarely((word(), word())),
    )
        .prop_map(|(on, router, insecure, nginx, internal, ssl)| {
            let mut i = json!({"enabled": on});
            set(&mut i, "routerServiceType", router);
            set(&mut i, "allowInsecureConnections", insecure);
            set(&mut i, "nginxIngress", nginx);
            set(&mut i, "internalLoadBalancer", internal);
            if let Some((cname, secret)) = ssl {
                i["ssl"] = json!({"cname": format!("{cname}.example.com"), "secretName": secret});
            }
            i
        });
    let taints = maybe((
        subsequence(
            vec![
                "overall",
                "system",
                "workload",
                "resourceGroup",
                "workspace",
                "compute",
            ],
            1..=6,
        ),
        maybe(select(vec!["NoSchedule", "NoExecute", "PreferNoSchedule"])),
        often(prop::collection::btree_map(word(), word(), 1..2)),
    ));
    let ingress = rarely((
        select(vec!["azureml-fe", "nginx", "application-gateway"]),
        maybe(word()),
        maybe(word()),
    ));
    let storage = prop::collection::vec((word(), maybe(word()), any::<bool>()), 0..3);
    let misc = (
        maybe(word()),
        rarely(select(versions())),
        often(word()),
        often(word()),
        maybe(select(vec!["test", "production"])),
        maybe((any::<bool>(), maybe(any::<bool>()))),
        maybe((any::<bool>(), any::<bool>(), any::<bool>())),
        prop::collection::btree_map(word(), word(), 0..3),
        maybe(select(vec![
            "mcr.microsoft.com",
            "registry.example.com/mirror",
        ])),
    );
    (cluster, inference, taints, ingress, storage, misc).prop_map(
        |(cluster, inference, taints, ingress, storage, misc)| {
            let (name, version, workspace, compute, profile, training, monitoring, selector, registry) =
                misc;
            let mut c = json!({"apiVersion": "amlc/v1", "kind": "ExtensionConfig", "cluster": cluster, "inference": inference});
            if let Some(name) = name {
                c["metadata"] = json!({"name": name});
            }
            if let Some(v) = version {
                c["extension"] = json!({"version": v});
            }
            set(&mut c, "workspace", workspace);
            set(&mut c, "compute", compute);
            set(&mut c, "profile", profile);
            if let Some((on, volcano)) = training {
                c["training"] = json!({"enabled": on});
                set(&mut c["training"], "volcano", volcano);
            }
            if let Some((p, d, n)) = monitoring {
                c["monitoring"] = json!({"prometheusOperator": p, "dcgmExporter": d, "nvidiaDevicePlugin": n});
            }
            if !selector.is_empty() {
                c["nodeSelector"] = json!(selector);
            }
            if let Some((keys, effect, tainted)) = taints {
                c["taints"] = json!({"keys": keys});
                set(&mut c["taints"], "effect", effect);
                set(&mut c["taints"], "nodeSelector", tainted);
            }
            if let Some((controller, host, tls)) = ingress {
                c["ingress"] = json!({"controller": controller});
                set(&mut c["ingress"], "host", host.map(|h| format!("{h}.example.com")));
                if let Some(tls) = tls {
                    c["ingress"]["tls"] = json!({"secretName": tls});
                }
            }
            if !storage.is_empty() {
                c["storage"] = Value::Array(
                    storage
                        .into_iter()
                        .enumerate()
                        .map(|(i, (name, ns, ro))| {
                            let mut s = json!({
                                "name": format!("{name}-{i}"), "mountPath": format!("/mnt/{i}"),
                                "size": "1Gi", "nfs": {"server": "10.0.0.4", "path": "/share", "readOnly": ro},
                            });
                            set(&mut s, "namespace", ns);
                            s
                        })
                        .collect(),
                );
            }
            if let Some(r) = registry {
                c["images"] = json!({"registry": r});
            }
            c
        },
    )
}

fn set<T: serde::Serialize>(map: &mut Value, key: &str, value: Option<T>) {
    if let Some(v) = value {
        map[key] = json!(v);
    }
}

/// A small deterministic generator (xorshift) for shuffling keys from a proptest seed.
pub(crate) struct Shuffler(u64);

impl Shuffler {
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            items.swap(i, (self.0 % (i as u64 + 1)) as usize);
        }
    }
}

/// The config as YAML flow text (JSON is YAML), each mapping's keys in an order the
/// shuffler picks (sorted when it is None).
pub(crate) fn text(v: &Value, rng: Option<&mut Shuffler>) -> String {
    let mut out = String::new();
    write(&mut out, v, rng);
    out.push('\n');
    out
}

fn write(out: &mut String, v: &Value, mut rng: Option<&mut Shuffler>) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            if let Some(r) = rng.as_deref_mut() {
                r.shuffle(&mut keys);
            }
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push_str(": ");
                write(out, &map[k], rng.as_deref_mut());
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(out, item, rng.as_deref_mut());
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Validates and builds; the YAML stream, or the error codes.
fn render(text: &str) -> Result<(String, Vec<Value>), Vec<&'static str>> {
    let source = Source::new("amlc.yaml", text);
    match validate(&source, &HOST) {
        Ok(v) => {
            let built = amlc::build(&v, catalog())
                .unwrap_or_else(|d| panic!("validated but did not build: {d:#?}\n{text}"));
            let stream = amlc::emit::yaml_stream(&built.objects);
            let objects = built.objects.into_iter().map(|m| m.into_value()).collect();
            Ok((stream, objects))
        }
        Err(d) => {
            for e in d.iter().filter(|d| d.is_error()) {
                assert!(
                    e.location().is_some(),
                    "unlocated error {} {}\n{text}",
                    e.code,
                    e.message
                );
            }
            // Diagnostics come in file order, which the key order changes: compare the set.
            let mut codes: Vec<&'static str> =
                d.iter().filter(|d| d.is_error()).map(|d| d.code).collect();
            codes.sort_unstable();
            Err(codes)
        }
    }
}

proptest! {
    #![proptest_config(RunnerConfig { cases: 64, failure_persistence: None, ..RunnerConfig::default() })]

    /// Builds, or fails validation with located errors; a render diffed against itself is empty.
    #[test]
    fn a_config_builds_or_fails_with_located_errors(c in config()) {
        if let Ok((_, objects)) = render(&text(&c, None)) {
            let side = amlc::diff::Side::new(amlc::diff::Origin::Render, objects.clone());
            let report = amlc::diff::diff(&objects, &side, &amlc::diff::Options::default());
            prop_assert!(!report.has_differences(), "{}", report.summary_line());
        }
    }

    /// The order of map keys in the input changes no output byte (nor which errors).
    #[test]
    fn key_order_changes_no_output_byte(c in config(), seed in 1u64..) {
        let mut rng = Shuffler(seed);
        let sorted = render(&text(&c, None)).map(|(y, _)| y);
        let shuffled = render(&text(&c, Some(&mut rng))).map(|(y, _)| y);
        prop_assert_eq!(sorted, shuffled);
    }
}

proptest! {
    // Each case runs the binary four times.
    #![proptest_config(RunnerConfig { cases: 6, failure_persistence: None, ..RunnerConfig::default() })]

    /// `amlc build --check` passes right after `amlc build`, for both file targets.
    #[test]
    fn check_after_build_passes(c in config()) {
        let t = text(&c, None);
        prop_assume!(render(&t).is_ok());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("amlc.yaml"), &t).unwrap();
        for args in [&["-o", "out.yaml"][..], &["--target", "dir", "-o", "out"][..]] {
            let run = |check: bool| {
                let mut a = vec!["build".to_owned()];
                if check {
                    a.push("--check".to_owned());
                }
                a.extend(args.iter().map(|s| (*s).to_owned()));
                common::amlc(dir.path(), &a, &[]).status.code()
            };
            prop_assert_eq!(run(false), Some(0));
            prop_assert_eq!(run(true), Some(0));
        }
    }
}
