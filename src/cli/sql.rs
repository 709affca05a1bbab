//! `ddbsnap sql`: SQL over exports and Parquet folders.

use crate::env::Env;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::print::{Format, print_result};
use super::{Global, build_env, load_or_cache};
use crate::catalog::Catalog;

#[derive(clap::Args, Debug)]
#[command(after_help = "Tables are named after their model (Amplify) or table; identifiers are case-sensitive: \
SELECT \"firstName\" FROM Contact, or firstName unquoted.\n\n\
Each attribute is a column (S as text, N as Int64/Decimal/text, BOOL, B as binary, sets as lists, maps and \
lists as DynamoDB JSON text). Functions: ddb_type(attr) gives the DynamoDB type in each item ('S', 'N', \
'NULL', ...; NULL when missing), ddb_missing(attr) tells a missing attribute from an explicit NULL, \
ddb_json(attr) turns a map or list into plain JSON, ddb_get(attr, 'path.to[0].x') reads a nested value.\n\n\
Example: ddbsnap sql -e exports/ \"SELECT ddb_type(age) AS t, count(*) FROM Contact GROUP BY 1\"")]
pub struct SqlArgs {
    /// An export to load as a table: [NAME=]folder, manifest-summary.json or s3://bucket/prefix. Repeatable.
    #[arg(short, long = "export", value_name = "EXPORT")]
    pub exports: Vec<String>,
    /// A folder written by `ddbsnap convert`: each sub-folder is a table. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub parquet: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Read the SQL from a file.
    #[arg(short = 'f', long = "file", value_name = "FILE", conflicts_with = "sql")]
    pub file: Option<PathBuf>,
    /// The SQL to run (several statements separated by ';': the last one's result is printed).
    pub sql: Option<String>,
    /// A table's primary key, checked to be unique when the table is read:
    /// TABLE=PARTITION[,SORT]. Repeatable.
    #[arg(long = "key", value_name = "TABLE=PK[,SK]")]
    pub keys: Vec<String>,
    #[command(flatten)]
    pub cache: super::CacheArgs,
}

pub async fn run(g: &Global, env: &Env, a: SqlArgs) -> Result<u8> {
    if a.exports.is_empty() && a.parquet.is_empty() {
        bail!("nothing to query: give --export EXPORT or --parquet DIR");
    }
    let sql = match (&a.sql, &a.file) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(f)) => Some(std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?),
        (None, None) if !std::io::stdin().is_terminal() => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).context("reading SQL from stdin")?;
            Some(s)
        }
        (None, None) => None,
    };
    let mut reading = build_env(g, env, &a.exports).await?;
    reading.keys = super::values::key_specs(&a.keys)?;
    let catalog = Catalog::new(env);
    load_or_cache(g, &a.exports, &mut reading, &catalog, &a.cache).await?;
    for dir in &a.parquet {
        catalog.add_parquet_dir(dir).await?;
    }
    match sql {
        Some(sql) => {
            let result = catalog.query(&sql).await?;
            print_result(&result, a.format, &mut std::io::stdout().lock())?;
        }
        None => interactive(&catalog, a.format).await?,
    }
    Ok(0)
}

/// The prompt on a terminal; SQL read from stdin otherwise (`plan show --sql < q.sql`).
pub(super) async fn prompt_or_stdin(catalog: &Catalog, format: Format) -> Result<()> {
    if std::io::stdin().is_terminal() {
        return interactive(catalog, format).await;
    }
    let mut sql = String::new();
    std::io::stdin().read_to_string(&mut sql).context("reading SQL from stdin")?;
    let result = catalog.query(&sql).await?;
    print_result(&result, format, &mut std::io::stdout().lock())
}

async fn interactive(catalog: &Catalog, format: Format) -> Result<()> {
    eprintln!("ddbsnap SQL. Tables: {}. End statements with ';'. \\q or Ctrl-D quits.", catalog.table_names().join(", "));
    let mut rl = rustyline::DefaultEditor::new()?;
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() { "ddbsnap> " } else { "     ..> " };
        match rl.readline(prompt) {
            Ok(line) => {
                let trimmed = line.trim();
                if buffer.is_empty() && (trimmed == "\\q" || trimmed == "quit" || trimmed == "exit") {
                    return Ok(());
                }
                buffer.push_str(&line);
                buffer.push('\n');
                if trimmed.ends_with(';') {
                    let _ = rl.add_history_entry(buffer.trim());
                    match catalog.query(&buffer).await {
                        Ok(r) => print_result(&r, format, &mut std::io::stdout().lock())?,
                        Err(e) => eprintln!("error: {e}"),
                    }
                    buffer.clear();
                }
            }
            Err(rustyline::error::ReadlineError::Interrupted) => buffer.clear(),
            Err(rustyline::error::ReadlineError::Eof) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}
