//! Secret data in diffs: compared by SHA-256 of the decoded bytes, printed as `***` or
//! `*** (changed)`. No Secret value, and no hash of one (a hash of a short password can be
//! reversed by guessing), ever reaches the output.
//!
//! `hash_secret_data` runs before the comparison and `mask_secret_data` after it, on the
//! trees that are printed. It covers `data` and `stringData`; the last-applied annotation,
//! which also copies Secret data, is dropped for every object by `normalize`.

use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// What a Secret value prints as when both sides hold the same value.
pub const MASK: &str = "***";
/// What a Secret value prints as on the rendered side when it differs.
pub const MASK_CHANGED: &str = "*** (changed)";

pub fn is_secret(object: &Value) -> bool {
    object.get("kind").and_then(Value::as_str) == Some("Secret")
        && object.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

/// Replaces a Secret's `data` (with `stringData` folded in, as the API server does) by
/// hashes of the decoded values. Objects other than Secrets are left alone.
pub fn hash_secret_data(object: &mut Value) {
    if !is_secret(object) {
        return;
    }
    let Some(map) = object.as_object_mut() else {
        return;
    };
    let string_data = map.remove("stringData");
    let mut hashed = Map::new();
    match map.remove("data") {
        Some(Value::Object(data)) => {
            for (k, v) in data {
                let bytes = match &v {
                    // Hash the decoded bytes, so `stringData` and `data` forms compare equal.
                    Value::String(s) => base64::engine::general_purpose::STANDARD
                        .decode(s.as_bytes())
                        .unwrap_or_else(|_| s.clone().into_bytes()),
                    other => other.to_string().into_bytes(),
                };
                hashed.insert(k, Value::String(hash(&bytes)));
            }
        }
        Some(other) if !other.is_null() => {
            hashed.insert(
                String::new(),
                Value::String(hash(other.to_string().as_bytes())),
            );
        }
        _ => {}
    }
    // stringData wins over data for the same key, as on the server.
    if let Some(Value::Object(sd)) = string_data {
        for (k, v) in sd {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            hashed.insert(k, Value::String(hash(text.as_bytes())));
        }
    }
    if !hashed.is_empty() {
        map.insert("data".into(), Value::Object(hashed));
    }
}

fn hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    crate::emit::hex(&digest)
}

/// Replaces the hashes in the printed trees with masks: `***` where the value is the same
/// or on one side only, and `*** (changed)` on the rendered side where it differs.
/// Either side may be `Value::Null` (an object present on one side only).
pub fn mask_secret_data(rendered: &mut Value, other: &mut Value) {
    let other_hashes: Map<String, Value> = other
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(data) = rendered.get_mut("data") {
        mask_map(data, |key, hash| match other_hashes.get(key) {
            Some(h) if h != hash => MASK_CHANGED,
            _ => MASK,
        });
    }
    if let Some(data) = other.get_mut("data") {
        mask_map(data, |_, _| MASK);
    }
}

fn mask_map(data: &mut Value, label: impl Fn(&str, &Value) -> &'static str) {
    match data {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                *v = Value::String(label(k, v).to_owned());
            }
        }
        other => *other = Value::String(MASK.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_data_and_data_forms_hash_alike() {
        let mut a = json!({"apiVersion": "v1", "kind": "Secret", "stringData": {"k": "hunter2"}});
        let mut b = json!({"apiVersion": "v1", "kind": "Secret", "data": {"k": "aHVudGVyMg=="}});
        hash_secret_data(&mut a);
        hash_secret_data(&mut b);
        assert_eq!(a, b);
        assert!(!a.to_string().contains("hunter2"));
    }

    #[test]
    fn masks_show_only_whether_a_value_changed() {
        let mut r = json!({"apiVersion": "v1", "kind": "Secret", "data": {"same": "YQ==", "diff": "Yg==", "new": "Yw=="}});
        let mut o = json!({"apiVersion": "v1", "kind": "Secret", "data": {"same": "YQ==", "diff": "ZA==", "old": "ZQ=="}});
        hash_secret_data(&mut r);
        hash_secret_data(&mut o);
        mask_secret_data(&mut r, &mut o);
        assert_eq!(
            r["data"],
            json!({"same": "***", "diff": "*** (changed)", "new": "***"})
        );
        assert_eq!(
            o["data"],
            json!({"same": "***", "diff": "***", "old": "***"})
        );
    }
}
