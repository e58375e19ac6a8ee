//! The validation pipeline: text -> spanned tree -> JSON Schema -> typed config -> rules.
//! Returns the typed config with its warnings, or every diagnostic at once in file order.
//! It reads nothing itself: files a config refers to (certificate, key) and the clock come
//! through [`Host`].

use std::fmt;

use serde_json::Value;

use crate::config::Config;
use crate::diagnostic::{self, Diagnostic, Source};
use crate::source::{self, Document};
use crate::{rules, schema};

/// What validation needs from the outside world.
pub trait Host {
    /// Reads a file named in the config, relative to the config's folder.
    fn read(&self, path: &str) -> Result<Vec<u8>, String>;
    /// Seconds since the Unix epoch, for certificate expiry warnings.
    fn now_unix(&self) -> i64;
}

/// A host with no files and a fixed clock: for configs that name no files, and for tests.
pub struct NoFiles {
    pub now_unix: i64,
}

impl Host for NoFiles {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        Err(format!("cannot read {path}: no files are available here"))
    }
    fn now_unix(&self) -> i64 {
        self.now_unix
    }
}

/// Text that must never be printed: key material. `Debug` and `Display` redact it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(s)
    }
    /// The secret text. Call only where it is handed to a protected output.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Certificate and key read from `inference.ssl.certFile` / `keyFile`.
#[derive(Clone, PartialEq)]
pub struct TlsFiles {
    /// The certificate PEM (public).
    pub cert_pem: String,
    /// The private key PEM.
    pub key_pem: Secret,
}

impl fmt::Debug for TlsFiles {
    // Neither PEM belongs in logs: the key is secret and the certificate is noise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsFiles")
            .field("cert_pem", &format_args!("<{} bytes>", self.cert_pem.len()))
            .field("key_pem", &self.key_pem)
            .finish()
    }
}

/// A config that passed validation.
#[derive(Debug, Clone)]
pub struct Validated {
    pub config: Config,
    pub document: Document,
    /// Warnings, in file order.
    pub warnings: Vec<Diagnostic>,
    pub tls: Option<TlsFiles>,
}

/// Validates a config's text.
pub fn validate(source: &Source, host: &dyn Host) -> Result<Validated, Vec<Diagnostic>> {
    let document = source::parse(source)?;
    let mut diagnostics = schema::check(&document);
    if diagnostic::has_errors(&diagnostics) {
        // Every problem at once: the rules still judge what the schema accepted.
        diagnostics.extend(rules_on_what_the_schema_accepted(
            &document,
            &diagnostics,
            host,
        ));
        diagnostic::sort(&mut diagnostics);
        return Err(diagnostics);
    }
    let config: Config = match serde_json::from_value(document.value.clone()) {
        Ok(c) => c,
        Err(e) => {
            // The schema and the types agree (a test proves it), so this is amlc's bug.
            return Err(vec![
                Diagnostic::error(
                    "amlc::bug::schema-types-disagree",
                    format!("the schema accepted this config but amlc's config types did not: {e}"),
                )
                .in_source(source)
                .with_help(
                    "this is a bug in amlc, not in your config; please report it with the config",
                ),
            ]);
        }
    };
    let outcome = rules::check(&config, &document, host);
    diagnostics.extend(outcome.diagnostics);
    diagnostic::sort(&mut diagnostics);
    if diagnostic::has_errors(&diagnostics) {
        return Err(diagnostics);
    }
    Ok(Validated {
        config,
        document,
        warnings: diagnostics,
        tls: outcome.tls,
    })
}

/// The rules' findings on a config with the parts the schema refused taken out (so their
/// defaults stand in), leaving out findings about those parts; nothing when what is left
/// is no config at all. An element of a list the schema refused takes its whole list out,
/// so the positions of the rest do not shift under the rules' locations.
fn rules_on_what_the_schema_accepted(
    document: &Document,
    schema_errors: &[Diagnostic],
    host: &dyn Host,
) -> Vec<Diagnostic> {
    let mut value = document.value.clone();
    let mut removed: Vec<String> = Vec::new();
    for d in schema_errors.iter().filter(|d| d.is_error()) {
        let Some(path) = &d.path else {
            return Vec::new();
        };
        let pointer = outside_lists(&value, path);
        if pointer.is_empty() {
            return Vec::new();
        }
        remove(&mut value, &pointer);
        removed.push(pointer);
    }
    let Ok(config) = serde_json::from_value::<Config>(value) else {
        return Vec::new();
    };
    // A finding about a part taken out, or about its siblings (a rule that weighs the part
    // against the fields beside it would judge its default, not what was written).
    let parent = |p: &str| {
        p.rsplit_once('/')
            .map_or(String::new(), |(a, _)| a.to_owned())
    };
    let about_removed = |d: &Diagnostic| {
        d.path.as_deref().is_some_and(|p| {
            removed.iter().any(|r| {
                p == r
                    || p.starts_with(&format!("{r}/"))
                    || r.starts_with(&format!("{p}/"))
                    || (!parent(r).is_empty() && parent(p) == parent(r))
            })
        })
    };
    rules::check(&config, document, host)
        .diagnostics
        .into_iter()
        .filter(|d| !about_removed(d))
        .collect()
}

/// The pointer cut at the first list it passes through.
fn outside_lists(value: &Value, pointer: &str) -> String {
    let mut at = value;
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        if at.is_array() {
            return out;
        }
        out.push('/');
        out.push_str(segment);
        let key = segment.replace("~1", "/").replace("~0", "~");
        match at.get(&key) {
            Some(next) => at = next,
            None => return out,
        }
    }
    out
}

fn remove(value: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    if let Some(map) = value.pointer_mut(parent).and_then(Value::as_object_mut) {
        map.remove(&key);
    }
}

/// The embedded default config: what `amlc build` compiles in an empty folder.
pub const DEFAULT_CONFIG_NAME: &str = "<embedded default config>";

pub fn default_config_source() -> Source {
    Source::new(
        DEFAULT_CONFIG_NAME,
        crate::embedded::file("targets/default-config.yaml")
            .expect("targets/default-config.yaml is embedded at build time"),
    )
}
