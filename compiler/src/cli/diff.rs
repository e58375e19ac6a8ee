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

// ---- TEMPORARY BRIDGE ---------------------------------------------------------------
/// The rendered objects of a config, in install order.
///
/// TEMPORARY: `amlc build`'s renderer lives on another branch. When merging, replace this
/// body with a call to the renderer (the same objects `amlc build --target yaml` prints,
/// as `serde_json::Value`s). Nothing else in `amlc diff` needs to change.
pub fn render_objects(_validated: &Validated) -> Result<Vec<Value>, Vec<Diagnostic>> {
    Err(vec![Diagnostic::error(
        "amlc::cli::unavailable",
        "rendering is not wired yet: amlc diff needs the renderer of amlc build",
    )])
}
// ---- END TEMPORARY BRIDGE -----------------------------------------------------------

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
