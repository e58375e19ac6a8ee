//! The component catalog: every `components/<name>/` folder (metadata, templates, CRDs),
//! built-in (embedded at build time) or from a user's `--components DIR`, checked before
//! use so a broken folder is a located error, never a panic mid-render.
//!
//! It does not read files (the CLI hands it `(path, text)` pairs), decide which
//! components are on (`plan`), or render templates (`render`).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Source};
use crate::soundness::pod_security::{Control, Level};

/// Which training/inference feature a component serves (DESIGN.md: the component table
/// and the totals table decide it where the seed resource table swaps its columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Feature {
    Training,
    Inference,
    Both,
}

/// Replicas as a component declares them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReplicasMeta {
    /// A fixed count.
    Count(u32),
    /// `perNode`: one pod per node (DaemonSets).
    Word(String),
    /// One count per profile (azureml-fe-v2: 1 for test, 3 for production).
    ByProfile { test: u32, production: u32 },
}

/// The spelling of one-pod-per-node replicas in component.yaml.
pub const PER_NODE: &str = "perNode";

/// CPU and memory in the seed's units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Amount {
    pub cpu_millicores: u64,
    pub memory_mib: u64,
}

impl std::ops::Add for Amount {
    type Output = Amount;
    fn add(self, o: Amount) -> Amount {
        Amount {
            cpu_millicores: self.cpu_millicores + o.cpu_millicores,
            memory_mib: self.memory_mib + o.memory_mib,
        }
    }
}

impl Amount {
    pub fn times(self, n: u64) -> Amount {
        Amount {
            cpu_millicores: self.cpu_millicores * n,
            memory_mib: self.memory_mib * n,
        }
    }
}

/// `{cpu: 50m, memory: 256Mi}` as written in component.yaml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmountMeta {
    pub cpu: String,
    pub memory: String,
}

impl AmountMeta {
    /// Parses the seed's units only (`m` and `Mi`), so a number in component.yaml reads
    /// the same as the seed's "Recommended resource planning" column it was copied from.
    pub fn parse(&self) -> Result<Amount, String> {
        let cpu = self
            .cpu
            .strip_suffix('m')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("cpu `{}` must be millicores, e.g. 50m", self.cpu))?;
        let memory = self
            .memory
            .strip_suffix("Mi")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("memory `{}` must be MiB, e.g. 256Mi", self.memory))?;
        Ok(Amount {
            cpu_millicores: cpu,
            memory_mib: memory,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcesMeta {
    pub requests: AmountMeta,
    pub limits: AmountMeta,
}

/// Requests and limits of one pod (or one container), parsed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Resources {
    pub requests: Amount,
    pub limits: Amount,
}

impl Resources {
    pub fn times(self, n: u64) -> Resources {
        Resources {
            requests: self.requests.times(n),
            limits: self.limits.times(n),
        }
    }
}

impl std::ops::Add for Resources {
    type Output = Resources;
    fn add(self, o: Resources) -> Resources {
        Resources {
            requests: self.requests + o.requests,
            limits: self.limits + o.limits,
        }
    }
}

impl ResourcesMeta {
    pub fn parse(&self) -> Result<Resources, String> {
        Ok(Resources {
            requests: self.requests.parse()?,
            limits: self.limits.parse()?,
        })
    }
}

/// The workload a component runs, as component.yaml declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadMeta {
    /// Deployment, DaemonSet, StatefulSet or Job.
    pub kind: String,
    /// A minijinja template, e.g. `{{ name }}-kube-state-metrics`.
    pub name: String,
    pub replicas: ReplicasMeta,
    /// Whether it is an extension system pod (tolerates the `overall` and `system` taints).
    pub system_pod: bool,
    /// Image name under `mcr.microsoft.com/azureml/amlarc/docker/`.
    pub image: String,
    /// Requests and limits of one pod.
    pub resources: ResourcesMeta,
    /// Whether `resources` are the seed's "Recommended resource planning" figures.
    pub resources_from_seed: bool,
    /// Per-container split of `resources` for pods with several containers; must sum to it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub containers: BTreeMap<String, ResourcesMeta>,
}

/// `components/<name>/component.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComponentMeta {
    pub description: String,
    pub feature: Feature,
    /// The config field that turns the component off (e.g. `monitoring.prometheusOperator`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional_flag: Option<String>,
    /// A minijinja expression over the build context; the component is on when it is true.
    pub when: String,
    /// The seed section its figures and shape come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_section: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<WorkloadMeta>,
    /// How its pods run (DESIGN.md, "Second round", "Hardened"): the Pod Security
    /// Standards `restricted` level unless it declares an exception, and why.
    #[serde(default)]
    pub pod_security: PodSecurityMeta,
    /// What its RBAC needs beyond least privilege, and why.
    #[serde(default, skip_serializing_if = "RbacMeta::is_empty")]
    pub rbac: RbacMeta,
    /// For a component taken from an upstream project: the release and files its facts
    /// come from, and the probes that project's manifest gives each container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<UpstreamMeta>,
    /// For a workload with no upstream manifest: why it has no probes (a wrong liveness
    /// probe restarts a healthy pod, so none is guessed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_probes: Option<String>,
    /// Anything chosen without a source, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// `podSecurity:` in component.yaml: the Pod Security Standards level a component's pods
/// meet and what the program needs of its container (`transform::pod_security` applies it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodSecurityMeta {
    /// The level the pods meet; `restricted` unless the component needs the host.
    #[serde(default)]
    pub level: Level,
    /// The controls of the standard the pods may fail, each a need of the program. The level
    /// must be the one they leave.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub allows: BTreeSet<Control>,
    /// Why the program needs those exceptions; required with any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// The user the containers run as; [`DEFAULT_USER`] unless the image's own is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<u32>,
    /// Whether the program writes nothing to its root filesystem, so it can be read-only.
    #[serde(default)]
    pub read_only_root_filesystem: bool,
    /// Whether the program calls the API server; without, the pods get no token.
    #[serde(default = "yes")]
    pub calls_api_server: bool,
}

/// The user of containers whose image's own user is not public: `nobody`, which owns no
/// file of any image, so a container that needs to write somewhere says so by failing.
pub const DEFAULT_USER: u32 = 65534;

fn yes() -> bool {
    true
}

impl Default for PodSecurityMeta {
    fn default() -> Self {
        PodSecurityMeta {
            level: Level::Restricted,
            allows: BTreeSet::new(),
            why: None,
            run_as_user: None,
            read_only_root_filesystem: false,
            calls_api_server: true,
        }
    }
}

impl PodSecurityMeta {
    /// Whether the pods may fail `control` (named, or implied by a named one).
    pub fn allows(&self, control: Control) -> bool {
        self.allows.contains(&control) || self.allows.iter().any(|a| a.implies() == Some(control))
    }

    /// What is wrong with the declaration, if anything.
    fn problem(&self) -> Option<String> {
        let implied = crate::soundness::pod_security::level_of(&self.allows);
        if implied != self.level {
            return Some(format!(
                "podSecurity: level `{}` does not match `allows` ({}), which leave `{implied}`",
                self.level,
                if self.allows.is_empty() {
                    "none".to_owned()
                } else {
                    self.allows
                        .iter()
                        .map(|c| c.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ));
        }
        if !self.allows.is_empty() && self.why.as_deref().is_none_or(str::is_empty) {
            return Some("podSecurity: `why` is required with `allows`".into());
        }
        if self.run_as_user == Some(0) && !self.allows(Control::RunAsUser) {
            return Some("podSecurity: runAsUser 0 needs `allows: [runAsUser]`".into());
        }
        None
    }
}

/// `rbac:` in component.yaml: grants beyond least privilege the component's job needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RbacMeta {
    /// Why it reads Secrets in every namespace, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_wide_secrets: Option<String>,
}

impl RbacMeta {
    pub fn is_empty(&self) -> bool {
        self.cluster_wide_secrets.is_none()
    }
}

/// `upstream:` in component.yaml: where a component taken from another project comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpstreamMeta {
    /// The GitHub repository, e.g. `volcano-sh/volcano`.
    pub project: String,
    /// The release (tag) the facts are from.
    pub release: String,
    /// The files of that release the facts are from.
    pub files: Vec<String>,
    /// Per container (the rendered name): the probes upstream's manifest gives it. A
    /// container not listed has none upstream.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub probes: BTreeMap<String, ProbesMeta>,
}

/// The probes of one container, each the handler only (`{httpGet: {path, port}}`): the
/// timings are tuning, the handler is what must match the program.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbesMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<serde_json::Value>,
}

/// Where a component folder came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    BuiltIn,
    User,
}

impl Origin {
    /// Who must fix a broken component: amlc's developers, or the user.
    pub fn blame(self) -> &'static str {
        match self {
            Origin::BuiltIn => "this is a bug in amlc's built-in components; please report it",
            Origin::User => "this is a problem in your --components folder, not in amlc",
        }
    }
}

/// A text file of a component folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// The path as shown to the user (`components/gateway/templates/gateway.yaml.j2`).
    pub path: String,
    /// Borrowed from the binary for the built-in components: never copied.
    pub text: Cow<'static, str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub name: String,
    pub meta: ComponentMeta,
    pub origin: Origin,
    /// Templates (`templates/*.yaml.j2`), in path order.
    pub templates: Vec<File>,
    /// CRDs (`crds/*.yaml`), plain YAML, in path order.
    pub crds: Vec<File>,
    /// The CRDs' documents (same order as `crds`): see [`Component::crd_objects`].
    crd_objects: ParsedCrds,
    /// The CRDs as builds output them, per extension name (`crds`): a fleet build shares
    /// them between its configs instead of transforming and emitting them again.
    pub built_crds: Memo<crate::crds::Built>,
    /// Parsed resources of the workload, when there is one.
    pub resources: Option<Resources>,
    /// Parsed per-container resources (empty: the whole pod's go on its one container).
    pub container_resources: BTreeMap<String, Resources>,
}

/// Results derived from a component once and shared by every build of the process, by key.
/// Bounded: past [`Memo::ENTRIES`] keys, results are computed and not kept. A copy of a
/// component starts empty, and two components compare equal whatever they have memoised.
pub struct Memo<V>(std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<V>>>);

impl<V> Memo<V> {
    pub const ENTRIES: usize = 8;

    /// Whether nothing has been memoised yet.
    pub fn is_empty(&self) -> bool {
        self.0.lock().map_or(true, |m| m.is_empty())
    }

    /// The value for `key`, computed by `make` the first time.
    pub fn get_or_insert_with(&self, key: &str, make: impl FnOnce() -> V) -> std::sync::Arc<V> {
        if let Some(hit) = self.0.lock().ok().and_then(|m| m.get(key).cloned()) {
            return hit;
        }
        // Computed outside the lock: two threads may both compute a missing value, and
        // give the same one, which beats holding every other config up.
        let value = std::sync::Arc::new(make());
        if let Ok(mut m) = self.0.lock()
            && m.len() < Self::ENTRIES
        {
            m.entry(key.to_owned())
                .or_insert_with(|| std::sync::Arc::clone(&value));
        }
        value
    }
}

impl<V> Default for Memo<V> {
    fn default() -> Self {
        Memo(std::sync::Mutex::default())
    }
}

impl<V> Clone for Memo<V> {
    fn clone(&self) -> Self {
        Memo::default()
    }
}

impl<V> PartialEq for Memo<V> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<V> std::fmt::Debug for Memo<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo(..)")
    }
}

/// A component's CRD documents, parsed once. Two components with the same CRD files
/// compare equal whether or not theirs have been parsed yet.
#[derive(Debug, Clone, Default)]
struct ParsedCrds(std::sync::OnceLock<Vec<serde_json::Value>>);

impl PartialEq for ParsedCrds {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Component {
    /// The CRDs' documents. A user's are parsed (and checked) when the catalog loads, so
    /// their errors are reported then; built-in ones, read from the JSON `build.rs` made of
    /// them, on first use, so a build parses them while its templates render rather than
    /// before anything else can start (tests check every one as loading checks a user's).
    pub fn crd_objects(&self) -> &[serde_json::Value] {
        self.crd_objects.0.get_or_init(|| self.parse_crds())
    }

    /// The CRDs' documents as values of the caller's own: copies of the parsed ones when
    /// they are kept, else parsed afresh and not kept. A build makes its CRDs once per
    /// extension name (`crds`), so keeping a parsed copy beside them is, for one build,
    /// only memory and the time to copy it.
    pub fn crd_values(&self) -> Vec<serde_json::Value> {
        match self.crd_objects.0.get() {
            Some(parsed) => parsed.clone(),
            None => self.parse_crds(),
        }
    }

    fn parse_crds(&self) -> Vec<serde_json::Value> {
        // In parallel: one component holds most of the CRDs' bytes.
        self.crds
            .par_iter()
            .map(|f| {
                // Only built-in CRDs come here (a user's are all parsed when loading, or the
                // catalog does not load): from the JSON build.rs wrote of a value it parsed,
                // or from YAML that parsed when loading.
                read_yaml(self.origin, &f.path, &f.text)
                    .expect("a built-in CRD parses (checked when loading and by a test)")
            })
            .collect()
    }
}

/// Why a document cannot be a component's CRD, if it cannot. Checked for every CRD: the
/// build shares a CRD between configs on the grounds that only its labels change
/// (`crds`), which holds for this kind and group alone.
fn not_a_crd(v: &serde_json::Value) -> Option<&'static str> {
    let is_crd = crate::object::kind(v) == "CustomResourceDefinition"
        && crate::object::group(v) == "apiextensions.k8s.io"
        && !crate::object::name(v).is_empty();
    (!is_crd).then_some(
        "is not a CustomResourceDefinition (apiVersion apiextensions.k8s.io/v1, with metadata.name)",
    )
}

/// Every component, by folder name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// Unlike any other catalog's of the process (`soundness::hardening` keeps what it
    /// found clean under it).
    id: u64,
    components: BTreeMap<String, Component>,
    /// Every component's templates, compiled once when the catalog loads and shared by
    /// every build of the process (a fleet build renders hundreds of configs from it).
    templates: Templates,
}

/// The compiled templates of a catalog, by template path.
#[derive(Clone)]
pub struct Templates(minijinja::Environment<'static>);

impl Default for Templates {
    fn default() -> Self {
        Templates(template_environment())
    }
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates(..)")
    }
}

impl PartialEq for Templates {
    /// The templates are compiled from the components' files, so two catalogs with the
    /// same components have the same templates.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Templates {
    /// The compiled environment templates render in.
    pub fn environment(&self) -> &minijinja::Environment<'static> {
        &self.0
    }
}

/// The environment every component template is compiled into and rendered by.
fn template_environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    // A misspelt variable is an error, not an empty string in the manifests.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    // Output is YAML text; templates quote with `tojson` where they need to, so nothing is
    // escaped behind their back (minijinja would JSON-escape `.yaml` files otherwise).
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    // `image("name")`: an extension image of this version, for pods with several images.
    // It reads the render context rather than capturing a config, so one compiled
    // environment serves every config.
    env.add_function("image", |state: &minijinja::State, name: &str| {
        let field = |key: &str| {
            state.lookup(key).map(|v| v.to_string()).ok_or_else(|| {
                minijinja::Error::new(
                    minijinja::ErrorKind::UndefinedError,
                    format!("image() needs `{key}` in the context"),
                )
            })
        };
        Ok(format!(
            "{}/{name}:{}",
            field("imageRepository")?,
            field("version")?
        ))
    });
    env
}

const METADATA: &str = "component.yaml";
const TEMPLATE_SUFFIX: &str = ".yaml.j2";
const WORKLOAD_KINDS: [&str; 4] = ["Deployment", "DaemonSet", "StatefulSet", "Job"];

/// A catalog id no catalog of the process has had.
fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Catalog {
    /// The built-in components compiled into amlc.
    pub fn embedded() -> Result<Catalog, Vec<Diagnostic>> {
        let files = crate::embedded::under("components")
            .filter_map(|(p, t)| Some((p.strip_prefix("components/")?, Cow::Borrowed(t))));
        Catalog::load("components", files, Origin::BuiltIn)
    }

    /// Loads component folders from `(path relative to the components root, text)`
    /// pairs. `root` is how the root is shown in errors. Every problem is reported at once.
    pub fn from_files(
        root: &str,
        files: &[(String, String)],
        origin: Origin,
    ) -> Result<Catalog, Vec<Diagnostic>> {
        let files = files
            .iter()
            .map(|(rel, text)| (rel.as_str(), Cow::Owned(text.clone())));
        Catalog::load(root, files, origin)
    }

    fn load<'a>(
        root: &str,
        files: impl Iterator<Item = (&'a str, Cow<'static, str>)>,
        origin: Origin,
    ) -> Result<Catalog, Vec<Diagnostic>> {
        let root = root.trim_end_matches('/');
        let mut folders: BTreeMap<&str, Vec<(&str, Cow<'static, str>)>> = BTreeMap::new();
        for (rel, text) in files {
            // Files at the root (a README) belong to no component.
            if let Some((folder, inner)) = rel.split_once('/') {
                folders.entry(folder).or_default().push((inner, text));
            }
        }
        let mut diagnostics = Vec::new();
        let mut components = BTreeMap::new();
        let mut env = template_environment();
        for (folder, mut inner) in folders {
            inner.sort();
            match load_component(root, folder, &inner, origin, &mut env) {
                Ok(c) => {
                    components.insert(folder.to_owned(), c);
                }
                Err(mut d) => diagnostics.append(&mut d),
            }
        }
        if origin == Origin::BuiltIn {
            // Built-in templates compile on first use, in the render's threads, and only
            // those of the components a config turns on (tests compile every one).
            let texts: HashMap<String, Cow<'static, str>> = components
                .values()
                .flat_map(|c: &Component| &c.templates)
                .map(|t| (t.path.clone(), t.text.clone()))
                .collect();
            env.set_loader(move |name| Ok(texts.get(name).map(|t| t.to_string())));
        }
        if diagnostics.is_empty() {
            Ok(Catalog {
                id: next_id(),
                components,
                templates: Templates(env),
            })
        } else {
            Err(diagnostics)
        }
    }

    /// The catalog with `user`'s folders added, replacing built-in folders of the same name.
    pub fn with_overrides(mut self, user: Catalog) -> Catalog {
        // The user's templates are named under their own root, so they join the compiled
        // set; replaced built-in folders' templates stay compiled but are never looked up.
        for c in user.components.values() {
            for t in &c.templates {
                // Already compiled once when `user` loaded, so this cannot fail.
                let _ = self
                    .templates
                    .0
                    .add_template_owned(t.path.clone(), t.text.to_string());
            }
        }
        self.components.extend(user.components);
        self.id = next_id();
        self
    }

    /// The catalog's id, which no other catalog of the process has.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The compiled templates of every component.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// Components in name order.
    pub fn components(&self) -> impl Iterator<Item = &Component> {
        self.components.values()
    }

    pub fn get(&self, name: &str) -> Option<&Component> {
        self.components.get(name)
    }
}

fn load_component(
    root: &str,
    folder: &str,
    files: &[(&str, Cow<'static, str>)],
    origin: Origin,
    compiled: &mut minijinja::Environment<'static>,
) -> Result<Component, Vec<Diagnostic>> {
    let path = |inner: &str| format!("{root}/{folder}/{inner}");
    let invalid = |code: &'static str, message: String| {
        Diagnostic::error(code, message).with_help(origin.blame())
    };
    let Some((_, meta_text)) = files.iter().find(|(p, _)| *p == METADATA) else {
        return Err(vec![invalid(
            "amlc::component::missing-metadata",
            format!("component folder {root}/{folder} has no {METADATA}"),
        )]);
    };
    let meta_source = Source::new(path(METADATA), meta_text.as_ref());
    let meta: ComponentMeta = read_yaml(origin, &meta_source.name, meta_text).map_err(|e| {
        let mut d = invalid(
            "amlc::component::invalid-metadata",
            format!("{}: {}", meta_source.name, yaml_message(&e)),
        );
        if let Some(loc) = e.location() {
            d = d.at(&meta_source, meta_source.span(loc.index(), 1), "here");
        } else {
            d = d.in_source(&meta_source);
        }
        vec![d]
    })?;

    let mut diagnostics = Vec::new();
    let mut problem = |message: String| {
        diagnostics.push(
            invalid(
                "amlc::component::invalid-metadata",
                format!("{}: {message}", meta_source.name),
            )
            .in_source(&meta_source),
        );
    };
    // Compiled into planning's tables, which use them for every config.
    if let Err(e) = crate::plan::compiled::expression(&meta.when) {
        problem(format!(
            "`when: {}` is not a valid expression: {e}",
            meta.when
        ));
    }
    if let Some(p) = meta.pod_security.problem() {
        problem(p);
    }
    let mut resources = None;
    let mut container_resources = BTreeMap::new();
    if let Some(w) = &meta.workload {
        if !WORKLOAD_KINDS.contains(&w.kind.as_str()) {
            problem(format!(
                "workload kind `{}` is not one of {}",
                w.kind,
                WORKLOAD_KINDS.join(", ")
            ));
        }
        if let Err(e) = crate::plan::compiled::template(&w.name) {
            problem(format!(
                "workload name `{}` is not a valid template: {e}",
                w.name
            ));
        }
        if let ReplicasMeta::Word(word) = &w.replicas
            && word != PER_NODE
        {
            problem(format!(
                "replicas `{word}` must be a number, `{PER_NODE}` or {{test: N, production: N}}"
            ));
        }
        match w.resources.parse() {
            Ok(pod) => {
                resources = Some(pod);
                let mut sum = Resources::default();
                for (name, r) in &w.containers {
                    match r.parse() {
                        Ok(r) => {
                            sum = sum + r;
                            container_resources.insert(name.clone(), r);
                        }
                        Err(e) => problem(format!("containers.{name}: {e}")),
                    }
                }
                if !w.containers.is_empty() && sum != pod {
                    problem(
                        "the containers' resources do not add up to the workload's resources"
                            .into(),
                    );
                }
            }
            Err(e) => problem(format!("resources: {e}")),
        }
    }

    let mut templates = Vec::new();
    let mut crds = Vec::new();
    let mut crd_objects = Vec::new();
    for (inner, text) in files {
        if let Some(file) = inner.strip_prefix("templates/") {
            if !file.ends_with(TEMPLATE_SUFFIX) || file.contains('/') {
                continue;
            }
            let f = File {
                path: path(inner),
                text: text.clone(),
            };
            // A user's templates compile now, so their mistakes are reported at load time.
            if origin == Origin::User
                && let Err(e) = compiled.add_template_owned(f.path.clone(), f.text.to_string())
            {
                diagnostics.push(template_diagnostic(&f, &e, origin));
            }
            templates.push(f);
        } else if let Some(file) = inner.strip_prefix("crds/") {
            if !(file.ends_with(".yaml") || file.ends_with(".yml")) || file.contains('/') {
                continue;
            }
            let f = File {
                path: path(inner),
                text: text.clone(),
            };
            // Built-in CRDs with a JSON twin are parsed on first use (`crd_objects`).
            if origin == Origin::BuiltIn && crate::embedded::yaml_as_json(&f.path).is_some() {
                crds.push(f);
                continue;
            }
            match read_yaml::<serde_json::Value>(origin, &f.path, &f.text) {
                Ok(v) => match not_a_crd(&v) {
                    None => {
                        crds.push(f);
                        crd_objects.push(v);
                    }
                    Some(why) => diagnostics.push(invalid(
                        "amlc::component::invalid-crd",
                        format!("{} {why}", f.path),
                    )),
                },
                Err(e) => diagnostics.push(invalid(
                    "amlc::component::invalid-crd",
                    format!("{}: {}", f.path, yaml_message(&e)),
                )),
            }
        }
    }
    if diagnostics.is_empty() {
        Ok(Component {
            name: folder.to_owned(),
            meta,
            origin,
            templates,
            crd_objects: ParsedCrds(if crd_objects.len() == crds.len() {
                std::sync::OnceLock::from(crd_objects)
            } else {
                std::sync::OnceLock::new()
            }),
            crds,
            built_crds: Memo::default(),
            resources,
            container_resources,
        })
    } else {
        Err(diagnostics)
    }
}

/// A data file of a component: built-in ones from the JSON `build.rs` made of them
/// (parsing their YAML on every run was most of a build's time), others from their YAML.
fn read_yaml<T: serde::de::DeserializeOwned>(
    origin: Origin,
    path: &str,
    text: &str,
) -> Result<T, serde_yaml_ng::Error> {
    match origin {
        Origin::BuiltIn => crate::embedded::read_yaml(path, text),
        Origin::User => serde_yaml_ng::from_str(text),
    }
}

/// A template error located with minijinja's own line information.
pub fn template_diagnostic(file: &File, e: &minijinja::Error, origin: Origin) -> Diagnostic {
    let source = Source::new(file.path.clone(), file.text.clone());
    let mut d = Diagnostic::error(
        "amlc::component::template",
        format!(
            "{}{}: {}",
            file.path,
            e.line().map(|l| format!(":{l}")).unwrap_or_default(),
            e.detail().unwrap_or(&e.kind().to_string())
        ),
    )
    .with_help(origin.blame());
    match e.line() {
        Some(line) => {
            let (offset, len) = line_range(&file.text, line);
            d = d.at(&source, source.span(offset, len), e.kind().to_string());
        }
        None => d = d.in_source(&source),
    }
    d
}

/// Byte offset and length of a 1-based line.
pub fn line_range(text: &str, line: usize) -> (usize, usize) {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return (offset, l.trim_end_matches('\n').len().max(1));
        }
        offset += l.len();
    }
    (text.len(), 0)
}

/// A YAML error's message without serde_yaml_ng's trailing location (we show our own).
pub fn yaml_message(e: &serde_yaml_ng::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
            .collect()
    }

    const META: &str = "description: d\nfeature: both\nwhen: \"true\"\n";

    #[test]
    fn built_in_components_load() {
        let catalog = Catalog::embedded().unwrap_or_else(|d| panic!("{d:#?}"));
        assert!(catalog.get("gateway").is_some());
    }

    /// Built-in templates compile on first use, not when loading: every one must compile,
    /// and a user's template error is still reported when loading.
    #[test]
    fn every_built_in_template_compiles() {
        let c = Catalog::embedded().unwrap();
        let env = c.templates().environment();
        let mut n = 0;
        for t in c.components().flat_map(|c| &c.templates) {
            if let Err(e) = env.get_template(&t.path) {
                panic!("{}: {e}", t.path);
            }
            n += 1;
        }
        assert!(n >= 20, "only {n} templates");
        let broken = Catalog::from_files(
            "mine",
            &[
                (
                    "x/component.yaml".into(),
                    "description: d\nfeature: both\nwhen: \"true\"\n".into(),
                ),
                ("x/templates/a.yaml.j2".into(), "{% if %}".into()),
            ],
            Origin::User,
        );
        assert!(broken.is_err());
    }

    /// Built-in CRDs are parsed on first use, not when loading: they must pass the checks
    /// loading gives a user's, and parse from their YAML to the same documents.
    #[test]
    fn built_in_crds_pass_the_loading_checks() {
        let catalog = Catalog::embedded().unwrap();
        let mut count = 0;
        for c in catalog.components() {
            assert_eq!(c.crd_objects().len(), c.crds.len(), "{}", c.name);
            for (f, v) in c.crds.iter().zip(c.crd_objects()) {
                assert_eq!(not_a_crd(v), None, "{}", f.path);
                let yaml: serde_json::Value = serde_yaml_ng::from_str(&f.text).unwrap();
                assert_eq!(*v, yaml, "{}", f.path);
                count += 1;
            }
        }
        assert_eq!(count, 21);
    }

    /// Every built-in workload says where its probes come from: an upstream release, or
    /// why it has none (DESIGN.md, "Second round", "Hardened").
    #[test]
    fn every_built_in_workload_states_its_probe_source() {
        let catalog = Catalog::embedded().unwrap();
        for c in catalog.components() {
            let m = &c.meta;
            match (&m.workload, &m.upstream, &m.no_probes) {
                (Some(_), Some(u), None) => {
                    assert!(!u.files.is_empty(), "{}: upstream files", c.name);
                    assert!(!u.release.is_empty(), "{}: upstream release", c.name);
                }
                (Some(_), None, Some(why)) => assert!(why.len() > 20, "{}", c.name),
                (None, None, None) => {}
                _ => panic!(
                    "{}: a workload needs exactly one of upstream, noProbes",
                    c.name
                ),
            }
        }
    }

    #[test]
    fn a_pod_security_exception_must_match_its_level_and_say_why() {
        let meta = |ps: &str| {
            Catalog::from_files(
                "mine",
                &files(&[("x/component.yaml", &format!("{META}podSecurity: {ps}\n"))]),
                Origin::User,
            )
        };
        assert!(
            meta("{level: privileged, allows: [hostPath], why: reads the host's logs}").is_ok()
        );
        for bad in [
            "{allows: [hostPath], why: w}",
            "{level: baseline, allows: [hostPath], why: w}",
            "{level: baseline, allows: [runAsNonRoot]}",
            "{runAsUser: 0}",
            "{allows: [noSuchControl]}",
        ] {
            let err = meta(bad).unwrap_err();
            assert_eq!(err[0].code, "amlc::component::invalid-metadata", "{bad}");
        }
    }

    #[test]
    fn a_user_crd_is_checked_when_loading() {
        let crd = |text: &str| {
            Catalog::from_files(
                "mine",
                &files(&[("x/component.yaml", META), ("x/crds/a.yaml", text)]),
                Origin::User,
            )
        };
        let good = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: as.example.com}\n";
        assert_eq!(crd(good).unwrap().get("x").unwrap().crd_objects().len(), 1);
        for bad in [
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
            "apiVersion: monitoring.coreos.com/v1\nkind: CustomResourceDefinition\nmetadata: {name: a}\n",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n",
            "kind: [\n",
        ] {
            let err = crd(bad).unwrap_err();
            assert_eq!(err[0].code, "amlc::component::invalid-crd", "{bad}");
            assert!(
                err[0].message.starts_with("mine/x/crds/a.yaml"),
                "{}",
                err[0].message
            );
        }
    }

    #[test]
    fn a_folder_without_metadata_is_located() {
        let err = Catalog::from_files(
            "mine",
            &files(&[("x/templates/a.yaml.j2", "kind: A")]),
            Origin::User,
        )
        .unwrap_err();
        assert_eq!(err[0].code, "amlc::component::missing-metadata");
        assert!(err[0].message.contains("mine/x"));
        assert!(err[0].help.as_deref().unwrap().contains("--components"));
    }

    #[test]
    fn unknown_metadata_fields_point_at_their_line() {
        let err = Catalog::from_files(
            "mine",
            &files(&[(
                "x/component.yaml",
                "description: d\nfeature: both\nwhen: x\nbogus: 1\n",
            )]),
            Origin::User,
        )
        .unwrap_err();
        assert_eq!(err[0].primary.as_ref().unwrap().span.line, 4);
    }

    #[test]
    fn template_syntax_errors_name_file_and_line() {
        let err = Catalog::from_files(
            "mine",
            &files(&[
                ("x/component.yaml", META),
                ("x/templates/a.yaml.j2", "kind: A\nname: {{ oops \n"),
            ]),
            Origin::User,
        )
        .unwrap_err();
        assert_eq!(err[0].code, "amlc::component::template");
        assert!(err[0].message.starts_with("mine/x/templates/a.yaml.j2:2"));
    }

    #[test]
    fn container_split_must_add_up() {
        let meta = "description: d\nfeature: both\nwhen: \"true\"\nworkload:\n  kind: Deployment\n  name: x\n  replicas: 1\n  systemPod: true\n  image: x\n  resourcesFromSeed: false\n  resources: {requests: {cpu: 10m, memory: 10Mi}, limits: {cpu: 20m, memory: 20Mi}}\n  containers:\n    a: {requests: {cpu: 5m, memory: 10Mi}, limits: {cpu: 20m, memory: 20Mi}}\n";
        let err = Catalog::from_files("mine", &files(&[("x/component.yaml", meta)]), Origin::User)
            .unwrap_err();
        assert!(err[0].message.contains("do not add up"));
    }

    #[test]
    fn user_folders_override_built_in_ones() {
        let user = Catalog::from_files(
            "mine",
            &files(&[("gateway/component.yaml", META)]),
            Origin::User,
        )
        .unwrap();
        let merged = Catalog::embedded().unwrap().with_overrides(user);
        assert_eq!(merged.get("gateway").unwrap().origin, Origin::User);
        assert!(merged.get("gateway").unwrap().templates.is_empty());
    }
}
