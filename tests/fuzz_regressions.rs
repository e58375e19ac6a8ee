//! Every input under `tests/fuzz-regressions/` (crashes the fuzzer found, and hand-made
//! nasty inputs) through the same library path as the fuzz target (`amlc::compile_bytes`):
//! each must end in output or located diagnostics, never a panic, and never a config that
//! passes validation but fails to build.

use std::path::PathBuf;

fn check(name: &str, bytes: &[u8]) {
    match amlc::compile_bytes(name, bytes) {
        Ok(yaml) => assert!(
            yaml.ends_with('\n'),
            "{name}: output without a final newline"
        ),
        Err(amlc::CompileError::Invalid(d)) => {
            assert!(!d.is_empty(), "{name}: rejected without a diagnostic");
            assert!(
                d.iter().any(amlc::diagnostic::Diagnostic::is_error),
                "{name}: rejected with warnings only"
            );
        }
        Err(amlc::CompileError::Build(d)) => {
            panic!("{name}: passed validation but did not build: {d:#?}")
        }
    }
}

#[test]
fn fuzz_regression_inputs_end_cleanly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fuzz-regressions exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for f in files {
        let bytes = std::fs::read(&f).expect("readable");
        check(&f.display().to_string(), &bytes);
    }
}

#[test]
fn inputs_too_big_to_commit_end_cleanly() {
    // One byte over the size limit, and a document nested far past the depth limit.
    let mut big = b"apiVersion: amlc/v1\n# ".to_vec();
    big.resize(amlc::source::MAX_BYTES + 1, b'x');
    check("too-large.yaml", &big);
    let deep = format!("a: {}{}\n", "[".repeat(200_000), "]".repeat(200_000));
    check("deep.yaml", deep.as_bytes());
    check("empty.yaml", b"");
}
