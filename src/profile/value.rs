//! What the profile needs to know of one attribute value: its DynamoDB type,
//! its size (DynamoDB's rules, as in [`crate::item::size`]), its length and
//! a 64-bit hash that identifies it.
//!
//! The hash stands for the value when counting distinct values and the most
//! common one, so that no value has to be kept. It is SipHash with fixed keys
//! over the type and the value's canonical bytes: numbers by their canonical
//! text (`1.50` and `1.5` are one number), sets and maps combined without
//! regard to member order (a sum of member hashes; members of a set and keys
//! of a map are unique), lists in order. Two different values share a hash
//! with probability about 2^-64 per pair: distinct counts are exact in
//! practice.

use std::hash::{DefaultHasher, Hasher};
use std::io::Write as _;

use crate::item::{DdbType, Number};

/// One value, measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measured {
    pub ty: DdbType,
    /// Bytes under DynamoDB's size rules (the attribute name not included).
    pub size: u64,
    /// S: characters; N: characters of the canonical text; B: bytes; sets,
    /// lists and maps: elements. None for BOOL and NULL.
    pub len: Option<u64>,
    pub hash: u64,
}

pub fn hash_bytes(ty: DdbType, bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    h.write_u8(ty as u8);
    h.write(bytes);
    h.finish()
}

/// The hash of a collection from its members' hashes combined (`parts`)
/// and its element count.
pub fn hash_parts(ty: DdbType, parts: u64, count: u64) -> u64 {
    let mut h = DefaultHasher::new();
    h.write_u8(ty as u8);
    h.write_u64(parts);
    h.write_u64(count);
    h.finish()
}

/// A map entry's hash: its name and its value's hash.
pub fn hash_entry(name: &str, value: u64) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(name.as_bytes());
    h.write_u8(0xff);
    h.write_u64(value);
    h.finish()
}

pub fn string(s: &str) -> Measured {
    let chars = s.bytes().filter(|b| (*b as i8) >= -0x40).count();
    Measured { ty: DdbType::S, size: s.len() as u64, len: Some(chars as u64), hash: hash_bytes(DdbType::S, s.as_bytes()) }
}

pub fn binary(b: &[u8]) -> Measured {
    Measured { ty: DdbType::B, size: b.len() as u64, len: Some(b.len() as u64), hash: hash_bytes(DdbType::B, b) }
}

pub fn boolean(b: bool) -> Measured {
    Measured { ty: DdbType::Bool, size: 1, len: None, hash: hash_bytes(DdbType::Bool, &[b as u8]) }
}

pub fn null() -> Measured {
    Measured { ty: DdbType::Null, size: 1, len: None, hash: hash_bytes(DdbType::Null, &[]) }
}

/// A number from its canonical text (as [`Number`]'s `Display` writes it).
pub fn number_text(text: &str) -> Measured {
    let digits = Number::significant_digits(text).unwrap_or(text.len()) as u64;
    Measured { ty: DdbType::N, size: digits.div_ceil(2) + 1, len: Some(text.len() as u64), hash: hash_bytes(DdbType::N, text.as_bytes()) }
}

/// A number; `scratch` holds its canonical text afterwards.
pub fn number(n: &Number, scratch: &mut String) -> Measured {
    use std::fmt::Write as _;
    scratch.clear();
    let _ = write!(scratch, "{n}");
    number_text(scratch)
}

/// An integer (its decimal text is its canonical text), without allocating.
pub fn int(v: i64) -> Measured {
    let mut buf = [0u8; 24];
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(cursor, "{v}");
    let end = cursor.position() as usize;
    number_text(std::str::from_utf8(&buf[..end]).unwrap_or("0"))
}

/// A set (SS, NS, BS) of members measured one by one.
pub fn set(ty: DdbType, members: impl Iterator<Item = Measured>) -> Measured {
    let (mut size, mut parts, mut count) = (0u64, 0u64, 0u64);
    for m in members {
        size += m.size;
        parts = parts.wrapping_add(m.hash);
        count += 1;
    }
    Measured { ty, size, len: Some(count), hash: hash_parts(ty, parts, count) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{AttrValue, size};

    #[test]
    fn sizes_and_lengths_follow_dynamodb() {
        let s = string("Kraków");
        assert_eq!((s.size, s.len), (7, Some(6)));
        for text in ["0", "-12", "100", "65.721", "1E+100", "9223372036854775807"] {
            let n = Number::parse(text).expect("number");
            let mut scratch = String::new();
            let m = number(&n, &mut scratch);
            assert_eq!(m.size as usize, size::value_size(&AttrValue::N(n.clone())), "{text}");
            assert_eq!(m.len, Some(n.to_string().len() as u64), "{text}");
            if let Some(i) = n.to_i64() {
                assert_eq!(int(i), m, "{text}");
            }
        }
    }

    #[test]
    fn equal_values_hash_equal_and_sets_ignore_order() {
        let mut a = String::new();
        let mut b = String::new();
        let x = number(&Number::parse("1.50").expect("n"), &mut a);
        let y = number(&Number::parse("15E-1").expect("n"), &mut b);
        assert_eq!(x.hash, y.hash);
        assert_ne!(string("1.5").hash, x.hash, "S and N differ");
        let ab = set(DdbType::Ss, ["a", "b"].into_iter().map(string));
        let ba = set(DdbType::Ss, ["b", "a"].into_iter().map(string));
        let abc = set(DdbType::Ss, ["a", "b", "c"].into_iter().map(string));
        assert_eq!(ab, ba);
        assert_ne!(ab.hash, abc.hash);
        assert_eq!(abc.len, Some(3));
    }
}
