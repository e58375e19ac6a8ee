//! `amlc diff`: renders the config, reads the other side (`--against PATH` or
//! `--cluster`), compares, prints the report; exit 0 same, 1 differs, 2 invalid input,
//! 3 cannot reach the cluster.
//!
//! Everything but I/O lives in `amlc::diff`; this module turns arguments into a library
//! request and the result into output and an exit status.

use std::io::IsTerminal as _;
use std::path::Path;
use std::time::Duration;

use amlc::diagnostic::Diagnostic;
use amlc::diff::{self, IgnoreSet, live, load, output};
use amlc::validate::{self, Validated};
use serde_json::Value;

use super::ExitStatus;
use super::args::{DiffArgs, DiffFormat};
use super::io;

/// How rendered objects are produced from a validated config.
pub type RenderFn<'a> = &'a dyn Fn(&Validated) -> Result<Vec<Value>, Vec<Diagnostic>>;

/// The rendered objects of a config, in install order: exactly what `amlc build --target
/// yaml` prints, as values.
pub fn render_objects(validated: &Validated) -> Result<Vec<Value>, Vec<Diagnostic>> {
    let catalog = amlc::catalog::Catalog::embedded()?;
    amlc::build(validated, &catalog).map(|b| {
        b.objects
            .into_iter()
            .map(amlc::manifest::Manifest::into_value)
            .collect()
    })
}

pub fn run(args: &DiffArgs) -> ExitStatus {
    run_with(args, &render_objects)
}

/// `amlc diff` with the renderer passed in, so tests can run the command on objects they
/// build by hand.
pub fn run_with(args: &DiffArgs, render: RenderFn<'_>) -> ExitStatus {
    let validated = match io::load(args.config.as_deref(), false) {
        Ok(v) => v,
        Err(status) => return status,
    };
    let ignore = match ignore_rules(args, &validated) {
        Ok(set) => set,
        Err(diagnostics) => {
            io::print_diagnostics(&diagnostics);
            return ExitStatus::Invalid;
        }
    };
    let rendered = match render(&validated) {
        Ok(objects) => objects,
        Err(diagnostics) => {
            io::print_diagnostics(&diagnostics);
            return ExitStatus::Invalid;
        }
    };
    let side = match &args.against {
        Some(path) => {
            let render_config = |p: &Path| render_config_file(p, render);
            match load::load_against(path, &render_config) {
                Ok(side) => side,
                Err(diagnostics) => {
                    io::print_diagnostics(&diagnostics);
                    return ExitStatus::Invalid;
                }
            }
        }
        None => {
            let opts = live::LiveOptions {
                kubeconfig: args.kubeconfig.clone(),
                context: args.context.clone(),
                timeout: Duration::from_secs(args.timeout),
                ..live::LiveOptions::default()
            };
            match live::fetch(&rendered, &opts) {
                Ok(side) => side,
                Err(live::Unreachable(reason)) => {
                    // One line, so CI logs and scripts show the reason as it is.
                    eprintln!("error: {reason}");
                    return ExitStatus::Unreachable;
                }
            }
        }
    };
    let opts = diff::Options {
        instance: validated.config.name().to_owned(),
        ignore,
    };
    let report = diff::diff(&rendered, &side, &opts);
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let text = match args.output {
        DiffFormat::Text => {
            output::render_text(&report, io::use_color(std::io::stdout().is_terminal()))
        }
        DiffFormat::Markdown => output::render_markdown(&report),
        DiffFormat::Json => output::render_json(&report),
    };
    io::print_stdout(&text);
    if report.has_differences() {
        ExitStatus::Differs
    } else {
        ExitStatus::Success
    }
}

/// The config's `diff.ignore` rules plus those of `--ignore FILE`.
fn ignore_rules(args: &DiffArgs, validated: &Validated) -> Result<IgnoreSet, Vec<Diagnostic>> {
    let mut set = IgnoreSet::compile(&validated.config.diff.ignore, "diff.ignore")?;
    if let Some(path) = &args.ignore {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![
                Diagnostic::error(
                    "amlc::io::unreadable",
                    format!("cannot read {name}: {}", io::io_reason(&e)),
                )
                .with_help("check the path given with --ignore"),
            ]
        })?;
        let rules = diff::ignore::parse_file(&name, &text)?;
        set.extend(IgnoreSet::compile(&rules, &name)?);
    }
    Ok(set)
}

/// Renders another amlc config given as `--against` (its relative paths resolve from
/// its own folder).
fn render_config_file(path: &Path, render: RenderFn<'_>) -> Result<Vec<Value>, Vec<Diagnostic>> {
    let source = io::read_source(path).map_err(|d| vec![d])?;
    let host = io::FsHost {
        base: io::config_dir(path),
    };
    let validated = validate::validate(&source, &host)?;
    io::print_diagnostics(&validated.warnings);
    render(&validated)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use clap::Parser as _;
    use serde_json::{Value, json};

    use super::*;
    use crate::cli::args::{Cli, Command};

    /// A config, its folder, and a renderer that returns `objects` for any config.
    struct Case {
        dir: tempfile::TempDir,
    }

    impl Case {
        fn new() -> Case {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(
                dir.path().join("amlc.yaml"),
                "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: aks\n",
            )
            .unwrap();
            Case { dir }
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn run(&self, extra: &[&str], objects: &[Value]) -> ExitStatus {
            let config = self.path("amlc.yaml");
            let mut argv = vec!["amlc", "diff", "-c", config.to_str().unwrap()];
            argv.extend_from_slice(extra);
            let Command::Diff(args) = Cli::try_parse_from(argv).unwrap().command else {
                panic!("diff expected")
            };
            let render = |_: &Validated| Ok(objects.to_vec());
            run_with(&args, &render)
        }
    }

    fn config_map(value: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "c", "namespace": "azureml", "labels": {"amlc/instance": "azureml"}},
               "data": {"k": value}})
    }

    fn write_render(path: &Path, objects: &[Value]) {
        let text: String = objects
            .iter()
            .map(|o| format!("---\n{}", serde_yaml_ng::to_string(o).unwrap()))
            .collect();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn exit_0_when_the_same_and_1_when_different() {
        let case = Case::new();
        let previous = case.path("previous.yaml");
        write_render(&previous, &[config_map("a")]);
        let against = ["--against", previous.to_str().unwrap()];
        assert_eq!(case.run(&against, &[config_map("a")]), ExitStatus::Success);
        assert_eq!(case.run(&against, &[config_map("b")]), ExitStatus::Differs);
        let mut json = against.to_vec();
        json.extend(["--output", "json"]);
        assert_eq!(case.run(&json, &[config_map("b")]), ExitStatus::Differs);
    }

    #[test]
    fn exit_2_for_a_missing_against_path_or_a_bad_ignore_file() {
        let case = Case::new();
        let missing = case.path("missing.yaml");
        assert_eq!(
            case.run(&["--against", missing.to_str().unwrap()], &[]),
            ExitStatus::Invalid
        );
        let previous = case.path("previous.yaml");
        write_render(&previous, &[config_map("a")]);
        let ignore = case.path("ignore.yaml");
        std::fs::write(&ignore, "- paths: [no-leading-slash]\n").unwrap();
        let args = [
            "--against",
            previous.to_str().unwrap(),
            "--ignore",
            ignore.to_str().unwrap(),
        ];
        assert_eq!(case.run(&args, &[config_map("a")]), ExitStatus::Invalid);
    }

    #[test]
    fn ignore_file_rules_do_not_count() {
        let case = Case::new();
        let previous = case.path("previous.yaml");
        write_render(&previous, &[config_map("a")]);
        let ignore = case.path("ignore.yaml");
        std::fs::write(
            &ignore,
            "ignore:\n- paths: [/data/k]\n  target: {kind: ConfigMap, name: c}\n",
        )
        .unwrap();
        let args = [
            "--against",
            previous.to_str().unwrap(),
            "--ignore",
            ignore.to_str().unwrap(),
        ];
        assert_eq!(case.run(&args, &[config_map("b")]), ExitStatus::Success);
    }

    #[test]
    fn exit_3_when_the_cluster_refuses_the_connection() {
        let case = Case::new();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let kubeconfig = case.path("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster: {{server: 'http://127.0.0.1:{port}'}}\nusers:\n- name: t\n  user: {{token: x}}\ncontexts:\n- name: t\n  context: {{cluster: t, user: t}}\ncurrent-context: t\n"
            ),
        )
        .unwrap();
        let args = [
            "--cluster",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--timeout",
            "5",
        ];
        assert_eq!(case.run(&args, &[config_map("a")]), ExitStatus::Unreachable);
        // A kubeconfig that cannot be read is exit 3 too (the cluster cannot be reached).
        let missing = case.path("no-kubeconfig");
        let args = ["--cluster", "--kubeconfig", missing.to_str().unwrap()];
        assert_eq!(case.run(&args, &[config_map("a")]), ExitStatus::Unreachable);
    }

    #[test]
    fn an_invalid_config_is_exit_2_before_anything_is_read() {
        let case = Case::new();
        std::fs::write(
            case.path("amlc.yaml"),
            "apiVersion: amlc/v1\nkind: ExtensionConfig\n",
        )
        .unwrap();
        assert_eq!(case.run(&["--cluster"], &[]), ExitStatus::Invalid);
    }
}
