//! A Contact model as Amplify Gen 2 stores it: `id`, `__typename`,
//! `createdAt`/`updatedAt`, `owner`, optional fields written as NULL, a
//! nested address, a string set, and `age` as N with planted drift to S.

use std::collections::BTreeMap;

use super::writer::Rng;
use crate::item::{AttrValue, Item, Number};

const FIRST: [&str; 8] = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"];
const LAST: [&str; 8] = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"];
const CITIES: [&str; 6] = ["Zürich", "Oslo", "Lyon", "Kraków", "Porto", "Tartu"];

/// Item number `i` of a seed, as of `version` (0 = the full export's state).
pub fn contact_item(seed: u64, i: u64, drift_rate: f64, version: u64) -> Item {
    let mut r = Rng::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i);
    let mut item = BTreeMap::new();
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        r.next_u64() as u32,
        r.below(1 << 16),
        r.below(1 << 12),
        r.below(1 << 12),
        r.next_u64() >> 16
    );
    let s = |v: String| AttrValue::S(v);
    item.insert("id".into(), s(id));
    item.insert("__typename".into(), s("Contact".into()));
    let first = FIRST[r.below(8) as usize];
    let last = LAST[r.below(8) as usize];
    if r.below(100) < 2 {
        item.insert("name".into(), AttrValue::Null);
    } else if r.below(100) >= 1 {
        item.insert("name".into(), s(format!("{first} {last}")));
    }
    item.insert("email".into(), s(format!("{}.{}{}@example.com", first.to_lowercase(), last.to_lowercase(), i)));
    if r.below(10) < 7 {
        item.insert("phone".into(), s(format!("+41{:09}", r.below(1_000_000_000))));
    } else {
        item.insert("phone".into(), AttrValue::Null);
    }
    let age = 18 + r.below(70);
    let drifted = (r.below(1_000_000) as f64) < drift_rate * 1_000_000.0;
    item.insert("age".into(), if drifted { s(format!("{age}")) } else { AttrValue::N(Number::from_i64(age as i64)) });
    let score = Number::from_i128_scaled(r.below(1_000_000) as i128 - 500_000, 3).expect("small decimal");
    item.insert("score".into(), AttrValue::N(score));
    item.insert("isActive".into(), AttrValue::Bool(r.below(2) == 0));
    let created = 1_700_000_000 + r.below(50_000_000) as i64;
    let updated = created + r.below(1_000_000) as i64 + version as i64 * 60;
    item.insert("createdAt".into(), s(iso(created)));
    item.insert("updatedAt".into(), s(iso(updated)));
    item.insert("owner".into(), s(format!("{:08x}-owner::user{}", r.next_u64() as u32, r.below(1000))));
    let mut address = BTreeMap::new();
    address.insert("city".into(), s(CITIES[r.below(6) as usize].into()));
    address.insert("zip".into(), s(format!("{:04}", r.below(10_000))));
    address.insert("lines".into(), AttrValue::L(vec![s(format!("{} Main St", r.below(999))), AttrValue::Null]));
    item.insert("address".into(), AttrValue::M(address));
    if r.below(3) == 0 {
        let mut tags = vec!["vip".to_string(), "newsletter".into(), "beta".into()];
        tags.truncate(1 + r.below(3) as usize);
        item.insert("tags".into(), AttrValue::Ss(tags));
    }
    if version > 0 {
        item.insert("schemaVersion".into(), AttrValue::N(Number::from_i64(2)));
    }
    item
}

fn iso(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()).unwrap_or_default()
}
