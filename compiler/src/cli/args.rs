//! Command-line arguments. Doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Declarative manifest compiler for the Azure Machine Learning Kubernetes extension.
///
/// One config file (amlc.yaml) says how the extension should look on a cluster; amlc
/// validates it and compiles it into Kubernetes YAML, the real extension's install as an ARM
/// template, a Terraform module or an Azure Service Operator resource, a resource plan and
/// node taints, and diffs the result against a previous render or a live cluster.
#[derive(Debug, Parser)]
// No `help` subcommand: `amlc SUBCOMMAND --help` says the same, and every page amlc(1)
// lists exists (`amlc man SUBCOMMAND`).
#[command(name = "amlc", version = amlc::version_text(), propagate_version = true, max_term_width = 100, disable_help_subcommand = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile configs into YAML, a kustomize folder, or an ARM, Terraform or ASO install.
    Build(BuildArgs),
    /// Check a config against the schema and the rules; report every problem at once.
    Validate(ValidateArgs),
    /// Resource requests and limits per component, totals, node count and VM size.
    Plan(PlanArgs),
    /// Compare the render with a previous render, a dump, another config or a live cluster.
    Diff(DiffArgs),
    /// Print the JSON Schema of the config.
    Schema,
    /// Print the kubectl / az commands that put the configured amlarc taints on nodes.
    Taints(TaintsArgs),
    /// Check a live cluster, read-only, for what would fail the extension's install.
    Doctor(DoctorArgs),
    /// Write a commented starter config.
    Init(InitArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print a man page (roff): `amlc man > amlc.1`, `amlc man build > amlc-build.1`.
    Man(ManArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// One multi-document YAML stream.
    Yaml,
    /// One file per object plus kustomization.yaml (needs -o DIR).
    Dir,
    /// The real extension through Azure: an ARM deployment template with the settings
    /// `az k8s-extension create` sends (and a parameters file with -o DIR).
    Arm,
    /// The same as a Terraform module for the azurerm provider: main.tf, variables.tf,
    /// outputs.tf (needs -o DIR).
    Terraform,
    /// The same as an Azure Service Operator v2 Extension resource, for GitOps (needs
    /// cluster.subscriptionId and cluster.location; -o FILE or stdout).
    Aso,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Config file (repeatable; globs allowed). Default: ./amlc.yaml, else the embedded default config.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub configs: Vec<String>,
    /// What to produce.
    #[arg(long, value_enum, default_value_t = Target::Yaml)]
    pub target: Target,
    /// Where to write: a file for the yaml and aso targets, a folder for dir, arm and
    /// terraform. Default: stdout.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Do not write: exit 1 when PATH differs from what amlc would write now.
    #[arg(long, requires = "output")]
    pub check: bool,
    /// Extra component folders that add to or override the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub components: Option<PathBuf>,
    /// Apply phase 1: only the CustomResourceDefinitions. Apply them, wait until they are
    /// Established, then apply the output of --skip-crds (kubectl maps kinds once per run).
    #[arg(long, conflicts_with = "skip_crds")]
    pub crds_only: bool,
    /// Apply phase 2: everything but the CustomResourceDefinitions.
    #[arg(long)]
    pub skip_crds: bool,
}

impl BuildArgs {
    /// The apply phase the flags select.
    pub fn phase(&self) -> amlc::build::Phase {
        match (self.crds_only, self.skip_crds) {
            (true, _) => amlc::build::Phase::CrdsOnly,
            (_, true) => amlc::build::Phase::SkipCrds,
            _ => amlc::build::Phase::All,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticsFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Config file. Default: ./amlc.yaml.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How to print diagnostics (`--output` is an older spelling).
    #[arg(long = "format", visible_alias = "output", value_enum, default_value_t = DiagnosticsFormat::Text)]
    pub output: DiagnosticsFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Config file. Default: ./amlc.yaml, else the embedded default config.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How to print the plan (`--output` is accepted too).
    #[arg(long, visible_alias = "output", value_enum, default_value_t = PlanFormat::Table)]
    pub format: PlanFormat,
    /// Online deployments to plan for (each adds an identity sidecar).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub deployments: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Config file. Default: ./amlc.yaml.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A previous render (file or --target dir folder), a kubectl dump, or another amlc config.
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with = "cluster",
        required_unless_present = "cluster"
    )]
    pub against: Option<PathBuf>,
    /// Compare with the live cluster (read-only).
    #[arg(long)]
    pub cluster: bool,
    /// kubeconfig context to use with --cluster.
    #[arg(long, requires = "cluster")]
    pub context: Option<String>,
    /// kubeconfig file to use with --cluster. Default: $KUBECONFIG, else ~/.kube/config.
    #[arg(long, requires = "cluster", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Seconds to wait for the cluster before giving up (exit 3).
    #[arg(long, value_name = "S", default_value_t = 30)]
    pub timeout: u64,
    /// Ignore rules (JSON Pointer paths with a target selector), added to the config's diff.ignore.
    #[arg(long, value_name = "FILE")]
    pub ignore: Option<PathBuf>,
    /// How to print the diff (`--output` is an older spelling).
    #[arg(long = "format", visible_alias = "output", value_enum, default_value_t = DiffFormat::Text)]
    pub output: DiffFormat,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Config file. Default: ./amlc.yaml, else the embedded default config.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// kubeconfig context to use.
    #[arg(long)]
    pub context: Option<String>,
    /// kubeconfig file. Default: $KUBECONFIG, else ~/.kube/config.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Seconds to wait for the cluster before giving up (exit 3).
    #[arg(long, value_name = "S", default_value_t = 30)]
    pub timeout: u64,
    /// How to print the findings: text grouped by severity, or a JSON list of
    /// {code, severity, object, message, help} (`--output` is accepted too).
    #[arg(long = "format", visible_alias = "output", value_enum, default_value_t = DiagnosticsFormat::Text)]
    pub output: DiagnosticsFormat,
}

#[derive(Debug, Args)]
pub struct TaintsArgs {
    /// Config file. Default: ./amlc.yaml.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Cluster type of the starter config.
    #[arg(long, value_name = "T", default_value = "aks", value_parser = ["aks", "arc", "aro", "ocp"])]
    pub cluster_type: String,
    /// Where to write it.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        default_value = "amlc.yaml"
    )]
    pub output: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print (the page amlc(1) names as amlc-SUBCOMMAND(1)).
    /// Default: amlc(1).
    #[arg(value_name = "SUBCOMMAND", value_parser = ["build", "validate", "plan", "diff", "schema", "taints", "doctor", "init", "completions", "man"])]
    pub subcommand: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish or powershell.
    #[arg(value_parser = ["bash", "zsh", "fish", "powershell"])]
    pub shell: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn config_flag_has_short_and_long_spellings() {
        for argv in [
            ["amlc", "validate", "-c", "x.yaml"],
            ["amlc", "validate", "--config", "x.yaml"],
        ] {
            let Command::Validate(v) = Cli::try_parse_from(argv).unwrap().command else {
                panic!("validate expected")
            };
            assert_eq!(v.config.unwrap(), PathBuf::from("x.yaml"));
        }
    }

    /// Formats are `--format` everywhere; the older `--output` spelling still works where
    /// it named a format (`-o/--output` of build is a path).
    #[test]
    fn formats_take_both_spellings() {
        for argv in [
            ["amlc", "validate", "--format", "json"],
            ["amlc", "validate", "--output", "json"],
        ] {
            let Command::Validate(v) = Cli::try_parse_from(argv).unwrap().command else {
                panic!("validate expected")
            };
            assert_eq!(v.output, DiagnosticsFormat::Json);
        }
        for flag in ["--format", "--output"] {
            assert!(Cli::try_parse_from(["amlc", "plan", flag, "json"]).is_ok());
            assert!(Cli::try_parse_from(["amlc", "doctor", flag, "json"]).is_ok());
            assert!(Cli::try_parse_from(["amlc", "diff", "--cluster", flag, "markdown"]).is_ok());
        }
    }

    #[test]
    fn check_needs_an_output_path() {
        assert!(Cli::try_parse_from(["amlc", "build", "--check"]).is_err());
        assert!(Cli::try_parse_from(["amlc", "build", "--check", "-o", "out"]).is_ok());
    }

    #[test]
    fn apply_phases_exclude_each_other() {
        assert!(Cli::try_parse_from(["amlc", "build", "--crds-only", "--skip-crds"]).is_err());
        for (flag, phase) in [
            ("--crds-only", amlc::build::Phase::CrdsOnly),
            ("--skip-crds", amlc::build::Phase::SkipCrds),
        ] {
            let Command::Build(b) = Cli::try_parse_from(["amlc", "build", flag])
                .unwrap()
                .command
            else {
                panic!("build expected")
            };
            assert_eq!(b.phase(), phase);
        }
    }

    #[test]
    fn diff_needs_against_or_cluster_but_not_both() {
        assert!(Cli::try_parse_from(["amlc", "diff"]).is_err());
        assert!(Cli::try_parse_from(["amlc", "diff", "--against", "a", "--cluster"]).is_err());
        assert!(Cli::try_parse_from(["amlc", "diff", "--cluster", "--context", "c"]).is_ok());
    }
}
