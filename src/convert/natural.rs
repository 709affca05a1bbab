//! Arbitrary Arrow values as DynamoDB values: what a SQL result means when it
//! is to be written to DynamoDB (transforms, seed files).
//!
//! The mapping is the natural one, and exact wherever Arrow is:
//!
//! | Arrow | DynamoDB |
//! |---|---|
//! | Utf8 (any string type) | S |
//! | integers, Decimal128/256 | N, exact |
//! | Float32/64 | N, only when its shortest text has at most 15 (6) significant digits: an exact decimal, not a rounding error |
//! | Boolean | BOOL |
//! | Binary (any binary type) | B |
//! | Date32, Timestamp | S in ISO 8601 (`2026-01-14`, `2026-01-14T10:30:00.000Z`), as Amplify's AWSDate/AWSDateTime |
//! | List | L of the elements (SQL NULL elements become NULL) |
//! | Struct | M of the fields (SQL NULL fields left out) |
//! | the `ddb` value struct of [`crate::catalog`]'s `ddb()`/`ddb_attr()` | exactly the DynamoDB value it holds |
//!
//! Columns selected straight from a ddbsnap table carry their kind in field
//! metadata and are read exactly as stored (sets stay sets, maps stay maps).
//! A SQL NULL is "no value" (the caller decides what that means), never a
//! DynamoDB NULL: that is `ddb('{"NULL":true}')`.

use arrow::array::{Array, ArrayRef, AsArray, DictionaryArray};
use arrow::datatypes::{DataType, DecimalType as _, Field, Int8Type, TimeUnit};

use super::from_arrow::{ColumnReader, tag_names};
use super::schema::{Kind, field_kind};
use super::shape;
use crate::item::{AttrValue, DdbType, Number, ddbjson};

/// Name of the single field of the struct that carries an exact DynamoDB
/// value as its DynamoDB JSON (see `ddb()` in the catalog).
pub const VALUE_FIELD: &str = "ddb";

/// Whether `dt` is the exact-value struct.
pub fn is_value_struct(dt: &DataType) -> bool {
    matches!(dt, DataType::Struct(f) if f.len() == 1 && f[0].name() == VALUE_FIELD && f[0].data_type() == &DataType::Utf8)
}

/// A result column read as DynamoDB values: through its per-item type tags
/// when it comes straight from a ddbsnap table with its `_ddb` tags (exact
/// for every kind, and a missing attribute told from NULL), else by its SQL
/// type (see [`natural_value`]).
pub struct ValueColumn<'a> {
    values: &'a ArrayRef,
    field: &'a Field,
    tagged: Option<Tagged<'a>>,
}

/// A stored column's tags, the type each tag names, and the column's kind.
type Tagged<'a> = (&'a DictionaryArray<Int8Type>, Vec<Option<DdbType>>, Kind);

impl<'a> ValueColumn<'a> {
    pub fn new(values: &'a ArrayRef, field: &'a Field, tags: Option<&'a DictionaryArray<Int8Type>>) -> Result<ValueColumn<'a>, String> {
        let kind = stored_kind(field);
        let tagged = match (tags, kind) {
            (Some(t), Some(kind)) => Some((t, tag_names(t)?, kind)),
            // A column with no value in these rows holds only NULLs and
            // missing attributes, which the tags tell apart whatever the
            // column's metadata says (Parquet does not keep an all-NULL
            // column's kind).
            (Some(t), None) if values.null_count() == values.len() => Some((t, tag_names(t)?, Kind::Empty)),
            _ => None,
        };
        Ok(ValueColumn { values, field, tagged })
    }

    /// The value in `row`; None when the item lacks the attribute (or SQL NULL).
    pub fn value(&self, row: usize) -> Result<Option<AttrValue>, String> {
        match &self.tagged {
            None => natural_value(self.values, self.field, row),
            Some((tags, _, _)) if tags.is_null(row) => Ok(None),
            Some((tags, names, kind)) => {
                let t = names.get(tags.keys().value(row) as usize).copied().flatten().ok_or("bad type tag")?;
                ColumnReader { kind: *kind, values: self.values }.value(row, t).map(Some)
            }
        }
    }
}

/// The kind a ddbsnap column's metadata records, when the column still has
/// that kind's Arrow type. An expression can keep a column's metadata and
/// change its type (`CAST(name AS VARCHAR)` gives Utf8View): such a result
/// is read by its SQL type, as any computed column.
fn stored_kind(field: &Field) -> Option<Kind> {
    let kind = field_kind(field)?;
    match kind {
        // Parsing checked the whole struct or list type, field by field.
        Kind::Struct | Kind::List => Some(kind),
        _ => kind.data_type().equals_datatype(field.data_type()).then_some(kind),
    }
}

/// The DynamoDB value of `array[row]`, or None for SQL NULL.
pub fn natural_value(array: &ArrayRef, field: &Field, row: usize) -> Result<Option<AttrValue>, String> {
    if array.is_null(row) {
        return Ok(None);
    }
    if let Some(kind) = stored_kind(field) {
        return stored_value(array, kind, row).map(Some);
    }
    value_at(array, row).map(Some)
}

/// A value of a column written by ddbsnap: its kind says how, except for
/// mixed columns, whose type is only in the `_ddb` tags.
fn stored_value(array: &ArrayRef, kind: Kind, row: usize) -> Result<AttrValue, String> {
    match kind {
        Kind::Json => {
            let text = array.as_string_opt::<i32>().ok_or("a JSON column that is not text")?.value(row);
            ddbjson::value_from_str(text).map_err(|e| format!("bad DynamoDB JSON: {e}"))
        }
        Kind::Struct | Kind::List => super::nested::read(array, kind, row),
        Kind::Mixed | Kind::Empty => {
            Err("the column holds values of several DynamoDB types: select it as ddb_attr(column) to keep each one's type".into())
        }
        _ => ColumnReader { kind, values: array }.value(row, kind.value_type().ok_or("a column of no one type")?),
    }
}

fn value_at(a: &ArrayRef, row: usize) -> Result<AttrValue, String> {
    use DataType as D;
    let num = |text: String| Number::parse(&text).map(AttrValue::N).map_err(|e| format!("{text}: {e}"));
    Ok(match a.data_type() {
        D::Utf8 => AttrValue::S(a.as_string::<i32>().value(row).to_string()),
        D::LargeUtf8 => AttrValue::S(a.as_string::<i64>().value(row).to_string()),
        D::Utf8View => AttrValue::S(a.as_string_view().value(row).to_string()),
        D::Boolean => AttrValue::Bool(a.as_boolean().value(row)),
        D::Binary => AttrValue::B(a.as_binary::<i32>().value(row).to_vec()),
        D::LargeBinary => AttrValue::B(a.as_binary::<i64>().value(row).to_vec()),
        D::BinaryView => AttrValue::B(a.as_binary_view().value(row).to_vec()),
        // A decimal past its own precision is the wrapped result of an
        // overflow (DataFusion's decimal kernels wrap): never a number to write.
        D::Decimal128(p, _)
            if !arrow::datatypes::Decimal128Type::is_valid_decimal_precision(
                a.as_primitive::<arrow::datatypes::Decimal128Type>().value(row),
                *p,
            ) =>
        {
            return Err(format!("decimal overflow: the result does not fit in {} digits", p));
        }
        D::Decimal256(p, _)
            if !arrow::datatypes::Decimal256Type::is_valid_decimal_precision(
                a.as_primitive::<arrow::datatypes::Decimal256Type>().value(row),
                *p,
            ) =>
        {
            return Err(format!("decimal overflow: the result does not fit in {} digits", p));
        }
        D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64 | D::Decimal128(..) | D::Decimal256(..) => {
            num(arrow::util::display::array_value_to_string(a, row).map_err(|e| e.to_string())?)?
        }
        D::Float32 => float_number(a.as_primitive::<arrow::datatypes::Float32Type>().value(row).to_string(), 6)?,
        D::Float64 => float_number(a.as_primitive::<arrow::datatypes::Float64Type>().value(row).to_string(), 15)?,
        D::Date32 | D::Date64 => AttrValue::S(arrow::util::display::array_value_to_string(a, row).map_err(|e| e.to_string())?),
        D::Timestamp(unit, _) => AttrValue::S(timestamp_text(a, row, *unit)?),
        // A table's map or list, wherever it was put (`named_struct('a',
        // profile)`, `make_array(profile)`): its own type says it is one,
        // and it is read exactly, as when selected alone.
        D::Struct(_) if shape::well_formed(Kind::Struct, a.data_type()) => super::nested::read(a, Kind::Struct, row)?,
        D::List(_) if shape::well_formed(Kind::List, a.data_type()) => super::nested::read(a, Kind::List, row)?,
        D::List(item) | D::LargeList(item) => {
            let elements = if let D::List(_) = a.data_type() { a.as_list::<i32>().value(row) } else { a.as_list::<i64>().value(row) };
            let mut out = Vec::with_capacity(elements.len());
            for i in 0..elements.len() {
                out.push(natural_value(&elements, item, i)?.unwrap_or(AttrValue::Null));
            }
            AttrValue::L(out)
        }
        D::Struct(_) if is_value_struct(a.data_type()) => {
            let text = a.as_struct().column(0).as_string::<i32>().value(row).to_string();
            ddbjson::value_from_str(&text).map_err(|e| format!("bad DynamoDB JSON {text:?}: {e}"))?
        }
        // `_ddb` holds type tags, never data: a struct with such a field that
        // is not a well-formed map (a tampered file, a hand-built struct)
        // would write its tags as a map field.
        D::Struct(fields) if fields.iter().any(|f| f.name() == super::schema::TYPES_COLUMN) => {
            return Err(format!(
                "a struct with a {} field that is not a ddbsnap map (its field types or kinds were changed): select the map itself, or build the struct without {}",
                super::schema::TYPES_COLUMN,
                super::schema::TYPES_COLUMN
            ));
        }
        D::Struct(fields) => {
            let s = a.as_struct();
            let mut m = std::collections::BTreeMap::new();
            for (f, col) in fields.iter().zip(s.columns()) {
                if let Some(v) = natural_value(col, f, row)? {
                    m.insert(f.name().clone(), v);
                }
            }
            AttrValue::M(m)
        }
        D::Dictionary(..) => {
            let plain = arrow::compute::cast(&a.slice(row, 1), &DataType::Utf8).map_err(|e| e.to_string())?;
            return value_at(&plain, 0);
        }
        other => return Err(format!("SQL type {other} has no DynamoDB equivalent; cast it (to text, a number or a boolean)")),
    })
}

/// A floating-point result as an N, only when it is the decimal it looks
/// like: its shortest text has at most `digits` significant digits (15 for
/// 64-bit floats, 6 for 32-bit), so that text reads back as the same float
/// and is what a person meant. `0.1 + 0.2` computed in floats
/// (`0.30000000000000004`) and integers past 2^53 are refused: DynamoDB
/// numbers are exact decimals, and a plan must not write a rounding error.
fn float_number(text: String, digits: usize) -> Result<AttrValue, String> {
    if text.contains(['N', 'n', 'i']) {
        return Err(format!("{text} is not a number DynamoDB can store"));
    }
    let significant = text.trim_start_matches('-').replace('.', "");
    let significant = significant.trim_start_matches('0').trim_end_matches('0');
    if significant.len() > digits {
        return Err(format!(
            "{text} is a floating-point result, not an exact decimal; DynamoDB numbers are written only from exact values: \
             compute in decimals (number literals are decimals; CAST(x AS DECIMAL(38, 10))) or give the number as text with ddb_number('...')"
        ));
    }
    Number::parse(&text).map(AttrValue::N).map_err(|e| format!("{text}: {e}"))
}

/// ISO 8601 in UTC with milliseconds and a `Z`, as Amplify's AWSDateTime.
fn timestamp_text(a: &ArrayRef, row: usize, unit: TimeUnit) -> Result<String, String> {
    use arrow::datatypes::*;
    let (v, scale) = match unit {
        TimeUnit::Second => (a.as_primitive::<TimestampSecondType>().value(row), 1_000_000_000),
        TimeUnit::Millisecond => (a.as_primitive::<TimestampMillisecondType>().value(row), 1_000_000),
        TimeUnit::Microsecond => (a.as_primitive::<TimestampMicrosecondType>().value(row), 1_000),
        TimeUnit::Nanosecond => (a.as_primitive::<TimestampNanosecondType>().value(row), 1),
    };
    let nanos = v.checked_mul(scale).ok_or_else(|| format!("timestamp {v} ({unit:?}s since 1970) is out of range"))?;
    let t = chrono::DateTime::from_timestamp_nanos(nanos);
    Ok(t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Decimal128Array, Float64Array, Int64Array, StringArray};

    use super::*;

    fn one(a: ArrayRef) -> AttrValue {
        let f = Field::new("x", a.data_type().clone(), true);
        natural_value(&a, &f, 0).unwrap().unwrap()
    }

    #[test]
    fn natural_mapping_is_exact() {
        assert_eq!(one(Arc::new(StringArray::from(vec!["x"]))), AttrValue::S("x".into()));
        assert_eq!(one(Arc::new(Int64Array::from(vec![-7]))), AttrValue::N(Number::parse("-7").unwrap()));
        let d = Decimal128Array::from(vec![123456789012345678901234567890123456i128]).with_precision_and_scale(38, 4).unwrap();
        assert_eq!(one(Arc::new(d)), AttrValue::N(Number::parse("12345678901234567890123456789012.3456").unwrap()));
        assert_eq!(one(Arc::new(Float64Array::from(vec![0.1]))), AttrValue::N(Number::parse("0.1").unwrap()));
        assert_eq!(one(Arc::new(Float64Array::from(vec![-39.98]))), AttrValue::N(Number::parse("-39.98").unwrap()));
        assert_eq!(one(Arc::new(Float64Array::from(vec![1e20]))), AttrValue::N(Number::parse("1e20").unwrap()));
        let nan: ArrayRef = Arc::new(Float64Array::from(vec![f64::NAN]));
        assert!(natural_value(&nan, &Field::new("x", DataType::Float64, true), 0).is_err());
        // Rounding errors and integers past 2^53 are not written.
        for bad in [0.1 + 0.2, 12345678901234567890123.0, 9007199254740993.0 * 3.0] {
            let a: ArrayRef = Arc::new(Float64Array::from(vec![bad]));
            let e = natural_value(&a, &Field::new("x", DataType::Float64, true), 0).unwrap_err();
            assert!(e.contains("not an exact decimal") && e.contains("ddb_number"), "{bad}: {e}");
        }
        let null: ArrayRef = Arc::new(StringArray::from(vec![None::<&str>]));
        assert_eq!(natural_value(&null, &Field::new("x", DataType::Utf8, true), 0).unwrap(), None);
    }
}
