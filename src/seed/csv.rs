//! CSV rows as items, typed by the Amplify model rather than guessed: a
//! String field holding `007` stays the string "007", an Int field must
//! hold an integer, a Boolean `true` or `false`, an enum one of its values.
//!
//! The reader is RFC 4180 (quotes, doubled quotes, CRLF, newlines inside
//! quotes) and keeps what a generic CSV reader loses: an empty unquoted cell
//! is a missing attribute, while `""` is the empty string. Every error names
//! the file, the line and the column.

use std::collections::BTreeMap;

use crate::checks::model::{Field, FieldType, Model, ModelIntrospection, Scalar};
use crate::error::{Error, Result};
use crate::item::{AttrValue, Item, Number};

/// One cell: its text, and whether it was quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub text: String,
    pub quoted: bool,
}

/// One record and the line it starts on.
#[derive(Debug)]
pub struct Record {
    pub line: u64,
    pub cells: Vec<Cell>,
}

/// Splits CSV text into records. `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Vec<Record>> {
    let err = |line: u64, cause: &str| Error::Line { file: file.to_string(), line, cause: cause.to_string() };
    let mut records = Vec::new();
    let mut cells = Vec::new();
    let mut cell = Cell { text: String::new(), quoted: false };
    let (mut line, mut record_line, mut quote_line) = (1u64, 1u64, 0u64);
    let (mut in_quotes, mut after_quote, mut started) = (false, false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.text.push('"');
                }
                '"' => {
                    in_quotes = false;
                    after_quote = true;
                }
                '\n' => {
                    line += 1;
                    cell.text.push(c);
                }
                _ => cell.text.push(c),
            }
            continue;
        }
        match c {
            ',' => {
                cells.push(std::mem::replace(&mut cell, Cell { text: String::new(), quoted: false }));
                after_quote = false;
                started = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if started || !cell.text.is_empty() || cell.quoted {
                    cells.push(std::mem::replace(&mut cell, Cell { text: String::new(), quoted: false }));
                    records.push(Record { line: record_line, cells: std::mem::take(&mut cells) });
                }
                line += 1;
                record_line = line;
                (after_quote, started) = (false, false);
            }
            '"' if cell.text.is_empty() && !cell.quoted => {
                (in_quotes, cell.quoted, quote_line, started) = (true, true, line, true);
            }
            '"' => return Err(err(line, "a quote inside an unquoted cell (quote the whole cell and double the quote: \"a \"\"b\"\"\")")),
            _ if after_quote => {
                return Err(err(line, &format!("{c:?} after a closing quote (a quoted cell must end at , or the line's end)")));
            }
            _ => {
                cell.text.push(c);
                started = true;
            }
        }
    }
    if in_quotes {
        return Err(err(quote_line, "a quoted cell opened on this line is never closed"));
    }
    if started || !cell.text.is_empty() {
        cells.push(cell);
        records.push(Record { line: record_line, cells });
    }
    Ok(records)
}

/// Reads the bytes of CSV file `file` as rows of `model`: the first record names the fields.
pub fn read(file: &str, bytes: Vec<u8>, model: &Model, intro: &ModelIntrospection) -> Result<Vec<(u64, Item)>> {
    let file = file.to_string();
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() as u64 + 1;
        Error::Line { file: file.clone(), line, cause: format!("not UTF-8 text (byte {at} of the file); save the CSV as UTF-8") }
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut records = parse(&file, text)?.into_iter();
    let header = records.next().ok_or_else(|| Error::Invalid(format!("{file}: empty; the first line must name the fields")))?;
    let fields = header_fields(&file, &header, model)?;
    let mut out = Vec::new();
    for r in records {
        if r.cells.len() != fields.len() {
            return Err(Error::Line {
                file: file.clone(),
                line: r.line,
                cause: format!("{} cells, but the header names {} fields", r.cells.len(), fields.len()),
            });
        }
        let mut item = Item::new();
        for (field, cell) in fields.iter().zip(&r.cells) {
            let v = cell_value(field, cell, intro).map_err(|cause| Error::Line {
                file: file.clone(),
                line: r.line,
                cause: format!("field {}: {cause}", field.name),
            })?;
            if let Some(v) = v {
                item.insert(field.name.clone(), v);
            }
        }
        let filled = |name: &str| name == "id" && super::fields::fills_id(model);
        for f in model.stored_fields().filter(|f| f.must_be_present() && !f.is_read_only && !filled(&f.name)) {
            if !item.contains_key(&f.name) {
                return Err(Error::Line {
                    file: file.clone(),
                    line: r.line,
                    cause: format!("field {} is required by model {} and the cell is empty (\"\" is the empty string)", f.name, model.name),
                });
            }
        }
        out.push((r.line, item));
    }
    Ok(out)
}

fn header_fields<'m>(file: &str, header: &Record, model: &'m Model) -> Result<Vec<&'m Field>> {
    let mut out: Vec<&Field> = Vec::new();
    for c in &header.cells {
        let name = c.text.trim();
        let field = model.fields.get(name).ok_or_else(|| Error::Line {
            file: file.to_string(),
            line: header.line,
            cause: format!(
                "column {name:?} is not a field of model {} (its fields: {})",
                model.name,
                model.stored_fields().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        })?;
        if matches!(field.ty, FieldType::Model { .. }) {
            return Err(Error::Line {
                file: file.to_string(),
                line: header.line,
                cause: format!("column {name:?} is a relation of model {}, which is not stored: give its key field instead", model.name),
            });
        }
        if out.iter().any(|f| f.name == field.name) {
            return Err(Error::Line { file: file.to_string(), line: header.line, cause: format!("column {name:?} appears twice") });
        }
        out.push(field);
    }
    Ok(out)
}

/// A cell as the field's value; None for an empty unquoted cell.
fn cell_value(field: &Field, cell: &Cell, intro: &ModelIntrospection) -> std::result::Result<Option<AttrValue>, String> {
    if cell.text.is_empty() && !cell.quoted {
        return Ok(None);
    }
    if field.is_array || matches!(field.ty, FieldType::NonModel { .. }) {
        let v: serde_json::Value =
            serde_json::from_str(&cell.text).map_err(|e| format!("not JSON ({e}): {}", crate::error::brief(&cell.text, 80)))?;
        return json_value(&field.ty, field.is_array, &v, intro).map(Some);
    }
    text_value(&field.ty, &cell.text, intro).map(Some)
}

/// A scalar or enum from its text.
fn text_value(ty: &FieldType, text: &str, intro: &ModelIntrospection) -> std::result::Result<AttrValue, String> {
    match ty {
        FieldType::Scalar(s) => scalar(*s, text),
        FieldType::Enum { name } => enum_value(name, text, intro),
        FieldType::NonModel { .. } | FieldType::Model { .. } => Err("a JSON object is expected".into()),
    }
}

fn scalar(s: Scalar, text: &str) -> std::result::Result<AttrValue, String> {
    match s {
        Scalar::Int | Scalar::AWSTimestamp => {
            let n = number(text)?;
            if n.fraction_digits() > 0 {
                return Err(format!("{text:?} is not an integer"));
            }
            // GraphQL's Int is 32-bit: AppSync fails to return a larger one.
            if s == Scalar::Int && n.to_i64().is_none_or(|i| i32::try_from(i).is_err()) {
                return Err(format!(
                    "{text:?} is outside Int's 32-bit range (-2147483648 to 2147483647); a Float or AWSTimestamp field holds more"
                ));
            }
            Ok(AttrValue::N(n))
        }
        Scalar::Float => Ok(AttrValue::N(number(text)?)),
        Scalar::Boolean => match text.trim() {
            t if t.eq_ignore_ascii_case("true") => Ok(AttrValue::Bool(true)),
            t if t.eq_ignore_ascii_case("false") => Ok(AttrValue::Bool(false)),
            _ => Err(format!("{text:?} is not true or false")),
        },
        Scalar::AWSJSON => {
            serde_json::from_str::<serde_json::Value>(text).map_err(|e| format!("not JSON ({e})"))?;
            Ok(AttrValue::S(text.to_string()))
        }
        _ => {
            if !crate::checks::generate::valid_format(s, text) {
                return Err(format!("{:?} is not a valid {s:?} (AppSync would refuse to return it)", crate::error::brief(text, 60)));
            }
            Ok(AttrValue::S(text.to_string()))
        }
    }
}

fn number(text: &str) -> std::result::Result<Number, String> {
    Number::parse(text.trim()).map_err(|e| format!("{:?}: {e}", crate::error::brief(text, 60)))
}

fn enum_value(name: &str, text: &str, intro: &ModelIntrospection) -> std::result::Result<AttrValue, String> {
    match intro.enums.get(name) {
        Some(e) if !e.values.iter().any(|v| v == text) => Err(format!("{text:?} is not a value of enum {name} ({})", e.values.join(", "))),
        _ => Ok(AttrValue::S(text.to_string())),
    }
}

/// A JSON value (array cells, custom types) typed by the field's type.
fn json_value(ty: &FieldType, array: bool, v: &serde_json::Value, intro: &ModelIntrospection) -> std::result::Result<AttrValue, String> {
    use serde_json::Value as J;
    if array {
        let J::Array(xs) = v else { return Err(format!("a JSON array is expected, not {}", kind(v))) };
        return xs.iter().map(|x| json_value(ty, false, x, intro)).collect::<std::result::Result<Vec<_>, _>>().map(AttrValue::L);
    }
    match (ty, v) {
        (_, J::Null) => Ok(AttrValue::Null),
        (FieldType::Scalar(Scalar::AWSJSON), _) => Ok(AttrValue::S(v.to_string())),
        (FieldType::Scalar(Scalar::Int | Scalar::Float | Scalar::AWSTimestamp), J::Number(n)) => {
            let text = n.to_string();
            // serde_json holds numbers past 64-bit integers as floats:
            // their digits beyond a float's are not those written.
            if n.is_f64() && Number::significant_digits(&text).unwrap_or(0) > 15 {
                return Err(format!("{text} has more digits than a JSON number keeps here: give it as a string"));
            }
            text_value(ty, &text, intro)
        }
        (FieldType::Scalar(Scalar::Boolean), J::Bool(b)) => Ok(AttrValue::Bool(*b)),
        (FieldType::Scalar(Scalar::Int | Scalar::Float | Scalar::AWSTimestamp | Scalar::Boolean), _) => Err(format!(
            "a JSON {} is expected, not {}",
            if matches!(ty, FieldType::Scalar(Scalar::Boolean)) { "boolean" } else { "number" },
            kind(v)
        )),
        (FieldType::Scalar(_) | FieldType::Enum { .. }, J::String(s)) => text_value(ty, s, intro),
        (FieldType::NonModel { name }, J::Object(o)) => non_model(name, o, intro),
        _ => Err(format!("{} does not fit the field's type", kind(v))),
    }
}

fn non_model(
    name: &str,
    o: &serde_json::Map<String, serde_json::Value>,
    intro: &ModelIntrospection,
) -> std::result::Result<AttrValue, String> {
    let def = intro.non_models.get(name).ok_or_else(|| format!("custom type {name} is not in the model file"))?;
    let mut m = BTreeMap::new();
    for (k, v) in o {
        let f = def.fields.get(k).ok_or_else(|| format!("{k:?} is not a field of custom type {name}"))?;
        m.insert(k.clone(), json_value(&f.ty, f.is_array, v, intro).map_err(|e| format!("{k}: {e}"))?);
    }
    Ok(AttrValue::M(m))
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(text: &str) -> Vec<Vec<(String, bool)>> {
        parse("t.csv", text).unwrap().into_iter().map(|r| r.cells.into_iter().map(|c| (c.text, c.quoted)).collect()).collect()
    }

    #[test]
    fn quotes_newlines_and_empty_versus_missing() {
        let rows = cells("a,b,c\r\n\"x,\"\"y\"\"\",,\"\"\n\"two\nlines\",2,3\n");
        assert_eq!(rows[1], vec![("x,\"y\"".into(), true), ("".into(), false), ("".into(), true)]);
        assert_eq!(rows[2][0], ("two\nlines".into(), true));
        let recs = parse("t.csv", "a\n\"open\n\nb").unwrap_err().to_string();
        assert!(recs.contains("t.csv:2:") && recs.contains("never closed"), "{recs}");
        assert!(parse("t.csv", "a\nx\"y\n").unwrap_err().to_string().contains("t.csv:2:"));
        assert_eq!(parse("t.csv", "a,b\n1,2\n").unwrap()[1].line, 2);
    }

    #[test]
    fn scalars_are_typed_by_the_model_not_guessed() {
        assert_eq!(scalar(Scalar::String, "007").unwrap(), AttrValue::S("007".into()));
        assert_eq!(scalar(Scalar::String, "41.0").unwrap(), AttrValue::S("41.0".into()));
        assert_eq!(scalar(Scalar::Int, "41").unwrap(), AttrValue::N(Number::parse("41").unwrap()));
        assert!(scalar(Scalar::Int, "41.5").is_err());
        assert!(scalar(Scalar::Int, "forty").is_err());
        assert_eq!(
            scalar(Scalar::Float, "12345678901234567890.123456789").unwrap(),
            AttrValue::N(Number::parse("12345678901234567890.123456789").unwrap())
        );
        assert_eq!(scalar(Scalar::Boolean, "TRUE").unwrap(), AttrValue::Bool(true));
        assert!(scalar(Scalar::Boolean, "yes").is_err());
        assert!(scalar(Scalar::AWSJSON, "{bad").is_err());
        assert!(scalar(Scalar::Int, "2147483648").is_err() && scalar(Scalar::Int, "-2147483648").is_ok());
        assert!(scalar(Scalar::AWSEmail, "not-an-email").is_err() && scalar(Scalar::AWSEmail, "a@b.co").is_ok());
        assert!(scalar(Scalar::AWSDateTime, "yesterday").is_err() && scalar(Scalar::AWSDateTime, "2026-12-07T05:16:00.000Z").is_ok());
        assert!(scalar(Scalar::ID, "anything at all").is_ok());
    }
}
