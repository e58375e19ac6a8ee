//! `amlc plan`: requests and limits per component and in total, node count, VM size.

use super::ExitStatus;
use super::args::{PlanArgs, PlanFormat};
use super::io;

pub fn run(args: &PlanArgs) -> ExitStatus {
    let validated = match io::load(args.config.as_deref(), true) {
        Ok(v) => v,
        Err(status) => return status,
    };
    let catalog = match amlc::catalog::Catalog::embedded() {
        Ok(c) => c,
        Err(d) => {
            io::print_diagnostics(&d);
            return ExitStatus::Invalid;
        }
    };
    let plan = match amlc::plan::plan(&validated.config, &catalog) {
        Ok(p) => p,
        Err(d) => {
            io::print_diagnostics(&d);
            return ExitStatus::Invalid;
        }
    };
    let report = amlc::capacity::report(&plan, &validated.config, args.deployments);
    io::print_stdout(&match args.format {
        PlanFormat::Table => amlc::capacity::render_table(&report),
        PlanFormat::Json => amlc::capacity::render_json(&report),
    });
    ExitStatus::Success
}
