//! Maps, lists and sets of an export line straight into their packed form.
//!
//! Before this, the line scanner cut a nested value out as text, the general
//! decoder parsed it into an [`crate::item::AttrValue`] tree (a `String` per
//! key and string, a `BTreeMap` per map) and the tree was packed: three
//! passes and an allocation per value, about a sixth of a read of items with
//! an address map. Here the value is read once and written packed as it is
//! read; only a map whose keys arrive out of order is rearranged.
//!
//! Like the line scanner it never decides alone what is valid. Anything it
//! does not expect (escapes, a set member twice, an empty set, too deep, a
//! second type key) makes it return `None`, and the caller packs the value
//! the old way, through the general decoder, which accepts or reports it.
//! So a value packed here is always one the general decoder accepts, with
//! the very bytes [`super::packed::encode`] writes for it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::fast_json::{Scan, canonical_number};
use super::packed::leaf;
use crate::item::ddbjson::MAX_DEPTH;
use crate::item::{DdbType, Number};

impl<'a> Scan<'a> {
    /// Packs the body of a typed value whose type key `tag` was just read
    /// (the value after the colon; the closing brace is the caller's), at
    /// nesting `depth` (an attribute is 1).
    pub(super) fn packed_body(&mut self, ty: DdbType, depth: usize, out: &mut Vec<u8>) -> Option<()> {
        let at = open(out, ty);
        match ty {
            DdbType::S => out.extend_from_slice(self.string()?.as_bytes()),
            DdbType::N => out.extend_from_slice(canonical_number(self.string()?)?.0.as_bytes()),
            DdbType::B => B64.decode_vec(self.string()?, out).ok()?,
            DdbType::Bool => out.push(self.boolean()? as u8),
            DdbType::Null => self.boolean()?.then_some(())?,
            DdbType::M => self.map(depth, out)?,
            DdbType::L => {
                self.lit(b"[")?;
                if !self.try_lit(b"]") {
                    loop {
                        self.packed_value(depth + 1, out)?;
                        if self.try_lit(b"]") {
                            break;
                        }
                        self.lit(b",")?;
                    }
                }
            }
            DdbType::Ss => {
                let mut members = self.strings()?;
                members.sort_unstable();
                distinct(&members)?;
                members.iter().for_each(|s| leaf(out, DdbType::S, s.as_bytes()));
            }
            DdbType::Ns => {
                let mut members = self.strings()?.into_iter().map(|s| Number::parse(s).ok()).collect::<Option<Vec<_>>>()?;
                members.sort_unstable_by(Number::cmp_value);
                members.windows(2).all(|w| w[0].cmp_value(&w[1]).is_lt()).then_some(())?;
                members.iter().for_each(|n| leaf(out, DdbType::N, n.to_string().as_bytes()));
            }
            DdbType::Bs => {
                let mut members = self.strings()?.into_iter().map(|s| B64.decode(s).ok()).collect::<Option<Vec<_>>>()?;
                members.sort_unstable();
                distinct(&members)?;
                members.iter().for_each(|b| leaf(out, DdbType::B, b));
            }
        }
        close(out, at)
    }

    /// One whole typed value `{"T": ...}` at `depth`.
    fn packed_value(&mut self, depth: usize, out: &mut Vec<u8>) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.lit(b"{")?;
        let ty = type_key(self.string()?)?;
        self.lit(b":")?;
        self.packed_body(ty, depth, out)?;
        self.lit(b"}")
    }

    /// The entries of a map, written in key order.
    fn map(&mut self, depth: usize, out: &mut Vec<u8>) -> Option<()> {
        self.lit(b"{")?;
        if self.try_lit(b"}") {
            return Some(());
        }
        let body = out.len();
        // Each entry's key and its byte range in `out`, in the order read.
        let mut entries: Vec<(&'a str, usize, usize)> = Vec::new();
        loop {
            let key = self.string()?;
            self.lit(b":")?;
            let start = out.len();
            out.extend_from_slice(&u32::try_from(key.len()).ok()?.to_le_bytes());
            out.extend_from_slice(key.as_bytes());
            self.packed_value(depth + 1, out)?;
            entries.push((key, start, out.len()));
            if self.try_lit(b"}") {
                break;
            }
            self.lit(b",")?;
        }
        if entries.windows(2).all(|w| w[0].0 < w[1].0) {
            return Some(());
        }
        entries.sort_unstable_by_key(|e| e.0);
        // A key twice: the general decoder reports it.
        entries.windows(2).all(|w| w[0].0 < w[1].0).then_some(())?;
        let read = out.split_off(body);
        for (_, start, end) in entries {
            out.extend_from_slice(&read[start - body..end - body]);
        }
        Some(())
    }

    /// A JSON array of strings (a set's members).
    fn strings(&mut self) -> Option<Vec<&'a str>> {
        self.lit(b"[")?;
        let mut members = Vec::new();
        if self.try_lit(b"]") {
            return None; // an empty set: the general decoder reports it
        }
        loop {
            members.push(self.string()?);
            if self.try_lit(b"]") {
                return Some(members);
            }
            self.lit(b",")?;
        }
    }
}

/// The DynamoDB type a typed value's key names.
pub(super) fn type_key(tag: &str) -> Option<DdbType> {
    Some(match tag {
        "S" => DdbType::S,
        "N" => DdbType::N,
        "B" => DdbType::B,
        "BOOL" => DdbType::Bool,
        "NULL" => DdbType::Null,
        "M" => DdbType::M,
        "L" => DdbType::L,
        "SS" => DdbType::Ss,
        "NS" => DdbType::Ns,
        "BS" => DdbType::Bs,
        _ => return None,
    })
}

/// Writes a value's type and a length to fill in; returns where it is.
fn open(out: &mut Vec<u8>, ty: DdbType) -> usize {
    out.push(ty as u8);
    out.extend_from_slice(&[0; 4]);
    out.len()
}

/// Fills in the length of the value opened at `at`.
fn close(out: &mut [u8], at: usize) -> Option<()> {
    let len = u32::try_from(out.len() - at).ok()?;
    out[at - 4..at].copy_from_slice(&len.to_le_bytes());
    Some(())
}

/// Sorted members, none twice.
fn distinct<T: Ord>(sorted: &[T]) -> Option<()> {
    sorted.windows(2).all(|w| w[0] < w[1]).then_some(())
}

#[cfg(test)]
mod tests {
    use super::super::fast_json::Scan;
    use crate::item::{ddbjson, sort_sets};

    /// The direct path either steps aside or writes exactly what the
    /// general decoder and `encode` write.
    fn direct(text: &str) -> Option<Vec<u8>> {
        let mut scan = Scan::new(text);
        let mut out = Vec::new();
        scan.packed_value(1, &mut out)?;
        scan.ws();
        (scan.at_end()).then_some(out)
    }

    fn general(text: &str) -> Option<Vec<u8>> {
        let mut v = ddbjson::value_from_str(text).ok()?;
        sort_sets(&mut v);
        let mut out = Vec::new();
        super::super::packed::encode(&v, &mut out);
        Some(out)
    }

    #[test]
    fn agrees_with_the_general_decoder() {
        let deep = format!("{}{{\"S\":\"x\"}}{}", "{\"L\":[".repeat(40), "]}".repeat(40));
        let texts = [
            r#"{"M":{"b":{"S":"2"},"a":{"N":"1.50"},"c":{"M":{"z":{"NULL":true},"y":{"BOOL":false}}}}}"#,
            r#"{"M":{"a":{"S":"1"},"a":{"S":"2"}}}"#,
            r#"{"M":{}}"#,
            r#"{"L":[]}"#,
            r#"{"L":[{"N":"007"},{"B":"AAE="},{"NULL":false}]}"#,
            r#"{"L":[{"N":"007"},{"B":"AAE="},{"NULL":true}]}"#,
            r#"{"SS":["b","a","é"]}"#,
            r#"{"SS":["a","a"]}"#,
            r#"{"SS":[]}"#,
            r#"{"NS":["1.0","1"]}"#,
            r#"{"NS":["10","-2","1E+3","0.5"]}"#,
            r#"{"NS":["x"]}"#,
            r#"{"BS":["AQ==","AA=="]}"#,
            r#"{"BS":["AQ==","AQ=="]}"#,
            r#"{"BS":["!"]}"#,
            r#"{"M":{"k":{"S":"a\"b"}}}"#,
            r#"{"M":{"k":{"S":"1","N":"1"}}}"#,
            r#"{"M":{"k":{"X":"1"}}}"#,
            r#"{"M":{"":{"S":""}}}"#,
            r#" { "M" : { "a" : { "L" : [ { "S" : "x" } , { "N" : "2" } ] } } } "#,
            r#"{"L":[{"S":"x"},]}"#,
            r#"{"M":{"a":{"S":"x"},}}"#,
            &deep,
        ];
        let mut accepted = 0;
        for t in texts {
            let g = general(t);
            if let Some(d) = direct(t) {
                assert_eq!(Some(d), g, "{t}");
                accepted += 1;
            }
        }
        assert!(accepted >= 8, "the direct path took only {accepted} values");
    }
}
