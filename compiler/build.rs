//! Embeds the data folders (schemas/, components/, targets/) into the binary so an
//! installed `amlc` is self-contained. Walks the folders, so adding a component is adding
//! a folder: no Rust file lists component names.
//!
//! It also converts every built-in CRD (`components/*/crds/*.yaml`) to JSON once, here:
//! the CRDs are most of the bytes amlc emits, and reading them as YAML on every run was
//! most of a build's time (libyaml costs some 240 instructions a byte; serde_json a few).
//! The conversion uses the same serde_yaml_ng the library uses, so the values are the
//! same; a CRD that does not parse gets no JSON and the library reports it as before.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const DATA_DIRS: [&str; 3] = ["schemas", "components", "targets"];

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in DATA_DIRS {
        let path = root.join(dir);
        println!("cargo:rerun-if-changed={}", path.display());
        collect(&root, &path, &mut files);
    }
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
    out.push_str(&crd_json_table(&root, &files));
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

/// `CRD_JSON`: (path of a built-in CRD file, its document as compact JSON), for every CRD
/// file that parses; the JSON files go to OUT_DIR.
fn crd_json_table(root: &Path, files: &[String]) -> String {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut table = String::from(
        "/// Built-in CRD files converted to JSON at build time: (path, JSON of the document).\npub static CRD_JSON: &[(&str, &str)] = &[\n",
    );
    let crds = files.iter().filter(|rel| {
        rel.starts_with("components/")
            && rel.split('/').nth(2) == Some("crds")
            && (rel.ends_with(".yaml") || rel.ends_with(".yml"))
    });
    for (i, rel) in crds.enumerate() {
        let Ok(text) = std::fs::read_to_string(root.join(rel)) else {
            continue;
        };
        let Ok(value) = serde_yaml_ng::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let json = out_dir.join(format!("crd-{i}.json"));
        std::fs::write(
            &json,
            serde_json::to_string(&value).expect("JSON of a JSON value"),
        )
        .expect("write CRD JSON");
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
