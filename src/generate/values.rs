//! Values: valid ones for every Amplify field type, and ones of any
//! DynamoDB type (for type drift and attributes the model does not know).
//!
//! Valid means what the generated checks accept: each string scalar matches
//! its format rule in [`crate::checks::generate`], enums take their values,
//! custom types are maps holding their required fields, arrays are lists.
//! Values look like production's (names, emails, dates in the last years)
//! so that sizes and compression ratios are realistic too.

use std::collections::BTreeMap;

use chrono::{Datelike, Timelike};

use super::rng::Rng;
use crate::checks::model::{Field, FieldType, ModelIntrospection, Scalar};
use crate::item::{AttrValue, Number};

const FIRST: [&str; 12] = ["ada", "grace", "alan", "edsger", "barbara", "donald", "frances", "ken", "radia", "tim", "margaret", "linus"];
const LAST: [&str; 10] = ["lovelace", "hopper", "turing", "dijkstra", "liskov", "knuth", "allen", "thompson", "perlman", "hamilton"];
const CITIES: [&str; 8] = ["Zürich", "Oslo", "Lyon", "Kraków", "Porto", "Tartu", "Ghent", "Bergen"];
const SYLLABLES: [&str; 16] = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ber", "dan", "fel", "gor", "hin", "jul", "mar", "pen"];
const DOMAINS: [&str; 4] = ["example.com", "example.org", "mail.example.net", "corp.example.com"];
/// Name particles of three-word names (`Guido van Rossum`).
const PARTICLES: [&str; 4] = ["van", "de", "von", "da"];

/// Deepest custom type nesting written: deeper optional fields are left out.
const MAX_DEPTH: usize = 4;

/// Word-like text of exactly `len` characters (ASCII, so characters and bytes agree).
pub fn text(rng: &mut Rng, len: usize) -> String {
    let mut s = String::with_capacity(len + 4);
    while s.len() < len {
        if !s.is_empty() && rng.below(3) == 0 {
            s.push(' ');
        }
        let syllable: &&str = rng.pick(&SYLLABLES);
        s.push_str(syllable);
    }
    s.truncate(len);
    if s.ends_with(' ') {
        s.pop();
        s.push('a');
    }
    s
}

/// A random version-4 UUID.
pub fn uuid(rng: &mut Rng) -> String {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    uuid_of(a, b)
}

/// A version-4 UUID holding `token` whole (in its first and last groups), so
/// distinct tokens give distinct UUIDs.
pub fn uuid_of(token: u64, extra: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:04x}{:08x}",
        token >> 32,
        extra & 0xffff,
        (extra >> 16) & 0xfff,
        8 | ((extra >> 28) & 3),
        (extra >> 30) & 0xfff,
        (extra >> 42) & 0xffff,
        token & 0xffff_ffff
    )
}

fn n(v: i64) -> AttrValue {
    AttrValue::N(Number::from_i64(v))
}

/// Milliseconds from 2020-01-01 to 2025-12-31, as AWSDateTime text.
pub fn datetime_ms(ms: i64) -> String {
    // Written field by field: chrono's format strings are parsed on every
    // call, and two timestamps per item are on the hot path.
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else { return String::new() };
    let (d, h) = (t.date_naive(), t.time());
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        d.year(),
        d.month(),
        d.day(),
        h.hour(),
        h.minute(),
        h.second(),
        ms.rem_euclid(1000)
    )
}

/// People's names as production holds them: mostly two words, some one
/// (`Cher`), some three (`Mary Ann Evans`, `Guido van Rossum`), some written
/// `Last, First`, so that a split_name rehearsal meets the edge cases.
pub fn person_name(rng: &mut Rng) -> String {
    let first = capital(rng.pick::<&str>(&FIRST));
    let last = capital(rng.pick::<&str>(&LAST));
    match rng.below(20) {
        0..=1 => first,
        2..=3 => format!("{first} {} {last}", capital(rng.pick::<&str>(&FIRST))),
        4 => format!("{first} {} {last}", rng.pick(&PARTICLES)),
        5..=6 => format!("{last}, {first}"),
        _ => format!("{first} {last}"),
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// A String field whose name says what it holds (name, firstName, email,
/// phone, city, ...) gets a value like that; None: free text.
fn by_name(field: &str, rng: &mut Rng) -> Option<String> {
    let n = field.to_ascii_lowercase();
    let is = |words: &[&str]| words.iter().any(|w| n == *w);
    Some(if is(&["firstname", "givenname", "forename"]) {
        capital(rng.pick::<&str>(&FIRST))
    } else if is(&["lastname", "surname", "familyname"]) {
        capital(rng.pick::<&str>(&LAST))
    } else if is(&["name", "fullname", "displayname", "contactname", "customername", "personname"]) {
        person_name(rng)
    } else if n.contains("email") {
        let (f, l) = (rng.pick(&FIRST), rng.pick(&LAST));
        format!("{f}.{l}{}@{}", rng.below(10_000), rng.pick(&DOMAINS))
    } else if n.contains("phone") || n.contains("mobile") {
        format!("+41 79 {:03} {:02} {:02}", rng.below(1000), rng.below(100), rng.below(100))
    } else if n == "city" || n == "town" {
        rng.pick(&CITIES).to_string()
    } else {
        return None;
    })
}

/// A valid value of a string or number scalar; `len` shapes free text.
pub fn scalar(s: Scalar, rng: &mut Rng, len: Option<usize>) -> AttrValue {
    let st = AttrValue::S;
    match s {
        Scalar::ID => st(uuid(rng)),
        Scalar::String => st(match len {
            Some(l) => text(rng, l),
            None if rng.below(3) == 0 => rng.pick(&CITIES).to_string(),
            None => {
                let l = rng.range(4, 40) as usize;
                text(rng, l)
            }
        }),
        Scalar::Int => n(rng.range(0, 999)),
        Scalar::Float => AttrValue::N(Number::from_i128_scaled(rng.range(-50_000, 500_000) as i128, 2).expect("small decimal")),
        Scalar::Boolean => AttrValue::Bool(rng.below(2) == 0),
        Scalar::AWSDate => {
            let day = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).expect("valid date") + chrono::Days::new(rng.below(27_000));
            st(format!("{:04}-{:02}-{:02}", day.year(), day.month(), day.day()))
        }
        Scalar::AWSTime => st(match rng.below(2) {
            0 => format!("{:02}:{:02}:{:02}", rng.below(24), rng.below(60), rng.below(60)),
            _ => format!("{:02}:{:02}:{:02}.{:03}", rng.below(24), rng.below(60), rng.below(60), rng.below(1000)),
        }),
        Scalar::AWSDateTime => st(datetime_ms(1_577_836_800_000 + rng.below(189_000_000_000) as i64)),
        Scalar::AWSTimestamp => n(1_577_836_800 + rng.below(189_000_000) as i64),
        Scalar::AWSEmail => {
            let (f, l) = (rng.pick(&FIRST), rng.pick(&LAST));
            st(format!("{f}.{l}{}@{}", rng.below(10_000), rng.pick(&DOMAINS)))
        }
        Scalar::AWSJSON => st(format!("{{\"v\":{},\"tags\":[\"{}\"]}}", rng.below(1000), rng.pick(&SYLLABLES))),
        Scalar::AWSURL => st(format!("https://www.{}/p/{}", rng.pick(&DOMAINS), rng.below(100_000))),
        Scalar::AWSPhone => st(format!("+41 79 {:03} {:02} {:02}", rng.below(1000), rng.below(100), rng.below(100))),
        Scalar::AWSIPAddress => st(match rng.below(10) {
            0 => format!("2001:db8::{:x}:{:x}", rng.below(65_536), rng.below(65_536)),
            _ => format!("{}.{}.{}.{}", 1 + rng.below(223), rng.below(256), rng.below(256), 1 + rng.below(254)),
        }),
    }
}

/// A valid value of `f` (a list for arrays); `len` is the text length of
/// strings, or the element count of lists.
pub fn field(intro: &ModelIntrospection, f: &Field, rng: &mut Rng, len: Option<usize>, depth: usize) -> AttrValue {
    if let (false, None, FieldType::Scalar(Scalar::String)) = (f.is_array, len, &f.ty)
        && let Some(v) = by_name(&f.name, rng)
    {
        return AttrValue::S(v);
    }
    if !f.is_array {
        return element(intro, &f.ty, rng, len, depth);
    }
    // Lists of a custom type that holds such lists (a tree) stop growing
    // at MAX_DEPTH, as optional nested fields do.
    let deep = matches!(f.ty, FieldType::NonModel { .. }) && depth >= MAX_DEPTH;
    let count = if deep { 0 } else { len.unwrap_or_else(|| rng.below(4) as usize) };
    AttrValue::L((0..count).map(|_| element(intro, &f.ty, rng, None, depth)).collect())
}

/// One valid value of a field type.
pub fn element(intro: &ModelIntrospection, ty: &FieldType, rng: &mut Rng, len: Option<usize>, depth: usize) -> AttrValue {
    match ty {
        FieldType::Scalar(s) => scalar(*s, rng, len),
        FieldType::Enum { name } => match intro.enums.get(name).map(|e| e.values.as_slice()) {
            Some(values) if !values.is_empty() => AttrValue::S(rng.pick(values).clone()),
            _ => AttrValue::Null,
        },
        FieldType::NonModel { name } => custom(intro, name, rng, depth + 1),
        FieldType::Model { .. } => AttrValue::Null,
    }
}

/// A custom type as a map: required fields always, optional ones mostly.
fn custom(intro: &ModelIntrospection, name: &str, rng: &mut Rng, depth: usize) -> AttrValue {
    let mut m = BTreeMap::new();
    let Some(def) = intro.non_models.get(name) else { return AttrValue::M(m) };
    for f in def.fields.values() {
        let required = if f.is_array { f.is_array_nullable == Some(false) } else { f.is_required };
        let nested = matches!(f.ty, FieldType::NonModel { .. });
        if !required && (rng.below(10) < 2 || (nested && depth >= MAX_DEPTH)) {
            if rng.below(2) == 0 {
                m.insert(f.name.clone(), AttrValue::Null);
            }
            continue;
        }
        m.insert(f.name.clone(), field(intro, f, rng, None, depth));
    }
    AttrValue::M(m)
}

/// A value of DynamoDB type `ty` (`S`, `N`, `BOOL`, `NULL`, `B`, `M`, `L`,
/// `SS`, `NS`, `BS`), `len` long where the type has a length.
pub fn of_type(ty: &str, rng: &mut Rng, len: Option<usize>) -> AttrValue {
    let count = len.unwrap_or(1 + rng.below(3) as usize).max(1);
    match ty {
        "N" => {
            let digits = len.unwrap_or(1 + rng.below(4) as usize).clamp(1, 18) as u32;
            n(rng.range(10i64.pow(digits - 1) - i64::from(digits == 1), 10i64.pow(digits) - 1))
        }
        "BOOL" => AttrValue::Bool(rng.below(2) == 0),
        "NULL" => AttrValue::Null,
        "B" => AttrValue::B((0..count).map(|_| rng.below(256) as u8).collect()),
        "M" => AttrValue::M((0..count).map(|i| (format!("k{i}"), AttrValue::S(text(rng, 6)))).collect()),
        "L" => AttrValue::L((0..count).map(|_| AttrValue::S(text(rng, 6))).collect()),
        "SS" => AttrValue::Ss((0..count).map(|i| format!("{}{i}", text(rng, 5))).collect()),
        "NS" => AttrValue::Ns((0..count).map(|i| Number::from_i64(i as i64 * 10 + rng.below(10) as i64)).collect()),
        "BS" => AttrValue::Bs((0..count).map(|i| vec![i as u8, rng.below(256) as u8]).collect()),
        _ => AttrValue::S(text(rng, len.unwrap_or(8))),
    }
}

/// A common value from a profile (`S`, `N` or `BOOL` text) as a value.
pub fn from_text(ty: &str, value: &str) -> Option<AttrValue> {
    match ty {
        "S" => Some(AttrValue::S(value.to_string())),
        "N" => Number::parse(value).ok().map(AttrValue::N),
        "BOOL" => value.parse().ok().map(AttrValue::Bool),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::generate::format_regex;

    #[test]
    fn string_scalars_match_their_format_rules() {
        let mut rng = Rng::new(5);
        for s in [
            Scalar::AWSDate,
            Scalar::AWSTime,
            Scalar::AWSDateTime,
            Scalar::AWSEmail,
            Scalar::AWSURL,
            Scalar::AWSPhone,
            Scalar::AWSIPAddress,
        ] {
            let re = regex::Regex::new(format_regex(s).unwrap()).unwrap();
            for _ in 0..2000 {
                let AttrValue::S(v) = scalar(s, &mut rng, None) else { panic!("{s:?} is not a string") };
                assert!(re.is_match(&v), "{s:?}: {v}");
            }
        }
        for _ in 0..200 {
            let AttrValue::S(j) = scalar(Scalar::AWSJSON, &mut rng, None) else { panic!() };
            serde_json::from_str::<serde_json::Value>(&j).unwrap();
        }
    }

    #[test]
    fn names_have_one_two_and_three_words_and_the_last_first_form() {
        let mut rng = Rng::new(9);
        let names: Vec<String> = (0..2000).map(|_| person_name(&mut rng)).collect();
        let words = |k: usize| names.iter().filter(|n| !n.contains(',') && n.split(' ').count() == k).count();
        let comma = names.iter().filter(|n| n.contains(", ")).count();
        for (what, count) in [("one word", words(1)), ("two words", words(2)), ("three words", words(3)), ("Last, First", comma)] {
            assert!(count > 100, "{what}: {count} of 2000");
        }
        assert!(names.iter().all(|n| n.chars().next().is_some_and(char::is_uppercase)), "capitalised");
        assert_eq!(by_name("firstName", &mut rng).map(|n| n.split(' ').count()), Some(1));
        assert!(by_name("workEmail", &mut rng).is_some_and(|e| e.contains('@')));
        assert_eq!(by_name("body", &mut rng), None);
    }

    #[test]
    fn timestamps_are_aws_datetimes_with_milliseconds() {
        assert_eq!(datetime_ms(1_767_225_600_007), "2026-01-01T00:00:00.007Z");
        assert_eq!(datetime_ms(1_577_836_799_999), "2019-12-31T23:59:59.999Z");
    }

    #[test]
    fn text_has_the_length_asked_and_uuids_keep_their_token() {
        let mut rng = Rng::new(1);
        for len in 0..60 {
            assert_eq!(text(&mut rng, len).chars().count(), len);
        }
        let a = uuid_of(0x0123_4567_89ab_cdef, 7);
        assert!(a.starts_with("01234567-") && a.ends_with("89abcdef") && a.len() == 36, "{a}");
        assert_ne!(uuid_of(1, 7), uuid_of(2, 7));
    }

    #[test]
    fn values_of_each_type_have_that_type_and_length() {
        let mut rng = Rng::new(2);
        for ty in ["S", "N", "BOOL", "NULL", "B", "M", "L", "SS", "NS", "BS"] {
            assert_eq!(of_type(ty, &mut rng, Some(3)).ddb_type().name(), ty);
        }
        let AttrValue::N(v) = of_type("N", &mut rng, Some(5)) else { panic!() };
        assert_eq!(v.to_string().len(), 5);
    }
}
