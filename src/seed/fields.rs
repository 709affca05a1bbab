//! Amplify's own fields, filled as the app would write them when a CSV row
//! leaves them out: `id` (a UUID), `__typename`, `createdAt` and `updatedAt`
//! (now, as AWSDateTime), and the owner field of owner-auth models from
//! `--owner sub::username`. Values the row gives are kept.

use sha2::{Digest, Sha256};

use crate::checks::model::Model;
use crate::item::{AttrValue, Item};

/// What is filled, once per load.
pub struct Filler {
    /// AWSDateTime of the load, e.g. 2026-12-07T05:16:00.000Z.
    pub now: String,
    /// `--owner`, as Amplify stores it (`sub::username`).
    pub owner: Option<String>,
    /// Seeds ids: the same file and row give the same id on every run, so a
    /// resumed load writes the same items.
    pub id_seed: String,
}

impl Filler {
    /// Fills the missing fields of `item`, a row at `line` of a CSV of `model`.
    pub fn fill(&self, model: &Model, line: u64, item: &mut Item) {
        if fills_id(model) && !item.contains_key("id") {
            item.insert("id".into(), AttrValue::S(self.id(&model.name, line)));
        }
        item.entry("__typename".into()).or_insert_with(|| AttrValue::S(model.name.clone()));
        for f in ["createdAt", "updatedAt"] {
            if model.fields.contains_key(f) {
                item.entry(f.into()).or_insert_with(|| AttrValue::S(self.now.clone()));
            }
        }
        if let Some(owner) = &self.owner {
            for f in model.owner_fields() {
                item.entry(f).or_insert_with(|| AttrValue::S(owner.clone()));
            }
        }
        fill_composites(model, item);
    }

    /// A UUID (version 8, from SHA-256 of the seed, model and line).
    fn id(&self, model: &str, line: u64) -> String {
        let h = Sha256::digest(format!("{}\0{model}\0{line}", self.id_seed));
        let mut b = [0u8; 16];
        b.copy_from_slice(&h[..16]);
        b[6] = (b[6] & 0x0f) | 0x80;
        b[8] = (b[8] & 0x3f) | 0x80;
        let x = hex::encode(b);
        format!("{}-{}-{}-{}-{}", &x[..8], &x[8..12], &x[12..16], &x[16..20], &x[20..])
    }
}

/// Whether a row's missing `id` is filled: the model is keyed by `id`, as Amplify's default key is.
pub fn fills_id(model: &Model) -> bool {
    model.key_fields().first() == Some(&"id")
}

/// Amplify's composite sort keys (two or more sort key fields, of the
/// primary key or an index) live in one attribute, `status#createdAt`,
/// holding `ACTIVE#2026-01-01T00:00:00.000Z`: filled when every part is
/// there (an index is sparse otherwise; a primary key then fails the key check).
fn fill_composites(model: &Model, item: &mut Item) {
    let key: Vec<String> = model.key_fields().iter().map(|s| s.to_string()).collect();
    let sorts = std::iter::once(key).chain(model.indexes().into_iter().map(|i| i.fields)).filter(|f| f.len() > 2).map(|f| f[1..].to_vec());
    for sort in sorts {
        let name = crate::rehearse::tables::composite_name(&sort);
        if item.contains_key(&name) {
            continue;
        }
        let parts: Option<Vec<String>> = sort
            .iter()
            .map(|f| match item.get(f) {
                Some(AttrValue::S(s)) => Some(s.clone()),
                Some(AttrValue::N(n)) => Some(n.to_string()),
                Some(AttrValue::Bool(b)) => Some(b.to_string()),
                _ => None,
            })
            .collect();
        if let Some(parts) = parts {
            item.insert(name, AttrValue::S(parts.join("#")));
        }
    }
}

/// `--owner` must be Amplify's `sub::username` (or a bare sub, as Gen 2
/// stores for some rules); a stray space or empty part is a mistake.
pub fn check_owner(owner: &str) -> std::result::Result<(), String> {
    if owner.is_empty() || owner.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("--owner {owner:?}: give the user's sub::username (no spaces)"));
    }
    if owner.contains("::") && owner.split("::").any(str::is_empty) {
        return Err(format!("--owner {owner:?}: both parts of sub::username must be given"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids_stable_per_row() {
        let f = Filler { now: "2026-12-07T05:16:00.000Z".into(), owner: None, id_seed: "abc".into() };
        let a = f.id("Contact", 2);
        assert_eq!(a, f.id("Contact", 2));
        assert_ne!(a, f.id("Contact", 3));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
        assert!(check_owner("sub-1::alice").is_ok());
        assert!(check_owner("sub-1::").is_err() && check_owner("a b").is_err());
    }
}
