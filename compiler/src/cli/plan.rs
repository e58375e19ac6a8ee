//! `amlc plan`.

use super::ExitStatus;

pub fn run(_args: &super::args::PlanArgs) -> ExitStatus {
    super::io::fail(amlc::diagnostic::Diagnostic::error(
        "amlc::cli::unavailable",
        "amlc plan is not available in this build",
    ))
}
