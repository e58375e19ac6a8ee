//! `amlc build` output shapes beyond stdout: `-o FILE`, `--target dir`, several configs and
//! `--check`.

use crate::common;

use std::path::Path;

use common::run;

fn config(dir: &Path, name: &str, cluster: &str) {
    std::fs::write(
        dir.join(name),
        format!("apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: {cluster}\n"),
    )
    .expect("write config");
}

#[test]
fn an_up_to_date_output_is_left_alone_and_a_stale_one_rewritten() {
    let dir = tempfile::tempdir().expect("temp dir");
    config(dir.path(), "amlc.yaml", "aks");
    let out = dir.path().join("out.yaml");
    assert_eq!(run(dir.path(), &["build", "-o", "out.yaml"]).0, 0);
    let written = std::fs::read_to_string(&out).unwrap();
    let long_ago = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1 << 30);
    let touch = |when| {
        std::fs::File::options()
            .write(true)
            .open(&out)
            .unwrap()
            .set_modified(when)
            .unwrap();
    };
    touch(long_ago);
    assert_eq!(run(dir.path(), &["build", "-o", "out.yaml"]).0, 0);
    let modified = || std::fs::metadata(&out).unwrap().modified().unwrap();
    assert_eq!(modified(), long_ago, "an unchanged output was rewritten");
    std::fs::write(&out, written.replace("gateway", "gatewai")).unwrap();
    touch(long_ago);
    assert_eq!(run(dir.path(), &["build", "-o", "out.yaml"]).0, 0);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), written);
    assert_ne!(modified(), long_ago);
}

#[test]
fn output_file_is_written_and_checked() {
    let dir = tempfile::tempdir().expect("temp dir");
    config(dir.path(), "amlc.yaml", "aks");
    let (code, stdout, _) = run(dir.path(), &["build", "-o", "out.yaml"]);
    assert_eq!((code, stdout.as_str()), (0, ""));
    let (code, printed, _) = run(dir.path(), &["build"]);
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.yaml")).unwrap(),
        printed
    );
    assert_eq!(
        run(dir.path(), &["build", "--check", "-o", "out.yaml"]).0,
        0
    );
    std::fs::write(
        dir.path().join("out.yaml"),
        printed.replace("gateway", "gatewai"),
    )
    .unwrap();
    let (code, _, stderr) = run(dir.path(), &["build", "--check", "-o", "out.yaml"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("+++ amlc build") && stderr.contains("-  name: gatewai"),
        "{stderr}"
    );
    // --check never writes.
    assert!(
        std::fs::read_to_string(dir.path().join("out.yaml"))
            .unwrap()
            .contains("gatewai")
    );
    // A folder is the wrong kind of PATH for the yaml target.
    std::fs::create_dir(dir.path().join("folder")).unwrap();
    let (code, _, stderr) = run(dir.path(), &["build", "--check", "-o", "folder"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--target dir"), "{stderr}");
}

#[test]
fn dir_target_writes_kustomize_files_and_cleans_up_after_itself() {
    let dir = tempfile::tempdir().expect("temp dir");
    config(dir.path(), "amlc.yaml", "arc");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("README.md"), "mine\n").unwrap();
    let (code, _, stderr) = run(dir.path(), &["build", "--target", "dir", "-o", "out"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("README.md"),
        "foreign files are named: {stderr}"
    );
    assert!(out.join("apps_v1_deployment_relayserver.yaml").exists());
    let kustomization = std::fs::read_to_string(out.join("kustomization.yaml")).unwrap();
    assert!(kustomization.starts_with("apiVersion: kustomize.config.k8s.io/v1beta1\n"));
    // The files are the objects of the stream, in the same order.
    let (_, stream, _) = run(dir.path(), &["build"]);
    let listed = amlc::emit::listed_files(&kustomization);
    let joined: Vec<String> = listed
        .iter()
        .map(|f| std::fs::read_to_string(out.join(f)).unwrap())
        .collect();
    assert_eq!(joined.join("---\n"), stream);
    assert_eq!(
        run(
            dir.path(),
            &["build", "--target", "dir", "--check", "-o", "out"]
        )
        .0,
        0
    );
    // Switching to AKS drops relayserver: the stale file goes, README.md stays.
    config(dir.path(), "amlc.yaml", "aks");
    assert_eq!(
        run(
            dir.path(),
            &["build", "--target", "dir", "--check", "-o", "out"]
        )
        .0,
        1
    );
    assert_eq!(
        run(dir.path(), &["build", "--target", "dir", "-o", "out"]).0,
        0
    );
    assert!(!out.join("apps_v1_deployment_relayserver.yaml").exists());
    assert!(out.join("README.md").exists());
    assert_eq!(
        run(
            dir.path(),
            &["build", "--target", "dir", "--check", "-o", "out"]
        )
        .0,
        0
    );
}

#[test]
fn several_configs_write_one_output_each_or_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("clusters")).unwrap();
    config(&dir.path().join("clusters"), "east.yaml", "aks");
    config(&dir.path().join("clusters"), "west.yaml", "arc");
    let (code, _, stderr) = run(dir.path(), &["build", "-c", "clusters/*.yaml"]);
    assert_eq!(code, 2, "several configs need -o: {stderr}");
    let (code, _, stderr) = run(dir.path(), &["build", "-c", "clusters/*.yaml", "-o", "out"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(dir.path().join("out/east.yaml").exists() && dir.path().join("out/west.yaml").exists());
    // One invalid config fails the run and writes nothing.
    std::fs::write(
        dir.path().join("clusters/bad.yaml"),
        "apiVersion: amlc/v1\nkind: ExtensionConfig\n",
    )
    .unwrap();
    let (code, _, _) = run(
        dir.path(),
        &["build", "-c", "clusters/*.yaml", "-o", "out2"],
    );
    assert_eq!(code, 2);
    assert!(!dir.path().join("out2").exists());
    // Nor into a folder that holds earlier outputs: the good configs' files are written
    // beside theirs while the bad one fails, and none is left, old files untouched.
    let before = |name: &str| std::fs::read(dir.path().join("out").join(name)).unwrap();
    let (east, west) = (before("east.yaml"), before("west.yaml"));
    std::fs::write(dir.path().join("out/east.yaml"), "old\n").unwrap();
    let (code, _, _) = run(dir.path(), &["build", "-c", "clusters/*.yaml", "-o", "out"]);
    assert_eq!(code, 2);
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["east.yaml", "west.yaml"]);
    assert_eq!(before("east.yaml"), b"old\n");
    assert_eq!(before("west.yaml"), west);
    std::fs::write(dir.path().join("out/east.yaml"), &east).unwrap();
    // Two configs with one stem in different folders are named by their paths below the
    // folder they share.
    std::fs::create_dir(dir.path().join("more")).unwrap();
    config(&dir.path().join("more"), "east.yaml", "aks");
    let (code, _, stderr) = run(
        dir.path(),
        &[
            "build",
            "-c",
            "clusters/east.yaml",
            "-c",
            "more/east.yaml",
            "-o",
            "out3",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(dir.path().join("out3/clusters/east.yaml").is_file());
    assert!(dir.path().join("out3/more/east.yaml").is_file());
    // Two that map to one output name are refused, naming both, and nothing is written.
    config(&dir.path().join("more"), "amlc.yaml", "aks");
    std::fs::create_dir(dir.path().join("more/more")).unwrap();
    config(&dir.path().join("more/more"), "amlc.yml", "aks");
    let (code, _, stderr) = run(
        dir.path(),
        &[
            "build",
            "-c",
            "more/amlc.yaml",
            "-c",
            "more/more/amlc.yml",
            "-c",
            "more/more.yaml",
            "-o",
            "out4",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(!dir.path().join("out4").exists());
    // (more/amlc.yaml is named by the shared folder, "more"; more/more/amlc.yml by its own.)
    assert!(
        stderr.contains("more/amlc.yaml and more/more/amlc.yml would both write"),
        "{stderr}"
    );
}

/// The common GitOps layout, one folder per cluster, built with one glob for every file
/// target: each output is named by the cluster's folder below `clusters/`.
#[test]
fn one_glob_builds_a_folder_per_cluster_for_every_target() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    for (folder, file) in [
        ("clusters/east", "amlc.yaml"),
        ("clusters/west", "amlc.yml"),
        ("clusters/eu/prod", "amlc.yaml"),
        ("clusters/eu/dev", "amlc.yaml"),
    ] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
        std::fs::write(
            root.join(folder).join(file),
            "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster: {type: aks, name: c, resourceGroup: rg}\n",
        )
        .unwrap();
    }
    // A file the glob must not pick up.
    std::fs::write(root.join("clusters/east/notes.txt"), "not a config").unwrap();
    let names = ["east", "west", "eu/prod", "eu/dev"];
    let (code, _, stderr) = run(
        root,
        &["build", "-c", "clusters/**/amlc.y*ml", "-o", "yaml"],
    );
    assert_eq!(code, 0, "{stderr}");
    for n in names {
        assert!(
            root.join(format!("yaml/{n}.yaml")).is_file(),
            "yaml/{n}.yaml"
        );
    }
    let (code, _, stderr) = run(
        root,
        &[
            "build",
            "-c",
            "clusters/**/amlc.y*ml",
            "--target",
            "dir",
            "-o",
            "dir",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    for n in names {
        assert!(
            root.join(format!("dir/{n}/kustomization.yaml")).is_file(),
            "dir/{n}"
        );
    }
    let (code, _, stderr) = run(
        root,
        &[
            "build",
            "-c",
            "clusters/**/amlc.y*ml",
            "--target",
            "arm",
            "-o",
            "arm",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    for n in names {
        assert!(
            root.join(format!("arm/{n}/azuredeploy.json")).is_file(),
            "arm/{n}"
        );
    }
    // `*` stays within one folder: `clusters/*/amlc.y*ml` leaves eu/prod and eu/dev out.
    let (code, _, stderr) = run(root, &["build", "-c", "clusters/*/amlc.y*ml", "-o", "one"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(root.join("one/east.yaml").is_file() && root.join("one/west.yaml").is_file());
    assert!(!root.join("one/eu").exists());
    // --check after the build passes for the whole fleet.
    let (code, _, stderr) = run(
        root,
        &[
            "build",
            "--check",
            "-c",
            "clusters/**/amlc.y*ml",
            "--target",
            "dir",
            "-o",
            "dir",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
}

/// A fleet whose extensions have different names (CRDs derived from one model, templates
/// parsed once with a stand-in name) writes what building each config alone prints.
#[test]
fn a_fleet_of_names_writes_what_each_build_alone_prints() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fleet = dir.path().join("fleet");
    std::fs::create_dir(&fleet).unwrap();
    let names = ["azureml", "ml-east", "ml-west", "e5", "true", "x"];
    for (i, name) in names.iter().enumerate() {
        let cluster = ["aks", "arc", "aro", "ocp"][i % 4];
        std::fs::write(
            fleet.join(format!("c{i}.yaml")),
            format!(
                "apiVersion: amlc/v1\nkind: ExtensionConfig\nmetadata:\n  name: \"{name}\"\n\
                 cluster:\n  type: {cluster}\ninference:\n  enabled: true\n  allowInsecureConnections: true\n\
                 nodeSelector:\n  pool: p{i}\n"
            ),
        )
        .unwrap();
    }
    let (code, _, stderr) = run(dir.path(), &["build", "-c", "fleet/*.yaml", "-o", "out"]);
    assert_eq!(code, 0, "{stderr}");
    for (i, name) in names.iter().enumerate() {
        let config = format!("fleet/c{i}.yaml");
        let (code, alone, stderr) = run(dir.path(), &["build", "-c", &config]);
        assert_eq!(code, 0, "{stderr}");
        let written = std::fs::read_to_string(dir.path().join(format!("out/c{i}.yaml"))).unwrap();
        assert!(written == alone, "{name} differs from its build alone");
        assert!(written.contains(&format!("amlc/instance: {name}")) || *name == "true");
    }
}

#[test]
fn the_arm_target_needs_the_cluster_identity() {
    // The embedded default names no cluster: the ARM target cannot scope the extension.
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, stdout, stderr) = run(dir.path(), &["build", "--target", "arm"]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(stderr.contains("cluster.name"), "{stderr}");
}

#[test]
fn the_arm_target_prints_a_template_and_writes_one_folder_per_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = |name: &str| {
        format!(
            "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: arc\n  name: {name}\n  resourceGroup: rg\n"
        )
    };
    std::fs::write(dir.path().join("east.yaml"), config("east")).unwrap();
    std::fs::write(dir.path().join("west.yaml"), config("west")).unwrap();
    let (code, stdout, _) = run(dir.path(), &["build", "--target", "arm", "-c", "east.yaml"]);
    assert_eq!(code, 0);
    let template: serde_json::Value = serde_json::from_str(&stdout).expect("JSON template");
    assert!(
        template["$schema"]
            .as_str()
            .unwrap()
            .ends_with("deploymentTemplate.json#")
    );
    let (code, stdout, stderr) = run(
        dir.path(),
        &["build", "--target", "arm", "-c", "*.yaml", "-o", "out"],
    );
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");
    for stem in ["east", "west"] {
        for file in ["azuredeploy.json", "azuredeploy.parameters.json"] {
            assert!(
                dir.path().join("out").join(stem).join(file).is_file(),
                "{stem}/{file}"
            );
        }
    }
    let (code, _, _) = run(
        dir.path(),
        &[
            "build", "--target", "arm", "-c", "*.yaml", "-o", "out", "--check",
        ],
    );
    assert_eq!(code, 0, "--check right after a build passes");
}
