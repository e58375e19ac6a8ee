//! `amlc init` and `amlc completions`.

use super::ExitStatus;

pub fn run(_args: &super::args::InitArgs) -> ExitStatus {
    super::io::fail(amlc::diagnostic::Diagnostic::error(
        "amlc::cli::unavailable",
        "amlc init is not available in this build",
    ))
}

pub fn completions(_args: &super::args::CompletionsArgs) -> ExitStatus {
    super::io::fail(amlc::diagnostic::Diagnostic::error(
        "amlc::cli::unavailable",
        "amlc completions is not available in this build",
    ))
}
