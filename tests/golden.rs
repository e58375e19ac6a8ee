//! Golden cases: every folder under `golden/` is `amlc build` run in that folder (plus the
//! case's `args`), compared byte for byte with `expected/{stdout,stderr,exit_code}`.
//! Re-bless with `UPDATE_GOLDEN=1 cargo test --test integration golden::` and review the diff like code.

use crate::common;

use std::path::Path;

fn compare(case: &Path, file: &str, actual: &str, update: bool, failures: &mut Vec<String>) {
    let path = case.join("expected").join(file);
    if update {
        std::fs::create_dir_all(case.join("expected")).expect("create expected/");
        std::fs::write(&path, actual).expect("write expected file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected.as_str(), actual)
            .unified_diff()
            .context_radius(3)
            .header(&format!("expected/{file}"), "actual")
            .to_string();
        let shown: String = diff.lines().take(80).map(|l| format!("{l}\n")).collect();
        failures.push(format!(
            "{}: {file} differs\n{shown}",
            case.file_name().unwrap_or_default().to_string_lossy()
        ));
    }
}

#[test]
fn golden_cases_match_byte_for_byte() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| !v.is_empty());
    let mut failures = Vec::new();
    let cases = common::golden_cases();
    assert!(cases.len() >= 20, "the golden cases are missing");
    for case in cases {
        let out = common::build_case(&case);
        let code = format!("{}\n", out.status.code().unwrap_or(-1));
        compare(
            &case,
            "stdout",
            &String::from_utf8_lossy(&out.stdout),
            update,
            &mut failures,
        );
        compare(
            &case,
            "stderr",
            &String::from_utf8_lossy(&out.stderr),
            update,
            &mut failures,
        );
        compare(&case, "exit_code", &code, update, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{}\nre-bless with UPDATE_GOLDEN=1 cargo test --test integration golden:: if the change is intended",
        failures.join("\n")
    );
}

#[test]
fn no_golden_output_holds_key_material() {
    for case in common::golden_cases() {
        for file in ["stdout", "stderr"] {
            let text =
                std::fs::read_to_string(case.join("expected").join(file)).unwrap_or_default();
            assert!(!text.contains("PRIVATE KEY"), "{} {file}", case.display());
        }
        if let Ok(key) = std::fs::read_to_string(case.join("key.pem")) {
            let stdout = std::fs::read_to_string(case.join("expected/stdout")).unwrap_or_default();
            for line in key.lines().filter(|l| !l.starts_with("-----")) {
                assert!(!stdout.contains(line), "key material in {}", case.display());
            }
        }
    }
}
