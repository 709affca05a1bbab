//! Scalar functions over nested DynamoDB values.
//!
//! Maps and lists are stored as Arrow structs and lists when they share one
//! shape, else as their DynamoDB JSON (exact). The functions that take a
//! value (`ddb_json`, `ddb_get`, `ddb_type_at`, `ddb_elements_in`) accept
//! both: a struct or list is read exactly (through its kinds and tags) and
//! handled as the same DynamoDB JSON, so a check file works whichever form
//! a table got. Invalid input yields NULL rather than an error, because they
//! run over mixed columns where only some rows hold nested values.
//!
//! - `ddb_json(v)`: plain JSON without the type wrappers, for people and tools;
//! - `ddb_get(v, 'a.b[0]')`: one nested value as text;
//! - `ddb_type_at(v, 'a.b[0]')`: the DynamoDB type of a nested value (NULL when absent);
//! - `ddb_elements_in(v, 'S,NULL')`: whether every element of a list has one of the types;
//! - `ddb_json_valid(text)`: whether a string parses as JSON (AWSJSON fields);
//! - `ddb_is_number(text)`: whether text is exactly a number DynamoDB accepts;
//! - `ddb_valid_awsdate(text)`, `ddb_valid_awstime`, `ddb_valid_awsdatetime`,
//!   `ddb_valid_awsipaddress`: whether text is a value AppSync accepts for
//!   that scalar (calendar, clock and octets checked, see [`scalars`]).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanBuilder, StringArray, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

use crate::checks::scalars;
use crate::item::{AttrValue, ddbjson};

/// What a function returns for one row.
enum Out {
    Text(Option<String>),
    Bool(Option<bool>),
}

/// A function of text arguments, row by row. One struct serves every
/// ddbsnap function: they differ only in name, arity and body, and the name
/// identifies the function (equality and hashing go by it).
#[derive(Debug)]
struct TextFn {
    name: &'static str,
    signature: Signature,
    returns: DataType,
    /// The first argument is a DynamoDB value: text, or a struct or list.
    value_arg: bool,
    arity: usize,
    body: fn(&[Option<&str>]) -> Out,
}

impl PartialEq for TextFn {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TextFn {}

impl std::hash::Hash for TextFn {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl TextFn {
    fn udf(name: &'static str, arity: usize, returns: DataType, body: fn(&[Option<&str>]) -> Out) -> ScalarUDF {
        let signature = Signature::exact(vec![DataType::Utf8; arity], Volatility::Immutable);
        ScalarUDF::from(TextFn { name, signature, returns, value_arg: false, arity, body })
    }

    /// A function whose first argument is a DynamoDB value (see the module).
    fn on_value(name: &'static str, arity: usize, returns: DataType, body: fn(&[Option<&str>]) -> Out) -> ScalarUDF {
        let signature = Signature::user_defined(Volatility::Immutable);
        ScalarUDF::from(TextFn { name, signature, returns, value_arg: true, arity, body })
    }
}

/// Whether `f` is a table column that by its kind holds no map or list (a
/// string, number, binary or boolean column).
fn holds_no_maps(f: &arrow::datatypes::Field) -> bool {
    use crate::convert::Kind;
    matches!(crate::convert::schema::field_kind(f), Some(Kind::Str | Kind::Num(_) | Kind::Binary | Kind::Bool | Kind::Empty))
}

fn is_nested(t: &DataType) -> bool {
    matches!(t, DataType::Struct(_) | DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..))
}

/// A struct or list argument as the DynamoDB JSON of each row's value.
fn as_ddb_json(values: &ArrayRef, field: &arrow::datatypes::Field) -> DfResult<ArrayRef> {
    let mut out = StringBuilder::new();
    let mut text = String::new();
    for row in 0..values.len() {
        match crate::convert::natural::natural_value(values, field, row) {
            Ok(Some(v)) => {
                text.clear();
                ddbjson::write_value(&mut text, &v);
                out.append_value(&text);
            }
            Ok(None) => out.append_null(),
            Err(e) => return Err(datafusion::error::DataFusionError::Execution(format!("reading {}: {e}", field.name()))),
        }
    }
    Ok(Arc::new(out.finish()))
}

impl ScalarUDFImpl for TextFn {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(self.returns.clone())
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        if arg_types.len() != self.arity {
            let (name, arity) = (self.name, self.arity);
            return Err(datafusion::error::DataFusionError::Plan(format!("{name}() takes {arity} arguments, {} given", arg_types.len())));
        }
        Ok(arg_types.iter().enumerate().map(|(i, t)| if i == 0 && is_nested(t) { t.clone() } else { DataType::Utf8 }).collect())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let mut arrays = ColumnarValue::values_to_arrays(&args.args)?;
        if self.value_arg && is_nested(arrays[0].data_type()) {
            arrays[0] = as_ddb_json(&arrays[0], &args.arg_fields[0])?;
        } else if self.value_arg && holds_no_maps(&args.arg_fields[0]) {
            // A string column's value is a string, even when its text is
            // DynamoDB JSON: it has no fields to get.
            arrays[0] = arrow::array::new_null_array(&DataType::Utf8, arrays[0].len());
        }
        let inputs: Vec<&StringArray> = arrays.iter().map(string_arg).collect::<DfResult<_>>()?;
        let rows = args.number_rows;
        let mut row_args: Vec<Option<&str>> = Vec::with_capacity(inputs.len());
        let mut text = StringBuilder::new();
        let mut flags = BooleanBuilder::new();
        for i in 0..rows {
            row_args.clear();
            row_args.extend(inputs.iter().map(|a| (!a.is_null(i)).then(|| a.value(i))));
            match (self.body)(&row_args) {
                Out::Text(v) => text.append_option(v),
                Out::Bool(v) => flags.append_option(v),
            }
        }
        let out: ArrayRef = if self.returns == DataType::Boolean { Arc::new(flags.finish()) } else { Arc::new(text.finish()) };
        Ok(ColumnarValue::Array(out))
    }
}

pub fn all() -> Vec<ScalarUDF> {
    vec![
        TextFn::on_value("ddb_json", 1, DataType::Utf8, |a| Out::Text(parse(a[0]).map(|v| plain(&v)))),
        TextFn::on_value("ddb_get", 2, DataType::Utf8, |a| {
            Out::Text(parse(a[0]).and_then(|v| a[1].and_then(|p| get_path(&v, p).and_then(as_text))))
        }),
        TextFn::on_value("ddb_type_at", 2, DataType::Utf8, |a| {
            Out::Text(parse(a[0]).and_then(|v| a[1].and_then(|p| get_path(&v, p).map(|x| x.ddb_type().name().to_string()))))
        }),
        TextFn::on_value("ddb_elements_in", 2, DataType::Boolean, |a| {
            Out::Bool(match (parse(a[0]), a[1]) {
                (Some(AttrValue::L(items)), Some(allowed)) => {
                    let allowed: Vec<&str> = allowed.split(',').map(str::trim).collect();
                    Some(items.iter().all(|x| allowed.contains(&x.ddb_type().name())))
                }
                _ => None,
            })
        }),
        TextFn::udf("ddb_is_number", 1, DataType::Boolean, |a| Out::Bool(a[0].map(|s| crate::item::Number::parse(s).is_ok()))),
        TextFn::udf("ddb_valid_awsdate", 1, DataType::Boolean, |a| Out::Bool(a[0].map(scalars::valid_date))),
        TextFn::udf("ddb_valid_awstime", 1, DataType::Boolean, |a| Out::Bool(a[0].map(scalars::valid_time))),
        TextFn::udf("ddb_valid_awsdatetime", 1, DataType::Boolean, |a| Out::Bool(a[0].map(scalars::valid_datetime))),
        TextFn::udf("ddb_valid_awsipaddress", 1, DataType::Boolean, |a| Out::Bool(a[0].map(scalars::valid_ip))),
        TextFn::udf("ddb_json_valid", 1, DataType::Boolean, |a| {
            Out::Bool(a[0].map(|s| serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok()))
        }),
    ]
}

fn parse(text: Option<&str>) -> Option<AttrValue> {
    ddbjson::value_from_str(text?).ok()
}

fn plain(v: &AttrValue) -> String {
    let mut s = String::new();
    ddbjson::write_plain(&mut s, v);
    s
}

/// A nested value as text: strings and numbers as themselves, NULL as SQL
/// NULL, the rest as plain JSON.
fn as_text(v: &AttrValue) -> Option<String> {
    match v {
        AttrValue::Null => None,
        AttrValue::S(s) => Some(s.clone()),
        AttrValue::N(n) => Some(n.to_string()),
        AttrValue::Bool(b) => Some(b.to_string()),
        other => Some(plain(other)),
    }
}

fn string_arg(a: &ArrayRef) -> DfResult<&StringArray> {
    a.as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| datafusion::error::DataFusionError::Plan(format!("expected a string argument, got {}", a.data_type())))
}

/// Follows `a.b[2].c` through maps and lists.
pub fn get_path<'a>(mut v: &'a AttrValue, path: &str) -> Option<&'a AttrValue> {
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            match v {
                AttrValue::M(m) => v = m.get(name)?,
                _ => return None,
            }
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            let i: usize = idx.strip_suffix(']')?.parse().ok()?;
            match v {
                AttrValue::L(l) => v = l.get(i)?,
                _ => return None,
            }
        }
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let v = ddbjson::value_from_str(r#"{"M":{"a":{"L":[{"S":"x"},{"M":{"b":{"N":"2"}}}]}}}"#).unwrap();
        assert_eq!(get_path(&v, "a[0]"), Some(&AttrValue::S("x".into())));
        assert_eq!(get_path(&v, "a[1].b").map(|v| v.ddb_type()), Some(crate::item::DdbType::N));
        assert_eq!(get_path(&v, "a[5]"), None);
        assert_eq!(get_path(&v, "z"), None);
    }
}
