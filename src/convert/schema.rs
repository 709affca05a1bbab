//! The Arrow shape of a DynamoDB table.
//!
//! Each top-level attribute becomes one column whose Arrow type follows the
//! DynamoDB types seen in it across all items:
//!
//! | DynamoDB types seen (NULL aside) | column |
//! |---|---|
//! | S | Utf8 |
//! | N | Int64, else Decimal128(38, s), else Utf8 canonical text |
//! | B | Binary |
//! | BOOL | Boolean |
//! | M, maps of one shape | Struct of the fields, with a `_ddb` child of tags (see [`super::shape`]) |
//! | L, elements of one type | List of the elements |
//! | other M and/or L | Utf8 holding the value's DynamoDB JSON |
//! | SS / NS / BS | List of Utf8 / numbers / Binary |
//! | several | Utf8 "mixed": S as is, N as text, BOOL as true/false, B as base64, others as DynamoDB JSON |
//!
//! Beside them one struct column, `_ddb`, holds each attribute's DynamoDB type
//! per item (`'S'`, `'N'`, ..., `'NULL'`, or SQL NULL when the attribute is
//! missing). Values plus tags are lossless, SQL on the value columns is natural
//! (`age > 30`, `name = 'x'`), and `ddb_type(age)` reads the tag, which is how
//! audits find a changed field type or tell a NULL from a missing attribute.
//! Each value column records its kind in field metadata so that Arrow or
//! Parquet data can be turned back into exact items.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};

use super::stats::{NumKind, TableStats};
use crate::error::{Error, Result};
use crate::item::DdbType;

/// Name of the struct column holding per-attribute DynamoDB types.
pub const TYPES_COLUMN: &str = "_ddb";
/// Field metadata key holding a column's [`Kind`].
pub const KIND_KEY: &str = "ddbsnap.kind";

/// How a column holds its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    Num(NumKind),
    Binary,
    Bool,
    Json,
    /// Maps of one shape, as an Arrow struct (see [`super::shape`]).
    Struct,
    /// Lists whose elements share one type, as an Arrow list.
    List,
    StrSet,
    NumSet(NumKind),
    BinSet,
    Mixed,
    /// Only NULLs (or nothing) were seen.
    Empty,
}

impl Kind {
    /// The kind for a set of DynamoDB types (NULL excluded).
    pub fn for_types(types: &[DdbType], number: NumKind, set_number: NumKind) -> Kind {
        use DdbType::*;
        match types {
            [] => Kind::Empty,
            [S] => Kind::Str,
            [N] => Kind::Num(number),
            [B] => Kind::Binary,
            [Bool] => Kind::Bool,
            [M] | [L] | [M, L] => Kind::Json,
            [Ss] => Kind::StrSet,
            [Ns] => Kind::NumSet(set_number),
            [Bs] => Kind::BinSet,
            _ => Kind::Mixed,
        }
    }

    /// The one DynamoDB type the values of a column of this kind have
    /// (NULL for a column that only saw NULLs); None for the text kinds
    /// that hold several (JSON: M or L; mixed: any).
    pub fn value_type(&self) -> Option<DdbType> {
        Some(match self {
            Kind::Str => DdbType::S,
            Kind::Num(_) => DdbType::N,
            Kind::Binary => DdbType::B,
            Kind::Bool => DdbType::Bool,
            Kind::Struct => DdbType::M,
            Kind::List => DdbType::L,
            Kind::StrSet => DdbType::Ss,
            Kind::NumSet(_) => DdbType::Ns,
            Kind::BinSet => DdbType::Bs,
            Kind::Empty => DdbType::Null,
            Kind::Json | Kind::Mixed => return None,
        })
    }

    pub fn name(&self) -> String {
        match self {
            Kind::Str => "S".into(),
            Kind::Num(n) => format!("N:{}", num_name(*n)),
            Kind::Binary => "B".into(),
            Kind::Bool => "BOOL".into(),
            Kind::Json => "JSON".into(),
            Kind::Struct => "M".into(),
            Kind::List => "L".into(),
            Kind::StrSet => "SS".into(),
            Kind::NumSet(n) => format!("NS:{}", num_name(*n)),
            Kind::BinSet => "BS".into(),
            Kind::Mixed => "MIXED".into(),
            Kind::Empty => "EMPTY".into(),
        }
    }

    pub fn parse(s: &str, dt: &DataType) -> Option<Kind> {
        let num = |t: &str, dt: &DataType| -> Option<NumKind> {
            match (t, dt) {
                ("int64", _) => Some(NumKind::Int64),
                ("text", _) => Some(NumKind::Text),
                ("decimal", DataType::Decimal128(_, s)) => Some(NumKind::Decimal(*s)),
                _ => None,
            }
        };
        Some(match s.split_once(':') {
            Some(("N", t)) => Kind::Num(num(t, dt)?),
            Some(("NS", t)) => match dt {
                DataType::List(f) => Kind::NumSet(num(t, f.data_type())?),
                _ => return None,
            },
            _ => match s {
                "S" => Kind::Str,
                "B" => Kind::Binary,
                "BOOL" => Kind::Bool,
                "JSON" => Kind::Json,
                "M" => Kind::Struct,
                "L" => Kind::List,
                "SS" => Kind::StrSet,
                "BS" => Kind::BinSet,
                "MIXED" => Kind::Mixed,
                "EMPTY" => Kind::Empty,
                _ => return None,
            },
        })
        .filter(|k| k.fits(dt))
    }

    /// Whether a column of Arrow type `dt` can hold this kind (string and
    /// binary columns in any of their Arrow layouts): a tag on a column of
    /// another type (a tampered file) is no tag at all.
    fn fits(&self, dt: &DataType) -> bool {
        use DataType as D;
        let text = |t: &D| matches!(t, D::Utf8 | D::LargeUtf8 | D::Utf8View);
        let bytes = |t: &D| matches!(t, D::Binary | D::LargeBinary | D::BinaryView);
        let list_of = |t: &D, item: &dyn Fn(&D) -> bool| match t {
            D::List(f) | D::LargeList(f) => item(f.data_type()),
            _ => false,
        };
        let num = |n: &NumKind, t: &D| match n {
            NumKind::Int64 => t == &D::Int64,
            NumKind::Decimal(s) => matches!(t, D::Decimal128(_, ts) if ts == s),
            NumKind::Text => text(t),
        };
        match self {
            Kind::Str | Kind::Json | Kind::Mixed | Kind::Empty => text(dt),
            Kind::Num(n) => num(n, dt),
            Kind::Binary => bytes(dt),
            Kind::Bool => dt == &D::Boolean,
            Kind::StrSet => list_of(dt, &text),
            Kind::NumSet(n) => list_of(dt, &|t: &D| num(n, t)),
            Kind::BinSet => list_of(dt, &bytes),
            Kind::Struct | Kind::List => super::shape::well_formed(*self, dt),
        }
    }

    /// The Arrow type of a flat kind. A struct's or list's type follows its
    /// shape and is held by its [`ColumnSpec`]; Utf8 here stands for none.
    pub fn data_type(&self) -> DataType {
        match self {
            Kind::Str | Kind::Json | Kind::Mixed | Kind::Empty | Kind::Struct | Kind::List => DataType::Utf8,
            Kind::Num(n) => num_type(*n),
            Kind::Binary => DataType::Binary,
            Kind::Bool => DataType::Boolean,
            Kind::StrSet => DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, false))),
            Kind::NumSet(n) => DataType::List(Arc::new(Field::new_list_field(num_type(*n), false))),
            Kind::BinSet => DataType::List(Arc::new(Field::new_list_field(DataType::Binary, false))),
        }
    }
}

fn num_name(n: NumKind) -> &'static str {
    match n {
        NumKind::Int64 => "int64",
        NumKind::Decimal(_) => "decimal",
        NumKind::Text => "text",
    }
}

fn num_type(n: NumKind) -> DataType {
    match n {
        NumKind::Int64 => DataType::Int64,
        NumKind::Decimal(s) => DataType::Decimal128(38, s),
        NumKind::Text => DataType::Utf8,
    }
}

/// One value column.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnSpec {
    pub name: String,
    pub kind: Kind,
    /// The column's Arrow type: `kind.data_type()` for flat kinds, the
    /// shape's struct or list type for [`Kind::Struct`] and [`Kind::List`].
    pub data_type: DataType,
}

impl ColumnSpec {
    /// A column of a flat kind (not a struct or list).
    pub fn flat(name: impl Into<String>, kind: Kind) -> ColumnSpec {
        ColumnSpec { name: name.into(), data_type: kind.data_type(), kind }
    }

    /// The column for an attribute's statistics: maps and lists of one
    /// shape as a struct or list (unless `nested_as_text`), the rest flat.
    fn inferred(name: &str, st: &super::stats::AttrStats, nested_as_text: bool) -> ColumnSpec {
        let types = st.value_types();
        let nested = match (types.as_slice(), &st.nested, nested_as_text) {
            (_, _, true) | (_, None, _) => None,
            ([DdbType::M], Some(sh), _) => sh.struct_type().map(|t| (Kind::Struct, t)),
            ([DdbType::L], Some(sh), _) => sh.list_type().map(|t| (Kind::List, t)),
            _ => None,
        };
        match nested {
            Some((kind, data_type)) => ColumnSpec { name: name.to_string(), kind, data_type },
            None => ColumnSpec::flat(name, Kind::for_types(&types, st.number.kind(), st.set_number.kind())),
        }
    }
}

/// A field of `dt` tagged with `kind` (a column, or a struct's field).
pub fn kind_field(name: &str, kind: Kind, dt: DataType) -> Field {
    Field::new(name, dt, true).with_metadata(HashMap::from([(KIND_KEY.to_string(), kind.name())]))
}

/// The kind a field records, if it fits the field's type.
pub fn field_kind(f: &Field) -> Option<Kind> {
    f.metadata().get(KIND_KEY).and_then(|k| Kind::parse(k, f.data_type()))
}

/// Whether maps and lists are kept as DynamoDB JSON text whatever their
/// shape: `DDBSNAP_NESTED=json`, for check files written against the text
/// form (and to measure what the struct form costs). A value that is not
/// one of the two is refused when the run starts ([`check_nested_setting`]).
pub fn nested_as_text() -> bool {
    nested_setting().unwrap_or(false)
}

/// Refuses a `DDBSNAP_NESTED` that is neither `json` nor `arrow` (nor
/// empty): a typo must not silently give the other form.
pub fn check_nested_setting() -> Result<()> {
    nested_setting().map(|_| ())
}

/// `DDBSNAP_NESTED`: whether it asks for text.
fn nested_setting() -> Result<bool> {
    match std::env::var("DDBSNAP_NESTED") {
        Ok(v) if v.eq_ignore_ascii_case("json") => Ok(true),
        Ok(v) if v.is_empty() || v.eq_ignore_ascii_case("arrow") => Ok(false),
        Err(std::env::VarError::NotPresent) => Ok(false),
        Ok(v) => Err(Error::Invalid(format!(
            "DDBSNAP_NESTED is {:?}: it must be json (maps and lists as DynamoDB JSON text) or arrow (structs and lists, the default)",
            crate::error::brief(&v, 40)
        ))),
        Err(e) => Err(Error::Invalid(format!("DDBSNAP_NESTED: {e}"))),
    }
}

/// A table's columns and the Arrow schema built from them.
#[derive(Clone, Debug)]
pub struct TableSchema {
    pub columns: Vec<ColumnSpec>,
    pub arrow: SchemaRef,
}

/// The Arrow type of one `_ddb` tag: small dictionary of type names.
pub fn tag_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8))
}

impl TableSchema {
    /// Chooses columns from statistics over every item. Key attributes come
    /// first (in the order given), then `id`, then the rest by name.
    pub fn infer(stats: &TableStats, keys: &[String]) -> Result<TableSchema> {
        if stats.attrs.contains_key(TYPES_COLUMN) {
            return Err(Error::Invalid(format!("an attribute is named {TYPES_COLUMN:?}, which ddbsnap reserves for type tags")));
        }
        let mut names: Vec<&String> = stats.attrs.keys().collect();
        let rank = |n: &str| keys.iter().position(|k| k == n).unwrap_or(if n == "id" { keys.len() } else { keys.len() + 1 });
        names.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
        let as_text = nested_as_text();
        let columns = names.into_iter().map(|name| ColumnSpec::inferred(name, &stats.attrs[name], as_text)).collect();
        Ok(TableSchema::from_columns(columns))
    }

    pub fn from_columns(columns: Vec<ColumnSpec>) -> TableSchema {
        let mut fields: Vec<Field> = columns.iter().map(|c| kind_field(&c.name, c.kind, c.data_type.clone())).collect();
        let tags: Fields = columns.iter().map(|c| Field::new(&c.name, tag_type(), true)).collect();
        fields.push(Field::new(TYPES_COLUMN, DataType::Struct(tags), false));
        TableSchema { columns, arrow: Arc::new(Schema::new(fields)) }
    }

    /// The schema a Parquet file of this table is written with. A table with
    /// no attributes (no items: every item has its key) would have an empty
    /// `_ddb` struct, which Parquet cannot hold; its file gets a `_ddb` of
    /// type Null instead, so an empty table still converts and reads back as
    /// a table with no rows (see [`TableSchema::from_arrow`]).
    pub fn parquet_schema(&self) -> SchemaRef {
        if !self.columns.is_empty() {
            return self.arrow.clone();
        }
        Arc::new(Schema::new(vec![Field::new(TYPES_COLUMN, DataType::Null, true)]))
    }

    /// Recovers the column kinds from an Arrow schema written by ddbsnap
    /// (for example a Parquet file's).
    pub fn from_arrow(schema: &Schema) -> Result<TableSchema> {
        let mut columns = Vec::new();
        for f in schema.fields() {
            if f.name() == TYPES_COLUMN {
                continue;
            }
            let kind = match f.metadata().get(KIND_KEY) {
                None => {
                    return Err(Error::Invalid(format!(
                        "column {:?} carries no ddbsnap type information: not data written by ddbsnap, or its metadata was removed",
                        f.name()
                    )));
                }
                Some(k) => Kind::parse(k, f.data_type()).ok_or_else(|| {
                    Error::Invalid(format!(
                        "column {:?}: its ddbsnap type {:?} does not fit its Arrow type {} (or a field inside it has no or a wrong type): the data was changed after ddbsnap wrote it",
                        f.name(),
                        crate::error::brief(k, 40),
                        crate::error::brief(&f.data_type().to_string(), 200)
                    ))
                })?,
            };
            // A struct or list keeps its written type (its fields' kinds);
            // a flat column is read as its kind's plain type.
            let data_type = if matches!(kind, Kind::Struct | Kind::List) { f.data_type().clone() } else { kind.data_type() };
            columns.push(ColumnSpec { name: f.name().clone(), kind, data_type });
        }
        match schema.field_with_name(TYPES_COLUMN).map(|f| f.data_type()) {
            Ok(DataType::Struct(_)) => {}
            // An empty table's file (see `parquet_schema`).
            Ok(DataType::Null) if columns.is_empty() => {}
            Ok(other) => {
                return Err(Error::Invalid(format!(
                    "its {TYPES_COLUMN} column is of type {other}, not the struct of type tags ddbsnap writes: the data was changed after ddbsnap wrote it"
                )));
            }
            Err(_) => return Err(Error::Invalid(format!("no {TYPES_COLUMN} column: not data written by ddbsnap"))),
        }
        Ok(TableSchema::from_columns(columns))
    }
}
