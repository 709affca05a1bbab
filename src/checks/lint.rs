//! Schema-change lint: what changes between two Amplify data models, how
//! risky each change is, and (given exports) how much existing data it meets.
//!
//! Classes follow the ones Amplify teams use: safe (optional field, model or
//! index added, authorization changed), breaking (field renamed, retyped,
//! made required or removed; model renamed), dangerous (model dropped, key
//! changed, custom type restructured). Each change carries the SQL that
//! measures it against a snapshot and the migration strategy that fits.

use serde::Serialize;

use super::model::{Field, FieldType, Model, ModelIntrospection, Scalar};
use crate::catalog::quote_ident as ident;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Safe,
    Breaking,
    Dangerous,
}

/// One schema change.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub class: Class,
    pub model: String,
    pub what: String,
    /// Counts the items the change meets, on the model's table (as named
    /// before the change); `None` when there is nothing to measure.
    pub measure: Option<String>,
    /// What the measured count means.
    pub meaning: String,
    pub strategy: String,
    /// The bundled transform that does the data step, with its parameters
    /// (`ddbsnap plan -t NAME -p K=V ...`); None when no recipe fits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipe: Option<Recipe>,
    /// A recipe for a later step (the cleanup after a rename).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub then: Option<Recipe>,
    /// The column the measure reads; when the table lacks it the measure is
    /// 0, or every item if `missing_counts_all`.
    #[serde(skip)]
    pub column: Option<String>,
    #[serde(skip)]
    pub missing_counts_all: bool,
}

/// A bundled transform recipe and the parameters that fit the change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recipe {
    pub name: &'static str,
    pub params: Vec<(String, String)>,
}

impl Recipe {
    fn new(name: &'static str, params: &[(&str, &str)]) -> Recipe {
        debug_assert!(crate::plan::transform::RECIPES.iter().any(|(n, _)| *n == name), "{name} is not a bundled recipe");
        Recipe { name, params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }
}

/// The backfill's value is a decision: the suggested command carries a
/// placeholder that is not SQL, so that pasting it unedited fails instead
/// of writing the recipe's example value into every item.
fn value_placeholder(field: &str) -> String {
    format!("<SQL: the value for items without {field}>")
}

fn type_name(f: &Field) -> String {
    let base = match &f.ty {
        FieldType::Scalar(s) => format!("{s:?}"),
        FieldType::Enum { name } | FieldType::Model { name } | FieldType::NonModel { name } => name.clone(),
    };
    if f.is_array { format!("[{base}]") } else { base }
}

fn stored(m: &Model) -> Vec<&Field> {
    m.stored_fields().collect()
}

/// Compares two models introspections.
pub fn diff(old: &ModelIntrospection, new: &ModelIntrospection) -> Vec<Change> {
    let mut out = Vec::new();
    let removed: Vec<&Model> = old.models.values().filter(|m| !new.models.contains_key(&m.name)).collect();
    let added: Vec<&Model> = new.models.values().filter(|m| !old.models.contains_key(&m.name)).collect();
    let shape = |m: &Model| -> Vec<(String, String)> { stored(m).iter().map(|f| (f.name.clone(), type_name(f))).collect() };
    for m in &removed {
        let table = ident(&m.name);
        match added.iter().find(|a| shape(a) == shape(m)) {
            Some(a) => out.push(Change {
                class: Class::Breaking,
                model: m.name.clone(),
                what: format!("model {} renamed to {} (probable: same fields)", m.name, a.name),
                measure: Some(format!("SELECT count(*) FROM {table}")),
                meaning: format!("items to copy into {}'s table", a.name),
                strategy: "blue-green: copy every item into the new model's table, switch the app, then drop the old table".into(),
                recipe: Some(Recipe::new("copy_model", &[("from", &m.name), ("to", &a.name)])),
                then: None,
                column: None,
                missing_counts_all: false,
            }),
            None => out.push(Change {
                class: Class::Dangerous,
                model: m.name.clone(),
                what: format!("model {} dropped", m.name),
                measure: Some(format!("SELECT count(*) FROM {table}")),
                meaning: "items that would be orphaned".into(),
                strategy: "archive the table first (`ddbsnap convert EXPORT --to archive/`); remove references to it from other models before dropping".into(),
                recipe: None,
                then: None,
                column: None,
                missing_counts_all: false,
            }),
        }
    }
    for a in &added {
        if !removed.iter().any(|m| shape(m) == shape(a)) {
            out.push(safe(&a.name, format!("model {} added", a.name)));
        }
    }
    for (name, om) in &old.models {
        let Some(nm) = new.models.get(name) else { continue };
        model_changes(old, new, om, nm, &mut out);
    }
    for (name, ot) in &old.non_models {
        if let Some(nt) = new.non_models.get(name) {
            let fields = |t: &super::model::NonModel| -> Vec<(String, String, bool)> {
                t.fields.values().map(|f| (f.name.clone(), type_name(f), f.is_required)).collect()
            };
            if fields(ot) != fields(nt) {
                out.push(Change {
                    class: Class::Dangerous,
                    model: name.clone(),
                    what: format!("custom type {name} changed structure"),
                    measure: None,
                    meaning: String::new(),
                    strategy: "add a new custom type and field, fill it from the old one with a transform of your own (no bundled recipe restructures a custom type), then remove the old".into(),
                    recipe: None,
                    then: None,
                    column: None,
                    missing_counts_all: false,
                });
            }
        }
    }
    out.sort_by(|a, b| b.class.cmp(&a.class).then(a.model.cmp(&b.model)).then(a.what.cmp(&b.what)));
    out
}

impl Change {
    fn on(mut self, column: &str, missing_counts_all: bool) -> Change {
        self.column = Some(column.to_string());
        self.missing_counts_all = missing_counts_all;
        self
    }
}

fn safe(model: &str, what: String) -> Change {
    Change {
        class: Class::Safe,
        model: model.to_string(),
        what,
        measure: None,
        meaning: String::new(),
        strategy: "deploy as is".into(),
        recipe: None,
        then: None,
        column: None,
        missing_counts_all: false,
    }
}

fn model_changes(_old: &ModelIntrospection, _new: &ModelIntrospection, om: &Model, nm: &Model, out: &mut Vec<Change>) {
    let table = ident(&om.name);
    let model = om.name.clone();
    if om.key_fields() != nm.key_fields() {
        out.push(Change {
            class: Class::Dangerous,
            model: model.clone(),
            what: format!("{model}: primary key changed from ({}) to ({})", om.key_fields().join(", "), nm.key_fields().join(", ")),
            measure: Some(format!("SELECT count(*) FROM {table}")),
            meaning: "items to rewrite under the new key (a key cannot be updated in place)".into(),
            strategy: "blue-green: declare a new model with the new key, copy every item into it (recipe copy_model, from this model to the new one), switch, drop the old"
                .into(),
            recipe: None,
            then: None,
            column: None,
            missing_counts_all: false,
        });
    }
    let old_fields = stored(om);
    let new_fields = stored(nm);
    let gone: Vec<&&Field> = old_fields.iter().filter(|f| !nm.fields.contains_key(&f.name)).collect();
    let fresh: Vec<&&Field> = new_fields.iter().filter(|f| !om.fields.contains_key(&f.name)).collect();
    // The bundled recipes name one key field; a composite key needs a copy of the recipe.
    let keys = om.key_fields();
    let key = (keys.len() == 1).then(|| keys[0].to_string());
    let with_key = |name: &'static str, params: &[(&str, &str)]| {
        key.as_deref().map(|k| {
            let mut all = vec![("table", model.as_str()), ("key", k)];
            all.extend_from_slice(params);
            Recipe::new(name, &all)
        })
    };
    let mut taken: Vec<String> = Vec::new();
    for f in &gone {
        let col = ident(&f.name);
        let same: Vec<&&&Field> = fresh.iter().filter(|n| type_name(n) == type_name(f) && !taken.contains(&n.name)).collect();
        // One String field replaced by two new String fields (and no other
        // removed String field to pair them with): a probable split.
        // New fields named after the old one (name -> firstName, lastName) are the likelier partners.
        let related: Vec<&&&Field> = same.iter().copied().filter(|n| n.name.to_lowercase().contains(&f.name.to_lowercase())).collect();
        let lone = gone.iter().filter(|g| type_name(g) == type_name(f)).count() == 1;
        let pair = match (related.as_slice(), same.as_slice()) {
            ([a, b], _) | (_, [a, b]) => Some((a.name.clone(), b.name.clone())),
            _ => None,
        };
        let pair = pair.filter(|_| lone && matches!(f.ty, FieldType::Scalar(Scalar::String)) && !f.is_array);
        let change = if let Some((a, b)) = &pair {
            // Fields are in model order; a field named like a first name goes first.
            let (first, last) = if b.to_lowercase().contains("first") || a.to_lowercase().contains("last") { (b, a) } else { (a, b) };
            taken.extend([first.clone(), last.clone()]);
            Change {
                class: Class::Breaking,
                model: model.clone(),
                what: format!(
                    "{model}.{} split into {first} and {last} (probable: one String field removed, two added; else a rename to one of them)",
                    f.name
                ),
                measure: Some(format!("SELECT count(*) FROM {table} WHERE {col} IS NOT NULL")),
                meaning: format!("items whose {} must be split into {first} and {last}", f.name),
                strategy: format!(
                    "additive: deploy with both the old and the new fields, split the values (first word to {first}, the rest to {last}), move clients over, then remove {}",
                    f.name
                ),
                recipe: with_key("split_name", &[("source", &f.name), ("first", first), ("last", last)]),
                then: None,
                column: None,
                missing_counts_all: false,
            }
        } else if let Some(n) = related.first().or(same.first()) {
            taken.push(n.name.clone());
            Change {
                class: Class::Breaking,
                model: model.clone(),
                what: format!("{model}.{} renamed to {} (probable: one field removed, one of the same type added)", f.name, n.name),
                measure: Some(format!("SELECT count(*) FROM {table} WHERE {col} IS NOT NULL")),
                meaning: format!("items whose {} must be copied to {}", f.name, n.name),
                strategy: "additive: deploy with both fields, copy the values, move clients over, then remove the old values and field"
                    .into(),
                recipe: with_key("rename_copy", &[("from", &f.name), ("to", &n.name)]),
                then: with_key("rename_remove", &[("from", &f.name), ("to", &n.name)]),
                column: None,
                missing_counts_all: false,
            }
        } else {
            Change {
                class: Class::Breaking,
                model: model.clone(),
                what: format!("{model}.{} removed", f.name),
                measure: Some(format!("SELECT count(*) FROM {table} WHERE {col} IS NOT NULL")),
                meaning: "items holding a value that the app will no longer see".into(),
                strategy: "archive the values first (`ddbsnap convert EXPORT --to archive/`); remove the field only after nothing reads it"
                    .into(),
                recipe: None,
                then: None,
                column: None,
                missing_counts_all: false,
            }
        };
        out.push(change.on(&f.name, false));
    }
    for n in fresh.iter().filter(|n| !taken.contains(&n.name)) {
        if n.is_required && !n.is_array {
            out.push(Change {
                class: Class::Breaking,
                model: model.clone(),
                what: format!("{model}.{} added as required", n.name),
                measure: Some(format!("SELECT count(*) FROM {table}")),
                meaning: format!("items without {} (all existing items)", n.name),
                strategy: "additive: add it optional, give every item a value (set the recipe's value=SQL), then make it required".into(),
                recipe: with_key("backfill_required", &[("field", &n.name), ("value", &value_placeholder(&n.name))]),
                then: None,
                column: None,
                missing_counts_all: false,
            });
        } else {
            out.push(safe(&model, format!("{model}.{} added (optional)", n.name)));
        }
    }
    for f in &old_fields {
        let Some(n) = nm.fields.get(&f.name) else { continue };
        let col = ident(&f.name);
        if type_name(f) != type_name(n) {
            let (measure, meaning) = match (&f.ty, &n.ty) {
                (FieldType::Scalar(Scalar::String), FieldType::Scalar(Scalar::Int | Scalar::AWSTimestamp)) => (
                    format!(
                        "SELECT count(*) FROM {table} WHERE {col} IS NOT NULL AND NOT (ddb_type({col}) = 'N' OR regexp_like(CAST({col} AS VARCHAR), '^-?[0-9]+$'))"
                    ),
                    "values that are not integers".to_string(),
                ),
                (FieldType::Scalar(Scalar::String), FieldType::Scalar(Scalar::Float)) => (
                    format!(
                        "SELECT count(*) FROM {table} WHERE {col} IS NOT NULL AND NOT (ddb_type({col}) = 'N' OR regexp_like(CAST({col} AS VARCHAR), '^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$'))"
                    ),
                    "values that are not numbers".to_string(),
                ),
                (FieldType::Scalar(Scalar::Int | Scalar::Float | Scalar::AWSTimestamp), FieldType::Scalar(Scalar::String)) => {
                    (format!("SELECT count(*) FROM {table} WHERE ddb_type({col}) = 'N'"), "numbers to convert to strings".to_string())
                }
                _ => (format!("SELECT count(*) FROM {table} WHERE {col} IS NOT NULL"), "values to convert".to_string()),
            };
            let recipe = match (&f.ty, &n.ty, f.is_array || n.is_array) {
                (FieldType::Scalar(Scalar::String), FieldType::Scalar(Scalar::Int | Scalar::Float | Scalar::AWSTimestamp), false) => {
                    with_key("string_to_number", &[("field", &f.name)])
                }
                (FieldType::Scalar(Scalar::Int | Scalar::Float | Scalar::AWSTimestamp), FieldType::Scalar(Scalar::String), false) => {
                    with_key("number_to_string", &[("field", &f.name)])
                }
                _ => None,
            };
            out.push(Change {
                class: Class::Breaking,
                model: model.clone(),
                what: format!("{model}.{} type changed from {} to {}", f.name, type_name(f), type_name(n)),
                measure: Some(measure),
                meaning,
                strategy: "convert the values in place before deploying (values that cannot convert are skipped and listed in the plan); or add a field of the new type beside the old one with a schemaVersion field".into(),
                recipe,
                then: None,
                column: None,
                missing_counts_all: false,
            }.on(&f.name, false));
        }
        if !f.is_required && n.is_required && !n.is_array {
            out.push(
                Change {
                    class: Class::Breaking,
                    model: model.clone(),
                    what: format!("{model}.{} made required", f.name),
                    measure: Some(format!("SELECT count(*) FROM {table} WHERE {col} IS NULL")),
                    meaning: format!("items that lack {}", f.name),
                    strategy: "give every item that lacks it a value (set the recipe's value=SQL) before deploying".into(),
                    recipe: with_key("backfill_required", &[("field", &f.name), ("value", &value_placeholder(&f.name))]),
                    then: None,
                    column: None,
                    missing_counts_all: false,
                }
                .on(&f.name, true),
            );
        }
    }
    let idx = |m: &Model| m.indexes().into_iter().map(|i| i.name).collect::<Vec<_>>();
    for i in idx(nm).into_iter().filter(|i| !idx(om).contains(i)) {
        out.push(safe(&model, format!("{model}: index {i} added")));
    }
    let auth = |m: &Model| m.attributes.iter().filter(|a| a.kind == "auth").map(|a| a.properties.to_string()).collect::<Vec<_>>();
    if auth(om) != auth(nm) {
        out.push(safe(&model, format!("{model}: authorization rules changed")));
    }
}
