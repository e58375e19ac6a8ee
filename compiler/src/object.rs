//! One rendered Kubernetes object and the few accessors every later stage needs
//! (identity, pod templates). Objects are plain `serde_json::Value`s so transforms,
//! emitters and the diff share one representation; this module does not change them.

use serde_json::Value;

/// JSON Pointer lookups without the allocation `Value::pointer` makes for every token
/// (it unescapes each one into a new `String`): the soundness walk, the lints and the
/// transforms ask them of every object of every build.
pub trait At {
    /// `Value::pointer`, the same answer for every pointer.
    fn at(&self, pointer: &str) -> Option<&Value>;
}

impl At for Value {
    fn at(&self, pointer: &str) -> Option<&Value> {
        // Escaped tokens (`~0`, `~1`) are rare: the general path unescapes them.
        if pointer.contains('~') {
            return self.pointer(pointer);
        }
        if pointer.is_empty() {
            return Some(self);
        }
        let rest = pointer.strip_prefix('/')?;
        rest.split('/')
            .try_fold(self, |target, token| match target {
                Value::Object(map) => map.get(token),
                Value::Array(list) => index(token).and_then(|i| list.get(i)),
                _ => None,
            })
    }
}

/// An array index as RFC 6901 writes it: digits, no leading zero, no sign.
fn index(token: &str) -> Option<usize> {
    if token.is_empty()
        || (token.len() > 1 && token.starts_with('0'))
        || !token.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    token.parse().ok()
}

/// A rendered object and the component that rendered it.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The component folder name (`gateway`, `azureml-fe-v2`, ...).
    pub component: String,
    pub value: Value,
}

impl Object {
    pub fn new(component: impl Into<String>, value: Value) -> Self {
        Object {
            component: component.into(),
            value,
        }
    }

    pub fn kind(&self) -> &str {
        kind(&self.value)
    }

    pub fn name(&self) -> &str {
        name(&self.value)
    }

    pub fn namespace(&self) -> Option<&str> {
        namespace(&self.value)
    }
}

pub fn kind(v: &Value) -> &str {
    v.get("kind").and_then(Value::as_str).unwrap_or("")
}

pub fn api_version(v: &Value) -> &str {
    v.get("apiVersion").and_then(Value::as_str).unwrap_or("")
}

/// The API group: the part of `apiVersion` before `/`, empty for the core group.
pub fn group(v: &Value) -> &str {
    api_version(v).rsplit_once('/').map_or("", |(g, _)| g)
}

pub fn name(v: &Value) -> &str {
    metadata(v, "name").unwrap_or("")
}

pub fn namespace(v: &Value) -> Option<&str> {
    metadata(v, "namespace")
}

/// A string field of `metadata`. (Looked up directly: every stage asks for names, and a
/// JSON Pointer is parsed again on every call.)
fn metadata<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get("metadata")?.get(key)?.as_str()
}

/// The pod template of a workload, where the kind has one. (Looked up key by key, not by
/// JSON Pointer, which allocates per token: every build asks this of every object several
/// times.)
pub fn pod_template(v: &Value) -> Option<&Value> {
    match kind(v) {
        "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet" | "Job" => {
            v.get("spec")?.get("template")
        }
        "CronJob" => v
            .get("spec")?
            .get("jobTemplate")?
            .get("spec")?
            .get("template"),
        _ => None,
    }
}

/// The pod template of a workload, mutably.
pub fn pod_template_mut(v: &mut Value) -> Option<&mut Value> {
    match kind(v) {
        "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet" | "Job" => {
            v.get_mut("spec")?.get_mut("template")
        }
        "CronJob" => v
            .get_mut("spec")?
            .get_mut("jobTemplate")?
            .get_mut("spec")?
            .get_mut("template"),
        _ => None,
    }
}

/// A mutable JSON object at `key` inside `parent`, created when missing or null.
/// Returns None when something else (a string, a list) is already there.
pub fn object_entry<'a>(
    parent: &'a mut Value,
    key: &str,
) -> Option<&'a mut serde_json::Map<String, Value>> {
    let map = parent.as_object_mut()?;
    let slot = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if slot.is_null() {
        *slot = Value::Object(serde_json::Map::new());
    }
    slot.as_object_mut()
}

#[cfg(test)]
mod tests {
    use super::At;

    /// `at` answers as `Value::pointer` does, escapes, indexes and misses included.
    #[test]
    fn at_is_value_pointer() {
        let v = serde_json::json!({
            "a": {"b": [10, {"c": "d"}], "": {"e": 1}, "x/y": 2, "m~n": 3, "01": 4},
            "list": [[1, 2], []],
        });
        for p in [
            "",
            "/",
            "/a",
            "/a/b",
            "/a/b/0",
            "/a/b/1/c",
            "/a/b/2",
            "/a/b/01",
            "/a/b/-1",
            "/a/b/+1",
            "/a/b/x",
            "/a//e",
            "/a/",
            "/a/x~1y",
            "/a/m~0n",
            "/a/01",
            "/list/0/1",
            "/list/1/0",
            "/missing",
            "/a/b/1/c/deeper",
            "a",
            "/a/b/1/",
            "/a/b/99999999999999999999999",
        ] {
            assert_eq!(v.at(p), v.pointer(p), "{p:?}");
        }
    }
}
