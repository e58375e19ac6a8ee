//! `amlc build --target arm|terraform|aso`: the installers of the real extension. Prints or
//! writes their files atomically, or with `--check` compares them with what amlc would write
//! now (DESIGN.md, "Every installer of the real extension" and `build --check`).
//!
//! - arm: `DIR/azuredeploy.json` and `DIR/azuredeploy.parameters.json`; the template alone
//!   on stdout without `-o`;
//! - terraform: `DIR/main.tf`, `DIR/variables.tf`, `DIR/outputs.tf` (needs `-o DIR`);
//! - aso: one YAML file, or stdout; the note on the protected-settings Secret on stderr.

use std::path::{Path, PathBuf};

use amlc::arm::template::{PARAMETERS_FILE, TEMPLATE_FILE};
use amlc::diagnostic::Diagnostic;
use amlc::validate::Validated;

use super::ExitStatus;
use super::args::{BuildArgs, Target};
use super::io;

/// `amlc build` for an installer target: one output per config. Every config is validated
/// and compiled before anything is written, so one invalid config fails the run and leaves
/// every output as it was.
pub fn build(args: &BuildArgs) -> ExitStatus {
    if let Err(status) = check_args(args.target, args.output.as_deref()) {
        return status;
    }
    let configs = match amlc::fleet::expand(&args.configs) {
        Ok(c) => c,
        Err(d) => return io::fail(d),
    };
    let several = configs.len() > 1;
    let dir = args.output.as_deref();
    if several && dir.is_none() {
        return io::fail(
            Diagnostic::error(
                "amlc::cli::several-configs-need-output",
                format!("{} configs were given but no -o DIR", configs.len()),
            )
            .with_help(
                "several configs build several clusters: pass -o DIR to get DIR/<name>/ (DIR/<name>.yaml for aso; see `amlc build --help`)",
            ),
        );
    }
    let names = if several {
        match amlc::fleet::output_names(&configs) {
            Ok(n) => n,
            Err(d) => return io::fail(d),
        }
    } else {
        Vec::new()
    };
    let inputs: Vec<Option<&Path>> = if configs.is_empty() {
        vec![None]
    } else {
        configs.iter().map(|c| Some(c.as_path())).collect()
    };
    let mut compiled = Vec::new();
    let mut failed = false;
    for (i, config) in inputs.into_iter().enumerate() {
        // Keep going so every invalid config is reported in one run.
        let validated = match io::validate_config(config, !several) {
            Ok(v) => v,
            Err(d) => {
                io::print_diagnostics(&d);
                failed = true;
                continue;
            }
        };
        match compile(&validated, args.target) {
            Ok(out) => {
                // Warnings only when the target could be built: a missing field says so
                // alone, not below every warning of the config.
                io::print_diagnostics(&validated.warnings);
                let path = match (dir, names.get(i)) {
                    (Some(d), Some(name)) => Some(fleet_path(d, name, args.target)),
                    (d, _) => d.map(Path::to_path_buf),
                };
                compiled.push((out, path));
            }
            Err(_) => failed = true,
        }
    }
    if failed {
        return ExitStatus::Invalid;
    }
    compiled
        .iter()
        .map(|(out, path)| emit(out, path.as_deref(), args.check))
        .max_by_key(|s| *s as i32)
        .unwrap_or(ExitStatus::Success)
}

/// One config compiled for an installer target.
pub enum Compiled {
    /// Files of a folder (arm, terraform); the first is what stdout shows without `-o`.
    Folder {
        files: Vec<(&'static str, String)>,
        stdout_allowed: bool,
    },
    /// One file (aso), and what to tell the user about the Secret it reads.
    File { text: String, note: Option<String> },
}

/// Refuses what the arguments alone make impossible, before any config is read.
pub fn check_args(target: Target, output: Option<&Path>) -> Result<(), ExitStatus> {
    if target == Target::Terraform && output.is_none() {
        return Err(io::fail(
            Diagnostic::error(
                "amlc::cli::terraform-needs-output",
                "--target terraform writes a module folder and needs -o DIR",
            )
            .with_help("e.g. amlc build --target terraform -o infra/azureml/"),
        ));
    }
    Ok(())
}

/// Runs an installer target for one validated config.
#[cfg(test)]
pub fn run(
    validated: &Validated,
    target: Target,
    output: Option<&Path>,
    check: bool,
) -> ExitStatus {
    match compile(validated, target) {
        Ok(out) => emit(&out, output, check),
        Err(status) => status,
    }
}

/// Compiles one config, printing diagnostics on failure.
pub fn compile(validated: &Validated, target: Target) -> Result<Compiled, ExitStatus> {
    let result = match target {
        Target::Terraform => amlc::terraform::module(validated).map(|m| Compiled::Folder {
            files: m.files,
            stdout_allowed: false,
        }),
        Target::Aso => amlc::aso::extension(validated).map(|a| Compiled::File {
            text: a.text,
            note: a.secret_note,
        }),
        _ => amlc::arm::template(validated).map(|t| Compiled::Folder {
            files: vec![(TEMPLATE_FILE, t.template), (PARAMETERS_FILE, t.parameters)],
            stdout_allowed: true,
        }),
    };
    result.map_err(|diagnostics| {
        io::print_diagnostics(&diagnostics);
        ExitStatus::Invalid
    })
}

/// Where one config of a fleet goes under `-o DIR`: a folder for arm and terraform, a
/// `.yaml` file for aso.
pub fn fleet_path(dir: &Path, name: &str, target: Target) -> PathBuf {
    if target == Target::Aso {
        dir.join(format!("{name}.yaml"))
    } else {
        dir.join(name)
    }
}

/// Prints, writes or checks a compiled config.
pub fn emit(out: &Compiled, output: Option<&Path>, check: bool) -> ExitStatus {
    match out {
        Compiled::Folder {
            files,
            stdout_allowed,
        } => emit_folder(files, *stdout_allowed, output, check),
        Compiled::File { text, note } => {
            if !check && let Some(note) = note {
                eprint!("{note}");
            }
            emit_file(text, output, check)
        }
    }
}

fn check_needs_output() -> ExitStatus {
    io::fail(
        Diagnostic::error("amlc::cli::check-needs-output", "--check needs -o PATH")
            .with_help("pass the output to compare, e.g. --check -o deploy/"),
    )
}

fn emit_file(text: &str, output: Option<&Path>, check: bool) -> ExitStatus {
    let Some(path) = output else {
        if check {
            return check_needs_output();
        }
        io::print_stdout(text);
        return ExitStatus::Success;
    };
    if path.is_dir() {
        return io::fail(
            Diagnostic::error(
                "amlc::cli::output-kind",
                format!(
                    "{} is a folder, but this target writes a file",
                    path.display()
                ),
            )
            .with_help("give a file path, e.g. -o clusters/prod/azureml-extension.yaml"),
        );
    }
    if check {
        return check_files(
            path.parent().unwrap_or(Path::new("")),
            &[(file_name(path), text)],
        );
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(parent)
    {
        return io::fail(
            Diagnostic::error(
                "amlc::io::write",
                format!("cannot create {}: {}", parent.display(), io::io_reason(&e)),
            )
            .with_help("check that the parent folder is writable; nothing was changed"),
        );
    }
    match io::write_atomic(path, text) {
        Ok(()) => ExitStatus::Success,
        Err(d) => io::fail(d),
    }
}

fn file_name(path: &Path) -> &str {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
}

fn emit_folder(
    files: &[(&'static str, String)],
    stdout_allowed: bool,
    output: Option<&Path>,
    check: bool,
) -> ExitStatus {
    let Some(dir) = output else {
        if check {
            return check_needs_output();
        }
        if stdout_allowed && let Some((_, first)) = files.first() {
            io::print_stdout(first);
        }
        return ExitStatus::Success;
    };
    if dir.exists() && !dir.is_dir() {
        let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
        return io::fail(
            Diagnostic::error(
                "amlc::cli::output-not-a-folder",
                format!("{} is a file; this target writes a folder", dir.display()),
            )
            .with_help(format!(
                "pass a folder with -o; amlc writes {} in it",
                names.join(", ")
            )),
        );
    }
    let list: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    if check {
        return check_files(dir, &list);
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        return io::fail(
            Diagnostic::error(
                "amlc::io::write",
                format!("cannot create {}: {}", dir.display(), io::io_reason(&e)),
            )
            .with_help("check that the parent folder is writable; nothing was changed"),
        );
    }
    for (name, text) in list {
        if let Err(d) = io::write_atomic(&dir.join(name), text) {
            return io::fail(d);
        }
    }
    ExitStatus::Success
}

/// `--check`: exit 1 naming each file that is missing or differs; writes nothing.
fn check_files(dir: &Path, files: &[(&str, &str)]) -> ExitStatus {
    let mut stale = Vec::new();
    for (name, want) in files {
        let path = dir.join(name);
        match std::fs::read(&path) {
            Ok(have) if have == want.as_bytes() => {}
            Ok(_) => stale.push(format!(
                "{} differs from what amlc would write",
                path.display()
            )),
            Err(e) => stale.push(format!("{}: {}", path.display(), io::io_reason(&e))),
        }
    }
    if stale.is_empty() {
        return ExitStatus::Success;
    }
    let diagnostics: Vec<Diagnostic> = stale
        .into_iter()
        .map(|m| {
            Diagnostic::error("amlc::build::stale", m)
                .with_help("run the same amlc build without --check to update it")
        })
        .collect();
    io::print_diagnostics(&diagnostics);
    ExitStatus::Differs
}

#[cfg(test)]
mod tests {
    use super::*;
    use amlc::diagnostic::Source;
    use amlc::validate::{NoFiles, validate};

    fn validated(text: &str) -> Validated {
        validate(&Source::new("amlc.yaml", text), &NoFiles { now_unix: 0 }).expect("valid")
    }

    const AKS: &str = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: aks\n  name: c\n  resourceGroup: rg\n";

    #[test]
    fn writes_both_arm_files_then_check_passes_and_catches_edits() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("deploy");
        let v = validated(AKS);
        assert_eq!(
            run(&v, Target::Arm, Some(&out), true),
            ExitStatus::Differs,
            "missing files are stale"
        );
        assert!(!out.exists(), "--check writes nothing");
        assert_eq!(run(&v, Target::Arm, Some(&out), false), ExitStatus::Success);
        assert!(out.join(TEMPLATE_FILE).is_file() && out.join(PARAMETERS_FILE).is_file());
        assert_eq!(run(&v, Target::Arm, Some(&out), true), ExitStatus::Success);
        std::fs::write(out.join(PARAMETERS_FILE), "{}\n").unwrap();
        assert_eq!(run(&v, Target::Arm, Some(&out), true), ExitStatus::Differs);
        assert_eq!(
            std::fs::read_to_string(out.join(PARAMETERS_FILE)).unwrap(),
            "{}\n"
        );
    }

    #[test]
    fn writes_the_terraform_module_then_check_passes() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("infra");
        let v = validated(AKS);
        assert_eq!(
            run(&v, Target::Terraform, Some(&out), false),
            ExitStatus::Success
        );
        for f in ["main.tf", "variables.tf", "outputs.tf"] {
            assert!(out.join(f).is_file(), "{f}");
        }
        assert_eq!(
            run(&v, Target::Terraform, Some(&out), true),
            ExitStatus::Success
        );
    }

    #[test]
    fn the_aso_target_writes_one_file_and_refuses_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{AKS}  subscriptionId: 00000000-0000-0000-0000-000000000000\n  location: eastus\n"
        );
        let v = validated(&text);
        let file = dir.path().join("gitops/azureml.yaml");
        assert_eq!(
            run(&v, Target::Aso, Some(&file), false),
            ExitStatus::Success
        );
        assert_eq!(run(&v, Target::Aso, Some(&file), true), ExitStatus::Success);
        assert_eq!(
            run(&v, Target::Aso, Some(dir.path()), false),
            ExitStatus::Invalid
        );
    }

    #[test]
    fn a_file_as_output_is_invalid_input() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.json");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(
            run(&validated(AKS), Target::Arm, Some(&file), false),
            ExitStatus::Invalid
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    }

    #[test]
    fn missing_cluster_fields_are_invalid_input_and_write_nothing() {
        let v = validated("apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: arc\n");
        let dir = tempfile::tempdir().unwrap();
        for target in [Target::Arm, Target::Terraform, Target::Aso] {
            let out = dir.path().join("deploy");
            assert_eq!(run(&v, target, Some(&out), false), ExitStatus::Invalid);
            assert!(!out.exists());
        }
    }
}
