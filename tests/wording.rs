//! What amlc prints speaks the user's language: no command, over any config of the
//! validation corpus (`tests/valid`, `tests/invalid`), says "seed" or "contract" (the
//! project's own words for its reference documents), and release notes are quoted readably
//! (`release 1.1.16 ("Support Tolerance")`), never raw (`release note 1.1.16: ...;`).
//!
//! Every command runs: validate (text and JSON), build (yaml and arm), plan (table and
//! JSON), taints, diff --against a render of the same config, and once each: schema (its
//! descriptions are user-facing too), init into a temporary folder (and the file it
//! writes), man, and --help of amlc and of every subcommand. Lines that quote the user's
//! own config (the source snippets of diagnostics) are left out: the corpus's comments are
//! not amlc's words.

use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;

const BIN: &str = env!("CARGO_BIN_EXE_amlc");

fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files: Vec<PathBuf> = ["valid", "invalid"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// One command's output, with what to call it in a failure.
struct Run {
    what: String,
    text: String,
    ok: bool,
}

fn run(args: &[&str], cwd: &Path) -> Run {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("the amlc binary runs");
    Run {
        what: format!("amlc {}", args.join(" ")),
        text: format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        ok: out.status.success(),
    }
}

/// Every command over one corpus file; `scratch` is a folder of its own for the render.
fn runs_for(file: &Path, scratch: &Path) -> Vec<Run> {
    let cwd = Path::new(env!("CARGO_MANIFEST_DIR"));
    let f = file.to_str().unwrap();
    let mut runs: Vec<Run> = [
        &["validate", "-c", f][..],
        &["validate", "-c", f, "--output", "json"],
        &["build", "-c", f],
        &["build", "-c", f, "--target", "arm"],
        &["plan", "-c", f],
        &["plan", "-c", f, "--format", "json"],
        &["taints", "-c", f],
    ]
    .iter()
    .map(|args| run(args, cwd))
    .collect();
    let render = scratch.join("render.yaml");
    let r = render.to_str().unwrap();
    let built = run(&["build", "-c", f, "-o", r], cwd);
    let ok = built.ok;
    runs.push(built);
    if ok {
        runs.push(run(&["diff", "-c", f, "--against", r], cwd));
        runs.push(run(
            &["diff", "-c", f, "--against", r, "--output", "markdown"],
            cwd,
        ));
    }
    runs
}

/// The commands that take no config: schema, man, init, and every --help.
fn runs_without_config(scratch: &Path) -> Vec<Run> {
    let mut runs = vec![
        run(&["schema"], scratch),
        run(&["man"], scratch),
        run(&["--help"], scratch),
    ];
    let help = runs[2].text.clone();
    let subcommands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(subcommands.len() >= 8, "{help}");
    for sub in subcommands {
        runs.push(run(&[sub, "--help"], scratch));
    }
    for cluster_type in ["aks", "arc", "aro", "ocp"] {
        let file = format!("{cluster_type}.yaml");
        let mut init = run(
            &["init", "--cluster-type", cluster_type, "-o", &file],
            scratch,
        );
        let written = std::fs::read_to_string(scratch.join(&file)).unwrap_or_default();
        assert!(!written.is_empty(), "{}: wrote nothing", init.what);
        init.text.push_str(&written);
        runs.push(init);
    }
    runs
}

struct Rules {
    /// Diagnostics quote the config: ` 12 │   effect: NoSchddule`.
    snippet: Regex,
    /// A wrapped line's continuation: a newline, indentation, and miette's `│` gutter.
    wrap: Regex,
    forbidden: Vec<(Regex, &'static str)>,
}

impl Rules {
    fn new() -> Rules {
        Rules {
            snippet: Regex::new(r"^\s*\d+\s*│").unwrap(),
            wrap: Regex::new(r"\s*\n[ \t│]*").unwrap(),
            forbidden: vec![
                (
                    Regex::new(r"(?i)\bseeds?\b").unwrap(),
                    "says \"seed\": name the Azure ML reference page's section",
                ),
                (
                    Regex::new(r"(?i)\bcontracts?\b").unwrap(),
                    "says \"contract\": say what it is (amlc.yaml, the config)",
                ),
                (
                    Regex::new(r"(?i)release notes? \d").unwrap(),
                    "quotes a release note raw: write release X.Y.Z (\"text\")",
                ),
                (
                    Regex::new(r"\.;").unwrap(),
                    "quotes text with its full stop before a `;`",
                ),
            ],
        }
    }

    /// What is wrong with one output, each with the words around it.
    fn problems(&self, text: &str) -> Vec<String> {
        let own: Vec<&str> = text.lines().filter(|l| !self.snippet.is_match(l)).collect();
        // Unwrapped, so a phrase broken over two lines is still one phrase.
        let own = own.join("\n");
        let flat = self.wrap.replace_all(&own, " ");
        let mut out = Vec::new();
        for (re, why) in &self.forbidden {
            for m in re.find_iter(&flat) {
                let mut start = m.start().saturating_sub(60);
                while !flat.is_char_boundary(start) {
                    start -= 1;
                }
                let mut end = (m.end() + 60).min(flat.len());
                while !flat.is_char_boundary(end) {
                    end += 1;
                }
                out.push(format!("{why}: …{}…", &flat[start..end]));
            }
        }
        out
    }
}

#[test]
fn no_output_says_seed_or_contract_or_quotes_a_release_note_raw() {
    let files = corpus();
    assert!(files.len() >= 100, "the corpus has {} files", files.len());
    let scratch = tempfile::tempdir().unwrap();
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get().min(8));
    let chunks: Vec<&[PathBuf]> = files.chunks(files.len().div_ceil(threads)).collect();
    let mut runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                let dir = scratch.path().join(format!("t{i}"));
                std::fs::create_dir_all(&dir).unwrap();
                s.spawn(move || {
                    chunk
                        .iter()
                        .flat_map(|f| runs_for(f, &dir))
                        .collect::<Vec<Run>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let alone = scratch.path().join("alone");
    std::fs::create_dir_all(&alone).unwrap();
    runs.extend(runs_without_config(&alone));
    // The corpus reaches every kind of output: successes and failures of each command.
    assert!(runs.iter().any(|r| r.ok) && runs.iter().any(|r| !r.ok));

    let rules = Rules::new();
    let mut failures = Vec::new();
    for r in &runs {
        for p in rules.problems(&r.text) {
            failures.push(format!("{}\n  {p}", r.what));
        }
    }
    failures.dedup();
    assert!(
        failures.is_empty(),
        "{} output(s) use the project's internal words:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_check_itself_catches_each_pattern() {
    let rules = Rules::new();
    for bad in [
        "help: see the seed's \"Best practices\"",
        "not a field of this Contract",
        "help: release note 1.1.16: Support Tolerance.; raise",
        "  help: release note\n        1.1.16: Support",
        "  ⚠ the SEEDS say\n  │ so",
    ] {
        assert!(!rules.problems(bad).is_empty(), "{bad:?} passed");
    }
    for good in [
        "help: it came with release 1.1.16 (\"Support Tolerance\")",
        "see the Azure ML reference page, \"Best practices\"",
        " 1 │ # The older seed revision's own typo",
        "\"fromSeed\": true",
    ] {
        assert!(rules.problems(good).is_empty(), "{good:?} failed");
    }
}
