//! Golden cases of the Terraform target (`golden-terraform/<case>/amlc.yaml` ->
//! `expected/main.tf`, `variables.tf`, `outputs.tf`), driven through the library. Also
//! proves, for every case: each file parses as HCL (hcl-rs), names only the arguments the
//! azurerm provider documents for its block type (tests/data/terraform/azurerm-arguments.txt)
//! and reads only documented attributes, carries no key material, keeps secrets in
//! `sensitive` variables without a default, and is laid out as `terraform fmt` lays it out.
//!
//! Re-bless: `UPDATE_GOLDEN=1 cargo test --test integration terraform::`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::compare;
use amlc::diagnostic::Source;
use amlc::terraform::{self, TerraformOutput};
use amlc::validate::{self, Host, Validated};
use base64::Engine as _;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Reads files relative to a case folder; a fixed clock, so output never depends on today.
pub struct CaseHost(pub PathBuf);

impl Host for CaseHost {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        std::fs::read(self.0.join(path)).map_err(|e| format!("cannot read {path}: {e}"))
    }
    fn now_unix(&self) -> i64 {
        1_767_225_600 // 2026-01-01T00:00:00Z
    }
}

/// The case folders of a golden directory (`golden-terraform`, `golden-aso`, ...).
pub fn cases_in(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}/: {e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("amlc.yaml").is_file())
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no cases in {dir}/");
    v
}

pub fn name(case: &Path) -> String {
    case.file_name().unwrap().to_string_lossy().into_owned()
}

pub fn load(case: &Path) -> Validated {
    let text = std::fs::read_to_string(case.join("amlc.yaml")).unwrap();
    let source = Source::new(format!("{}/amlc.yaml", name(case)), text);
    validate::validate(&source, &CaseHost(case.to_path_buf())).unwrap_or_else(|d| {
        panic!(
            "{}: config invalid:\n{}",
            name(case),
            amlc::diagnostic::render_text(&d, false, 80)
        )
    })
}

fn cases() -> Vec<PathBuf> {
    cases_in("golden-terraform")
}

fn build(case: &Path) -> TerraformOutput {
    terraform::module(&load(case)).unwrap_or_else(|d| {
        panic!(
            "{}: terraform target failed:\n{}",
            name(case),
            amlc::diagnostic::render_text(&d, false, 80)
        )
    })
}

fn file<'a>(out: &'a TerraformOutput, file: &str) -> &'a str {
    &out.files.iter().find(|(n, _)| *n == file).unwrap().1
}

#[test]
fn golden_modules_match() {
    let mut failures = Vec::new();
    for case in cases() {
        for (file, text) in build(&case).files {
            compare(&case.join("expected").join(file), &text, &mut failures);
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatch (re-bless with UPDATE_GOLDEN=1 cargo test --test integration terraform::):\n{}",
        failures.join("\n")
    );
}

#[test]
fn output_is_deterministic_and_three_files() {
    for case in cases() {
        let a = build(&case);
        assert_eq!(a, build(&case), "{}", name(&case));
        let names: Vec<&str> = a.files.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["main.tf", "variables.tf", "outputs.tf"]);
        for (_, text) in &a.files {
            assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
            assert!(!text.contains('\t') && !text.contains('\r'));
        }
    }
}

// ---------------------------------------------------------------- documented arguments

/// The vendored list: `<kind> <type>[.<block>]` -> names.
pub fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let text =
        std::fs::read_to_string(root().join("tests/data/terraform/azurerm-arguments.txt")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (head, names) = l.split_once(':').expect("`kind type: names`");
            (
                head.trim().to_owned(),
                names.split_whitespace().map(str::to_owned).collect(),
            )
        })
        .collect()
}

fn label(l: &hcl::BlockLabel) -> String {
    l.as_str().to_owned()
}

/// Every argument and nested block name in a body, checked against `allowed[key]`.
fn check_body(
    body: &hcl::Body,
    key: &str,
    allowed: &BTreeMap<String, BTreeSet<String>>,
    problems: &mut Vec<String>,
) {
    let Some(names) = allowed.get(key) else {
        problems.push(format!("{key}: not a documented block type"));
        return;
    };
    if names.contains("*") {
        return;
    }
    for a in body.attributes() {
        if !names.contains(a.key()) {
            problems.push(format!("{key}: `{}` is not a documented argument", a.key()));
        }
    }
    for b in body.blocks() {
        if !names.contains(b.identifier()) {
            problems.push(format!(
                "{key}: block `{}` is not documented",
                b.identifier()
            ));
            continue;
        }
        let nested = format!("{key}.{}", b.identifier());
        // Empty blocks such as `features {}` name nothing.
        if b.body().iter().next().is_some() && key != "terraform terraform" {
            check_body(b.body(), &nested, allowed, problems);
        }
    }
}

fn check_file(text: &str, allowed: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let body = hcl::parse(text).unwrap_or_else(|e| panic!("not HCL: {e}\n{text}"));
    let mut problems = Vec::new();
    for block in body.blocks() {
        let kind = block.identifier();
        let key = match kind {
            "resource" | "data" | "provider" => {
                format!("{kind} {}", label(&block.labels()[0]))
            }
            other => format!("{other} {other}"),
        };
        check_body(block.body(), &key, allowed, &mut problems);
    }
    assert!(
        body.attributes().next().is_none(),
        "top-level attributes are not Terraform"
    );
    problems
}

/// Attributes read from other blocks (`TYPE.NAME.ATTR`, `data.TYPE.NAME.ATTR`) are ones the
/// provider documents for that type.
fn check_references(text: &str, allowed: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let re = regex::Regex::new(
        r"(?:data\.)?\b(azurerm_[a-z0-9_]+)\.([a-z0-9_]+)((?:\.[a-z_]+|\[\d+\])+)",
    )
    .unwrap();
    let mut problems = Vec::new();
    for cap in re.captures_iter(text) {
        let ty = &cap[1];
        // Block headers (`resource "azurerm_x" "y"`) are quoted, so they never match.
        let path: Vec<&str> = cap[3]
            .split(['.', '['])
            .filter(|s| !s.is_empty() && !s.ends_with(']'))
            .collect();
        let attr = path.join(".");
        let attrs = allowed.get(&format!("attributes {ty}"));
        let args = allowed
            .get(&format!("resource {ty}"))
            .or_else(|| allowed.get(&format!("data {ty}")));
        let known =
            attrs.is_some_and(|a| a.contains(&attr)) || args.is_some_and(|a| a.contains(&attr));
        if !known {
            problems.push(format!("{ty}: `{attr}` is not a documented attribute"));
        }
    }
    problems
}

#[test]
fn every_golden_module_parses_as_hcl_and_names_only_documented_arguments() {
    let allowed = documented();
    for case in cases() {
        let out = build(&case);
        for (file, text) in &out.files {
            let mut problems = check_file(text, &allowed);
            problems.extend(check_references(text, &allowed));
            assert!(problems.is_empty(), "{}/{file}: {problems:#?}", name(&case));
        }
    }
}

#[test]
fn the_argument_check_catches_an_undocumented_argument() {
    let allowed = documented();
    let text = "resource \"azurerm_kubernetes_cluster_extension\" \"x\" {\n  auto_upgrade_minor_version = true\n  identity {\n    type = \"SystemAssigned\"\n  }\n}\n";
    let problems = check_file(text, &allowed);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(!check_references("azurerm_relay_namespace.x.bogus", &allowed).is_empty());
}

#[test]
fn the_extension_resource_and_cluster_source_follow_the_cluster_type() {
    for case in cases() {
        let v = load(&case);
        let out = build(&case);
        let main = file(&out, "main.tf");
        let body = hcl::parse(main).unwrap();
        let resources: Vec<String> = body
            .blocks()
            .filter(|b| b.identifier() == "resource")
            .map(|b| label(&b.labels()[0]))
            .collect();
        let arc = v.config.cluster.cluster_type.is_arc_connected();
        let want = if arc {
            "azurerm_arc_kubernetes_cluster_extension"
        } else {
            "azurerm_kubernetes_cluster_extension"
        };
        assert!(resources.iter().any(|r| r == want), "{}", name(&case));
        let relay = resources
            .iter()
            .filter(|r| r.starts_with("azurerm_relay"))
            .count();
        assert_eq!(
            relay,
            if amlc::arm::creates_relay(&v.config) {
                3
            } else {
                0
            },
            "{}",
            name(&case)
        );
        // The region and id come from the cluster itself, never from config text.
        assert!(main.contains("data \"azurerm_resources\" \"cluster\""));
        if let Some(loc) = &v.config.cluster.location {
            assert!(!main.contains(&format!("\"{loc}\"")), "{}", name(&case));
        }
        assert!(main.contains("required_providers"));
        assert!(main.contains(&format!("version = \"{}\"", terraform::AZURERM_VERSION)));
        assert_eq!(
            main.contains("\n  version "),
            !v.config.extension.auto_upgrade_minor_version,
            "{}: version iff pinned",
            name(&case)
        );
    }
}

// ---------------------------------------------------------------- secrets

#[test]
fn no_key_material_and_secrets_only_in_sensitive_variables() {
    let tls = root().join("tests/data/tls");
    let cert = std::fs::read_to_string(tls.join("cert.pem")).unwrap();
    let key = std::fs::read_to_string(tls.join("key.pem")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut needles: Vec<String> = vec![b64.encode(&cert), b64.encode(&key)];
    for pem in [&cert, &key] {
        needles.extend(
            pem.lines()
                .filter(|l| !l.starts_with("-----") && l.len() > 16)
                .map(str::to_owned),
        );
    }
    let var_ref = regex::Regex::new(r"var\.([a-z0-9_]+)").unwrap();
    let mut saw_tls = false;
    for case in cases() {
        let out = build(&case);
        for (file, text) in &out.files {
            for n in &needles {
                assert!(
                    !text.contains(n.as_str()),
                    "{}/{file}: key material",
                    name(&case)
                );
            }
            assert!(!text.contains("BEGIN"), "{}/{file}: a PEM", name(&case));
        }
        // Every variable a protected setting reads is sensitive and has no default.
        let vars = hcl::parse(file(&out, "variables.tf")).unwrap();
        let sensitive: BTreeMap<String, bool> = vars
            .blocks()
            .map(|b| {
                let has = |k: &str| b.body().attributes().any(|a| a.key() == k);
                let is_sensitive = b
                    .body()
                    .attributes()
                    .any(|a| a.key() == "sensitive" && a.expr().to_string() == "true");
                assert!(
                    !(is_sensitive && has("default")),
                    "{}: a sensitive variable with a default",
                    name(&case)
                );
                (label(&b.labels()[0]), is_sensitive)
            })
            .collect();
        let main = hcl::parse(file(&out, "main.tf")).unwrap();
        let ext = main
            .blocks()
            .find(|b| {
                b.identifier() == "resource" && label(&b.labels()[0]).ends_with("cluster_extension")
            })
            .unwrap();
        if let Some(ps) = ext
            .body()
            .attributes()
            .find(|a| a.key() == "configuration_protected_settings")
        {
            let text = ps.expr().to_string();
            for var in var_ref.captures_iter(&text) {
                saw_tls |= &var[1] == "ssl_key_pem_base64";
                assert_eq!(
                    sensitive.get(&var[1]),
                    Some(&true),
                    "{}: {}",
                    name(&case),
                    &var[1]
                );
            }
        }
    }
    assert!(saw_tls, "no case exercises the TLS variables");
}

// ---------------------------------------------------------------- layout

/// `terraform fmt`'s alignment: in a run of consecutive one-line `name = value` lines, every
/// `=` sits one space after the longest name; indents are two spaces per level.
fn misaligned(text: &str) -> Vec<String> {
    fn check(run: &[(usize, &str)], problems: &mut Vec<String>) {
        let name_end = |l: &str| l[..l.find(" =").unwrap()].trim_end().len();
        let Some(widest) = run.iter().map(|(_, l)| name_end(l)).max() else {
            return;
        };
        for (n, l) in run {
            if l.find(" =").unwrap() != widest {
                problems.push(format!("line {n}: `=` not aligned: {l}"));
            }
        }
    }
    let is_one_line = |l: &str| {
        let t = l.trim_start();
        !t.starts_with('#') && t.contains(" = ") && !t.ends_with('{')
    };
    let mut problems = Vec::new();
    let mut run = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if (line.len() - line.trim_start().len()) % 2 != 0 {
            problems.push(format!("line {}: odd indent", n + 1));
        }
        if is_one_line(line) {
            run.push((n + 1, line));
        } else {
            check(&run, &mut problems);
            run.clear();
        }
    }
    check(&run, &mut problems);
    problems
}

#[test]
fn files_are_laid_out_as_terraform_fmt_lays_them_out() {
    for case in cases() {
        for (file, text) in build(&case).files {
            let problems = misaligned(&text);
            assert!(problems.is_empty(), "{}/{file}: {problems:#?}", name(&case));
        }
    }
    assert!(!misaligned("a = 1\nbb = 2\n").is_empty());
}

/// With terraform on PATH, `terraform fmt` itself changes nothing (skipped without it; the
/// alignment test above holds either way).
#[test]
fn terraform_fmt_changes_nothing_when_terraform_is_installed() {
    let probe = std::process::Command::new("terraform")
        .arg("version")
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("terraform not on PATH: fmt check skipped");
        return;
    }
    for case in cases() {
        for (file, text) in build(&case).files {
            let mut child = std::process::Command::new("terraform")
                .args(["fmt", "-no-color", "-"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}/{file}: terraform fmt failed",
                name(&case)
            );
            assert_eq!(
                String::from_utf8(out.stdout).unwrap(),
                text,
                "{}/{file}: terraform fmt would change it",
                name(&case)
            );
        }
    }
}

#[test]
fn the_cli_needs_an_output_folder_and_writes_the_module() {
    let amlc = env!("CARGO_BIN_EXE_amlc");
    let case = root().join("golden-terraform/arc-relay");
    let out = std::process::Command::new(amlc)
        .args(["build", "--target", "terraform", "-c"])
        .arg(case.join("amlc.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("-o DIR"));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("infra");
    let out = std::process::Command::new(amlc)
        .args(["build", "--target", "terraform", "-c"])
        .arg(case.join("amlc.yaml"))
        .arg("-o")
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["main.tf", "variables.tf", "outputs.tf"] {
        assert_eq!(
            std::fs::read_to_string(target.join(f)).unwrap(),
            std::fs::read_to_string(case.join("expected").join(f)).unwrap(),
            "{f}"
        );
    }
}
