//! Assembling the checks for a set of tables: generated from an Amplify
//! model where one is given, plus check files (the bundled library by
//! default). Used by `check`, and by `plan` for the data before and after.

use super::files::CheckFile;
use super::generate::{Check, model_checks, reference_checks};
use super::model::ModelIntrospection;
use crate::convert::TableSchema;

/// The checks for `tables` (name and schema), and notes about what could
/// not be checked.
pub fn collect(intro: Option<&ModelIntrospection>, tables: &[(String, TableSchema)], files: &[CheckFile]) -> (Vec<Check>, Vec<String>) {
    let mut checks = Vec::new();
    let mut notes = Vec::new();
    if let Some(intro) = intro {
        let table_of = |name: &str| tables.iter().find(|(t, _)| t == name).map(|(_, s)| s);
        for model in intro.models.values() {
            match tables.iter().find(|(t, _)| *t == model.name) {
                Some((name, schema)) => {
                    checks.extend(model_checks(intro, model, name, schema));
                    let (refs, ref_notes) = reference_checks(intro, model, name, schema, table_of);
                    checks.extend(refs);
                    notes.extend(ref_notes);
                }
                None => notes.push(format!("model {} has no export among those given", model.name)),
            }
        }
        for (name, schema) in tables {
            if let Some(model) = intro.models.get(name) {
                let extra: Vec<&str> = schema
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .filter(|c| !model.fields.contains_key(*c) && !is_amplify_managed(c))
                    .collect();
                if !extra.is_empty() {
                    notes.push(format!("table {name} has attributes the model does not declare: {}", extra.join(", ")));
                }
            }
        }
    }
    let columns: Vec<(String, Vec<String>)> =
        tables.iter().map(|(t, s)| (t.clone(), s.columns.iter().map(|c| c.name.clone()).collect())).collect();
    for f in files {
        let (expanded, expand_notes) = f.expand(&columns);
        checks.extend(expanded);
        notes.extend(expand_notes);
    }
    (checks, notes)
}

/// Attributes Amplify and DataStore write that models do not declare.
pub fn is_amplify_managed(name: &str) -> bool {
    matches!(name, "__typename" | "createdAt" | "updatedAt" | "owner" | "_version" | "_lastChangedAt" | "_deleted" | "_ttl")
}
