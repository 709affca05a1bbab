//! The HTML integrity report: one page with inline CSS and SVG, no scripts
//! and no network, so it can be attached to a ticket or archived as is.

use super::{Compared, TableProfile, change_label, ordered, xml};
use crate::checks::generate::Severity;
use crate::checks::run::{CheckResult, Status};

pub(crate) const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.5em}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
.pass{color:#176b2c}.fail{color:#b00020;font-weight:bold}.warn{color:#9a6700;font-weight:bold}.error{color:#6f2dbd;font-weight:bold}\
.num{text-align:right}code,pre{font:12px ui-monospace,monospace;background:#f6f8fa}pre{padding:6px;white-space:pre-wrap}\
.summary span{margin-right:1.5em}svg{vertical-align:middle}";

/// Colours per DynamoDB type in the profile bars.
fn colour(t: &str) -> &'static str {
    match t {
        "S" => "#4e79a7",
        "N" => "#f28e2b",
        "BOOL" => "#59a14f",
        "NULL" => "#bab0ac",
        "M" => "#b07aa1",
        "L" => "#76b7b2",
        "B" => "#edc948",
        _ => "#e15759",
    }
}

/// Renders the report.
pub fn html(results: &[CheckResult], tables: &[TableProfile], notes: &[String], baseline: Option<&Compared>) -> String {
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    let mut out = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ddbsnap integrity report</title><style>{STYLE}</style></head><body>\
         <h1>ddbsnap integrity report</h1><p class=\"summary\"><span id=\"total\">{} checks</span><span class=\"pass\">{} passed</span>\
         <span class=\"fail\" id=\"failed\">{} failed</span><span class=\"error\">{} could not run</span></p>",
        results.len(),
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Error)
    );
    if let Some(b) = baseline {
        out.push_str(&format!("<p id=\"baseline\">Against the baseline <code>{}</code>: {}</p>", xml(&b.file), xml(&b.summary(results))));
    }
    out.push_str("<h2>Checks</h2><table id=\"checks\"><tr>");
    if baseline.is_some() {
        out.push_str("<th>group</th><th>change</th>");
    }
    out.push_str("<th>status</th><th>check</th><th>table</th><th class=\"num\">violations</th><th>description</th></tr>");
    for r in ordered(results) {
        let (class, label) = match (r.status, r.severity) {
            (Status::Pass, _) => ("pass", "pass"),
            (Status::Fail, Severity::Warn) => ("warn", "warn"),
            (Status::Fail, Severity::Error) => ("fail", "FAIL"),
            (Status::Error, _) => ("error", "ERROR"),
        };
        out.push_str(&format!("<tr class=\"check {class}\">"));
        if let (Some(c), Some(change)) = (r.change, change_label(r)) {
            out.push_str(&format!("<td>{}</td><td class=\"change\">{}</td>", c.group(), xml(&change)));
        }
        out.push_str(&format!(
            "<td class=\"{class}\">{label}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td>{}",
            xml(&r.name),
            xml(&r.table),
            r.violations,
            xml(&r.description)
        ));
        if r.status != Status::Pass {
            if let Some(e) = &r.error {
                out.push_str(&format!("<pre>{}</pre>", xml(e)));
            }
            let sample: Vec<String> = r.sample.iter().map(|s| xml(&s.to_string())).collect();
            if !sample.is_empty() {
                out.push_str(&format!("<details><summary>sample</summary><pre>{}</pre></details>", sample.join("\n")));
            }
            out.push_str(&format!("<details><summary>SQL</summary><pre>{}</pre></details>", xml(&r.sql)));
        }
        out.push_str("</td></tr>");
    }
    for m in baseline.map(|b| b.missing).unwrap_or_default() {
        out.push_str(&format!(
            "<tr class=\"check missing\"><td>new or worse</td><td class=\"change\">missing</td><td class=\"fail\">not run</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td>in the baseline ({}), not in this run</td></tr>",
            xml(&m.name),
            xml(&m.table),
            m.violations,
            m.status.name()
        ));
    }
    out.push_str("</table>");
    if !notes.is_empty() {
        out.push_str("<h2>Notes</h2><ul>");
        for n in notes {
            out.push_str(&format!("<li>{}</li>", xml(n)));
        }
        out.push_str("</ul>");
    }
    for t in tables {
        out.push_str(&format!(
            "<h2>Table {} <small>({} items)</small></h2><table class=\"profile\"><tr><th>attribute</th><th class=\"num\">present</th><th>DynamoDB types</th></tr>",
            xml(&t.name),
            t.items
        ));
        for a in &t.attributes {
            let present: u64 = a.types.iter().map(|(_, c)| c).sum();
            let pct = 100.0 * present as f64 / t.items.max(1) as f64;
            out.push_str(&format!(
                "<tr><td><code>{}</code></td><td class=\"num\">{pct:.1}%</td><td>{}",
                xml(&a.name),
                bar(&a.types, t.items)
            ));
            let legend: Vec<String> = a.types.iter().map(|(ty, c)| format!("{ty} {c}")).collect();
            out.push_str(&format!(" {}</td></tr>", xml(&legend.join(", "))));
        }
        out.push_str("</table>");
    }
    out.push_str("</body></html>\n");
    out
}

/// A 200-pixel stacked bar of type counts out of `items`.
fn bar(types: &[(String, u64)], items: u64) -> String {
    let mut x = 0.0;
    let mut svg = String::from("<svg width=\"200\" height=\"12\" role=\"img\"><rect width=\"200\" height=\"12\" fill=\"#eee\"/>");
    for (t, c) in types {
        let w = 200.0 * *c as f64 / items.max(1) as f64;
        svg.push_str(&format!("<rect x=\"{x:.1}\" width=\"{w:.1}\" height=\"12\" fill=\"{}\"><title>{t}: {c}</title></rect>", colour(t)));
        x += w;
    }
    svg.push_str("</svg>");
    svg
}
