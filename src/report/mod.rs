//! Check reports and their renderings: JUnit XML for CI systems, Markdown
//! for pull-request comments, and one self-contained HTML page for
//! post-deploy integrity reports (no network needed to view it).

mod html;
pub mod plan;
pub mod rehearsal;

pub use html::html;

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

pub(crate) fn md(s: &str) -> String {
    crate::error::escape_unsafe(s).replace('|', "\\|")
}

/// Data shown as text: control characters and direction marks escaped, so a
/// crafted attribute name or key cannot redraw a reviewer's terminal.
pub(crate) fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    crate::error::escape_unsafe(s)
}

/// Markdown for pull-request comments: a summary line, a table of checks
/// (failures first), samples of the failures, notes.
pub fn markdown(results: &[CheckResult], tables: &[TableProfile], notes: &[String]) -> String {
    let failed = results.iter().filter(|r| r.status != Status::Pass).count();
    let items: Vec<String> = tables.iter().map(|t| format!("{} ({} items)", t.name, t.items)).collect();
    let mut out = format!("## ddbsnap check: {failed} of {} checks need attention\n\nTables: {}\n\n", results.len(), items.join(", "));
    out.push_str("| status | check | violations | description |\n|---|---|---:|---|\n");
    let mut ordered: Vec<&CheckResult> = results.iter().collect();
    ordered.sort_by_key(|r| (r.status == Status::Pass, r.severity == Severity::Warn));
    for r in &ordered {
        let status = match (r.status, r.severity) {
            (Status::Pass, _) => "pass",
            (Status::Fail, Severity::Warn) => "**warn**",
            (Status::Fail, Severity::Error) => "**FAIL**",
            (Status::Error, _) => "**ERROR**",
        };
        out.push_str(&format!("| {status} | `{}` | {} | {} |\n", md(&r.name), r.violations, md(&r.description)));
    }
    for r in ordered.iter().filter(|r| r.status != Status::Pass) {
        out.push_str(&format!("\n<details><summary><code>{}</code></summary>\n\n```sql\n{}\n```\n", md(&r.name), r.sql));
        if let Some(e) = &r.error {
            out.push_str(&format!("\nError: {}\n", md(e)));
        }
        for row in &r.sample {
            out.push_str(&format!("\n- `{row}`"));
        }
        out.push_str("\n\n</details>\n");
    }
    for n in notes {
        out.push_str(&format!("\n> {}\n", md(n)));
    }
    out
}

pub(crate) fn xml(s: &str) -> String {
    crate::error::escape_unsafe(s).replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// JUnit XML: one testcase per check, for CI systems.
pub fn junit(results: &[CheckResult]) -> String {
    let failures = results.iter().filter(|r| r.status == Status::Fail).count();
    let errors = results.iter().filter(|r| r.status == Status::Error).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"ddbsnap\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">\n",
        results.len()
    );
    for r in results {
        out.push_str(&format!("  <testcase classname=\"{}\" name=\"{}\">", xml(&r.table), xml(&r.name)));
        match r.status {
            Status::Pass => {}
            Status::Fail => {
                let sample: Vec<String> = r.sample.iter().map(|s| s.to_string()).collect();
                out.push_str(&format!(
                    "<failure type=\"{:?}\" message=\"{} violations: {}\">{}</failure>",
                    r.severity,
                    r.violations,
                    xml(&r.description),
                    xml(&sample.join("\n"))
                ));
            }
            Status::Error => out.push_str(&format!("<error message=\"{}\"/>", xml(r.error.as_deref().unwrap_or("")))),
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("</testsuite>\n</testsuites>\n");
    out
}
