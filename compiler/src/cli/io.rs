//! The CLI's I/O: finding and reading configs, printing diagnostics, atomic writes.
//! Only the CLI touches the filesystem, the environment and the clock.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use amlc::diagnostic::{self, Diagnostic, Source};
use amlc::validate::{self, Host, Validated};

use super::ExitStatus;

/// The config file used when no `-c` is given.
pub const DEFAULT_CONFIG_FILE: &str = "amlc.yaml";

/// The config files looked for, in order, when no `-c` is given (DESIGN.md, "Fleets").
pub const DEFAULT_CONFIG_FILES: [&str; 2] = ["amlc.yaml", "amlc.yml"];

/// `-c -`: the config comes from standard input.
pub const STDIN: &str = "-";

/// Whether to colour output on a stream: only on a terminal, never with NO_COLOR.
pub fn use_color(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Width diagnostics are wrapped at: fixed, so output is the same in every terminal and log.
pub const DIAGNOSTIC_WIDTH: usize = 80;

/// Prints diagnostics (errors and warnings) to stderr.
pub fn print_diagnostics(diagnostics: &[Diagnostic]) {
    if diagnostics.is_empty() {
        return;
    }
    let text = diagnostic::render_text(
        diagnostics,
        use_color(std::io::stderr().is_terminal()),
        DIAGNOSTIC_WIDTH,
    );
    eprint!("{text}");
}

/// Writes to stdout; a closed pipe (`amlc build | head`) is not an error.
pub fn print_stdout(text: &str) {
    print_stdout_parts(&[text]);
}

/// Writes text given in pieces to stdout, buffered; a closed pipe is not an error.
pub fn print_stdout_parts(parts: &[&str]) {
    let mut out = std::io::BufWriter::with_capacity(WRITE_BUFFER, std::io::stdout().lock());
    let _ = write_parts(&mut out, parts).and_then(|()| out.flush());
}

/// Bytes gathered before each write: a build's output is a few hundred pieces.
const WRITE_BUFFER: usize = 64 * 1024;

fn write_parts(out: &mut impl Write, parts: &[&str]) -> std::io::Result<()> {
    parts.iter().try_for_each(|p| out.write_all(p.as_bytes()))
}

/// Reads files a config names relative to the config's folder; gives the real clock.
pub struct FsHost {
    pub base: PathBuf,
}

impl Host for FsHost {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        let full = self.base.join(path);
        if full.is_dir() {
            return Err(format!("{path} is a folder, not a file"));
        }
        std::fs::read(&full).map_err(|e| format!("cannot read {path}: {}", io_reason(&e)))
    }

    fn now_unix(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

/// A short reason for an I/O error, without the OS error number.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            s.split(" (os error").next().unwrap_or(&s).to_owned()
        }
    }
}

/// Reads a config file into a source; errors name the file.
pub fn read_source(path: &Path) -> Result<Source, Diagnostic> {
    let name = path.display().to_string();
    if path.is_dir() {
        return Err(Diagnostic::error(
            "amlc::io::is-a-folder",
            format!("{name} is a folder, not a config file"),
        )
        .with_help(format!(
            "pass the config file inside it, e.g. -c {}",
            path.join(DEFAULT_CONFIG_FILE).display()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        Diagnostic::error(
            "amlc::io::unreadable",
            format!("cannot read {name}: {}", io_reason(&e)),
        )
        .with_help("check the path given with -c")
    })?;
    amlc::source::decode(&name, bytes)
}

/// Where a config's relative paths resolve from.
pub fn config_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Which config a single-config command uses.
pub enum ConfigChoice {
    File(PathBuf),
    /// `-c -`.
    Stdin,
    Embedded,
}

/// `-c FILE` (`-` for stdin), else ./amlc.yaml or ./amlc.yml, else (when allowed) the
/// embedded default, which is announced on stderr: a CI job or an Argo CD plugin run in the
/// wrong folder must not render the default cluster in silence.
pub fn choose_config(
    given: Option<&Path>,
    allow_embedded: bool,
) -> Result<ConfigChoice, Diagnostic> {
    if let Some(p) = given {
        if p == Path::new(STDIN) {
            return Ok(ConfigChoice::Stdin);
        }
        return Ok(ConfigChoice::File(p.to_path_buf()));
    }
    let present: Vec<&str> = DEFAULT_CONFIG_FILES
        .into_iter()
        .filter(|f| Path::new(f).is_file())
        .collect();
    match present.as_slice() {
        [one] => Ok(ConfigChoice::File(PathBuf::from(one))),
        [_, _] => Err(Diagnostic::error(
            "amlc::io::two-configs",
            "both ./amlc.yaml and ./amlc.yml are here; amlc will not guess which one is meant",
        )
        .with_help("remove one of them, or pass the one to use with -c FILE")),
        _ if allow_embedded => {
            eprintln!(
                "note: no ./amlc.yaml or ./amlc.yml here, so this is the embedded default config (AKS, training and inference); pass -c FILE, or write a config with `amlc init`"
            );
            Ok(ConfigChoice::Embedded)
        }
        _ => Err(Diagnostic::error(
            "amlc::io::no-config",
            "no config: there is no ./amlc.yaml or ./amlc.yml and no -c FILE was given",
        )
        .with_help(
            "pass a config with -c FILE (or -c - for stdin), or write one with `amlc init`",
        )),
    }
}

/// Reads a config from standard input, named `<stdin>` in diagnostics.
fn read_stdin() -> Result<Source, Diagnostic> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    // One byte over the limit is enough to refuse it.
    std::io::stdin()
        .lock()
        .take(amlc::source::MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            Diagnostic::error(
                "amlc::io::unreadable",
                format!("cannot read the config from stdin: {}", io_reason(&e)),
            )
        })?;
    amlc::source::decode("<stdin>", bytes)
}

/// Reads and validates the chosen config. On failure the diagnostics are printed and
/// the exit status returned; on success warnings are printed.
pub fn load(given: Option<&Path>, allow_embedded: bool) -> Result<Validated, ExitStatus> {
    match validate_config(given, allow_embedded) {
        Ok(v) => {
            print_diagnostics(&v.warnings);
            Ok(v)
        }
        Err(diagnostics) => {
            print_diagnostics(&diagnostics);
            Err(ExitStatus::Invalid)
        }
    }
}

/// Reads and validates the chosen config without printing anything (fleet builds print
/// each config's diagnostics in order once every config is done).
pub fn validate_config(
    given: Option<&Path>,
    allow_embedded: bool,
) -> Result<Validated, Vec<Diagnostic>> {
    choose_config(given, allow_embedded)
        .map_err(|d| vec![d])
        .and_then(|choice| match choice {
            ConfigChoice::File(path) => {
                let source = read_source(&path).map_err(|d| vec![d])?;
                let host = FsHost {
                    base: config_dir(&path),
                };
                validate::validate(&source, &host)
            }
            ConfigChoice::Stdin => {
                let source = read_stdin().map_err(|d| vec![d])?;
                // Files a config names resolve against the current folder.
                let host = FsHost {
                    base: PathBuf::from("."),
                };
                validate::validate(&source, &host)
            }
            ConfigChoice::Embedded => {
                let host = FsHost {
                    base: PathBuf::from("."),
                };
                validate::validate(&validate::default_config_source(), &host)
            }
        })
}

/// Prints one error diagnostic and returns the invalid-input status.
pub fn fail(d: Diagnostic) -> ExitStatus {
    print_diagnostics(&[d]);
    ExitStatus::Invalid
}

/// Writes a file atomically: a temporary file beside it, flushed, then renamed over it,
/// so a failed or interrupted run leaves the old content intact.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), Diagnostic> {
    write_atomic_parts(path, &[text])
}

/// [`write_atomic`] of text given in pieces (a YAML stream as its documents, shared with
/// other outputs of a fleet), written without joining them first.
pub fn write_atomic_parts(path: &Path, parts: &[&str]) -> Result<(), Diagnostic> {
    stage_atomic_parts(path, parts)?.commit()
}

/// The first half of [`write_atomic_parts`]: the text complete and flushed in a temporary
/// file beside `path`, which [`Staged::commit`] renames over it. Dropped uncommitted, the
/// temporary file is deleted and `path` was never touched: a fleet stages its outputs
/// while later configs still compile, and commits them only when every config compiled.
pub fn stage_atomic_parts(path: &Path, parts: &[&str]) -> Result<Staged, Diagnostic> {
    stage_atomic_with(path, parts, |file, parts| {
        let mut out = std::io::BufWriter::with_capacity(WRITE_BUFFER, file);
        write_parts(&mut out, parts)?;
        out.flush()
    })
}

/// A complete, flushed temporary file waiting to be renamed over its path.
#[derive(Debug)]
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    path: std::path::PathBuf,
}

impl Staged {
    /// Renames the temporary file over its path.
    pub fn commit(self) -> Result<(), Diagnostic> {
        let Staged { tmp, path } = self;
        tmp.persist(&path)
            .map(drop)
            .map_err(|e| write_failure(&path, "rename failed", &e.error))
    }
}

fn write_failure(path: &Path, what: &str, e: &std::io::Error) -> Diagnostic {
    Diagnostic::error(
        "amlc::io::write",
        format!("cannot write {}: {what}: {}", path.display(), io_reason(e)),
    )
    .with_help("check that the folder exists and is writable; nothing was changed")
}

/// The prefix of amlc's temporary files and folders. An interrupted run (SIGINT, SIGKILL)
/// can leave one behind: it is hidden, never mistaken for output, and the next run that
/// writes into the folder removes it ([`remove_stale_temporaries`]).
pub const TEMP_PREFIX: &str = ".amlc-";

/// [`write_atomic`] with the write itself passed in, so tests can make it fail the way a
/// full disk does and prove the old content survives (the rest of the code path is the
/// one every build runs).
#[cfg(test)]
pub fn write_atomic_with(
    path: &Path,
    parts: &[&str],
    write: impl FnOnce(&mut std::fs::File, &[&str]) -> std::io::Result<()>,
) -> Result<(), Diagnostic> {
    stage_atomic_with(path, parts, write)?.commit()
}

fn stage_atomic_with(
    path: &Path,
    parts: &[&str],
    write: impl FnOnce(&mut std::fs::File, &[&str]) -> std::io::Result<()>,
) -> Result<Staged, Diagnostic> {
    let dir = config_dir(path);
    let fail = |what: &str, e: &std::io::Error| write_failure(path, what, e);
    // Dropping the temporary file on any error below deletes it.
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX).suffix(".tmp");
    // Opened with 0666 less the umask, like any file a tool writes (tempfile's own 0600
    // would survive the rename).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(&dir)
        .map_err(|e| fail("cannot create a temporary file", &e))?;
    write(tmp.as_file_mut(), parts).map_err(|e| fail("write failed", &e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| fail("flush failed", &e))?;
    Ok(Staged {
        tmp,
        path: path.to_path_buf(),
    })
}

/// Removes temporary files and folders an interrupted earlier run left in `dir`. Called
/// once per output folder before a run writes into it (never while writing, so a run's
/// own parallel writes are not disturbed).
pub fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.starts_with(TEMP_PREFIX) {
            continue;
        }
        let path = entry.path();
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.yaml");
        std::fs::write(&path, "old\n").unwrap();
        let err = write_atomic_with(&path, &["new\n"], |file, parts| {
            // Half the bytes land, then the disk is full.
            file.write_all(&parts[0].as_bytes()[..2])?;
            Err(std::io::Error::from(std::io::ErrorKind::StorageFull))
        })
        .unwrap_err();
        assert_eq!(err.code, "amlc::io::write");
        assert!(err.message.contains("out.yaml"), "{}", err.message);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["out.yaml"]);
    }

    #[test]
    fn a_write_succeeds_through_the_same_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.yaml");
        std::fs::write(&path, "old\n").unwrap();
        write_atomic(&path, "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
    }

    #[test]
    fn stale_temporaries_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".amlc-abc.tmp"), "partial").unwrap();
        std::fs::create_dir(dir.path().join(".amlc-staging")).unwrap();
        std::fs::write(dir.path().join(".amlc-staging/x.yaml"), "x").unwrap();
        std::fs::write(dir.path().join("out.yaml"), "kept").unwrap();
        std::fs::write(dir.path().join(".gitignore"), "kept").unwrap();
        remove_stale_temporaries(dir.path());
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".gitignore", "out.yaml"]);
    }
}
