//! `amlc build --target arm`, as the fleet code in `build.rs` calls it: the installers'
//! writer ([`super::installer`]) for the ARM target.

use std::path::Path;

use amlc::validate::Validated;

use super::ExitStatus;
use super::args::Target;
use super::installer::{self, Compiled};

/// Runs the ARM target for one validated config. `output` is the folder of `-o`; without it
/// the template goes to stdout (the parameters file only exists with a folder).
pub fn run(validated: &Validated, output: Option<&Path>, check: bool) -> ExitStatus {
    installer::run(validated, Target::Arm, output, check)
}

/// Compiles the template, printing diagnostics on failure.
pub fn compile(validated: &Validated) -> Result<Compiled, ExitStatus> {
    installer::compile(validated, Target::Arm)
}

/// Prints, writes or checks a compiled template.
pub fn emit(out: &Compiled, output: Option<&Path>, check: bool) -> ExitStatus {
    installer::emit(out, output, check)
}
