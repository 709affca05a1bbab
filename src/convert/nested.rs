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
use super::schema::{Kind, TYPES_COLUMN};
use super::shape::field_kind;
use super::stats::NumKind;
use super::to_arrow::tag_names;
use crate::item::{AttrValue, DdbType};

/// The array of type `dt` (of `kind`, a struct or list) for `values`, one
/// per row; None is a null row (the attribute missing, NULL or of another
/// type: the row's tag says which).
pub fn build(kind: Kind, dt: &DataType, values: &[Option<&AttrValue>]) -> R<ArrayRef> {
    match (kind, dt) {
        (Kind::Struct, DataType::Struct(fields)) => build_struct(fields, values),
        (Kind::List, DataType::List(item)) => build_list(item, values),
        _ => Err(format!("{} is not the Arrow type of a {} column", dt, kind.name())),
    }
}

fn build_struct(fields: &arrow::datatypes::Fields, values: &[Option<&AttrValue>]) -> R<ArrayRef> {
    let (tag_field, value_fields) = fields.split_last().ok_or("a struct with no fields")?;
    let maps: Vec<Option<&std::collections::BTreeMap<String, AttrValue>>> = values
        .iter()
        .map(|v| match v {
            Some(AttrValue::M(m)) => Ok(Some(m)),
            None => Ok(None),
            Some(other) => Err(format!("a {} where the column holds maps", other.ddb_type().name())),
        })
        .collect::<R<_>>()?;
    // Every field of every map must be one of the struct's.
    for m in maps.iter().flatten() {
        if let Some(k) = m.keys().find(|k| value_fields.binary_search_by(|f| f.name().as_str().cmp(k.as_str())).is_err()) {
            return Err(format!("the map field {k:?} is not in the column's struct type"));
        }
    }
    let names = tag_names();
    let mut children = Vec::with_capacity(fields.len());
    let mut tags = Vec::with_capacity(value_fields.len());
    for f in value_fields {
        let at: Vec<Option<&AttrValue>> = maps.iter().map(|m| m.and_then(|m| m.get(f.name()))).collect();
        let keys: Int8Array = at.iter().map(|v| v.map(|v| v.ddb_type() as i8)).collect();
        tags.push(Arc::new(DictionaryArray::<Int8Type>::try_new(keys, names.clone()).map_err(|e| e.to_string())?) as ArrayRef);
        let present: Vec<Option<&AttrValue>> = at.into_iter().map(|v| v.filter(|v| !matches!(v, AttrValue::Null))).collect();
        children.push(build_place(f, &present).map_err(|e| format!("field {:?}: {e}", f.name()))?);
    }
    let DataType::Struct(tag_fields) = tag_field.data_type() else { return Err("no _ddb tags in the struct type".into()) };
    children.push(Arc::new(StructArray::try_new(tag_fields.clone(), tags, None).map_err(|e| e.to_string())?));
    let nulls = NullBuffer::from_iter(maps.iter().map(Option::is_some));
    Ok(Arc::new(StructArray::try_new(fields.clone(), children, Some(nulls)).map_err(|e| e.to_string())?))
}

fn build_list(item: &FieldRef, values: &[Option<&AttrValue>]) -> R<ArrayRef> {
    let mut lengths = Vec::with_capacity(values.len());
    let mut elements = Vec::new();
    for v in values {
        match v {
            Some(AttrValue::L(l)) => {
                lengths.push(l.len());
                elements.extend(l.iter().map(|x| (!matches!(x, AttrValue::Null)).then_some(x)));
            }
            None => lengths.push(0),
            Some(other) => return Err(format!("a {} where the column holds lists", other.ddb_type().name())),
        }
    }
    let child = build_place(item, &elements).map_err(|e| format!("list element: {e}"))?;
    let nulls = NullBuffer::from_iter(values.iter().map(Option::is_some));
    let offsets = OffsetBuffer::<i32>::from_lengths(lengths);
    Ok(Arc::new(ListArray::try_new(item.clone(), offsets, child, Some(nulls)).map_err(|e| e.to_string())?))
}

/// The child array of field `f` for the values at its place.
fn build_place(f: &Field, values: &[Option<&AttrValue>]) -> R<ArrayRef> {
    let kind = field_kind(f).ok_or_else(|| format!("field {:?} carries no ddbsnap kind", f.name()))?;
    let wrong = |v: &AttrValue| format!("a {} where the field holds {}", v.ddb_type().name(), kind.name());
    macro_rules! scalar {
        ($builder:expr, $pat:pat => $append:expr) => {{
            let mut b = $builder;
            for v in values {
                match v {
                    None => b.append_null(),
                    Some($pat) => $append(&mut b)?,
                    Some(other) => return Err(wrong(other)),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    Ok(match kind {
        Kind::Struct | Kind::List => build(kind, f.data_type(), values)?,
        Kind::Str => scalar!(StringBuilder::new(), AttrValue::S(s) => |b: &mut StringBuilder| -> R<()> { b.append_value(s); Ok(()) }),
        Kind::Binary => scalar!(BinaryBuilder::new(), AttrValue::B(x) => |b: &mut BinaryBuilder| -> R<()> { b.append_value(x); Ok(()) }),
        Kind::Bool => {
            scalar!(BooleanBuilder::new(), AttrValue::Bool(x) => |b: &mut BooleanBuilder| -> R<()> { b.append_value(*x); Ok(()) })
        }
        Kind::Num(NumKind::Int64) => scalar!(Int64Builder::new(), AttrValue::N(n) => |b: &mut Int64Builder| -> R<()> {
            b.append_value(n.to_i64().ok_or_else(|| format!("{n} is not a 64-bit integer"))?);
            Ok(())
        }),
        Kind::Num(NumKind::Decimal(s)) => scalar!(Decimal128Builder::new().with_precision_and_scale(38, s).map_err(|e| e.to_string())?,
        AttrValue::N(n) => |b: &mut Decimal128Builder| -> R<()> {
            b.append_value(n.to_i128_scaled(s as i32).ok_or_else(|| format!("{n} does not fit scale {s}"))?);
            Ok(())
        }),
        Kind::Num(NumKind::Text) => {
            scalar!(StringBuilder::new(), AttrValue::N(n) => |b: &mut StringBuilder| -> R<()> { b.append_value(n.to_string()); Ok(()) })
        }
        Kind::StrSet | Kind::NumSet(_) | Kind::BinSet => build_set(f, kind, values)?,
        Kind::Empty => match values.iter().flatten().next() {
            Some(v) => return Err(wrong(v)),
            None => new_null_array(f.data_type(), values.len()),
        },
        Kind::Json | Kind::Mixed => return Err(format!("field {:?}: a {} field inside a struct", f.name(), kind.name())),
    })
}

fn build_set(f: &Field, kind: Kind, values: &[Option<&AttrValue>]) -> R<ArrayRef> {
    let DataType::List(member) = f.data_type() else { return Err("a set that is not a list".into()) };
    macro_rules! set {
        ($builder:expr, $variant:ident, $append:expr) => {{
            let mut b = ListBuilder::new($builder).with_field(member.clone());
            for v in values {
                match v {
                    None => b.append(false),
                    Some(AttrValue::$variant(members)) => {
                        for m in members {
                            $append(b.values(), m)?;
                        }
                        b.append(true);
                    }
                    Some(other) => return Err(format!("a {} where the field holds {}", other.ddb_type().name(), kind.name())),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    Ok(match kind {
        Kind::StrSet => set!(StringBuilder::new(), Ss, |b: &mut StringBuilder, m: &String| -> R<()> {
            b.append_value(m);
            Ok(())
        }),
        Kind::BinSet => set!(BinaryBuilder::new(), Bs, |b: &mut BinaryBuilder, m: &Vec<u8>| -> R<()> {
            b.append_value(m);
            Ok(())
        }),
        Kind::NumSet(NumKind::Int64) => set!(Int64Builder::new(), Ns, |b: &mut Int64Builder, m: &crate::item::Number| -> R<()> {
            b.append_value(m.to_i64().ok_or_else(|| format!("{m} is not a 64-bit integer"))?);
            Ok(())
        }),
        Kind::NumSet(NumKind::Decimal(s)) => {
            set!(Decimal128Builder::new().with_precision_and_scale(38, s).map_err(|e| e.to_string())?, Ns, |b: &mut Decimal128Builder,
                                                                                                            m: &crate::item::Number|
             -> R<()> {
                b.append_value(m.to_i128_scaled(s as i32).ok_or_else(|| format!("{m} does not fit scale {s}"))?);
                Ok(())
            })
        }
        Kind::NumSet(NumKind::Text) => set!(StringBuilder::new(), Ns, |b: &mut StringBuilder, m: &crate::item::Number| -> R<()> {
            b.append_value(m.to_string());
            Ok(())
        }),
        _ => unreachable!("build_set is called for sets"),
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
    let kind = field_kind(f).ok_or_else(|| format!("field {:?} carries no ddbsnap kind", f.name()))?;
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
fn value_type(f: &Field) -> R<DdbType> {
    Ok(match field_kind(f).ok_or_else(|| format!("field {:?} carries no ddbsnap kind", f.name()))? {
        Kind::Str => DdbType::S,
        Kind::Num(_) => DdbType::N,
        Kind::Binary => DdbType::B,
        Kind::Bool => DdbType::Bool,
        Kind::Struct => DdbType::M,
        Kind::List => DdbType::L,
        Kind::StrSet => DdbType::Ss,
        Kind::NumSet(_) => DdbType::Ns,
        Kind::BinSet => DdbType::Bs,
        // Only NULLs were seen there.
        Kind::Empty => DdbType::Null,
        Kind::Json | Kind::Mixed => {
            return Err(format!("field {:?}: a {} field inside a struct", f.name(), field_kind(f).map(|k| k.name()).unwrap_or_default()));
        }
    })
}
