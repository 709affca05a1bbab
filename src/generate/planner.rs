//! Planning one model: roles of its fields, profile samplers, the defects
//! each field can carry and the names of the checks that catch them.
//!
//! Check names are interned here (a model's items report violations as
//! indexes into its list), written as `ddbsnap check` names them:
//! `<Model>.<field>.required|type|format|enum` and
//! `<Model>.<belongsToField>.reference`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::defects::{DefectKind, DefectRates, format_check, wrong_type_name};
use super::keys::KeySpec;
use super::options::{GenerateError, Result};
use super::profile::{Sampler, TableProfile};
use super::rng::hash_str;
use super::shape::{FieldPlan, RefPlan, Role, references};
use crate::checks::generate::{allowed_types, valid_format};
use crate::checks::model::{ConnectionType, Field, FieldType, Model, ModelIntrospection, Scalar};

/// Attributes Amplify writes itself, never taken from a profile as extras.
const META: [&str; 6] = ["__typename", "createdAt", "updatedAt", "_version", "_lastChangedAt", "_deleted"];

pub(super) struct Planner<'a> {
    intro: &'a ModelIntrospection,
    model: &'a Model,
    profile: Option<&'a TableProfile>,
    pub fields: Vec<FieldPlan>,
    pub refs: Vec<RefPlan>,
    pub composites: Vec<(String, Vec<String>)>,
    pub eligible: [Vec<usize>; 4],
    pub checks: Vec<String>,
    rates: DefectRates,
}

impl<'a> Planner<'a> {
    pub fn new(intro: &'a ModelIntrospection, model: &'a Model, profile: Option<&'a TableProfile>, rates: DefectRates) -> Self {
        let composites = model
            .indexes()
            .into_iter()
            .filter_map(|idx| {
                let sort = idx.fields.get(1..).unwrap_or_default();
                let stringy = |f: &String| model.fields.get(f).is_some_and(|d| !d.is_array && allowed_types(&d.ty, false) == ["S"]);
                (sort.len() > 1 && sort.iter().all(stringy)).then(|| (sort.join("#"), sort.to_vec()))
            })
            .collect();
        Planner {
            intro,
            model,
            profile,
            fields: Vec::new(),
            refs: Vec::new(),
            composites,
            eligible: Default::default(),
            checks: Vec::new(),
            rates,
        }
    }

    fn check(&mut self, name: String) -> u32 {
        if let Some(i) = self.checks.iter().position(|c| *c == name) {
            return i as u32;
        }
        self.checks.push(name);
        (self.checks.len() - 1) as u32
    }

    pub fn plan_fields(&mut self) -> Result<()> {
        let keys = self.model.key_fields();
        let fks: BTreeSet<&str> = references(self.model).flat_map(|(_, _, t)| t.iter().map(String::as_str)).collect();
        let owners = self.model.owner_fields();
        let part = |n: &str| self.composites.iter().any(|(_, parts)| parts.iter().any(|p| p == n));
        let mut planned = Vec::new();
        for f in self.model.stored_fields() {
            let role = match f.name.as_str() {
                n if keys.contains(&n) && fks.contains(n) => {
                    return Err(GenerateError::Model {
                        model: self.model.name.clone(),
                        cause: format!(
                            "key field {n} is also a foreign key; generate cannot keep such keys both unique and pointing at parents"
                        ),
                    });
                }
                n if keys.contains(&n) => Role::Key,
                n if fks.contains(n) => Role::Ref(usize::MAX),
                "createdAt" => Role::Created,
                "updatedAt" => Role::Updated,
                n if owners.iter().any(|o| o == n) => Role::Owner,
                _ => Role::Plain,
            };
            planned.push((f.clone(), role, role == Role::Plain && !part(&f.name)));
        }
        for n in fks.iter().filter(|n| !self.model.fields.contains_key(**n)) {
            planned.push((super::keys::id_field(n), Role::Ref(usize::MAX), false));
        }
        for (field, role, drift) in planned {
            self.add_field(field, role, drift);
        }
        Ok(())
    }

    fn add_field(&mut self, field: Field, role: Role, drift: bool) {
        let m = self.model.name.clone();
        let required = if field.is_array { field.is_array_nullable == Some(false) } else { field.is_required };
        let check_required = self.check(format!("{m}.{}.required", field.name));
        let check_type = self.check(format!("{m}.{}.type", field.name));
        let check_format = format_check(&field).map(|suffix| self.check(format!("{m}.{}.{suffix}", field.name)));
        let sampler = self
            .profile
            .and_then(|t| t.attributes.get(&field.name).map(|a| Sampler::new(a, t.items, |ty, v| keeps(self.intro, &field, ty, v))));
        let stream = hash_str(&field.name);
        self.fields.push(FieldPlan { field, stream, role, required, sampler, drift, check_required, check_type, check_format });
    }

    pub fn plan_refs(&mut self, keys: &BTreeMap<String, Arc<KeySpec>>, count_of: impl Fn(&str) -> u64) -> Result<()> {
        let model = self.model;
        for (rel, parent, targets) in references(model) {
            let parent_key = keys[parent].clone();
            if parent_key.names().len() != targets.len() {
                return Err(GenerateError::Model {
                    model: model.name.clone(),
                    cause: format!(
                        "{} holds {} foreign key fields but {parent}'s key has {}",
                        rel.name,
                        targets.len(),
                        parent_key.names().len()
                    ),
                });
            }
            let r = self.refs.len();
            let idx: Vec<usize> = targets.iter().filter_map(|t| self.fields.iter().position(|p| p.field.name == *t)).collect();
            for &i in &idx {
                self.fields[i].role = Role::Ref(r);
            }
            let belongs_to = rel.association.as_ref().is_some_and(|a| a.connection_type == ConnectionType::BelongsTo);
            let check = self.check(format!("{}.{}.reference", model.name, rel.name));
            self.refs.push(RefPlan {
                check,
                targets: idx,
                parent: parent_key,
                parent_count: count_of(parent),
                belongs_to,
                stream: hash_str(&rel.name),
            });
        }
        Ok(())
    }

    pub fn plan_eligible(&mut self) {
        let rates = self.rates.0;
        for (i, p) in self.fields.iter().enumerate() {
            let plain = p.role == Role::Plain;
            let hits = [
                p.required && (plain || matches!(p.role, Role::Ref(_))),
                plain && p.drift && wrong_type_name(&p.field).is_some(),
                false,
                plain && p.check_format.is_some(),
            ];
            for (k, hit) in hits.into_iter().enumerate() {
                if hit && rates[k] > 0.0 {
                    self.eligible[k].push(i);
                }
            }
        }
        self.eligible[DefectKind::DanglingRef as usize] = (0..self.refs.len()).filter(|r| self.refs[*r].belongs_to).collect();
    }

    pub fn extras(&self) -> Vec<(String, Sampler)> {
        let Some(t) = self.profile else { return Vec::new() };
        let known = |n: &str| {
            self.model.fields.contains_key(n)
                || META.contains(&n)
                || self.model.owner_fields().iter().any(|o| o == n)
                || self.composites.iter().any(|(c, _)| c == n)
                || self.fields.iter().any(|p| p.field.name == n)
        };
        t.attributes.iter().filter(|(n, _)| !known(n)).map(|(n, a)| (n.clone(), Sampler::new(a, t.items, |_, _| true))).collect()
    }
}

/// Whether a profile's common value can be written to the field: values of
/// a type the field allows must pass its rules (they are not planted
/// defects); values of other types are type drift and always kept.
fn keeps(intro: &ModelIntrospection, f: &Field, ty: &str, value: &str) -> bool {
    if !allowed_types(&f.ty, f.is_array).contains(&ty) {
        return true;
    }
    if f.is_array || super::values::from_text(ty, value).is_none() {
        return false;
    }
    match &f.ty {
        FieldType::Enum { name } => intro.enums.get(name).is_some_and(|e| e.values.iter().any(|v| v == value)),
        FieldType::Scalar(Scalar::Int | Scalar::AWSTimestamp) => value.parse::<i64>().is_ok(),
        FieldType::Scalar(Scalar::AWSJSON) => serde_json::from_str::<serde_json::Value>(value).is_ok(),
        FieldType::Scalar(s) => valid_format(*s, value),
        _ => false,
    }
}
