//! Semantic rules from the seeds (filled in below).
use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::source::Document;
use crate::validate::{Host, TlsFiles};

#[derive(Debug, Default)]
pub struct Outcome {
    pub diagnostics: Vec<Diagnostic>,
    pub tls: Option<TlsFiles>,
}

pub fn check(_config: &Config, _doc: &Document, _host: &dyn Host) -> Outcome {
    Outcome::default()
}
