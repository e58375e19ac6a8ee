//! Diagnostics: plain data every stage returns for problems in the user's input, and
//! their two presentations (miette's graphical report for people, JSON for tools).
//!
//! A diagnostic is located by byte span in a named source; line and column are computed
//! once, when it is made, so JSON output and text output always agree.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A named text: a config file, or anything else a diagnostic points into.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// The name shown to the user: the path as they gave it.
    pub name: String,
    pub text: Arc<str>,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// A span from a byte offset and length, with its line and column.
    pub fn span(&self, offset: usize, len: usize) -> Span {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let len = len.min(self.text.len() - offset);
        let (line, column) = self.line_col(offset);
        Span {
            offset,
            len,
            line,
            column,
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A located range of a source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One problem found in the user's input.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Stable code, e.g. `amlc::schema::unknown-field`; scripts may match on it.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// The source the labels point into.
    pub source: Option<Source>,
    /// JSON Pointer of the config node at fault, when there is one.
    pub path: Option<String>,
    /// The node at fault.
    pub primary: Option<Label>,
    /// Whatever demands otherwise (e.g. the setting that makes this one wrong).
    pub secondary: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            source: None,
            path: None,
            primary: None,
            secondary: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn at(mut self, source: &Source, span: Span, label: impl Into<String>) -> Self {
        self.source = Some(source.clone());
        self.primary = Some(Label {
            span,
            message: label.into(),
        });
        self
    }

    /// Names the source without pointing at a node (e.g. an empty file).
    pub fn in_source(mut self, source: &Source) -> Self {
        self.source = Some(source.clone());
        self
    }

    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn also(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: label.into(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:column`, or just the file, or nothing.
    pub fn location(&self) -> Option<String> {
        let source = self.source.as_ref()?;
        Some(match &self.primary {
            Some(label) => format!("{}:{}:{}", source.name, label.span.line, label.span.column),
            None => source.name.clone(),
        })
    }

    /// The sort key that puts diagnostics in file order: source, position, then code.
    fn order_key(&self) -> (Option<&str>, usize, usize, &'static str) {
        (
            self.source.as_ref().map(|s| s.name.as_str()),
            self.primary.as_ref().map_or(0, |l| l.span.offset),
            self.primary.as_ref().map_or(0, |l| l.span.len),
            self.code,
        )
    }
}

/// Sorts diagnostics into file order (stable, so equal positions keep their order).
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
}

pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        // Only with a label: miette prints no snippet without one anyway.
        self.primary.as_ref()?;
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let primary = self.primary.as_ref()?;
        let first = miette::LabeledSpan::new_primary_with_span(
            Some(primary.message.clone()),
            (primary.span.offset, primary.span.len),
        );
        let rest = self.secondary.iter().map(|l| {
            miette::LabeledSpan::new_with_span(Some(l.message.clone()), (l.span.offset, l.span.len))
        });
        Some(Box::new(std::iter::once(first).chain(rest)))
    }
}

impl miette::SourceCode for Source {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let contents = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            contents.data(),
            *contents.span(),
            contents.line(),
            contents.column(),
            contents.line_count(),
        )))
    }
}

/// The JSON shape of a diagnostic (`--output json`), fixed for editors and CI.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub file: Option<&'a str>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub path: Option<&'a str>,
    pub severity: Severity,
    pub code: &'static str,
    pub message: &'a str,
    pub help: Option<&'a str>,
}

impl<'a> From<&'a Diagnostic> for JsonDiagnostic<'a> {
    fn from(d: &'a Diagnostic) -> Self {
        JsonDiagnostic {
            file: d.source.as_ref().map(|s| s.name.as_str()),
            line: d.primary.as_ref().map(|l| l.span.line),
            column: d.primary.as_ref().map(|l| l.span.column),
            path: d.path.as_deref(),
            severity: d.severity,
            code: d.code,
            message: &d.message,
            help: d.help.as_deref(),
        }
    }
}

/// Renders diagnostics for people: miette's graphical report, optionally coloured, at a
/// fixed width so output is stable in tests and CI logs.
pub fn render_text(diagnostics: &[Diagnostic], color: bool, width: usize) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_context_lines(1);
    let mut out = String::new();
    for d in diagnostics {
        if let Some(loc) = d.location() {
            let sev = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            // A plain `file:line:col` line first: editors and CI annotators jump to it.
            out.push_str(&format!("{loc}: {sev}: {}\n", d.message));
            if d.severity == Severity::Warning {
                // A warning is read on every run: its line, its code and the fix, without
                // the source excerpt an error needs (`warnings.ignore` takes the code).
                out.push_str(&format!("  {}\n", d.code));
                if let Some(help) = &d.help {
                    out.push_str(&format!("  help: {help}\n"));
                }
                continue;
            }
        }
        if handler.render_report(&mut out, d).is_err() {
            out.push_str(&format!("{}: {}\n", d.code, d.message));
        }
    }
    out
}

/// Renders diagnostics as the fixed JSON list, one object per diagnostic.
pub fn render_json(diagnostics: &[Diagnostic]) -> String {
    let list: Vec<JsonDiagnostic<'_>> = diagnostics.iter().map(JsonDiagnostic::from).collect();
    let mut s = serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

/// "did you mean" threshold: Jaro-Winkler similarity at or above this is close enough to
/// suggest. 0.8 catches transpositions and one- or two-letter slips (`NoSchddule`) without
/// suggesting unrelated words.
pub const SUGGESTION_THRESHOLD: f64 = 0.8;

/// The most similar candidate to a word, when one is similar enough. Case is ignored for
/// the comparison so `InferenceRouterHA` finds `inferenceRouterHA`.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= SUGGESTION_THRESHOLD)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_misspelt_effect_from_the_older_seed() {
        let effects = ["NoSchedule", "NoExecute", "PreferNoSchedule"];
        assert_eq!(suggest("NoSchddule", effects), Some("NoSchedule"));
        assert_eq!(suggest("Banana", effects), None);
    }

    #[test]
    fn suggestion_ignores_case() {
        assert_eq!(
            suggest("InferenceRouterHA", ["inferenceRouterHA", "sslCname"]),
            Some("inferenceRouterHA")
        );
    }

    #[test]
    fn line_and_column_count_characters() {
        let s = Source::new("a.yaml", "a: 1\nbé: x\n");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(5), (2, 1));
        // 'x' sits after the two-byte 'é'.
        assert_eq!(s.line_col(10), (2, 5));
    }
}
