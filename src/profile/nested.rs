//! Maps, lists and sets measured from their DynamoDB JSON text, in one
//! streaming pass and without building the value.
//!
//! Tables keep maps and lists (and, in columns of mixed types, sets) as the
//! exact DynamoDB JSON text they were exported with. Their size, element
//! count and identity come from one serde pass over that text, the way
//! [`crate::item::ddbjson::measure_value`] sizes them on the read path;
//! key order in the text does not change a map's hash. The text was
//! validated when the table was loaded, so the errors here are only
//! defensive.

use std::borrow::Cow;
use std::fmt;
use std::hash::{DefaultHasher, Hasher};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::value::{self, Measured};
use crate::item::{DdbType, Number};

/// Measures one typed value such as `{"M":{"city":{"S":"Oslo"}}}`.
pub fn measure(text: &str) -> Result<Measured, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let m = Typed.deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(m)
}

/// A string borrowed from the input when it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

fn number<E: de::Error>(text: &str, scratch: &mut String) -> Result<Measured, E> {
    let n = Number::parse(text).map_err(E::custom)?;
    Ok(value::number(&n, scratch))
}

fn binary<E: de::Error>(text: &str) -> Result<Measured, E> {
    let bytes = B64.decode(text).map_err(|e| E::custom(format!("invalid base64: {e}")))?;
    Ok(value::binary(&bytes))
}

/// One typed value: `{"TYPE": ...}`.
#[derive(Clone, Copy)]
struct Typed;

impl<'de> DeserializeSeed<'de> for Typed {
    type Value = Measured;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Measured, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Typed {
    type Value = Measured;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a DynamoDB typed value such as {\"S\":\"text\"}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Measured, A::Error> {
        let tag: Text<'de> = map.next_key()?.ok_or_else(|| de::Error::custom("empty typed value {}"))?;
        let mut scratch = String::new();
        let m = match tag.0.as_ref() {
            "S" => value::string(&map.next_value::<Text<'de>>()?.0),
            "N" => number(&map.next_value::<Text<'de>>()?.0, &mut scratch)?,
            "B" => binary(&map.next_value::<Text<'de>>()?.0)?,
            "BOOL" => value::boolean(map.next_value::<bool>()?),
            "NULL" => {
                map.next_value::<bool>()?;
                value::null()
            }
            "M" => map.next_value_seed(Entries)?,
            "L" => map.next_value_seed(Elements)?,
            "SS" => map.next_value_seed(Members(DdbType::Ss))?,
            "NS" => map.next_value_seed(Members(DdbType::Ns))?,
            "BS" => map.next_value_seed(Members(DdbType::Bs))?,
            other => return Err(de::Error::custom(format!("unknown DynamoDB type {other:?}"))),
        };
        if map.next_key::<Text<'de>>()?.is_some() {
            return Err(de::Error::custom("typed value has a second type key"));
        }
        Ok(m)
    }
}

/// The entries of an M: 3 bytes plus, per entry, 1 byte, the name and the value.
struct Entries;

impl<'de> DeserializeSeed<'de> for Entries {
    type Value = Measured;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Measured, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Entries {
    type Value = Measured;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of typed values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Measured, A::Error> {
        let (mut size, mut parts, mut count) = (3u64, 0u64, 0u64);
        while let Some(name) = map.next_key::<Text<'de>>()? {
            let v = map.next_value_seed(Typed)?;
            size += 1 + name.0.len() as u64 + v.size;
            parts = parts.wrapping_add(value::hash_entry(&name.0, v.hash));
            count += 1;
        }
        Ok(Measured { ty: DdbType::M, size, len: Some(count), hash: value::hash_parts(DdbType::M, parts, count) })
    }
}

/// The elements of an L, in order: 3 bytes plus 1 byte and the value each.
struct Elements;

impl<'de> DeserializeSeed<'de> for Elements {
    type Value = Measured;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Measured, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements {
    type Value = Measured;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of typed values")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Measured, A::Error> {
        let (mut size, mut count, mut h) = (3u64, 0u64, DefaultHasher::new());
        h.write_u8(DdbType::L as u8);
        while let Some(v) = seq.next_element_seed(Typed)? {
            size += 1 + v.size;
            count += 1;
            h.write_u64(v.hash);
        }
        Ok(Measured { ty: DdbType::L, size, len: Some(count), hash: h.finish() })
    }
}

/// The members of an SS, NS or BS.
struct Members(DdbType);

impl<'de> DeserializeSeed<'de> for Members {
    type Value = Measured;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Measured, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Members {
    type Value = Measured;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of set members")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Measured, A::Error> {
        let mut members = Vec::new();
        let mut scratch = String::new();
        while let Some(t) = seq.next_element::<Text<'de>>()? {
            members.push(match self.0 {
                DdbType::Ss => value::string(&t.0),
                DdbType::Ns => number(&t.0, &mut scratch)?,
                _ => binary(&t.0)?,
            });
        }
        Ok(value::set(self.0, members.into_iter()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{ddbjson, size};

    #[test]
    fn sizes_agree_with_the_item_model() {
        let texts = [
            r#"{"M":{"city":{"S":"Kraków"},"lines":{"L":[{"S":"54 Main St"},{"NULL":true}]},"zip":{"N":"3310"}}}"#,
            r#"{"L":[{"BOOL":true},{"B":"AAEC"},{"NS":["1","2.50"]},{"M":{}}]}"#,
            r#"{"SS":["a","b\u00e9"]}"#,
            r#"{"BS":["AAEC","/w=="]}"#,
        ];
        for text in texts {
            let v = ddbjson::value_from_str(text).expect("valid");
            let m = measure(text).expect("measured");
            assert_eq!(m.ty, v.ddb_type(), "{text}");
            assert_eq!(m.size as usize, size::value_size(&v), "{text}");
        }
        assert_eq!(measure(texts[0]).expect("m").len, Some(3));
        assert_eq!(measure(texts[1]).expect("m").len, Some(4));
    }

    #[test]
    fn key_and_member_order_do_not_matter_but_list_order_does() {
        let a = measure(r#"{"M":{"a":{"N":"1"},"b":{"SS":["x","y"]}}}"#).expect("a");
        let b = measure(r#"{"M":{"b":{"SS":["y","x"]},"a":{"N":"1.0"}}}"#).expect("b");
        assert_eq!(a.hash, b.hash);
        let l1 = measure(r#"{"L":[{"S":"x"},{"S":"y"}]}"#).expect("l1");
        let l2 = measure(r#"{"L":[{"S":"y"},{"S":"x"}]}"#).expect("l2");
        assert_ne!(l1.hash, l2.hash);
        assert!(measure(r#"{"Q":1}"#).is_err());
    }
}
