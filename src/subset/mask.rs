//! Format-preserving, keyed masking of attribute values.
//!
//! A sandbox seeded from production must not hold production's personal
//! data, yet the app and its checks must still work on it: an email must
//! still look like an email, a phone number like a phone number, and a value
//! that appears in two tables must still be equal in both. So the fake of a
//! value is a pure function of the value and a secret key: HMAC-SHA256 of the
//! value gives a keystream, and each character is replaced by one drawn from
//! it of the same class (letters stay letters with their case, digits stay
//! digits, everything else is kept). Without the key the fakes cannot be
//! reversed or recomputed from guesses. Emails keep their top-level domain so
//! that format checks and mail routing rules keep passing.

use std::collections::HashSet;
use std::hash::Hash;

use super::hmac::HmacSha256;
use crate::item::{AttrValue, Number};

/// Attempts at a fake for a set member before giving up: a set's members must
/// stay distinct, and a short member's fake may repeat another's.
const SET_ROUNDS: u32 = 1024;

/// Why a value could not be masked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaskError {
    #[error("a set of {0} members cannot be masked without two members getting the same fake (its members are too short)")]
    SetTooDense(usize),
    #[error("number {0}: {1}")]
    Number(String, String),
}

/// Masks values with one key.
pub struct Masker {
    hmac: HmacSha256,
}

/// What a keystream is for: the same value gets unrelated streams as text
/// and as a number.
#[derive(Clone, Copy)]
enum Domain {
    Text = 1,
    Number = 2,
}

impl Masker {
    pub fn new(key: &[u8]) -> Masker {
        Masker { hmac: HmacSha256::new(key) }
    }

    /// `len` bytes of keystream for `value`.
    fn stream(&self, domain: Domain, round: u32, value: &[u8], len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 32);
        let mut block = 0u32;
        while out.len() < len {
            out.extend_from_slice(&self.hmac.mac(&[&[domain as u8], &round.to_be_bytes(), &block.to_be_bytes(), value]));
            block += 1;
        }
        out.truncate(len);
        out
    }

    /// The fake of a string: same length in characters, same character
    /// classes, punctuation kept; an email keeps its top-level domain.
    pub fn mask_str(&self, s: &str) -> String {
        self.fake_str(s, 0)
    }

    fn fake_str(&self, s: &str, round: u32) -> String {
        let keep_from = email_tld_start(s).unwrap_or(s.len());
        let stream = self.stream(Domain::Text, round, s.as_bytes(), s.chars().count());
        s.char_indices().zip(stream).map(|((pos, c), b)| if pos >= keep_from { c } else { fake_char(c, b) }).collect()
    }

    /// The fake of a number: same sign, same significant digits count and
    /// magnitude (so integers stay integers of the same width).
    pub fn mask_number(&self, n: &Number) -> Result<Number, MaskError> {
        self.fake_number(n, 0)
    }

    fn fake_number(&self, n: &Number, round: u32) -> Result<Number, MaskError> {
        let digits = n.digits();
        if digits.is_empty() {
            return Ok(n.clone());
        }
        let text = n.to_string();
        let stream = self.stream(Domain::Number, round, text.as_bytes(), digits.len());
        let last = digits.len() - 1;
        // The first and last significant digits stay non-zero, or the
        // normalised number would lose digits.
        let fake: String = stream
            .iter()
            .enumerate()
            .map(|(i, b)| if i == 0 || i == last { (b'1' + b % 9) as char } else { (b'0' + b % 10) as char })
            .collect();
        Number::from_parts(n.is_negative(), fake, n.exponent() as i64).map_err(|e| MaskError::Number(text, e.to_string()))
    }

    /// The fake of a whole attribute value and how many scalars were masked:
    /// S and N values, members of SS and NS, and strings and numbers inside
    /// lists and maps (map keys are structure and are kept). Binary, booleans
    /// and NULL are kept.
    pub fn mask_value(&self, v: &AttrValue) -> Result<(AttrValue, u64), MaskError> {
        Ok(match v {
            AttrValue::S(s) => (AttrValue::S(self.mask_str(s)), 1),
            AttrValue::N(n) => (AttrValue::N(self.mask_number(n)?), 1),
            AttrValue::Ss(m) => (AttrValue::Ss(distinct(m, |s, r| Ok(self.fake_str(s, r)))?), m.len() as u64),
            AttrValue::Ns(m) => (AttrValue::Ns(distinct(m, |n, r| self.fake_number(n, r))?), m.len() as u64),
            AttrValue::L(l) => {
                let mut count = 0;
                let mut out = Vec::with_capacity(l.len());
                for x in l {
                    let (fake, c) = self.mask_value(x)?;
                    out.push(fake);
                    count += c;
                }
                (AttrValue::L(out), count)
            }
            AttrValue::M(m) => {
                let mut count = 0;
                let mut out = std::collections::BTreeMap::new();
                for (k, x) in m {
                    let (fake, c) = self.mask_value(x)?;
                    out.insert(k.clone(), fake);
                    count += c;
                }
                (AttrValue::M(out), count)
            }
            AttrValue::B(_) | AttrValue::Bs(_) | AttrValue::Bool(_) | AttrValue::Null => (v.clone(), 0),
        })
    }
}

/// Fakes for set members that stay distinct: a member whose fake repeats an
/// earlier one is faked again with the next round. Round 0 is the plain
/// fake, so a member equal to a value elsewhere masks the same unless it
/// collided.
fn distinct<T: Clone + Eq + Hash>(members: &[T], fake: impl Fn(&T, u32) -> Result<T, MaskError>) -> Result<Vec<T>, MaskError> {
    let mut seen = HashSet::with_capacity(members.len());
    let mut out = Vec::with_capacity(members.len());
    for m in members {
        let f = (0..SET_ROUNDS)
            .map(|round| fake(m, round))
            .find(|f| f.as_ref().map_or(true, |f| !seen.contains(f)))
            .ok_or(MaskError::SetTooDense(members.len()))??;
        seen.insert(f.clone());
        out.push(f);
    }
    Ok(out)
}

/// One character of the same class, drawn from keystream byte `b`.
fn fake_char(c: char, b: u8) -> char {
    if c.is_uppercase() {
        (b'A' + b % 26) as char
    } else if c.is_alphabetic() {
        (b'a' + b % 26) as char
    } else if c.is_numeric() {
        (b'0' + b % 10) as char
    } else {
        c
    }
}

/// Where an email's top-level domain starts (the character after the
/// domain's last dot), when `s` looks like an email: one `@`, a local part,
/// a dotted domain, no spaces.
fn email_tld_start(s: &str) -> Option<usize> {
    let (local, domain) = s.split_once('@')?;
    if local.is_empty() || domain.contains('@') || s.chars().any(char::is_whitespace) {
        return None;
    }
    let dot = domain.rfind('.')?;
    (dot > 0 && dot + 1 < domain.len()).then_some(local.len() + 1 + dot + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(c: char) -> u8 {
        if c.is_uppercase() {
            b'A'
        } else if c.is_alphabetic() {
            b'a'
        } else if c.is_numeric() {
            b'0'
        } else {
            0
        }
    }

    #[test]
    fn strings_keep_length_classes_and_punctuation() {
        let m = Masker::new(b"k");
        for s in ["Jane O'Neil-Smith", "+41 79 123 45 67", "Zürich 8001", "ABC-123_xyz.", "x"] {
            let f = m.mask_str(s);
            assert_eq!(f.chars().count(), s.chars().count(), "{s} -> {f}");
            for (a, b) in s.chars().zip(f.chars()) {
                assert_eq!(class(a), class(b), "{s} -> {f}");
                if class(a) == 0 {
                    assert_eq!(a, b, "{s} -> {f}");
                }
            }
        }
        assert_ne!(m.mask_str("Jane O'Neil-Smith"), "Jane O'Neil-Smith");
    }

    #[test]
    fn same_value_same_fake_other_key_other_fake() {
        let (a, b) = (Masker::new(b"one"), Masker::new(b"two"));
        assert_eq!(a.mask_str("jane@example.com"), a.mask_str("jane@example.com"));
        assert_ne!(a.mask_str("jane@example.com"), b.mask_str("jane@example.com"));
        assert_ne!(a.mask_str("jane@example.com"), a.mask_str("jane@example.org"));
    }

    #[test]
    fn emails_keep_shape_and_tld_only() {
        let m = Masker::new(b"k");
        let f = m.mask_str("jane.doe@mail.example.co.uk");
        assert!(f.ends_with(".uk"), "{f}");
        let (local, domain) = f.split_once('@').unwrap();
        assert_eq!(local.len(), 8);
        assert_eq!(&local[4..5], ".");
        assert_ne!(domain, "mail.example.co.uk");
        assert_eq!(domain.matches('.').count(), 3);
        // not emails: everything is masked
        assert_eq!(email_tld_start("a@b"), None);
        assert_eq!(email_tld_start("x @y.com"), None);
        assert_eq!(email_tld_start("@y.com"), None);
        assert_eq!(email_tld_start("a@b.com"), Some(4));
    }

    #[test]
    fn numbers_keep_sign_digits_and_magnitude() {
        let m = Masker::new(b"k");
        for text in ["0", "7", "-42", "1234567890123", "3.25", "-0.005", "1E+100", "98765.4321"] {
            let n = Number::parse(text).unwrap();
            let f = m.mask_number(&n).unwrap();
            assert_eq!(f.is_negative(), n.is_negative(), "{text} -> {f}");
            assert_eq!(f.digits().len(), n.digits().len(), "{text} -> {f}");
            assert_eq!((f.integer_digits(), f.fraction_digits()), (n.integer_digits(), n.fraction_digits()), "{text} -> {f}");
        }
        assert_eq!(m.mask_number(&Number::zero()).unwrap(), Number::zero());
        assert_ne!(m.mask_number(&Number::parse("1234567890123").unwrap()).unwrap(), Number::parse("1234567890123").unwrap());
    }

    #[test]
    fn nested_values_and_sets_are_masked_and_counted() {
        let m = Masker::new(b"k");
        let s = |x: &str| AttrValue::S(x.into());
        let v = AttrValue::M(
            [
                ("city".to_string(), s("Oslo")),
                ("tags".to_string(), AttrValue::L(vec![s("a1"), AttrValue::Bool(true), AttrValue::B(vec![1])])),
            ]
            .into_iter()
            .collect(),
        );
        let (f, count) = m.mask_value(&v).unwrap();
        assert_eq!(count, 2);
        let AttrValue::M(fm) = &f else { panic!("{f:?}") };
        assert_eq!(fm["city"], s(&m.mask_str("Oslo")));
        assert_eq!(fm["tags"], AttrValue::L(vec![s(&m.mask_str("a1")), AttrValue::Bool(true), AttrValue::B(vec![1])]));
        // one-letter members collide often: the set stays a set
        let letters: Vec<String> = (b'a'..=b'z').map(|c| (c as char).to_string()).collect();
        let (f, count) = m.mask_value(&AttrValue::Ss(letters.clone())).unwrap();
        let AttrValue::Ss(members) = f else { panic!() };
        assert_eq!(count, 26);
        assert_eq!(members.iter().collect::<HashSet<_>>().len(), 26);
        let digits: Vec<Number> = (1..=9).map(Number::from_i64).collect();
        let AttrValue::Ns(members) = m.mask_value(&AttrValue::Ns(digits)).unwrap().0 else { panic!() };
        assert_eq!(members.iter().collect::<HashSet<_>>().len(), 9);
    }
}
