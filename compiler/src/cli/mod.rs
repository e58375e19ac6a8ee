//! The command line: parses arguments, calls the library, prints, returns an exit code.
//! One small module per subcommand; shared I/O lives in `io`.

pub mod args;
mod build;
mod diff;
mod doctor;
mod init;
mod installer;
pub mod io;
mod plan;
mod taints;
mod validate;

use args::{Cli, Command};

/// Exit codes, fixed by DESIGN.md ("Command contract"; `doctor` uses 1 for an error found).
#[allow(
    dead_code,
    reason = "Differs and Unreachable arrive with build --check and diff"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Success; for `diff`, no differences; for `build --check`, up to date.
    Success = 0,
    /// `diff`: differences found; `build --check`: the output is stale.
    Differs = 1,
    /// Invalid input or usage.
    Invalid = 2,
    /// `diff --cluster`: the cluster could not be reached.
    Unreachable = 3,
}

pub fn run(cli: Cli) -> ExitStatus {
    match cli.command {
        Command::Build(a) => build::run(&a),
        Command::Validate(a) => validate::run(&a),
        Command::Plan(a) => plan::run(&a),
        Command::Diff(a) => diff::run(&a),
        Command::Schema => {
            io::print_stdout(amlc::embedded::schema_text());
            ExitStatus::Success
        }
        Command::Taints(a) => taints::run(&a),
        Command::Doctor(a) => doctor::run(&a),
        Command::Init(a) => init::run(&a),
        Command::Completions(a) => init::completions(&a),
        Command::Man(a) => match init::man_page(a.subcommand.as_deref()) {
            Ok(page) => {
                io::print_stdout(&page);
                ExitStatus::Success
            }
            Err(e) => io::fail(amlc::diagnostic::Diagnostic::error(
                "amlc::io::write",
                format!("cannot render the man page: {e}"),
            )),
        },
    }
}
