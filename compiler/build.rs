//! Embeds the data folders (schemas/, components/, targets/) into the binary so an
//! installed `amlc` is self-contained. Walks the folders, so adding a component is adding
//! a folder: no Rust file lists component names.
//!
//! It also converts the YAML data files amlc reads as data (component.yaml, the CRDs,
//! targets/releases.yaml and targets/capacity.yaml) to JSON once, here: the CRDs are most
//! of the bytes amlc emits, and reading YAML on every run was most of a build's time
//! (libyaml costs some 240 instructions a byte; serde_json a few). The conversion uses the
//! same serde_yaml_ng the library uses, so the values are the same (tests compare both
//! readings of every file); a file that does not parse gets no JSON and the library reads
//! and reports its YAML as before. Templates are not data, and the default config is read
//! as a config, with its line numbers.
//!
//! The built-in CRDs are also written here as a build outputs them (`crds`): what a build
//! does to a CRD depends on the extension name alone, so each is labelled for the model
//! name and written with the library's own document writer (`src/emit/document.rs`,
//! included below). A build then parses none of them; the library's tests hold every
//! document written here to what a build writes itself.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

// Only `yaml_document` is used here.
#[allow(dead_code)]
#[path = "src/emit/document.rs"]
mod document;

const DATA_DIRS: [&str; 3] = ["schemas", "components", "targets"];

fn main() {
    link_position_dependent();
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in DATA_DIRS {
        let path = root.join(dir);
        println!("cargo:rerun-if-changed={}", path.display());
        collect(&root, &path, &mut files);
    }
    println!(
        "cargo:rerun-if-changed={}",
        root.join("compiler/src/emit/document.rs").display()
    );
    // Sorted so the generated table, and everything iterating it, is deterministic.
    files.sort();
    let mut out = String::from(
        "/// Every data file, as (path relative to the project root, contents).\npub static FILES: &[(&str, &str)] = &[\n",
    );
    for rel in &files {
        let abs = root.join(rel);
        println!("cargo:rerun-if-changed={}", abs.display());
        writeln!(
            out,
            "    ({rel:?}, include_str!({:?})),",
            abs.display().to_string()
        )
        .expect("write to string");
    }
    out.push_str("];\n");
    let data = yaml_data(&root, &files);
    out.push_str(&yaml_as_json_table(&data));
    out.push_str(&built_crds_table(&data));
    let dest =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded.rs");
    std::fs::write(dest, out).expect("write embedded.rs");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(root, &path, files);
        } else if path.is_file() {
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            files.push(rel);
        }
    }
}

/// Whether a data file is YAML read as data, so it gets a JSON twin.
fn is_yaml_data(rel: &str) -> bool {
    let yaml = rel.ends_with(".yaml") || rel.ends_with(".yml");
    let component_data = rel.starts_with("components/") && !rel.contains("/templates/");
    let target_data = rel.starts_with("targets/") && rel != "targets/default-config.yaml";
    yaml && (component_data || target_data)
}

/// Every YAML data file that parses, with its document, in path order.
fn yaml_data<'a>(root: &Path, files: &'a [String]) -> Vec<(&'a str, Value)> {
    files
        .iter()
        .filter(|rel| is_yaml_data(rel))
        .filter_map(|rel| {
            let text = std::fs::read_to_string(root.join(rel)).ok()?;
            Some((rel.as_str(), serde_yaml_ng::from_str(&text).ok()?))
        })
        .collect()
}

/// `YAML_AS_JSON`: (path of a YAML data file, its document as compact JSON), for every
/// one that parses; the JSON files go to OUT_DIR.
fn yaml_as_json_table(data: &[(&str, Value)]) -> String {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut table = String::from(
        "/// YAML data files converted to JSON at build time: (path, JSON of the document).\npub static YAML_AS_JSON: &[(&str, &str)] = &[\n",
    );
    for (i, (rel, value)) in data.iter().enumerate() {
        let json = out_dir.join(format!("data-{i}.json"));
        std::fs::write(&json, self::json(value)).expect("write JSON");
        writeln!(
            table,
            "    ({rel:?}, include_str!({:?})),",
            json.display().to_string()
        )
        .expect("write to string");
    }
    table.push_str("];\n");
    table
}

/// The extension name the CRDs are written for: `crds::EMBEDDED_NAME`, the default (the
/// library's tests compare every document with one a build writes for that name).
const EMBEDDED_NAME: &str = "azureml";

/// `BUILT_CRDS`: (path of a built-in CRD, the CRD as a build for [`EMBEDDED_NAME`] outputs
/// it), for every one that parses as a CRD with a map of labels or none.
fn built_crds_table(data: &[(&str, Value)]) -> String {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut table = String::from(
        "/// The built-in CRDs as a build outputs them for the default name (`crds`), by path.\npub static BUILT_CRDS: &[(&str, BuiltCrd)] = &[\n",
    );
    for (i, (rel, value)) in data.iter().enumerate() {
        let Some(component) = rel
            .strip_prefix("components/")
            .and_then(|r| r.split_once("/crds/"))
            .filter(|(c, file)| !c.contains('/') && !file.contains('/'))
            .map(|(c, _)| c)
        else {
            continue;
        };
        let mut value = value.clone();
        if value["kind"] != "CustomResourceDefinition" || !label(&mut value, component) {
            continue;
        }
        let mut shape = value.clone();
        if let Some(versions) = shape
            .pointer_mut("/spec/versions")
            .and_then(Value::as_array_mut)
        {
            for version in versions.iter_mut().filter_map(Value::as_object_mut) {
                version.remove("schema");
            }
        }
        let file = |ext: &str, text: String| {
            let path = out_dir.join(format!("crd-{i}.{ext}"));
            std::fs::write(&path, text).expect("write a built CRD");
            path.display().to_string()
        };
        let text = document::yaml_document(&value);
        // Where the instance label's line is (the line is there once: labels are one level
        // deep in metadata, and no other key is the label's): a build for another name
        // rewrites that line alone (`crds`).
        let line = format!("amlc/instance: {EMBEDDED_NAME}\n");
        let label_at = (text.matches(&line).count() == 1)
            .then(|| text.find(&line))
            .flatten();
        let document = file("yaml", text);
        let full = file("json", json(&value));
        let shape = file("shape.json", json(&shape));
        writeln!(
            table,
            "    ({rel:?}, BuiltCrd {{ document: include_str!({document:?}), value: include_str!({full:?}), shape: include_str!({shape:?}), label_at: {label_at:?} }}),"
        )
        .expect("write to string");
    }
    table.push_str("];\n");
    table
}

fn json(value: &Value) -> String {
    serde_json::to_string(value).expect("JSON of a JSON value")
}

/// The common labels `transform::labels` gives every object, for the default name; false
/// when the CRD's labels are not a map (the build then labels it at run time).
fn label(crd: &mut Value, component: &str) -> bool {
    let Some(meta) = crd.get_mut("metadata").and_then(Value::as_object_mut) else {
        return false;
    };
    let labels = meta
        .entry("labels")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if labels.is_null() {
        *labels = Value::Object(serde_json::Map::new());
    }
    let Some(labels) = labels.as_object_mut() else {
        return false;
    };
    for (k, v) in [
        ("app.kubernetes.io/name", component),
        ("app.kubernetes.io/part-of", "azureml"),
        ("app.kubernetes.io/managed-by", "amlc"),
        ("amlc/instance", EMBEDDED_NAME),
    ] {
        labels.insert(k.into(), Value::String(v.into()));
    }
    true
}

/// Links the `amlc` binary position-dependent on x86-64 Linux with glibc. A
/// position-independent executable makes the dynamic loader apply some 24,000 relocations
/// at every start (the tables of the embedded data, the formatting and serde vtables) and
/// copy the pages they touch: about a tenth of one build's wall time (README,
/// "Performance"). Only the binary: proc macros and tests are shared objects or do not
/// run per file. Where the platform's linker cannot (another OS, musl, another
/// architecture) nothing changes.
fn link_position_dependent() {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && var("CARGO_CFG_TARGET_ARCH") == "x86_64"
    {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
