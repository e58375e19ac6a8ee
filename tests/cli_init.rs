//! The editor and shell side through the binary: `amlc init` for every cluster type writes a
//! config `amlc validate` and `amlc build` accept, and never overwrites without `--force`;
//! `amlc completions` for every shell; `amlc man`; `amlc --version`.

use crate::common;

use common::run;

#[test]
fn init_writes_a_valid_config_for_every_cluster_type() {
    let dir = tempfile::tempdir().unwrap();
    for t in ["aks", "arc", "aro", "ocp"] {
        let file = format!("{t}.yaml");
        let (code, stdout, stderr) = run(dir.path(), &["init", "--cluster-type", t, "-o", &file]);
        assert_eq!((code, stdout.as_str()), (0, ""), "{t}: {stderr}");
        let text = std::fs::read_to_string(dir.path().join(&file)).unwrap();
        // The modeline names a schema file that is there, and is amlc's schema.
        let target = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# yaml-language-server: $schema="))
            .unwrap_or_else(|| panic!("{t}: no modeline: {text}"));
        assert!(
            !target.contains("://"),
            "{t}: the modeline needs the network: {target}"
        );
        let schema = std::fs::read_to_string(dir.path().join(target))
            .unwrap_or_else(|e| panic!("{t}: the modeline's {target}: {e}"));
        let (_, printed, _) = run(dir.path(), &["schema"]);
        assert_eq!(schema, printed, "{t}");
        assert!(text.contains(&format!("  type: {t}\n")), "{t}");
        let (code, _, stderr) = run(dir.path(), &["validate", "-c", &file]);
        assert_eq!(code, 0, "{t}: amlc validate rejects the starter: {stderr}");
        assert!(
            !stderr.contains("error"),
            "{t}: the starter has errors: {stderr}"
        );
        let (code, stdout, stderr) = run(dir.path(), &["build", "-c", &file]);
        assert_eq!(code, 0, "{t}: {stderr}");
        assert!(stdout.contains("kind: Deployment"), "{t}");
    }
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("amlc.yaml");
    std::fs::write(&path, "# mine\n").unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["init"]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(
        stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");

    let (code, _, stderr) = run(dir.path(), &["init", "--cluster-type", "arc", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("  type: arc\n"), "{text}");
    assert_eq!(run(dir.path(), &["validate"]).0, 0);
}

#[test]
fn init_to_stdout_prints_the_starter() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(dir.path(), &["init", "-o", "-"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("kind: ExtensionConfig"));
    assert!(!dir.path().join("amlc.yaml").exists());
}

#[test]
fn completions_generate_for_every_shell() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef amlc"),
        ("fish", "complete -c amlc"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let (code, stdout, stderr) = run(dir.path(), &["completions", shell]);
        assert_eq!(code, 0, "{shell}: {stderr}");
        assert!(stdout.contains(marker), "{shell}: no `{marker}`");
        // Subcommands and their flags are completed.
        assert!(
            stdout.contains("build") && stdout.contains("cluster-type"),
            "{shell}"
        );
    }
    let (code, _, _) = run(dir.path(), &["completions", "tcsh"]);
    assert_eq!(code, 2, "an unknown shell is a usage error");
}

#[test]
fn man_renders_a_roff_page() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(dir.path(), &["man"]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with(".ie") || stdout.contains(".TH amlc"),
        "{stdout}"
    );
    assert!(stdout.contains("build") && stdout.contains("completions"));
}

/// Every page amlc(1) names in its list of subcommands is one `amlc man SUBCOMMAND` prints.
#[test]
fn every_subcommand_page_amlc_1_names_exists() {
    let dir = tempfile::tempdir().unwrap();
    let (_, main, _) = run(dir.path(), &["man"]);
    let named: Vec<&str> = main
        .lines()
        .filter_map(|l| l.strip_prefix("amlc\\-")?.strip_suffix("(1)"))
        .collect();
    assert!(named.len() >= 10, "{named:?}");
    for sub in named {
        let (code, page, stderr) = run(dir.path(), &["man", sub]);
        assert_eq!(code, 0, "{sub}: {stderr}");
        assert!(
            page.contains(&format!(".TH amlc-{sub} 1")),
            "amlc-{sub}(1): {}",
            &page[..page.len().min(300)]
        );
    }
}

#[test]
fn version_lists_the_known_extension_releases() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(dir.path(), &["--version"]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with(&format!("amlc {}", env!("CARGO_PKG_VERSION")))
            && stdout.contains("extension releases"),
        "{stdout}"
    );
}
