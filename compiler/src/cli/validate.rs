//! `amlc validate`: schema and rules only.

use amlc::diagnostic::{self, Diagnostic};

use super::ExitStatus;
use super::args::{DiagnosticsFormat, ValidateArgs};
use super::io;

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
    io::validate_config(args.config.as_deref(), false).map(|v| v.warnings)
}
