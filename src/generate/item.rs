//! One item of a model, as a pure function of (seed, model, index, version).
//!
//! Every field draws from its own stream, so a field's value does not move
//! when another field is added or changes, an update rebuilds its old image
//! exactly, and items are the same whichever thread writes them. The item
//! reports the violations it carries (check id and defect kind): the ground
//! truth is the sum of what the written items report.

use super::defects::{DefectKind, bad_format, drifted, wrong_type_name};
use super::keys::DANGLING_BASE;
use super::profile::Presence;
use super::rng::{Rng, mix64, stream};
use super::shape::{FieldPlan, ModelShape, Role};
use super::values;
use crate::checks::generate::allowed_types;
use crate::checks::model::{FieldType, ModelIntrospection, Scalar};
use crate::item::{AttrValue, Item, Number};

const META_STREAM: u64 = 0x4D45_5441;
const DEFECT_STREAM: u64 = 0x4445_4645;
const CHANGE_STREAM: u64 = 0x4348_4E47;
const EXTRA_STREAM: u64 = 0x4558_5452;

/// 2020-01-01T00:00:00Z, and the span items are created in (to 2025-11-30).
const EPOCH_MS: i64 = 1_577_836_800_000;
const SPAN_MS: u64 = 186_000_000_000;

/// Which state of an item to build.
#[derive(Clone, Copy, Debug)]
pub enum Stamp {
    /// As in the full export.
    Full,
    /// Created by an incremental at `at_ms`.
    Insert { at_ms: i64 },
    /// Changed by incremental `version` at `at_ms`.
    Update { version: u64, at_ms: i64 },
}

/// A built item and the checks it violates.
pub struct Built {
    pub item: Item,
    pub violations: Vec<(u32, DefectKind)>,
}

struct Draft<'a> {
    shape: &'a ModelShape,
    intro: &'a ModelIntrospection,
    index: u64,
    item: Item,
    /// (field plan, check, kind); the field lets a defect replace what was found.
    found: Vec<(usize, u32, DefectKind)>,
    dangling: Vec<bool>,
}

/// Builds item `index` of `shape` in the state `stamp` says, with the
/// violations it carries.
pub fn build(shape: &ModelShape, intro: &ModelIntrospection, index: u64, stamp: Stamp) -> Built {
    let mut d = Draft { shape, intro, index, item: Item::new(), found: Vec::new(), dangling: vec![false; shape.refs.len()] };
    for (name, v) in shape.key.names().iter().zip(shape.key.values(intro, index)) {
        d.item.insert(name.clone(), v);
    }
    let version = if let Stamp::Update { version, .. } = stamp { version } else { 0 };
    let changed = if version == 0 {
        0
    } else {
        let mut r = stream(&[shape.model_key, index, CHANGE_STREAM, version]);
        r.next_u64() & r.next_u64()
    };
    for (i, plan) in shape.fields.iter().enumerate().filter(|(_, p)| p.role == Role::Plain) {
        let v = if changed >> (i % 64) & 1 == 1 { version } else { 0 };
        d.plain(i, plan, &mut stream(&[shape.model_key, index, plan.stream, v]));
    }
    for r in 0..shape.refs.len() {
        d.reference(r);
    }
    d.defect();
    d.meta(stamp);
    d.extras(changed, version);
    d.finish()
}

/// Present with a value mostly, else NULL or absent, as apps leave optional fields.
fn default_presence(required: bool, rng: &mut Rng) -> Presence<'static> {
    match (required, rng.below(10)) {
        (true, _) | (false, 0..=7) => Presence::Value(None),
        (false, 8) => Presence::Null,
        _ => Presence::Absent,
    }
}

impl Draft<'_> {
    fn presence<'s>(&self, plan: &'s FieldPlan, rng: &mut Rng) -> Presence<'s> {
        match &plan.sampler {
            Some(s) => s.presence(rng),
            None => default_presence(plan.required, rng),
        }
    }

    fn plain(&mut self, i: usize, plan: &FieldPlan, rng: &mut Rng) {
        let f = &plan.field;
        let ty = match self.presence(plan, rng) {
            // Drift only where allowed; a field's own types (and their common values) always.
            Presence::Value(ty) => ty.filter(|t| plan.drift || allowed_types(&f.ty, f.is_array).contains(t)),
            missing => {
                if missing == Presence::Null {
                    self.item.insert(f.name.clone(), AttrValue::Null);
                }
                if plan.required {
                    self.found.push((i, plan.check_required, DefectKind::MissingRequired));
                }
                return;
            }
        };
        let len = plan.sampler.as_ref().and_then(|s| s.length(rng)).filter(|_| f.is_array || f.ty == FieldType::Scalar(Scalar::String));
        let top = ty.and_then(|t| plan.sampler.as_ref()?.top(t, rng).and_then(|v| values::from_text(t, v)));
        let value = match ty {
            Some(t) if !allowed_types(&f.ty, f.is_array).contains(&t) => {
                self.found.push((i, plan.check_type, DefectKind::WrongType));
                top.unwrap_or_else(|| drifted(f, t, rng))
            }
            Some(t @ ("M" | "L")) if f.ty == FieldType::Scalar(Scalar::AWSJSON) => values::of_type(t, rng, None),
            _ => top.unwrap_or_else(|| values::field(self.intro, f, rng, len.map(|l| l.min(1000)), 0)),
        };
        self.item.insert(f.name.clone(), value);
    }

    /// Foreign keys: the key of a random existing parent (stable across versions).
    fn reference(&mut self, r: usize) {
        let rp = &self.shape.refs[r];
        let Some(&first) = rp.targets.first() else { return };
        let mut rng = stream(&[self.shape.model_key, self.index, rp.stream]);
        let presence = self.presence(&self.shape.fields[first], &mut rng);
        let values = match presence {
            Presence::Value(_) if rp.parent_count == 0 => {
                self.dangling[r] = true;
                rp.parent.values(self.intro, DANGLING_BASE + self.index)
            }
            Presence::Value(_) => rp.parent.values(self.intro, rng.below(rp.parent_count)),
            Presence::Null => vec![AttrValue::Null; rp.targets.len()],
            Presence::Absent => Vec::new(),
        };
        for (k, &t) in rp.targets.iter().enumerate() {
            let plan = &self.shape.fields[t];
            match values.get(k) {
                Some(v) => self.item.insert(plan.field.name.clone(), v.clone()),
                None => self.item.remove(&plan.field.name),
            };
            if plan.required && values.get(k).is_none_or(|v| *v == AttrValue::Null) {
                self.found.push((t, plan.check_required, DefectKind::MissingRequired));
            }
        }
    }

    /// The item's planted defect, from its own stream (the same in every version).
    fn defect(&mut self) {
        let shape = self.shape;
        let mut rng = stream(&[shape.model_key, self.index, DEFECT_STREAM]);
        let Some(kind) = shape.rates.choose(&mut rng) else { return };
        let candidates = &shape.eligible[kind as usize];
        if candidates.is_empty() {
            return;
        }
        let target = *rng.pick(candidates);
        if kind == DefectKind::DanglingRef {
            let rp = &shape.refs[target];
            let values = rp.parent.values(self.intro, DANGLING_BASE + self.index);
            for (&t, v) in rp.targets.iter().zip(values) {
                self.found.retain(|f| f.0 != t);
                self.item.insert(shape.fields[t].field.name.clone(), v);
            }
            self.dangling[target] = true;
            return;
        }
        let plan = &shape.fields[target];
        let f = &plan.field;
        self.found.retain(|x| x.0 != target);
        let (value, check) = match kind {
            DefectKind::MissingRequired => (rng.below(2).eq(&0).then_some(AttrValue::Null), plan.check_required),
            DefectKind::WrongType => (wrong_type_name(f).map(|t| drifted(f, t, &mut rng)), plan.check_type),
            _ => (bad_format(self.intro, f, &mut rng), plan.check_format.unwrap_or(plan.check_type)),
        };
        match value {
            Some(v) => self.item.insert(f.name.clone(), v),
            None => self.item.remove(&f.name),
        };
        self.found.push((target, check, kind));
    }

    /// What Amplify writes itself: `__typename`, timestamps, owners, DataStore fields.
    fn meta(&mut self, stamp: Stamp) {
        let shape = self.shape;
        let mut rng = stream(&[shape.model_key, self.index, META_STREAM]);
        let created = EPOCH_MS + rng.below(SPAN_MS) as i64;
        let updated = created + rng.below(30 * 86_400_000) as i64;
        let (created, updated, version) = match stamp {
            Stamp::Full => (created, updated, 1),
            Stamp::Insert { at_ms } => (at_ms, at_ms, 1),
            Stamp::Update { at_ms, .. } => (created.min(at_ms), at_ms, 2),
        };
        let s = AttrValue::S;
        self.item.insert("__typename".into(), s(shape.name.clone()));
        self.item.insert("createdAt".into(), s(values::datetime_ms(created)));
        self.item.insert("updatedAt".into(), s(values::datetime_ms(updated)));
        let user = rng.below(1 + shape.count / 4);
        let sub = values::uuid_of(mix64(user ^ shape.model_key.rotate_left(7)), mix64(user));
        for o in &shape.owners {
            self.item.insert(o.clone(), s(format!("{sub}::user{user}")));
        }
        if shape.syncable {
            self.item.insert("_version".into(), AttrValue::N(Number::from_i64(version)));
            self.item.insert("_lastChangedAt".into(), AttrValue::N(Number::from_i64(updated)));
        }
    }

    /// Attributes only the profile knows, written as production has them.
    fn extras(&mut self, changed: u64, version: u64) {
        for (e, (name, sampler)) in self.shape.extras.iter().enumerate() {
            let v = if changed.rotate_right(7) >> (e % 64) & 1 == 1 { version } else { 0 };
            let mut rng = stream(&[self.shape.model_key, self.index, EXTRA_STREAM, e as u64, v]);
            let value = match sampler.presence(&mut rng) {
                Presence::Absent => continue,
                Presence::Null => AttrValue::Null,
                Presence::Value(ty) => {
                    let ty = ty.unwrap_or("S");
                    let top = sampler.top(ty, &mut rng).and_then(|v| values::from_text(ty, v));
                    top.unwrap_or_else(|| {
                        let len = sampler.length(&mut rng);
                        values::of_type(ty, &mut rng, len)
                    })
                }
            };
            self.item.insert(name.clone(), value);
        }
    }

    fn finish(mut self) -> Built {
        for (r, rp) in self.shape.refs.iter().enumerate() {
            let set = |t: &usize| self.item.get(&self.shape.fields[*t].field.name).is_some_and(|v| *v != AttrValue::Null);
            if self.dangling[r] && rp.belongs_to && rp.targets.iter().all(set) {
                self.found.push((usize::MAX, rp.check, DefectKind::DanglingRef));
            }
        }
        for (name, parts) in &self.shape.composites {
            let texts: Option<Vec<&str>> =
                parts.iter().map(|p| if let Some(AttrValue::S(s)) = self.item.get(p) { Some(s.as_str()) } else { None }).collect();
            if let Some(texts) = texts {
                let joined = texts.join("#");
                self.item.insert(name.clone(), AttrValue::S(joined));
            }
        }
        let mut violations: Vec<(u32, DefectKind)> = self.found.into_iter().map(|(_, c, k)| (c, k)).collect();
        violations.sort_unstable();
        violations.dedup_by_key(|v| v.0);
        Built { item: self.item, violations }
    }
}
