//! Checks generated from the Amplify data model, as SQL.
//!
//! Each check is a query returning the violating items (key columns plus
//! what is wrong), zero rows meaning pass, so users can read, copy and adapt
//! it. Generation looks at the table's columns: a required field that no item
//! has is checked by a query that returns every item, and a type rule on a
//! column of numbers uses the column's own Arrow type.

use super::model::{FieldType, Model, ModelIntrospection, Scalar};
use crate::convert::stats::NumKind;
use crate::convert::{Kind, TableSchema};

/// How bad a failing check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warn,
}

/// One check: a query whose rows are the violations.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Check {
    pub name: String,
    pub table: String,
    pub severity: Severity,
    pub description: String,
    pub sql: String,
    /// Columns that identify an item; samples show only these unless the
    /// user asks for values (reports leave production).
    #[serde(default)]
    pub keys: Vec<String>,
}

/// Regular expressions for AppSync's string scalars (as AppSync validates them).
fn format_regex(s: Scalar) -> Option<&'static str> {
    Some(match s {
        Scalar::AWSDate => r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?$",
        Scalar::AWSTime => r"^[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?$",
        Scalar::AWSDateTime => {
            r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2}(:[0-9]{2})?)$"
        }
        Scalar::AWSEmail => r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        Scalar::AWSURL => r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s]+$",
        Scalar::AWSPhone => r"^\+?[0-9][0-9 ()./-]{3,}$",
        Scalar::AWSIPAddress => r"^([0-9]{1,3}(\.[0-9]{1,3}){3}(/[0-9]{1,2})?|[0-9A-Fa-f:]+(/[0-9]{1,3})?)$",
        _ => return None,
    })
}

/// The DynamoDB types a field's values may have (NULL aside).
fn allowed_types(f: &FieldType, is_array: bool) -> &'static [&'static str] {
    if is_array {
        return &["L"];
    }
    match f {
        FieldType::Scalar(Scalar::Int | Scalar::Float | Scalar::AWSTimestamp) => &["N"],
        FieldType::Scalar(Scalar::Boolean) => &["BOOL"],
        FieldType::Scalar(Scalar::AWSJSON) => &["M", "L", "S"],
        FieldType::Scalar(_) | FieldType::Enum { .. } => &["S"],
        FieldType::NonModel { .. } => &["M"],
        FieldType::Model { .. } => &[],
    }
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Generates the checks of one model over the table `table` with `schema`.
pub fn model_checks(intro: &ModelIntrospection, model: &Model, table: &str, schema: &TableSchema) -> Vec<Check> {
    let has = |c: &str| schema.columns.iter().any(|s| s.name == c);
    let kind = |c: &str| schema.columns.iter().find(|s| s.name == c).map(|s| s.kind);
    let key_names: Vec<String> = model.key_fields().into_iter().filter(|k| has(k)).map(str::to_string).collect();
    let keys: Vec<String> = key_names.iter().map(|k| ident(k)).collect();
    let select = if keys.is_empty() { "*".to_string() } else { keys.join(", ") };
    let from = ident(table);
    let mut out = Vec::new();
    let mut add = |name: String, severity: Severity, description: String, sql: String| {
        out.push(Check {
            name: format!("{}.{name}", model.name),
            table: table.to_string(),
            severity,
            description,
            sql,
            keys: key_names.clone(),
        });
    };

    for f in model.stored_fields() {
        let col = ident(&f.name);
        if f.is_required && !(f.is_array && f.is_array_nullable == Some(true)) {
            let sql = if has(&f.name) {
                format!("SELECT {select}, ddb_type({col}) AS found FROM {from} WHERE {col} IS NULL")
            } else {
                format!("SELECT {select} FROM {from}")
            };
            add(format!("{}.required", f.name), Severity::Error, format!("{} is required: present and not NULL", f.name), sql);
        }
        if !has(&f.name) {
            continue;
        }
        let allowed = allowed_types(&f.ty, f.is_array);
        if !allowed.is_empty() {
            let list: Vec<String> = allowed.iter().chain(&["NULL"]).map(|t| literal(t)).collect();
            add(
                format!("{}.type", f.name),
                Severity::Error,
                format!("{} holds DynamoDB {}", f.name, allowed.join(" or ")),
                format!("SELECT {select}, ddb_type({col}) AS found FROM {from} WHERE ddb_type({col}) NOT IN ({})", list.join(", ")),
            );
        }
        if f.is_array {
            continue;
        }
        let value_rule = match (&f.ty, kind(&f.name)) {
            (FieldType::Scalar(Scalar::Int | Scalar::AWSTimestamp), Some(Kind::Num(NumKind::Decimal(_)))) => {
                Some(("integer", format!("ddb_type({col}) = 'N' AND {col} <> trunc({col})")))
            }
            (FieldType::Scalar(Scalar::Int | Scalar::AWSTimestamp), Some(Kind::Num(NumKind::Text) | Kind::Mixed)) => {
                Some(("integer", format!("ddb_type({col}) = 'N' AND NOT regexp_like({col}, '^-?[0-9]+$')")))
            }
            (FieldType::Scalar(s), Some(Kind::Str | Kind::Mixed)) => {
                format_regex(*s).map(|re| ("format", format!("ddb_type({col}) = 'S' AND NOT regexp_like({col}, {})", literal(re))))
            }
            (FieldType::Enum { name }, Some(Kind::Str | Kind::Mixed)) => intro.enums.get(name).map(|e| {
                let values: Vec<String> = e.values.iter().map(|v| literal(v)).collect();
                ("enum", format!("ddb_type({col}) = 'S' AND {col} NOT IN ({})", values.join(", ")))
            }),
            _ => None,
        };
        if let Some((what, cond)) = value_rule {
            let description = match what {
                "integer" => format!("{} is an integer", f.name),
                "enum" => format!("{} is one of its enum's values", f.name),
                _ => match &f.ty {
                    FieldType::Scalar(s) => format!("{} is a valid {s:?}", f.name),
                    other => format!("{} is a valid {other:?}", f.name),
                },
            };
            add(
                format!("{}.{what}", f.name),
                Severity::Error,
                description,
                format!("SELECT {select}, {col} AS found FROM {from} WHERE {cond}"),
            );
        }
    }

    if !keys.is_empty() {
        add(
            "key.unique".into(),
            Severity::Error,
            format!("the primary key ({}) is unique", model.key_fields().join(", ")),
            format!("SELECT {select}, count(*) AS copies FROM {from} GROUP BY {select} HAVING count(*) > 1"),
        );
    }
    if has("__typename") {
        add(
            "typename".into(),
            Severity::Error,
            format!("__typename is {}", model.name),
            format!("SELECT {select}, \"__typename\" AS found FROM {from} WHERE \"__typename\" IS DISTINCT FROM {}", literal(&model.name)),
        );
    }
    if has("createdAt") && has("updatedAt") {
        add(
            "timestamps".into(),
            Severity::Warn,
            "createdAt is not after updatedAt".into(),
            format!(
                "SELECT {select}, \"createdAt\", \"updatedAt\" FROM {from} WHERE ddb_type(\"createdAt\") = 'S' AND ddb_type(\"updatedAt\") = 'S' AND \"createdAt\" > \"updatedAt\""
            ),
        );
    }
    out
}
