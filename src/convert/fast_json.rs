//! DynamoDB JSON export lines straight into raw columns.
//!
//! The general decoder builds an [`crate::item::Item`] per line (a map of
//! owned names and values) that the raw builder then takes apart again. For
//! the common line of a full export this scanner reads `{"Item":{...}}` and
//! hands each attribute to the builder as slices of the line, so strings are
//! copied once and nothing is allocated per attribute. Maps, lists and sets
//! are written in their packed form as they are read ([`super::fast_packed`]).
//!
//! It never decides alone what is valid: anything it does not expect
//! (escapes, an unknown type key, a malformed number, a duplicate name, any
//! syntax error) makes it step aside and the general decoder reads the line,
//! so both paths accept, reject and report exactly the same lines.

use crate::item::{DdbType, Number, ddbjson};

/// One attribute of a scanned line.
pub struct Scanned<'a> {
    pub name: &'a str,
    pub value: ScannedValue<'a>,
}

pub enum ScannedValue<'a> {
    S(&'a str),
    /// Canonical number text (already normalised) and its parsed form when
    /// it was not canonical as written.
    N(std::borrow::Cow<'a, str>, NumInfo),
    B(Vec<u8>),
    Bool(bool),
    Null,
    /// Maps, lists and sets in packed form ([`super::packed`]), at this
    /// range of the scan's buffer: map keys in order and sets sorted, so
    /// that equal values have equal bytes whatever the export's spacing,
    /// key order, escapes and set order.
    Packed(DdbType, std::ops::Range<usize>),
}

/// What statistics need to know of a number without parsing it again.
#[derive(Clone, Copy)]
pub struct NumInfo {
    pub fits_i64: bool,
    pub integer_digits: usize,
    pub fraction_digits: usize,
    pub significant_digits: usize,
}

impl NumInfo {
    /// The same of a number's canonical text (as packed values hold it).
    pub fn of_canonical(text: &str) -> Option<NumInfo> {
        canonical_number(text).map(|(_, info)| info)
    }

    fn of(n: &Number) -> NumInfo {
        NumInfo {
            fits_i64: n.to_i64().is_some(),
            integer_digits: n.integer_digits(),
            fraction_digits: n.fraction_digits(),
            significant_digits: n.digits().len(),
        }
    }
}

impl ScannedValue<'_> {
    pub fn ddb_type(&self) -> DdbType {
        match self {
            ScannedValue::S(_) => DdbType::S,
            ScannedValue::N(..) => DdbType::N,
            ScannedValue::B(_) => DdbType::B,
            ScannedValue::Bool(_) => DdbType::Bool,
            ScannedValue::Null => DdbType::Null,
            ScannedValue::Packed(t, _) => *t,
        }
    }
}

/// Scans a full-export line into `out`, with its maps, lists and sets packed
/// into `packed`; `false` means "use the general decoder" (and `out` is then
/// meaningless). Duplicate attribute names are not checked here: the caller
/// must (the raw builder does it by slot).
pub fn scan_item_line<'a>(line: &'a [u8], out: &mut Vec<Scanned<'a>>, packed: &mut Vec<u8>) -> bool {
    out.clear();
    packed.clear();
    let Ok(text) = std::str::from_utf8(line) else { return false };
    let mut p = Scan::new(text);
    let ok = (|| -> Option<()> {
        p.lit(b"{")?;
        if p.string()? != "Item" {
            return None;
        }
        p.lit(b":")?;
        p.lit(b"{")?;
        // An item with no attributes goes to the general decoder, which
        // refuses it: every DynamoDB item holds at least its key.
        if !p.try_lit(b"}") {
            loop {
                let name = p.string()?;
                p.lit(b":")?;
                let value = p.typed(packed)?;
                if name.is_empty() {
                    return None;
                }
                out.push(Scanned { name, value });
                if p.try_lit(b"}") {
                    break;
                }
                p.lit(b",")?;
            }
        }
        p.lit(b"}")?;
        p.ws();
        (p.i == p.s.len() && !out.is_empty()).then_some(())
    })();
    ok.is_some()
}

/// A position in a line being scanned.
pub(super) struct Scan<'a> {
    s: &'a [u8],
    t: &'a str,
    i: usize,
}

impl<'a> Scan<'a> {
    pub(super) fn new(text: &'a str) -> Scan<'a> {
        Scan { s: text.as_bytes(), t: text, i: 0 }
    }
    #[cfg(test)]
    pub(super) fn at_end(&self) -> bool {
        self.i == self.s.len()
    }
    pub(super) fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    pub(super) fn try_lit(&mut self, l: &[u8]) -> bool {
        self.ws();
        if self.s[self.i..].starts_with(l) {
            self.i += l.len();
            true
        } else {
            false
        }
    }
    pub(super) fn lit(&mut self, l: &[u8]) -> Option<()> {
        self.try_lit(l).then_some(())
    }
    /// A string without escapes or control characters.
    pub(super) fn string(&mut self) -> Option<&'a str> {
        self.lit(b"\"")?;
        let start = self.i;
        let rest = &self.s[start..];
        let end = memchr::memchr2(b'"', b'\\', rest)?;
        if rest[end] != b'"' || rest[..end].iter().any(|&c| c < 0x20) {
            return None;
        }
        self.i = start + end + 1;
        Some(&self.t[start..start + end])
    }
    fn typed(&mut self, packed: &mut Vec<u8>) -> Option<ScannedValue<'a>> {
        let value_start = {
            self.ws();
            self.i
        };
        self.lit(b"{")?;
        let tag = self.string()?;
        self.lit(b":")?;
        let v = match tag {
            "S" => ScannedValue::S(self.string()?),
            "N" => {
                let (text, info) = canonical_number(self.string()?)?;
                ScannedValue::N(text, info)
            }
            "B" => {
                use base64::Engine as _;
                ScannedValue::B(base64::engine::general_purpose::STANDARD.decode(self.string()?).ok()?)
            }
            "BOOL" => ScannedValue::Bool(self.boolean()?),
            "NULL" => {
                if !self.boolean()? {
                    return None;
                }
                ScannedValue::Null
            }
            "M" | "L" | "SS" | "NS" | "BS" => {
                let ty = super::fast_packed::type_key(tag)?;
                let (start, body) = (packed.len(), self.i);
                if self.packed_body(ty, 1, packed).is_some() && self.try_lit(b"}") {
                    return Some(ScannedValue::Packed(ty, start..packed.len()));
                }
                // Not for the direct path: the general decoder reads it.
                packed.truncate(start);
                self.i = body;
                self.skip_value()?;
                self.lit(b"}")?;
                let raw = &self.t[value_start..self.i];
                let mut v = ddbjson::value_from_str(raw).ok()?;
                crate::item::sort_sets(&mut v);
                super::packed::encode(&v, packed);
                return Some(ScannedValue::Packed(v.ddb_type(), start..packed.len()));
            }
            _ => return None,
        };
        self.lit(b"}")?;
        Some(v)
    }
    pub(super) fn boolean(&mut self) -> Option<bool> {
        if self.try_lit(b"true") {
            Some(true)
        } else if self.try_lit(b"false") {
            Some(false)
        } else {
            None
        }
    }
    /// Skips one JSON value (brackets balanced, strings with escapes).
    fn skip_value(&mut self) -> Option<()> {
        self.ws();
        let mut depth = 0usize;
        loop {
            let c = *self.s.get(self.i)?;
            self.i += 1;
            match c {
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth = depth.checked_sub(1)?,
                b'"' => loop {
                    let c = *self.s.get(self.i)?;
                    self.i += 1;
                    match c {
                        b'"' => break,
                        b'\\' => self.i += 1,
                        _ => {}
                    }
                },
                _ => {}
            }
            if depth == 0 {
                return Some(());
            }
        }
    }
}

/// A number's canonical text and what statistics need of it. Integers
/// written canonically (no leading zeros, up to 18 digits) are taken as they
/// are; everything else goes through [`Number`].
pub(super) fn canonical_number(text: &str) -> Option<(std::borrow::Cow<'_, str>, NumInfo)> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical_int = !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|c| c.is_ascii_digit())
        && (digits == "0" && text == "0" || !digits.starts_with('0'));
    if canonical_int {
        let significant = digits.trim_end_matches('0').len();
        let info = NumInfo {
            fits_i64: true,
            integer_digits: if digits == "0" { 0 } else { digits.len() },
            fraction_digits: 0,
            significant_digits: significant,
        };
        return Some((std::borrow::Cow::Borrowed(text), info));
    }
    let n = Number::parse(text).ok()?;
    let info = NumInfo::of(&n);
    Some((std::borrow::Cow::Owned(n.to_string()), info))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::AttrValue;
    use crate::snapshot::decode::{FileSpec, Record, decode_line};
    use crate::snapshot::manifest::OutputFormat;

    fn scan(line: &str) -> Option<Vec<(String, AttrValue)>> {
        let (mut out, mut packed) = (Vec::new(), Vec::new());
        if !scan_item_line(line.as_bytes(), &mut out, &mut packed) {
            return None;
        }
        // the caller's part of the contract: duplicates go to the general decoder
        let names: std::collections::HashSet<&str> = out.iter().map(|a| a.name).collect();
        if names.len() != out.len() {
            return None;
        }
        Some(
            out.into_iter()
                .map(|a| {
                    let v = match a.value {
                        ScannedValue::S(s) => AttrValue::S(s.into()),
                        ScannedValue::N(t, _) => AttrValue::N(Number::parse(&t).unwrap()),
                        ScannedValue::B(b) => AttrValue::B(b),
                        ScannedValue::Bool(b) => AttrValue::Bool(b),
                        ScannedValue::Null => AttrValue::Null,
                        ScannedValue::Packed(_, r) => {
                            let mut text = String::new();
                            crate::convert::packed::write_json(&packed[r], &mut text).unwrap();
                            ddbjson::value_from_str(&text).unwrap()
                        }
                    };
                    (a.name.to_string(), v)
                })
                .collect(),
        )
    }

    /// Whatever the scanner accepts, the general decoder accepts with the
    /// same values; whatever the general decoder rejects, the scanner does too.
    #[test]
    fn agrees_with_the_general_decoder() {
        let spec = FileSpec { describe: "t".into(), format: OutputFormat::DynamodbJson, incremental: false, md5: None, item_count: None };
        let lines = [
            r#"{"Item":{"id":{"S":"a"},"n":{"N":"-120"},"d":{"N":"1.50"},"z":{"N":"0"},"b":{"B":"AAE="},"t":{"BOOL":true},"x":{"NULL":true}}}"#,
            r#"{"Item":{"m":{"M":{"a":{"S":"q\"uote"}}},"l":{"L":[{"N":"1"},{"SS":["x"]}]},"ss":{"SS":["a","b"]},"ns":{"NS":["1","2"]}}}"#,
            r#"{"Item":{}}"#,
            r#" { "Item" : { "id" : { "S" : "spaced" } } } "#,
            r#"{"Item":{"esc":{"S":"a\nb"}}}"#,
            r#"{"Item":{"n":{"N":"007"}}}"#,
            r#"{"Item":{"n":{"N":"abc"}}}"#,
            r#"{"Item":{"a":{"S":"1"},"a":{"S":"2"}}}"#,
            r#"{"Item":{"x":{"NULL":false}}}"#,
            r#"{"Item":{"x":{"X":"1"}}}"#,
            r#"{"Item":{"x":{"S":"1","N":"1"}}}"#,
            r#"{"Item":{"x":{"S":"1"}}"#,
            r#"{"Item":{"x":{"S":"1"}}}x"#,
            r#"{"Keys":{"x":{"S":"1"}}}"#,
            r#"{"Item":{"m":{"M":{"a":{"S":"1"}}},"bad":{"L":[{"N":"x"}]}}}"#,
            r#"{"Item":{"x":{"N":"-0"}}}"#,
            r#"{"Item":{"x":{"N":"123456789012345678901"}}}"#,
        ];
        for line in lines {
            let general = match decode_line(line.as_bytes(), &spec) {
                Ok(Record::Item(i)) => Some(i),
                _ => None,
            };
            if let Some(fast) = scan(line) {
                let general = general.unwrap_or_else(|| panic!("scanner accepted a line the decoder rejects: {line}"));
                let fast: crate::item::Item = fast.into_iter().collect();
                assert_eq!(fast, general, "{line}");
            }
        }
        assert!(scan(lines[0]).is_some() && scan(lines[1]).is_some() && scan(lines[3]).is_some());
    }
}
