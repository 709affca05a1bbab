//! Maps and lists to Arrow structs and lists, and back, exactly.
//!
//! The types come from [`super::shape`]. Building is columnar: the values at
//! one place (a struct's field, a list's elements) are gathered across the
//! rows and built as one child array, recursively. A value that does not fit
//! the type (a field the struct lacks, a value of another type) is an error,
//! never dropped: the type was chosen from every value, so it means the
//! statistics and the data disagree.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, Decimal128Builder, DictionaryArray, Int8Array, Int64Builder, ListArray,
    ListBuilder, StringBuilder, StructArray, new_null_array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, FieldRef, Int8Type};

use super::from_arrow::{ColumnReader, R, tag_names as dictionary_types};
use super::packed::Packed;
use super::schema::field_kind;
use super::schema::{Kind, TYPES_COLUMN};
use super::stats::NumKind;
use super::to_arrow::{scaled, tag_names};
use crate::item::{AttrValue, DdbType};

/// The array of type `dt` (of `kind`, a struct or list) for `values`, one
/// packed value per row ([`super::packed`]); None is a null row (the
/// attribute missing, NULL or of another type: the row's tag says which).
pub fn build(kind: Kind, dt: &DataType, values: &[Option<Packed<'_>>]) -> R<ArrayRef> {
    match (kind, dt) {
        (Kind::Struct, DataType::Struct(fields)) => build_struct(fields, values),
        (Kind::List, DataType::List(item)) => build_list(item, values),
        _ => Err(format!("{} is not the Arrow type of a {} column", dt, kind.name())),
    }
}

fn wrong(v: &Packed<'_>, holds: &str) -> String {
    format!("a {} where the column holds {holds}", v.ty.name())
}

fn build_struct(fields: &arrow::datatypes::Fields, values: &[Option<Packed<'_>>]) -> R<ArrayRef> {
    let (tag_field, value_fields) = fields.split_last().ok_or("a struct with no fields")?;
    let rows = values.len();
    // Each field's value in each row: map keys and struct fields are both
    // in key order, so one walk pairs them.
    let mut at: Vec<Vec<Option<Packed<'_>>>> = vec![vec![None; rows]; value_fields.len()];
    for (row, v) in values.iter().enumerate() {
        let Some(v) = v else { continue };
        if v.ty != DdbType::M {
            return Err(wrong(v, "maps"));
        }
        let mut j = 0;
        for e in v.entries() {
            let (key, x) = e?;
            while j < value_fields.len() && value_fields[j].name().as_str() < key {
                j += 1;
            }
            if j == value_fields.len() || value_fields[j].name() != key {
                return Err(format!("the map field {key:?} is not in the column's struct type"));
            }
            at[j][row] = Some(x);
        }
    }
    let names = tag_names();
    let mut children = Vec::with_capacity(fields.len());
    let mut tags = Vec::with_capacity(value_fields.len());
    for (f, at) in value_fields.iter().zip(at.iter_mut()) {
        let keys: Int8Array = at.iter().map(|v| v.map(|v| v.ty as i8)).collect();
        tags.push(Arc::new(DictionaryArray::<Int8Type>::try_new(keys, names.clone()).map_err(|e| e.to_string())?) as ArrayRef);
        at.iter_mut().for_each(|v| *v = v.filter(|v| v.ty != DdbType::Null));
        children.push(build_place(f, at).map_err(|e| format!("field {:?}: {e}", f.name()))?);
    }
    let DataType::Struct(tag_fields) = tag_field.data_type() else { return Err("no _ddb tags in the struct type".into()) };
    children.push(Arc::new(StructArray::try_new(tag_fields.clone(), tags, None).map_err(|e| e.to_string())?));
    let nulls = NullBuffer::from_iter(values.iter().map(Option::is_some));
    Ok(Arc::new(StructArray::try_new(fields.clone(), children, Some(nulls)).map_err(|e| e.to_string())?))
}

fn build_list(item: &FieldRef, values: &[Option<Packed<'_>>]) -> R<ArrayRef> {
    let mut lengths = Vec::with_capacity(values.len());
    let mut elements = Vec::new();
    for v in values {
        match v {
            Some(v) if v.ty == DdbType::L => {
                let before = elements.len();
                for x in v.elements() {
                    let x = x?;
                    elements.push((x.ty != DdbType::Null).then_some(x));
                }
                lengths.push(elements.len() - before);
            }
            None => lengths.push(0),
            Some(other) => return Err(wrong(other, "lists")),
        }
    }
    let child = build_place(item, &elements).map_err(|e| format!("list element: {e}"))?;
    let nulls = NullBuffer::from_iter(values.iter().map(Option::is_some));
    let offsets = OffsetBuffer::<i32>::from_lengths(lengths);
    Ok(Arc::new(ListArray::try_new(item.clone(), offsets, child, Some(nulls)).map_err(|e| e.to_string())?))
}

/// The child array of field `f` for the values at its place.
fn build_place(f: &Field, values: &[Option<Packed<'_>>]) -> R<ArrayRef> {
    let kind = kind_of(f)?;
    let holds = kind.name();
    macro_rules! scalar {
        ($builder:expr, $ty:expr, $append:expr) => {{
            let mut b = $builder;
            for v in values {
                match v {
                    None => b.append_null(),
                    Some(v) if v.ty == $ty => $append(&mut b, v)?,
                    Some(other) => return Err(wrong(other, &holds)),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    Ok(match kind {
        Kind::Struct | Kind::List => build(kind, f.data_type(), values)?,
        Kind::Str => scalar!(StringBuilder::new(), DdbType::S, |b: &mut StringBuilder, v: &Packed<'_>| -> R<()> {
            b.append_value(v.str()?);
            Ok(())
        }),
        Kind::Binary => scalar!(BinaryBuilder::new(), DdbType::B, |b: &mut BinaryBuilder, v: &Packed<'_>| -> R<()> {
            b.append_value(v.payload);
            Ok(())
        }),
        Kind::Bool => scalar!(BooleanBuilder::new(), DdbType::Bool, |b: &mut BooleanBuilder, v: &Packed<'_>| -> R<()> {
            b.append_value(v.payload == [1]);
            Ok(())
        }),
        Kind::Num(NumKind::Int64) => scalar!(Int64Builder::new(), DdbType::N, |b: &mut Int64Builder, v: &Packed<'_>| -> R<()> {
            b.append_value(v.str()?.parse::<i64>().map_err(|e| format!("{}: {e}", v.str().unwrap_or_default()))?);
            Ok(())
        }),
        Kind::Num(NumKind::Decimal(s)) => scalar!(
            Decimal128Builder::new().with_precision_and_scale(38, s).map_err(|e| e.to_string())?,
            DdbType::N,
            |b: &mut Decimal128Builder, v: &Packed<'_>| -> R<()> {
                b.append_value(scaled(v.str()?, s).map_err(|e| e.to_string())?);
                Ok(())
            }
        ),
        Kind::Num(NumKind::Text) => scalar!(StringBuilder::new(), DdbType::N, |b: &mut StringBuilder, v: &Packed<'_>| -> R<()> {
            b.append_value(v.str()?);
            Ok(())
        }),
        Kind::StrSet | Kind::NumSet(_) | Kind::BinSet => set_array(f.data_type(), kind, values)?,
        Kind::Empty => match values.iter().flatten().next() {
            Some(v) => return Err(wrong(v, &holds)),
            None => new_null_array(f.data_type(), values.len()),
        },
        Kind::Json | Kind::Mixed => return Err(format!("field {:?}: a {} field inside a struct", f.name(), kind.name())),
    })
}

/// A set column (or field) of type `dt` from packed sets.
pub fn set_array(dt: &DataType, kind: Kind, values: &[Option<Packed<'_>>]) -> R<ArrayRef> {
    let DataType::List(member) = dt else { return Err("a set that is not a list".into()) };
    let want = kind.value_type().ok_or_else(|| format!("{} is not a set kind", kind.name()))?;
    macro_rules! set {
        ($builder:expr, $append:expr) => {{
            let mut b = ListBuilder::new($builder).with_field(member.clone());
            for v in values {
                match v {
                    None => b.append(false),
                    Some(v) if v.ty == want => {
                        for m in v.elements() {
                            $append(b.values(), m?)?;
                        }
                        b.append(true);
                    }
                    Some(other) => return Err(wrong(other, &kind.name())),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    Ok(match kind {
        Kind::StrSet => set!(StringBuilder::new(), |b: &mut StringBuilder, m: Packed<'_>| -> R<()> {
            b.append_value(m.str()?);
            Ok(())
        }),
        Kind::BinSet => set!(BinaryBuilder::new(), |b: &mut BinaryBuilder, m: Packed<'_>| -> R<()> {
            b.append_value(m.payload);
            Ok(())
        }),
        Kind::NumSet(NumKind::Int64) => set!(Int64Builder::new(), |b: &mut Int64Builder, m: Packed<'_>| -> R<()> {
            b.append_value(m.str()?.parse::<i64>().map_err(|e| e.to_string())?);
            Ok(())
        }),
        Kind::NumSet(NumKind::Decimal(s)) => {
            set!(Decimal128Builder::new().with_precision_and_scale(38, s).map_err(|e| e.to_string())?, |b: &mut Decimal128Builder,
                                                                                                        m: Packed<'_>|
             -> R<()> {
                b.append_value(scaled(m.str()?, s).map_err(|e| e.to_string())?);
                Ok(())
            })
        }
        Kind::NumSet(NumKind::Text) => set!(StringBuilder::new(), |b: &mut StringBuilder, m: Packed<'_>| -> R<()> {
            b.append_value(m.str()?);
            Ok(())
        }),
        _ => return Err(format!("{} is not a set kind", kind.name())),
    })
}

/// The map or list in `row` of a struct or list array ddbsnap built (not
/// null there).
pub fn read(array: &ArrayRef, kind: Kind, row: usize) -> R<AttrValue> {
    match kind {
        Kind::Struct => read_struct(array.as_struct_opt().ok_or("a map column that is not a struct")?, row),
        Kind::List => {
            let list = array.as_list_opt::<i32>().ok_or("a list column that is not a list")?;
            let DataType::List(item) = list.data_type() else { unreachable!("a ListArray has a list type") };
            let elements = list.value(row);
            let t = value_type(item)?;
            (0..elements.len())
                .map(|i| if elements.is_null(i) { Ok(AttrValue::Null) } else { read_place(&elements, item, i, t) })
                .collect::<R<_>>()
                .map(AttrValue::L)
        }
        other => Err(format!("{} is not a map or list kind", other.name())),
    }
}

fn read_struct(s: &StructArray, row: usize) -> R<AttrValue> {
    let DataType::Struct(fields) = s.data_type() else { unreachable!("a StructArray has a struct type") };
    let tags = s.column_by_name(TYPES_COLUMN).and_then(|c| c.as_struct_opt()).ok_or("a map struct without its _ddb tags")?;
    let mut m = std::collections::BTreeMap::new();
    for (f, child) in fields.iter().zip(s.columns()).filter(|(f, _)| f.name() != TYPES_COLUMN) {
        let tag = tags
            .column_by_name(f.name())
            .and_then(|c| c.as_any().downcast_ref::<DictionaryArray<Int8Type>>())
            .ok_or_else(|| format!("no type tags for field {:?}", f.name()))?;
        if tag.is_null(row) {
            continue;
        }
        let t = dictionary_types(tag)?.get(tag.keys().value(row) as usize).copied().flatten().ok_or("bad type tag")?;
        let v = if t == DdbType::Null { AttrValue::Null } else { read_place(child, f, row, t)? };
        m.insert(f.name().clone(), v);
    }
    Ok(AttrValue::M(m))
}

/// The value at `row` of child `array` (of field `f`), whose type is `t`.
fn read_place(array: &ArrayRef, f: &Field, row: usize, t: DdbType) -> R<AttrValue> {
    let kind = kind_of(f)?;
    if value_type(f)? != t {
        return Err(format!("field {:?}: tag says {} but the field holds {}", f.name(), t.name(), kind.name()));
    }
    if array.is_null(row) {
        return Err(format!("field {:?}: tag says {} but the value is missing", f.name(), t.name()));
    }
    match kind {
        Kind::Struct | Kind::List => read(array, kind, row),
        _ => ColumnReader { kind, values: array }.value(row, t),
    }
}

/// The one DynamoDB type a field's values have.
/// The kind field `f` records.
fn kind_of(f: &Field) -> R<Kind> {
    field_kind(f).ok_or_else(|| format!("field {:?} carries no ddbsnap kind", f.name()))
}

fn value_type(f: &Field) -> R<DdbType> {
    let kind = kind_of(f)?;
    kind.value_type().ok_or_else(|| format!("field {:?}: a {} field inside a struct", f.name(), kind.name()))
}
