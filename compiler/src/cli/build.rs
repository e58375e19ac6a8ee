//! `amlc build`: compile one or more configs and write (or `--check`) the result.
//!
//! Every config is validated and compiled before any output is replaced, so one invalid
//! config fails the run and leaves every output as it was (a fleet's YAML files are
//! written to hidden temporary files while the configs compile, and renamed into place
//! only once all of them did).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, sync_channel};

use amlc::build::{Build, Phase};
use amlc::catalog::{Catalog, Origin};
use amlc::diagnostic::Diagnostic;
use amlc::emit;
use amlc::soundness::{self, Supplied};
use amlc::validate::Validated;
use rayon::prelude::*;

use super::ExitStatus;
use super::args::{BuildArgs, Target};
use super::io;

/// What one config compiles to, before it is written.
enum Output {
    /// The YAML stream's documents (shared between the configs of a fleet).
    Stream(Vec<Arc<str>>),
    /// The `--target dir` file set, kustomization.yaml last.
    Dir(Vec<(String, Arc<str>)>),
}

/// One compiled config and where its output goes.
struct Job {
    output: Output,
    /// None: stdout.
    path: Option<PathBuf>,
    /// A fleet's YAML file, being written beside its path while the other configs compile
    /// (`stage_stream`); renamed into place by [`write`] once every config compiled.
    /// (A receiver is not shared between threads; the lock makes the job so.)
    staged: Option<Mutex<StagedFile>>,
}

/// What `stage_stream` sends: the staged file, or None when the file already holds
/// these bytes.
type StagedFile = Receiver<Result<Option<io::Staged>, Diagnostic>>;

pub fn run(args: &BuildArgs) -> ExitStatus {
    if args.phase() != Phase::All && args.target != Target::Yaml {
        return io::fail(
            Diagnostic::error(
                "amlc::cli::phase-needs-yaml",
                "--crds-only and --skip-crds select objects of the YAML stream",
            )
            .with_help(
                "use them with --target yaml (the default); a kustomize folder (Flux, Argo CD) is applied CRDs first by the tool that reads it",
            ),
        );
    }
    if matches!(args.target, Target::Arm | Target::Terraform | Target::Aso) {
        return super::installer::build(args);
    }
    let jobs = match plan_jobs(args) {
        Ok(jobs) => jobs,
        Err(status) => return status,
    };
    let status = if args.check {
        check(&jobs)
    } else {
        write(&jobs)
    };
    // The outputs are written; the process ends next, and frees them faster.
    std::mem::forget(jobs);
    status
}

/// Loads the catalog, expands the configs, validates and compiles each one.
fn plan_jobs(args: &BuildArgs) -> Result<Vec<Job>, ExitStatus> {
    let configs = amlc::fleet::expand(&args.configs).map_err(io::fail)?;
    if configs.len() > 1 && args.output.is_none() {
        return Err(io::fail(
            Diagnostic::error(
                "amlc::cli::several-configs-need-output",
                format!("{} configs were given but no -o DIR", configs.len()),
            )
            .with_help("several configs build several clusters: pass -o DIR to get DIR/<name>"),
        ));
    }
    if args.target == Target::Dir && args.output.is_none() {
        return Err(io::fail(
            Diagnostic::error("amlc::cli::dir-needs-output", "--target dir needs -o DIR")
                .with_help("e.g. amlc build --target dir -o manifests/"),
        ));
    }
    let several = configs.len() > 1;
    let names = if several {
        amlc::fleet::output_names(&configs).map_err(io::fail)?
    } else {
        Vec::new()
    };
    let mut planned = Vec::new();
    for (i, config) in configs
        .iter()
        .map(Some)
        .chain(configs.is_empty().then_some(None))
        .enumerate()
    {
        let path = match (&args.output, names.get(i)) {
            (Some(dir), Some(name)) => Some(match args.target {
                Target::Yaml => dir.join(format!("{name}.yaml")),
                _ => dir.join(name),
            }),
            (out, _) => out.clone(),
        };
        planned.push((config, path));
    }
    // A fleet's YAML files are written while the configs compile (the writes wait on the
    // disk, the compiles on the cores), each to a temporary file beside its path; they
    // are renamed into place only when every config compiled, so one invalid config
    // still leaves every output as it was. Leftovers of an interrupted earlier run go
    // first, before any of this run's writes.
    let stager = (!args.check && args.target == Target::Yaml)
        .then(|| write_pool(planned.len()))
        .flatten();
    if !args.check {
        remove_stale_temporaries(planned.iter().map(|(_, p)| p.as_deref()), args.target);
    }
    // The folders staging will create, removed again if the run fails.
    let new_folders = if stager.is_some() {
        missing_folders(planned.iter().filter_map(|(_, p)| p.as_deref()))
    } else {
        Vec::new()
    };
    // The catalog loads while the configs are validated (the two are independent, and
    // about equal in cost for one config); then configs compile in parallel, sharing the
    // catalog and its compiled templates. Nothing is printed from the workers:
    // diagnostics, warnings and notes are printed afterwards in config order, so the
    // output of a run does not depend on thread timing.
    let (catalog, validated) = rayon::join(
        || load_catalog(args.components.as_deref()),
        || {
            planned
                .par_iter()
                .map(|(config, _)| io::validate_config(config.map(PathBuf::as_path), true))
                .collect::<Vec<_>>()
        },
    );
    let catalog = catalog.map_err(|d| {
        io::print_diagnostics(&d);
        ExitStatus::Invalid
    })?;
    let compiled: Vec<(Compiled, Option<StagedFile>)> = planned
        .par_iter()
        .zip(validated)
        .map(|((config, path), validated)| {
            let compiled = compile(
                config.map(PathBuf::as_path),
                validated,
                &catalog,
                args.target,
                args.phase(),
                several,
            );
            let staged = match (&stager, &compiled.output, path) {
                (Some(pool), Some(Output::Stream(documents)), Some(path)) => {
                    Some(stage_stream(pool, path.clone(), documents.clone()))
                }
                _ => None,
            };
            (compiled, staged)
        })
        .collect();
    let mut jobs = Vec::new();
    let mut failed = false;
    for ((config, path), (c, staged)) in planned.into_iter().zip(compiled) {
        io::print_diagnostics(&c.diagnostics);
        match c.output {
            Some(output) => {
                // `--check` compares files; the note is for someone about to apply them.
                if !args.check {
                    print_create_first(&c.create_first, config.map(PathBuf::as_path), several);
                }
                jobs.push(Job {
                    output,
                    path,
                    staged: staged.map(Mutex::new),
                });
            }
            None => failed = true,
        }
    }
    if failed {
        // Every staged file is waited for and dropped, which deletes it: nothing was
        // written.
        for job in jobs {
            if let Some(staged) = job.staged {
                drop(receive(staged));
            }
        }
        // Deepest first; a folder that holds anything (another process's file) stays.
        for folder in new_folders.iter().rev() {
            let _ = std::fs::remove_dir(folder);
        }
        return Err(ExitStatus::Invalid);
    }
    // Left to the exit: freeing its trees is pure cost for a process about to end.
    std::mem::forget(catalog);
    Ok(jobs)
}

/// One config, validated, compiled and emitted (or why not).
struct Compiled {
    /// None: the config failed; `diagnostics` says why.
    output: Option<Output>,
    /// Errors, or the warnings of a config that compiled.
    diagnostics: Vec<Diagnostic>,
    create_first: Vec<Supplied>,
}

fn compile(
    config: Option<&Path>,
    validated: Result<Validated, Vec<Diagnostic>>,
    catalog: &Catalog,
    target: Target,
    phase: Phase,
    several: bool,
) -> Compiled {
    let failed = |diagnostics| Compiled {
        output: None,
        diagnostics,
        create_first: Vec::new(),
    };
    let validated = match validated {
        Ok(v) => v,
        Err(d) => return failed(d),
    };
    match amlc::build(&validated, catalog) {
        Ok(mut build) => {
            let compiled = Compiled {
                output: Some(output(&build, target, phase)),
                // Validation warnings, then the GitOps lints of the rendered objects, which
                // name the config they came from (in a fleet, one of many).
                diagnostics: validated
                    .warnings
                    .into_iter()
                    .chain(std::mem::take(&mut build.warnings).into_iter().map(|d| {
                        if d.location().is_some() {
                            d
                        } else {
                            d.in_source(&validated.document.source)
                        }
                    }))
                    .collect(),
                create_first: std::mem::take(&mut build.create_first),
            };
            if !several {
                // One config: the process exits once the output is written, and freeing
                // the objects' trees first is pure cost. A fleet frees as it goes, so
                // its memory stays that of the configs in flight.
                std::mem::forget(build);
            }
            compiled
        }
        // Build errors (a broken component) point at no config line: in a fleet, say
        // which config hit them.
        Err(d) if several => failed(
            d.into_iter()
                .map(|mut d| {
                    if d.location().is_none()
                        && let Some(c) = config
                    {
                        d.message = format!("{}: {}", c.display(), d.message);
                    }
                    d
                })
                .collect(),
        ),
        Err(d) => failed(d),
    }
}

fn output(build: &Build, target: Target, phase: Phase) -> Output {
    match (target, phase) {
        (Target::Dir, _) => Output::Dir(emit::dir_files(&build.objects)),
        (_, Phase::All) => Output::Stream(emit::documents(&build.objects)),
        (_, phase) => Output::Stream(emit::documents(&phase.select(&build.objects))),
    }
}

/// The built-in components plus a user's `--components DIR`, which adds or replaces folders.
fn load_catalog(user_dir: Option<&Path>) -> Result<Catalog, Vec<Diagnostic>> {
    let catalog = Catalog::embedded()?;
    let Some(dir) = user_dir else {
        return Ok(catalog);
    };
    let shown = dir.display().to_string();
    if !dir.is_dir() {
        return Err(vec![
            Diagnostic::error(
                "amlc::io::components-folder",
                format!("--components {shown} is not a folder"),
            )
            .with_help("pass a folder holding <name>/component.yaml and <name>/templates/"),
        ]);
    }
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(Diagnostic::error(
                    "amlc::io::components-folder",
                    format!("cannot read {shown}: {e}"),
                ));
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(dir) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        if rel.split('/').any(|part| part.starts_with('.')) {
            continue;
        }
        match std::fs::read(entry.path()).map(String::from_utf8) {
            Ok(Ok(text)) => files.push((rel, text)),
            Ok(Err(_)) => problems.push(Diagnostic::error(
                "amlc::io::components-folder",
                format!("{shown}/{rel} is not UTF-8 text"),
            )),
            Err(e) => problems.push(Diagnostic::error(
                "amlc::io::components-folder",
                format!("cannot read {shown}/{rel}: {}", io::io_reason(&e)),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(catalog.with_overrides(Catalog::from_files(&shown, &files, Origin::User)?))
}

/// The one "create first" note: what the render uses but leaves to the user (key
/// material amlc never writes, namespaces, a controller's IngressClass), and how.
fn print_create_first(items: &[Supplied], config: Option<&Path>, several: bool) {
    let Some(note) = soundness::create_first_note(items) else {
        return;
    };
    match config {
        Some(c) if several => eprint!("{}: {note}", c.display()),
        _ => eprint!("{note}"),
    }
}

/// Writes in flight at most. A write waits on the disk (creating, syncing and renaming a
/// file), not on a core, so more of them than cores keep the disk busy, and the
/// filesystem commits their syncs together.
const WRITES_IN_FLIGHT: usize = 8;

/// The threads a fleet's writes run on; None for a single output (or no threads to be had:
/// the writes then go one at a time).
fn write_pool(outputs: usize) -> Option<rayon::ThreadPool> {
    (outputs > 1)
        .then(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(outputs.min(WRITES_IN_FLIGHT))
                .build()
                .ok()
        })
        .flatten()
}

/// Removes what an interrupted earlier run left in the folders this run writes into (the
/// outputs' folders, and `--target dir` folders themselves).
fn remove_stale_temporaries<'a>(paths: impl Iterator<Item = Option<&'a Path>>, target: Target) {
    let mut folders = BTreeSet::new();
    for path in paths.flatten() {
        folders.insert(io::config_dir(path));
        if target == Target::Dir {
            folders.insert(path.to_path_buf());
        }
    }
    for folder in &folders {
        io::remove_stale_temporaries(folder);
    }
}

/// The folders above these files that do not exist yet, each once, shallowest first.
fn missing_folders<'a>(files: impl Iterator<Item = &'a Path>) -> Vec<PathBuf> {
    let mut missing = BTreeSet::new();
    for file in files {
        for folder in file.ancestors().skip(1) {
            if folder.as_os_str().is_empty() || folder.exists() {
                break;
            }
            missing.insert(folder.to_path_buf());
        }
    }
    let mut missing: Vec<PathBuf> = missing.into_iter().collect();
    missing.sort_by_key(|f| f.components().count());
    missing
}

/// Starts writing a fleet's YAML file to a temporary file beside `path` on the write
/// pool; the receiver gets the staged file (None: the file already holds these bytes).
fn stage_stream(pool: &rayon::ThreadPool, path: PathBuf, documents: Vec<Arc<str>>) -> StagedFile {
    let (tx, rx) = sync_channel(1);
    pool.spawn(move || {
        let staged = stage_file(&path, &emit::stream_parts(&documents));
        // The receiver is gone only when the run ended early; dropping the file deletes it.
        let _ = tx.send(staged);
    });
    rx
}

/// Waits for a staged file (dropping it deletes the temporary file).
fn receive(staged: Mutex<StagedFile>) -> Option<Result<Option<io::Staged>, Diagnostic>> {
    staged
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .recv()
        .ok()
}

fn write(jobs: &[Job]) -> ExitStatus {
    // Outputs go to different paths, so a fleet writes them in parallel; the first
    // failure in config order is reported. Warnings are printed afterwards, in config
    // order, not from the workers.
    let results: Vec<Result<Option<Diagnostic>, Diagnostic>> = match write_pool(jobs.len()) {
        Some(pool) => pool.install(|| jobs.par_iter().map(write_job).collect()),
        None => jobs.iter().map(write_job).collect(),
    };
    let mut failure = None;
    for result in results {
        match result {
            Ok(warning) => io::print_diagnostics(&Vec::from_iter(warning)),
            Err(d) => {
                failure.get_or_insert(d);
            }
        }
    }
    match failure {
        Some(d) => io::fail(d),
        None => ExitStatus::Success,
    }
}

/// Writes one job's output; Ok carries a warning about foreign files, if any.
fn write_job(job: &Job) -> Result<Option<Diagnostic>, Diagnostic> {
    if let Some(staged) = &job.staged {
        let received = staged
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .recv();
        // The stager never drops its sender unsent (a panic aside); if it did, the file
        // is written below.
        if let Ok(staged) = received {
            return staged?.map_or(Ok(()), io::Staged::commit).map(|()| None);
        }
    }
    match (&job.output, &job.path) {
        (Output::Stream(documents), None) => {
            io::print_stdout_parts(&emit::stream_parts(documents));
            Ok(None)
        }
        (Output::Stream(documents), Some(path)) => {
            write_stream(path, &emit::stream_parts(documents)).map(|()| None)
        }
        (Output::Dir(files), Some(dir)) => write_dir(dir, files),
        // plan_jobs refuses --target dir without -o.
        (Output::Dir(_), None) => Ok(None),
    }
}

fn wrong_kind(path: &Path, want_file: bool) -> Diagnostic {
    let (is, want, hint) = if want_file {
        (
            "a folder",
            "a file",
            "the yaml target writes one file: give a file path, or use --target dir for a folder",
        )
    } else {
        (
            "a file",
            "a folder",
            "--target dir writes a folder: give a folder path, or use --target yaml for one file",
        )
    };
    Diagnostic::error(
        "amlc::cli::output-kind",
        format!("{} is {is}, but this target writes {want}", path.display()),
    )
    .with_help(hint)
}

fn write_stream(path: &Path, parts: &[&str]) -> Result<(), Diagnostic> {
    stage_file(path, parts)?.map_or(Ok(()), io::Staged::commit)
}

/// A YAML file's text complete in a temporary file beside `path`, to be renamed over it;
/// None when `path` already holds exactly this text. An output that is up to date is left
/// alone, as `--target dir` leaves its unchanged files: re-rendering a fleet rewrites only
/// what changed (and keeps the others' modification times for the tools that watch them).
fn stage_file(path: &Path, parts: &[&str]) -> Result<Option<io::Staged>, Diagnostic> {
    if path.is_dir() {
        return Err(wrong_kind(path, true));
    }
    if std::fs::read(path).is_ok_and(|old| same_bytes(&old, parts)) {
        return Ok(None);
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir(parent)?;
    }
    io::stage_atomic_parts(path, parts).map(Some)
}

/// Whether `old` is exactly the pieces of `parts`, one after another.
fn same_bytes(old: &[u8], parts: &[&str]) -> bool {
    let mut rest = old;
    for p in parts {
        match rest.strip_prefix(p.as_bytes()) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

fn create_dir(dir: &Path) -> Result<(), Diagnostic> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Diagnostic::error(
            "amlc::io::write",
            format!("cannot create {}: {}", dir.display(), io::io_reason(&e)),
        )
    })
}

/// The file names the previous run's kustomization.yaml lists.
fn previous_files(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join(emit::KUSTOMIZATION))
        .map(|t| emit::listed_files(&t))
        .unwrap_or_default()
}

/// Files in the folder that amlc neither writes now nor wrote before.
fn foreign_files(dir: &Path, ours: &BTreeSet<&str>, previous: &[String]) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && !ours.contains(n.as_str()) && !previous.contains(n))
        .collect();
    out.sort();
    out
}

fn warn_foreign(dir: &Path, foreign: &[String]) {
    io::print_diagnostics(&Vec::from_iter(foreign_warning(dir, foreign)));
}

/// The warning naming files amlc did not write, if there are any.
fn foreign_warning(dir: &Path, foreign: &[String]) -> Option<Diagnostic> {
    if foreign.is_empty() {
        return None;
    }
    Some(Diagnostic::warning(
        "amlc::build::foreign-files",
        format!(
            "{} holds files amlc did not write; left alone: {}",
            dir.display(),
            foreign.join(", ")
        ),
    )
    .with_help("kustomization.yaml lists amlc's files; move other files elsewhere or add them with a parent kustomization"))
}

/// Prefix of the staging folder inside DIR; dot-named, so kustomize, the foreign-file
/// warning and `--check` all ignore one an interrupted run left behind.
const STAGING_PREFIX: &str = ".amlc-";

/// Writes the file set so that no reader ever sees a half-written file, and the record of
/// amlc's files (kustomization.yaml) changes last:
///
/// 1. every file whose content changes is written into a staging folder inside DIR (same
///    file system, so a rename moves it) and flushed to disk;
/// 2. each is renamed over its old version, kustomization.yaml last, so until that last
///    rename the old list is in force;
/// 3. files the old list named that are no longer rendered are removed.
///
/// Files whose content is unchanged are not touched. This is per-file atomicity, not a
/// swap of the whole folder: a run killed during step 2 can leave some files new and some
/// old. `amlc build --check` reports that state and the next `amlc build` repairs it; Flux
/// and Argo CD read Git commits, never a half-finished working tree. A swap would need to
/// move the user's own files and sub-folders along and replace the folder's identity, so
/// amlc does not do it (README, "Writing a folder"). Files amlc never wrote stay, named in
/// a warning.
/// Returns the warning about foreign files, for the caller to print in config order.
fn write_dir(dir: &Path, files: &[(String, Arc<str>)]) -> Result<Option<Diagnostic>, Diagnostic> {
    if dir.is_file() {
        return Err(wrong_kind(dir, false));
    }
    create_dir(dir)?;
    let fail = |what: String, e: &std::io::Error| {
        Diagnostic::error(
            "amlc::io::write",
            format!(
                "cannot write {}: {what}: {}",
                dir.display(),
                io::io_reason(e)
            ),
        )
        .with_help("files already moved into place are complete; run amlc build again")
    };
    remove_leftover_staging(dir);
    let previous = previous_files(dir);
    // kustomization.yaml is renamed last whatever order the emitter chose.
    let mut changed: Vec<&(String, Arc<str>)> = files
        .iter()
        .filter(|(name, text)| {
            std::fs::read(dir.join(name)).map_or(true, |old| old != text.as_bytes())
        })
        .collect();
    changed.sort_by_key(|(name, _)| name == emit::KUSTOMIZATION);
    if !changed.is_empty() {
        let staging = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .tempdir_in(dir)
            .map_err(|e| fail("cannot create a temporary folder".into(), &e))?;
        for (name, text) in &changed {
            write_synced(&staging.path().join(name), text.as_bytes())
                .map_err(|e| fail(format!("cannot stage {name}"), &e))?;
        }
        for (name, _) in &changed {
            std::fs::rename(staging.path().join(name), dir.join(name))
                .map_err(|e| fail(format!("cannot move {name} into place"), &e))?;
        }
    }
    let ours: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for stale in previous.iter().filter(|n| !ours.contains(n.as_str())) {
        // Only plain file names: a hand-edited kustomization must not make amlc delete
        // anything outside the folder.
        if !stale.contains(['/', '\\']) && !stale.starts_with('.') {
            let _ = std::fs::remove_file(dir.join(stale));
        }
    }
    sync_folder(dir);
    Ok(foreign_warning(dir, &foreign_files(dir, &ours, &previous)))
}

/// Writes a file and flushes it to disk, so a rename never exposes an empty file after a
/// power loss.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Flushes the folder's entries (the renames) where the platform allows opening a folder;
/// best effort, since the files themselves are already complete.
fn sync_folder(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Staging folders an interrupted run left in DIR.
fn remove_leftover_staging(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let is_staging = entry
            .file_name()
            .to_string_lossy()
            .starts_with(STAGING_PREFIX);
        if is_staging && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Lines of a unified diff shown on stderr before it is cut short.
const DIFF_LINES: usize = 40;

fn short_diff(path: &str, old: &str, new: &str) -> String {
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(2)
        .header(path, "amlc build")
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = lines
        .iter()
        .take(DIFF_LINES)
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    if lines.len() > DIFF_LINES {
        out.push_str(&format!(
            "... {} more diff lines\n",
            lines.len() - DIFF_LINES
        ));
    }
    out
}

fn check(jobs: &[Job]) -> ExitStatus {
    let mut differs = false;
    for job in jobs {
        let Some(path) = &job.path else { continue };
        let result = match &job.output {
            Output::Stream(documents) => {
                check_stream(path, &emit::stream_parts(documents).concat())
            }
            Output::Dir(files) => check_dir(path, files),
        };
        match result {
            Ok(same) => differs |= !same,
            Err(d) => return io::fail(d),
        }
    }
    if differs {
        ExitStatus::Differs
    } else {
        ExitStatus::Success
    }
}

fn check_stream(path: &Path, text: &str) -> Result<bool, Diagnostic> {
    if path.is_dir() {
        return Err(wrong_kind(path, true));
    }
    let shown = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(old) if old == text => Ok(true),
        Ok(old) => {
            eprintln!("{shown} is not what amlc build would write now:");
            eprint!("{}", short_diff(&shown, &old, text));
            Ok(false)
        }
        Err(_) => {
            eprintln!("{shown} is missing: amlc build would write it");
            Ok(false)
        }
    }
}

fn check_dir(dir: &Path, files: &[(String, Arc<str>)]) -> Result<bool, Diagnostic> {
    if dir.is_file() {
        return Err(wrong_kind(dir, false));
    }
    if !dir.exists() {
        eprintln!(
            "{} is missing: amlc build would write it ({} files)",
            dir.display(),
            files.len()
        );
        return Ok(false);
    }
    let mut same = true;
    for (name, text) in files {
        let path = dir.join(name);
        let shown = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(old) if *old == **text => {}
            Ok(old) => {
                same = false;
                eprintln!("{shown} is not what amlc build would write now:");
                eprint!("{}", short_diff(&shown, &old, text));
            }
            Err(_) => {
                same = false;
                eprintln!("{shown} is missing: amlc build would write it");
            }
        }
    }
    let ours: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let previous = previous_files(dir);
    for stale in previous.iter().filter(|n| !ours.contains(n.as_str())) {
        if dir.join(stale).exists() {
            same = false;
            eprintln!(
                "{} is stale: amlc no longer renders it and build would remove it",
                dir.join(stale).display()
            );
        }
    }
    warn_foreign(dir, &foreign_files(dir, &ours, &previous));
    Ok(same)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_compare_with_the_file_they_would_write() {
        assert!(same_bytes(b"a\n---\nb\n", &["a\n", "---\n", "b\n"]));
        assert!(same_bytes(b"", &[]));
        assert!(!same_bytes(b"a\n---\nb\n", &["a\n", "---\n"]));
        assert!(!same_bytes(b"a\n", &["a\n", "b"]));
        assert!(!same_bytes(b"ab", &["b", "a"]));
    }

    #[test]
    fn the_short_diff_is_cut_short() {
        let old: String = (0..100).map(|i| format!("{i}\n")).collect();
        let diff = short_diff("x", &old, "");
        assert!(diff.lines().count() <= DIFF_LINES + 1);
        assert!(diff.ends_with("more diff lines\n"));
    }
}
