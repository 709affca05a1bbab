//! The Amplify model reader on real `amplify_outputs.json` introspections
//! from public apps (in ../shared/samples/amplify; read in place, not copied).

use std::path::PathBuf;

use ddbsnap::checks::model::{ConnectionType, FieldType, ModelIntrospection};

#[path = "common/samples.rs"]
mod samples;

/// The app's model file, or `None` when the samples are absent (the test
/// returns early and is listed as skipped; see `common/samples.rs`).
fn sample(app: &str) -> Option<PathBuf> {
    samples::path(&format!("amplify/{app}/amplify_outputs.model_introspection.json"))
}

#[test]
fn plexus_models_keys_and_associations() {
    let Some(model) = sample("AnthusAI-Plexus") else { return };
    let m = ModelIntrospection::load(&model).unwrap();
    assert_eq!(m.models.len(), 24);
    assert_eq!(m.non_models.len(), 2);
    let assoc: Vec<ConnectionType> = m
        .models
        .values()
        .flat_map(|model| model.fields.values())
        .filter_map(|f| f.association.as_ref().map(|a| a.connection_type))
        .collect();
    assert_eq!(assoc.iter().filter(|c| **c == ConnectionType::BelongsTo).count(), 58);
    assert_eq!(assoc.iter().filter(|c| **c == ConnectionType::HasMany).count(), 56);
    assert_eq!(assoc.iter().filter(|c| **c == ConnectionType::HasOne).count(), 2);
    assert!(m.models.values().any(|model| model.primary_key_info.is_custom_primary_key), "Plexus has a composite custom key");
    assert!(m.models["Account"].indexes().iter().any(|i| i.name == "accountsByKey" && i.fields == ["key"]));
}

#[test]
fn hr_portal_enums_resolve() {
    let Some(model) = sample("ChinchillaEnterprises-HR-portal") else { return };
    let m = ModelIntrospection::load(&model).unwrap();
    assert_eq!(m.models.len(), 13);
    assert!(!m.enums.is_empty());
    let user = &m.models["User"];
    assert_eq!(user.fields["role"].ty, FieldType::Enum { name: "UserRole".into() });
    assert_eq!(m.enums["UserRole"].values, ["admin", "mentor", "team_lead", "intern", "staff"]);
    assert_eq!(user.key_fields(), ["id"]);
}
