//! The data folders compiled into the binary (see `compiler/build.rs`).

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// A built-in CRD as a build for `crds::EMBEDDED_NAME` outputs it, written by `build.rs`.
#[derive(Debug)]
pub struct BuiltCrd {
    /// Its YAML document.
    pub document: &'static str,
    /// The object, as JSON.
    pub value: &'static str,
    /// The object without its versions' schemas, as JSON: all a build reads of a CRD.
    pub shape: &'static str,
    /// Where in `document` the line of the instance label starts, when that line appears
    /// once.
    pub label_at: Option<usize>,
}

/// The CRD at `path` (a built-in component's `crds/` file) as a build for the default
/// name outputs it.
pub fn built_crd(path: &str) -> Option<&'static BuiltCrd> {
    BUILT_CRDS.iter().find(|(p, _)| *p == path).map(|(_, c)| c)
}

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

/// The JSON `build.rs` converted a YAML data file to, by path (see `compiler/build.rs`).
pub fn yaml_as_json(path: &str) -> Option<&'static str> {
    YAML_AS_JSON
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, c)| *c)
}

/// An embedded YAML data file read as `T`: from its JSON twin, which reads some fifty times
/// faster, or from the YAML itself when it has none (or the twin does not fit `T`, so any
/// error is reported against the YAML a person wrote).
pub fn read_yaml<T: serde::de::DeserializeOwned>(
    path: &str,
    yaml: &str,
) -> Result<T, serde_yaml_ng::Error> {
    if let Some(value) = yaml_as_json(path).and_then(|json| serde_json::from_str(json).ok()) {
        return Ok(value);
    }
    serde_yaml_ng::from_str(yaml)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every data file the library reads gets a twin, and the twin reads as the YAML does.
    #[test]
    fn json_twins_read_like_their_yaml() {
        let twins: Vec<&str> = YAML_AS_JSON.iter().map(|(p, _)| *p).collect();
        for required in [
            "targets/releases.yaml",
            "targets/capacity.yaml",
            "components/gateway/component.yaml",
            "components/prometheus-operator/crds/prometheuses.monitoring.coreos.com.yaml",
        ] {
            assert!(twins.contains(&required), "{required}");
        }
        assert!(!twins.contains(&"targets/default-config.yaml"));
        assert!(!twins.iter().any(|p| p.contains("/templates/")));
        for (path, json) in YAML_AS_JSON {
            let yaml = file(path).unwrap();
            let from_yaml: serde_json::Value = serde_yaml_ng::from_str(yaml).unwrap();
            let from_json: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(from_json, from_yaml, "{path}");
        }
        for (path, _) in YAML_AS_JSON
            .iter()
            .filter(|(p, _)| p.ends_with("/component.yaml"))
        {
            let yaml = file(path).unwrap();
            let twin: crate::catalog::ComponentMeta = read_yaml(path, yaml).unwrap();
            let direct: crate::catalog::ComponentMeta = serde_yaml_ng::from_str(yaml).unwrap();
            assert_eq!(twin, direct, "{path}");
        }
        let debug_both = |path: &str, read: fn(&str, &str) -> String| {
            let yaml = file(path).unwrap();
            assert_eq!(read(path, yaml), read("not/embedded.yaml", yaml), "{path}");
        };
        debug_both("targets/releases.yaml", |p, y| {
            format!(
                "{:?}",
                read_yaml::<crate::releases::Releases>(p, y).unwrap()
            )
        });
        debug_both("targets/capacity.yaml", |p, y| {
            format!(
                "{:?}",
                read_yaml::<crate::capacity::CapacityData>(p, y).unwrap()
            )
        });
    }
}
