//! `amlc taints`: the commands that taint the dedicated nodes to match the config.

use super::ExitStatus;
use super::args::TaintsArgs;
use super::io;

pub fn run(args: &TaintsArgs) -> ExitStatus {
    let validated = match io::load(args.config.as_deref(), false) {
        Ok(v) => v,
        Err(status) => return status,
    };
    let commands = amlc::taints::commands(&validated.config);
    if commands.taints.is_empty() {
        eprintln!(
            "no taints configured: add `taints.keys` to the config to dedicate nodes to Azure Machine Learning"
        );
        return ExitStatus::Success;
    }
    io::print_stdout(&amlc::taints::render(&commands));
    ExitStatus::Success
}
