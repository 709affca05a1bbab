//! DynamoDB numbers, exactly.
//!
//! DynamoDB numbers are decimal: up to 38 significant digits with a magnitude
//! between 1E-130 and 9.9999999999999999999999999999999999999E+125 (or zero).
//! No binary float can hold them and no single `Decimal128` scale covers the
//! range, so the item model keeps a number as sign, significant digits and a
//! decimal exponent, normalised so that equal values compare equal
//! (`"1.50"`, `"15E-1"` and `"1.5"` are one number, as they are to DynamoDB).

use std::fmt;

/// Most significant digits DynamoDB accepts.
pub const MAX_DIGITS: usize = 38;
/// Largest decimal exponent of the leading digit (9.99..E+125).
pub const MAX_MAGNITUDE: i32 = 125;
/// Smallest decimal exponent of the leading digit (1E-130).
pub const MIN_MAGNITUDE: i32 = -130;

/// A DynamoDB number: `(-1)^negative * digits * 10^exponent`.
///
/// `digits` holds ASCII digits without leading or trailing zeros; zero is
/// the empty digit string with exponent 0 and `negative == false`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Number {
    negative: bool,
    digits: Box<str>,
    exponent: i32,
}

/// Why a string is not a DynamoDB number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("not a number: {0:?}")]
    Syntax(String),
    #[error("number {0:?} has more than 38 significant digits")]
    TooPrecise(String),
    #[error("number {0:?} is outside DynamoDB's range (1E-130 to 9.99E+125)")]
    OutOfRange(String),
}

impl Number {
    /// Zero.
    pub fn zero() -> Self {
        Number { negative: false, digits: "".into(), exponent: 0 }
    }

    /// Parses DynamoDB's number syntax: optional sign, digits with an optional
    /// fraction, optional `e`/`E` exponent. Leading `+` and leading zeros are
    /// accepted as DynamoDB accepts them.
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        let syntax = || NumberError::Syntax(text.to_string());
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut negative = false;
        if let Some(&c) = bytes.first()
            && (c == b'-' || c == b'+')
        {
            negative = c == b'-';
            i = 1;
        }
        let mut digits = String::with_capacity(bytes.len());
        let mut exponent: i64 = 0;
        let mut seen_digit = false;
        let mut seen_point = false;
        while i < bytes.len() {
            match bytes[i] {
                c @ b'0'..=b'9' => {
                    seen_digit = true;
                    if seen_point {
                        exponent -= 1;
                    }
                    if !(digits.is_empty() && c == b'0') {
                        digits.push(c as char);
                    }
                }
                b'.' if !seen_point => seen_point = true,
                b'e' | b'E' => break,
                _ => return Err(syntax()),
            }
            i += 1;
        }
        if !seen_digit {
            return Err(syntax());
        }
        if i < bytes.len() {
            // exponent part
            let exp_text = &text[i + 1..];
            let exp: i64 = parse_exponent(exp_text).ok_or_else(syntax)?;
            exponent = exponent.checked_add(exp).ok_or_else(syntax)?;
        }
        Number::from_parts(negative, digits, exponent).map_err(|e| match e {
            NumberError::Syntax(_) => syntax(),
            NumberError::TooPrecise(_) => NumberError::TooPrecise(text.to_string()),
            NumberError::OutOfRange(_) => NumberError::OutOfRange(text.to_string()),
        })
    }

    /// The number of significant digits of `text` when [`Number::parse`]
    /// accepts it, without building the number (no allocation): the check
    /// used where a value only has to be validated and sized.
    pub fn significant_digits(text: &str) -> Option<usize> {
        let bytes = text.as_bytes();
        let mut i = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
        let (mut digits, mut lead, mut trail, mut fraction) = (0i64, 0i64, 0i64, 0i64);
        let (mut seen_point, mut nonzero) = (false, false);
        while i < bytes.len() {
            match bytes[i] {
                c @ b'0'..=b'9' => {
                    digits += 1;
                    if seen_point {
                        fraction += 1;
                    }
                    if c == b'0' {
                        if nonzero { trail += 1 } else { lead += 1 }
                    } else {
                        nonzero = true;
                        trail = 0;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                b'e' | b'E' => break,
                _ => return None,
            }
            i += 1;
        }
        if digits == 0 {
            return None;
        }
        let mut exponent = -fraction;
        if i < bytes.len() {
            exponent = exponent.checked_add(parse_exponent(&text[i + 1..])?)?;
        }
        if !nonzero {
            return Some(0);
        }
        let significant = digits - lead - trail;
        let magnitude = exponent + trail + significant - 1;
        let ok = significant <= MAX_DIGITS as i64 && (MIN_MAGNITUDE as i64..=MAX_MAGNITUDE as i64).contains(&magnitude);
        ok.then_some(significant as usize)
    }

    /// Builds a number from sign, digits (no sign, no point; leading zeros
    /// already removed or not) and exponent, normalising and range-checking.
    pub fn from_parts(negative: bool, digits: String, exponent: i64) -> Result<Number, NumberError> {
        let trimmed_lead = digits.trim_start_matches('0');
        let trimmed = trimmed_lead.trim_end_matches('0');
        if trimmed.is_empty() {
            return Ok(Number::zero());
        }
        let exponent = exponent + (trimmed_lead.len() - trimmed.len()) as i64;
        let describe = || format!("{}{}E{}", if negative { "-" } else { "" }, trimmed, exponent);
        if trimmed.len() > MAX_DIGITS {
            return Err(NumberError::TooPrecise(describe()));
        }
        let magnitude = exponent + trimmed.len() as i64 - 1;
        if magnitude > MAX_MAGNITUDE as i64 || magnitude < MIN_MAGNITUDE as i64 {
            return Err(NumberError::OutOfRange(describe()));
        }
        Ok(Number { negative, digits: trimmed.into(), exponent: exponent as i32 })
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Compares by value (`-2.5 < 1E-130 < 1`), where the derived `Ord`
    /// compares the representation. Number sets are sorted this way.
    pub fn cmp_value(&self, other: &Number) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let sign = |n: &Number| {
            if n.is_zero() {
                0
            } else if n.negative {
                -1
            } else {
                1
            }
        };
        match sign(self).cmp(&sign(other)) {
            Ordering::Equal if sign(self) == 0 => Ordering::Equal,
            Ordering::Equal => {
                // The decimal exponent of the leading digit, then the digits.
                let lead = |n: &Number| n.exponent as i64 + n.digits.len() as i64;
                let magnitude = lead(self).cmp(&lead(other)).then_with(|| self.digits.cmp(&other.digits));
                if self.negative { magnitude.reverse() } else { magnitude }
            }
            unequal => unequal,
        }
    }
    pub fn is_negative(&self) -> bool {
        self.negative
    }
    /// Significant digits (empty for zero).
    pub fn digits(&self) -> &str {
        &self.digits
    }
    /// Decimal exponent of the last significant digit.
    pub fn exponent(&self) -> i32 {
        self.exponent
    }
    /// Digits left of the decimal point in plain notation (0 for pure fractions).
    pub fn integer_digits(&self) -> usize {
        (self.digits.len() as i64 + self.exponent as i64).max(0) as usize
    }
    /// Digits right of the decimal point in plain notation.
    pub fn fraction_digits(&self) -> usize {
        (-(self.exponent as i64)).max(0) as usize
    }

    /// The value as an `i64` when it is an integer that fits.
    pub fn to_i64(&self) -> Option<i64> {
        if self.is_zero() {
            return Some(0);
        }
        if self.exponent < 0 || self.integer_digits() > 19 {
            return None;
        }
        let mut v: i128 = 0;
        for b in self.digits.bytes() {
            v = v * 10 + (b - b'0') as i128;
        }
        for _ in 0..self.exponent {
            v *= 10;
        }
        if self.negative {
            v = -v;
        }
        i64::try_from(v).ok()
    }

    /// The value scaled by `10^scale` as an `i128`, when exact and within
    /// 38 digits (what an Arrow `Decimal128(38, scale)` holds).
    pub fn to_i128_scaled(&self, scale: i32) -> Option<i128> {
        if self.is_zero() {
            return Some(0);
        }
        let shift = self.exponent as i64 + scale as i64;
        if shift < 0 || self.digits.len() as i64 + shift > 38 {
            return None;
        }
        let mut v: i128 = 0;
        for b in self.digits.bytes() {
            v = v * 10 + (b - b'0') as i128;
        }
        for _ in 0..shift {
            v *= 10;
        }
        Some(if self.negative { -v } else { v })
    }

    /// Inverse of [`Number::to_i128_scaled`].
    pub fn from_i128_scaled(value: i128, scale: i32) -> Result<Number, NumberError> {
        let negative = value < 0;
        let digits = value.unsigned_abs().to_string();
        Number::from_parts(negative, digits, -(scale as i64))
    }

    pub fn from_i64(value: i64) -> Number {
        Number::from_i128_scaled(value as i128, 0).expect("an i64 is always a valid DynamoDB number")
    }

    /// Nearest `f64`, for display and approximate arithmetic only.
    pub fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }
}

fn parse_exponent(text: &str) -> Option<i64> {
    let (neg, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if rest.is_empty() || rest.len() > 9 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i64 = rest.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// Canonical text: plain notation when it stays short (as DynamoDB returns
/// most numbers), scientific `d.dddE±x` for very large or small magnitudes.
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        if self.negative {
            f.write_str("-")?;
        }
        let n = self.digits.len() as i64;
        let e = self.exponent as i64;
        let magnitude = n + e - 1;
        if (-7..=40).contains(&magnitude) {
            if e >= 0 {
                f.write_str(&self.digits)?;
                for _ in 0..e {
                    f.write_str("0")?;
                }
            } else if n + e > 0 {
                let point = (n + e) as usize;
                write!(f, "{}.{}", &self.digits[..point], &self.digits[point..])?;
            } else {
                f.write_str("0.")?;
                for _ in 0..-(n + e) {
                    f.write_str("0")?;
                }
                f.write_str(&self.digits)?;
            }
            Ok(())
        } else {
            let (first, rest) = self.digits.split_at(1);
            if rest.is_empty() { write!(f, "{first}E{magnitude}") } else { write!(f, "{first}.{rest}E{magnitude}") }
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "N({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        Number::parse(s).unwrap().to_string()
    }

    #[test]
    fn compares_by_value() {
        let order = ["-1E+125", "-2.5", "-0.001", "0", "1E-130", "0.5", "1", "1.5", "10", "99999", "1E+125"];
        for (i, a) in order.iter().enumerate() {
            for (j, b) in order.iter().enumerate() {
                let (x, y) = (Number::parse(a).unwrap(), Number::parse(b).unwrap());
                assert_eq!(x.cmp_value(&y), i.cmp(&j), "{a} vs {b}");
            }
        }
        assert_eq!(Number::parse("1.50").unwrap().cmp_value(&Number::parse("15E-1").unwrap()), std::cmp::Ordering::Equal);
    }

    #[test]
    fn normalises_equal_values() {
        assert_eq!(Number::parse("1.50").unwrap(), Number::parse("15E-1").unwrap());
        assert_eq!(canon("1.50"), "1.5");
        assert_eq!(canon("-0.000"), "0");
        assert_eq!(canon("+007"), "7");
        assert_eq!(canon("1200"), "1200");
        assert_eq!(canon("0.0012"), "0.0012");
        assert_eq!(canon("1E-130"), "1E-130");
        assert_eq!(canon("9.99E+125"), "9.99E125");
        assert_eq!(canon(".5"), "0.5");
        assert_eq!(canon("5."), "5");
    }

    #[test]
    fn keeps_38_digits() {
        let s = "12345678901234567890123456789012345678";
        assert_eq!(canon(s), s);
        let neg = "-0.12345678901234567890123456789012345678";
        assert_eq!(canon(neg), neg);
        assert!(matches!(Number::parse(&format!("{s}9")), Err(NumberError::TooPrecise(_))));
    }

    #[test]
    fn range_limits() {
        assert!(Number::parse("1E-131").is_err());
        assert!(Number::parse("1E126").is_err());
        assert!(Number::parse("9.9999999999999999999999999999999999999E+125").is_ok());
        for bad in ["", "-", "1e", "abc", "1.2.3", "1e+", "NaN", "Infinity", "0x10", " 1"] {
            assert!(Number::parse(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn significant_digits_agrees_with_parse() {
        let cases = [
            "0",
            "-0",
            "00.000",
            "1",
            "+1",
            "-1.50",
            "1200",
            "0.0012",
            "1E-130",
            "1E-131",
            "9.99E+125",
            "1E126",
            ".5",
            "5.",
            "",
            "-",
            "1e",
            "1e+",
            "abc",
            "1.2.3",
            "0x10",
            " 1",
            "12345678901234567890123456789012345678",
            "123456789012345678901234567890123456789",
            "1234567890123456789012345678901234567800",
            "0.000000000000000000000000000000000000000012345",
            "10E-131",
            "0.1E-129",
            "1e999999999",
        ];
        for c in cases {
            assert_eq!(Number::significant_digits(c), Number::parse(c).ok().map(|n| n.digits().len()), "{c:?}");
        }
    }

    #[test]
    fn integer_and_decimal_views() {
        let n = Number::parse("-9223372036854775808").unwrap();
        assert_eq!(n.to_i64(), Some(i64::MIN));
        assert_eq!(Number::parse("9223372036854775808").unwrap().to_i64(), None);
        assert_eq!(Number::parse("1.5").unwrap().to_i64(), None);
        let d = Number::parse("-12.345").unwrap();
        assert_eq!(d.to_i128_scaled(3), Some(-12345));
        assert_eq!(d.to_i128_scaled(2), None);
        assert_eq!(Number::from_i128_scaled(-12345, 3).unwrap(), d);
        assert_eq!(d.integer_digits(), 2);
        assert_eq!(d.fraction_digits(), 3);
    }

    #[test]
    fn display_round_trips() {
        for s in ["1E-130", "9.99E125", "123.456", "0.00000001", "1E40", "12345678901234567890123456789012345678E20"] {
            let n = Number::parse(s).unwrap();
            assert_eq!(Number::parse(&n.to_string()).unwrap(), n, "{s}");
        }
    }
}
