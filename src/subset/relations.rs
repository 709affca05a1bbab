//! The references between models, as the subset follows them.
//!
//! Amplify describes one relationship from both ends: `Contact.company`
//! (BELONGS_TO, `targetNames: [companyId]`) and `Company.contacts`
//! (HAS_MANY, `associatedWith: [companyId]`). Both say the same thing about
//! the data: Contact items hold a Company key in `companyId`. So both ends
//! become one [`Edge`] from child to parent; the HAS_MANY/HAS_ONE end adds
//! that the parent's children belong with it (`down`).

use std::collections::BTreeMap;

use crate::checks::model::{ConnectionType, FieldType, Model, ModelIntrospection};

/// Items of `child` hold the key of a `parent` item in the fields `fk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub child: String,
    pub fk: Vec<String>,
    pub parent: String,
    /// The parent's primary key fields, matched to `fk` in order.
    pub parent_key: Vec<String>,
    /// The parent declares the children (hasMany/hasOne): when a parent is
    /// chosen, its children come with it.
    pub down: bool,
}

impl Edge {
    /// How reports name the reference: `Contact.companyId -> Company`.
    pub fn describe(&self) -> String {
        format!("{}.{} -> {}", self.child, self.fk.join(","), self.parent)
    }
}

/// Every reference of the model, one edge per (child, fields, parent).
pub fn edges(intro: &ModelIntrospection) -> Vec<Edge> {
    let mut out: Vec<Edge> = Vec::new();
    for m in intro.models.values() {
        for f in m.fields.values() {
            let (Some(assoc), FieldType::Model { name: other }) = (&f.association, &f.ty) else { continue };
            let Some(other_model) = intro.models.get(other) else { continue };
            let edge = match assoc.connection_type {
                ConnectionType::BelongsTo if !assoc.target_names.is_empty() => {
                    Some(edge(m, assoc.target_names.clone(), other_model, false))
                }
                ConnectionType::HasMany | ConnectionType::HasOne if !assoc.associated_with.is_empty() => {
                    Some(edge(other_model, child_fields(other_model, &assoc.associated_with), m, true))
                }
                _ => None,
            };
            let Some(e) = edge else { continue };
            match out.iter_mut().find(|x| x.child == e.child && x.fk == e.fk && x.parent == e.parent) {
                Some(x) => x.down |= e.down,
                None => out.push(e),
            }
        }
    }
    out
}

fn edge(child: &Model, fk: Vec<String>, parent: &Model, down: bool) -> Edge {
    let parent_key = parent.key_fields().into_iter().map(str::to_string).collect();
    Edge { child: child.name.clone(), fk, parent: parent.name.clone(), parent_key, down }
}

/// The child's foreign-key fields named by `associatedWith`. Gen 2 names
/// them directly; older introspections name the child's belongsTo field,
/// whose `targetNames` are the stored fields.
fn child_fields(child: &Model, associated_with: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for a in associated_with {
        match child.fields.get(a).and_then(|f| f.association.as_ref()) {
            Some(assoc) if assoc.connection_type == ConnectionType::BelongsTo && !assoc.target_names.is_empty() => {
                out.extend(assoc.target_names.iter().cloned())
            }
            _ => out.push(a.clone()),
        }
    }
    out
}

/// Per model, the fields that must not be masked and why: primary key
/// fields, and the fields that hold or are matched by references.
pub fn protected_fields(intro: &ModelIntrospection, edges: &[Edge]) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for m in intro.models.values() {
        for k in m.key_fields() {
            out.entry(m.name.clone()).or_default().insert(k.to_string(), format!("part of the primary key of {}", m.name));
        }
    }
    for e in edges {
        for f in &e.fk {
            out.entry(e.child.clone()).or_default().entry(f.clone()).or_insert_with(|| format!("a foreign key ({})", e.describe()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = r#"{"models":{
      "Company":{"name":"Company","primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
        "fields":{"id":{"name":"id","type":"ID"},
          "contacts":{"name":"contacts","isArray":true,"type":{"model":"Contact"},"association":{"connectionType":"HAS_MANY","associatedWith":["companyId"]}}}},
      "Contact":{"name":"Contact","primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
        "fields":{"id":{"name":"id","type":"ID"},"companyId":{"name":"companyId","type":"ID"},
          "company":{"name":"company","type":{"model":"Company"},"association":{"connectionType":"BELONGS_TO","targetNames":["companyId"]}},
          "notes":{"name":"notes","isArray":true,"type":{"model":"Note"},"association":{"connectionType":"HAS_MANY","associatedWith":["contact"]}}}},
      "Note":{"name":"Note","primaryKeyInfo":{"isCustomPrimaryKey":true,"primaryKeyFieldName":"contactRef","sortKeyFieldNames":["at"]},
        "fields":{"contactRef":{"name":"contactRef","type":"ID"},"at":{"name":"at","type":"AWSDateTime"},
          "contact":{"name":"contact","type":{"model":"Contact"},"association":{"connectionType":"BELONGS_TO","targetNames":["contactRef"]}}}}}}"#;

    #[test]
    fn both_ends_of_a_relationship_make_one_edge() {
        let intro = ModelIntrospection::parse("model", MODEL.as_bytes()).unwrap();
        let e = edges(&intro);
        assert_eq!(e.len(), 2, "{e:#?}");
        let contact = e.iter().find(|x| x.child == "Contact").unwrap();
        assert_eq!((contact.fk.clone(), contact.parent.as_str(), contact.down), (vec!["companyId".to_string()], "Company", true));
        // associatedWith naming the belongsTo field resolves to its targetNames
        let note = e.iter().find(|x| x.child == "Note").unwrap();
        assert_eq!((note.fk.clone(), note.parent_key.clone(), note.down), (vec!["contactRef".to_string()], vec!["id".to_string()], true));
        assert_eq!(note.describe(), "Note.contactRef -> Contact");
        let p = protected_fields(&intro, &e);
        assert!(p["Note"]["at"].contains("primary key"));
        assert!(p["Contact"]["companyId"].contains("foreign key"));
        assert!(!p["Contact"].contains_key("company"));
    }
}
