//! Functions that produce exact DynamoDB values in SQL, for transforms.
//!
//! SQL types say too little for DynamoDB: a text column cannot say whether it
//! holds a map, a list or a string, and SQL has no sets. These functions
//! return a one-field struct (`{ddb: <DynamoDB JSON>}`) that transforms pass
//! through and the planner reads back exactly (see
//! [`crate::convert::natural`]). A struct type, not metadata, marks them, so
//! the marking survives CASE, UNION and subqueries.
//!
//! - `ddb('{"NULL":true}')`: any value written as DynamoDB JSON;
//! - `ddb_number(text)`: an exact number from its text (an error when it is not one; test with `ddb_is_number` first);
//! - `ddb_attr(column)`: a table attribute exactly as it is in each item, whatever its types (a macro, as `ddb_type`);
//! - `ddb_text(column)`: a scalar attribute as text (S as is, N as its exact digits, BOOL as true/false).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, DictionaryArray, StringArray, StringBuilder, StructArray};
use arrow::datatypes::{DataType, Field, Fields, Int8Type};
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

use crate::convert::natural::{VALUE_FIELD, ValueColumn};
use crate::item::{AttrValue, Number, ddbjson};

/// The struct type that carries one exact DynamoDB value.
pub fn value_type() -> DataType {
    DataType::Struct(Fields::from(vec![Field::new(VALUE_FIELD, DataType::Utf8, true)]))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Which {
    /// `ddb(json)`
    Json,
    /// `ddb_number(text)`
    Number,
    /// `ddb_attr_value(column, tag)`, what `ddb_attr(column)` expands to
    Attr,
    /// `ddb_text_value(column, tag)`, what `ddb_text(column)` expands to
    Text,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TypedFn {
    which: Which,
    name: &'static str,
    signature: Signature,
}

pub fn all() -> Vec<ScalarUDF> {
    let text = |n| Signature::exact(vec![DataType::Utf8], n);
    vec![
        ScalarUDF::from(TypedFn { which: Which::Json, name: "ddb", signature: text(Volatility::Immutable) }),
        ScalarUDF::from(TypedFn { which: Which::Number, name: "ddb_number", signature: Signature::any(1, Volatility::Immutable) }),
        ScalarUDF::from(TypedFn { which: Which::Attr, name: "ddb_attr_value", signature: Signature::any(2, Volatility::Immutable) }),
        ScalarUDF::from(TypedFn { which: Which::Text, name: "ddb_text_value", signature: Signature::any(2, Volatility::Immutable) }),
    ]
}

impl ScalarUDFImpl for TypedFn {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(if self.which == Which::Text { DataType::Utf8 } else { value_type() })
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let rows = args.number_rows;
        // The batch position is not the transform's row number, so messages name the value instead.
        let err = |_row: usize, e: String| DataFusionError::Execution(format!("{}(): {e}", self.user_name()));
        let mut out = StringBuilder::new();
        match self.which {
            Which::Json => {
                let text = arrays[0].as_string::<i32>();
                for row in 0..rows {
                    out.append_option(text_at(text, row).map(canonical_json).transpose().map_err(|e| err(row, e))?);
                }
            }
            Which::Number => {
                let text = arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
                let text = text.as_string::<i32>();
                for row in 0..rows {
                    let v = text_at(text, row).map(|t| Number::parse(t).map_err(|e| format!("{t:?}: {e}"))).transpose();
                    out.append_option(v.map_err(|e| err(row, e))?.map(|n| ddbjson::value_to_string(&AttrValue::N(n))));
                }
            }
            Which::Attr | Which::Text => {
                let tags = match arrays[1].as_any().downcast_ref::<DictionaryArray<Int8Type>>() {
                    Some(t) => Some(t),
                    None if arrays[1].null_count() == arrays[1].len() => None,
                    None => return Err(err(0, format!("the second argument must be a _ddb type tag, not {}", arrays[1].data_type()))),
                };
                // Not a stored column (a computed value): its SQL type decides.
                let values = ValueColumn::new(&arrays[0], &args.arg_fields[0], tags).map_err(|e| err(0, e))?;
                for row in 0..rows {
                    let v = values.value(row).map_err(|e| err(row, e))?;
                    out.append_option(match (self.which, v) {
                        (_, None) => None,
                        (Which::Attr, Some(v)) => Some(ddbjson::value_to_string(&v)),
                        (_, Some(AttrValue::S(s))) => Some(s),
                        (_, Some(AttrValue::N(n))) => Some(n.to_string()),
                        (_, Some(AttrValue::Bool(b))) => Some(b.to_string()),
                        (_, Some(_)) => None,
                    });
                }
            }
        }
        let text: ArrayRef = Arc::new(out.finish());
        if self.which == Which::Text {
            return Ok(ColumnarValue::Array(text));
        }
        let nulls = text.logical_nulls();
        let DataType::Struct(fields) = value_type() else { unreachable!() };
        Ok(ColumnarValue::Array(Arc::new(StructArray::try_new(fields, vec![text], nulls)?)))
    }
}

impl TypedFn {
    /// The name users write (the macros expand to the `_value` functions).
    fn user_name(&self) -> &'static str {
        match self.which {
            Which::Attr => "ddb_attr",
            Which::Text => "ddb_text",
            _ => self.name,
        }
    }
}

fn text_at(a: &StringArray, row: usize) -> Option<&str> {
    (!a.is_null(row)).then(|| a.value(row))
}

fn canonical_json(text: &str) -> Result<String, String> {
    let v = ddbjson::value_from_str(text).map_err(|e| format!("{text:?} is not a DynamoDB JSON value such as {{\"S\":\"x\"}}: {e}"))?;
    Ok(ddbjson::value_to_string(&v))
}
