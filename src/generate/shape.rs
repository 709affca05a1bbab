//! Each model's generation plan, decided once before any item is written.
//!
//! The plan says, per stored field, what makes its value (key, foreign key,
//! timestamp, owner, or a plain field), whether it is required as the
//! generated checks see it, its profile figures, which defects it can carry,
//! and the names of the checks that catch them (interned, so items report
//! violations as small numbers). Building items then only follows the plan.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::defects::DefectRates;
use super::keys::KeySpec;
use super::options::{GenerateError, ModelOptions, Result};
use super::planner::Planner;
use super::profile::Sampler;
use super::rng::{hash_str, mix64};
use crate::checks::model::{ConnectionType, Field, FieldType, Model, ModelIntrospection};

/// What makes a stored field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Key,
    /// A foreign key of reference number `r`.
    Ref(usize),
    Created,
    Updated,
    Owner,
    Plain,
}

pub struct FieldPlan {
    pub field: Field,
    /// The field's stream id.
    pub stream: u64,
    pub role: Role,
    /// Required as the generated checks see it (a list: not nullable).
    pub required: bool,
    pub sampler: Option<Sampler>,
    /// Whether the profile's type mix applies (not to keys, foreign keys and
    /// composite key parts, whose drift would break more than one check).
    pub drift: bool,
    pub check_required: u32,
    pub check_type: u32,
    pub check_format: Option<u32>,
}

/// A belongsTo (or hasOne) foreign key: its fields and the parent's keys.
pub struct RefPlan {
    pub check: u32,
    /// Field plans holding the parent's key fields, in key order.
    pub targets: Vec<usize>,
    pub parent: Arc<KeySpec>,
    pub parent_count: u64,
    /// Only belongsTo references are checked (and so get dangling defects).
    pub belongs_to: bool,
    pub stream: u64,
}

pub struct ModelShape {
    pub name: String,
    pub physical: String,
    pub model_key: u64,
    pub count: u64,
    pub key: Arc<KeySpec>,
    pub fields: Vec<FieldPlan>,
    pub refs: Vec<RefPlan>,
    /// Attributes the profile shows but the model does not declare.
    pub extras: Vec<(String, Sampler)>,
    pub owners: Vec<String>,
    pub syncable: bool,
    /// Composite sort keys of indexes: attribute name and its parts.
    pub composites: Vec<(String, Vec<String>)>,
    /// No other model refers to it, so incrementals may delete its items.
    pub deletable: bool,
    /// Per defect kind, the field plans (refs for dangling_ref) it can hit.
    pub eligible: [Vec<usize>; 4],
    pub checks: Vec<String>,
    pub rates: DefectRates,
}

/// The plans of every model, in name order.
pub fn plan_all(intro: &ModelIntrospection, opts: &ModelOptions, api_id: &str) -> Result<Vec<ModelShape>> {
    let model_key = |name: &str| mix64(hash_str(name) ^ mix64(opts.seed));
    let mut keys = BTreeMap::new();
    for (name, m) in &intro.models {
        let spec = KeySpec::new(m, model_key(name)).map_err(|cause| GenerateError::Model { model: name.clone(), cause })?;
        keys.insert(name.clone(), Arc::new(spec));
    }
    let referenced: BTreeSet<&str> = intro.models.values().flat_map(|m| references(m).map(|(_, parent, _)| parent)).collect();
    let mut out = Vec::new();
    for (name, m) in &intro.models {
        let profile = opts.profile.as_ref().and_then(|(_, p)| p.table(name));
        let mut s = Planner::new(intro, m, profile, opts.defects);
        s.plan_fields()?;
        s.plan_refs(&keys, |parent| opts.count_of(parent))?;
        s.plan_eligible();
        warn_unplantable(name, &s.eligible, &opts.defects);
        out.push(ModelShape {
            name: name.clone(),
            physical: format!("{name}-{api_id}-NONE"),
            model_key: model_key(name),
            count: opts.count_of(name),
            key: keys[name].clone(),
            extras: s.extras(),
            owners: m.owner_fields(),
            syncable: m.syncable,
            composites: s.composites.clone(),
            deletable: !referenced.contains(name.as_str()),
            eligible: s.eligible,
            fields: s.fields,
            refs: s.refs,
            checks: s.checks,
            rates: opts.defects,
        });
    }
    Ok(out)
}

/// The model's references: (relationship field, parent model, foreign keys).
pub(super) fn references(m: &Model) -> impl Iterator<Item = (&Field, &str, &[String])> {
    m.fields.values().filter_map(|f| match (&f.ty, &f.association) {
        (FieldType::Model { name }, Some(a)) if !a.target_names.is_empty() && a.connection_type != ConnectionType::HasMany => {
            Some((f, name.as_str(), a.target_names.as_slice()))
        }
        _ => None,
    })
}

/// A defect kind asked for that no field of the model can hold (for example
/// `missing_required` where the only required field is the key) plants
/// nothing: said on stderr, naming the model and the kind, so that a
/// rehearsal does not silently test less than it was asked to.
fn warn_unplantable(model: &str, eligible: &[Vec<usize>; 4], rates: &DefectRates) {
    for kind in super::defects::DefectKind::ALL {
        if rates.0[kind as usize] > 0.0 && eligible[kind as usize].is_empty() {
            let why = match kind {
                super::defects::DefectKind::MissingRequired => "no required field outside the key",
                super::defects::DefectKind::WrongType => "no field whose type can drift",
                super::defects::DefectKind::DanglingRef => "no belongsTo reference",
                super::defects::DefectKind::BadFormat => "no field with a format rule or an enum",
            };
            tracing::warn!("model {model}: --defects {}: {why}, so none is planted in this model", kind.name());
        }
    }
}
