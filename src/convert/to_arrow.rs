//! Raw batches to typed Arrow record batches.
//!
//! Strings, binary, JSON and number text are moved into Arrow buffers as they
//! are (the raw layout already is Arrow's offsets-plus-bytes), so only numbers
//! and sets are parsed here.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Decimal128Builder, DictionaryArray, Int8Array, Int64Builder, StringArray, StringBuilder,
    StructArray, new_null_array,
};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::Int8Type;
use arrow::record_batch::RecordBatch;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::packed;
use super::raw::{MISSING, RawBatch, RawColumn};
use super::schema::{ColumnSpec, Kind, TableSchema};
use super::stats::NumKind;
use crate::error::{Error, Result};
use crate::item::{DdbType, Number};

/// Converts one raw batch to the table's final schema.
pub fn to_record_batch(raw: &RawBatch, schema: &TableSchema) -> Result<RecordBatch> {
    into_record_batch(raw.clone(), schema)
}

/// Converts one raw batch, moving its text and binary buffers into Arrow
/// rather than copying them.
pub fn into_record_batch(mut raw: RawBatch, schema: &TableSchema) -> Result<RecordBatch> {
    let by_name: std::collections::HashMap<String, usize> = raw.columns.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)).collect();
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(schema.columns.len() + 1);
    let mut tag_arrays: Vec<ArrayRef> = Vec::with_capacity(schema.columns.len());
    let names = tag_names();
    for spec in &schema.columns {
        match by_name.get(spec.name.as_str()).map(|&i| &mut raw.columns[i].1) {
            None => {
                arrays.push(new_null_array(&spec.data_type, raw.rows));
                tag_arrays.push(Arc::new(DictionaryArray::<Int8Type>::try_new(Int8Array::new_null(raw.rows), names.clone())?));
            }
            Some(col) => {
                let (values, tags) =
                    column_arrays(spec, col, &names).map_err(|e| Error::Invalid(format!("column {:?}: {e}", spec.name)))?;
                arrays.push(values);
                tag_arrays.push(tags);
            }
        }
    }
    let tag_fields = match schema.arrow.field(schema.columns.len()).data_type() {
        arrow::datatypes::DataType::Struct(f) => f.clone(),
        _ => unreachable!("TableSchema always ends with the _ddb struct"),
    };
    let tags = if tag_fields.is_empty() {
        StructArray::new_empty_fields(raw.rows, None)
    } else {
        StructArray::try_new(tag_fields, tag_arrays, None)?
    };
    arrays.push(Arc::new(tags));
    Ok(RecordBatch::try_new(schema.arrow.clone(), arrays)?)
}

/// One raw column as its Arrow value array of `spec`'s type and its `_ddb`
/// tag array (over `names`, from [`tag_names`]); the column's bytes are moved.
pub fn column_arrays(spec: &ColumnSpec, col: &mut RawColumn, names: &ArrayRef) -> Result<(ArrayRef, ArrayRef)> {
    let values = match spec.kind {
        Kind::Struct | Kind::List => build_nested(spec, col)?,
        kind => build(kind, col)?,
    };
    let keys: Int8Array = col.tags.iter().map(|&t| if t == MISSING { None } else { Some(t as i8 - 1) }).collect();
    Ok((values, Arc::new(DictionaryArray::<Int8Type>::try_new(keys, names.clone())?)))
}

/// The dictionary of type names shared by every `_ddb` tag column.
pub fn tag_names() -> ArrayRef {
    Arc::new(StringArray::from_iter_values(DdbType::ALL.iter().map(|t| t.name())))
}

fn is(col: &RawColumn, i: usize, t: DdbType) -> bool {
    col.tags[i] == t as u8 + 1
}

/// The column's offsets, moved (not copied) into Arrow's: a u32 at most
/// `i32::MAX` has the bytes of the same i32.
fn offsets_i32(col: &mut RawColumn) -> Result<OffsetBuffer<i32>> {
    if col.data.len() > i32::MAX as usize {
        return Err(Error::Invalid("more than 2 GiB of values in one batch".into()));
    }
    let offsets = std::mem::take(&mut col.offsets);
    let len = offsets.len();
    Ok(OffsetBuffer::new(ScalarBuffer::<i32>::new(Buffer::from_vec(offsets), 0, len)))
}

/// Valid where the tag is one of `types`.
fn validity(col: &RawColumn, types: &[DdbType]) -> NullBuffer {
    NullBuffer::from_iter(col.tags.iter().map(|&t| t != MISSING && types.iter().any(|x| *x as u8 + 1 == t)))
}

fn text(col: &RawColumn, i: usize) -> Result<&str> {
    std::str::from_utf8(col.bytes(i)).map_err(|e| Error::Invalid(e.to_string()))
}

fn build(kind: Kind, col: &mut RawColumn) -> Result<ArrayRef> {
    use DdbType as T;
    let n = col.len();
    Ok(match kind {
        Kind::Json => {
            let mut b = StringBuilder::with_capacity(n, col.data.len() * 2);
            let mut text = String::new();
            for i in 0..n {
                if is(col, i, T::M) || is(col, i, T::L) {
                    text.clear();
                    packed::write_json(col.bytes(i), &mut text).map_err(Error::Invalid)?;
                    b.append_value(&text);
                } else {
                    b.append_null();
                }
            }
            Arc::new(b.finish())
        }
        Kind::Str | Kind::Num(NumKind::Text) => {
            let valid = if kind == Kind::Str { validity(col, &[T::S]) } else { validity(col, &[T::N]) };
            let offsets = offsets_i32(col)?;
            Arc::new(StringArray::try_new(offsets, Buffer::from(std::mem::take(&mut col.data)), Some(valid))?)
        }
        Kind::Binary => {
            let (offsets, valid) = (offsets_i32(col)?, validity(col, &[T::B]));
            Arc::new(BinaryArray::try_new(offsets, Buffer::from(std::mem::take(&mut col.data)), Some(valid))?)
        }
        Kind::Bool => Arc::new((0..n).map(|i| is(col, i, T::Bool).then(|| col.bytes(i) == [1])).collect::<BooleanArray>()),
        Kind::Num(NumKind::Int64) => {
            let mut b = Int64Builder::with_capacity(n);
            for i in 0..n {
                if is(col, i, T::N) {
                    b.append_value(text(col, i)?.parse::<i64>().map_err(|e| Error::Invalid(e.to_string()))?);
                } else {
                    b.append_null();
                }
            }
            Arc::new(b.finish())
        }
        Kind::Num(NumKind::Decimal(scale)) => {
            let mut b = Decimal128Builder::with_capacity(n);
            for i in 0..n {
                if is(col, i, T::N) {
                    b.append_value(scaled(text(col, i)?, scale)?);
                } else {
                    b.append_null();
                }
            }
            Arc::new(b.finish().with_precision_and_scale(38, scale)?)
        }
        Kind::StrSet | Kind::NumSet(_) | Kind::BinSet => build_set(kind, col)?,
        Kind::Mixed => {
            let mut b = StringBuilder::with_capacity(n, col.data.len());
            let mut json = String::new();
            for i in 0..n {
                match DdbType::from_index(col.tags[i].wrapping_sub(1)) {
                    None | Some(T::Null) => b.append_null(),
                    Some(T::B) => b.append_value(B64.encode(col.bytes(i))),
                    Some(T::Bool) => b.append_value(if col.bytes(i) == [1] { "true" } else { "false" }),
                    Some(T::S | T::N) => b.append_value(text(col, i)?),
                    Some(_) => {
                        json.clear();
                        packed::write_json(col.bytes(i), &mut json).map_err(Error::Invalid)?;
                        b.append_value(&json);
                    }
                }
            }
            Arc::new(b.finish())
        }
        Kind::Empty => new_null_array(&kind.data_type(), n),
        Kind::Struct | Kind::List => unreachable!("maps and lists are built by build_nested"),
    })
}

/// A struct or list column from the packed values its raw column holds.
fn build_nested(spec: &ColumnSpec, col: &RawColumn) -> Result<ArrayRef> {
    let values = packed_rows(col, spec.kind)?;
    super::nested::build(spec.kind, &spec.data_type, &values).map_err(Error::Invalid)
}

/// A number's text as an integer scaled by `10^scale`: plain decimals
/// (the usual case) directly, anything else through [`Number`].
pub(crate) fn scaled(text: &str, scale: i8) -> Result<i128> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let plain = !int.is_empty()
        && int.len() + frac.len() <= 38
        && frac.len() <= scale as usize
        && int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit());
    if plain {
        let mut v: i128 = 0;
        for c in int.bytes().chain(frac.bytes()) {
            v = v * 10 + (c - b'0') as i128;
        }
        for _ in frac.len()..scale as usize {
            v = v.checked_mul(10).ok_or_else(|| Error::Invalid(format!("{text} does not fit scale {scale}")))?;
        }
        return Ok(if neg { -v } else { v });
    }
    let num = Number::parse(text).map_err(|e| Error::Invalid(e.to_string()))?;
    num.to_i128_scaled(scale as i32).ok_or_else(|| Error::Invalid(format!("{num} does not fit scale {scale}")))
}

fn build_set(kind: Kind, col: &RawColumn) -> Result<ArrayRef> {
    let values = packed_rows(col, kind)?;
    super::nested::set_array(&kind.data_type(), kind, &values).map_err(Error::Invalid)
}

/// The packed value of each row whose tag is the one type of `kind` (None
/// elsewhere).
fn packed_rows(col: &RawColumn, kind: Kind) -> Result<Vec<Option<packed::Packed<'_>>>> {
    let want = kind.value_type().ok_or_else(|| Error::Invalid(format!("{} columns hold several types", kind.name())))?;
    (0..col.len())
        .map(|i| if is(col, i, want) { packed::value(col.bytes(i)).map(Some).map_err(Error::Invalid) } else { Ok(None) })
        .collect()
}
