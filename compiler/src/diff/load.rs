//! Reads the other side of `amlc diff --against PATH`: a YAML stream (a previous render),
//! a `--target dir` folder (the files its `kustomization.yaml` lists, else every `*.yaml`
//! and `*.yml` file in it, not descending into subfolders), a `kubectl get -o yaml|json`
//! dump (a `kind: List` or a stream), or another amlc config, which the caller's renderer
//! turns into objects.
//!
//! It reads files and nothing else; it does not render, and it does not compare.
//! Errors are invalid input (exit 2) and never quote file content, which may hold secrets.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::{Origin, Side, normalize};
use crate::diagnostic::Diagnostic;

/// Renders an amlc config file into objects (the CLI passes amlc's renderer).
pub type Renderer<'a> = &'a dyn Fn(&Path) -> Result<Vec<Value>, Vec<Diagnostic>>;

/// The config `apiVersion` that marks a file as an amlc config rather than manifests.
pub const CONFIG_API_VERSION: &str = "amlc/v1";

const KUSTOMIZATION_FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Reads `--against PATH` into a side.
pub fn load_against(path: &Path, render: Renderer<'_>) -> Result<Side, Vec<Diagnostic>> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| {
        vec![
            Diagnostic::error(
                "amlc::diff::against-unreadable",
                format!("--against {shown}: {}", reason(&e)),
            )
            .with_help("pass a previous render (file or --target dir folder), a kubectl dump, or an amlc config"),
        ]
    })?;
    let mut warnings = Vec::new();
    let documents = if meta.is_dir() {
        read_folder(path, &mut warnings, 0)?
    } else {
        let docs = read_documents(path)?;
        if docs.iter().any(is_config) {
            if docs.len() != 1 {
                return Err(vec![
                    Diagnostic::error(
                        "amlc::diff::against-mixed",
                        format!("--against {shown} holds an amlc config and other documents"),
                    )
                    .with_help("pass the amlc config alone, or a render of it"),
                ]);
            }
            let objects = render(path)?;
            return Ok(Side::new(Origin::Config, objects));
        }
        docs
    };
    let mut is_dump = false;
    let mut objects = Vec::new();
    for (i, doc) in documents.into_iter().enumerate() {
        let items = match list_items(doc) {
            Ok(items) => {
                is_dump = true;
                items
            }
            Err(doc) => vec![doc],
        };
        for item in items {
            if super::ObjectId::of(&item).is_none() {
                return Err(vec![Diagnostic::error(
                    "amlc::diff::not-an-object",
                    format!(
                        "--against {shown}: document {} is not a Kubernetes object (it needs apiVersion, kind and metadata.name)",
                        i + 1
                    ),
                )]);
            }
            objects.push(item);
        }
    }
    // Objects read from a cluster carry server metadata; a stream of them is a dump.
    is_dump |= objects.iter().any(normalize::has_server_metadata);
    let mut side = Side::new(
        if is_dump {
            Origin::Dump
        } else {
            Origin::Render
        },
        objects,
    );
    side.warnings = warnings;
    Ok(side)
}

fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            s.split(" (os error").next().unwrap_or(&s).to_owned()
        }
    }
}

fn is_config(doc: &Value) -> bool {
    doc.get("apiVersion").and_then(Value::as_str) == Some(CONFIG_API_VERSION)
}

/// The items of a `kind: List` (or a typed list such as `DeploymentList`, whose items
/// lack apiVersion and kind, filled in from the list); the document back if it is none.
fn list_items(doc: Value) -> Result<Vec<Value>, Value> {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    if !kind.ends_with("List") || !doc.get("items").is_some_and(Value::is_array) {
        return Err(doc);
    }
    let item_kind = kind.strip_suffix("List").unwrap_or("").to_owned();
    let api_version = doc.get("apiVersion").cloned();
    let Value::Object(mut map) = doc else {
        return Err(Value::Null);
    };
    let Some(Value::Array(items)) = map.remove("items") else {
        return Ok(Vec::new());
    };
    Ok(items
        .into_iter()
        .map(|mut item| {
            if let (Value::Object(m), false) = (&mut item, item_kind.is_empty()) {
                m.entry("kind")
                    .or_insert_with(|| Value::String(item_kind.clone()));
                if let Some(av) = &api_version {
                    m.entry("apiVersion").or_insert_with(|| av.clone());
                }
            }
            item
        })
        .collect())
}

/// The documents of one file (YAML stream, or JSON), empty documents left out.
fn read_documents(path: &Path) -> Result<Vec<Value>, Vec<Diagnostic>> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        vec![Diagnostic::error(
            "amlc::diff::against-unreadable",
            format!("cannot read {shown}: {}", reason(&e)),
        )]
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        vec![Diagnostic::error(
            "amlc::diff::against-not-text",
            format!("{shown} is not UTF-8 text"),
        )]
    })?;
    parse_documents(&text).map_err(|e| {
        vec![Diagnostic::error(
            "amlc::diff::against-unparsable",
            format!("{shown} is not YAML or JSON: {e}"),
        )]
    })
}

/// Parses a YAML stream or a JSON text (one or several concatenated values) into its
/// non-empty documents.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let docs: Vec<Value> = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        serde_json::Deserializer::from_str(trimmed)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .map_err(|e| json_reason(&e))?
    } else {
        let mut docs = Vec::new();
        for doc in serde_yaml_ng::Deserializer::from_str(trimmed) {
            docs.push(Value::deserialize(doc).map_err(|e| yaml_reason(&e))?);
        }
        docs
    };
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

// Parser messages carry a position and, for some errors, the offending value; keep only
// the kind of error and its position so no secret from a dump can leak.
fn json_reason(e: &serde_json::Error) -> String {
    format!("invalid JSON at line {} column {}", e.line(), e.column())
}

fn yaml_reason(e: &serde_yaml_ng::Error) -> String {
    match e.location() {
        Some(l) => format!("invalid YAML at line {} column {}", l.line(), l.column()),
        None => "invalid YAML".into(),
    }
}

/// Nested kustomizations deeper than this are taken for a cycle.
const MAX_DEPTH: usize = 16;

/// The objects of a folder: the resources its kustomization lists, in order, else every
/// YAML file in it by file name.
fn read_folder(
    dir: &Path,
    warnings: &mut Vec<String>,
    depth: usize,
) -> Result<Vec<Value>, Vec<Diagnostic>> {
    let shown = dir.display().to_string();
    if depth > MAX_DEPTH {
        return Err(vec![Diagnostic::error(
            "amlc::diff::kustomization-cycle",
            format!("{shown}: kustomizations nest more than {MAX_DEPTH} deep (a cycle?)"),
        )]);
    }
    let kustomization = KUSTOMIZATION_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file());
    let files: Vec<PathBuf> = match kustomization {
        Some(k) => {
            let docs = read_documents(&k)?;
            let doc = docs.into_iter().next().unwrap_or(Value::Null);
            if let Some(map) = doc.as_object() {
                let mut other: Vec<&str> = map
                    .keys()
                    .map(String::as_str)
                    // sortOptions only orders the output, and the diff matches objects by
                    // identity; amlc's own --target dir folders carry it.
                    .filter(|k| !matches!(*k, "apiVersion" | "kind" | "resources" | "sortOptions"))
                    .collect();
                other.sort_unstable();
                if !other.is_empty() {
                    warnings.push(format!(
                        "{}: only `resources` is read; {} not applied",
                        k.display(),
                        other.join(", ")
                    ));
                }
            }
            let resources = doc
                .get("resources")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut files = Vec::new();
            for r in resources {
                let Some(entry) = r.as_str() else {
                    return Err(vec![Diagnostic::error(
                        "amlc::diff::kustomization-invalid",
                        format!("{}: every resources entry must be a path", k.display()),
                    )]);
                };
                if entry.contains("://") {
                    return Err(vec![
                        Diagnostic::error(
                            "amlc::diff::kustomization-remote",
                            format!("{}: remote resource {entry} is not supported", k.display()),
                        )
                        .with_help(
                            "diff against a local render, e.g. `kubectl kustomize DIR > out.yaml`",
                        ),
                    ]);
                }
                files.push(dir.join(entry));
            }
            files
        }
        None => {
            let entries = std::fs::read_dir(dir).map_err(|e| {
                vec![Diagnostic::error(
                    "amlc::diff::against-unreadable",
                    format!("cannot read {shown}: {}", reason(&e)),
                )]
            })?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            files.sort();
            files
        }
    };
    let mut objects = Vec::new();
    for f in files {
        if f.is_dir() {
            objects.extend(read_folder(&f, warnings, depth + 1)?);
        } else {
            objects.extend(read_documents(&f)?);
        }
    }
    Ok(objects)
}
