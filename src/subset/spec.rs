//! `--root` and `--mask` resolved against the Amplify model and the tables
//! that were loaded, once and before anything is written: a typo or a key
//! field is an error naming it, never a subset that silently masks nothing
//! or breaks its own references.

use std::collections::BTreeSet;

use super::relations::{self, Edge};
use super::{Result, SubsetError};
use crate::checks::model::ModelIntrospection;
use crate::load::LoadedTable;

/// A reference whose two tables were both loaded (by position).
pub struct Active {
    pub edge: Edge,
    pub child: usize,
    pub parent: usize,
}

/// The references the subset can follow, and notes on those it cannot.
pub fn active_edges(intro: &ModelIntrospection, names: &[&str]) -> (Vec<Active>, Vec<String>) {
    let (mut out, mut notes) = (Vec::new(), Vec::new());
    let position = |m: &str| names.iter().position(|n| *n == m);
    for edge in relations::edges(intro) {
        let (Some(child), Some(parent)) = (position(&edge.child), position(&edge.parent)) else {
            let missing: Vec<&str> =
                [&edge.child, &edge.parent].into_iter().filter(|m| position(m).is_none()).map(String::as_str).collect();
            notes.push(format!("{} not followed: no export of {}", edge.describe(), missing.join(" or ")));
            continue;
        };
        if edge.fk.len() != edge.parent_key.len() {
            notes.push(format!(
                "{} not followed: {} fields refer to a key of {} fields ({})",
                edge.describe(),
                edge.fk.len(),
                edge.parent_key.len(),
                edge.parent_key.join(", ")
            ));
            continue;
        }
        out.push(Active { edge, child, parent });
    }
    (out, notes)
}

/// The tables to choose from: those named by `--root`, or else every table
/// whose model belongs to no other loaded model (and tables without a model).
pub fn roots(intro: &ModelIntrospection, edges: &[Active], names: &[&str], asked: &[String]) -> Result<Vec<usize>> {
    if asked.is_empty() {
        let belongs = |t: usize| edges.iter().any(|e| e.child == t && e.parent != t);
        return Ok((0..names.len()).filter(|&t| !belongs(t)).collect());
    }
    let mut out = Vec::new();
    for root in asked {
        let t = names.iter().position(|n| n == root).ok_or_else(|| SubsetError::UnknownRoot {
            root: root.clone(),
            why: format!(
                "no table of that name was loaded (tables: {}){}",
                names.join(", "),
                if intro.models.contains_key(root) { "; the model has no export" } else { "" }
            ),
        })?;
        out.push(t);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Per table, the attributes to mask.
pub fn masks(intro: &ModelIntrospection, tables: &[LoadedTable], specs: &[String]) -> Result<Vec<BTreeSet<String>>> {
    let protected = relations::protected_fields(intro, &relations::edges(intro));
    let has = |t: &LoadedTable, field: &str| {
        t.schema.columns.iter().any(|c| c.name == field)
            || intro.models.get(t.name()).is_some_and(|m| m.stored_fields().any(|f| f.name == field))
    };
    let guard = |spec: &str, table: &str, field: &str| match protected.get(table).and_then(|p| p.get(field)) {
        Some(why) => Err(SubsetError::Protected { spec: spec.into(), model: table.into(), field: field.into(), why: why.clone() }),
        None => Ok(()),
    };
    let mut out: Vec<BTreeSet<String>> = vec![BTreeSet::new(); tables.len()];
    for spec in specs {
        let unknown = |why: String| SubsetError::UnknownMask { spec: spec.clone(), why };
        if let Some((table, field)) = spec.split_once('.') {
            let t = tables.iter().position(|t| t.name() == table).ok_or_else(|| unknown(format!("no table {table} was loaded")))?;
            guard(spec, table, field)?;
            if !has(&tables[t], field) {
                return Err(unknown(format!("{table} has no field or attribute {field}")));
            }
            out[t].insert(field.to_string());
            continue;
        }
        let mut found = false;
        for (t, table) in tables.iter().enumerate() {
            guard(spec, table.name(), spec)?;
            if has(table, spec) {
                out[t].insert(spec.clone());
                found = true;
            }
        }
        if !found {
            return Err(unknown(format!("no loaded table has a field or attribute {spec}")));
        }
    }
    Ok(out)
}
