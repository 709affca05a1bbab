//! Check reports and their renderings: JUnit XML for CI systems, Markdown
//! for pull-request comments, and one self-contained HTML page for
//! post-deploy integrity reports (no network needed to view it).

mod html;
pub mod plan;
pub mod rehearsal;

pub use html::html;

use std::collections::BTreeMap;

use crate::checks::baseline::Recorded;
use crate::checks::gate::Change;
use crate::checks::generate::Severity;
use crate::checks::run::{CheckResult, Status};

/// Per attribute of a table: how many items hold it, by DynamoDB type.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AttrProfile {
    pub name: String,
    pub types: Vec<(String, u64)>,
}

/// A table as the report shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableProfile {
    pub name: String,
    pub items: u64,
    pub attributes: Vec<AttrProfile>,
}

impl TableProfile {
    pub fn from_stats(name: &str, items: u64, stats: &crate::convert::TableStats) -> TableProfile {
        let attributes = stats
            .attrs
            .iter()
            .map(|(n, a)| AttrProfile {
                name: n.clone(),
                types: crate::item::DdbType::ALL
                    .iter()
                    .filter(|t| a.counts[**t as usize] > 0)
                    .map(|t| (t.name().to_string(), a.counts[*t as usize]))
                    .collect(),
            })
            .collect();
        TableProfile { name: name.to_string(), items, attributes }
    }
}

/// Data in Markdown: control characters escaped, `|` escaped (tables), and
/// `&`, `<`, `>` as entities, so that no name or value becomes HTML in a
/// pull-request comment (an `<img>` in a field name would load, a `<!--`
/// would hide the rest of the report).
pub(crate) fn md(s: &str) -> String {
    crate::error::escape_unsafe(s).replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('|', "\\|")
}

/// Data shown as text: control characters and direction marks escaped, so a
/// crafted attribute name or key cannot redraw a reviewer's terminal.
pub(crate) fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    crate::error::escape_unsafe(s)
}

/// A check report compared with an earlier one (`check --baseline`).
pub struct Compared<'a> {
    pub file: String,
    /// The baseline's checks that did not run this time.
    pub missing: &'a [Recorded],
}

impl Compared<'_> {
    /// `1 new, 2 regressed, ...` over every change that occurred.
    pub fn summary(&self, results: &[CheckResult]) -> String {
        let mut counts: BTreeMap<Change, usize> = BTreeMap::new();
        for r in results {
            *counts.entry(r.change.unwrap_or(Change::New)).or_default() += 1;
        }
        if !self.missing.is_empty() {
            counts.insert(Change::Missing, self.missing.len());
        }
        counts.iter().map(|(c, k)| format!("{k} {}", c.name())).collect::<Vec<_>>().join(", ")
    }
}

/// Reports' order: with a baseline, new or worse first, then pre-existing,
/// fixed and passing; without one, failures first. Errors before warnings.
pub(crate) fn ordered(results: &[CheckResult]) -> Vec<&CheckResult> {
    let mut out: Vec<&CheckResult> = results.iter().collect();
    out.sort_by_key(|r| (r.change.map(Change::group_rank), r.status == Status::Pass, r.severity == Severity::Warn));
    out
}

/// `regressed (5 -> 7)`: a result's change against the baseline, when there is one.
pub(crate) fn change_label(r: &CheckResult) -> Option<String> {
    let c = r.change?;
    Some(match r.baseline {
        Some(b) if c != Change::Passing => format!("{} ({} -> {})", c.name(), b.violations, r.violations),
        _ => c.name().to_string(),
    })
}

/// A fenced Markdown block whose fence is longer than any run of backticks
/// in `body`, so that data (a check's SQL, a sample) cannot close it.
pub(crate) fn fenced(lang: &str, body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{lang}\n{body}\n{fence}\n")
}

/// Markdown for pull-request comments: a summary line, a table of checks
/// (with a baseline, regressions first; else failures first), samples of
/// the failures, notes.
pub fn markdown(results: &[CheckResult], tables: &[TableProfile], notes: &[String], baseline: Option<&Compared>) -> String {
    let failed = results.iter().filter(|r| r.status != Status::Pass).count();
    let items: Vec<String> = tables.iter().map(|t| format!("{} ({} items)", md(&t.name), t.items)).collect();
    let mut out = match baseline {
        Some(b) => {
            let worse = results.iter().filter(|r| r.change.is_some_and(Change::is_worse)).count() + b.missing.len();
            format!(
                "## ddbsnap check: {worse} new or worse against the baseline\n\nBaseline {}: {}. {failed} of {} checks need attention.\n\n",
                code(&b.file),
                b.summary(results),
                results.len()
            )
        }
        None => format!("## ddbsnap check: {failed} of {} checks need attention\n\n", results.len()),
    };
    out.push_str(&format!("Tables: {}\n\n", items.join(", ")));
    let with_change = baseline.is_some();
    out.push_str(if with_change {
        "| group | change | status | check | violations | description |\n|---|---|---|---|---:|---|\n"
    } else {
        "| status | check | violations | description |\n|---|---|---:|---|\n"
    });
    let ordered = ordered(results);
    // Checks gone since the baseline belong with the new or worse: after them, before the rest.
    let split = ordered.iter().position(|r| r.change.is_some_and(|c| !c.is_worse())).unwrap_or(ordered.len());
    for (i, r) in ordered.iter().enumerate() {
        if i == split {
            missing_rows(&mut out, baseline);
        }
        let status = match (r.status, r.severity) {
            (Status::Pass, _) => "pass",
            (Status::Fail, Severity::Warn) => "**warn**",
            (Status::Fail, Severity::Error) => "**FAIL**",
            (Status::Error, _) => "**ERROR**",
        };
        if let (Some(c), Some(label)) = (r.change, change_label(r)) {
            out.push_str(&format!("| {} | {label} | ", c.group()));
        } else {
            out.push_str("| ");
        }
        out.push_str(&format!("{status} | {} | {} | {} |\n", code(&r.name), r.violations, md(&r.description)));
    }
    if split == ordered.len() {
        missing_rows(&mut out, baseline);
    }
    for r in ordered.iter().filter(|r| r.status != Status::Pass) {
        out.push_str(&format!("\n<details><summary>{}</summary>\n\n{}", code(&r.name), fenced("sql", &r.sql)));
        if let Some(e) = &r.error {
            out.push_str(&format!("\nError: {}\n", md(e)));
        }
        if !r.sample.is_empty() {
            let rows: Vec<String> = r.sample.iter().map(|row| crate::error::escape_unsafe(&row.to_string()).into_owned()).collect();
            out.push('\n');
            out.push_str(&fenced("json", &rows.join("\n")));
        }
        out.push_str("\n</details>\n");
    }
    for n in notes {
        out.push_str(&format!("\n> {}\n", md(n)));
    }
    out
}

/// The Markdown rows of the baseline's checks that did not run this time.
fn missing_rows(out: &mut String, baseline: Option<&Compared>) {
    for m in baseline.map(|b| b.missing).unwrap_or_default() {
        out.push_str(&format!(
            "| new or worse | missing | not run | {} | was {} ({}) | in the baseline on table {}, not in this run |\n",
            code(&m.name),
            m.violations,
            m.status.name(),
            md(&m.table)
        ));
    }
}

/// Inline code for data: in `<code>`, HTML-escaped, so that no backtick or tag in a name breaks out.
fn code(s: &str) -> String {
    format!("<code>{}</code>", xml(s).replace('|', "&#124;"))
}

pub(crate) fn xml(s: &str) -> String {
    crate::error::escape_unsafe(s).replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// JUnit XML: one testcase per check, for CI systems. With `only_worse`
/// (`check --baseline` failing on regressions), a failure that is no worse
/// than the baseline's is a skipped testcase that says so, so that the CI
/// job's test view agrees with its exit code; a baseline check that did not
/// run is a failed testcase.
/// `notes` (a table not whole, a check not run) go in the suite's
/// `<system-out>`, which CI test views show beside the cases.
pub fn junit(results: &[CheckResult], missing: &[Recorded], notes: &[String], only_worse: bool) -> String {
    let pre_existing = |r: &CheckResult| only_worse && r.status == Status::Fail && r.change.is_some_and(|c| !c.is_worse());
    let missing_fails = |m: &Recorded| only_worse && m.severity == Severity::Error;
    let failures = results.iter().filter(|r| r.status == Status::Fail && !pre_existing(r)).count()
        + missing.iter().filter(|m| missing_fails(m)).count();
    let errors = results.iter().filter(|r| r.status == Status::Error).count();
    let skipped = results.iter().filter(|r| pre_existing(r)).count() + missing.iter().filter(|m| !missing_fails(m)).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"ddbsnap\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n",
        results.len() + missing.len()
    );
    for r in results {
        out.push_str(&format!("  <testcase classname=\"{}\" name=\"{}\">", xml(&r.table), xml(&r.name)));
        let change = change_label(r).map(|c| format!(" ({c} against the baseline)")).unwrap_or_default();
        match r.status {
            Status::Pass => {}
            Status::Fail if pre_existing(r) => out.push_str(&format!(
                "<skipped message=\"pre-existing failure, no worse than the baseline: {} violations{}\"/>",
                r.violations,
                xml(&change)
            )),
            Status::Fail => {
                // Each sample escaped on its own, then joined with real newlines.
                let sample: Vec<String> = r.sample.iter().map(|s| xml(&s.to_string())).collect();
                out.push_str(&format!(
                    "<failure type=\"{:?}\" message=\"{} violations{}: {}\">{}</failure>",
                    r.severity,
                    r.violations,
                    xml(&change),
                    xml(&r.description),
                    sample.join("\n")
                ));
            }
            Status::Error => out.push_str(&format!("<error message=\"{}\"/>", xml(r.error.as_deref().unwrap_or("")))),
        }
        out.push_str("</testcase>\n");
    }
    for m in missing {
        out.push_str(&format!(
            "  <testcase classname=\"{}\" name=\"{}\"><{} message=\"in the baseline ({}, {} violations), not run this time\"/></testcase>\n",
            xml(&m.table),
            xml(&m.name),
            if missing_fails(m) { "failure type=\"Missing\"" } else { "skipped" },
            m.status.name(),
            m.violations
        ));
    }
    if !notes.is_empty() {
        let notes: Vec<String> = notes.iter().map(|n| xml(n)).collect();
        out.push_str(&format!("  <system-out>{}</system-out>\n", notes.join("\n")));
    }
    out.push_str("</testsuite>\n</testsuites>\n");
    out
}
