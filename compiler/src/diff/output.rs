//! Presentations of a diff [`Report`]: a coloured-or-plain unified diff for terminals, a
//! markdown comment for pull requests (trimmed to GitHub's size limit), and fixed-shape
//! JSON for tools. All are pure functions of the report; the caller decides on colour
//! (terminal, NO_COLOR) and prints.
//!
//! Secret values never reach here: the report's diff text is already masked by `redact`.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use super::normalize::sorted;
use super::{Change, ObjectDiff, Report};

/// GitHub rejects issue and pull-request comments longer than this many characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// Lines of context around each change.
const CONTEXT_LINES: usize = 3;

/// The unified diff of two printed objects (`Value::Null` is an absent side).
pub fn unified_diff(old: &Value, new: &Value, old_header: &str, new_header: &str) -> String {
    let old_text = to_yaml(old);
    let new_text = to_yaml(new);
    let body = similar::TextDiff::from_lines(&old_text, &new_text)
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .to_string();
    format!("--- {old_header}\n+++ {new_header}\n{body}")
}

fn to_yaml(v: &Value) -> String {
    if v.is_null() {
        return String::new();
    }
    // Serialising a JSON value to YAML cannot fail; an empty text is a safe fallback.
    serde_yaml_ng::to_string(&sorted(v)).unwrap_or_default()
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// The terminal form: each object's diff, then the summary line, then the workloads
/// whose pods restart and the count of ignored differences.
pub fn render_text(report: &Report, color: bool) -> String {
    let mut out = String::new();
    for object in &report.objects {
        for line in object.diff.lines() {
            let style = if line.starts_with("---") || line.starts_with("+++") {
                BOLD
            } else if line.starts_with("@@") {
                CYAN
            } else if line.starts_with('-') {
                RED
            } else if line.starts_with('+') {
                GREEN
            } else {
                ""
            };
            if color && !style.is_empty() {
                let _ = writeln!(out, "{style}{line}{RESET}");
            } else {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    let _ = writeln!(out, "{}", report.summary_line());
    if let Some(line) = restart_line(report) {
        let _ = writeln!(out, "{line}");
    }
    if report.ignored > 0 {
        let _ = writeln!(out, "{} ignored difference(s) not counted", report.ignored);
    }
    out
}

/// `Pods will restart: Deployment azureml/azureml-fe-v2, ...`, when any do.
fn restart_line(report: &Report) -> Option<String> {
    let names: Vec<String> = report
        .restarts()
        .map(|o| format!("{} {}", o.id.kind, o.id.qualified_name()))
        .collect();
    (!names.is_empty()).then(|| format!("Pods will restart: {}", names.join(", ")))
}

/// The pull-request comment form, at most [`GITHUB_COMMENT_LIMIT`] bytes (so at most that
/// many characters): heading, summary, table, then one collapsible section per object for
/// as many as fit; a note at the end says what was cut.
pub fn render_markdown(report: &Report) -> String {
    render_markdown_within(report, GITHUB_COMMENT_LIMIT)
}

fn render_markdown_within(report: &Report, limit: usize) -> String {
    let mut head = String::from("## amlc diff\n\n");
    let _ = writeln!(head, "{}\n", report.summary_line());
    if let Some(line) = restart_line(report) {
        let _ = writeln!(head, "{line}\n");
    }
    if report.ignored > 0 {
        let _ = writeln!(
            head,
            "{} ignored difference(s) not counted.\n",
            report.ignored
        );
    }
    let mut table = String::new();
    if !report.objects.is_empty() {
        table.push_str("| change | kind | namespace | name |\n|---|---|---|---|\n");
        for o in &report.objects {
            let _ = writeln!(
                table,
                "| {} | {} | {} | {} |",
                o.change.as_str(),
                o.id.kind,
                cell(&o.id.namespace),
                cell(&o.id.name)
            );
        }
        table.push('\n');
    }
    // The note is at most this long; reserving it up front keeps the total under the limit.
    const NOTE_RESERVE: usize = 400;
    let budget = limit.saturating_sub(NOTE_RESERVE);
    let mut out = head;
    if out.len() + table.len() <= budget {
        out.push_str(&table);
    } else {
        out.push_str("(The table of objects is too long for one comment.)\n\n");
    }
    let mut shortened: Option<&ObjectDiff> = None;
    let mut left_out = 0;
    for o in &report.objects {
        if shortened.is_some() || left_out > 0 {
            left_out += 1;
            continue;
        }
        let section = details(o, &o.diff);
        if out.len() + section.len() <= budget {
            out.push_str(&section);
            continue;
        }
        // Shorten the first section that does not fit, if a useful part of it fits.
        let room = budget.saturating_sub(out.len() + details(o, "").len() + 40);
        if room >= 1_000 {
            let mut cut = String::new();
            for line in o.diff.lines() {
                if cut.len() + line.len() + 1 > room {
                    break;
                }
                cut.push_str(line);
                cut.push('\n');
            }
            cut.push_str("... (cut)\n");
            out.push_str(&details(o, &cut));
            shortened = Some(o);
        } else {
            left_out += 1;
        }
    }
    if shortened.is_some() || left_out > 0 {
        let mut note = String::from("**Trimmed** to GitHub's 65,536-character comment limit: ");
        if let Some(o) = shortened {
            let _ = write!(
                note,
                "the diff of {} {} was shortened",
                o.id.kind,
                o.id.qualified_name()
            );
            if left_out > 0 {
                note.push_str(", and ");
            }
        }
        if left_out > 0 {
            let _ = write!(note, "{left_out} more object diff(s) were left out");
        }
        note.push_str(". Run `amlc diff` for the full output.\n");
        out.push_str(&note);
    }
    out
}

/// A markdown table cell: escapes the pipe, marks an empty value.
fn cell(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.replace('|', "\\|")
    }
}

fn details(o: &ObjectDiff, diff: &str) -> String {
    // A fence longer than any backtick run inside, so the diff cannot close it early.
    let longest = diff.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!(
        "<details><summary>{} {} {}</summary>\n\n{fence}diff\n{}{}{fence}\n\n</details>\n\n",
        o.change.as_str(),
        o.id.kind,
        o.id.qualified_name(),
        diff,
        if diff.ends_with('\n') || diff.is_empty() {
            ""
        } else {
            "\n"
        },
    )
}

/// The JSON shape for tools (stable; add fields, never rename):
/// `{summary: {add, change, remove, unchanged, notCompared, ignored}, objects: [{change,
/// group, kind, namespace, name, apiVersion, restarts, ignored, paths, diff}], restarts: [{kind,
/// namespace, name}], warnings: [..], against}`.
pub fn render_json(report: &Report) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Summary {
        add: usize,
        change: usize,
        remove: usize,
        unchanged: usize,
        not_compared: usize,
        ignored: usize,
    }
    #[derive(Serialize)]
    struct Restart<'a> {
        kind: &'a str,
        namespace: &'a str,
        name: &'a str,
    }
    #[derive(Serialize)]
    struct Json<'a> {
        summary: Summary,
        objects: &'a [ObjectDiff],
        restarts: Vec<Restart<'a>>,
        warnings: &'a [String],
        against: &'static str,
    }
    let json = Json {
        summary: Summary {
            add: report.count(Change::Add),
            change: report.count(Change::Change),
            remove: report.count(Change::Remove),
            unchanged: report.unchanged,
            not_compared: report.not_compared,
            ignored: report.ignored,
        },
        objects: &report.objects,
        restarts: report
            .restarts()
            .map(|o| Restart {
                kind: &o.id.kind,
                namespace: &o.id.namespace,
                name: &o.id.name,
            })
            .collect(),
        warnings: &report.warnings,
        against: report.other.label(),
    };
    let mut s = serde_json::to_string_pretty(&json).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
