//! Fleets: several configs in one run (DESIGN.md, "Second round", "Fleets"). `-c` takes
//! globs with `*` and `?` in any path segment and `**` over folders; each config's output is
//! named by its path relative to the deepest folder all the configs share, without the
//! extension, and a config named `amlc.yaml` or `amlc.yml` is named by its folder, so the
//! common GitOps layout `clusters/<name>/amlc.yaml` gives `DIR/<name>`.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::diagnostic::Diagnostic;

/// Config file names that are named by their folder.
pub const FOLDER_NAMED: [&str; 2] = ["amlc.yaml", "amlc.yml"];

/// Whether a pattern holds a wildcard.
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// The files each pattern names, in order; a pattern without wildcards is taken as is (a
/// missing file is reported when it is read). A glob that matches nothing is an error.
pub fn expand(patterns: &[String]) -> Result<Vec<PathBuf>, Diagnostic> {
    if patterns.len() > 1 && patterns.iter().any(|p| p == "-") {
        return Err(Diagnostic::error(
            "amlc::cli::stdin-in-a-fleet",
            "-c - (the config on stdin) cannot be combined with other configs",
        )
        .with_help("build the stdin config on its own, or save it to a file"));
    }
    let mut out: Vec<PathBuf> = Vec::new();
    for pattern in patterns {
        if !is_glob(pattern) {
            out.push(PathBuf::from(pattern));
            continue;
        }
        let matches = glob(pattern)?;
        if matches.is_empty() {
            return Err(Diagnostic::error(
                "amlc::io::no-match",
                format!("-c {pattern} matches no file"),
            )
            .with_help("quote the pattern so amlc expands it (`*` and `?` within a folder name, `**` across folders), e.g. -c 'clusters/**/amlc.yaml'"));
        }
        for m in matches {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// The files under the pattern's fixed leading folders that match it, sorted.
fn glob(pattern: &str) -> Result<Vec<PathBuf>, Diagnostic> {
    let segments: Vec<&str> = pattern.split('/').collect();
    let fixed = segments.iter().take_while(|s| !is_glob(s)).count();
    // `a/b/*.yaml`: walk a/b; `*.yaml`: walk `.` but name matches without `./`.
    let root_text = segments[..fixed].join("/");
    let root = if fixed == 0 {
        PathBuf::from(".")
    } else if root_text.is_empty() {
        PathBuf::from("/")
    } else {
        PathBuf::from(&root_text)
    };
    let rest: Vec<&str> = segments[fixed..].to_vec();
    let deep = rest.contains(&"**");
    let max_depth = if deep { usize::MAX } else { rest.len() };
    let mut found = Vec::new();
    let walker = walkdir::WalkDir::new(&root)
        .min_depth(1)
        .max_depth(max_depth)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walker {
        let entry = entry.map_err(|e| {
            Diagnostic::error(
                "amlc::io::unreadable",
                format!("cannot read {}: {e}", root.display()),
            )
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry.path().strip_prefix(&root).unwrap_or(entry.path());
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        if matches(&rest, &parts) {
            found.push(if fixed == 0 {
                relative.to_path_buf()
            } else {
                entry.path().to_path_buf()
            });
        }
    }
    found.sort();
    Ok(found)
}

/// Whether path segments match pattern segments; `**` matches any number of folders.
fn matches(pattern: &[&str], path: &[&str]) -> bool {
    match (pattern.first(), path.first()) {
        (None, None) => true,
        (Some(&"**"), _) => {
            matches(&pattern[1..], path) || (!path.is_empty() && matches(pattern, &path[1..]))
        }
        (Some(p), Some(n)) => {
            // Hidden files and folders only match a pattern that names the dot.
            (!n.starts_with('.') || p.starts_with('.'))
                && wildcard(p, n)
                && matches(&pattern[1..], &path[1..])
        }
        _ => false,
    }
}

/// Shell-style matching of one segment: `*` any run, `?` one character.
pub fn wildcard(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

/// A path's normal components (`.` dropped), as text.
fn parts(path: &Path) -> Vec<String> {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect()
}

/// The output name of each config (a relative path with `/`), or an error naming two
/// configs that would share one.
pub fn output_names(configs: &[PathBuf]) -> Result<Vec<String>, Diagnostic> {
    let folders: Vec<Vec<String>> = configs
        .iter()
        .map(|c| {
            let mut p = parts(c);
            p.pop();
            p
        })
        .collect();
    let common =
        folders
            .iter()
            .skip(1)
            .fold(folders.first().cloned().unwrap_or_default(), |acc, f| {
                acc.iter()
                    .zip(f)
                    .take_while(|(a, b)| a == b)
                    .map(|(a, _)| a.clone())
                    .collect()
            });
    let mut names: Vec<String> = Vec::new();
    let mut seen: BTreeMap<String, &Path> = BTreeMap::new();
    for config in configs {
        let all = parts(config);
        let mut relative: Vec<String> = all[common.len().min(all.len())..].to_vec();
        let file = relative.pop().unwrap_or_default();
        let name = if FOLDER_NAMED.contains(&file.as_str()) {
            if relative.is_empty() {
                // The config sits in the shared folder itself: named after that folder.
                common.last().cloned().unwrap_or_else(|| "amlc".into())
            } else {
                relative.join("/")
            }
        } else {
            let stem = Path::new(&file)
                .file_stem()
                .map_or_else(|| file.clone(), |s| s.to_string_lossy().into_owned());
            relative.push(stem);
            relative.join("/")
        };
        if let Some(first) = seen.get(&name) {
            return Err(Diagnostic::error(
                "amlc::cli::duplicate-output",
                format!(
                    "{} and {} would both write the output named {name}",
                    first.display(),
                    config.display()
                ),
            )
            .with_help("outputs are named by each config's path below the folder all configs share (a config named amlc.yaml by its folder): rename or move one of them"));
        }
        seen.insert(name.clone(), config);
        names.push(name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(paths: &[&str]) -> Result<Vec<String>, String> {
        let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
        output_names(&paths).map_err(|d| d.message)
    }

    #[test]
    fn outputs_are_named_below_the_shared_folder() {
        assert_eq!(
            names(&[
                "clusters/east/amlc.yaml",
                "clusters/eu/prod/amlc.yaml",
                "clusters/west/amlc.yml"
            ]),
            Ok(vec!["east".into(), "eu/prod".into(), "west".into()])
        );
        assert_eq!(
            names(&["configs/a.yaml", "configs/b.yml"]),
            Ok(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            names(&["./fleet/amlc.yaml", "fleet/dev/amlc.yaml"]),
            Ok(vec!["fleet".into(), "dev".into()])
        );
        assert_eq!(
            names(&["x/amlc.yaml", "x/amlc.yml"]),
            Err("x/amlc.yaml and x/amlc.yml would both write the output named x".into())
        );
    }

    #[test]
    fn segments_match_like_a_shell_and_double_star_spans_folders() {
        assert!(wildcard("*.yaml", "prod.yaml"));
        assert!(!wildcard("*.yaml", "prod.yml"));
        assert!(wildcard("p?od", "prod"));
        let m = |p: &str, path: &str| {
            let p: Vec<&str> = p.split('/').collect();
            let path: Vec<&str> = path.split('/').collect();
            matches(&p, &path)
        };
        assert!(m("**/amlc.yaml", "amlc.yaml"));
        assert!(m("**/amlc.yaml", "eu/prod/amlc.yaml"));
        assert!(m("*/amlc.yaml", "east/amlc.yaml"));
        assert!(!m("*/amlc.yaml", "eu/prod/amlc.yaml"));
        assert!(!m("*/amlc.yaml", ".git/amlc.yaml"));
    }
}
