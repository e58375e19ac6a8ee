//! `amlc build`.

use super::ExitStatus;

pub fn run(_args: &super::args::BuildArgs) -> ExitStatus {
    super::io::fail(amlc::diagnostic::Diagnostic::error(
        "amlc::cli::unavailable",
        "amlc build is not available in this build",
    ))
}
