//! Transform files: SQL that says what items should become, with a small
//! header and parameters so that one recipe serves any table.
//!
//! ```sql
//! -- name: backfill_required
//! -- description: Give a field that becomes required a value where items lack it.
//! -- param: table = Contact
//! -- param: field = status
//! -- expression: value = 'ACTIVE'
//! SELECT '${table}' AS _table, id, ${value} AS "${field}"
//! FROM "${table}" WHERE ddb_missing("${field}")
//! ```
//!
//! `${name}` is replaced by the parameter's value (from `--param name=value`,
//! else the header's default) according to where it stands, so that no value
//! can change the query around it:
//! - inside a string literal (`'${table}'`), as text: quotes are doubled;
//! - inside a quoted identifier (`"${field}"`), as a name: quotes are doubled;
//! - anywhere else, only a parameter the header declares with
//!   `-- expression:`, and only when its value is one SQL expression (no
//!   `;`, no comment), put in parentheses.
//!
//! Values hold no control characters (a newline would forge lines where the
//! plan is shown). A parameter without a default must be given.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result, brief};

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
    ("copy_model", include_str!("../../queries/transforms/copy_model.sql")),
    ("datastore_purge_tombstones", include_str!("../../queries/transforms/datastore_purge_tombstones.sql")),
    ("datastore_backfill", include_str!("../../queries/transforms/datastore_backfill.sql")),
    ("seed_from_file", include_str!("../../queries/transforms/seed_from_file.sql")),
];

/// Header of a transform file.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub name: Option<String>,
    pub description: String,
    /// Declared parameters in order.
    pub params: Vec<Param>,
}

/// A declared parameter.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub default: Option<String>,
    /// Declared with `-- expression:`: may stand outside quotes as SQL.
    pub expression: bool,
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
            kind @ ("param" | "expression") => {
                let (name, default) = match value.split_once('=') {
                    Some((k, d)) => (k.trim().to_string(), Some(d.trim().to_string())),
                    None => (value.to_string(), None),
                };
                h.params.push(Param { name, default, expression: kind == "expression" });
            }
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
    let sql = substitute(&origin, &text, &params, &header)?;
    Ok(Transform { name: header.name.unwrap_or(fallback_name), description: header.description, origin, params, sql })
}

fn resolve_params(origin: &str, header: &Header, given: &[(String, String)]) -> Result<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    for (k, v) in given {
        if !header.params.iter().any(|p| &p.name == k) {
            let known: Vec<&str> = header.params.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::Invalid(format!("{origin}: no parameter {:?} (it declares: {})", brief(k, 80), known.join(", "))));
        }
        params.insert(k.clone(), v.clone());
    }
    for p in &header.params {
        if !params.contains_key(&p.name) {
            let v = p
                .default
                .clone()
                .ok_or_else(|| Error::Invalid(format!("{origin}: parameter {:?} has no default: give --param {}=VALUE", p.name, p.name)))?;
            params.insert(p.name.clone(), v);
        }
    }
    for (k, v) in &params {
        if v.chars().any(char::is_control) {
            return Err(Error::Invalid(format!(
                "{origin}: parameter {k:?} holds a control character ({}); parameter values are one line of text",
                brief(v, 80)
            )));
        }
    }
    Ok(params)
}

/// Where a `${name}` stands in the SQL text.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Code,
    Text,
    Ident,
    LineComment,
    BlockComment,
}

/// Replaces each `${name}` by its value, escaped for where it stands (see
/// the module doc); an unknown name is an error, not left in the SQL.
fn substitute(origin: &str, text: &str, params: &BTreeMap<String, String>, header: &Header) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut place = Place::Code;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("${") && matches!(place, Place::Code | Place::Text | Place::Ident) {
            let end = rest.find('}').ok_or_else(|| Error::Invalid(format!("{origin}: unclosed ${{ in the SQL")))?;
            let name = &rest[2..end];
            let value = params
                .get(name)
                .ok_or_else(|| Error::Invalid(format!("{origin}: ${{{}}} is not a declared parameter", brief(name, 80))))?;
            match place {
                Place::Text => out.push_str(&value.replace('\'', "''")),
                Place::Ident => out.push_str(&value.replace('"', "\"\"")),
                _ => {
                    let declared = header.params.iter().any(|p| p.name == name && p.expression);
                    if !declared {
                        return Err(Error::Invalid(format!(
                            "{origin}: ${{{name}}} stands outside quotes, where only a parameter declared with \
                             `-- expression: {name} = ...` may stand; quote it ('${{{name}}}' for text, \"${{{name}}}\" for a name)"
                        )));
                    }
                    check_expression(origin, name, value)?;
                    out.push('(');
                    out.push_str(value);
                    out.push(')');
                }
            }
            rest = &rest[end + 1..];
            continue;
        }
        place = match (place, c) {
            (Place::Code, '\'') => Place::Text,
            (Place::Code, '"') => Place::Ident,
            (Place::Code, '-') if rest.starts_with("--") => Place::LineComment,
            (Place::Code, '/') if rest.starts_with("/*") => Place::BlockComment,
            (Place::Text, '\'') | (Place::Ident, '"') | (Place::LineComment, '\n') => Place::Code,
            (Place::BlockComment, '*') if rest.starts_with("*/") => {
                out.push_str("*/");
                rest = &rest[2..];
                place = Place::Code;
                continue;
            }
            (p, _) => p,
        };
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

/// An expression parameter must be exactly one SQL expression: it is
/// tokenized and parsed, and a comment or anything after the expression
/// (`1; DROP ...`, `1 --`) is refused.
fn check_expression(origin: &str, name: &str, value: &str) -> Result<()> {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer, Whitespace};
    let bad = |why: String| Error::Invalid(format!("{origin}: parameter {name:?} = {:?} {why}", brief(value, 120)));
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, value).tokenize().map_err(|e| bad(format!("is not SQL: {e}")))?;
    if tokens.iter().any(|t| matches!(t, Token::Whitespace(Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)))) {
        return Err(bad("holds a comment; an expression parameter is one SQL expression".into()));
    }
    let mut parser = Parser::new(&dialect).with_tokens(tokens);
    parser.parse_expr().map_err(|e| bad(format!("is not one SQL expression: {e}")))?;
    if parser.peek_token().token != Token::EOF {
        return Err(bad(format!("is not one SQL expression: {} follows it", parser.peek_token().token)));
    }
    Ok(())
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

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn parameters_cannot_leave_their_quotes() {
        // A quote in a value is doubled where the value stands, so it stays text or a name.
        let t = load("backfill_required", &[p("table", "Contact' AS _table; COPY (SELECT 1) TO 'x"), p("field", "a\"b")]).unwrap();
        assert!(t.sql.contains("'Contact'' AS _table; COPY (SELECT 1) TO ''x' AS _table"), "{}", t.sql);
        assert!(t.sql.contains("\"a\"\"b\""), "{}", t.sql);
        crate::catalog::guard::one_query(&t.sql, "t").unwrap();
        // An expression parameter is one expression, in parentheses.
        let t = load("backfill_required", &[p("value", "lower(\"email\")")]).unwrap();
        assert!(t.sql.contains("(lower(\"email\")) AS \"status\""), "{}", t.sql);
        for bad in ["1; COPY (SELECT 1) TO 'x'", "1 --", "1 /* x */", "1) AS x FROM y UNION SELECT (2", "1 2"] {
            let e = load("backfill_required", &[p("value", bad)]).unwrap_err().to_string();
            assert!(e.contains("parameter \"value\""), "{bad}: {e}");
        }
        // Newlines and other control characters are refused in any value.
        let e = load("backfill_required", &[p("table", "Contact\nforged line")]).unwrap_err().to_string();
        assert!(e.contains("control character") && !e.contains('\n'), "{e}");
    }

    #[test]
    fn a_value_parameter_outside_quotes_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t.sql");
        std::fs::write(&f, "-- param: n = 1\nSELECT id, ${n} AS x FROM Contact -- ${n} in a comment stays\n").unwrap();
        let e = load(f.to_str().unwrap(), &[]).unwrap_err().to_string();
        assert!(e.contains("outside quotes") && e.contains("-- expression: n"), "{e}");
        std::fs::write(&f, "-- expression: n = 1\nSELECT id, ${n} AS x FROM Contact -- ${n} stays\n").unwrap();
        let t = load(f.to_str().unwrap(), &[]).unwrap();
        assert!(t.sql.contains("SELECT id, (1) AS x FROM Contact -- ${n} stays"), "{}", t.sql);
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
