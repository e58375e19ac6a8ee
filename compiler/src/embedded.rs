//! The data folders compiled into the binary (see `compiler/build.rs`).

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The contents of one embedded file, by its path relative to the project root.
pub fn file(path: &str) -> Option<&'static str> {
    FILES.iter().find(|(p, _)| *p == path).map(|(_, c)| *c)
}

/// Every embedded file under a folder, in path order.
pub fn under(prefix: &str) -> impl Iterator<Item = (&'static str, &'static str)> {
    let prefix = format!("{}/", prefix.trim_end_matches('/'));
    FILES
        .iter()
        .filter(move |(p, _)| p.starts_with(&prefix))
        .map(|(p, c)| (*p, *c))
}

/// The JSON Schema of config contract v1.
pub fn schema_text() -> &'static str {
    file("schemas/amlc.schema.json").expect("schemas/amlc.schema.json is embedded at build time")
}

/// A built-in CRD file's document as JSON, converted at build time (see `compiler/build.rs`).
pub fn crd_json(path: &str) -> Option<&'static str> {
    CRD_JSON.iter().find(|(p, _)| *p == path).map(|(_, c)| *c)
}
