//! `amlc init` (a starter config) and `amlc completions` (shell completion scripts).

use amlc::config::ClusterType;
use amlc::diagnostic::Diagnostic;
use clap::CommandFactory;

use super::ExitStatus;
use super::args::{Cli, CompletionsArgs, InitArgs};
use super::io;

pub fn run(args: &InitArgs) -> ExitStatus {
    let cluster_type = match args.cluster_type.as_str() {
        "arc" => ClusterType::Arc,
        "aro" => ClusterType::Aro,
        "ocp" => ClusterType::Ocp,
        _ => ClusterType::Aks,
    };
    let text = amlc::init::starter_config(cluster_type);
    if args.output.as_os_str() == "-" {
        io::print_stdout(&text);
        return ExitStatus::Success;
    }
    if args.output.exists() && !args.force {
        return io::fail(
            Diagnostic::error(
                "amlc::io::exists",
                format!(
                    "{} already exists; not overwriting it",
                    args.output.display()
                ),
            )
            .with_help("pass --force to replace it, or -o another path (-o - prints it)"),
        );
    }
    // The schema the modeline names, beside the config: amlc's own file, so it is
    // refreshed to this release's schema.
    let schema = io::config_dir(&args.output).join(amlc::init::SCHEMA_FILE);
    if let Err(d) = io::write_atomic(&schema, amlc::embedded::schema_text()) {
        return io::fail(d);
    }
    if let Err(d) = io::write_atomic(&args.output, &text) {
        return io::fail(d);
    }
    eprintln!(
        "wrote {} ({} cluster) and {} for editors; next: amlc validate -c {}",
        args.output.display(),
        cluster_type.as_str(),
        schema.display(),
        args.output.display()
    );
    ExitStatus::Success
}

pub fn completions(args: &CompletionsArgs) -> ExitStatus {
    let shell = match args.shell.as_str() {
        "zsh" => clap_complete::Shell::Zsh,
        "fish" => clap_complete::Shell::Fish,
        "powershell" => clap_complete::Shell::PowerShell,
        _ => clap_complete::Shell::Bash,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "amlc", &mut out);
    io::print_stdout(&String::from_utf8_lossy(&out));
    ExitStatus::Success
}

/// The man page (roff) that `amlc man [SUBCOMMAND]` prints: amlc(1), or amlc-SUBCOMMAND(1),
/// the pages amlc(1)'s SEE ALSO names.
pub fn man_page(subcommand: Option<&str>) -> Result<String, std::io::Error> {
    let root = Cli::command();
    let command = match subcommand {
        None => root,
        Some(name) => {
            let Some(sub) = root.find_subcommand(name).cloned() else {
                return Err(std::io::Error::other(format!("no subcommand {name}")));
            };
            // The page's name, and its usage line, as amlc(1) refers to it.
            sub.name(format!("amlc-{name}"))
                .bin_name(format!("amlc {name}"))
                .version(root.get_version().map(str::to_owned).unwrap_or_default())
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(command).render(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}
