//! Bad input everywhere: exit 2, a clear message, and existing output untouched — for an
//! unreadable config, a folder where a file is expected, an output path that cannot be a
//! folder, and a run interrupted with SIGINT while it writes a fleet. (A full disk is
//! simulated on the temporary file in `cli/io.rs`'s unit tests, where the write can be
//! made to fail.)

use crate::common;

use std::path::Path;

fn run(cwd: &Path, args: &[&str]) -> (i32, String) {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let out = common::amlc(cwd, &args, &[]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const CONFIG: &str = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: aks\n";

#[cfg(unix)]
#[test]
fn an_unreadable_config_is_exit_2_and_named() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("amlc.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    std::fs::write(dir.path().join("out.yaml"), "old\n").unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads files whatever their mode: then there is nothing to test here.
    if std::fs::read(&config).is_ok() {
        eprintln!("skipped: running as root, mode 000 does not block reads");
        return;
    }
    let (code, stderr) = run(dir.path(), &["build", "-c", "amlc.yaml", "-o", "out.yaml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("cannot read amlc.yaml: permission denied"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.yaml")).unwrap(),
        "old\n"
    );
}

#[test]
fn a_folder_given_as_config_is_exit_2_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("clusters")).unwrap();
    let (code, stderr) = run(dir.path(), &["build", "-c", "clusters"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("clusters is a folder, not a config file"),
        "{stderr}"
    );
    assert!(stderr.contains("-c clusters/amlc.yaml"), "{stderr}");
}

#[test]
fn an_output_path_under_a_file_is_exit_2_and_changes_nothing() {
    // A regular file as the parent folder fails even for root (ENOTDIR), unlike a
    // read-only folder.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("amlc.yaml"), CONFIG).unwrap();
    std::fs::write(dir.path().join("plain-file"), "mine\n").unwrap();
    for args in [
        &["build", "-o", "plain-file/out.yaml"][..],
        &["build", "--target", "dir", "-o", "plain-file/out"][..],
        &["build", "--target", "dir", "-o", "plain-file"][..],
    ] {
        let (code, stderr) = run(dir.path(), args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("plain-file"), "{args:?}: {stderr}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("plain-file")).unwrap(),
            "mine\n"
        );
    }
}

#[test]
fn an_invalid_config_leaves_the_previous_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("amlc.yaml"), CONFIG).unwrap();
    assert_eq!(run(dir.path(), &["build", "-o", "out.yaml"]).0, 0);
    let before = std::fs::read_to_string(dir.path().join("out.yaml")).unwrap();
    std::fs::write(
        dir.path().join("amlc.yaml"),
        "apiVersion: amlc/v1\nkind: [\n",
    )
    .unwrap();
    let (code, stderr) = run(dir.path(), &["build", "-o", "out.yaml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("amlc.yaml:"),
        "errors name the config: {stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.yaml")).unwrap(),
        before
    );
}

/// Kills fleet builds with SIGINT at several moments (none of them asserted on: whatever
/// the moment, the folder must hold only old or complete new files, plus at most hidden
/// `.amlc-*` temporaries), then shows the next run removes the temporaries.
#[cfg(unix)]
#[test]
fn sigint_during_a_fleet_write_leaves_only_whole_files() {
    let dir = tempfile::tempdir().unwrap();
    let clusters = dir.path().join("clusters");
    std::fs::create_dir(&clusters).unwrap();
    let count = 40;
    for i in 0..count {
        std::fs::write(
            clusters.join(format!("c{i:02}.yaml")),
            format!("apiVersion: amlc/v1\nkind: ExtensionConfig\nmetadata:\n  name: ml{i}\ncluster:\n  type: aks\n"),
        )
        .unwrap();
    }
    let (code, stderr) = run(dir.path(), &["build", "-c", "clusters/*.yaml", "-o", "ref"]);
    assert_eq!(code, 0, "{stderr}");
    let reference =
        |name: &str| std::fs::read_to_string(dir.path().join("ref").join(name)).unwrap();
    let out = dir.path().join("out");
    let check_folder = || {
        for entry in std::fs::read_dir(&out).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".amlc-") {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap();
            assert!(
                text == "old\n" || text == reference(&name),
                "{name} is neither the old nor the complete new content ({} bytes)",
                text.len()
            );
        }
    };
    for delay_ms in [20u64, 60, 150, 300, 600, 1200] {
        std::fs::create_dir_all(&out).unwrap();
        for i in 0..count {
            std::fs::write(out.join(format!("c{i:02}.yaml")), "old\n").unwrap();
        }
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_amlc"))
            .args(["build", "-c", "clusters/*.yaml", "-o", "out"])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let _ = child.wait();
        check_folder();
    }
    // A later run completes the output and removes an interrupted run's temporaries.
    std::fs::write(out.join(".amlc-left-behind.tmp"), "partial").unwrap();
    let (code, stderr) = run(dir.path(), &["build", "-c", "clusters/*.yaml", "-o", "out"]);
    assert_eq!(code, 0, "{stderr}");
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), count, "{names:?}");
    for name in names {
        assert_eq!(
            std::fs::read_to_string(out.join(&name)).unwrap(),
            reference(&name)
        );
    }
}
