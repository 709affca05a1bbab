//! The model-driven generator: one table per model of an Amplify data
//! model, a full export and chained incrementals each, and the ground truth.
//!
//! Models are written one after the other (each on every thread); the plan
//! of every model is made first, because a child needs its parents' key
//! specs and counts to point at existing items.

use super::options::{GenerateError, ModelOptions, Result};
use super::parallel::{AfterExport, Run, full_export, incremental_export};
use super::shape::plan_all;
use super::truth::ModelsTruth;
use crate::checks::model::ModelIntrospection;

/// Writes every model's exports under `opts.out` (calling `after_export`
/// with each finished export folder) and the truth beside them.
pub fn generate_models(opts: &ModelOptions, intro: &ModelIntrospection, after_export: Option<&AfterExport>) -> Result<ModelsTruth> {
    validate(opts, intro)?;
    let api_id = super::api_id(opts.seed);
    let shapes = plan_all(intro, opts, &api_id)?;
    let run = Run { opts, intro, after_export };
    let mut truth = ModelsTruth::new(opts.seed, api_id, opts.format, &opts.defects);
    for shape in &shapes {
        let (id, mut tally) = full_export(&run, shape)?;
        let mut exports = vec![id];
        for k in 1..=opts.incrementals as u64 {
            let (id, t) = incremental_export(&run, shape, k)?;
            tally.merge(&t);
            exports.push(id);
        }
        truth.models.insert(shape.name.clone(), tally.truth(shape, exports));
    }
    let dir = if opts.prefix.is_empty() { opts.out.clone() } else { opts.out.join(&opts.prefix) };
    truth.write(&dir)?;
    Ok(truth)
}

fn validate(opts: &ModelOptions, intro: &ModelIntrospection) -> Result<()> {
    let flag = |flag: &'static str, value: String, cause: String| Err(GenerateError::Flag { flag, value, cause });
    if let Some(m) = opts.items.per_model.keys().find(|m| !intro.models.contains_key(*m)) {
        let known: Vec<&str> = intro.models.keys().map(String::as_str).collect();
        return flag("--items", m.clone(), format!("the data model has no model {m}; its models: {}", known.join(", ")));
    }
    let root = if opts.prefix.is_empty() { opts.out.clone() } else { opts.out.join(&opts.prefix) };
    if let Some(name) = ["AWSDynamoDB", super::TRUTH_FILE].into_iter().find(|n| root.join(n).exists()) {
        let cause = format!(
            "it already holds {name}; a second export of a table beside the first makes reading it ambiguous: use a new or empty folder"
        );
        return Err(GenerateError::Input { file: root.display().to_string(), cause });
    }
    if !(opts.scale.is_finite() && opts.scale >= 0.0) {
        return flag("--scale", opts.scale.to_string(), "not a non-negative factor".into());
    }
    if let Some((file, p)) = &opts.profile {
        for t in p.tables.keys().filter(|t| !intro.models.keys().any(|m| p.table(m).is_some_and(|x| std::ptr::eq(x, &p.tables[*t])))) {
            tracing::warn!("{file}: table {t} matches no model of the data model and is not generated");
        }
    }
    Ok(())
}
