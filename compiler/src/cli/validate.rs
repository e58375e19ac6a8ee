//! `amlc validate`: schema and rules only.

use amlc::diagnostic::{self, Diagnostic};
use amlc::validate::validate;

use super::ExitStatus;
use super::args::{DiagnosticsFormat, ValidateArgs};
use super::io::{self, ConfigChoice, FsHost};

pub fn run(args: &ValidateArgs) -> ExitStatus {
    let diagnostics = match check(args) {
        Ok(warnings) => warnings,
        Err(all) => all,
    };
    let failed = diagnostic::has_errors(&diagnostics);
    match args.output {
        DiagnosticsFormat::Text => io::print_diagnostics(&diagnostics),
        // Diagnostics go to stderr in every format (DESIGN.md: nothing on stdout on error);
        // tools read the JSON list with `2>&1` or `2>file`.
        DiagnosticsFormat::Json => eprint!("{}", diagnostic::render_json(&diagnostics)),
    }
    if failed {
        ExitStatus::Invalid
    } else {
        ExitStatus::Success
    }
}

fn check(args: &ValidateArgs) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
    let ConfigChoice::File(path) =
        io::choose_config(args.config.as_deref(), false).map_err(|d| vec![d])?
    else {
        unreachable!("choose_config without the embedded default returns a file")
    };
    let source = io::read_source(&path).map_err(|d| vec![d])?;
    let host = FsHost {
        base: io::config_dir(&path),
    };
    validate(&source, &host).map(|v| v.warnings)
}
