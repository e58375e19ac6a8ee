//! The validation corpus: every config in `tests/invalid` must fail with the diagnostics its
//! header names, every config in `tests/valid` must pass with exactly the warnings its header
//! names. Plus the CLI cases that are not config files (a folder, a missing file, no config,
//! a file over the size limit) and the text output of a located enum error.
//!
//! Header lines (comments at the top of a corpus file):
//!
//! ```text
//! # expect-code: amlc::rule::ingress-needs-clusterip    starts one expected diagnostic
//! # expect-at: 9:22                                      its line:column, or `none`
//! # expect-message: needs inference.routerServiceType    a substring of its message
//! # expect-help: set `inference.routerServiceType       optional; a substring of its help
//! # expect-warning: amlc::rule::selinux                  (valid files) one expected warning
//! ```
//!
//! Every failure is collected and reported at the end with the file name and the full stderr,
//! so one run shows every broken case.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_amlc");

fn corpus(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// One expected diagnostic from a file's header.
#[derive(Debug, Default)]
struct Expect {
    code: String,
    /// `None` when the header says `expect-at: none` (a diagnostic with no position).
    at: Option<(u64, u64)>,
    at_given: bool,
    message: Option<String>,
    helps: Vec<String>,
}

#[derive(Debug, Default)]
struct Header {
    errors: Vec<Expect>,
    warnings: BTreeSet<String>,
    problems: Vec<String>,
}

/// Reads the `# expect-*` lines from the comment block at the top of a file. The block ends
/// at the first line that is not a comment, so the header works even when the file's body
/// is not UTF-8 or not YAML.
fn header(bytes: &[u8]) -> Header {
    let text = String::from_utf8_lossy(bytes);
    let mut h = Header::default();
    for line in text.lines() {
        let Some(comment) = line.strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = comment.trim().split_once(':') else {
            continue;
        };
        let value = value.trim().to_owned();
        match key.trim() {
            "expect-code" => h.errors.push(Expect {
                code: value,
                ..Expect::default()
            }),
            "expect-warning" => {
                h.warnings.insert(value);
            }
            k @ ("expect-at" | "expect-message" | "expect-help") => {
                let Some(e) = h.errors.last_mut() else {
                    h.problems.push(format!("`{k}` before any `expect-code`"));
                    continue;
                };
                match k {
                    "expect-at" => {
                        e.at_given = true;
                        if value != "none" {
                            let parsed = value
                                .split_once(':')
                                .and_then(|(l, c)| Some((l.parse().ok()?, c.parse().ok()?)));
                            match parsed {
                                Some(lc) => e.at = Some(lc),
                                None => h.problems.push(format!("bad expect-at `{value}`")),
                            }
                        }
                    }
                    "expect-message" => e.message = Some(value),
                    _ => e.helps.push(value),
                }
            }
            k if k.starts_with("expect") => h.problems.push(format!("unknown header `{k}`")),
            _ => {}
        }
    }
    for e in &h.errors {
        if !e.at_given || e.message.is_none() {
            h.problems.push(format!(
                "`{}` needs both expect-at and expect-message",
                e.code
            ));
        }
    }
    h
}

fn run(args: &[&str], cwd: Option<&Path>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("NO_COLOR", "1");
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    cmd.output().expect("the amlc binary runs")
}

fn validate_json(file: &Path) -> Output {
    run(
        &["validate", "-c", file.to_str().unwrap(), "--output", "json"],
        None,
    )
}

fn str_field<'a>(d: &'a Value, field: &str) -> &'a str {
    d.get(field).and_then(Value::as_str).unwrap_or("")
}

fn position(d: &Value) -> Option<(u64, u64)> {
    Some((d.get("line")?.as_u64()?, d.get("column")?.as_u64()?))
}

fn show(d: &Value) -> String {
    let at = position(d).map_or("-".into(), |(l, c)| format!("{l}:{c}"));
    format!(
        "{} at {at}: {}",
        str_field(d, "code"),
        str_field(d, "message")
    )
}

/// Checks one run's output shape; returns the diagnostics or the reason they are unusable.
fn diagnostics(out: &Output, want_status: i32) -> Result<Vec<Value>, Vec<String>> {
    let mut problems = Vec::new();
    if out.status.code() != Some(want_status) {
        problems.push(format!(
            "exit status {:?}, expected {want_status}",
            out.status.code()
        ));
    }
    if !out.stdout.is_empty() {
        problems.push(format!(
            "stdout is not empty: {}",
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    let list = match serde_json::from_slice::<Value>(&out.stderr) {
        Ok(Value::Array(list)) => list,
        Ok(_) => {
            problems.push("stderr is JSON but not a list".into());
            return Err(problems);
        }
        Err(e) => {
            problems.push(format!("stderr is not JSON: {e}"));
            return Err(problems);
        }
    };
    // All at once, in file order.
    let positions: Vec<(u64, u64)> = list.iter().filter_map(position).collect();
    if positions.windows(2).any(|w| w[0] > w[1]) {
        problems.push(format!("diagnostics are not in file order: {positions:?}"));
    }
    if problems.is_empty() {
        Ok(list)
    } else {
        Err(problems)
    }
}

fn check_invalid(file: &Path) -> Vec<String> {
    let bytes = std::fs::read(file).unwrap();
    let h = header(&bytes);
    let mut problems = h.problems;
    if h.errors.is_empty() {
        problems.push("an invalid case needs at least one `# expect-code:` line".into());
    }
    let out = validate_json(file);
    let list = match diagnostics(&out, 2) {
        Ok(list) => list,
        Err(p) => {
            problems.extend(p);
            return problems;
        }
    };
    let errors: Vec<&Value> = list
        .iter()
        .filter(|d| str_field(d, "severity") == "error")
        .collect();
    for e in &h.errors {
        let same_code: Vec<&&Value> = errors
            .iter()
            .filter(|d| str_field(d, "code") == e.code)
            .collect();
        if same_code.is_empty() {
            problems.push(format!("no error `{}`", e.code));
            continue;
        }
        let found = same_code.iter().find(|d| {
            // A diagnostic without a position must say so with nulls, not omit the fields.
            let at_ok = match e.at {
                Some(lc) => position(d) == Some(lc),
                None => d["line"].is_null() && d["column"].is_null(),
            };
            at_ok
                && e.message
                    .as_ref()
                    .is_some_and(|m| str_field(d, "message").contains(m.as_str()))
        });
        let Some(d) = found else {
            let at = e.at.map_or("none".into(), |(l, c)| format!("{l}:{c}"));
            problems.push(format!(
                "no error `{}` at {at} with message containing {:?}; got: {}",
                e.code,
                e.message.as_deref().unwrap_or(""),
                same_code
                    .iter()
                    .map(|d| show(d))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
            continue;
        };
        for help in &e.helps {
            if !str_field(d, "help").contains(help.as_str()) {
                problems.push(format!(
                    "`{}`: help {:?} does not contain {help:?}",
                    e.code,
                    str_field(d, "help")
                ));
            }
        }
    }
    // Each case isolates its failure: no error it does not name.
    let expected: BTreeSet<&str> = h.errors.iter().map(|e| e.code.as_str()).collect();
    for d in &errors {
        if !expected.contains(str_field(d, "code")) {
            problems.push(format!("unexpected error {}", show(d)));
        }
    }
    problems
}

fn check_valid(file: &Path) -> Vec<String> {
    let bytes = std::fs::read(file).unwrap();
    let h = header(&bytes);
    let mut problems = h.problems;
    if !h.errors.is_empty() {
        problems.push("a valid case takes `expect-warning` lines, not `expect-code`".into());
    }
    let out = validate_json(file);
    let list = match diagnostics(&out, 0) {
        Ok(list) => list,
        Err(p) => {
            problems.extend(p);
            return problems;
        }
    };
    let mut warnings = BTreeSet::new();
    for d in &list {
        match str_field(d, "severity") {
            "warning" => {
                warnings.insert(str_field(d, "code").to_owned());
                if position(d).is_none() {
                    problems.push(format!("warning without a position: {}", show(d)));
                }
            }
            _ => problems.push(format!("not a warning: {}", show(d))),
        }
    }
    if warnings != h.warnings {
        problems.push(format!("warnings {warnings:?}, expected {:?}", h.warnings));
    }
    problems
}

fn report(kind: &str, failures: Vec<(PathBuf, Vec<String>)>) {
    let failures: Vec<_> = failures
        .into_iter()
        .filter(|(_, p)| !p.is_empty())
        .collect();
    if failures.is_empty() {
        return;
    }
    let mut s = format!("{} {kind} case(s) failed:\n", failures.len());
    for (file, problems) in &failures {
        let name = file.file_name().unwrap().to_string_lossy();
        s.push_str(&format!("\n=== {name}\n"));
        for p in problems {
            s.push_str(&format!("  - {p}\n"));
        }
        let stderr = validate_json(file).stderr;
        let stderr = String::from_utf8_lossy(&stderr);
        // The pathological files are long; their stderr is not.
        s.push_str(&format!("  stderr:\n{stderr}\n"));
    }
    panic!("{s}");
}

#[test]
fn invalid_configs_fail_with_located_diagnostics() {
    let files = corpus("invalid");
    assert!(
        files.len() >= 40,
        "the invalid corpus has {} files",
        files.len()
    );
    let results = files
        .iter()
        .map(|f| (f.clone(), check_invalid(f)))
        .collect();
    report("invalid", results);
}

#[test]
fn valid_configs_pass_with_exactly_the_expected_warnings() {
    let files = corpus("valid");
    for t in ["aks", "arc", "aro", "ocp"] {
        let typed = files.iter().any(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.lines().any(|l| l.trim() == format!("type: {t}"))
                && !text.contains("# expect-warning")
        });
        assert!(typed, "no warning-free valid config for cluster type {t}");
    }
    let results = files.iter().map(|f| (f.clone(), check_valid(f))).collect();
    report("valid", results);
}

/// Every diagnostic code of the validation pipeline has a corpus case, so a new rule cannot
/// land without one.
#[test]
fn every_validation_code_has_a_corpus_case() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("compiler/src");
    let sources = ["source.rs", "schema.rs", "rules.rs", "rules/tls.rs"];
    // Not reachable from a file on disk, or covered elsewhere:
    let exempt = [
        // Needs a certificate that expires within 30 days of the test run (unit-tested
        // with a fixed clock in rules/tls.rs).
        "amlc::rule::certificate-expiring",
        // The fallback for JSON Schema keywords the schema does not use.
        "amlc::schema::invalid",
        // Generated at run time below (a corpus file over 1 MiB is not committed).
        "amlc::source::too-large",
    ];
    let mut codes = BTreeSet::new();
    for s in sources {
        let text = std::fs::read_to_string(root.join(s)).unwrap();
        for (i, _) in text.match_indices("\"amlc::") {
            let rest = &text[i + 1..];
            let code = &rest[..rest.find('"').unwrap_or(0)];
            let known_stage = ["amlc::source::", "amlc::schema::", "amlc::rule::"]
                .iter()
                .any(|p| code.starts_with(p));
            if known_stage {
                codes.insert(code.to_owned());
            }
        }
    }
    let mut covered = BTreeSet::new();
    for f in corpus("invalid").iter().chain(corpus("valid").iter()) {
        let h = header(&std::fs::read(f).unwrap());
        covered.extend(h.errors.into_iter().map(|e| e.code));
        covered.extend(h.warnings);
    }
    let missing: Vec<&String> = codes
        .iter()
        .filter(|c| !covered.contains(*c) && !exempt.contains(&c.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a case in tests/invalid or tests/valid: {missing:?}"
    );
}

#[test]
fn text_output_of_a_deep_enum_error_names_file_line_column_and_a_fix() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/invalid/schema-enum-three-levels-deep.yaml");
    let h = header(&std::fs::read(&file).unwrap());
    let (line, column) = h.errors[0].at.unwrap();
    let out = run(
        &["validate", "-c", file.to_str().unwrap(), "--output", "text"],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let location = format!("{}:{line}:{column}", file.display());
    assert!(
        stderr.contains(&location),
        "text output lacks {location}; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("did you mean `ReadWriteMany`?"),
        "text output lacks the suggestion; stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes with NO_COLOR; stderr:\n{stderr}"
    );
}

#[test]
fn a_file_over_one_mebibyte_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("huge.yaml");
    let mut text =
        String::from("apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: aks\n");
    let line = format!("# {}\n", "x".repeat(1022));
    while text.len() <= 1024 * 1024 {
        text.push_str(&line);
    }
    std::fs::write(&file, &text).unwrap();
    let out = validate_json(&file);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let list = diagnostics(&out, 2).unwrap_or_else(|p| panic!("{p:?}; stderr:\n{stderr}"));
    assert!(
        list.iter()
            .any(|d| str_field(d, "code") == "amlc::source::too-large"
                && str_field(d, "message").contains("at most 1048576 bytes")),
        "stderr:\n{stderr}"
    );
}

#[test]
fn pathological_inputs_end_with_an_error() {
    // Alias bomb and 20,000-deep nesting: they must end (quickly, no stack overflow) with a
    // diagnostic, in both output formats.
    for name in [
        "source-alias-bomb.yaml",
        "source-too-deep-flow-list.yaml",
        "source-too-deep-flow-map.yaml",
    ] {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/invalid")
            .join(name);
        for format in ["json", "text"] {
            let out = run(
                &["validate", "-c", file.to_str().unwrap(), "--output", format],
                None,
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{name} ({format}); stderr:\n{stderr}"
            );
            assert!(out.stdout.is_empty(), "{name} ({format}) wrote to stdout");
            assert!(
                stderr.contains("amlc::source::"),
                "{name} ({format}); stderr:\n{stderr}"
            );
        }
    }
}

#[test]
fn no_config_in_an_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["validate"], Some(dir.path()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("amlc.yaml"), "stderr:\n{stderr}");
}

#[test]
fn config_paths_that_are_not_files() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().to_str().unwrap().to_owned();
    let missing = dir.path().join("missing.yaml");
    let missing = missing.to_str().unwrap();
    let rows: [(&str, &str, &str); 2] = [
        (&folder, "amlc::io::is-a-folder", "is a folder"),
        (missing, "amlc::io::unreadable", "no such file"),
    ];
    for (path, code, message) in rows {
        let out = run(&["validate", "-c", path, "--output", "json"], None);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let list =
            diagnostics(&out, 2).unwrap_or_else(|p| panic!("-c {path}: {p:?}; stderr:\n{stderr}"));
        assert!(
            list.iter().any(|d| str_field(d, "code") == code
                && str_field(d, "message").contains(message)
                && str_field(d, "message").contains(path)),
            "-c {path}: expected {code}; stderr:\n{stderr}"
        );
    }
}
