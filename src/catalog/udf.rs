//! Scalar functions over nested DynamoDB values.
//!
//! Maps and lists are stored as their DynamoDB JSON (exact), so these read
//! that JSON: `ddb_json` strips the type wrappers for people and JSON tools,
//! `ddb_get` picks one nested value by path. Invalid input yields NULL rather
//! than an error, because these run over mixed columns where only some rows
//! hold nested values.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

use crate::item::{AttrValue, ddbjson};

pub fn all() -> Vec<ScalarUDF> {
    vec![ScalarUDF::from(DdbJson::new()), ScalarUDF::from(DdbGet::new())]
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DdbJson {
    signature: Signature,
}

impl DdbJson {
    fn new() -> Self {
        DdbJson { signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for DdbJson {
    fn name(&self) -> &str {
        "ddb_json"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let input = string_arg(&arrays[0])?;
        let mut out = StringBuilder::new();
        let mut buf = String::new();
        for v in input.iter() {
            match v.and_then(|s| ddbjson::value_from_str(s).ok()) {
                Some(value) => {
                    buf.clear();
                    ddbjson::write_plain(&mut buf, &value);
                    out.append_value(&buf);
                }
                None => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DdbGet {
    signature: Signature,
}

impl DdbGet {
    fn new() -> Self {
        DdbGet { signature: Signature::exact(vec![DataType::Utf8, DataType::Utf8], Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for DdbGet {
    fn name(&self) -> &str {
        "ddb_get"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let values = string_arg(&arrays[0])?;
        let paths = string_arg(&arrays[1])?;
        let mut out = StringBuilder::new();
        for i in 0..values.len() {
            let got = (!values.is_null(i) && !paths.is_null(i))
                .then(|| ddbjson::value_from_str(values.value(i)).ok())
                .flatten()
                .and_then(|v| get_path(&v, paths.value(i)).cloned());
            match got {
                None | Some(AttrValue::Null) => out.append_null(),
                Some(AttrValue::S(s)) => out.append_value(s),
                Some(AttrValue::N(n)) => out.append_value(n.to_string()),
                Some(AttrValue::Bool(b)) => out.append_value(if b { "true" } else { "false" }),
                Some(other) => {
                    let mut s = String::new();
                    ddbjson::write_plain(&mut s, &other);
                    out.append_value(s);
                }
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
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
