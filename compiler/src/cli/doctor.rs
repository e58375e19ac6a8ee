//! `amlc doctor`: builds the config, reads the live cluster (GET only), prints the
//! findings; exit 0 no error (warnings printed), 1 an error, 2 invalid input, 3 the cluster
//! could not be reached.

use std::time::Duration;

use amlc::diff::live::{LiveOptions, Unreachable};
use amlc::doctor::{self, Severity};

use super::ExitStatus;
use super::args::{DiagnosticsFormat, DoctorArgs};
use super::io;

pub fn run(args: &DoctorArgs) -> ExitStatus {
    let validated = match io::validate_config(args.config.as_deref(), true) {
        Ok(v) => v,
        Err(d) => {
            io::print_diagnostics(&d);
            return ExitStatus::Invalid;
        }
    };
    let catalog = match amlc::catalog::Catalog::embedded() {
        Ok(c) => c,
        Err(d) => {
            io::print_diagnostics(&d);
            return ExitStatus::Invalid;
        }
    };
    let build = match amlc::build(&validated, &catalog) {
        Ok(b) => b,
        Err(d) => {
            io::print_diagnostics(&d);
            return ExitStatus::Invalid;
        }
    };
    let opts = LiveOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        timeout: Duration::from_secs(args.timeout),
        ..LiveOptions::default()
    };
    let findings = match doctor::run(&validated.config, &build, &opts) {
        Ok(f) => f,
        Err(Unreachable(reason)) => {
            // One line, so CI logs and scripts show the reason as it is.
            eprintln!("error: {reason}");
            return ExitStatus::Unreachable;
        }
    };
    let text = match args.output {
        DiagnosticsFormat::Text => doctor::render_text(&findings),
        DiagnosticsFormat::Json => doctor::render_json(&findings),
    };
    io::print_stdout(&text);
    // The config's own warnings (amlc validate's business) after the cluster's findings,
    // and only once the cluster was read: an unreachable cluster is one line.
    io::print_diagnostics(&validated.warnings);
    if args.output == DiagnosticsFormat::Json {
        eprintln!("{}", doctor::summary(&findings));
    }
    if findings.iter().any(|f| f.severity == Severity::Error) {
        ExitStatus::Differs
    } else {
        ExitStatus::Success
    }
}
