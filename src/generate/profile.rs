//! A profile (`ddbsnap profile`'s JSON) as input to the generator.
//!
//! The profile module writes the file; this one reads it with its own
//! structs, leniently (every figure defaulted), so the two can evolve apart
//! as long as the documented shape holds. A [`Sampler`] turns one
//! attribute's figures into draws: presence, NULL, DynamoDB type, length
//! (piecewise uniform between the quantiles) and common values (`top`, by
//! their counts).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::options::{GenerateError, Result};
use super::rng::Rng;
use crate::snapshot::manifest::logical_table_name;

#[derive(Clone, Debug, Deserialize)]
pub struct Profile {
    pub format: String,
    #[serde(default)]
    pub tables: BTreeMap<String, TableProfile>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct TableProfile {
    #[serde(default)]
    pub items: u64,
    #[serde(default)]
    pub attributes: BTreeMap<String, AttrProfile>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct AttrProfile {
    /// Items holding the attribute, NULL included.
    #[serde(default)]
    pub present: u64,
    /// Items per DynamoDB type (`NULL` included when the profile counts it there).
    #[serde(default)]
    pub types: BTreeMap<String, u64>,
    #[serde(default)]
    pub nulls: u64,
    #[serde(default)]
    pub length: Option<Dist>,
    #[serde(default)]
    pub top: Vec<TopValue>,
}

/// Quantiles of a length distribution (`mean` and later additions ignored).
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Dist {
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TopValue {
    pub value: String,
    pub count: u64,
    /// `S`, `N` or `BOOL`; absent in hand-written profiles: any type.
    #[serde(rename = "type", default)]
    pub ty: Option<String>,
}

impl Profile {
    pub fn load(path: &Path) -> Result<Profile> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| crate::Error::io_path(path, e))?;
        Profile::parse(&file, &bytes)
    }

    pub fn parse(file: &str, bytes: &[u8]) -> Result<Profile> {
        let bad = |cause: String| GenerateError::Input { file: file.to_string(), cause };
        let p: Profile = serde_json::from_slice(bytes).map_err(|e| bad(format!("not a ddbsnap profile: {e}")))?;
        if !p.format.starts_with("ddbsnap-profile/") {
            return Err(bad(format!("format is {:?}, expected \"ddbsnap-profile/1\" (written by `ddbsnap profile`)", p.format)));
        }
        Ok(p)
    }

    /// A model's table, named after the model or by its physical name.
    pub fn table(&self, model: &str) -> Option<&TableProfile> {
        self.tables.get(model).or_else(|| self.tables.iter().find(|(k, _)| logical_table_name(k) == model).map(|(_, t)| t))
    }
}

/// Counts as cumulative probabilities, in the order given.
fn cumulative(counts: impl Iterator<Item = (String, u64)> + Clone) -> Vec<(String, f64)> {
    let total: u64 = counts.clone().map(|(_, n)| n).sum();
    let mut acc = 0;
    counts
        .map(|(v, n)| {
            acc += n;
            (v, acc as f64 / total.max(1) as f64)
        })
        .collect()
}

/// What one draw says about an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence<'a> {
    Absent,
    Null,
    /// Present with a value of this DynamoDB type (`None`: the profile names
    /// no type, so the field's own).
    Value(Option<&'a str>),
}

/// Draws for one attribute, from its profile figures.
#[derive(Clone, Debug)]
pub struct Sampler {
    present: f64,
    null: f64,
    /// Non-NULL types with cumulative probabilities.
    types: Vec<(String, f64)>,
    length: Option<Dist>,
    tops: Vec<Common>,
}

/// The common values of one type: the share of that type's values they
/// take, and the values with cumulative probabilities.
#[derive(Clone, Debug)]
struct Common {
    ty: String,
    share: f64,
    values: Vec<(String, f64)>,
}

impl Sampler {
    /// `keep(type, value)` filters common values (those the field could not hold validly).
    pub fn new(a: &AttrProfile, items: u64, keep: impl Fn(&str, &str) -> bool) -> Sampler {
        let ratio = |n: u64, d: u64| if d == 0 { 0.0 } else { (n as f64 / d as f64).min(1.0) };
        let nulls = a.nulls.max(a.types.get("NULL").copied().unwrap_or(0));
        let typed: Vec<(&String, u64)> = a.types.iter().filter(|(t, n)| t.as_str() != "NULL" && **n > 0).map(|(t, n)| (t, *n)).collect();
        let types = cumulative(typed.iter().map(|(t, n)| (t.to_string(), *n)));
        let mut tops = Vec::new();
        for (ty, n) in &typed {
            let values: Vec<&TopValue> =
                a.top.iter().filter(|v| v.ty.as_deref().is_none_or(|t| t == ty.as_str()) && v.count > 0 && keep(ty, &v.value)).collect();
            let sum: u64 = values.iter().map(|v| v.count).sum();
            if sum == 0 {
                continue;
            }
            tops.push(Common {
                ty: ty.to_string(),
                share: ratio(sum, *n),
                values: cumulative(values.iter().map(|v| (v.value.clone(), v.count))),
            });
        }
        Sampler { present: ratio(a.present, items), null: ratio(nulls, a.present), types, length: a.length, tops }
    }

    pub fn presence(&self, rng: &mut Rng) -> Presence<'_> {
        if !rng.chance(self.present) {
            return Presence::Absent;
        }
        if rng.chance(self.null) {
            return Presence::Null;
        }
        let u = rng.unit();
        Presence::Value(self.types.iter().find(|(_, c)| u < *c).or(self.types.last()).map(|(t, _)| t.as_str()))
    }

    /// A length drawn piecewise uniformly between min, p50, p90, p99 and max.
    pub fn length(&self, rng: &mut Rng) -> Option<usize> {
        let d = self.length?;
        let (u, segments) = (rng.unit(), [(0.5, d.min, d.p50), (0.9, d.p50, d.p90), (0.99, d.p90, d.p99), (1.0, d.p99, d.max)]);
        let mut lo_q = 0.0;
        for (q, lo, hi) in segments {
            if u < q {
                let x = lo + (hi - lo) * (u - lo_q) / (q - lo_q);
                return Some(x.round().max(0.0) as usize);
            }
            lo_q = q;
        }
        Some(d.max.round().max(0.0) as usize)
    }

    /// One of the common values of type `ty`, with the share they have.
    pub fn top(&self, ty: &str, rng: &mut Rng) -> Option<&str> {
        let common = self.tops.iter().find(|c| c.ty == ty)?;
        if !rng.chance(common.share) {
            return None;
        }
        let u = rng.unit();
        common.values.iter().find(|(_, c)| u < *c).or(common.values.last()).map(|(v, _)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ATTR: &str = r#"{"present": 800, "types": {"N": 600, "S": 100, "NULL": 100}, "nulls": 100,
        "length": {"min": 1, "p50": 3, "p90": 10, "p99": 20, "max": 40, "mean": 4.2},
        "top": [{"value": "7", "count": 300, "type": "N"}, {"value": "bad", "count": 50, "type": "S"}, {"value": "x", "count": 50, "type": "S"}]}"#;

    #[test]
    fn draws_follow_presence_nulls_types_lengths_and_common_values() {
        let a: AttrProfile = serde_json::from_str(ATTR).unwrap();
        let s = Sampler::new(&a, 1000, |_, v| v != "bad");
        let mut rng = Rng::new(1);
        let (mut absent, mut null, mut n, mut sv, mut sevens, mut xs) = (0, 0, 0, 0, 0, 0);
        for _ in 0..100_000 {
            match s.presence(&mut rng) {
                Presence::Absent => absent += 1,
                Presence::Null => null += 1,
                Presence::Value(Some("N")) => {
                    n += 1;
                    sevens += i32::from(s.top("N", &mut rng) == Some("7"));
                }
                Presence::Value(t) => {
                    assert_eq!(t, Some("S"));
                    sv += 1;
                    let top = s.top("S", &mut rng);
                    assert_ne!(top, Some("bad"), "filtered values are never drawn");
                    xs += i32::from(top == Some("x"));
                }
            }
        }
        let near = |got: i32, want: f64| (got as f64 / 100_000.0 - want).abs() < 0.006;
        assert!(near(absent, 0.2) && near(null, 0.1) && near(n, 0.6) && near(sv, 0.1), "{absent} {null} {n} {sv}");
        assert!((sevens as f64 / n as f64 - 0.5).abs() < 0.01, "300 of 600 N values are 7: {sevens}/{n}");
        assert!((xs as f64 / sv as f64 - 0.5).abs() < 0.02, "x keeps its share of S values: {xs}/{sv}");
        let mut lengths: Vec<usize> = (0..10_000).map(|_| s.length(&mut rng).unwrap()).collect();
        lengths.sort_unstable();
        assert!(lengths[0] >= 1 && lengths[9_999] <= 40);
        assert!((2..=4).contains(&lengths[5_000]) && (9..=11).contains(&lengths[9_000]), "p50 {} p90 {}", lengths[5_000], lengths[9_000]);
    }

    #[test]
    fn profiles_of_another_format_are_refused_naming_the_file() {
        let e = Profile::parse("p.json", br#"{"format": "x/1"}"#).unwrap_err().to_string();
        assert!(e.starts_with("p.json: ") && e.contains("ddbsnap-profile/1"), "{e}");
        let p = Profile::parse(
            "p.json",
            br#"{"format": "ddbsnap-profile/1", "tables": {"Contact-abcdefghijklmnopqrstuvwxyz-NONE": {"items": 3}}}"#,
        )
        .unwrap();
        assert_eq!(p.table("Contact").map(|t| t.items), Some(3), "physical names match their model");
    }
}
