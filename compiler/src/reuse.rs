//! A fleet's objects made from kept documents (`render::memo`): each made once per
//! process for what the transforms read of the build for it, and taken from there by
//! every later build that gives it the same.
//!
//! By value (`finished`), a kept document's object is recognised only after it was
//! copied, transformed and compared with the kept ones: a third of a fleet config's work.
//! But what becomes of a kept document is a function of the document, of what the
//! per-object transforms read of the build for it (`transform::Reads`: the namespace and
//! extension name, its kind's scope, and for a pod template the node selector,
//! tolerations, registry, default user and its component's pod security) and, for a pod
//! template, of the content of the ConfigMaps it uses (`checksum`). So the finished object
//! is kept under those, and a build that gives the same takes it without making it.
//!
//! Settings are told apart by value, each given an id the first time it is seen; an
//! object is kept only under settings seen before, so a fleet whose every cluster has its
//! own extension name (or node selector) keeps nothing it would not use. The output is the
//! same bytes either way (tests compare).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use serde_json::Value;

use crate::catalog::PodSecurityMeta;
use crate::diagnostic::Diagnostic;
use crate::finished;
use crate::fx_hash::FxBuild;
use crate::manifest::Manifest;
use crate::object::Object;
use crate::render::Rendered;
use crate::transform::checksum::{self, ConfigMaps, Uses};
use crate::transform::{self, Reads, Scope, Settings, job_name};

/// Objects kept at most, to bound a pathological run's memory.
const ENTRIES: usize = 16_384;

/// The build's objects transformed and finished (`finished::finish`), in order, each with
/// its lint warnings. `share`: take objects earlier builds of the process made from the
/// same kept documents under the same reads, and keep this build's for later ones.
pub fn finish<'a>(
    rendered: Vec<Rendered>,
    settings: &Settings,
    crds: impl IntoIterator<Item = &'a Value>,
    share: bool,
) -> Vec<(Manifest, Vec<Diagnostic>)> {
    if !share {
        let objects = rendered.into_iter().map(Rendered::into_object).collect();
        return transform::apply(objects, settings, crds)
            .into_par_iter()
            .map(|o| finished::finish(o.value, false))
            .collect();
    }
    let mut scoping: Vec<&Value> = crds.into_iter().collect();
    scoping.extend(rendered.iter().map(Rendered::value));
    let scope = Scope::of(scoping);
    let env = Env::sight(settings);
    let keys: Vec<Option<Key>> = rendered
        .iter()
        .map(|r| env.key(r, Reads::of(r.value(), &scope)))
        .collect();
    let found: Vec<Option<Found>> = match table().lock() {
        Ok(t) => keys.iter().map(|k| k.and_then(|k| t.found(k))).collect(),
        Err(_) => vec![None; keys.len()],
    };

    // The objects to make: those found nothing for, transformed object by object.
    let mut steps = Vec::with_capacity(rendered.len());
    let mut fresh = Vec::new();
    let mut fresh_keys = Vec::new();
    let mut pods = Vec::new();
    for ((r, key), found) in rendered.into_iter().zip(keys).zip(found) {
        match (found, key) {
            (Some(Found::Made(m)), _) => {
                #[cfg(test)]
                tests::count(&tests::FOUND);
                steps.push(Step::Done(m, Vec::new()))
            }
            (Some(Found::Uses(uses)), Some(key)) => {
                steps.push(Step::Pending);
                pods.push((steps.len() - 1, key, uses, r));
            }
            _ => {
                steps.push(Step::Fresh(fresh.len()));
                fresh.push(r.into_object());
                fresh_keys.push(key);
            }
        }
    }
    let mut fresh = transform::each(fresh, settings, &scope);

    // The checksums read the ConfigMaps, found or made; a pod template found under its
    // reads is found under the hash of the ConfigMaps it uses too, or made.
    let config_maps = ConfigMaps::of(
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Done(m, _) => Some(m.value()),
                _ => None,
            })
            .chain(fresh.iter().map(|o| &o.value)),
    );
    let mut late = Vec::new();
    if let Ok(t) = table().lock() {
        for (at, key, uses, r) in pods {
            let digest = uses.digest(&config_maps);
            match t.made.get(&(key, digest)) {
                Some(m) => {
                    #[cfg(test)]
                    tests::count(&tests::FOUND);
                    steps[at] = Step::Done(m.clone(), Vec::new())
                }
                None => {
                    #[cfg(test)]
                    tests::count(&tests::LATE);
                    late.push((at, key, r))
                }
            }
        }
    } else {
        late.extend(pods.into_iter().map(|(at, key, _, r)| (at, key, r)));
    }
    if !late.is_empty() {
        let (slots, objects): (Vec<(usize, Key)>, Vec<Object>) = late
            .into_iter()
            .map(|(at, key, r)| ((at, key), r.into_object()))
            .unzip();
        for ((at, key), o) in slots
            .into_iter()
            .zip(transform::each(objects, settings, &scope))
        {
            steps[at] = Step::Fresh(fresh.len());
            fresh.push(o);
            fresh_keys.push(Some(key));
        }
    }

    let mut keep = Vec::new();
    let mut made: Vec<Option<(Manifest, Vec<Diagnostic>)>> = fresh
        .into_iter()
        .zip(fresh_keys)
        .map(|(mut o, key)| {
            let uses = Uses::of(&o.value);
            let digest = uses.as_ref().and_then(|u| u.digest(&config_maps));
            if let Some(d) = &digest {
                checksum::annotate(&mut o.value, d.clone());
            }
            job_name::rename(&mut o.value);
            let (manifest, warnings) = finished::finish(o.value, true);
            if let Some(key) = key.filter(|_| warnings.is_empty()) {
                keep.push(Kept {
                    key,
                    uses,
                    digest,
                    manifest: manifest.clone(),
                });
            }
            Some((manifest, warnings))
        })
        .collect();
    if !keep.is_empty()
        && let Ok(mut t) = table().lock()
    {
        for k in keep {
            t.keep(k);
        }
    }
    steps
        .into_iter()
        .filter_map(|s| match s {
            Step::Done(m, w) => Some((m, w)),
            Step::Fresh(i) => made[i].take(),
            Step::Pending => None,
        })
        .collect()
}

/// One object of the build on its way.
enum Step {
    Done(Manifest, Vec<Diagnostic>),
    /// The n-th object made in this build.
    Fresh(usize),
    /// A pod template whose ConfigMaps' hash is not known yet.
    Pending,
}

/// What the table holds for a key.
#[derive(Clone)]
enum Found {
    Made(Manifest),
    /// A pod template: the ConfigMaps it uses, which with the key name its object.
    Uses(Arc<Uses>),
}

/// What an object is kept under: its document, and what the transforms read for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    documents: u64,
    index: usize,
    /// The namespace and extension name.
    base: u32,
    reads: Reads,
    /// For a workload: the workload settings and its component's pod security.
    workload: Option<(u32, u32)>,
}

struct Kept {
    key: Key,
    uses: Option<Uses>,
    digest: Option<String>,
    manifest: Manifest,
}

/// A build's settings, as ids.
struct Env {
    base: Seen,
    workload: Seen,
    /// Each component's pod security, and that of a component named by none.
    policies: BTreeMap<String, u32>,
    default_policy: u32,
}

impl Env {
    fn sight(settings: &Settings) -> Self {
        let Ok(mut t) = table().lock() else {
            // Nothing seen before: nothing is taken or kept.
            return Env {
                base: Seen::first(),
                workload: Seen::first(),
                policies: BTreeMap::new(),
                default_policy: 0,
            };
        };
        let base = t
            .base
            .sight((settings.namespace.clone(), settings.instance.clone()));
        let workload = t.workload.sight(Workload {
            node_selector: settings.node_selector.clone(),
            tolerations: settings.tolerations.clone(),
            registry: settings.registry.clone(),
            default_user: settings.default_user,
        });
        let policies = settings
            .pod_security
            .iter()
            .map(|(c, p)| (c.clone(), t.policies.sight(p.clone()).id))
            .collect();
        let default_policy = t.policies.sight(PodSecurityMeta::default()).id;
        Env {
            base,
            workload,
            policies,
            default_policy,
        }
    }

    /// The key of a kept document's object; None for the build's own, or when what it
    /// reads was not seen before this build.
    fn key(&self, r: &Rendered, reads: Reads) -> Option<Key> {
        let (documents, index) = r.kept_as()?;
        if !self.base.before || (reads.workload && !self.workload.before) {
            return None;
        }
        let workload = reads.workload.then(|| {
            let policy = self
                .policies
                .get(r.component())
                .copied()
                .unwrap_or(self.default_policy);
            (self.workload.id, policy)
        });
        Some(Key {
            documents,
            index,
            base: self.base.id,
            reads,
            workload,
        })
    }
}

/// The settings `scheduling`, `registry` and `pod_security` read for a workload, besides
/// its component's pod security.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Workload {
    node_selector: BTreeMap<String, String>,
    tolerations: Vec<Value>,
    registry: String,
    default_user: Option<u32>,
}

/// A value's id, and whether an earlier build had seen it.
#[derive(Debug, Clone, Copy)]
struct Seen {
    id: u32,
    before: bool,
}

impl Seen {
    fn first() -> Self {
        Seen {
            id: 0,
            before: false,
        }
    }
}

/// Values by id.
struct Ids<T>(HashMap<T, Seen, FxBuild>);

impl<T> Default for Ids<T> {
    fn default() -> Self {
        Ids(HashMap::default())
    }
}

impl<T: std::hash::Hash + Eq> Ids<T> {
    fn sight(&mut self, value: T) -> Seen {
        let id = self.0.len() as u32;
        let seen = self.0.entry(value).or_insert(Seen { id, before: false });
        let now = *seen;
        seen.before = true;
        now
    }
}

#[derive(Default)]
struct Table {
    /// Finished objects by key and the hash of the ConfigMaps a pod template uses.
    made: HashMap<(Key, Option<String>), Manifest, FxBuild>,
    /// The ConfigMaps each kept pod template uses.
    uses: HashMap<Key, Arc<Uses>, FxBuild>,
    base: Ids<(String, String)>,
    workload: Ids<Workload>,
    policies: Ids<PodSecurityMeta>,
}

impl Table {
    fn found(&self, key: Key) -> Option<Found> {
        if let Some(uses) = self.uses.get(&key) {
            return Some(Found::Uses(Arc::clone(uses)));
        }
        self.made.get(&(key, None)).cloned().map(Found::Made)
    }

    fn keep(&mut self, kept: Kept) {
        if self.made.len() >= ENTRIES {
            return;
        }
        if let Some(uses) = kept.uses {
            self.uses.entry(kept.key).or_insert_with(|| Arc::new(uses));
        }
        self.made
            .entry((kept.key, kept.digest))
            .or_insert(kept.manifest);
    }
}

fn table() -> &'static Mutex<Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE.get_or_init(Mutex::default)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::build::build_sharing;
    use crate::catalog::Catalog;
    use crate::config::Config;
    use crate::diagnostic::Source;
    use crate::validate::{NoFiles, validate};

    /// Objects taken from the table, and pod templates found under their reads but made
    /// again for other ConfigMaps (in this test binary, by every test's builds).
    pub static FOUND: AtomicUsize = AtomicUsize::new(0);
    pub static LATE: AtomicUsize = AtomicUsize::new(0);

    pub fn count(counter: &AtomicUsize) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The configs among `files` that validate without reading files, with their paths.
    pub fn valid_configs(files: Vec<std::path::PathBuf>) -> Vec<(std::path::PathBuf, Config)> {
        files
            .into_iter()
            .filter_map(|file| {
                let text = std::fs::read_to_string(&file).ok()?;
                let source = Source::new(file.display().to_string(), text);
                let valid = validate(&source, &NoFiles { now_unix: 0 }).ok()?;
                Some((file, valid.config))
            })
            .collect()
    }

    /// The golden configs that validate without files, each as it is and with another
    /// node selector and registry.
    pub fn golden_configs() -> Vec<Config> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
        let mut cases: Vec<_> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().path().join("amlc.yaml"))
            .collect();
        cases.sort();
        let mut configs = Vec::new();
        for (_, config) in valid_configs(cases) {
            let mut other = config.clone();
            other.node_selector = [("pool".to_owned(), "other".to_owned())].into();
            other.images.registry = "registry.example.com".into();
            configs.push(config);
            configs.push(other);
        }
        assert!(configs.len() > 30, "{}", configs.len());
        configs
    }

    /// Builds taking objects from earlier builds give, round after round, exactly what
    /// builds alone give: documents, warnings and the "create first" note.
    #[test]
    fn a_fleet_gets_what_builds_alone_make() {
        let catalog = Catalog::embedded().unwrap();
        let configs = golden_configs();
        let found = FOUND.load(Ordering::Relaxed);
        for round in 0..3 {
            for (i, config) in configs.iter().enumerate() {
                let shared = build_sharing(config, &catalog, None, true);
                let alone = build_sharing(config, &catalog, None, false);
                let (shared, alone) = match (shared, alone) {
                    (Ok(s), Ok(a)) => (s, a),
                    (s, a) => {
                        assert_eq!(s.err(), a.err(), "config {i}");
                        continue;
                    }
                };
                let documents = |b: &crate::build::Build| {
                    b.objects
                        .iter()
                        .map(|m| m.yaml().to_owned())
                        .collect::<Vec<_>>()
                };
                assert!(
                    documents(&shared) == documents(&alone),
                    "config {i}, round {round}"
                );
                let messages = |b: &crate::build::Build| {
                    b.warnings
                        .iter()
                        .map(|d| d.message.clone())
                        .collect::<Vec<_>>()
                };
                assert_eq!(messages(&shared), messages(&alone), "config {i}");
                assert_eq!(shared.create_first, alone.create_first, "config {i}");
            }
        }
        // Not a test of builds alone: most objects were taken.
        let found = FOUND.load(Ordering::Relaxed) - found;
        assert!(found > configs.len() * 50, "{found}");
    }

    /// A pod template found under its reads whose ConfigMap changed is made again, with
    /// the new checksum, and kept beside the first.
    #[test]
    fn a_pod_template_follows_its_config_maps() {
        let deployment = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d"}, "spec": {"template": {"spec": {
                "volumes": [{"name": "v", "configMap": {"name": "cfg"}}],
                "containers": [{"name": "c", "image": "mcr.microsoft.com/x:1"}]}}}});
        let kept = Arc::new(crate::render::memo::Documents {
            // Far from the ids the memo gives.
            id: 1 << 40,
            values: vec![deployment],
        });
        let settings = Settings {
            namespace: "azureml".into(),
            instance: "reuse-test-config-maps".into(),
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            registry: "mcr.microsoft.com".into(),
            pod_security: BTreeMap::new(),
            default_user: None,
        };
        let rendered = |data: &str| {
            let config_map = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cfg"}, "data": {"k": data}});
            vec![
                Rendered::Kept {
                    component: "c".into(),
                    documents: Arc::clone(&kept),
                    index: 0,
                },
                Rendered::Own(Object::new("c", config_map)),
            ]
        };
        let documents = |made: Vec<(Manifest, Vec<Diagnostic>)>| {
            made.iter()
                .map(|(m, _)| m.yaml().to_owned())
                .collect::<Vec<_>>()
        };
        let (found, late) = (FOUND.load(Ordering::Relaxed), LATE.load(Ordering::Relaxed));
        for data in ["1", "1", "1", "2", "2", "1"] {
            let shared = finish(rendered(data), &settings, [], true);
            let alone = finish(rendered(data), &settings, [], false);
            assert_eq!(documents(shared), documents(alone), "{data}");
        }
        // The first build keeps nothing (its settings were new), the second keeps, the
        // third takes; "2" is made late, then taken; "1" is taken again.
        assert!(FOUND.load(Ordering::Relaxed) >= found + 3);
        assert!(LATE.load(Ordering::Relaxed) > late);
    }
}
