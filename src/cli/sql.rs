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
Without SQL (and with no SQL on stdin), a prompt opens: statements end with ';', \\d lists the tables, \\d TABLE \
their columns and types, \\q quits; the history is kept in DDBSNAP_HISTORY (empty: none), else \
$XDG_STATE_HOME/ddbsnap/sql_history (~/.local/state/ddbsnap/sql_history).\n\n\
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
    eprintln!(
        "ddbsnap SQL. Tables: {}. End statements with ';'. \\d lists tables, \\d TABLE its columns, \\q or Ctrl-D quits.",
        catalog.table_names().join(", ")
    );
    let mut rl = rustyline::DefaultEditor::new()?;
    let history = history_file();
    if let Some(h) = &history {
        // A missing file is a first run; an unreadable one only costs the history.
        let _ = rl.load_history(h);
    }
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() { "ddbsnap> " } else { "     ..> " };
        match rl.readline(prompt) {
            Ok(line) => {
                let trimmed = line.trim();
                if buffer.is_empty() && trimmed.starts_with('\\') {
                    let _ = rl.add_history_entry(trimmed);
                    if !meta(catalog, trimmed).await? {
                        break;
                    }
                    continue;
                }
                if buffer.is_empty() && (trimmed == "quit" || trimmed == "exit") {
                    break;
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
            Err(rustyline::error::ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(h) = &history {
        save_history(&mut rl, h);
    }
    Ok(())
}

/// A backslash command, as psql and datafusion-cli have them. Returns
/// false to quit.
async fn meta(catalog: &Catalog, line: &str) -> Result<bool> {
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some("\\q"), _) => return Ok(false),
        (Some("\\d"), None) => {
            for t in catalog.table_names() {
                println!("{}", crate::error::escape_unsafe(&t));
            }
        }
        (Some("\\d"), Some(_)) => {
            let name = line.trim_start_matches("\\d").trim().trim_matches('"');
            match catalog.context().table_provider(datafusion::common::TableReference::bare(name)).await {
                Ok(t) => {
                    let schema = t.schema();
                    let width = schema.fields().iter().map(|f| f.name().chars().count()).max().unwrap_or(0);
                    for f in schema.fields() {
                        let null = if f.is_nullable() { "" } else { " not null" };
                        println!("{:width$}  {}{null}", crate::error::escape_unsafe(f.name()), f.data_type());
                    }
                }
                Err(_) => eprintln!("no table {:?}; \\d lists them", crate::error::escape_unsafe(name)),
            }
        }
        (Some("\\?"), _) => eprintln!("\\d  list tables\n\\d TABLE  its columns and types\n\\q  quit"),
        (Some(other), _) => eprintln!("unknown command {}; \\? lists them", crate::error::escape_unsafe(other)),
        (None, _) => {}
    }
    Ok(true)
}

/// Where the prompt keeps its history: DDBSNAP_HISTORY, else
/// $XDG_STATE_HOME/ddbsnap/sql_history (~/.local/state/...). None: no
/// history is kept (DDBSNAP_HISTORY empty, or no home).
fn history_file() -> Option<PathBuf> {
    match std::env::var_os("DDBSNAP_HISTORY") {
        Some(v) if v.is_empty() => return None,
        Some(v) => return Some(PathBuf::from(v)),
        None => {}
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("ddbsnap").join("sql_history"))
}

/// Saves the history, readable by its owner only (queries name tables and
/// values); a failure is a warning, never a lost session.
fn save_history(rl: &mut rustyline::DefaultEditor, path: &std::path::Path) {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(dir) = path.parent() {
        let _ = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir);
    }
    if let Err(e) = rl.save_history(path) {
        eprintln!("ddbsnap: warning: the SQL history was not saved to {}: {e}", path.display());
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}
