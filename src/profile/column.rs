//! Reading one value column of a batch, typed once per batch: each row's
//! value is measured straight from the Arrow buffers (strings borrowed,
//! integers formatted on the stack), never turned into an item.

use arrow::array::{Array, ArrayRef, BinaryArray, BooleanArray, Decimal128Array, Int64Array, ListArray, StringArray};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::nested;
use super::value::{self, Measured};
use crate::convert::Kind;
use crate::convert::stats::NumKind;
use crate::item::{DdbType, Number};

/// A column's values, downcast for its kind.
pub enum Values<'a> {
    Str(&'a StringArray),
    Binary(&'a BinaryArray),
    Bool(&'a BooleanArray),
    Int(&'a Int64Array),
    Decimal(&'a Decimal128Array, i8),
    NumText(&'a StringArray),
    Json(&'a StringArray),
    /// A struct or list column: each value is read exactly, then measured as
    /// its DynamoDB JSON.
    Nested(&'a ArrayRef, Kind),
    Set(&'a ListArray, Members<'a>),
    Mixed(&'a StringArray),
    Empty,
}

/// The member array of a set column.
pub enum Members<'a> {
    Str(&'a StringArray),
    Binary(&'a BinaryArray),
    Int(&'a Int64Array),
    Decimal(&'a Decimal128Array, i8),
    NumText(&'a StringArray),
}

fn cast<T: 'static>(a: &dyn Array) -> Result<&T, String> {
    a.as_any().downcast_ref::<T>().ok_or_else(|| format!("unexpected Arrow type {}", a.data_type()))
}

impl<'a> Values<'a> {
    pub fn new(kind: Kind, array: &'a ArrayRef) -> Result<Values<'a>, String> {
        let a = array.as_ref();
        Ok(match kind {
            Kind::Str => Values::Str(cast(a)?),
            Kind::Binary => Values::Binary(cast(a)?),
            Kind::Bool => Values::Bool(cast(a)?),
            Kind::Num(NumKind::Int64) => Values::Int(cast(a)?),
            Kind::Num(NumKind::Decimal(s)) => Values::Decimal(cast(a)?, s),
            Kind::Num(NumKind::Text) => Values::NumText(cast(a)?),
            Kind::Json => Values::Json(cast(a)?),
            Kind::Struct | Kind::List => Values::Nested(array, kind),
            Kind::Mixed => Values::Mixed(cast(a)?),
            Kind::Empty => Values::Empty,
            Kind::StrSet | Kind::BinSet | Kind::NumSet(_) => {
                let list: &ListArray = cast(a)?;
                let m = list.values().as_ref();
                let members = match kind {
                    Kind::StrSet => Members::Str(cast(m)?),
                    Kind::BinSet => Members::Binary(cast(m)?),
                    Kind::NumSet(NumKind::Int64) => Members::Int(cast(m)?),
                    Kind::NumSet(NumKind::Decimal(s)) => Members::Decimal(cast(m)?, s),
                    _ => Members::NumText(cast(m)?),
                };
                Values::Set(list, members)
            }
        })
    }

    /// The value in `row`, whose type tag is `ty` (not NULL).
    pub fn measure(&self, row: usize, ty: DdbType, scratch: &mut String) -> Result<Measured, String> {
        Ok(match self {
            Values::Str(a) => value::string(a.value(row)),
            Values::Binary(a) => value::binary(a.value(row)),
            Values::Bool(a) => value::boolean(a.value(row)),
            Values::Int(a) => value::int(a.value(row)),
            Values::Decimal(a, s) => decimal(a.value(row), *s, scratch)?,
            Values::NumText(a) => parsed(a.value(row), scratch)?,
            Values::Json(a) => nested::measure(a.value(row))?,
            Values::Nested(a, kind) => {
                let v = crate::convert::nested::read(a, *kind, row)?;
                nested::measure(&crate::item::ddbjson::value_to_string(&v))?
            }
            Values::Set(list, members) => set(list, members, row, ty, scratch)?,
            Values::Mixed(a) => mixed(a.value(row), ty, scratch)?,
            Values::Empty => return Err(format!("type tag {} in a column without values", ty.name())),
        })
    }

    /// The text written for a top value: S as is, N canonical, BOOL
    /// `true`/`false`; None for the other types.
    pub fn text(&self, row: usize, ty: DdbType) -> Option<String> {
        let mut scratch = String::new();
        match (self, ty) {
            (Values::Str(a), _) => Some(a.value(row).to_string()),
            (Values::Bool(a), _) => Some(a.value(row).to_string()),
            (Values::Int(a), _) => Some(a.value(row).to_string()),
            (Values::Decimal(a, s), _) => decimal(a.value(row), *s, &mut scratch).ok().map(|_| scratch),
            (Values::NumText(a), _) | (Values::Mixed(a), DdbType::N) => parsed(a.value(row), &mut scratch).ok().map(|_| scratch),
            (Values::Mixed(a), DdbType::S | DdbType::Bool) => Some(a.value(row).to_string()),
            _ => None,
        }
    }
}

fn decimal(v: i128, scale: i8, scratch: &mut String) -> Result<Measured, String> {
    let n = Number::from_i128_scaled(v, scale as i32).map_err(|e| e.to_string())?;
    Ok(value::number(&n, scratch))
}

fn parsed(text: &str, scratch: &mut String) -> Result<Measured, String> {
    let n = Number::parse(text).map_err(|e| e.to_string())?;
    Ok(value::number(&n, scratch))
}

/// A value of a column of several types, held as text (see [`crate::convert::schema`]).
fn mixed(text: &str, ty: DdbType, scratch: &mut String) -> Result<Measured, String> {
    Ok(match ty {
        DdbType::S => value::string(text),
        DdbType::N => parsed(text, scratch)?,
        DdbType::B => value::binary(&B64.decode(text).map_err(|e| format!("invalid base64: {e}"))?),
        DdbType::Bool => value::boolean(text == "true"),
        _ => nested::measure(text)?,
    })
}

fn set(list: &ListArray, members: &Members, row: usize, ty: DdbType, scratch: &mut String) -> Result<Measured, String> {
    let offsets = list.value_offsets();
    let range = offsets[row] as usize..offsets[row + 1] as usize;
    let mut measured = Vec::with_capacity(range.len());
    for i in range {
        measured.push(match members {
            Members::Str(a) => value::string(a.value(i)),
            Members::Binary(a) => value::binary(a.value(i)),
            Members::Int(a) => value::int(a.value(i)),
            Members::Decimal(a, s) => decimal(a.value(i), *s, scratch)?,
            Members::NumText(a) => parsed(a.value(i), scratch)?,
        });
    }
    Ok(value::set(ty, measured.into_iter()))
}
