//! `ddbsnap lint`: classify the changes between two Amplify data models and
//! measure them against exports.

use crate::env::Env;
use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use super::{Global, build_env, load_into};
use crate::catalog::Catalog;
use crate::checks::lint::{Change, Class, Recipe, diff};
use crate::checks::model::ModelIntrospection;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit codes: 0 no breaking or dangerous change meets existing data (or no exports were given), 1 one does, 2 error."
)]
pub struct LintArgs {
    /// The deployed model: amplify_outputs.json before the change.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// The new model: amplify_outputs.json after the change.
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Exports to measure each change against (tables named after models).
    #[arg(value_name = "EXPORT")]
    pub exports: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LintFormat {
    Text,
    Json,
}

#[derive(Serialize)]
struct Measured {
    #[serde(flatten)]
    change: Change,
    /// Items the change meets; absent when not measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    affected: Option<u64>,
    /// The `ddbsnap plan` command that runs the recipe, and the one for its later step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    commands: Vec<String>,
}

/// Each suggestion's own plan folder, `plan-RECIPE-TABLE-FIELD`: names
/// kept to letters, digits and `_`, with a hash of the parameters when
/// that changed them (`s p` and `s-p` must not share a folder: plans are
/// never overwritten).
fn out_folder(r: &Recipe) -> String {
    use sha2::Digest;
    let get = |keys: &[&str]| r.params.iter().find(|(k, _)| keys.contains(&k.as_str())).map(|(_, v)| v.as_str()).unwrap_or("");
    let parts = [get(&["table", "from"]), get(&["field", "source", "to"])];
    let clean = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    let mut name = format!("plan-{}", r.name);
    for p in parts.iter().filter(|p| !p.is_empty()) {
        name.push('-');
        name.push_str(&clean(p));
    }
    if parts.iter().any(|p| clean(p) != *p) {
        let all: String = r.params.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        name.push('-');
        name.push_str(&hex::encode(&sha2::Sha256::digest(all.as_bytes())[..4]));
    }
    name
}

/// `ddbsnap plan -t RECIPE -p K=V ... --amplify NEW EXPORT... --out plan-RECIPE`, quoted for a shell.
fn plan_command(r: &Recipe, to: &std::path::Path, exports: &[String]) -> String {
    let word = crate::rehearse::command::shell_word;
    let mut words = vec!["ddbsnap".to_string(), "plan".into(), "-t".into(), r.name.to_string()];
    for (k, v) in &r.params {
        words.extend(["-p".into(), word(&format!("{k}={v}"))]);
    }
    words.extend(["--amplify".into(), word(&to.display().to_string())]);
    if exports.is_empty() {
        words.push("EXPORT".into());
    }
    words.extend(exports.iter().map(|e| word(e)));
    words.extend(["--out".into(), out_folder(r)]);
    words.join(" ")
}

pub async fn run(g: &Global, env: &Env, a: LintArgs) -> Result<u8> {
    let old = ModelIntrospection::load(&a.from)?;
    let new = ModelIntrospection::load(&a.to)?;
    let mut reading = build_env(g, env, &a.exports).await?;
    let catalog = Catalog::new(env);
    let mut tables = Vec::new();
    for loaded in load_into(g, &a.exports, &mut reading, &catalog).await? {
        tables.push((
            loaded.name().to_string(),
            loaded.schema.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
            loaded.report.items,
        ));
    }
    let mut results = Vec::new();
    for change in diff(&old, &new) {
        let table = tables.iter().find(|(n, _, _)| *n == change.model);
        let affected = match (&change.measure, table) {
            (Some(sql), Some((_, cols, items))) => match &change.column {
                Some(c) if !cols.contains(c) => Some(if change.missing_counts_all { *items } else { 0 }),
                _ => {
                    let r = catalog.query_read_only(sql, "the lint's measure").await?;
                    Some(r.first_i64().unwrap_or(0) as u64)
                }
            },
            _ => None,
        };
        // A recipe runs on the model's table: suggested when the exports hold it (or none were given).
        let runnable = a.exports.is_empty() || table.is_some();
        let commands =
            change.recipe.iter().chain(change.then.iter()).filter(|_| runnable).map(|r| plan_command(r, &a.to, &a.exports)).collect();
        results.push(Measured { change, affected, commands });
    }
    match a.format {
        LintFormat::Json => println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "changes": results }))?),
        LintFormat::Text => {
            for r in &results {
                let class = match r.change.class {
                    Class::Safe => "safe",
                    Class::Breaking => "BREAKING",
                    Class::Dangerous => "DANGEROUS",
                };
                let esc = crate::error::escape_unsafe;
                println!("{class:9}  {}", esc(&r.change.what));
                if let Some(n) = r.affected {
                    println!("           {n} {}", esc(&r.change.meaning));
                }
                if r.change.class != Class::Safe {
                    println!("           strategy: {}", esc(&r.change.strategy));
                    for (i, c) in r.commands.iter().enumerate() {
                        println!("           {}: {}", if i == 0 { "run" } else { "then" }, crate::error::escape_unsafe(c));
                    }
                }
            }
        }
    }
    let meets_data = results.iter().any(|r| r.change.class != Class::Safe && r.affected.is_some_and(|n| n > 0));
    Ok(if meets_data { super::EXIT_PROBLEMS } else { 0 })
}
