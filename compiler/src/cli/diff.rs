//! `amlc diff`.

use super::ExitStatus;

pub fn run(_args: &super::args::DiffArgs) -> ExitStatus {
    super::io::fail(amlc::diagnostic::Diagnostic::error(
        "amlc::cli::unavailable",
        "amlc diff is not available in this build",
    ))
}
