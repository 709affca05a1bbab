//! A plan as people read it: in the terminal, as Markdown for a pull
//! request, and as one HTML page. (JSON is the manifest itself.)

use std::fmt::Write as _;

use super::{esc, md, xml};
use crate::checks::gate::{Change, Rule};
use crate::checks::run::Status;
use crate::plan::manifest::{CheckComparison, CheckOutcome, PlanManifest};

pub(crate) fn n(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn status(o: &CheckOutcome) -> &'static str {
    match o.status {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Error => "ERROR",
    }
}

fn before_after(c: &CheckComparison) -> String {
    let before = c.before.as_ref().map(|b| format!("{} {}", status(b), n(b.violations))).unwrap_or_else(|| "n/a".into());
    format!("{before} -> {} {}", status(&c.after), n(c.after.violations))
}

/// One-line operation counts: `Contact: UPDATE 1,990, DELETE 3`.
fn op_counts(m: &PlanManifest) -> Vec<String> {
    m.summary
        .operations
        .iter()
        .map(|(t, ops)| {
            format!("{}: {}", esc(t), ops.iter().map(|(k, c)| format!("{} {}", k.name(), n(*c))).collect::<Vec<_>>().join(", "))
        })
        .collect()
}

/// The plan's checks in the reports' order: new or worse first, then
/// pre-existing, fixed, passing (and by name within a group).
fn ordered(m: &PlanManifest) -> Vec<(Change, &CheckComparison)> {
    let mut out: Vec<(Change, &CheckComparison)> = m.checks.iter().map(|c| (c.change(), c)).collect();
    out.sort_by(|a, b| (a.0.group_rank(), &a.1.table, &a.1.name).cmp(&(b.0.group_rank(), &b.1.table, &b.1.name)));
    out
}

/// One line on what the checks mean for `apply`: what blocks by default,
/// and what only `--require-clean` would block.
pub fn verdict(m: &PlanManifest) -> String {
    let worse = m.blocking_checks(Rule::Regressions).len();
    let strict = m.blocking_checks(Rule::Clean).len();
    let pre = strict.saturating_sub(worse);
    let s = |k: usize| if k == 1 { "" } else { "s" };
    match (worse, pre) {
        (0, 0) => "after the plan, every error check passes".into(),
        (0, p) => format!("after the plan, no check is worse; {p} pre-existing failure{} not blocking (--require-clean blocks them)", s(p)),
        (w, 0) => format!("after the plan, {w} check{} new or worse: apply refuses this plan", s(w)),
        (w, p) => format!("after the plan, {w} check{} new or worse: apply refuses this plan; {p} pre-existing failure{}", s(w), s(p)),
    }
}

fn cost_line(m: &PlanManifest) -> String {
    let c = &m.cost;
    format!(
        "{} write units: ${:.4} on demand at ${} per million; {:.1} s at {} write units/s",
        n(c.write_units),
        c.usd,
        c.price_per_million,
        c.seconds,
        c.write_rate
    )
}

/// The terminal rendering.
pub fn text(m: &PlanManifest) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "plan {}", m.sha256.as_deref().unwrap_or("(not yet hashed)"));
    let _ = writeln!(o, "transform {} ({}) {}", esc(&m.transform.name), esc(&m.transform.origin), esc(&params(m)));
    // Where the plan writes: what a reviewer approves, not only what changes.
    for line in where_lines(m) {
        let _ = writeln!(o, "{}", esc(&line));
    }
    let _ = writeln!(
        o,
        "\n{} operations from {} result rows ({} already in the target shape, {} skipped)",
        n(m.summary.total_ops()),
        n(m.summary.rows),
        n(m.summary.noops),
        n(m.summary.skipped)
    );
    for line in op_counts(m) {
        let _ = writeln!(o, "  {line}");
    }
    for line in crate::plan::coverage::lines(&m.summary) {
        let _ = writeln!(o, "  {line}");
    }
    for (table, attrs) in &m.summary.attributes {
        for (a, c) in attrs {
            let types: Vec<String> = c.types.iter().map(|(t, k)| format!("{t}: {}", n(*k))).collect();
            let _ = writeln!(o, "  {}.{}: +{} ~{} -{}  [{}]", esc(table), esc(a), n(c.added), n(c.changed), n(c.removed), types.join(", "));
        }
    }
    let _ = writeln!(o, "cost: {}", cost_line(m));
    if !m.checks.is_empty() {
        let _ = writeln!(o, "\nchecks (before -> after):");
        let mut group = "";
        for (change, c) in ordered(m) {
            if change.group() != group {
                group = change.group();
                let _ = writeln!(o, "  {group}:");
            }
            let sev = format!("{:?}", c.severity).to_lowercase();
            let newly = c.newly_failing.filter(|n| *n > 0).map(|n| format!(": {} items newly fail", self::n(n))).unwrap_or_default();
            let _ = writeln!(o, "    {sev:<7} {}: {}  [{}{newly}]", esc(&c.name), before_after(c), change.name());
            if let Some(e) = &c.after.error {
                let _ = writeln!(o, "            {}", esc(e));
            }
        }
        let _ = writeln!(o, "{}", verdict(m));
    }
    if !m.samples.is_empty() {
        let _ = writeln!(o, "\nsample changes:");
        for s in &m.samples {
            let _ = writeln!(o, "  {} {} {}", s.op.name(), esc(&s.table), esc(&s.key.to_string()));
            for d in &s.changes {
                let line = match (&d.before, &d.after) {
                    (None, Some(a)) => format!("+ {}: {a}", d.attribute),
                    (Some(b), None) => format!("- {}: {b}", d.attribute),
                    (Some(b), Some(a)) => format!("~ {}: {b} -> {a}", d.attribute),
                    (None, None) => continue,
                };
                let _ = writeln!(o, "      {}", crate::error::brief(&line, 300));
            }
        }
    }
    if !m.skipped.is_empty() {
        let _ = writeln!(o, "\nskipped rows (not planned):");
        for s in &m.skipped {
            let _ = writeln!(o, "  row {} {} {}: {}", s.row, esc(&s.table), esc(&s.key.to_string()), esc(&s.reason));
        }
    }
    o
}

/// Where the data comes from and where the plan writes, one line each.
fn where_lines(m: &PlanManifest) -> Vec<String> {
    let mut out = Vec::new();
    for s in &m.sources {
        let ex: Vec<String> =
            s.exports.iter().map(|e| format!("{} {} as of {}", e.export_id, e.kind, e.as_of.as_deref().unwrap_or("?"))).collect();
        out.push(format!("source {}: {} items from {}", s.table, n(s.items), ex.join(", ")));
    }
    for t in &m.targets {
        let physical = t.physical.as_deref().unwrap_or("(no table known: apply needs --table)");
        out.push(format!("target {} -> DynamoDB table {physical}, key {}", t.name, t.key.join(", ")));
    }
    out
}

/// Per table and attribute: items gaining, changing and losing it, and the type transitions.
fn attribute_rows(m: &PlanManifest) -> Vec<[String; 6]> {
    let mut out = Vec::new();
    for (table, attrs) in &m.summary.attributes {
        for (a, c) in attrs {
            let types: Vec<String> = c.types.iter().map(|(t, k)| format!("{t}: {}", n(*k))).collect();
            out.push([table.clone(), a.clone(), n(c.added), n(c.changed), n(c.removed), types.join(", ")]);
        }
    }
    out
}

fn params(m: &PlanManifest) -> String {
    m.transform.params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

/// Markdown for a pull request that proposes the migration.
pub fn markdown(m: &PlanManifest) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "## ddbsnap plan `{}`\n", m.sha256.as_deref().unwrap_or("-"));
    let _ = writeln!(o, "Transform **{}** ({}) {}\n", md(&m.transform.name), md(&m.transform.origin), md(&params(m)));
    let _ = writeln!(
        o,
        "**{}** operations ({}); {} no-ops, {} skipped. Cost: {}.\n",
        n(m.summary.total_ops()),
        md(&op_counts(m).join("; ")),
        n(m.summary.noops),
        n(m.summary.skipped),
        cost_line(m)
    );
    for line in where_lines(m) {
        let _ = writeln!(o, "- {}", md(&line));
    }
    o.push('\n');
    let attrs = attribute_rows(m);
    if !attrs.is_empty() {
        let _ = writeln!(o, "| table | attribute | gain | change | lose | types (before -> after) |\n|---|---|---:|---:|---:|---|");
        for [t, a, add, ch, rm, types] in &attrs {
            let _ = writeln!(o, "| {} | {} | {add} | {ch} | {rm} | {} |", md(t), md(a), md(types));
        }
        o.push('\n');
    }
    let coverage = crate::plan::coverage::lines(&m.summary);
    if !coverage.is_empty() {
        let _ = writeln!(o, "Items returned and left out by the transform:\n");
        for line in coverage {
            let _ = writeln!(o, "{}- {}", if line.starts_with("  ") { "  " } else { "" }, md(line.trim_start()));
        }
        o.push('\n');
    }
    if !m.checks.is_empty() {
        let _ = writeln!(o, "{}\n", md(&verdict(m)));
        let _ = writeln!(o, "| group | check | table | severity | before | after |\n|---|---|---|---|---|---|");
        for (change, c) in ordered(m) {
            let before = c.before.as_ref().map(|b| format!("{} {}", status(b), n(b.violations))).unwrap_or_else(|| "n/a".into());
            let after = format!("{} {}", status(&c.after), n(c.after.violations));
            let group = if change.is_worse() { format!("**{}**", change.group()) } else { change.group().to_string() };
            let _ = writeln!(o, "| {group} | {} | {} | {:?} | {before} | {after} |", md(&c.name), md(&c.table), c.severity);
        }
        o.push('\n');
    }
    if !m.samples.is_empty() {
        // Names and values are data: escaped (a newline in a name would
        // forge a diff line), and fenced by more backticks than they hold,
        // so that no name can close the block and put markup in the review.
        let mut body = String::new();
        for s in &m.samples {
            let _ = writeln!(body, "@@ {} {} {} @@", s.op.name(), esc(&s.table), esc(&s.key.to_string()));
            for d in &s.changes {
                if let Some(b) = &d.before {
                    let _ = writeln!(body, "- {}: {}", esc(&d.attribute), crate::error::brief(b, 300));
                }
                if let Some(a) = &d.after {
                    let _ = writeln!(body, "+ {}: {}", esc(&d.attribute), crate::error::brief(a, 300));
                }
            }
        }
        let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
        let fence = "`".repeat(longest.max(2) + 1);
        let _ = writeln!(o, "<details><summary>Sample changes</summary>\n\n{fence}diff\n{body}{fence}\n</details>");
    }
    if !m.skipped.is_empty() {
        let _ = writeln!(o, "\n**Skipped rows** (not planned):\n");
        for s in &m.skipped {
            let _ = writeln!(o, "- row {} {} {}: {}", s.row, md(&s.table), md(&s.key.to_string()), md(&s.reason));
        }
    }
    // Line by line: control characters escaped, the lines kept.
    let sql: Vec<String> = m.transform.sql.lines().map(|l| esc(l).into_owned()).collect();
    let _ = writeln!(o, "\n<details><summary>Transform SQL</summary>\n\n{}</details>", super::fenced("sql", &sql.join("\n")));
    o
}

/// One self-contained HTML page.
pub fn html(m: &PlanManifest) -> String {
    let mut o = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ddbsnap plan</title><style>{}\
         .add{{background:#e6ffec}}.del{{background:#ffebe9}}</style></head><body><h1>ddbsnap plan</h1><p><code id=\"sha\">{}</code></p>",
        super::html::STYLE,
        xml(m.sha256.as_deref().unwrap_or("-"))
    );
    let _ = write!(
        o,
        "<p>Transform <b>{}</b> (<code>{}</code>) {}</p><p id=\"ops\">{} operations: {}; {} no-ops, {} skipped.</p><p>Cost: {}</p>",
        xml(&m.transform.name),
        xml(&m.transform.origin),
        xml(&params(m)),
        n(m.summary.total_ops()),
        xml(&op_counts(m).join("; ")),
        n(m.summary.noops),
        n(m.summary.skipped),
        xml(&cost_line(m))
    );
    o.push_str("<ul id=\"where\">");
    for line in where_lines(m) {
        let _ = write!(o, "<li>{}</li>", xml(&line));
    }
    o.push_str("</ul><h2>Attributes</h2><table id=\"attributes\"><tr><th>table</th><th>attribute</th><th class=\"num\">gain</th><th class=\"num\">change</th><th class=\"num\">lose</th><th>types (before -&gt; after)</th></tr>");
    for [t, a, add, ch, rm, types] in attribute_rows(m) {
        let _ = write!(
            o,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{add}</td><td class=\"num\">{ch}</td><td class=\"num\">{rm}</td><td>{}</td></tr>",
            xml(&t),
            xml(&a),
            xml(&types)
        );
    }
    o.push_str("</table>");
    o.push_str("<ul id=\"coverage\">");
    for line in crate::plan::coverage::lines(&m.summary) {
        let _ = write!(o, "<li>{}</li>", xml(line.trim_start()));
    }
    o.push_str("</ul>");
    let _ = write!(o, "<h2>Checks</h2><p id=\"verdict\">{}</p>", xml(&verdict(m)));
    o.push_str("<table id=\"checks\"><tr><th>group</th><th>check</th><th>table</th><th>severity</th><th>before</th><th>after</th></tr>");
    for (change, c) in ordered(m) {
        let cls = |s: &CheckOutcome| if s.status == Status::Pass { "pass" } else { "fail" };
        let before = c
            .before
            .as_ref()
            .map(|b| format!("<td class=\"{}\">{} {}</td>", cls(b), status(b), n(b.violations)))
            .unwrap_or("<td>n/a</td>".into());
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:?}</td>{before}<td class=\"{}\">{} {}</td></tr>",
            change.group(),
            xml(&c.name),
            xml(&c.table),
            c.severity,
            cls(&c.after),
            status(&c.after),
            n(c.after.violations)
        );
    }
    o.push_str(
        "</table><h2>Sample changes</h2><table id=\"samples\"><tr><th>item</th><th>attribute</th><th>before</th><th>after</th></tr>",
    );
    for s in &m.samples {
        for d in &s.changes {
            let _ = write!(
                o,
                "<tr><td>{} {} <code>{}</code></td><td>{}</td><td class=\"del\"><code>{}</code></td><td class=\"add\"><code>{}</code></td></tr>",
                s.op.name(),
                xml(&s.table),
                xml(&s.key.to_string()),
                xml(&d.attribute),
                xml(d.before.as_deref().unwrap_or("")),
                xml(d.after.as_deref().unwrap_or(""))
            );
        }
    }
    o.push_str("</table>");
    if !m.skipped.is_empty() {
        o.push_str("<h2>Skipped rows</h2><table id=\"skipped\"><tr><th>row</th><th>table</th><th>key</th><th>reason</th></tr>");
        for s in &m.skipped {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                s.row,
                xml(&s.table),
                xml(&s.key.to_string()),
                xml(&s.reason)
            );
        }
        o.push_str("</table>");
    }
    let _ = writeln!(o, "<h2>Transform</h2><pre>{}</pre></body></html>", xml(&m.transform.sql));
    o
}
