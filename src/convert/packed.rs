//! The compact form raw columns keep maps, lists and sets in until the
//! column's Arrow type is known.
//!
//! A value is its type byte (`DdbType as u8`), the length of its payload
//! (u32, little-endian) and the payload: the bytes of an S or B, the
//! canonical text of an N, one byte for a BOOL, nothing for a NULL, the
//! entries of an M (key length, key, value, in key order), and the values of
//! an L, SS, NS or BS (sets sorted). Reading it back needs no tokenizing,
//! unescaping or allocation: a struct is built by walking the bytes
//! (see [`super::nested`]) and a text column by writing its DynamoDB JSON
//! ([`write_json`]), where JSON text kept in the raw column had to be parsed
//! again, which cost a third of a read of maps.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::item::ddbjson::write_str;
use crate::item::{AttrValue, DdbType};

/// Appends `v` (its sets sorted) in packed form.
pub fn encode(v: &AttrValue, out: &mut Vec<u8>) {
    out.push(v.ddb_type() as u8);
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    match v {
        AttrValue::S(s) => out.extend_from_slice(s.as_bytes()),
        AttrValue::N(n) => {
            use std::io::Write as _;
            let _ = write!(out, "{n}");
        }
        AttrValue::B(b) => out.extend_from_slice(b),
        AttrValue::Bool(b) => out.push(*b as u8),
        AttrValue::Null => {}
        AttrValue::M(m) => {
            for (k, x) in m {
                out.extend_from_slice(&(k.len() as u32).to_le_bytes());
                out.extend_from_slice(k.as_bytes());
                encode(x, out);
            }
        }
        AttrValue::L(l) => l.iter().for_each(|x| encode(x, out)),
        AttrValue::Ss(v) => v.iter().for_each(|s| leaf(out, DdbType::S, s.as_bytes())),
        AttrValue::Ns(v) => v.iter().for_each(|n| leaf(out, DdbType::N, n.to_string().as_bytes())),
        AttrValue::Bs(v) => v.iter().for_each(|b| leaf(out, DdbType::B, b)),
    }
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

/// Appends a set member: a value of type `ty` whose payload is `bytes`.
pub(super) fn leaf(out: &mut Vec<u8>, ty: DdbType, bytes: &[u8]) {
    out.push(ty as u8);
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// One packed value: its type and payload.
#[derive(Clone, Copy)]
pub struct Packed<'a> {
    pub ty: DdbType,
    pub payload: &'a [u8],
}

/// Splits the value at the start of `b`; returns it and the rest.
pub fn split(b: &[u8]) -> Result<(Packed<'_>, &[u8]), String> {
    let bad = || "a damaged packed value".to_string();
    let ty = DdbType::from_index(*b.first().ok_or_else(bad)?).ok_or_else(bad)?;
    let len = u32::from_le_bytes(b.get(1..5).ok_or_else(bad)?.try_into().map_err(|_| bad())?) as usize;
    let payload = b.get(5..5 + len).ok_or_else(bad)?;
    Ok((Packed { ty, payload }, &b[5 + len..]))
}

/// The one value `b` holds.
pub fn value(b: &[u8]) -> Result<Packed<'_>, String> {
    let (v, rest) = split(b)?;
    if !rest.is_empty() {
        return Err("bytes after a packed value".into());
    }
    Ok(v)
}

impl<'a> Packed<'a> {
    /// The values of an L or a set.
    pub fn elements(&self) -> impl Iterator<Item = Result<Packed<'a>, String>> + 'a {
        let mut rest = self.payload;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            Some(split(rest).map(|(v, r)| {
                rest = r;
                v
            }))
        })
    }

    /// The entries of an M, in key order.
    pub fn entries(&self) -> impl Iterator<Item = Result<(&'a str, Packed<'a>), String>> + 'a {
        let mut rest = self.payload;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let entry = (|| {
                let bad = || "a damaged packed map".to_string();
                let len = u32::from_le_bytes(rest.get(..4).ok_or_else(bad)?.try_into().map_err(|_| bad())?) as usize;
                let key = std::str::from_utf8(rest.get(4..4 + len).ok_or_else(bad)?).map_err(|e| e.to_string())?;
                let (v, r) = split(&rest[4 + len..])?;
                rest = r;
                Ok((key, v))
            })();
            if entry.is_err() {
                rest = &[];
            }
            Some(entry)
        })
    }

    pub fn str(&self) -> Result<&'a str, String> {
        std::str::from_utf8(self.payload).map_err(|e| e.to_string())
    }
}

/// The value's size by DynamoDB's rules, as [`crate::item::size::value_size`]
/// gives it for the decoded value.
pub fn size(v: Packed<'_>) -> Result<usize, String> {
    let number = |x: Packed<'_>| -> Result<usize, String> {
        let info = super::fast_json::NumInfo::of_canonical(x.str()?).ok_or("a damaged packed number")?;
        Ok(info.significant_digits.div_ceil(2) + 1)
    };
    Ok(match v.ty {
        DdbType::S | DdbType::B => v.payload.len(),
        DdbType::N => number(v)?,
        DdbType::Bool | DdbType::Null => 1,
        DdbType::M => {
            let mut total = 3;
            for e in v.entries() {
                let (k, x) = e?;
                total += 1 + k.len() + size(x)?;
            }
            total
        }
        DdbType::L => {
            let mut total = 3;
            for x in v.elements() {
                total += 1 + size(x?)?;
            }
            total
        }
        DdbType::Ss | DdbType::Bs => v.elements().map(|x| x.map(|x| x.payload.len())).sum::<Result<usize, String>>()?,
        DdbType::Ns => v.elements().map(|x| number(x?)).sum::<Result<usize, String>>()?,
    })
}

/// Appends the DynamoDB JSON of packed `b`, exactly as
/// [`crate::item::ddbjson::write_value`] writes the value.
pub fn write_json(b: &[u8], out: &mut String) -> Result<(), String> {
    write_packed(value(b)?, out)
}

fn write_packed(v: Packed<'_>, out: &mut String) -> Result<(), String> {
    let list = |out: &mut String, name: &str, v: &Packed<'_>, each: &dyn Fn(Packed<'_>, &mut String) -> Result<(), String>| {
        out.push_str(name);
        for (i, x) in v.elements().enumerate() {
            if i > 0 {
                out.push(',');
            }
            each(x?, out)?;
        }
        out.push(']');
        Ok::<(), String>(())
    };
    match v.ty {
        DdbType::S => {
            out.push_str("{\"S\":");
            write_str(out, v.str()?);
        }
        DdbType::N => {
            out.push_str("{\"N\":\"");
            out.push_str(v.str()?);
            out.push('"');
        }
        DdbType::B => {
            out.push_str("{\"B\":\"");
            B64.encode_string(v.payload, out);
            out.push('"');
        }
        DdbType::Bool => out.push_str(if v.payload == [1] { "{\"BOOL\":true" } else { "{\"BOOL\":false" }),
        DdbType::Null => out.push_str("{\"NULL\":true"),
        DdbType::M => {
            out.push_str("{\"M\":{");
            for (i, e) in v.entries().enumerate() {
                let (k, x) = e?;
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_packed(x, out)?;
            }
            out.push('}');
        }
        DdbType::L => list(out, "{\"L\":[", &v, &|x, out| write_packed(x, out))?,
        DdbType::Ss => list(out, "{\"SS\":[", &v, &|x, out| {
            write_str(out, x.str()?);
            Ok(())
        })?,
        DdbType::Ns => list(out, "{\"NS\":[", &v, &|x, out| {
            out.push('"');
            out.push_str(x.str()?);
            out.push('"');
            Ok(())
        })?,
        DdbType::Bs => list(out, "{\"BS\":[", &v, &|x, out| {
            out.push('"');
            B64.encode_string(x.payload, out);
            out.push('"');
            Ok(())
        })?,
    }
    out.push('}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::ddbjson;

    /// Packed and written again, every kind of value gives the very text
    /// the DynamoDB JSON writer gives.
    #[test]
    fn packed_values_write_the_same_json() {
        let texts = [
            r#"{"M":{"":{"S":""},"a\"b":{"L":[{"NULL":true},{"N":"-1.5E-130"},{"BOOL":false}]},"z":{"M":{"k":{"SS":["a","é"]}}}}}"#,
            r#"{"L":[{"B":"AAE="},{"BS":["","AQ=="]},{"NS":["1","12345678901234567890123456789012345678"]},{"M":{}},{"L":[]}]}"#,
            r#"{"SS":["\u0001x","y"]}"#,
        ];
        for t in texts {
            let v = ddbjson::value_from_str(t).unwrap();
            let mut packed = Vec::new();
            encode(&v, &mut packed);
            let mut back = String::new();
            write_json(&packed, &mut back).unwrap();
            assert_eq!(back, ddbjson::value_to_string(&v));
        }
    }

    #[test]
    fn sizes_agree_with_the_decoded_value() {
        let texts = [
            r#"{"M":{"":{"S":""},"ab":{"L":[{"NULL":true},{"N":"-1.5E-130"},{"BOOL":false}]},"z":{"M":{"k":{"SS":["a","é"]}}}}}"#,
            r#"{"L":[{"B":"AAE="},{"BS":["","AQ=="]},{"NS":["1","12345678901234567890123456789012345678","0.001200"]},{"M":{}},{"L":[]}]}"#,
        ];
        for t in texts {
            let v = ddbjson::value_from_str(t).unwrap();
            let mut packed = Vec::new();
            encode(&v, &mut packed);
            assert_eq!(size(value(&packed).unwrap()).unwrap(), crate::item::size::value_size(&v), "{t}");
        }
    }

    #[test]
    fn damaged_bytes_are_errors() {
        let mut packed = Vec::new();
        encode(&ddbjson::value_from_str(r#"{"M":{"a":{"S":"x"}}}"#).unwrap(), &mut packed);
        for cut in 0..packed.len() {
            assert!(write_json(&packed[..cut], &mut String::new()).is_err(), "cut at {cut}");
        }
        packed[0] = 99;
        assert!(write_json(&packed, &mut String::new()).is_err());
    }
}
