//! A rehearsal as people read it: step by step in the terminal, and as one
//! HTML page to attach to the migration's ticket. (JSON is the report
//! itself.)

use std::fmt::Write as _;

use super::plan::n;
use super::xml;
use crate::rehearse::{Projection, Rehearsal, Status};

fn status(s: Status) -> &'static str {
    match s {
        Status::Passed => "passed",
        Status::Problems => "PROBLEMS",
        Status::Failed => "FAILED",
        Status::Skipped => "skipped",
    }
}

fn projection_lines(p: &Projection) -> Vec<String> {
    vec![
        format!("items in the snapshot: {}; operations: {}; write units: {}", n(p.items), n(p.operations), n(p.write_units)),
        format!("on-demand cost: ${:.4} at ${} per million write units", p.usd, p.price_per_million),
        format!(
            "duration at production's {} write units/s: {:.1} s ({:.1} min), computed (write units / the limit), not measured",
            p.production_wcu_per_sec,
            p.seconds_at_production_rate,
            p.seconds_at_production_rate / 60.0
        ),
        format!(
            "measured in this rehearsal (wall time of its processes): load {:.0} items/s; apply {:.0} operations/s, {:.0} write units/s{}",
            p.load_items_per_sec,
            p.rehearsal_ops_per_sec,
            p.rehearsal_wcu_per_sec,
            reached(p)
        ),
        format!(
            "the apply's rate was limited by {}",
            if p.limited_by.is_empty() { "(not measured: the apply did not run)" } else { &p.limited_by }
        ),
    ]
}

/// How the measured rate compares with the one the projection assumes.
fn reached(p: &Projection) -> String {
    if p.rehearsal_wcu_per_sec <= 0.0 || p.production_wcu_per_sec <= 0.0 {
        return String::new();
    }
    let ratio = p.rehearsal_wcu_per_sec / p.production_wcu_per_sec;
    if ratio < 0.95 {
        format!(" ({:.0}% of the projection's rate: production reaches it only if its table and client sustain it)", ratio * 100.0)
    } else {
        " (at or above the projection's rate)".to_string()
    }
}

/// The terminal rendering.
pub fn text(r: &Rehearsal) -> String {
    let mut o = format!("rehearsal of {} against {} ({:.1} s)\n", r.transform, r.target, r.seconds);
    for s in &r.steps {
        let _ = writeln!(o, "\n{}. {:28} {:9} {:8.1} s", s.number, s.name, status(s.status), s.seconds);
        for l in &s.lines {
            let _ = writeln!(o, "   {l}");
        }
        for c in &s.commands {
            let _ = writeln!(o, "   $ {c}");
        }
    }
    o.push_str("\nprojection for production\n");
    for l in projection_lines(&r.projection) {
        let _ = writeln!(o, "   {l}");
    }
    for c in &r.cleanup {
        let _ = writeln!(o, "\nWARNING: {c}");
    }
    let _ = writeln!(o, "\nwork folder: {}", r.work_dir);
    o
}

/// One HTML page with inline CSS, no scripts and no network.
pub fn html(r: &Rehearsal) -> String {
    let mut o = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ddbsnap rehearsal</title><style>{}</style></head><body>\
         <h1>ddbsnap rehearsal</h1><p>Transform <b>{}</b> against <code>{}</code>, {:.1} s, started {}.</p>",
        super::html::STYLE,
        xml(&r.transform),
        xml(&r.target),
        r.seconds,
        xml(&r.started_at)
    );
    o.push_str("<table id=\"steps\"><tr><th>step</th><th>result</th><th class=\"num\">seconds</th><th>findings</th><th>commands</th></tr>");
    for s in &r.steps {
        let cls = match s.status {
            Status::Passed => "pass",
            Status::Problems => "warn",
            Status::Failed => "fail",
            Status::Skipped => "",
        };
        let _ = write!(
            o,
            "<tr><td>{}. {}</td><td class=\"{cls}\">{}</td><td class=\"num\">{:.1}</td><td><pre>{}</pre></td><td><pre>{}</pre></td></tr>",
            s.number,
            xml(&s.name),
            status(s.status),
            s.seconds,
            xml(&s.lines.join("\n")),
            xml(&s.commands.join("\n"))
        );
    }
    o.push_str("</table><h2>Projection for production</h2><ul id=\"projection\">");
    for l in projection_lines(&r.projection) {
        let _ = write!(o, "<li>{}</li>", xml(&l));
    }
    o.push_str("</ul></body></html>\n");
    o
}
