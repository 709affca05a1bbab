//! Which tables an export takes: named ones, those matching a glob, or an
//! Amplify app's (`<Model>-<apiId>-<env>`, one per model of its
//! amplify_outputs.json), each checked to exist before anything starts.

use aws_sdk_dynamodb::Client;

use crate::checks::model::ModelIntrospection;
use crate::error::{Error, Result};
use crate::rehearse::tables::sdk_error;

/// How the tables were chosen.
pub enum Selection<'a> {
    Names(&'a [String]),
    Pattern(&'a str),
    Amplify { intro: &'a ModelIntrospection, api_id: &'a str, env: &'a str },
}

/// A table to export, with its ARN.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub arn: String,
    /// DynamoDB's estimate (updated about every six hours).
    pub item_count: u64,
}

/// Resolves the selection into existing tables, in name order.
pub async fn choose(client: &Client, sel: &Selection<'_>, where_: &str) -> Result<Vec<Table>> {
    let names: Vec<String> = match sel {
        Selection::Names(n) => n.to_vec(),
        Selection::Pattern(p) => {
            let all = list(client).await?;
            let hits: Vec<String> = all.iter().filter(|t| glob(p, t)).cloned().collect();
            if hits.is_empty() {
                return Err(Error::Invalid(format!("no table at {where_} matches --table-pattern {p:?} ({} tables there)", all.len())));
            }
            hits
        }
        Selection::Amplify { intro, api_id, env } => intro.models.keys().map(|m| format!("{m}-{api_id}-{env}")).collect(),
    };
    let mut out = Vec::new();
    for name in names {
        out.push(describe(client, &name, sel, where_).await?);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    Ok(out)
}

async fn describe(client: &Client, name: &str, sel: &Selection<'_>, where_: &str) -> Result<Table> {
    match client.describe_table().table_name(name).send().await {
        Ok(out) => {
            let t = out.table().ok_or_else(|| Error::Invalid(format!("DescribeTable {name}: no table in the answer")))?;
            Ok(Table {
                name: name.to_string(),
                arn: t.table_arn().unwrap_or_default().to_string(),
                item_count: t.item_count().unwrap_or(0).max(0) as u64,
            })
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {
            let hint = match sel {
                Selection::Amplify { api_id, env, .. } => format!(
                    " (an Amplify app's tables are <Model>-{api_id}-{env}: check --api-id, the AppSync API's id, and --env; `aws dynamodb list-tables` lists them)"
                ),
                _ => String::new(),
            };
            Err(Error::Invalid(format!("table {name} not found at {where_}{hint}")))
        }
        Err(e) => Err(sdk_error(&format!("describing table {name}"), e)),
    }
}

async fn list(client: &Client) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let page = client.list_tables().set_exclusive_start_table_name(start).send().await.map_err(|e| sdk_error("listing tables", e))?;
        out.extend(page.table_names().iter().cloned());
        start = page.last_evaluated_table_name().map(str::to_string);
        if start.is_none() {
            return Ok(out);
        }
    }
}

/// Shell-style matching: `*` any run, `?` one character, `[abc]` one of a set.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
                continue;
            }
            Some('?') => {
                pi += 1;
                ni += 1;
                continue;
            }
            Some('[') => {
                if let Some(end) = p[pi..].iter().position(|c| *c == ']').map(|e| pi + e)
                    && p[pi + 1..end].contains(&n[ni])
                {
                    pi = end + 1;
                    ni += 1;
                    continue;
                }
            }
            Some(c) if *c == n[ni] => {
                pi += 1;
                ni += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn glob_matches_like_a_shell() {
        assert!(glob("*-abc123-NONE", "Contact-abc123-NONE"));
        assert!(!glob("*-abc123-NONE", "Contact-abc124-NONE"));
        assert!(glob("C?nt*", "Contact"));
        assert!(glob("[CO]*", "Order") && !glob("[CO]*", "Note"));
        assert!(glob("*", "") && !glob("a", ""));
        assert!(glob("a*b*c", "aXbYbZc") && !glob("a*b*c", "aXbYbZ"));
    }
}
