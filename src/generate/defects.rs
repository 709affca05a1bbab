//! Planted defects: which items get one, and what a defect writes.
//!
//! Each item draws at most one defect kind from its own seeded stream, so
//! the defective items are a deterministic set that does not depend on
//! threads or on the item's version (an update keeps its item's defect).
//! Every bad value here is built to fail exactly one generated check (the
//! type check for a wrong type, the format or enum check for a bad format)
//! and nothing else, so the ground truth can name that check.

use serde::Serialize;

use super::options::{GenerateError, Result};
use super::rng::Rng;
use crate::checks::generate::allowed_types;
use crate::checks::model::{Field, FieldType, ModelIntrospection, Scalar};
use crate::item::{AttrValue, Number};

/// The kinds of defect, in the order their rates are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DefectKind {
    /// A required non-key field absent or NULL.
    MissingRequired,
    /// A field holding a DynamoDB type its field type does not allow.
    WrongType,
    /// A belongsTo foreign key naming no parent item.
    DanglingRef,
    /// A string scalar failing its format rule, or an enum outside its values.
    BadFormat,
}

impl DefectKind {
    pub const ALL: [DefectKind; 4] = [DefectKind::MissingRequired, DefectKind::WrongType, DefectKind::DanglingRef, DefectKind::BadFormat];

    pub fn name(self) -> &'static str {
        match self {
            DefectKind::MissingRequired => "missing_required",
            DefectKind::WrongType => "wrong_type",
            DefectKind::DanglingRef => "dangling_ref",
            DefectKind::BadFormat => "bad_format",
        }
    }
}

/// The fraction of items receiving each kind of defect.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DefectRates(pub [f64; 4]);

impl DefectRates {
    /// `missing_required=0.001,wrong_type=0.001,...`; kinds not named are 0.
    pub fn parse(text: &str) -> Result<DefectRates> {
        let bad = |cause: String| GenerateError::Flag { flag: "--defects", value: text.to_string(), cause };
        let mut rates = [0.0; 4];
        let mut given = [false; 4];
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, rate) = part.split_once('=').ok_or_else(|| bad(format!("{part:?} is not KIND=RATE")))?;
            let kind = DefectKind::ALL
                .iter()
                .position(|k| k.name() == name.trim())
                .ok_or_else(|| bad(format!("unknown kind {:?}; kinds: {}", name.trim(), DefectKind::ALL.map(|k| k.name()).join(", "))))?;
            if std::mem::replace(&mut given[kind], true) {
                return Err(bad(format!("{} is given twice", DefectKind::ALL[kind].name())));
            }
            rates[kind] = match rate.trim().parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => r,
                _ => return Err(bad(format!("{:?} is not a rate between 0 and 1", rate.trim()))),
            };
        }
        if rates.iter().sum::<f64>() > 1.0 {
            return Err(bad("the rates add up to more than 1 (an item holds at most one defect)".into()));
        }
        Ok(DefectRates(rates))
    }

    /// The defect an item gets, if any.
    pub fn choose(&self, rng: &mut Rng) -> Option<DefectKind> {
        let mut u = rng.unit();
        for (kind, rate) in DefectKind::ALL.into_iter().zip(self.0) {
            if u < rate {
                return Some(kind);
            }
            u -= rate;
        }
        None
    }
}

/// The first DynamoDB type (S, N, BOOL) a field does not allow; lists of
/// strings drift to string sets, as they do when written by other tools.
pub fn wrong_type_name(f: &Field) -> Option<&'static str> {
    let allowed = allowed_types(&f.ty, f.is_array);
    if allowed.is_empty() {
        return None;
    }
    let stringy = matches!(f.ty, FieldType::Scalar(Scalar::String | Scalar::ID) | FieldType::Enum { .. });
    if f.is_array && stringy {
        return Some("SS");
    }
    ["S", "N", "BOOL"].into_iter().find(|t| !allowed.contains(t))
}

/// A value of type `ty` that reads like a drifted version of the field's
/// value: numbers as their text, booleans as "true", maps as JSON text.
pub fn drifted(f: &Field, ty: &str, rng: &mut Rng) -> AttrValue {
    match (ty, &f.ty) {
        ("S", FieldType::Scalar(Scalar::Int | Scalar::AWSTimestamp)) => AttrValue::S(rng.range(0, 999).to_string()),
        ("S", FieldType::Scalar(Scalar::Float)) => AttrValue::S(format!("{}.{:02}", rng.below(1000), rng.below(100))),
        ("S", FieldType::Scalar(Scalar::Boolean)) => AttrValue::S(if rng.below(2) == 0 { "true" } else { "false" }.into()),
        ("S", FieldType::NonModel { .. }) => AttrValue::S("{\"city\":\"Oslo\"}".into()),
        ("N", _) => AttrValue::N(Number::from_i64(rng.range(0, 99_999))),
        _ => super::values::of_type(ty, rng, None),
    }
}

/// The check (suffix) a bad value of this field fails, when it has a format.
pub fn format_check(f: &Field) -> Option<&'static str> {
    match (&f.ty, f.is_array) {
        (_, true) => None,
        (FieldType::Enum { .. }, _) => Some("enum"),
        (FieldType::Scalar(s), _) if crate::checks::generate::format_regex(*s).is_some() => Some("format"),
        _ => None,
    }
}

/// A value failing the field's format rule (or outside its enum).
pub fn bad_format(intro: &ModelIntrospection, f: &Field, rng: &mut Rng) -> Option<AttrValue> {
    let bad: &[&str] = match &f.ty {
        FieldType::Enum { name } => {
            let values = &intro.enums.get(name)?.values;
            let base = values.first().map(String::as_str).unwrap_or("value");
            let mut v = base.to_lowercase();
            while values.contains(&v) {
                v.push_str("_old");
            }
            return Some(AttrValue::S(v));
        }
        FieldType::Scalar(Scalar::AWSEmail) => &["not-an-email", "ada.lovelace@", "ada at example.com", "@example.com"],
        FieldType::Scalar(Scalar::AWSDate) => &["03/02/1990", "1990-2-3", "19900203", "31.12.1999"],
        FieldType::Scalar(Scalar::AWSDateTime) => &["2024-01-02 03:04:05", "2024-01-02T03:04:05", "02/01/2024 03:04"],
        FieldType::Scalar(Scalar::AWSTime) => &["25h30", "noon", "3pm"],
        FieldType::Scalar(Scalar::AWSURL) => &["www.example.com/a", "example dot com", "http//example.com"],
        FieldType::Scalar(Scalar::AWSPhone) => &["call me", "n/a", "12"],
        FieldType::Scalar(Scalar::AWSIPAddress) => &["localhost", "999.1", "not-an-ip"],
        _ => return None,
    };
    Some(AttrValue::S(rng.pick(bad).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::generate::format_regex;

    fn field(ty: FieldType, is_array: bool) -> Field {
        Field { name: "f".into(), ty, is_array, is_required: false, is_array_nullable: None, is_read_only: false, association: None }
    }

    #[test]
    fn rates_parse_and_partition_the_items() {
        let r = DefectRates::parse("missing_required=0.1, bad_format=0.2").unwrap();
        assert_eq!(r.0, [0.1, 0.0, 0.0, 0.2]);
        for bad in ["nope=0.1", "wrong_type", "wrong_type=2", "wrong_type=0.6,bad_format=0.6", "wrong_type=0.1,wrong_type=0.2"] {
            assert!(DefectRates::parse(bad).is_err(), "{bad}");
        }
        let mut rng = Rng::new(3);
        let mut counts = [0u32; 5];
        for _ in 0..100_000 {
            counts[r.choose(&mut rng).map_or(4, |k| k as usize)] += 1;
        }
        assert!((9_500..10_500).contains(&counts[0]) && (19_300..20_700).contains(&counts[3]), "{counts:?}");
        assert_eq!(counts[1] + counts[2], 0);
    }

    #[test]
    fn bad_values_fail_their_rule_and_wrong_types_are_not_allowed() {
        let mut rng = Rng::new(4);
        let intro = ModelIntrospection::parse("t", br#"{"models":{},"enums":{"E":{"name":"E","values":["A","a"]}}}"#).unwrap();
        for s in [
            Scalar::AWSEmail,
            Scalar::AWSDate,
            Scalar::AWSDateTime,
            Scalar::AWSTime,
            Scalar::AWSURL,
            Scalar::AWSPhone,
            Scalar::AWSIPAddress,
        ] {
            let re = regex::Regex::new(format_regex(s).unwrap()).unwrap();
            for _ in 0..50 {
                let Some(AttrValue::S(v)) = bad_format(&intro, &field(FieldType::Scalar(s), false), &mut rng) else { panic!() };
                assert!(!re.is_match(&v), "{s:?}: {v}");
            }
        }
        let e = bad_format(&intro, &field(FieldType::Enum { name: "E".into() }, false), &mut rng).unwrap();
        assert_eq!(e, AttrValue::S("a_old".into()));
        for (ty, array) in [
            (FieldType::Scalar(Scalar::Int), false),
            (FieldType::Scalar(Scalar::AWSJSON), false),
            (FieldType::Scalar(Scalar::String), true),
        ] {
            let f = field(ty, array);
            let t = wrong_type_name(&f).unwrap();
            assert!(!allowed_types(&f.ty, f.is_array).contains(&t));
            assert_eq!(drifted(&f, t, &mut rng).ddb_type().name(), t);
        }
    }
}
