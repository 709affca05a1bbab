//! Amplify's data model, as `amplify_outputs.json` describes it.
//!
//! Amplify Gen 2 writes `data.model_introspection` next to the app: models
//! with their fields (type, required, array), enums, custom types
//! (`nonModels`), primary keys, secondary indexes and associations. It is the
//! schema the app expects of every item, so checks and lint are generated
//! from it. Only what ddbsnap reasons about is typed here; unknown keys are
//! tolerated so newer Amplify versions still load.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The whole introspection: models, enums and custom types by name.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ModelIntrospection {
    #[serde(default)]
    pub version: Option<u32>,
    #[serde(default)]
    pub models: BTreeMap<String, Model>,
    #[serde(default)]
    pub enums: BTreeMap<String, EnumDef>,
    #[serde(default)]
    pub non_models: BTreeMap<String, NonModel>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    pub name: String,
    pub fields: BTreeMap<String, Field>,
    #[serde(default)]
    pub syncable: bool,
    #[serde(default)]
    pub plural_name: Option<String>,
    #[serde(default)]
    pub attributes: Vec<ModelAttribute>,
    pub primary_key_info: PrimaryKeyInfo,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NonModel {
    pub name: String,
    pub fields: BTreeMap<String, Field>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct EnumDef {
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    #[serde(default)]
    pub is_array: bool,
    #[serde(default)]
    pub is_required: bool,
    /// For arrays: whether the list itself may be null (its elements'
    /// nullability is `is_required`).
    #[serde(default)]
    pub is_array_nullable: Option<bool>,
    #[serde(default)]
    pub is_read_only: bool,
    #[serde(default)]
    pub association: Option<Association>,
}

impl Field {
    /// Whether every stored item must hold this field, not NULL. For arrays,
    /// `isRequired` is about the elements; the list itself is required when
    /// it is not nullable. `createdAt` and `updatedAt` are read-only to
    /// clients and non-null in AppSync's schema (AWSDateTime!): resolvers
    /// always write them.
    pub fn must_be_present(&self) -> bool {
        let managed_timestamp = self.is_read_only && matches!(self.name.as_str(), "createdAt" | "updatedAt");
        if self.is_array { self.is_array_nullable == Some(false) } else { self.is_required || managed_timestamp }
    }
}

/// A field's type: a scalar by name, or a reference.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum FieldType {
    Scalar(Scalar),
    Enum {
        #[serde(rename = "enum")]
        name: String,
    },
    Model {
        #[serde(rename = "model")]
        name: String,
    },
    NonModel {
        #[serde(rename = "nonModel")]
        name: String,
    },
}

/// AppSync scalars, and how DynamoDB holds each.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum Scalar {
    ID,
    String,
    Int,
    Float,
    Boolean,
    AWSDate,
    AWSTime,
    AWSDateTime,
    AWSTimestamp,
    AWSEmail,
    AWSJSON,
    AWSURL,
    AWSPhone,
    AWSIPAddress,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Association {
    pub connection_type: ConnectionType,
    /// BELONGS_TO (and Gen 2 HAS_ONE owners): this model's fields that hold
    /// the parent's key.
    #[serde(default)]
    pub target_names: Vec<String>,
    /// HAS_MANY / HAS_ONE: the other model's fields that point back here.
    #[serde(default)]
    pub associated_with: Vec<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConnectionType {
    BelongsTo,
    HasOne,
    HasMany,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ModelAttribute {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub properties: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PrimaryKeyInfo {
    pub is_custom_primary_key: bool,
    pub primary_key_field_name: String,
    #[serde(default)]
    pub sort_key_field_names: Vec<String>,
}

/// A secondary index declared with `.secondaryIndexes(...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: String,
    /// Partition key field, then sort key fields.
    pub fields: Vec<String>,
}

impl ModelIntrospection {
    /// Reads `amplify_outputs.json` (or a file holding only the
    /// introspection object).
    pub fn load(path: &Path) -> Result<ModelIntrospection> {
        let text = std::fs::read(path).map_err(|e| Error::io_path(path, e))?;
        Self::parse(&path.display().to_string(), &text)
    }

    pub fn parse(file: &str, bytes: &[u8]) -> Result<ModelIntrospection> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| Error::manifest(file, format!("not valid JSON: {e}")))?;
        let intro = value.pointer("/data/model_introspection").or_else(|| value.get("model_introspection")).unwrap_or(&value);
        if intro.get("models").is_none() {
            return Err(Error::manifest(file, "no data.model_introspection.models: is this an amplify_outputs.json with a data resource?"));
        }
        let parsed: ModelIntrospection =
            serde_json::from_value(intro.clone()).map_err(|e| Error::manifest(file, format!("unexpected model introspection: {e}")))?;
        parsed.validate(file)?;
        Ok(parsed)
    }

    /// References to enums, custom types and models must resolve.
    fn validate(&self, file: &str) -> Result<()> {
        let check = |owner: &str, f: &Field| -> Result<()> {
            let missing = match &f.ty {
                FieldType::Enum { name } => (!self.enums.contains_key(name)).then(|| format!("enum {name}")),
                FieldType::NonModel { name } => (!self.non_models.contains_key(name)).then(|| format!("custom type {name}")),
                FieldType::Model { name } => (!self.models.contains_key(name)).then(|| format!("model {name}")),
                FieldType::Scalar(_) => None,
            };
            match missing {
                Some(what) => Err(Error::manifest(file, format!("{owner}.{} refers to an unknown {what}", f.name))),
                None => Ok(()),
            }
        };
        for m in self.models.values() {
            m.fields.values().try_for_each(|f| check(&m.name, f))?;
            if m.fields.contains_key(crate::convert::TYPES_COLUMN) {
                return Err(Error::manifest(
                    file,
                    format!("{}.{}: ddbsnap reserves this name for its type tags; rename the field", m.name, crate::convert::TYPES_COLUMN),
                ));
            }
        }
        for n in self.non_models.values() {
            n.fields.values().try_for_each(|f| check(&n.name, f))?;
        }
        // A custom type may contain itself through optional fields or lists
        // (a tree), but not through required single fields: no finite item
        // holds it, and generating one would never end.
        for start in self.non_models.keys() {
            let mut path = vec![start.as_str()];
            let mut at = start.as_str();
            loop {
                let next = self.non_models.get(at).and_then(|n| {
                    n.fields.values().find_map(|f| match &f.ty {
                        FieldType::NonModel { name } if f.is_required && !f.is_array => Some((name.as_str(), f.name.as_str())),
                        _ => None,
                    })
                });
                let Some((name, field)) = next else { break };
                if name == start {
                    return Err(Error::manifest(
                        file,
                        format!("custom type {start} requires itself ({}.{field} -> {start}): no item can hold it", path.join(" -> ")),
                    ));
                }
                if path.contains(&name) {
                    break;
                }
                path.push(name);
                at = name;
            }
        }
        Ok(())
    }
}

impl Model {
    /// Partition key field, then sort key fields.
    pub fn key_fields(&self) -> Vec<&str> {
        let mut k = vec![self.primary_key_info.primary_key_field_name.as_str()];
        k.extend(self.primary_key_info.sort_key_field_names.iter().map(String::as_str));
        k
    }

    /// Secondary indexes (`key` attributes with a name).
    pub fn indexes(&self) -> Vec<Index> {
        self.attributes
            .iter()
            .filter(|a| a.kind == "key")
            .filter_map(|a| {
                let name = a.properties.get("name")?.as_str()?.to_string();
                let fields = a.properties.get("fields")?.as_array()?.iter().filter_map(|f| f.as_str().map(str::to_string)).collect();
                Some(Index { name, fields })
            })
            .collect()
    }

    /// Fields stored as attributes of the item (associations to other models
    /// are not stored; their foreign keys are separate fields).
    pub fn stored_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.values().filter(|f| !matches!(f.ty, FieldType::Model { .. }))
    }

    /// Owner fields named by owner auth rules.
    pub fn owner_fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        for a in self.attributes.iter().filter(|a| a.kind == "auth") {
            let rules = a.properties.get("rules").and_then(|r| r.as_array()).cloned().unwrap_or_default();
            for r in rules {
                if r.get("allow").and_then(|v| v.as_str()) == Some("owner") {
                    let f = r.get("ownerField").and_then(|v| v.as_str()).unwrap_or("owner").to_string();
                    if !out.contains(&f) {
                        out.push(f);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"{"version":1,"data":{"model_introspection":{"version":1,
      "models":{"Contact":{"name":"Contact","syncable":true,"pluralName":"Contacts",
        "fields":{
          "id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
          "email":{"name":"email","isArray":false,"type":"AWSEmail","isRequired":true,"attributes":[]},
          "tags":{"name":"tags","isArray":true,"type":"String","isRequired":false,"isArrayNullable":true,"attributes":[]},
          "status":{"name":"status","isArray":false,"type":{"enum":"Status"},"isRequired":false,"attributes":[]},
          "address":{"name":"address","isArray":false,"type":{"nonModel":"Address"},"isRequired":false,"attributes":[]},
          "companyId":{"name":"companyId","isArray":false,"type":"ID","isRequired":false,"attributes":[]},
          "company":{"name":"company","isArray":false,"type":{"model":"Company"},"isRequired":false,"attributes":[],
             "association":{"connectionType":"BELONGS_TO","targetNames":["companyId"]}}},
        "attributes":[{"type":"model","properties":{}},
          {"type":"key","properties":{"name":"contactsByEmail","queryField":"listByEmail","fields":["email"]}},
          {"type":"auth","properties":{"rules":[{"allow":"owner","ownerField":"owner","operations":["read"]}]}}],
        "primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]}},
       "Company":{"name":"Company","fields":{
          "id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
          "contacts":{"name":"contacts","isArray":true,"type":{"model":"Contact"},"isRequired":false,"attributes":[],"isArrayNullable":true,
             "association":{"connectionType":"HAS_MANY","associatedWith":["companyId"]}}},
        "attributes":[],"primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]}}},
      "enums":{"Status":{"name":"Status","values":["ACTIVE","INACTIVE"]}},
      "nonModels":{"Address":{"name":"Address","fields":{"city":{"name":"city","isArray":false,"type":"String","isRequired":true,"attributes":[]}}}}}}}"#;

    #[test]
    fn reads_models_enums_custom_types_and_keys() {
        let m = ModelIntrospection::parse("outputs", SMALL.as_bytes()).unwrap();
        let c = &m.models["Contact"];
        assert_eq!(c.fields["email"].ty, FieldType::Scalar(Scalar::AWSEmail));
        assert_eq!(c.fields["status"].ty, FieldType::Enum { name: "Status".into() });
        assert_eq!(c.fields["tags"].is_array_nullable, Some(true));
        assert_eq!(c.key_fields(), vec!["id"]);
        assert_eq!(c.indexes(), vec![Index { name: "contactsByEmail".into(), fields: vec!["email".into()] }]);
        assert_eq!(c.owner_fields(), vec!["owner".to_string()]);
        assert_eq!(c.stored_fields().count(), 6);
        let assoc = c.fields["company"].association.as_ref().unwrap();
        assert_eq!(assoc.connection_type, ConnectionType::BelongsTo);
        assert_eq!(assoc.target_names, vec!["companyId".to_string()]);
        assert_eq!(m.enums["Status"].values.len(), 2);
        assert_eq!(m.non_models["Address"].fields["city"].ty, FieldType::Scalar(Scalar::String));
    }

    #[test]
    fn unknown_references_and_missing_models_are_errors() {
        let bad = SMALL.replace(r#"{"enum":"Status"}"#, r#"{"enum":"Nope"}"#);
        let e = ModelIntrospection::parse("outputs", bad.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("Contact.status refers to an unknown enum Nope"), "{e}");
        let e = ModelIntrospection::parse("outputs", br#"{"auth":{}}"#).unwrap_err().to_string();
        assert!(e.contains("model_introspection"), "{e}");
    }
}
