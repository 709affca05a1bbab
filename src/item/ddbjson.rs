//! DynamoDB JSON: the typed JSON form of attribute values (`{"S":"x"}`,
//! `{"N":"1.5"}`, `{"M":{...}}`), as exports and the DynamoDB API write it.
//!
//! Decoding goes straight from serde_json's tokens into [`AttrValue`]s with no
//! intermediate `serde_json::Value` tree (that alone would cost several times
//! the parse). Decoding is strict: one type key per value, known type names,
//! valid numbers and base64; anything else is an error with serde_json's
//! position, never a silently dropped value. Encoding is the inverse and is
//! used for nested values in Arrow columns and for writing exports.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{AttrValue, DdbType, Item, Number, check_set};

/// Deepest nesting accepted: DynamoDB allows 32 levels, counting a
/// top-level attribute's value as level 1.
pub const MAX_DEPTH: usize = 32;

/// Decodes one typed value, for example `{"SS":["a","b"]}`.
pub fn value_from_str(text: &str) -> Result<AttrValue, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let v = ValueSeed { depth: 1 }.deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// Decodes an item: a JSON object of attribute name to typed value.
pub fn item_from_str(text: &str) -> Result<Item, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let v = ItemSeed { depth: 0 }.deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// Validates one typed value exactly as [`value_from_str`] does and returns
/// its type and DynamoDB size (see [`super::size`]) without building it: the
/// fast read path keeps nested values as the text it was given and only
/// needs to know they are valid and how large they are.
pub fn measure_value(text: &str) -> Result<(DdbType, usize), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let v = MeasureSeed { depth: 1 }.deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

#[derive(Clone, Copy)]
struct MeasureSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for MeasureSeed {
    type Value = (DdbType, usize);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.depth > MAX_DEPTH {
            return Err(de::Error::custom(format!("value nested deeper than {MAX_DEPTH} levels")));
        }
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MeasureSeed {
    type Value = (DdbType, usize);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a DynamoDB typed value such as {\"S\":\"text\"}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let tag: Text<'de> = map.next_key()?.ok_or_else(|| de::Error::custom("empty typed value {}"))?;
        let number_size = |t: &Text<'de>| -> Result<usize, A::Error> {
            match Number::significant_digits(&t.0) {
                Some(d) => Ok(d.div_ceil(2) + 1),
                None => number::<A::Error>(&t.0).map(|_| 0),
            }
        };
        let measured = match tag.0.as_ref() {
            "S" => (DdbType::S, map.next_value::<Text<'de>>()?.0.len()),
            "N" => (DdbType::N, number_size(&map.next_value::<Text<'de>>()?)?),
            "B" => (DdbType::B, binary::<A::Error>(&map.next_value::<Text<'de>>()?.0)?.len()),
            "BOOL" => {
                map.next_value::<bool>()?;
                (DdbType::Bool, 1)
            }
            "NULL" => {
                if !map.next_value::<bool>()? {
                    return Err(de::Error::custom("NULL must be true"));
                }
                (DdbType::Null, 1)
            }
            "M" => (DdbType::M, map.next_value_seed(MeasureMap { depth: self.depth })?),
            "L" => (DdbType::L, map.next_value_seed(MeasureList { depth: self.depth })?),
            "SS" => {
                let v: Vec<Text<'de>> = map.next_value()?;
                check_set(v.iter().map(|s| s.0.as_ref()), DdbType::Ss).map_err(de::Error::custom)?;
                (DdbType::Ss, v.iter().map(|s| s.0.len()).sum())
            }
            "NS" => {
                let v: Vec<Text<'de>> = map.next_value()?;
                let numbers: Vec<Number> = v.iter().map(|s| number::<A::Error>(&s.0)).collect::<Result<_, _>>()?;
                check_set(numbers.iter(), DdbType::Ns).map_err(de::Error::custom)?;
                (DdbType::Ns, v.iter().map(&number_size).sum::<Result<usize, _>>()?)
            }
            "BS" => {
                let v: Vec<Text<'de>> = map.next_value()?;
                let blobs: Vec<Vec<u8>> = v.iter().map(|s| binary::<A::Error>(&s.0)).collect::<Result<_, _>>()?;
                check_set(blobs.iter(), DdbType::Bs).map_err(de::Error::custom)?;
                (DdbType::Bs, blobs.iter().map(Vec::len).sum())
            }
            other => return Err(de::Error::custom(format!("unknown DynamoDB type {other:?}"))),
        };
        if let Some(extra) = map.next_key::<Text<'de>>()? {
            return Err(de::Error::custom(format!("typed value has a second type key {:?}", extra.0)));
        }
        Ok(measured)
    }
}

struct MeasureMap {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for MeasureMap {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MeasureMap {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of attribute names to DynamoDB typed values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let mut names: Vec<Text<'de>> = Vec::new();
        let mut size = 3;
        while let Some(name) = map.next_key::<Text<'de>>()? {
            let (_, s) = map.next_value_seed(MeasureSeed { depth: self.depth + 1 })?;
            if names.iter().any(|n| n.0 == name.0) {
                return Err(de::Error::custom(format!("attribute {:?} appears twice", name.0)));
            }
            size += 1 + name.0.len() + s;
            names.push(name);
        }
        Ok(size)
    }
}

struct MeasureList {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for MeasureList {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for MeasureList {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of DynamoDB typed values")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut size = 3;
        while let Some((_, s)) = seq.next_element_seed(MeasureSeed { depth: self.depth + 1 })? {
            size += 1 + s;
        }
        Ok(size)
    }
}

/// Seed for an item (a map of typed values) at a given nesting depth.
#[derive(Clone, Copy)]
pub struct ItemSeed {
    pub depth: usize,
}

/// Seed for one typed value at a given nesting depth.
#[derive(Clone, Copy)]
pub struct ValueSeed {
    pub depth: usize,
}

impl<'de> DeserializeSeed<'de> for ItemSeed {
    type Value = Item;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Item, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed {
    type Value = Item;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of attribute names to DynamoDB typed values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        let mut item = BTreeMap::new();
        while let Some(name) = map.next_key::<Text<'de>>()? {
            let value = map.next_value_seed(ValueSeed { depth: self.depth + 1 })?;
            if item.insert(name.0.to_string(), value).is_some() {
                return Err(de::Error::custom(format!("attribute {:?} appears twice", name.0)));
            }
        }
        Ok(item)
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = AttrValue;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<AttrValue, D::Error> {
        if self.depth > MAX_DEPTH {
            return Err(de::Error::custom(format!("value nested deeper than {MAX_DEPTH} levels")));
        }
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = AttrValue;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a DynamoDB typed value such as {\"S\":\"text\"}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AttrValue, A::Error> {
        let tag: Text<'de> = map.next_key()?.ok_or_else(|| de::Error::custom("empty typed value {}"))?;
        let value = match tag.0.as_ref() {
            "S" => AttrValue::S(map.next_value()?),
            "N" => AttrValue::N(number(&map.next_value::<Text<'de>>()?.0)?),
            "B" => AttrValue::B(binary(&map.next_value::<Text<'de>>()?.0)?),
            "BOOL" => AttrValue::Bool(map.next_value()?),
            "NULL" => {
                if !map.next_value::<bool>()? {
                    return Err(de::Error::custom("NULL must be true"));
                }
                AttrValue::Null
            }
            "M" => AttrValue::M(map.next_value_seed(ItemSeed { depth: self.depth })?),
            "L" => AttrValue::L(map.next_value_seed(ListSeed { depth: self.depth })?),
            "SS" => {
                let v: Vec<String> = map.next_value()?;
                check_set(v.iter(), DdbType::Ss).map_err(de::Error::custom)?;
                AttrValue::Ss(v)
            }
            "NS" => {
                let v: Vec<Text<'de>> = map.next_value()?;
                let v: Vec<Number> = v.iter().map(|s| number(&s.0)).collect::<Result<_, _>>()?;
                check_set(v.iter(), DdbType::Ns).map_err(de::Error::custom)?;
                AttrValue::Ns(v)
            }
            "BS" => {
                let v: Vec<Text<'de>> = map.next_value()?;
                let v: Vec<Vec<u8>> = v.iter().map(|s| binary(&s.0)).collect::<Result<_, _>>()?;
                check_set(v.iter(), DdbType::Bs).map_err(de::Error::custom)?;
                AttrValue::Bs(v)
            }
            other => return Err(de::Error::custom(format!("unknown DynamoDB type {other:?}"))),
        };
        if let Some(extra) = map.next_key::<Text<'de>>()? {
            return Err(de::Error::custom(format!("typed value has a second type key {:?}", extra.0)));
        }
        Ok(value)
    }
}

/// A JSON string borrowed from the input when it has no escapes. serde's
/// own `Cow<str>` always allocates; keys and type tags are read for every
/// value, so borrowing them saves an allocation per value.
pub struct Text<'de>(pub std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

struct ListSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ListSeed {
    type Value = Vec<AttrValue>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ListSeed {
    type Value = Vec<AttrValue>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of DynamoDB typed values")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(v) = seq.next_element_seed(ValueSeed { depth: self.depth + 1 })? {
            out.push(v);
        }
        Ok(out)
    }
}

fn number<E: de::Error>(text: &str) -> Result<Number, E> {
    Number::parse(text).map_err(E::custom)
}

fn binary<E: de::Error>(text: &str) -> Result<Vec<u8>, E> {
    B64.decode(text).map_err(|e| E::custom(format!("invalid base64 in binary value: {e}")))
}

/// Appends the typed JSON of `value` to `out`.
pub fn write_value(out: &mut String, value: &AttrValue) {
    match value {
        AttrValue::S(s) => {
            out.push_str("{\"S\":");
            write_str(out, s);
        }
        AttrValue::N(n) => {
            let _ = write!(out, "{{\"N\":\"{n}\"");
        }
        AttrValue::B(b) => {
            out.push_str("{\"B\":\"");
            B64.encode_string(b, out);
            out.push('"');
        }
        AttrValue::Bool(b) => out.push_str(if *b { "{\"BOOL\":true" } else { "{\"BOOL\":false" }),
        AttrValue::Null => out.push_str("{\"NULL\":true"),
        AttrValue::M(m) => {
            out.push_str("{\"M\":");
            write_item(out, m);
        }
        AttrValue::L(l) => {
            out.push_str("{\"L\":[");
            for (i, v) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, v);
            }
            out.push(']');
        }
        AttrValue::Ss(v) => {
            out.push_str("{\"SS\":[");
            for (i, s) in v.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, s);
            }
            out.push(']');
        }
        AttrValue::Ns(v) => {
            out.push_str("{\"NS\":[");
            for (i, n) in v.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "\"{n}\"");
            }
            out.push(']');
        }
        AttrValue::Bs(v) => {
            out.push_str("{\"BS\":[");
            for (i, b) in v.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('"');
                B64.encode_string(b, out);
                out.push('"');
            }
            out.push(']');
        }
    }
    out.push('}');
}

/// Appends `{"name":{typed},...}` to `out`.
pub fn write_item(out: &mut String, item: &Item) {
    out.push('{');
    for (i, (k, v)) in item.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, k);
        out.push(':');
        write_value(out, v);
    }
    out.push('}');
}

pub fn value_to_string(value: &AttrValue) -> String {
    let mut s = String::new();
    write_value(&mut s, value);
    s
}

pub fn item_to_string(item: &Item) -> String {
    let mut s = String::new();
    write_item(&mut s, item);
    s
}

/// Appends `s` as a JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Plain JSON of a value with the type wrappers removed (numbers as JSON
/// numbers, binary as base64 strings, sets as arrays). Lossy on purpose: it is
/// for people and JSON tools, never for writing back.
pub fn write_plain(out: &mut String, value: &AttrValue) {
    match value {
        AttrValue::S(s) => write_str(out, s),
        AttrValue::N(n) => {
            let _ = write!(out, "{n}");
        }
        AttrValue::B(b) => {
            out.push('"');
            B64.encode_string(b, out);
            out.push('"');
        }
        AttrValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        AttrValue::Null => out.push_str("null"),
        AttrValue::M(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_plain(out, v);
            }
            out.push('}');
        }
        AttrValue::L(l) => write_plain_seq(out, l.iter().cloned()),
        AttrValue::Ss(v) => write_plain_seq(out, v.iter().cloned().map(AttrValue::S)),
        AttrValue::Ns(v) => write_plain_seq(out, v.iter().cloned().map(AttrValue::N)),
        AttrValue::Bs(v) => write_plain_seq(out, v.iter().cloned().map(AttrValue::B)),
    }
}

fn write_plain_seq(out: &mut String, values: impl Iterator<Item = AttrValue>) {
    out.push('[');
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_plain(out, &v);
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_type() {
        let text = r#"{"s":{"S":""},"n":{"N":"-1.50"},"b":{"B":""},"t":{"BOOL":true},"z":{"NULL":true},
            "m":{"M":{"a b.#:c":{"L":[{"S":"ü"},{"NS":["1","2E3"]}]}}},"ss":{"SS":["x"]},"bs":{"BS":["AAE="]}}"#;
        let item = item_from_str(text).unwrap();
        assert_eq!(item["s"], AttrValue::S(String::new()));
        assert_eq!(item["n"], AttrValue::N(Number::parse("-1.5").unwrap()));
        assert_eq!(item["b"], AttrValue::B(vec![]));
        assert_eq!(item["z"], AttrValue::Null);
        assert_eq!(item["bs"], AttrValue::Bs(vec![vec![0, 1]]));
        let back = item_from_str(&item_to_string(&item)).unwrap();
        assert_eq!(back, item);
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            r#"{"a":{"X":"1"}}"#,
            r#"{"a":{"S":"1","N":"1"}}"#,
            r#"{"a":{"N":"one"}}"#,
            r#"{"a":{"B":"***"}}"#,
            r#"{"a":{"NULL":false}}"#,
            r#"{"a":{}}"#,
            r#"{"a":{"S":1}}"#,
            r#"{"a":{"S":"x"},"a":{"S":"y"}}"#,
        ] {
            assert!(item_from_str(bad).is_err(), "{bad} should fail");
        }
    }

    /// `measure_value` accepts exactly what `value_from_str` accepts, with
    /// the same type and size.
    #[test]
    fn measuring_agrees_with_decoding() {
        let texts = [
            r#"{"M":{"a":{"S":"x"},"b":{"L":[{"N":"1.50"},{"NULL":true},{"BOOL":false}]},"c":{"M":{}}}}"#,
            r#"{"L":[{"SS":["a","é"]},{"NS":["1","2E3","-0.5"]},{"BS":["AAE=",""]},{"B":"AA=="}]}"#,
            r#"{"M":{"q\"uote":{"S":"line\nbreak"}}}"#,
            r#"{"SS":[]}"#,
            r#"{"M":{"a":{"S":"1"},"a":{"S":"2"}}}"#,
            r#"{"L":[{"N":"1E200"}]}"#,
            r#"{"L":[{"N":"x"}]}"#,
            r#"{"M":{"a":{"X":"1"}}}"#,
            r#"{"M":{"a":{"S":"1","N":"2"}}}"#,
            r#"{"L":[{"NULL":false}]}"#,
            r#"{"BS":["***"]}"#,
            r#"{"L":[{}]}"#,
            r#"{"M":{"a":{"S":1}}}"#,
        ];
        let mut deep = String::from(r#"{"S":"x"}"#);
        for _ in 0..MAX_DEPTH - 1 {
            deep = format!(r#"{{"L":[{deep}]}}"#);
        }
        let too_deep = format!(r#"{{"L":[{deep}]}}"#);
        for text in texts.iter().copied().chain([deep.as_str(), too_deep.as_str()]) {
            let decoded = value_from_str(text);
            let measured = measure_value(text);
            assert_eq!(decoded.is_ok(), measured.is_ok(), "{text}");
            if let (Ok(v), Ok((t, size))) = (decoded, measured) {
                assert_eq!(v.ddb_type(), t, "{text}");
                assert_eq!(super::super::size::value_size(&v), size, "{text}");
            }
        }
    }

    #[test]
    fn escapes_control_characters() {
        let mut s = String::new();
        write_str(&mut s, "a\"b\\c\nd\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\nd\\u0001é\"");
        assert_eq!(serde_json::from_str::<String>(&s).unwrap(), "a\"b\\c\nd\u{1}é");
    }

    #[test]
    fn depth_limit() {
        let mut text = String::from(r#"{"S":"x"}"#);
        for _ in 0..MAX_DEPTH - 1 {
            text = format!(r#"{{"L":[{text}]}}"#);
        }
        assert!(value_from_str(&text).is_ok(), "32 levels are allowed");
        let item = format!(r#"{{"a":{text}}}"#);
        assert!(item_from_str(&item).is_ok());
        text = format!(r#"{{"M":{{"k":{text}}}}}"#);
        assert!(value_from_str(&text).is_err(), "33 levels are not");
    }
}
