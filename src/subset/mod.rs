//! Masked, referentially complete subsets of exports, for seeding sandboxes
//! and preview branches.
//!
//! A sandbox wants real data's shape (its odd values, its type drift, its
//! relationships) without real data's size or personal details. So a seeded
//! fraction of the root models' items is chosen by hashing their keys (the
//! choice is stable: an item keeps its fate as others come and go), the set
//! is closed over the Amplify model's references ([`relations`]: children
//! down, parents up, see [`select`]) so that nothing the subset refers to is
//! missing unless it was missing in the source, chosen fields are replaced by
//! keyed, format-preserving fakes ([`mask`]), and each table is written as a
//! full export in AWS's own layout, which every ddbsnap command reads like
//! any other export (and whose data files DynamoDB's import from S3 takes).
//!
//! The work is done on key hashes ([`index`]) in memory: one pass per table
//! over its key and foreign-key columns, then hash lookups, never a scan per
//! item.

mod hmac;
mod index;
pub mod mask;
mod relations;
mod select;
mod spec;
mod write;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

pub use hmac::random_key;
pub use mask::{MaskError, Masker};
pub use select::Choice;

use crate::checks::model::ModelIntrospection;
use crate::load::LoadedTable;
use crate::snapshot::manifest::OutputFormat;
use index::{IndexSpec, Rows, index_table};
use select::{Reason, RefNode};

/// Why a subset could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SubsetError {
    #[error(transparent)]
    Data(#[from] crate::Error),
    #[error(
        "--mask {spec}: {model}.{field} is {why}; key and relationship fields cannot be masked, or the subset's references would break"
    )]
    Protected { spec: String, model: String, field: String, why: String },
    #[error("--mask {spec}: {why}")]
    UnknownMask { spec: String, why: String },
    #[error("--root {root}: {why}")]
    UnknownRoot { root: String, why: String },
    #[error("table {table}: an item has no {fields}, its key in the Amplify model (does the model describe this table?)")]
    MissingKey { table: String, fields: String },
    #[error("table {table}, attribute {field}: {source}")]
    Mask { table: String, field: String, source: MaskError },
    #[error("{dir}: {why}")]
    Output { dir: String, why: String },
}

pub type Result<T, E = SubsetError> = std::result::Result<T, E>;

/// What to subset and how.
#[derive(Debug, Clone)]
pub struct SubsetOptions {
    /// Folder to write into (it plays the S3 bucket root).
    pub out: PathBuf,
    pub choice: Choice,
    /// Root models; empty: the models that belong to no other model.
    pub roots: Vec<String>,
    /// `FIELD` (every table having it) or `MODEL.FIELD`.
    pub masks: Vec<String>,
    pub mask_key: Vec<u8>,
    pub seed: u64,
    pub format: OutputFormat,
}

/// What was written: the content of `ddbsnap-subset.json`.
#[derive(Debug, Clone, Serialize)]
pub struct SubsetReport {
    pub seed: u64,
    pub fraction: Option<f64>,
    pub items_per_root: Option<u64>,
    pub roots: Vec<String>,
    pub format: OutputFormat,
    pub tables: Vec<TableReport>,
    pub notes: Vec<String>,
}

/// One table of the subset.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub table: String,
    pub physical_table: String,
    pub export_id: String,
    pub source_items: u64,
    /// Items written: roots, children and parents.
    pub chosen_items: u64,
    pub roots_chosen: u64,
    pub added_as_children: u64,
    pub added_as_parents: u64,
    /// This table's items (in the source) whose reference resolves to nothing.
    pub dangling_in_source: u64,
    /// Of those, the ones in the subset: the only dangling references it has.
    pub dangling_in_subset: u64,
    pub references: Vec<ReferenceReport>,
    /// Per masked attribute, the values replaced (set members and nested values each count).
    pub masked: BTreeMap<String, u64>,
}

/// One reference held by a table's items.
#[derive(Debug, Clone, Serialize)]
pub struct ReferenceReport {
    pub reference: String,
    pub dangling_in_source: u64,
    pub dangling_in_subset: u64,
}

/// Fails early when `out` already holds an export or a subset.
pub fn check_output(out: &std::path::Path) -> Result<()> {
    write::check_output(out)
}

/// Makes the subset of `tables` described by `opts` and writes it; returns
/// what `ddbsnap-subset.json` says.
pub fn subset(tables: &[LoadedTable], intro: &ModelIntrospection, opts: &SubsetOptions) -> Result<SubsetReport> {
    let _span = tracing::info_span!("subset").entered();
    write::check_output(&opts.out)?;
    let names: Vec<&str> = tables.iter().map(LoadedTable::name).collect();
    let (edges, mut notes) = spec::active_edges(intro, &names);
    let roots = spec::roots(intro, &edges, &names, &opts.roots)?;
    let masks = spec::masks(intro, tables, &opts.masks)?;
    let rows = tables.iter().map(Rows::new).collect::<Result<Vec<_>>>()?;
    let (keys, refs) = index_all(intro, &names, &rows, &edges, &roots, opts.seed, &mut notes)?;
    let selection = select::select(&keys, &refs, &roots, opts.choice);
    let masker = Masker::new(&opts.mask_key);
    let target = write::Target { out: &opts.out, format: opts.format, seed: opts.seed };
    let mut reports = Vec::new();
    for (t, table) in tables.iter().enumerate() {
        // In key-hash order: deterministic whatever order the source was read in.
        let mut chosen: Vec<u32> = (0..rows[t].len as u32).filter(|&r| selection.reasons[t][r as usize].is_some()).collect();
        chosen.sort_unstable_by_key(|&r| keys[t].keys[r as usize]);
        let written = write::write_table(&target, table, &rows[t], &chosen, &masks[t], &masker)?;
        reports.push(table_report(t, table, &selection, &refs, chosen.len() as u64, written));
    }
    let (fraction, items_per_root) = match opts.choice {
        Choice::Fraction(f) => (Some(f), None),
        Choice::Items(n) => (None, Some(n)),
    };
    let roots = roots.iter().map(|&t| names[t].to_string()).collect();
    let report = SubsetReport { seed: opts.seed, fraction, items_per_root, roots, format: opts.format, tables: reports, notes };
    write::write_report(&opts.out, &report)?;
    Ok(report)
}

/// Indexes every table's keys (scored for choosing when it is a root) and
/// the references its items hold.
fn index_all(
    intro: &ModelIntrospection,
    names: &[&str],
    rows: &[Rows],
    edges: &[spec::Active],
    roots: &[usize],
    seed: u64,
    notes: &mut Vec<String>,
) -> Result<(Vec<index::KeyIndex>, Vec<RefNode>)> {
    let (mut keys, mut refs) = (Vec::new(), Vec::new());
    for (t, name) in names.iter().enumerate() {
        let key: Option<Vec<String>> = intro.models.get(*name).map(|m| m.key_fields().into_iter().map(str::to_string).collect());
        if key.is_none() {
            notes.push(format!("table {name} has no model in the Amplify outputs: no reference is followed to or from it"));
        }
        let held: Vec<&spec::Active> = edges.iter().filter(|e| e.child == t).collect();
        let spec = IndexSpec {
            table: name,
            key: key.as_deref(),
            fks: held.iter().map(|e| e.edge.fk.as_slice()).collect(),
            seed: roots.contains(&t).then_some(seed),
        };
        let (k, r) = index_table(&rows[t], &spec)?;
        keys.push(k);
        for (e, index) in held.into_iter().zip(r) {
            refs.push(RefNode { edge: e.edge.clone(), child: t, parent: e.parent, index });
        }
        tracing::debug!(table = %name, items = rows[t].len, "indexed");
    }
    Ok((keys, refs))
}

fn table_report(
    t: usize,
    table: &LoadedTable,
    s: &select::Selection,
    refs: &[RefNode],
    chosen_items: u64,
    w: write::Written,
) -> TableReport {
    let references: Vec<ReferenceReport> = refs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.child == t)
        .map(|(i, r)| ReferenceReport {
            reference: r.edge.describe(),
            dangling_in_source: s.dangling_in_source[i],
            dangling_in_subset: s.dangling_in_subset[i],
        })
        .collect();
    TableReport {
        table: table.name().to_string(),
        physical_table: w.physical_table,
        export_id: w.export_id,
        source_items: s.reasons[t].len() as u64,
        chosen_items,
        roots_chosen: s.count(t, Reason::Root),
        added_as_children: s.count(t, Reason::Child),
        added_as_parents: s.count(t, Reason::Parent),
        dangling_in_source: references.iter().map(|r| r.dangling_in_source).sum(),
        dangling_in_subset: references.iter().map(|r| r.dangling_in_subset).sum(),
        references,
        masked: w.masked,
    }
}
