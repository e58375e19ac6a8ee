//! Structural comparison of one normalised object pair. It finds the differences (as JSON
//! Pointers) and builds the two trees to print, aligned so a line diff of them shows only
//! real differences: keyed lists in the rendered order, equal quantities written the
//! rendered way, and (when the other side is live) server-filled fields left out.
//!
//! It knows nothing of object identity, ignore rules or Secrets; `diff` (mod.rs) does.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::quantity;

/// The outcome of comparing one object pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Aligned {
    pub rendered: Value,
    pub other: Value,
    /// JSON Pointers of the differing fields, in the rendered side's indexing.
    pub differences: Vec<String>,
}

/// Compares a rendered object with the other side's. With `is_other_live`, fields only
/// the other side has are server defaults or set by controllers (DESIGN.md: not
/// differences when that side is live) and are dropped from its printed tree.
pub fn align(rendered: &Value, other: &Value, is_other_live: bool) -> Aligned {
    let mut walker = Walker {
        is_other_live,
        path: Vec::new(),
        differences: Vec::new(),
    };
    let (r, o) = walker.walk(rendered, other);
    Aligned {
        rendered: r,
        other: o,
        differences: walker.differences,
    }
}

struct Walker {
    is_other_live: bool,
    path: Vec<String>,
    differences: Vec<String>,
}

/// Maps whose values are resource quantities (resources, PV capacity, quotas, limit ranges).
const QUANTITY_MAPS: &[&str] = &[
    "requests",
    "limits",
    "capacity",
    "hard",
    "allocatable",
    "overhead",
    "default",
    "defaultRequest",
    "max",
    "min",
    "maxLimitRequestRatio",
];

/// Single fields holding a quantity.
const QUANTITY_FIELDS: &[&str] = &["sizeLimit"];

/// How the items of a list are identified, where Kubernetes merges by key rather than by
/// position (the `patchMergeKey`s of the core API): such lists compare by key, so an
/// order change alone is not a difference.
fn list_key(field: &str) -> Option<fn(&Value) -> Option<String>> {
    fn by_name(v: &Value) -> Option<String> {
        v.get("name")?.as_str().map(str::to_owned)
    }
    // Kubernetes keys volume mounts by mountPath: one volume may be mounted twice.
    fn by_mount_path(v: &Value) -> Option<String> {
        v.get("mountPath")?.as_str().map(str::to_owned)
    }
    // Container ports key on containerPort, Service ports on port; both with protocol,
    // since 53/TCP and 53/UDP are two entries.
    fn by_port(v: &Value) -> Option<String> {
        let port = v.get("containerPort").or_else(|| v.get("port"))?;
        let protocol = v.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
        Some(format!("{port}/{protocol}"))
    }
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => Some(by_name),
        "volumeMounts" => Some(by_mount_path),
        "ports" => Some(by_port),
        _ => None,
    }
}

impl Walker {
    fn differ(&mut self) {
        self.differences.push(self.pointer());
    }

    fn pointer(&self) -> String {
        self.path
            .iter()
            .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
            .collect()
    }

    fn field(&self) -> &str {
        self.path.last().map_or("", String::as_str)
    }

    fn parent_field(&self) -> &str {
        self.path.len().checked_sub(2).map_or("", |i| &self.path[i])
    }

    fn walk(&mut self, r: &Value, o: &Value) -> (Value, Value) {
        match (r, o) {
            (Value::Object(rm), Value::Object(om)) => self.walk_maps(rm, om),
            (Value::Array(ra), Value::Array(oa)) => {
                let keyed = list_key(self.field()).and_then(|key| keyed_indexes(ra, oa, key));
                match keyed {
                    Some(pairs) => self.walk_keyed(ra, oa, &pairs),
                    None => self.walk_positional(ra, oa),
                }
            }
            _ if r == o => (r.clone(), o.clone()),
            _ if self.is_quantity_field() && quantity::same_value(r, o) => (r.clone(), r.clone()),
            _ => {
                self.differ();
                (r.clone(), o.clone())
            }
        }
    }

    fn is_quantity_field(&self) -> bool {
        QUANTITY_MAPS.contains(&self.parent_field()) || QUANTITY_FIELDS.contains(&self.field())
    }

    fn walk_maps(&mut self, rm: &Map<String, Value>, om: &Map<String, Value>) -> (Value, Value) {
        let mut r_out = Map::new();
        let mut o_out = Map::new();
        for (k, rv) in rm {
            self.path.push(k.clone());
            match om.get(k) {
                Some(ov) => {
                    let (a, b) = self.walk(rv, ov);
                    r_out.insert(k.clone(), a);
                    o_out.insert(k.clone(), b);
                }
                None => {
                    self.differ();
                    r_out.insert(k.clone(), rv.clone());
                }
            }
            self.path.pop();
        }
        for (k, ov) in om {
            if rm.contains_key(k) || self.is_other_live {
                continue;
            }
            self.path.push(k.clone());
            self.differ();
            self.path.pop();
            o_out.insert(k.clone(), ov.clone());
        }
        (Value::Object(r_out), Value::Object(o_out))
    }

    /// Lists compared by key: matched items pairwise, the other side's items reordered to
    /// the rendered order, its extra items last. An extra item is a difference even on a
    /// live side: servers default fields, not list entries.
    fn walk_keyed(
        &mut self,
        ra: &[Value],
        oa: &[Value],
        pairs: &[(usize, Option<usize>)],
    ) -> (Value, Value) {
        let mut r_out = Vec::new();
        let mut o_out = Vec::new();
        let mut used = vec![false; oa.len()];
        for &(ri, oi) in pairs {
            self.path.push(ri.to_string());
            match oi {
                Some(oi) => {
                    used[oi] = true;
                    let (a, b) = self.walk(&ra[ri], &oa[oi]);
                    r_out.push(a);
                    o_out.push(b);
                }
                None => {
                    self.differ();
                    r_out.push(ra[ri].clone());
                }
            }
            self.path.pop();
        }
        for (oi, ov) in oa.iter().enumerate() {
            if !used[oi] {
                self.path.push(oi.to_string());
                self.differ();
                self.path.pop();
                o_out.push(ov.clone());
            }
        }
        (Value::Array(r_out), Value::Array(o_out))
    }

    fn walk_positional(&mut self, ra: &[Value], oa: &[Value]) -> (Value, Value) {
        let mut r_out = Vec::new();
        let mut o_out = Vec::new();
        for i in 0..ra.len().max(oa.len()) {
            self.path.push(i.to_string());
            match (ra.get(i), oa.get(i)) {
                (Some(rv), Some(ov)) => {
                    let (a, b) = self.walk(rv, ov);
                    r_out.push(a);
                    o_out.push(b);
                }
                (Some(rv), None) => {
                    self.differ();
                    r_out.push(rv.clone());
                }
                (None, Some(ov)) => {
                    self.differ();
                    o_out.push(ov.clone());
                }
                (None, None) => {}
            }
            self.path.pop();
        }
        (Value::Array(r_out), Value::Array(o_out))
    }
}

/// Pairs rendered items with the other side's by key, in rendered order; `None` when some
/// item has no key or a key repeats on either side (then the list compares by position).
fn keyed_indexes(
    ra: &[Value],
    oa: &[Value],
    key: fn(&Value) -> Option<String>,
) -> Option<Vec<(usize, Option<usize>)>> {
    let index = |items: &[Value]| -> Option<BTreeMap<String, usize>> {
        let mut map = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            if map.insert(key(item)?, i).is_some() {
                return None;
            }
        }
        Some(map)
    };
    let r_index = index(ra)?;
    let o_index = index(oa)?;
    let mut pairs: Vec<(usize, Option<usize>)> = r_index
        .iter()
        .map(|(k, &ri)| (ri, o_index.get(k).copied()))
        .collect();
    pairs.sort_by_key(|p| p.0);
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keyed_lists_ignore_order() {
        let r = json!({"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]});
        let o = json!({"containers": [{"name": "b", "image": "y"}, {"name": "a", "image": "x"}]});
        let a = align(&r, &o, false);
        assert!(a.differences.is_empty());
        assert_eq!(a.rendered, a.other);
    }

    #[test]
    fn positional_lists_keep_order() {
        let r = json!({"args": ["--a", "--b"]});
        let o = json!({"args": ["--b", "--a"]});
        assert_eq!(align(&r, &o, false).differences, vec!["/args/0", "/args/1"]);
    }

    #[test]
    fn ports_key_on_port_and_protocol() {
        let r = json!({"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53}]});
        let o =
            json!({"ports": [{"port": 53, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]});
        // The TCP entry matches despite the explicit default protocol only on the live side.
        assert!(align(&r, &o, true).differences.is_empty());
    }

    #[test]
    fn live_only_fields_are_not_differences_but_render_only_ones_are() {
        let r = json!({"spec": {"replicas": 1}});
        let o = json!({"spec": {"replicas": 1, "revisionHistoryLimit": 10}});
        let live = align(&r, &o, true);
        assert!(live.differences.is_empty());
        assert_eq!(live.other, r);
        assert_eq!(
            align(&r, &o, false).differences,
            vec!["/spec/revisionHistoryLimit"]
        );
        assert_eq!(
            align(&o, &r, true).differences,
            vec!["/spec/revisionHistoryLimit"]
        );
    }

    #[test]
    fn quantities_compare_by_value_and_print_the_rendered_way() {
        let r =
            json!({"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": 2}}});
        let o = json!({"resources": {"requests": {"cpu": "1000m", "memory": "1024Mi"}, "limits": {"cpu": "2"}}});
        let a = align(&r, &o, false);
        assert!(a.differences.is_empty());
        assert_eq!(a.other, r);
    }

    #[test]
    fn quantity_rule_is_limited_to_quantity_fields() {
        let r = json!({"metadata": {"labels": {"tier": "1000m"}}});
        let o = json!({"metadata": {"labels": {"tier": "1"}}});
        assert_eq!(
            align(&r, &o, false).differences,
            vec!["/metadata/labels/tier"]
        );
    }

    #[test]
    fn pointers_escape_slashes() {
        let r = json!({"annotations": {"a/b": "1"}});
        let o = json!({"annotations": {"a/b": "2"}});
        assert_eq!(align(&r, &o, false).differences, vec!["/annotations/a~1b"]);
    }
}
