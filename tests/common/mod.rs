//! Helpers shared by the integration tests: the golden cases and running the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every golden case folder, in name order.
pub fn golden_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(root().join("golden"))
        .expect("golden/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

/// The extra arguments of a case (`args`, one per line).
pub fn case_args(case: &Path) -> Vec<String> {
    std::fs::read_to_string(case.join("args"))
        .map(|t| {
            t.lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `amlc ARGS` in a folder with no colour and a fixed, neutral environment.
pub fn amlc(cwd: &Path, args: &[String], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_amlc"));
    cmd.args(args).current_dir(cwd).env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the amlc binary runs")
}

/// `amlc build` of a golden case, as the golden runner runs it.
pub fn build_case(case: &Path) -> Output {
    let mut args = vec!["build".to_owned()];
    args.extend(case_args(case));
    amlc(case, &args, &[])
}

/// The objects of a golden case's expected stdout.
pub fn expected_objects(case: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(case.join("expected/stdout")).unwrap_or_default();
    amlc::render::parse_documents(&text).expect("golden stdout is YAML")
}

/// Runs `amlc ARGS` in a folder: exit code, stdout and stderr as text.
pub fn run(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let out = amlc(cwd, &args, &[]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `actual` under UPDATE_GOLDEN, else records a readable diff against the file.
pub fn compare(path: &Path, actual: &str, failures: &mut Vec<String>) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected.as_str(), actual)
            .unified_diff()
            .header("expected", "actual")
            .to_string();
        failures.push(format!("{}:\n{diff}", path.display()));
    }
}
