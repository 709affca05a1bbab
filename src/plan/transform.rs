//! Transform files: SQL that says what items should become, with a small
//! header and parameters so that one recipe serves any table.
//!
//! ```sql
//! -- name: backfill_required
//! -- description: Give a field that becomes required a value where items lack it.
//! -- param: table = Contact
//! -- param: field = status
//! -- param: value = 'ACTIVE'
//! SELECT '${table}' AS _table, id, ${value} AS "${field}"
//! FROM "${table}" WHERE ddb_missing("${field}")
//! ```
//!
//! `${name}` is replaced by the parameter's value (from `--param name=value`,
//! else the header's default) as plain text before the SQL is parsed, so a
//! value can be an identifier or an SQL expression. A parameter without a
//! default must be given.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};

/// A transform ready to run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Transform {
    pub name: String,
    pub description: String,
    /// Where it came from: a path, or `recipe:<name>` for bundled ones.
    pub origin: String,
    /// The parameters used, after defaults.
    pub params: BTreeMap<String, String>,
    /// The SQL with parameters substituted: what runs, and what the plan records.
    pub sql: String,
}

/// The bundled recipes (`queries/transforms/*.sql`).
pub const RECIPES: &[(&str, &str)] = &[
    ("split_name", include_str!("../../queries/transforms/split_name.sql")),
    ("backfill_required", include_str!("../../queries/transforms/backfill_required.sql")),
    ("rename_copy", include_str!("../../queries/transforms/rename_copy.sql")),
    ("rename_remove", include_str!("../../queries/transforms/rename_remove.sql")),
    ("string_to_number", include_str!("../../queries/transforms/string_to_number.sql")),
    ("number_to_string", include_str!("../../queries/transforms/number_to_string.sql")),
    ("blue_green_copy", include_str!("../../queries/transforms/blue_green_copy.sql")),
    ("datastore_purge_tombstones", include_str!("../../queries/transforms/datastore_purge_tombstones.sql")),
    ("datastore_backfill", include_str!("../../queries/transforms/datastore_backfill.sql")),
    ("seed_from_file", include_str!("../../queries/transforms/seed_from_file.sql")),
];

/// Header of a transform file.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub name: Option<String>,
    pub description: String,
    /// Declared parameters in order, with their defaults.
    pub params: Vec<(String, Option<String>)>,
}

/// Reads the `-- key: value` lines at the top of a transform.
pub fn parse_header(text: &str) -> Header {
    let mut h = Header::default();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("--") else { break };
        let Some((key, value)) = rest.split_once(':') else { continue };
        let value = value.trim();
        match key.trim() {
            "name" => h.name = Some(value.to_string()),
            "description" => {
                if !h.description.is_empty() {
                    h.description.push(' ');
                }
                h.description.push_str(value);
            }
            "param" => match value.split_once('=') {
                Some((k, d)) => h.params.push((k.trim().to_string(), Some(d.trim().to_string()))),
                None => h.params.push((value.to_string(), None)),
            },
            _ => {}
        }
    }
    h
}

/// Loads a transform from a path, or a bundled recipe by name.
pub fn load(spec: &str, given: &[(String, String)]) -> Result<Transform> {
    let (origin, text, fallback_name) = match RECIPES.iter().find(|(n, _)| *n == spec) {
        Some((n, text)) => (format!("recipe:{n}"), text.to_string(), n.to_string()),
        None => {
            let path = Path::new(spec);
            let text = std::fs::read_to_string(path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    let names: Vec<&str> = RECIPES.iter().map(|(n, _)| *n).collect();
                    Error::Invalid(format!("{spec}: no such file, and not a bundled recipe ({})", names.join(", ")))
                } else {
                    Error::io_path(path, e)
                }
            })?;
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("transform").to_string();
            (spec.to_string(), text, stem)
        }
    };
    let header = parse_header(&text);
    let params = resolve_params(&origin, &header, given)?;
    let sql = substitute(&origin, &text, &params)?;
    Ok(Transform { name: header.name.unwrap_or(fallback_name), description: header.description, origin, params, sql })
}

fn resolve_params(origin: &str, header: &Header, given: &[(String, String)]) -> Result<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    for (k, v) in given {
        if !header.params.iter().any(|(p, _)| p == k) {
            let known: Vec<&str> = header.params.iter().map(|(p, _)| p.as_str()).collect();
            return Err(Error::Invalid(format!("{origin}: no parameter {k:?} (it declares: {})", known.join(", "))));
        }
        params.insert(k.clone(), v.clone());
    }
    for (k, default) in &header.params {
        if !params.contains_key(k) {
            let v = default
                .clone()
                .ok_or_else(|| Error::Invalid(format!("{origin}: parameter {k:?} has no default: give --param {k}=VALUE")))?;
            params.insert(k.clone(), v);
        }
    }
    Ok(params)
}

/// Replaces `${name}`; an unknown name is an error, not left in the SQL.
fn substitute(origin: &str, text: &str, params: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after.find('}').ok_or_else(|| Error::Invalid(format!("{origin}: unclosed ${{ in the SQL")))?;
        let name = &after[..end];
        let value = params.get(name).ok_or_else(|| Error::Invalid(format!("{origin}: ${{{name}}} is not a declared parameter")))?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Splits `NAME=VALUE` command-line parameters.
pub fn parse_param(arg: &str) -> std::result::Result<(String, String), String> {
    arg.split_once('=').map(|(k, v)| (k.trim().to_string(), v.to_string())).ok_or_else(|| format!("{arg:?} is not NAME=VALUE"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_substituted_and_checked() {
        let t = load("backfill_required", &[("field".into(), "status".into())]).unwrap();
        assert!(t.sql.contains("\"status\""), "{}", t.sql);
        assert!(!t.sql.contains("${"));
        assert!(load("backfill_required", &[("nope".into(), "x".into())]).is_err());
        assert!(load("no-such-recipe-or-file", &[]).is_err());
    }

    #[test]
    fn every_recipe_has_a_header() {
        for (name, text) in RECIPES {
            let h = parse_header(text);
            assert_eq!(h.name.as_deref(), Some(*name));
            assert!(!h.description.is_empty(), "{name} has no description");
        }
    }
}
