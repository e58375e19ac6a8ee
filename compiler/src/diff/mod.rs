//! `amlc diff`: compares rendered objects with another side (a previous render, a dump,
//! another config's render, or a live cluster) by the rules of DESIGN.md "Diff semantics".
//!
//! Stages: `load` / `live` read the other side into a [`Side`]; [`diff`] matches objects by
//! group, kind, namespace and name, `normalize`s both, hashes Secret data (`redact`, so
//! `stringData` and `data` agree), applies `ignore` rules, `compare`s, and renders one unified diff per object into a
//! [`Report`]; `output` prints the report as text, markdown or JSON. Only `load` and `live`
//! do I/O; nothing here renders a config (the caller passes a renderer to `load`).
//!
//! Report order: objects sorted by DESIGN.md's install order of kinds, then namespace,
//! name and API group, so the output is stable whatever order either side came in.

pub mod compare;
pub mod ignore;
pub mod live;
pub mod load;
pub mod normalize;
pub mod output;
pub mod quantity;
pub mod redact;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

pub use ignore::IgnoreSet;

/// The label every object amlc renders carries, naming the extension instance.
pub const INSTANCE_LABEL: &str = "amlc/instance";

/// Workload kinds whose pods are recreated when their pod template changes, with where
/// the template sits.
const POD_TEMPLATES: &[(&str, &str)] = &[
    ("Deployment", "/spec/template"),
    ("DaemonSet", "/spec/template"),
    ("StatefulSet", "/spec/template"),
    ("Job", "/spec/template"),
    ("CronJob", "/spec/jobTemplate/spec/template"),
];

/// How objects are matched across sides: API group (not version), kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectId {
    /// "" for the core group.
    pub group: String,
    pub kind: String,
    /// "" for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl ObjectId {
    /// The identity of an object; `None` when it has no kind, apiVersion or name.
    pub fn of(object: &Value) -> Option<ObjectId> {
        let api_version = object.get("apiVersion")?.as_str()?;
        let kind = object.get("kind")?.as_str()?;
        let meta = object.get("metadata")?;
        let name = meta.get("name")?.as_str()?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        Some(ObjectId {
            group: group_of(api_version).to_owned(),
            kind: kind.to_owned(),
            namespace: meta
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            name: name.to_owned(),
        })
    }

    /// `azureml/gateway`, or just the name for cluster-scoped objects.
    pub fn qualified_name(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }

    /// The report lists objects in install order (the same order `amlc build` writes).
    fn sort_key(&self) -> (usize, &str, &str, &str, &str) {
        let rank = crate::order::kind_rank(&self.kind);
        (rank, &self.kind, &self.namespace, &self.name, &self.group)
    }
}

/// The group of an apiVersion: `apps` of `apps/v1`, "" of `v1`.
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Where the other side came from; decides what counts as a removal and how it is labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// A previous render: a YAML stream or a `--target dir` folder.
    Render,
    /// Another amlc config, rendered.
    Config,
    /// A `kubectl get -o yaml` dump.
    Dump,
    /// A live cluster (`--cluster`).
    Live,
}

impl Origin {
    /// How the other side is named in diff headers.
    pub fn label(self) -> &'static str {
        match self {
            Origin::Render => "previous",
            Origin::Config => "config",
            Origin::Dump => "dump",
            Origin::Live => "live",
        }
    }
}

/// A part of the cluster the live side could not read (e.g. Forbidden): rendered objects
/// in it are not compared rather than reported as additions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unread {
    pub group: String,
    pub kind: String,
    /// "" for cluster-scoped kinds.
    pub namespace: String,
}

/// The other side of a diff.
#[derive(Debug, Clone)]
pub struct Side {
    pub origin: Origin,
    pub objects: Vec<Value>,
    /// Problems reading it that did not stop the diff (e.g. a Forbidden kind).
    pub warnings: Vec<String>,
    pub unread: Vec<Unread>,
}

impl Side {
    pub fn new(origin: Origin, objects: Vec<Value>) -> Side {
        Side {
            origin,
            objects,
            warnings: Vec::new(),
            unread: Vec::new(),
        }
    }
}

/// What the diff needs besides the two sides.
#[derive(Debug, Default)]
pub struct Options {
    /// This extension's name (`metadata.name` of the config): live or dumped objects
    /// labelled `amlc/instance: <instance>` that are no longer rendered are removals.
    pub instance: String,
    pub ignore: IgnoreSet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Add,
    Change,
    Remove,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Add => "add",
            Change::Change => "change",
            Change::Remove => "remove",
        }
    }
}

/// One object that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectDiff {
    pub change: Change,
    #[serde(flatten)]
    pub id: ObjectId,
    pub api_version: String,
    /// Whether its pods restart when applied (its pod template changed).
    pub restarts: bool,
    /// Differences hidden by ignore rules in this object.
    pub ignored: usize,
    /// JSON Pointers of the differing fields of a changed object (empty for additions and
    /// removals), in the rendered object's indexing.
    pub paths: Vec<String>,
    /// The unified diff of the normalised YAML, headers included, never coloured.
    pub diff: String,
}

/// The result of a diff; `output` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Objects that differ, in report order.
    pub objects: Vec<ObjectDiff>,
    pub unchanged: usize,
    /// Rendered objects that could not be compared (their kind was unreadable).
    pub not_compared: usize,
    /// Differences hidden by ignore rules, in objects that otherwise match or differ.
    pub ignored: usize,
    pub warnings: Vec<String>,
    pub other: Origin,
}

impl Report {
    pub fn count(&self, change: Change) -> usize {
        self.objects.iter().filter(|o| o.change == change).count()
    }

    /// `N to add, M to change, K to remove` (fixed wording; scripts read it).
    pub fn summary_line(&self) -> String {
        format!(
            "{} to add, {} to change, {} to remove",
            self.count(Change::Add),
            self.count(Change::Change),
            self.count(Change::Remove)
        )
    }

    pub fn has_differences(&self) -> bool {
        !self.objects.is_empty()
    }

    /// Workloads whose pods restart when the render is applied.
    pub fn restarts(&self) -> impl Iterator<Item = &ObjectDiff> {
        self.objects.iter().filter(|o| o.restarts)
    }
}

/// Compares rendered objects with the other side.
pub fn diff(rendered: &[Value], other: &Side, opts: &Options) -> Report {
    let mut warnings = other.warnings.clone();
    let rendered_by_id = index(rendered, "rendered", &mut warnings);
    let other_by_id = index(&other.objects, other.origin.label(), &mut warnings);

    let mut objects = Vec::new();
    let (mut unchanged, mut not_compared, mut ignored) = (0, 0, 0);
    for (id, r) in &rendered_by_id {
        let o = other_by_id.get(id).copied();
        if o.is_none() && is_unread(other, id) {
            not_compared += 1;
            continue;
        }
        let is_live = other.origin == Origin::Live || o.is_some_and(normalize::has_server_metadata);
        let (change, aligned, n_ignored) = compare_pair(id, Some(r), o, is_live, opts);
        ignored += n_ignored;
        match change {
            Some(change) => objects.push(object_diff(
                id,
                change,
                Some(r),
                o,
                aligned,
                n_ignored,
                other.origin,
            )),
            None => unchanged += 1,
        }
    }
    for (id, o) in &other_by_id {
        if rendered_by_id.contains_key(id) || !is_removal(other.origin, o, &opts.instance) {
            continue;
        }
        let (_, aligned, n_ignored) = compare_pair(id, None, Some(o), true, opts);
        objects.push(object_diff(
            id,
            Change::Remove,
            None,
            Some(o),
            aligned,
            n_ignored,
            other.origin,
        ));
    }
    objects.sort_by(|a, b| a.id.sort_key().cmp(&b.id.sort_key()));
    Report {
        objects,
        unchanged,
        not_compared,
        ignored,
        warnings,
        other: other.origin,
    }
}

/// Objects by identity; a repeated identity keeps the last one, with a warning.
fn index<'a>(
    objects: &'a [Value],
    side: &str,
    warnings: &mut Vec<String>,
) -> BTreeMap<ObjectId, &'a Value> {
    let mut map = BTreeMap::new();
    for (i, object) in objects.iter().enumerate() {
        match ObjectId::of(object) {
            Some(id) => {
                if map.insert(id.clone(), object).is_some() {
                    warnings.push(format!(
                        "{side} has {} {} twice; the last one is compared",
                        id.kind,
                        id.qualified_name()
                    ));
                }
            }
            None => warnings.push(format!(
                "{side} object {} has no apiVersion, kind or metadata.name and is skipped",
                i + 1
            )),
        }
    }
    map
}

fn is_unread(side: &Side, id: &ObjectId) -> bool {
    side.unread
        .iter()
        .any(|u| u.group == id.group && u.kind == id.kind && u.namespace == id.namespace)
}

/// An object only on the other side is a removal when that side is a render or a config,
/// or, live or dumped, when this amlc instance's label marks it as amlc's.
fn is_removal(origin: Origin, object: &Value, instance: &str) -> bool {
    match origin {
        Origin::Render | Origin::Config => true,
        Origin::Dump | Origin::Live => {
            object
                .pointer("/metadata/labels")
                .and_then(|l| l.get(INSTANCE_LABEL))
                .and_then(Value::as_str)
                == Some(instance)
        }
    }
}

/// Normalises, applies ignore rules, hashes Secret data and compares one pair. Returns the
/// change (if any), the aligned printable trees (Secret data masked) and the ignored count.
fn compare_pair(
    id: &ObjectId,
    rendered: Option<&Value>,
    other: Option<&Value>,
    is_live: bool,
    opts: &Options,
) -> (Option<Change>, compare::Aligned, usize) {
    let prepare = |v: Option<&Value>| {
        v.map_or(Value::Null, |v| {
            let mut n = normalize::normalize(v);
            redact::hash_secret_data(&mut n);
            n
        })
    };
    let mut r = prepare(rendered);
    let mut o = prepare(other);
    let n_ignored = opts.ignore.apply(id, &mut r, &mut o);
    let (change, mut aligned) = match (rendered.is_some(), other.is_some()) {
        (true, true) => {
            let a = compare::align(&r, &o, is_live);
            (
                if a.differences.is_empty() {
                    None
                } else {
                    Some(Change::Change)
                },
                a,
            )
        }
        (true, false) => (Some(Change::Add), aligned_one_side(r, Value::Null)),
        (false, _) => (Some(Change::Remove), aligned_one_side(Value::Null, o)),
    };
    if rendered.or(other).is_some_and(redact::is_secret) {
        redact::mask_secret_data(&mut aligned.rendered, &mut aligned.other);
    }
    (change, aligned, n_ignored)
}

fn aligned_one_side(rendered: Value, other: Value) -> compare::Aligned {
    compare::Aligned {
        rendered,
        other,
        differences: vec![String::new()],
    }
}

fn object_diff(
    id: &ObjectId,
    change: Change,
    rendered: Option<&Value>,
    other: Option<&Value>,
    aligned: compare::Aligned,
    ignored: usize,
    origin: Origin,
) -> ObjectDiff {
    let api_version = rendered
        .or(other)
        .and_then(|v| v.get("apiVersion"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let restarts = change == Change::Change
        && POD_TEMPLATES.iter().any(|(kind, template)| {
            *kind == id.kind
                && aligned
                    .differences
                    .iter()
                    .any(|p| p == template || p.starts_with(&format!("{template}/")))
        });
    let header = |side: &str, v: Option<&Value>| match v {
        Some(v) => format!(
            "{side} {} {} {}",
            v.get("apiVersion").and_then(Value::as_str).unwrap_or(""),
            id.kind,
            id.qualified_name()
        ),
        None => format!("{side} (absent) {} {}", id.kind, id.qualified_name()),
    };
    let diff = output::unified_diff(
        &aligned.other,
        &aligned.rendered,
        &header(origin.label(), other),
        &header("rendered", rendered),
    );
    let paths = if change == Change::Change {
        aligned.differences
    } else {
        Vec::new()
    };
    ObjectDiff {
        change,
        id: id.clone(),
        api_version,
        restarts,
        ignored,
        paths,
        diff,
    }
}

#[cfg(test)]
mod tests;
