//! `amlc taints`.

use super::ExitStatus;

pub fn run(_args: &super::args::TaintsArgs) -> ExitStatus {
    super::io::fail(amlc::diagnostic::Diagnostic::error(
        "amlc::cli::unavailable",
        "amlc taints is not available in this build",
    ))
}
