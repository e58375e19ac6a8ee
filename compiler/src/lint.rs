//! Safety lints for the GitOps tools that read amlc's output (Flux, Argo CD), run on the
//! final objects. Pure: objects in, objects and warnings out; reads and prints nothing.
//!
//! - **Flux substitution.** A Flux `Kustomization` with `spec.postBuild` runs envsubst over
//!   every object it applies, so a rendered `${X}` (say, an NFS path or mount path a user
//!   wrote) would silently become the value of `X`, or the empty string. amlc annotates such
//!   an object with `kustomize.toolkit.fluxcd.io/substitute: disabled`, which makes Flux
//!   skip it, and warns, naming the object and every path that holds a `${`. It does not
//!   escape to `$${X}`: only Flux unescapes that, so `kubectl apply` and Argo CD would get
//!   a different value than the stream says.
//! - **Argo CD's tracking label.** Argo CD's default tracking writes
//!   `app.kubernetes.io/instance` on every object it manages, so a rendered value would be
//!   overwritten and show as drift forever. amlc's own transforms never set it (see
//!   `transform::labels`); a user component that does gets a warning.
//! - **Empty output** is not a lint but an error, raised by `build` through
//!   [`require_objects`]: Argo CD with pruning deletes everything an application owns when
//!   the generator prints nothing, and Flux with `prune: true` does the same.

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::manifest::Manifest;
use crate::object::{self, At};

/// Flux skips post-build substitution for objects carrying this annotation with value
/// [`SUBSTITUTE_DISABLED`].
pub const SUBSTITUTE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/substitute";
pub const SUBSTITUTE_DISABLED: &str = "disabled";

/// The label Argo CD's default (label) resource tracking owns.
pub const ARGOCD_TRACKING_LABEL: &str = "app.kubernetes.io/instance";

/// Paths listed per object in a warning before the rest are counted.
const PATHS_SHOWN: usize = 5;

/// Applies every lint to one object by walking it: annotates it where Flux must not
/// substitute, and returns its warnings. Builds lint through [`finish`], which reads the
/// written document instead; the tests hold the two to the same answers.
#[cfg(test)]
fn apply(v: &mut Value) -> Vec<Diagnostic> {
    disable_flux_substitution(v)
        .into_iter()
        .chain(argocd_tracking_label(v))
        .collect()
}

/// An object as a build outputs it: written as it will be output, then linted (last, so
/// the lints see every value exactly as it is written) by reading that document; the few
/// objects the lints change are written again on first use. Each lint looks at the object
/// alone, so an object shared by many builds (a CRD) is linted once.
pub fn finish(mut value: Value) -> (Manifest, Vec<Diagnostic>) {
    let document = crate::emit::yaml_document(&value);
    let (warnings, changed) = apply_emitted(&mut value, &document);
    let manifest = if changed {
        Manifest::new(value)
    } else {
        Manifest::with_document(value, document.into())
    };
    (manifest, warnings)
}

/// [`apply`] for an object already written as `document`, the emitter's document of it:
/// the same warnings, and whether the lints changed the object (then its document must be
/// written again).
///
/// The emitter writes every key and string plain, JSON-quoted or as a literal block broken
/// only at its own newlines, and escapes neither `$` nor `{` (`emit::write_string`): an
/// object holding `${` shows it in its document. So one byte scan of the document stands
/// in for a walk of the object, and only an object whose document shows `${` is walked.
fn apply_emitted(v: &mut Value, document: &str) -> (Vec<Diagnostic>, bool) {
    let flux = if holds_substitution(document) {
        disable_flux_substitution(v)
    } else {
        None
    };
    let changed = flux.is_some();
    let warnings = flux.into_iter().chain(argocd_tracking_label(v)).collect();
    (warnings, changed)
}

/// Whether [`finish`] would find nothing in an object written as `document` and leave it
/// as it is; `shape` is the object or any part of it holding its metadata.
pub fn finds_nothing(shape: &Value, document: &str) -> bool {
    !holds_substitution(document) && argocd_tracking_label(shape).is_none()
}

/// The error for a build that renders nothing; None when there are objects.
pub fn require_objects(objects: &[Manifest]) -> Option<Diagnostic> {
    objects.is_empty().then(|| {
        Diagnostic::error(
            "amlc::build::empty-output",
            "this config renders no objects; amlc never writes an empty stream",
        )
        .with_help(
            "an empty render makes Argo CD (with prune) or Flux (prune: true) delete the whole \
             extension; check the `when` conditions of your --components overrides",
        )
    })
}

/// `Kind namespace/name` (or `Kind name` when cluster-scoped), for messages.
fn describe(v: &Value) -> String {
    match object::namespace(v) {
        Some(ns) => format!("{} {ns}/{}", object::kind(v), object::name(v)),
        None => format!("{} {}", object::kind(v), object::name(v)),
    }
}

/// Annotates an object holding `${` anywhere (keys or string values) and returns the
/// warning; leaves it alone otherwise.
fn disable_flux_substitution(v: &mut Value) -> Option<Diagnostic> {
    // Almost no object holds `${`: check without building paths first (this runs on every
    // object of every build, CRDs included).
    if !has_substitution(v) {
        return None;
    }
    let mut paths = Vec::new();
    find_substitutions(v, &mut String::new(), &mut paths);
    // The annotation amlc adds holds no `${`, so a second run finds the same paths.
    if paths.is_empty() {
        return None;
    }
    let annotations = object::object_entry(v, "metadata")
        .map(|meta| {
            meta.entry("annotations")
                .or_insert_with(|| Value::Object(serde_json::Map::new()))
        })
        .and_then(|a| {
            if a.is_null() {
                *a = Value::Object(serde_json::Map::new());
            }
            a.as_object_mut()
        });
    if let Some(annotations) = annotations {
        annotations.insert(
            SUBSTITUTE_ANNOTATION.to_owned(),
            Value::String(SUBSTITUTE_DISABLED.to_owned()),
        );
    }
    let mut shown = paths
        .iter()
        .take(PATHS_SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > PATHS_SHOWN {
        shown.push_str(&format!(" and {} more", paths.len() - PATHS_SHOWN));
    }
    Some(
        Diagnostic::warning(
            "amlc::lint::flux-substitution",
            format!(
                "{} holds `${{` at {shown}; Flux post-build substitution would rewrite it, so amlc annotated it {SUBSTITUTE_ANNOTATION}: {SUBSTITUTE_DISABLED}",
                describe(v)
            ),
        )
        .with_help(
            "if the `${` is meant for Flux, this annotation stops it; if not, nothing to do (other tools apply the value as written)",
        ),
    )
}

/// Whether any key or string value holds `${`; allocates nothing.
fn has_substitution(v: &Value) -> bool {
    match v {
        Value::String(s) => holds_substitution(s),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| holds_substitution(k) || has_substitution(v)),
        Value::Array(items) => items.iter().any(has_substitution),
        _ => false,
    }
}

/// `s.contains("${")`, faster: `$` is rare, and looking for one byte is a vectorised
/// scan where looking for two runs a general substring search.
fn holds_substitution(s: &str) -> bool {
    s.as_bytes().contains(&b'$') && s.contains("${")
}

/// JSON Pointers (RFC 6901) of every key or string value containing `${`, in key order.
fn find_substitutions(v: &Value, path: &mut String, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.contains("${") => out.push(path.clone()),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for k in keys {
                let len = path.len();
                path.push('/');
                path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                if k.contains("${") {
                    out.push(path.clone());
                }
                find_substitutions(&map[k], path, out);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("/{i}"));
                find_substitutions(item, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// A warning when the object's own labels set Argo CD's tracking label.
fn argocd_tracking_label(v: &Value) -> Option<Diagnostic> {
    v.at("/metadata/labels")
        .and_then(Value::as_object)
        .filter(|labels| labels.contains_key(ARGOCD_TRACKING_LABEL))?;
    Some(
        Diagnostic::warning(
            "amlc::lint::argocd-tracking-label",
            format!(
                "{} sets the label {ARGOCD_TRACKING_LABEL}, which Argo CD's resource tracking overwrites",
                describe(v)
            ),
        )
        .with_help(
            "remove it from the component template; amlc marks its objects with amlc/instance",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(yaml: &str) -> Vec<Value> {
        crate::render::parse_documents(yaml).unwrap()
    }

    /// (case, YAML in, YAML out, warning codes): one row per behaviour.
    const ROWS: &[(&str, &str, &str, &[&str])] = &[
        (
            "plain_objects_are_untouched",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: azureml}\ndata: {x: $HOME, y: '{a}'}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: azureml}\ndata: {x: $HOME, y: '{a}'}\n",
            &[],
        ),
        (
            "a_dollar_brace_value_disables_substitution",
            "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv}\nspec: {nfs: {path: '/share/${env}', server: s}}\n",
            "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv, annotations: {kustomize.toolkit.fluxcd.io/substitute: disabled}}\nspec: {nfs: {path: '/share/${env}', server: s}}\n",
            &["amlc::lint::flux-substitution"],
        ),
        (
            "existing_annotations_are_kept",
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c, namespace: d, annotations: {ml.azure.com/mountpath: '/mnt/${USER}'}}\n",
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c, namespace: d, annotations: {ml.azure.com/mountpath: '/mnt/${USER}', kustomize.toolkit.fluxcd.io/substitute: disabled}}\n",
            &["amlc::lint::flux-substitution"],
        ),
        (
            "keys_and_list_items_count",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, annotations: null}\ndata: {'${k}': v}\nlist: [a, 'b${c}']\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, annotations: {kustomize.toolkit.fluxcd.io/substitute: disabled}}\ndata: {'${k}': v}\nlist: [a, 'b${c}']\n",
            &["amlc::lint::flux-substitution"],
        ),
        (
            "argocd_tracking_label_is_warned_about_and_kept",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {app.kubernetes.io/instance: x}}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {app.kubernetes.io/instance: x}}\n",
            &["amlc::lint::argocd-tracking-label"],
        ),
    ];

    /// Lints every document of a stream, as a build does.
    fn lint(mut objects: Vec<Value>) -> (Vec<Value>, Vec<Diagnostic>) {
        let warnings = objects.iter_mut().flat_map(apply).collect();
        (objects, warnings)
    }

    #[test]
    fn lint_table() {
        for (case, input, output, codes) in ROWS {
            let (objects, warnings) = lint(docs(input));
            assert_eq!(objects, docs(output), "{case}");
            let got: Vec<&str> = warnings.iter().map(|w| w.code).collect();
            assert_eq!(got, *codes, "{case}");
            assert!(warnings.iter().all(|w| !w.is_error()), "{case}");
            // Idempotent: linting the output changes nothing more.
            assert_eq!(lint(objects.clone()).0, objects, "{case}");
        }
    }

    /// Linting an emitted object answers as linting the object: the same warnings and the
    /// same object, for every row and for `${` in keys, list items and literal blocks.
    #[test]
    fn linting_the_emitted_document_is_linting_the_object() {
        let extra = [
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {'${k}': v}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {script: \"line one\\n  echo ${HOME}\\n\"}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {script: \"a$\\n{b}\\n\"}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {app.kubernetes.io/instance: x}}\nl: [a, '${b}']\n",
        ];
        for input in ROWS.iter().map(|r| r.1).chain(extra) {
            for object in docs(input) {
                let mut walked = object.clone();
                let want = apply(&mut walked);
                let mut scanned = object.clone();
                let document = crate::emit::yaml_document(&object);
                let (got, changed) = apply_emitted(&mut scanned, &document);
                assert_eq!(scanned, walked, "{input}");
                assert_eq!(changed, walked != object, "{input}");
                let codes =
                    |w: &[Diagnostic]| w.iter().map(|d| d.message.clone()).collect::<Vec<_>>();
                assert_eq!(codes(&got), codes(&want), "{input}");
            }
        }
    }

    #[test]
    fn the_warning_names_the_object_and_the_paths() {
        let (_, warnings) = lint(docs(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c, namespace: d, annotations: {ml.azure.com/mountpath: '/mnt/${USER}'}}\n",
        ));
        assert_eq!(
            warnings[0].message,
            "PersistentVolumeClaim d/c holds `${` at /metadata/annotations/ml.azure.com~1mountpath; Flux post-build substitution would rewrite it, so amlc annotated it kustomize.toolkit.fluxcd.io/substitute: disabled"
        );
    }

    #[test]
    fn many_paths_are_counted_not_listed() {
        let list: Vec<String> = (0..8).map(|i| format!("'${{v{i}}}'")).collect();
        let (_, warnings) = lint(docs(&format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\nl: [{}]\n",
            list.join(", ")
        )));
        assert!(
            warnings[0].message.contains("/l/4 and 3 more"),
            "{}",
            warnings[0].message
        );
    }

    #[test]
    fn the_fast_check_agrees_with_contains() {
        for s in [
            "", "$", "{", "a$", "$a{", "$ {", "${", "$${x}", "x$y${z}", "€${", "$€{",
        ] {
            assert_eq!(holds_substitution(s), s.contains("${"), "{s:?}");
        }
    }

    #[test]
    fn only_an_empty_render_is_an_error() {
        assert!(require_objects(&[]).is_some_and(|d| d.is_error()));
        let one: Vec<Manifest> = docs("kind: A\n").into_iter().map(Manifest::new).collect();
        assert!(require_objects(&one).is_none());
    }
}
