//! Steps 5 and 6: what the target holds, compared item by item with what
//! it should hold. After the apply: the snapshot with each planned
//! operation's expected item (time stamps as the journal recorded them);
//! after the rollback: the snapshot itself.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::scan::{self, Comparison, Keyed, key_json};
use super::steps::Ctx;
use super::{Status, Step};
use crate::apply::expr::Stamp;
use crate::apply::journal::{self, Journal};
use crate::apply::run::expected_ops;
use crate::convert::BatchDecoder;
use crate::error::{Error, Result};
use crate::generate::{ExportWriter, Rng};
use crate::item::Item;
use crate::plan::file::PlanFile;
use crate::snapshot::manifest::OutputFormat;

/// The snapshot's items of `model`, by key (none for a table it lacks).
fn snapshot_items(cx: &Ctx<'_>, model: &str, key: &[String]) -> Result<Keyed> {
    let mut out = Keyed::new();
    let Some(t) = cx.loaded.iter().find(|t| t.name() == model) else { return Ok(out) };
    for b in &t.batches {
        let d = BatchDecoder::new(b)?;
        for r in 0..b.num_rows() {
            let item = d.item(r)?;
            out.insert(key_json(&item, key), item);
        }
    }
    Ok(out)
}

fn key_names(shape: &super::tables::TableShape) -> Vec<String> {
    shape.key.iter().map(|k| k.0.clone()).collect()
}

/// Scans every created table and compares it with `expected(model, key)`;
/// returns the comparisons and the scanned items per source table name.
async fn scan_and_compare(
    cx: &Ctx<'_>,
    mut expected: impl FnMut(&str, &[String]) -> Result<Keyed>,
) -> Result<(Vec<Comparison>, Vec<(String, Vec<Item>)>)> {
    let mut comparisons = Vec::new();
    let mut scanned = Vec::new();
    for shape in &cx.created {
        let key = key_names(shape);
        let expected = expected(&shape.model, &key)?;
        let found = scan::scan(cx.client, &shape.physical, scan::segments_for(expected.len() as u64)).await?;
        let source = shape.physical.strip_prefix(cx.o.table_prefix.as_str()).unwrap_or(&shape.physical).to_string();
        comparisons.push(scan::compare(&shape.physical, expected, &found, &key));
        scanned.push((source, found));
    }
    Ok((comparisons, scanned))
}

fn comparison_lines(s: &mut Step, comparisons: &[Comparison], what: &str) {
    for c in comparisons {
        s.lines.push(format!(
            "{}: {} items, {} as {what}, {} differ, {} missing, {} unexpected",
            c.table, c.found, c.equal, c.differing, c.missing, c.unexpected
        ));
        for d in c.samples.iter().take(3) {
            s.lines.push(format!(
                "  {}\n    expected {}\n    found    {}",
                d.key,
                d.expected.as_deref().unwrap_or("(no item)"),
                d.found.as_deref().unwrap_or("(no item)")
            ));
        }
    }
}

/// Step 5: `verify`, a full scan compared with the planned state, and the
/// checks run on the scan compared with the plan's after-checks.
pub async fn step_verify(cx: &Ctx<'_>, s: &mut Step) -> Result<()> {
    let mut args = cx.target_flags(None);
    args.extend(["verify".into(), cx.plan_dir.display().to_string(), "--format".into(), "json".into()]);
    args.extend(cx.table_args());
    let ran = cx.runner.run(args).await?;
    s.commands.push(ran.command.clone());
    let verify = ran.json()?;
    let mismatches = verify["mismatches"].as_array().map(|a| a.len()).unwrap_or(0);
    s.lines.push(format!("verify: {} items read back, {mismatches} do not hold the planned state", verify["checked"]));

    let plan = PlanFile::open(&cx.plan_dir)?;
    let (header, entries) = journal::read(&Journal::path_for(&cx.plan_dir, "apply"))?;
    let stamp = Stamp { now: header.stamp_now, now_ms: header.stamp_now_ms };
    let mut planned: BTreeMap<String, Vec<(Item, Option<Item>)>> = BTreeMap::new();
    for expected in expected_ops(&plan, &stamp, &entries)? {
        let (op, item) = expected?;
        planned.entry(op.table.clone()).or_default().push((op.key, item));
    }
    let (comparisons, scanned) = scan_and_compare(cx, |model, key| {
        let mut items = snapshot_items(cx, model, key)?;
        for (k, item) in planned.remove(model).unwrap_or_default() {
            let k = key_json(&k, key);
            match item {
                Some(i) => items.insert(k, i),
                None => items.remove(&k),
            };
        }
        Ok(items)
    })
    .await?;
    comparison_lines(s, &comparisons, "planned");

    let after_dir = cx.o.work_dir.join("after-scan");
    write_export(&after_dir, &scanned)?;
    let (agree, disagree) = recheck(cx, s, &after_dir).await?;
    let all_match = comparisons.iter().all(Comparison::matches);
    s.status = if mismatches == 0 && all_match && disagree.is_empty() && ran.code == Some(0) { Status::Passed } else { Status::Problems };
    s.details = json!({"verify": verify, "comparisons": comparisons, "checks_agree": agree, "checks_disagree": disagree});
    Ok(())
}

/// Writes scanned tables as a full export (AWS's layout) under `dir`, so
/// that `ddbsnap check` reads them as it reads production's exports.
fn write_export(dir: &Path, scanned: &[(String, Vec<Item>)]) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| Error::io_path(dir, e))?;
    }
    let mut rng = Rng::new(1);
    for (physical, items) in scanned {
        let mut w = ExportWriter::new(dir, "", physical, OutputFormat::DynamodbJson, chrono::Utc::now(), 4, false, &mut rng)?;
        for item in items {
            w.add_item(item, &mut rng)?;
        }
        w.finish(None)?;
    }
    Ok(())
}

/// Runs the new model's checks on the scanned export and compares each with
/// the plan's prediction (status and violation count). Returns the names
/// that agree and those that do not (with both outcomes).
async fn recheck(cx: &Ctx<'_>, s: &mut Step, dir: &Path) -> Result<(u64, Vec<Value>)> {
    let args = vec![
        "check".into(),
        "--amplify".into(),
        cx.o.amplify.display().to_string(),
        "--format".into(),
        "json".into(),
        dir.display().to_string(),
    ];
    let ran = cx.runner.run(args).await?;
    s.commands.push(ran.command.clone());
    if ran.code == Some(2) {
        return Err(ran.failure());
    }
    let report = ran.json()?;
    let actual: BTreeMap<&str, (&Value, &Value)> = report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c["name"].as_str()?, (&c["status"], &c["violations"]))))
        .collect();
    let predicted = cx.manifest.as_ref().and_then(|m| m["checks"].as_array().cloned()).unwrap_or_default();
    let (mut agree, mut disagree) = (0u64, Vec::new());
    for p in &predicted {
        let name = p["name"].as_str().unwrap_or_default();
        let want = (&p["after"]["status"], &p["after"]["violations"]);
        match actual.get(name) {
            Some(got) if *got == want => agree += 1,
            got => disagree.push(json!({"check": name, "predicted": {"status": want.0, "violations": want.1}, "found": got.map(|g| json!({"status": g.0, "violations": g.1}))})),
        }
    }
    let failing = actual.values().filter(|(st, _)| *st != "pass").count();
    s.lines.push(format!(
        "checks on the scanned tables: {} run, {failing} not passing; {agree} of {} agree with the plan's prediction",
        actual.len(),
        predicted.len()
    ));
    for d in disagree.iter().take(10) {
        s.lines.push(format!("  {} predicted {} found {}", d["check"], d["predicted"], d["found"]));
    }
    Ok((agree, disagree))
}

/// Step 6: the rollback from the apply's journal, and a full scan compared
/// with the original snapshot.
pub async fn step_rollback(cx: &Ctx<'_>, s: &mut Step) -> Result<()> {
    let mut args = cx.target_flags(None);
    let journal = Journal::path_for(&cx.plan_dir, "apply");
    args.extend(["rollback".into(), journal.display().to_string(), "--format".into(), "json".into()]);
    args.extend(["--concurrency".into(), cx.o.concurrency.to_string()]);
    args.extend(cx.table_args());
    let ran = cx.runner.run(args).await?;
    s.commands.push(ran.command.clone());
    let report = ran.json()?;
    s.lines.push(format!(
        "rollback: {} operations: {} written, {} conflicts, {} failed in {:.1} s",
        report["operations"], report["written"], report["conflicts"], report["failed"], ran.seconds
    ));
    let (comparisons, _) = scan_and_compare(cx, |model, key| snapshot_items(cx, model, key)).await?;
    comparison_lines(s, &comparisons, "in the snapshot");
    let all_match = comparisons.iter().all(Comparison::matches);
    s.status = if all_match && ran.code == Some(0) { Status::Passed } else { Status::Problems };
    s.details = json!({"rollback": report, "comparisons": comparisons});
    Ok(())
}
