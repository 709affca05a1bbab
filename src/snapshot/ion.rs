//! Amazon Ion text, as DynamoDB exports write it.
//!
//! An ION export is one top-level value per line, `$ion_1_0 {Item:{...}}` (or
//! an incremental record `{Metadata:{...},Keys:{...},NewImage:{...}}`). The
//! mapping is fixed by DynamoDB: strings are S, decimals (and ints) are N,
//! blobs are B, booleans BOOL, `null` NULL, structs M, lists L, and sets are
//! lists annotated `$dynamodb_SS`, `$dynamodb_NS`, `$dynamodb_BS`.
//!
//! This is a purpose-built parser for that subset of Ion text rather than a
//! general Ion library: it keeps decimals as exact [`Number`]s straight from
//! their text, reports errors at a line and column, and needs no symbol
//! tables (exports use inline field names only). Anything outside the subset,
//! such as timestamps, clobs or s-expressions, is an error, not a guess.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::item::ddbjson::MAX_DEPTH;
use crate::item::{AttrValue, DdbType, Item, Number};

/// A parsed Ion value before it is read as a DynamoDB value: keeps structs
/// as ordered fields so that records and items share one parser.
#[derive(Debug, Clone, PartialEq)]
pub enum IonValue {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Blob(Vec<u8>),
    List(Vec<IonValue>, Option<String>),
    Struct(Vec<(String, IonValue)>),
}

/// Parses one line: an optional `$ion_1_0` marker then exactly one value.
/// Errors carry the byte column (1-based) and the cause.
pub fn parse_line(line: &str) -> Result<IonValue, (usize, String)> {
    let mut p = Parser { s: line.as_bytes(), i: 0, text: line };
    p.skip_ws()?;
    if p.rest().starts_with(b"$ion_1_0") {
        p.i += "$ion_1_0".len();
        p.skip_ws()?;
    }
    let v = p.value(0, false)?;
    p.skip_ws()?;
    if p.i < p.s.len() {
        return Err(p.err("unexpected text after the value"));
    }
    Ok(v)
}

impl IonValue {
    /// Reads the value as a DynamoDB attribute value.
    pub fn into_attr(self) -> Result<AttrValue, String> {
        Ok(match self {
            IonValue::Null => AttrValue::Null,
            IonValue::Bool(b) => AttrValue::Bool(b),
            IonValue::Number(n) => AttrValue::N(n),
            IonValue::String(s) => AttrValue::S(s),
            IonValue::Blob(b) => AttrValue::B(b),
            IonValue::Struct(fields) => AttrValue::M(fields_to_item(fields)?),
            IonValue::List(items, None) => AttrValue::L(items.into_iter().map(IonValue::into_attr).collect::<Result<_, _>>()?),
            IonValue::List(items, Some(ann)) => match ann.as_str() {
                "$dynamodb_SS" => AttrValue::Ss(set_members(items, DdbType::Ss, |v| match v {
                    IonValue::String(s) => Some(s),
                    _ => None,
                })?),
                "$dynamodb_NS" => AttrValue::Ns(set_members(items, DdbType::Ns, |v| match v {
                    IonValue::Number(n) => Some(n),
                    _ => None,
                })?),
                "$dynamodb_BS" => AttrValue::Bs(set_members(items, DdbType::Bs, |v| match v {
                    IonValue::Blob(b) => Some(b),
                    _ => None,
                })?),
                other => return Err(format!("unknown annotation {other}:: on a list")),
            },
        })
    }
}

/// Reads struct fields as an item's attributes.
pub fn fields_to_item(fields: Vec<(String, IonValue)>) -> Result<Item, String> {
    let mut item = BTreeMap::new();
    for (k, v) in fields {
        let v = v.into_attr()?;
        if item.insert(k.clone(), v).is_some() {
            return Err(format!("attribute {k:?} appears twice"));
        }
    }
    Ok(item)
}

fn set_members<T: std::hash::Hash + Eq>(items: Vec<IonValue>, t: DdbType, f: impl Fn(IonValue) -> Option<T>) -> Result<Vec<T>, String> {
    let members: Vec<T> = items
        .into_iter()
        .map(|v| f(v).ok_or_else(|| format!("a {} set holds a member of another type", t.name())))
        .collect::<Result<_, _>>()?;
    crate::item::check_set(members.iter(), t)?;
    Ok(members)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

type PResult<T> = Result<T, (usize, String)>;

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a [u8] {
        &self.s[self.i..]
    }
    fn err(&self, msg: &str) -> (usize, String) {
        if self.i >= self.s.len() {
            (self.i + 1, format!("{msg} (the line ends early: truncated?)"))
        } else {
            (self.i + 1, msg.to_string())
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip_ws(&mut self) -> PResult<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c) => self.i += 1,
                Some(b'/') if self.s.get(self.i + 1) == Some(&b'/') => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.i += 1;
                    }
                }
                Some(b'/') if self.s.get(self.i + 1) == Some(&b'*') => {
                    let end = find(self.rest(), b"*/").ok_or_else(|| self.err("unterminated comment"))?;
                    self.i += end + 2;
                }
                _ => return Ok(()),
            }
        }
    }
    fn expect(&mut self, c: u8) -> PResult<()> {
        self.skip_ws()?;
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }

    /// `set_member`: members of a `$dynamodb_*S` set sit at the set's own
    /// DynamoDB level (a set is one value), so they get one level of slack.
    fn value(&mut self, depth: usize, set_member: bool) -> PResult<IonValue> {
        if depth > MAX_DEPTH + 1 + set_member as usize {
            return Err(self.err(&format!("value nested deeper than {MAX_DEPTH} levels")));
        }
        self.skip_ws()?;
        // annotations: symbol '::'
        let mut annotation = None;
        loop {
            let save = self.i;
            if let Some(sym) = self.try_symbol()? {
                self.skip_ws()?;
                if self.rest().starts_with(b"::") {
                    self.i += 2;
                    self.skip_ws()?;
                    if annotation.is_some() {
                        return Err(self.err("more than one annotation on a value"));
                    }
                    annotation = Some(sym);
                    continue;
                }
            }
            self.i = save;
            break;
        }
        let v = match self.peek() {
            None => return Err(self.err("expected a value")),
            Some(b'{') if self.s.get(self.i + 1) == Some(&b'{') => self.blob()?,
            Some(b'{') => self.structure(depth)?,
            Some(b'[') => IonValue::List(self.list(depth, annotation.is_some())?, None),
            Some(b'"') => IonValue::String(self.short_string()?),
            Some(b'\'') if self.rest().starts_with(b"'''") => IonValue::String(self.long_strings()?),
            Some(b'-' | b'+' | b'0'..=b'9' | b'.') => self.number()?,
            Some(_) => self.keyword()?,
        };
        match (annotation, v) {
            (None, v) => Ok(v),
            (Some(a), IonValue::List(items, None)) => Ok(IonValue::List(items, Some(a))),
            (Some(a), _) => Err(self.err(&format!("annotation {a}:: is only expected on sets"))),
        }
    }

    fn keyword(&mut self) -> PResult<IonValue> {
        let start = self.i;
        let word = self.try_symbol()?.ok_or_else(|| self.err("expected a value"))?;
        match word.as_str() {
            "true" => Ok(IonValue::Bool(true)),
            "false" => Ok(IonValue::Bool(false)),
            "null" => {
                // typed nulls (null.string, ...) are all DynamoDB NULL
                if self.peek() == Some(b'.') {
                    self.i += 1;
                    self.try_symbol()?.ok_or_else(|| self.err("expected a type after null."))?;
                }
                Ok(IonValue::Null)
            }
            "nan" => {
                self.i = start;
                Err(self.err("nan is not a DynamoDB number"))
            }
            _ => {
                self.i = start;
                Err(self.err(&format!("unexpected symbol {word:?} where a value was expected")))
            }
        }
    }

    /// An identifier symbol or a quoted symbol 'x'.
    fn try_symbol(&mut self) -> PResult<Option<String>> {
        match self.peek() {
            Some(b'\'') if !self.rest().starts_with(b"'''") => {
                self.i += 1;
                Ok(Some(self.quoted(b'\'')?))
            }
            Some(c) if c == b'$' || c == b'_' || c.is_ascii_alphabetic() => {
                let start = self.i;
                while self.peek().is_some_and(|c| c == b'$' || c == b'_' || c.is_ascii_alphanumeric()) {
                    self.i += 1;
                }
                Ok(Some(self.text[start..self.i].to_string()))
            }
            _ => Ok(None),
        }
    }

    fn structure(&mut self, depth: usize) -> PResult<IonValue> {
        self.i += 1;
        let mut fields = Vec::new();
        loop {
            self.skip_ws()?;
            if self.peek() == Some(b'}') {
                self.i += 1;
                return Ok(IonValue::Struct(fields));
            }
            let name = match self.peek() {
                Some(b'"') => self.short_string()?,
                Some(b'\'') if self.rest().starts_with(b"'''") => self.long_strings()?,
                _ => self.try_symbol()?.ok_or_else(|| self.err("expected a field name"))?,
            };
            self.expect(b':')?;
            let v = self.value(depth + 1, false)?;
            fields.push((name, v));
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {}
                _ => return Err(self.err("expected ',' or '}' in a struct")),
            }
        }
    }

    fn list(&mut self, depth: usize, set: bool) -> PResult<Vec<IonValue>> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws()?;
            if self.peek() == Some(b']') {
                self.i += 1;
                return Ok(items);
            }
            items.push(self.value(depth + 1, set)?);
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {}
                _ => return Err(self.err("expected ',' or ']' in a list")),
            }
        }
    }

    fn blob(&mut self) -> PResult<IonValue> {
        self.i += 2;
        let end = find(self.rest(), b"}}").ok_or_else(|| self.err("unterminated blob"))?;
        let body: String = self.text[self.i..self.i + end].chars().filter(|c| !c.is_whitespace()).collect();
        if body.starts_with('"') {
            return Err(self.err("clobs are not DynamoDB values"));
        }
        let bytes = B64.decode(body.as_bytes()).map_err(|e| self.err(&format!("invalid base64 in blob: {e}")))?;
        self.i += end + 2;
        Ok(IonValue::Blob(bytes))
    }

    fn short_string(&mut self) -> PResult<String> {
        self.i += 1;
        self.quoted(b'"')
    }

    fn long_strings(&mut self) -> PResult<String> {
        let mut out = String::new();
        while self.rest().starts_with(b"'''") {
            self.i += 3;
            loop {
                if self.rest().starts_with(b"'''") {
                    self.i += 3;
                    break;
                }
                match self.peek() {
                    None => return Err(self.err("unterminated long string")),
                    Some(b'\\') => self.escape(&mut out)?,
                    Some(_) => self.push_char(&mut out),
                }
            }
            self.skip_ws()?;
        }
        Ok(out)
    }

    fn push_char(&mut self, out: &mut String) {
        let c = self.text[self.i..].chars().next().expect("peeked a byte at a char boundary");
        out.push(c);
        self.i += c.len_utf8();
    }

    /// Reads up to the closing `quote` (already past the opening one).
    fn quoted(&mut self, quote: u8) -> PResult<String> {
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(c) if c == quote => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => self.escape(&mut out)?,
                Some(b'\n') => return Err(self.err("newline inside a string")),
                Some(_) => self.push_char(&mut out),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> PResult<()> {
        self.i += 1;
        let c = self.peek().ok_or_else(|| self.err("unterminated escape"))?;
        self.i += 1;
        let simple = match c {
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'0' => '\0',
            b'a' => '\u{7}',
            b'b' => '\u{8}',
            b'v' => '\u{b}',
            b'f' => '\u{c}',
            b'"' | b'\'' | b'\\' | b'/' | b'?' => c as char,
            b'\n' => return Ok(()),
            b'x' => return self.hex_escape(2, out),
            b'u' => return self.hex_escape(4, out),
            b'U' => return self.hex_escape(8, out),
            _ => return Err(self.err("unknown escape")),
        };
        out.push(simple);
        Ok(())
    }

    fn hex_escape(&mut self, n: usize, out: &mut String) -> PResult<()> {
        let hex = self.text.get(self.i..self.i + n).ok_or_else(|| self.err("short escape"))?;
        let code = u32::from_str_radix(hex, 16).map_err(|_| self.err("bad hex escape"))?;
        self.i += n;
        // surrogate pairs in \u escapes
        if (0xD800..0xDC00).contains(&code) && self.rest().starts_with(b"\\u") {
            let lo_hex = self.text.get(self.i + 2..self.i + 6).ok_or_else(|| self.err("short escape"))?;
            let lo = u32::from_str_radix(lo_hex, 16).map_err(|_| self.err("bad hex escape"))?;
            if (0xDC00..0xE000).contains(&lo) {
                self.i += 6;
                let c = 0x10000 + ((code - 0xD800) << 10) + (lo - 0xDC00);
                out.push(char::from_u32(c).ok_or_else(|| self.err("bad surrogate pair"))?);
                return Ok(());
            }
        }
        out.push(char::from_u32(code).ok_or_else(|| self.err("escape is not a Unicode scalar"))?);
        Ok(())
    }

    /// Ion ints, decimals (`1.`, `1.5`, `15d-1`) and floats (`1.5e0`), all
    /// read exactly from their text.
    fn number(&mut self) -> PResult<IonValue> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'+' | b'_')) {
            self.i += 1;
        }
        let raw = &self.text[start..self.i];
        if raw == "+inf" || raw == "-inf" {
            self.i = start;
            return Err(self.err("infinity is not a DynamoDB number"));
        }
        let cleaned: String = raw.chars().filter(|&c| c != '_').map(|c| if c == 'd' || c == 'D' { 'e' } else { c }).collect();
        if cleaned.starts_with("0x") || cleaned.starts_with("-0x") || cleaned.starts_with("0b") || cleaned.starts_with("-0b") {
            let neg = cleaned.starts_with('-');
            let body = cleaned.trim_start_matches('-');
            let radix = if body.starts_with("0x") { 16 } else { 2 };
            let v = i128::from_str_radix(&body[2..], radix).map_err(|_| {
                self.i = start;
                self.err(&format!("invalid Ion integer {raw:?}"))
            })?;
            let n = Number::from_i128_scaled(if neg { -v } else { v }, 0).map_err(|e| self.err(&e.to_string()))?;
            return Ok(IonValue::Number(n));
        }
        if cleaned.contains('-') && !(cleaned.starts_with('-') || cleaned.contains("e-")) {
            self.i = start;
            return Err(self.err("timestamps are not DynamoDB values"));
        }
        Number::parse(&cleaned).map(IonValue::Number).map_err(|e| {
            self.i = start;
            self.err(&e.to_string())
        })
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Writes a value as Ion text (the inverse of [`IonValue::into_attr`]).
pub fn write_attr(out: &mut String, v: &AttrValue) {
    use crate::item::ddbjson::write_str;
    match v {
        AttrValue::S(s) => write_str(out, s),
        AttrValue::N(n) => write_decimal(out, n),
        AttrValue::B(b) => {
            out.push_str("{{");
            B64.encode_string(b, out);
            out.push_str("}}");
        }
        AttrValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        AttrValue::Null => out.push_str("null"),
        AttrValue::M(m) => write_struct(out, m),
        AttrValue::L(l) => write_list(out, "", l.iter(), write_attr),
        AttrValue::Ss(s) => write_list(out, "$dynamodb_SS::", s.iter(), |o, s| write_str(o, s)),
        AttrValue::Ns(n) => write_list(out, "$dynamodb_NS::", n.iter(), write_decimal),
        AttrValue::Bs(b) => write_list(out, "$dynamodb_BS::", b.iter(), |o, b| {
            o.push_str("{{");
            B64.encode_string(b, o);
            o.push_str("}}");
        }),
    }
}

pub fn write_struct(out: &mut String, m: &Item) {
    out.push('{');
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_field_name(out, k);
        out.push(':');
        write_attr(out, v);
    }
    out.push('}');
}

fn write_field_name(out: &mut String, name: &str) {
    let plain = name.bytes().next().is_some_and(|c| c == b'_' || c.is_ascii_alphabetic())
        && name.bytes().all(|c| c == b'_' || c.is_ascii_alphanumeric())
        && !matches!(name, "true" | "false" | "null" | "nan");
    if plain {
        out.push_str(name);
    } else {
        crate::item::ddbjson::write_str(out, name);
    }
}

fn write_list<'a, T: 'a>(out: &mut String, ann: &str, items: impl Iterator<Item = &'a T>, f: impl Fn(&mut String, &T)) {
    out.push_str(ann);
    out.push('[');
    for (i, v) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        f(out, v);
    }
    out.push(']');
}

/// Ion decimal text as DynamoDB writes it: `12.`, `1.5`, `1d-130`.
fn write_decimal(out: &mut String, n: &Number) {
    use std::fmt::Write as _;
    if n.is_zero() {
        out.push_str("0.");
        return;
    }
    if n.is_negative() {
        out.push('-');
    }
    let _ = write!(out, "{}d{}", n.digits(), n.exponent());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(line: &str) -> Item {
        match parse_line(line).unwrap() {
            IonValue::Struct(f) => {
                let (k, v) = f.into_iter().next().unwrap();
                assert_eq!(k, "Item");
                match v {
                    IonValue::Struct(f) => fields_to_item(f).unwrap(),
                    _ => panic!(),
                }
            }
            _ => panic!(),
        }
    }

    #[test]
    fn reads_export_lines() {
        let it = item(
            r#"$ion_1_0 {Item:{pk:"v:1",n:1.,d:1.5d-3,i:12,b:{{AAE=}},t:true,z:null,'a b':"x",s:$dynamodb_SS::["a"],ns:$dynamodb_NS::[1.,2.5],m:{l:[null, "y"]}}}"#,
        );
        assert_eq!(it["pk"], AttrValue::S("v:1".into()));
        assert_eq!(it["d"], AttrValue::N(Number::parse("0.0015").unwrap()));
        assert_eq!(it["i"], AttrValue::N(Number::parse("12").unwrap()));
        assert_eq!(it["b"], AttrValue::B(vec![0, 1]));
        assert_eq!(it["z"], AttrValue::Null);
        assert_eq!(it["a b"], AttrValue::S("x".into()));
        assert_eq!(it["ns"], AttrValue::Ns(vec![Number::parse("1").unwrap(), Number::parse("2.5").unwrap()]));
    }

    #[test]
    fn reports_truncation() {
        let (col, msg) = parse_line(r#"$ion_1_0 {Item:{pk:"o:10",sk:"p:12",owner_id:10,"#).unwrap_err();
        assert!(msg.contains("truncated"), "{msg}");
        assert!(col > 40);
    }

    #[test]
    fn writer_round_trips() {
        let original = item(
            r#"{Item:{s:"é\n\"",n:-1d-130,big:9.9999999999999999999999999999999999999d125,e:"",b:{{}},bs:$dynamodb_BS::[{{AA==}}],l:[[[]]],'x.y#z':{}}}"#,
        );
        let mut text = String::from("$ion_1_0 {Item:");
        write_struct(&mut text, &original);
        text.push('}');
        assert_eq!(item(&text), original);
    }

    #[test]
    fn rejects_non_dynamodb_values() {
        for bad in ["{Item:{t:2020-01-01T}}", "{Item:{x:foo}}", "{Item:{x:nan}}", "{Item:{x:1}} extra", "{Item:{x:(a b)}}"] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
    }
}
