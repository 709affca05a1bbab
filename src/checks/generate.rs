//! Checks generated from the Amplify data model, as SQL.
//!
//! Each check is a query returning the violating items (key columns plus
//! what is wrong), zero rows meaning pass, so users can read, copy and adapt
//! it. Generation looks at the table's columns: a required field that no item
//! has is checked by a query that returns every item, and a type rule on a
//! column of numbers uses the column's own Arrow type.

use super::model::{FieldType, Model, ModelIntrospection, Scalar};
use crate::catalog::quote_ident as ident;
use crate::convert::stats::NumKind;
use crate::convert::{Kind, TableSchema};

/// How bad a failing check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// Violation counts up to which the check still passes, or only warns
    /// (`-- threshold: warn above 0, error above 100`). `None`: any violation
    /// fails at the check's severity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
}

/// Counts above which a check warns or fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Threshold {
    pub warn_above: Option<u64>,
    pub error_above: Option<u64>,
}

impl Threshold {
    /// Parses `warn above N`, `error above M`, or both separated by a comma.
    pub fn parse(text: &str) -> Option<Threshold> {
        let mut t = Threshold { warn_above: None, error_above: None };
        for part in text.split(',') {
            let words: Vec<&str> = part.split_whitespace().collect();
            match words.as_slice() {
                ["warn", "above", n] => t.warn_above = Some(n.parse().ok()?),
                ["error", "above", n] => t.error_above = Some(n.parse().ok()?),
                _ => return None,
            }
        }
        (t.warn_above.is_some() || t.error_above.is_some()).then_some(t)
    }

    /// The severity a count of violations earns (`None`: it passes).
    pub fn judge(&self, violations: u64) -> Option<Severity> {
        if self.error_above.is_some_and(|n| violations > n) {
            Some(Severity::Error)
        } else if self.warn_above.is_some_and(|n| violations > n) {
            Some(Severity::Warn)
        } else {
            None
        }
    }
}

/// Checks that belongsTo references resolve to a parent item, across
/// tables. `table_of` gives a model's table schema when it was loaded;
/// returns the checks and notes on references that cannot be checked.
pub fn reference_checks<'a>(
    intro: &ModelIntrospection,
    model: &Model,
    table: &str,
    schema: &TableSchema,
    table_of: impl Fn(&str) -> Option<&'a TableSchema>,
) -> (Vec<Check>, Vec<String>) {
    let has = |s: &TableSchema, c: &str| s.columns.iter().any(|x| x.name == c);
    let (mut checks, mut notes) = (Vec::new(), Vec::new());
    let keys: Vec<String> = model.key_fields().into_iter().filter(|k| has(schema, k)).map(str::to_string).collect();
    for f in model.fields.values() {
        let (Some(assoc), FieldType::Model { name: parent }) = (&f.association, &f.ty) else { continue };
        if assoc.connection_type != super::model::ConnectionType::BelongsTo || assoc.target_names.is_empty() {
            continue;
        }
        let Some(parent_model) = intro.models.get(parent) else { continue };
        let Some(parent_schema) = table_of(parent) else {
            notes.push(format!("{}.{} refers to {parent}, which has no export: references not checked", model.name, f.name));
            continue;
        };
        let parent_keys = parent_model.key_fields();
        if let Some(t) = assoc.target_names.iter().find(|t| !has(schema, t)) {
            notes.push(format!(
                "{}.{}: no {} item has {t}, so none refers to a {parent}: references not checked",
                model.name, f.name, model.name
            ));
            continue;
        }
        let on: Vec<String> =
            assoc.target_names.iter().zip(&parent_keys).map(|(t, k)| format!("p.{} = c.{}", ident(k), ident(t))).collect();
        let set: Vec<String> = assoc.target_names.iter().map(|t| format!("c.{} IS NOT NULL", ident(t))).collect();
        let mut select: Vec<String> = keys.iter().map(|k| format!("c.{}", ident(k))).collect();
        select.extend(assoc.target_names.iter().map(|t| format!("c.{}", ident(t))));
        // A parent table without its key columns has no items (every item
        // holds its key): then every reference that is set dangles.
        let sql = if parent_keys.iter().any(|k| !has(parent_schema, k)) {
            format!("SELECT {} FROM {} c WHERE {}", select.join(", "), ident(table), set.join(" AND "))
        } else {
            format!(
                "SELECT {} FROM {} c LEFT JOIN {} p ON {} WHERE {} AND p.{} IS NULL",
                select.join(", "),
                ident(table),
                ident(parent),
                on.join(" AND "),
                set.join(" AND "),
                ident(parent_keys[0])
            )
        };
        checks.push(Check {
            name: format!("{}.{}.reference", model.name, f.name),
            table: table.to_string(),
            severity: Severity::Error,
            description: format!("{} ({}) refers to an existing {parent}", f.name, assoc.target_names.join(", ")),
            sql,
            keys: keys.clone(),
            threshold: None,
        });
    }
    (checks, notes)
}

/// Rules for the fields of a custom type stored as a map, as SQL conditions
/// true for a violating value: (name suffix, description, condition).
/// Nested custom types are followed a few levels down.
fn nested_rules(intro: &ModelIntrospection, type_name: &str, col: &Nested, prefix: &str, depth: usize) -> Vec<(String, String, String)> {
    let Some(def) = intro.non_models.get(type_name) else { return Vec::new() };
    let mut out = Vec::new();
    for f in def.fields.values() {
        let path = format!("{prefix}{}", f.name);
        let at = col.type_at(&path);
        if f.must_be_present() {
            out.push((format!("{path}.required"), format!("{path} is required"), format!("coalesce({at}, 'NULL') = 'NULL'")));
        }
        let allowed = allowed_types(&f.ty, f.is_array);
        if !allowed.is_empty() {
            let list: Vec<String> = allowed.iter().chain(&["NULL"]).map(|t| literal(t)).collect();
            out.push((
                format!("{path}.type"),
                format!("{path} holds DynamoDB {}", allowed.join(" or ")),
                format!("{at} NOT IN ({})", list.join(", ")),
            ));
        }
        if let (FieldType::NonModel { name }, false, true) = (&f.ty, f.is_array, depth < 4) {
            for (suffix, description, cond) in nested_rules(intro, name, col, &format!("{path}."), depth + 1) {
                out.push((suffix, description, format!("{at} = 'M' AND ({cond})")));
            }
        }
    }
    out
}

/// A custom-type column, for the SQL that reads the DynamoDB type at a path
/// in it: through the struct's own `_ddb` tags when the column is a struct
/// (no value is decoded), else with `ddb_type_at` on its text.
struct Nested<'a> {
    col: &'a str,
    struct_type: Option<&'a arrow::datatypes::DataType>,
}

impl Nested<'_> {
    /// SQL for the type at `path` (`a.b`): a tag, or NULL when absent.
    fn type_at(&self, path: &str) -> String {
        let Some(mut dt) = self.struct_type else { return format!("ddb_type_at({}, {})", self.col, literal(path)) };
        let mut value = self.col.to_string();
        let parts: Vec<&str> = path.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let arrow::datatypes::DataType::Struct(fields) = dt else { break };
            let Some(f) = fields.iter().find(|f| f.name() == part && f.name() != crate::convert::TYPES_COLUMN) else { break };
            if i + 1 == parts.len() {
                return format!("get_field(get_field({value}, '_ddb'), {})", literal(part));
            }
            value = format!("get_field({value}, {})", literal(part));
            dt = f.data_type();
        }
        // No item has the field there (or a map is not there): no type.
        "CAST(NULL AS VARCHAR)".to_string()
    }
}

/// Regular expressions for AppSync's string scalars (as AppSync validates them).
pub(crate) fn format_regex(s: Scalar) -> Option<&'static str> {
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

/// The SQL function that validates a scalar by value (see
/// [`super::scalars`]), where a shape is not enough.
pub(crate) fn format_function(s: Scalar) -> Option<&'static str> {
    Some(match s {
        Scalar::AWSDate => "ddb_valid_awsdate",
        Scalar::AWSTime => "ddb_valid_awstime",
        Scalar::AWSDateTime => "ddb_valid_awsdatetime",
        Scalar::AWSIPAddress => "ddb_valid_awsipaddress",
        _ => return None,
    })
}

/// Whether `value` is a valid `s`: by value for dates, times and
/// addresses, by shape for the rest.
pub(crate) fn valid_format(s: Scalar, value: &str) -> bool {
    use super::scalars as v;
    match s {
        Scalar::AWSDate => v::valid_date(value),
        Scalar::AWSTime => v::valid_time(value),
        Scalar::AWSDateTime => v::valid_datetime(value),
        Scalar::AWSIPAddress => v::valid_ip(value),
        _ => format_regex(s).is_none_or(|re| regex::Regex::new(re).is_ok_and(|re| re.is_match(value))),
    }
}

/// The DynamoDB types a field's values may have (NULL aside).
pub(crate) fn allowed_types(f: &FieldType, is_array: bool) -> &'static [&'static str] {
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

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Generates the checks of one model over the table `table` with `schema`.
pub fn model_checks(intro: &ModelIntrospection, model: &Model, table: &str, schema: &TableSchema) -> Vec<Check> {
    let has = |c: &str| schema.columns.iter().any(|s| s.name == c);
    let kind = |c: &str| schema.columns.iter().find(|s| s.name == c).map(|s| s.kind);
    let struct_type = |c: &str| schema.columns.iter().find(|s| s.name == c && s.kind == Kind::Struct).map(|s| &s.data_type);
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
            threshold: None,
        });
    };

    for f in model.stored_fields() {
        let col = ident(&f.name);
        if f.must_be_present() {
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
        let nested = matches!(kind(&f.name), Some(Kind::Json | Kind::Struct | Kind::List | Kind::Mixed));
        if f.is_array {
            let mut elements: Vec<&str> = allowed_types(&f.ty, false).to_vec();
            if !f.is_required {
                elements.push("NULL");
            }
            if nested && !elements.is_empty() {
                add(
                    format!("{}.elements", f.name),
                    Severity::Error,
                    format!("the elements of {} are {}", f.name, elements.join(" or ")),
                    format!(
                        "SELECT {select} FROM {from} WHERE ddb_type({col}) = 'L' AND NOT ddb_elements_in({col}, {})",
                        literal(&elements.join(","))
                    ),
                );
            }
            continue;
        }
        if let (FieldType::NonModel { name }, true) = (&f.ty, nested) {
            let form = Nested { col: &col, struct_type: struct_type(&f.name) };
            for (suffix, description, cond) in nested_rules(intro, name, &form, "", 0) {
                add(
                    format!("{}.{suffix}", f.name),
                    Severity::Error,
                    format!("{}: {description}", f.name),
                    format!("SELECT {select} FROM {from} WHERE ddb_type({col}) = 'M' AND ({cond})"),
                );
            }
        }
        if let (FieldType::Scalar(Scalar::AWSJSON), Some(Kind::Str | Kind::Mixed)) = (&f.ty, kind(&f.name)) {
            add(
                format!("{}.json", f.name),
                Severity::Error,
                format!("{} as a string parses as JSON (AWSJSON)", f.name),
                format!("SELECT {select} FROM {from} WHERE ddb_type({col}) = 'S' AND NOT ddb_json_valid({col})"),
            );
        }
        let value_rule = match (&f.ty, kind(&f.name)) {
            (FieldType::Scalar(Scalar::Int | Scalar::AWSTimestamp), Some(Kind::Num(NumKind::Decimal(_)))) => {
                Some(("integer", format!("ddb_type({col}) = 'N' AND {col} <> trunc({col})")))
            }
            (FieldType::Scalar(Scalar::Int | Scalar::AWSTimestamp), Some(Kind::Num(NumKind::Text) | Kind::Mixed)) => {
                Some(("integer", format!("ddb_type({col}) = 'N' AND NOT regexp_like({col}, '^-?[0-9]+$')")))
            }
            (FieldType::Scalar(s), Some(Kind::Str | Kind::Mixed)) => match format_function(*s) {
                Some(f) => Some(("format", format!("ddb_type({col}) = 'S' AND NOT {f}(CAST({col} AS VARCHAR))"))),
                None => format_regex(*s).map(|re| ("format", format!("ddb_type({col}) = 'S' AND NOT regexp_like({col}, {})", literal(re)))),
            },
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
    for idx in model.indexes() {
        let missing: Vec<String> =
            idx.fields.iter().map(|f| if has(f) { format!("{} IS NULL", ident(f)) } else { "TRUE".into() }).collect();
        add(
            format!("index.{}", idx.name),
            Severity::Warn,
            format!(
                "items carry the key fields of index {} ({}): an item without them is silently missing from the index",
                idx.name,
                idx.fields.join(", ")
            ),
            format!("SELECT {select} FROM {from} WHERE {}", missing.join(" OR ")),
        );
        let sort = &idx.fields[1.min(idx.fields.len())..];
        let composite = sort.join("#");
        if sort.len() > 1 && has(&composite) && sort.iter().all(|f| has(f)) {
            let parts: Vec<String> = sort.iter().map(|f| format!("CAST({} AS VARCHAR)", ident(f))).collect();
            add(
                format!("index.{}.composite", idx.name),
                Severity::Error,
                format!("{composite} equals its parts joined by '#'"),
                format!(
                    "SELECT {select}, {c} AS found FROM {from} WHERE {c} IS NOT NULL AND {c} IS DISTINCT FROM concat_ws('#', {})",
                    parts.join(", "),
                    c = ident(&composite)
                ),
            );
        }
    }
    if has("_version") {
        if has("_deleted") {
            add(
                "datastore.tombstones".into(),
                Severity::Warn,
                "DataStore tombstones (_deleted = true) still in the table".into(),
                format!("SELECT {select} FROM {from} WHERE CAST(\"_deleted\" AS VARCHAR) = 'true'"),
            );
        }
        let last_changed = if has("_lastChangedAt") { " OR \"_lastChangedAt\" IS NULL" } else { " OR TRUE" };
        add(
            "datastore.metadata".into(),
            Severity::Error,
            "items carry DataStore's _version and _lastChangedAt (some items of this table do)".into(),
            format!("SELECT {select} FROM {from} WHERE \"_version\" IS NULL{last_changed}"),
        );
    }
    // Fields Amplify writes on every item: a check of one never passes
    // because no item has it (that is every item lacking it).
    for owner in model.owner_fields().iter().filter(|o| !has(o)) {
        add(
            format!("{owner}.present"),
            Severity::Warn,
            format!("items carry {owner} (owner auth): without it no owner can read them (no item has {owner})"),
            format!("SELECT {select} FROM {from}"),
        );
    }
    for owner in model.owner_fields().iter().filter(|o| has(o)) {
        let col = ident(owner);
        add(
            format!("{owner}.shape"),
            Severity::Warn,
            format!("{owner} (owner auth) holds Cognito identities as \"sub::username\" strings (or a list of them)"),
            format!(
                "SELECT {select}, ddb_type({col}) AS found FROM {from} WHERE {col} IS NOT NULL AND NOT (ddb_type({col}) = 'S' AND regexp_like(CAST({col} AS VARCHAR), '^[^:]+::[^:]+$') OR ddb_type({col}) IN ('L', 'SS'))"
            ),
        );
    }
    let typename = if has("__typename") {
        format!("SELECT {select}, \"__typename\" AS found FROM {from} WHERE \"__typename\" IS DISTINCT FROM {}", literal(&model.name))
    } else {
        format!("SELECT {select} FROM {from}")
    };
    let note = if has("__typename") { "" } else { " (no item has __typename)" };
    add("typename".into(), Severity::Error, format!("__typename is {}{note}", model.name), typename);
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
