//! The README's config reference covers every field of the schema, and its commands
//! match the CLI.

use serde_json::Value;

fn resolve<'a>(root: &'a Value, node: &'a Value) -> Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let mut base = root
                .pointer(r.trim_start_matches('#'))
                .cloned()
                .unwrap_or(Value::Null);
            if let (Some(b), Some(own)) = (base.as_object_mut(), node.as_object()) {
                for (k, v) in own {
                    if k != "$ref" {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
            base
        }
        None => node.clone(),
    }
}

fn field_paths(root: &Value, node: &Value, path: &str, out: &mut Vec<String>) {
    let node = resolve(root, node);
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            out.push(p.clone());
            field_paths(root, v, &p, out);
        }
    }
    if let Some(items) = node.get("items") {
        let items = resolve(root, items);
        if items.get("properties").is_some() {
            field_paths(root, &items, &format!("{path}[]"), out);
        }
    }
}

#[test]
fn config_reference_lists_every_schema_field() {
    let schema: Value = serde_json::from_str(include_str!("../schemas/amlc.schema.json")).unwrap();
    let readme = include_str!("../README.md");
    let mut paths = Vec::new();
    field_paths(&schema, &schema, "", &mut paths);
    assert!(paths.len() > 50, "walk found only {} fields", paths.len());
    let missing: Vec<&String> = paths
        .iter()
        .filter(|p| !readme.contains(&format!("| `{p}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "README's config reference lacks: {missing:?}"
    );
}

#[test]
fn readme_names_every_subcommand() {
    let readme = include_str!("../README.md");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_amlc"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 8, "{help}");
    for c in commands {
        assert!(
            readme.contains(&format!("amlc {c}")),
            "README does not mention `amlc {c}`"
        );
    }
}
