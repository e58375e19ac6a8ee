//! `amlc build --target arm`: prints the template, writes `DIR/azuredeploy.json` and
//! `DIR/azuredeploy.parameters.json` atomically, or with `--check` compares them with what
//! amlc would write now (DESIGN.md, "--target arm" and `build --check`).

use std::path::Path;

use amlc::arm::{
    self,
    template::{PARAMETERS_FILE, TEMPLATE_FILE},
};
use amlc::diagnostic::Diagnostic;
use amlc::validate::Validated;

use super::ExitStatus;
use super::io;

/// Runs the ARM target for one validated config. `output` is the folder of `-o`; without it
/// the template goes to stdout (the parameters file only exists with a folder).
pub fn run(validated: &Validated, output: Option<&Path>, check: bool) -> ExitStatus {
    match compile(validated) {
        Ok(out) => emit(&out, output, check),
        Err(status) => status,
    }
}

/// Compiles the template, printing diagnostics on failure.
pub fn compile(validated: &Validated) -> Result<arm::ArmOutput, ExitStatus> {
    arm::template(validated).map_err(|diagnostics| {
        io::print_diagnostics(&diagnostics);
        ExitStatus::Invalid
    })
}

/// Prints, writes or checks a compiled template.
pub fn emit(out: &arm::ArmOutput, output: Option<&Path>, check: bool) -> ExitStatus {
    let Some(dir) = output else {
        if check {
            return io::fail(
                Diagnostic::error("amlc::cli::check-needs-output", "--check needs -o DIR")
                    .with_help("pass the folder to compare, e.g. --check -o deploy/"),
            );
        }
        io::print_stdout(&out.template);
        return ExitStatus::Success;
    };
    if dir.exists() && !dir.is_dir() {
        return io::fail(
            Diagnostic::error(
                "amlc::cli::output-not-a-folder",
                format!(
                    "{} is a file; the ARM target writes a folder",
                    dir.display()
                ),
            )
            .with_help(format!(
                "pass a folder with -o; amlc writes {TEMPLATE_FILE} and {PARAMETERS_FILE} in it"
            )),
        );
    }
    let files = [
        (TEMPLATE_FILE, out.template.as_str()),
        (PARAMETERS_FILE, out.parameters.as_str()),
    ];
    if check {
        return check_files(dir, &files);
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
    for (name, text) in files {
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

    fn validated() -> Validated {
        let text = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: aks\n  name: c\n  resourceGroup: rg\n";
        validate(&Source::new("amlc.yaml", text), &NoFiles { now_unix: 0 }).expect("valid")
    }

    #[test]
    fn writes_both_files_then_check_passes_and_catches_edits() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("deploy");
        let v = validated();
        assert_eq!(
            run(&v, Some(&out), true),
            ExitStatus::Differs,
            "missing files are stale"
        );
        assert!(!out.exists(), "--check writes nothing");
        assert_eq!(run(&v, Some(&out), false), ExitStatus::Success);
        assert!(out.join(TEMPLATE_FILE).is_file() && out.join(PARAMETERS_FILE).is_file());
        assert_eq!(run(&v, Some(&out), true), ExitStatus::Success);
        std::fs::write(out.join(PARAMETERS_FILE), "{}\n").unwrap();
        assert_eq!(run(&v, Some(&out), true), ExitStatus::Differs);
        assert_eq!(
            std::fs::read_to_string(out.join(PARAMETERS_FILE)).unwrap(),
            "{}\n"
        );
    }

    #[test]
    fn a_file_as_output_is_invalid_input() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.json");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(run(&validated(), Some(&file), false), ExitStatus::Invalid);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    }

    #[test]
    fn missing_cluster_fields_are_invalid_input_and_write_nothing() {
        let text = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: arc\n";
        let v = validate(&Source::new("amlc.yaml", text), &NoFiles { now_unix: 0 }).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("deploy");
        assert_eq!(run(&v, Some(&out), false), ExitStatus::Invalid);
        assert!(!out.exists());
    }
}
