//! Soundness: whether the rendered objects work together once applied, not only whether
//! each one is well formed (DESIGN.md, "Second round", "Deployable as rendered").
//!
//! Plain data in, findings out. The objects are walked as a graph ([`refs`]): pod ->
//! ServiceAccount, Secret, ConfigMap, PVC; binding -> role and subjects; Service -> pods and
//! ports; Ingress -> class, Service, TLS Secret; webhook -> Service; PVC <-> PV; custom
//! resource -> CRD; namespaced object -> Namespace. Every pod template is scheduled on the
//! node classes of an [`Environment`] ([`schedule`]). The environment says what exists
//! besides the render: for a build it comes from the config ([`environment`]); `amlc
//! doctor` can build one from a live cluster and reuse both walks.
//!
//! A reference to nothing is a bug in the render; one to an object the user must create
//! goes into the "create first" list, with how.

pub mod environment;
pub mod hardening;
pub mod pod_security;
pub mod rbac;
pub mod refs;
pub mod schedule;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::Value;

pub use environment::environment;
pub use schedule::{NodeClass, NodeTaint};

/// An object, by kind, namespace ("" when cluster-scoped) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        ObjectRef {
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    pub fn cluster(kind: &str, name: &str) -> Self {
        ObjectRef::new(kind, "", name)
    }

    /// The reference to an object value itself.
    pub fn of(v: &Value) -> Self {
        ObjectRef::new(
            crate::object::kind(v),
            crate::object::namespace(v).unwrap_or(""),
            crate::object::name(v),
        )
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// One edge of the graph: `from` names `to` at `field`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Reference {
    pub from: ObjectRef,
    /// Where in `from`, as a dotted path (`spec.template.spec.serviceAccountName`).
    pub field: String,
    pub to: ObjectRef,
    /// What must hold of the target beyond existing (a port, a selector match), if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} names {} at {}", self.from, self.to, self.field)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

/// An object the user must create before applying the render, and how.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Supplied {
    pub target: ObjectRef,
    /// A command or a step, e.g. `kubectl create namespace ml-jobs`.
    pub how: String,
}

/// What exists on the cluster besides the render.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// Objects the platform provides (namespaces, the Arc agent's service account, built-in
    /// roles). Every namespace that exists also has its `default` ServiceAccount.
    pub given: BTreeSet<ObjectRef>,
    /// Objects the user must create first, by what they are.
    pub supplied: BTreeMap<ObjectRef, String>,
    /// The kinds of node the pods may land on.
    pub nodes: Vec<NodeClass>,
}

/// A pod template that no node class admits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unschedulable {
    pub workload: ObjectRef,
    /// Why not, one line per node class.
    pub reasons: Vec<String>,
}

impl fmt::Display for Unschedulable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cannot be scheduled: {}",
            self.workload,
            self.reasons.join("; ")
        )
    }
}

/// What the walks found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Findings {
    /// References to objects nothing creates or provides.
    pub dangling: Vec<Reference>,
    /// Objects the user must create first, each once, in install order of their kind.
    pub create_first: Vec<Supplied>,
    pub unschedulable: Vec<Unschedulable>,
}

impl Findings {
    /// Whether the render holds together on its own (the user's objects aside).
    pub fn is_sound(&self) -> bool {
        self.dangling.is_empty() && self.unschedulable.is_empty()
    }
}

/// Walks the objects against an environment.
pub fn check<'a>(objects: impl IntoIterator<Item = &'a Value>, env: &Environment) -> Findings {
    let objects: Vec<&Value> = objects.into_iter().collect();
    let graph = refs::Graph::new(&objects);
    let mut dangling = Vec::new();
    let mut create_first: BTreeSet<(usize, Supplied)> = BTreeSet::new();
    graph.walk(&mut |edge| match graph.resolve(&edge.to, &edge.need, env) {
        refs::Resolution::Rendered | refs::Resolution::Given => {}
        refs::Resolution::Supplied(target, how) => {
            create_first.insert((
                crate::order::kind_rank(&target.kind),
                Supplied {
                    target,
                    how: how.to_owned(),
                },
            ));
        }
        refs::Resolution::Missing => dangling.push(edge.reference()),
    });
    dangling.sort();
    dangling.dedup();
    let unschedulable = schedule::pod_specs(&objects)
        .into_iter()
        .filter_map(|(workload, spec)| {
            schedule::admitting(spec, &env.nodes)
                .err()
                .map(|reasons| Unschedulable { workload, reasons })
        })
        .collect();
    Findings {
        dangling,
        create_first: create_first.into_iter().map(|(_, s)| s).collect(),
        unschedulable,
    }
}

/// The "create first" note, as printed on stderr before anything is applied.
pub fn create_first_note(items: &[Supplied]) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    let mut out = String::from(
        "note: create first: the render uses these objects but does not create them; apply them before it\n",
    );
    for s in items {
        out.push_str(&format!("  {}: {}\n", s.target, s.how));
    }
    if items
        .iter()
        .any(|s| s.target.namespace == crate::plan::NAMESPACE)
    {
        out.push_str(&format!(
            "  (namespace {0} is part of the render: create it first with kubectl create namespace {0})\n",
            crate::plan::NAMESPACE
        ));
    }
    Some(out)
}

#[cfg(test)]
mod tests;
