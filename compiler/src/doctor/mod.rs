//! `amlc doctor`: a read-only preflight of a live cluster against a config, for what would
//! make the extension's install (its pre-install healthcheck) or its pods fail, found
//! before installing (DESIGN.md, "Second round", `amlc doctor`).
//!
//! [`read`] takes what the checks need from the cluster with GET requests only, as `diff
//! --cluster` does; [`checks`] judges it. The soundness stage is reused against the live
//! cluster: its graph with the cluster's objects as what exists, its scheduling simulation
//! with the cluster's nodes as the node classes.

pub mod checks;
pub mod read;

use serde::Serialize;
use serde_json::Value;

use crate::build::Build;
use crate::config::Config;
use crate::diff::live::{LiveOptions, Unreachable};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The install or a pod will fail.
    Error,
    /// A risk.
    Warning,
    /// The check could not run (a read was forbidden); the others did.
    Skipped,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Skipped => "skipped",
        }
    }
}

/// One finding: `{code, severity, object, message, help}` in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    /// What it is about, e.g. `Secret azureml/azureml-fe-tls` or `Node gpu-1`.
    pub object: String,
    pub message: String,
    pub help: String,
}

/// Reads the cluster and runs every check. Findings come in a fixed order: by severity,
/// then as the checks produced them.
pub fn run(
    config: &Config,
    build: &Build,
    opts: &LiveOptions,
) -> Result<Vec<Finding>, Unreachable> {
    let objects: Vec<&Value> = build.objects.iter().map(|m| m.shape()).collect();
    let rendered: Vec<Value> = build.objects.iter().map(|m| m.value().clone()).collect();
    let lookups = checks::lookups(config, &objects);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Unreachable(format!("cannot start the network runtime: {e}")))?;
    let snapshot = runtime.block_on(read::snapshot(&rendered, &lookups, opts))?;
    let mut findings = checks::all(config, build, &objects, &snapshot);
    findings.sort_by_key(|f| f.severity);
    Ok(findings)
}

/// The text report: findings grouped by severity, then a one-line summary.
pub fn render_text(findings: &[Finding]) -> String {
    let mut out = String::new();
    for severity in [Severity::Error, Severity::Warning, Severity::Skipped] {
        for f in findings.iter().filter(|f| f.severity == severity) {
            out.push_str(&format!(
                "{}: {}: {}\n  {}\n  help: {}\n",
                severity.as_str(),
                f.object,
                f.message,
                f.code,
                f.help
            ));
        }
    }
    out.push_str(&summary(findings));
    out.push('\n');
    out
}

/// `doctor: 2 errors, 1 warning, 0 skipped`.
pub fn summary(findings: &[Finding]) -> String {
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    let errors = count(Severity::Error);
    let verdict = if errors == 0 {
        "nothing found that would fail the install"
    } else {
        "the install would fail"
    };
    format!(
        "doctor: {}, {}, {} skipped: {verdict}",
        plural(errors, "error"),
        plural(count(Severity::Warning), "warning"),
        count(Severity::Skipped)
    )
}

/// The JSON report: the list of findings.
pub fn render_json(findings: &[Finding]) -> String {
    let mut text = serde_json::to_string_pretty(findings).unwrap_or_else(|_| "[]".into());
    text.push('\n');
    text
}
