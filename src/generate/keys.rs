//! Primary keys as a pure function of (seed, model, index).
//!
//! A child item points at `key_of(parent, j)` for a random `j` below the
//! parent's count, computed on the spot: nothing about the parents is held,
//! so memory does not grow with the items. Uniqueness is by construction:
//! one key field (the partition key when it can) holds a *token*, a
//! bijective scramble of the index, so two indexes never share a key. A
//! dangling reference is the key of an index no item is ever given.

use super::rng::{Rng, mix64, stream};
use super::values;
use crate::checks::model::{Field, FieldType, Model, ModelIntrospection, Scalar};
use crate::item::{AttrValue, Number};

/// Indexes from here on are never given to items: keys of dangling references.
pub const DANGLING_BASE: u64 = 1 << 50;

/// Stream tag of the random (non-token) key fields.
const KEY_STREAM: u64 = 0x4B45_5953;

enum Part {
    /// Holds the index's token, formatted for the field's scalar type.
    Token(Scalar),
    /// A valid random value (sort keys beside the token).
    Random(Field),
}

/// How a model's key fields are made.
pub struct KeySpec {
    model_key: u64,
    names: Vec<String>,
    parts: Vec<Part>,
}

impl KeySpec {
    /// `model_key` is the model's stream id (seed and name).
    pub fn new(model: &Model, model_key: u64) -> Result<KeySpec, String> {
        let names: Vec<String> = model.key_fields().into_iter().map(str::to_string).collect();
        let scalar_of = |name: &str| match model.fields.get(name).map(|f| (&f.ty, f.is_array)) {
            None => Some(Scalar::ID),
            Some((FieldType::Scalar(s), false)) if token_capable(*s) => Some(*s),
            _ => None,
        };
        let holder = names.iter().position(|n| scalar_of(n).is_some()).ok_or_else(|| {
            format!(
                "none of its key fields ({}) can hold unique values (ID, String, a number, AWSEmail, AWSURL, AWSPhone or AWSIPAddress)",
                names.join(", ")
            )
        })?;
        let mut parts = Vec::new();
        for (i, n) in names.iter().enumerate() {
            parts.push(match (i == holder, model.fields.get(n)) {
                (true, _) => Part::Token(scalar_of(n).unwrap_or(Scalar::ID)),
                (false, Some(f)) => Part::Random(f.clone()),
                (false, None) => Part::Random(id_field(n)),
            });
        }
        Ok(KeySpec { model_key, names, parts })
    }

    /// The key fields, partition key first.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The key values of item `index`, in the order of [`KeySpec::names`].
    pub fn values(&self, intro: &ModelIntrospection, index: u64) -> Vec<AttrValue> {
        let mut rng = stream(&[self.model_key, KEY_STREAM, index]);
        let token = mix64(index ^ self.model_key);
        self.parts
            .iter()
            .map(|p| match p {
                Part::Token(s) => token_value(*s, token, index, &mut rng),
                Part::Random(f) => values::field(intro, f, &mut rng, None, 0),
            })
            .collect()
    }
}

pub(super) fn id_field(name: &str) -> Field {
    Field {
        name: name.to_string(),
        ty: FieldType::Scalar(Scalar::ID),
        is_array: false,
        is_required: true,
        is_array_nullable: None,
        is_read_only: false,
        association: None,
    }
}

fn token_capable(s: Scalar) -> bool {
    matches!(
        s,
        Scalar::ID
            | Scalar::String
            | Scalar::Int
            | Scalar::Float
            | Scalar::AWSTimestamp
            | Scalar::AWSEmail
            | Scalar::AWSURL
            | Scalar::AWSPhone
            | Scalar::AWSIPAddress
    )
}

/// A unique value of scalar `s` for `token` (numbers count items from 1).
fn token_value(s: Scalar, token: u64, index: u64, rng: &mut Rng) -> AttrValue {
    let st = AttrValue::S;
    match s {
        Scalar::Int | Scalar::Float | Scalar::AWSTimestamp => AttrValue::N(Number::from_i64(index as i64 + 1)),
        Scalar::AWSEmail => st(format!("user-{token:016x}@example.com")),
        Scalar::AWSURL => st(format!("https://example.com/r/{token:016x}")),
        Scalar::AWSPhone => st(format!("+1 {token}")),
        Scalar::AWSIPAddress => {
            st(format!("fd00:{:x}:{:x}:{:x}:{:x}", token >> 48, (token >> 32) & 0xffff, (token >> 16) & 0xffff, token & 0xffff))
        }
        _ => st(values::uuid_of(token, rng.next_u64())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn model(json: &str) -> (ModelIntrospection, Model) {
        let intro = ModelIntrospection::parse("t", json.as_bytes()).unwrap();
        let m = intro.models.values().next().unwrap().clone();
        (intro, m)
    }

    #[test]
    fn keys_are_unique_pure_and_never_dangling_ones() {
        let (intro, m) = model(
            r#"{"models":{"T":{"name":"T","primaryKeyInfo":{"isCustomPrimaryKey":true,"primaryKeyFieldName":"kind","sortKeyFieldNames":["sku"]},
            "fields":{"kind":{"name":"kind","type":"Boolean","isRequired":true},"sku":{"name":"sku","type":"String","isRequired":true}}}}}"#,
        );
        let spec = KeySpec::new(&m, 99).unwrap();
        let keys: HashSet<String> = (0..20_000).map(|i| format!("{:?}", spec.values(&intro, i))).collect();
        assert_eq!(keys.len(), 20_000);
        assert_eq!(spec.values(&intro, 7), spec.values(&intro, 7));
        assert!(matches!(spec.values(&intro, 7)[0], AttrValue::Bool(_)), "the Boolean partition key stays a Boolean");
        assert!(!keys.contains(&format!("{:?}", spec.values(&intro, DANGLING_BASE + 3))));
    }

    #[test]
    fn a_model_whose_keys_cannot_be_unique_is_refused() {
        let (_, m) = model(
            r#"{"models":{"T":{"name":"T","primaryKeyInfo":{"isCustomPrimaryKey":true,"primaryKeyFieldName":"on","sortKeyFieldNames":[]},
            "fields":{"on":{"name":"on","type":"AWSDate","isRequired":true}}}}}"#,
        );
        match KeySpec::new(&m, 1) {
            Err(e) => assert!(e.contains("(on)"), "{e}"),
            Ok(_) => panic!("an AWSDate key cannot be unique"),
        }
    }
}
