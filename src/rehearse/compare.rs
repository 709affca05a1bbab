//! Steps 5 and 6: what the target holds, compared item by item with what
//! it should hold. After the apply: the snapshot with each planned
//! operation's expected item (time stamps as the journal recorded them);
//! after the rollback: the snapshot itself.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Mutex;

use serde_json::{Value, json};

use super::digest::{Comparer, Comparison, Digests, item_digest, key_of};
use super::scan;
use super::steps::Ctx;
use super::{Status, Step};
use crate::apply::expr::Stamp;
use crate::apply::journal::{self, Entry, Journal};
use crate::apply::run::expected_ops;
use crate::convert::BatchDecoder;
use crate::error::{Error, Result};
use crate::generate::{ExportWriter, Rng};
use crate::item::Item;
use crate::plan::file::PlanFile;
use crate::snapshot::manifest::OutputFormat;

/// What the tables should hold: the snapshot, with the plan's operations
/// as the apply's journal stamped them (after the apply) or without them
/// (after the rollback). Read a table at a time, as digests.
struct Expected<'c> {
    cx: &'c Ctx<'c>,
    plan: Option<(PlanFile, Stamp, HashMap<u64, Entry>)>,
}

impl Expected<'_> {
    /// What `model` should hold, by key hash, in order: each item of the
    /// snapshot, then what each planned operation leaves (None: deleted),
    /// a later one replacing an earlier one of the same key.
    fn each(&self, model: &str, key: &[String], mut f: impl FnMut(u128, Option<Item>)) -> Result<()> {
        if let Some(t) = self.cx.loaded.iter().find(|t| t.name() == model) {
            for b in &t.batches {
                let d = BatchDecoder::new(b)?;
                for r in 0..b.num_rows() {
                    let item = d.item(r)?;
                    f(key_of(&item, key), Some(item));
                }
            }
        }
        let Some((plan, stamp, entries)) = &self.plan else { return Ok(()) };
        for expected in expected_ops(plan, stamp, entries)? {
            let (op, item) = expected?;
            if op.table == model {
                f(key_of(&op.key, key), item);
            }
        }
        Ok(())
    }

    fn digests(&self, model: &str, key: &[String]) -> Result<Digests> {
        let mut out = Digests::default();
        self.each(model, key, |k, item| match item {
            Some(i) => {
                out.insert(k, item_digest(&i));
            }
            None => {
                out.remove(&k);
            }
        })?;
        Ok(out)
    }

    /// The expected items of the `wanted` key hashes (the samples).
    fn items(&self, model: &str, key: &[String], wanted: &BTreeSet<u128>) -> Result<HashMap<u128, Item>> {
        let mut out = HashMap::new();
        self.each(model, key, |k, item| match item {
            Some(i) if wanted.contains(&k) => {
                out.insert(k, i);
            }
            _ => {
                out.remove(&k);
            }
        })?;
        Ok(out)
    }
}

fn key_names(shape: &super::tables::TableShape) -> Vec<String> {
    shape.key.iter().map(|k| k.0.clone()).collect()
}

/// Scans every created table, streamed page by page, and compares it with
/// what it should hold; with `export_to`, also writes the scanned tables
/// there as a full export (AWS's layout), so that `ddbsnap check` reads
/// them as it reads production's exports.
async fn scan_and_compare(cx: &Ctx<'_>, expected: &Expected<'_>, export_to: Option<&Path>) -> Result<Vec<Comparison>> {
    if let Some(dir) = export_to.filter(|d| d.exists()) {
        std::fs::remove_dir_all(dir).map_err(|e| Error::io_path(dir, e))?;
    }
    let mut comparisons = Vec::new();
    for shape in &cx.created {
        let key = key_names(shape);
        let digests = expected.digests(&shape.model, &key)?;
        let segments = scan::segments_for(digests.len() as u64);
        let source = shape.physical.strip_prefix(cx.o.table_prefix.as_str()).unwrap_or(&shape.physical);
        let mut rng = Rng::new(1);
        let writer = match export_to {
            Some(dir) => Some(ExportWriter::new(dir, "", source, OutputFormat::DynamodbJson, chrono::Utc::now(), 4, false, &mut rng)?),
            None => None,
        };
        let state = Mutex::new((Comparer::new(&shape.physical, &key, digests), writer, rng));
        let poisoned = || Error::Invalid("a scan worker failed".into());
        scan::scan_items(cx.client, &shape.physical, segments, &|items| {
            let mut st = state.lock().map_err(|_| poisoned())?;
            let (comparer, writer, rng) = &mut *st;
            for item in &items {
                comparer.see(item);
                if let Some(w) = writer.as_mut() {
                    w.add_item(item, rng)?;
                }
            }
            Ok(())
        })
        .await?;
        let (comparer, writer, _) = state.into_inner().map_err(|_| poisoned())?;
        if let Some(w) = writer {
            w.finish(None)?;
        }
        comparisons.push(comparer.finish(|wanted| expected.items(&shape.model, &key, wanted))?);
    }
    Ok(comparisons)
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
    let expected = Expected { cx, plan: Some((plan, stamp, entries)) };
    let after_dir = cx.o.work_dir.join("after-scan");
    let comparisons = scan_and_compare(cx, &expected, Some(&after_dir)).await?;
    comparison_lines(s, &comparisons, "planned");
    let (agree, disagree) = recheck(cx, s, &after_dir).await?;
    let all_match = comparisons.iter().all(Comparison::matches);
    s.status = if mismatches == 0 && all_match && disagree.is_empty() && ran.code == Some(0) { Status::Passed } else { Status::Problems };
    s.details = json!({"verify": verify, "comparisons": comparisons, "checks_agree": agree, "checks_disagree": disagree});
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
    let comparisons = scan_and_compare(cx, &Expected { cx, plan: None }, None).await?;
    comparison_lines(s, &comparisons, "in the snapshot");
    let all_match = comparisons.iter().all(Comparison::matches);
    s.status = if all_match && ran.code == Some(0) { Status::Passed } else { Status::Problems };
    s.details = json!({"rollback": report, "comparisons": comparisons});
    Ok(())
}
