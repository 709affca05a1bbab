//! Profiles: the shape of production data, without the data, so that a
//! synthetic dataset of the same shape can be generated and rehearsed on.
//!
//! A profile is computed from tables loaded exactly as `sql` loads them
//! ([`crate::load`]), straight from the Arrow batches: each column is read
//! once (columns in parallel), each value measured from the Arrow buffers
//! and counted by a 64-bit hash ([`value`]), lengths and sizes gathered in
//! exact frequency tables ([`quantile`]). Memory follows the snapshot: 4
//! bytes per item and worker for item sizes, and for each column being read
//! a small map of its values' hashes, or (past 16,384 distinct values) 8
//! bytes per value, sorted and counted at the end.
//!
//! # What is never written
//!
//! Raw values appear only in `top`: the most common values of a scalar
//! (S, N, BOOL) attribute with at most `max_distinct` distinct values that
//! repeat (an attribute whose every value is unique identifies items, however
//! few). Never for the model's primary key fields (`role: "key"`), never with
//! `--no-values` (`values_included: false`, no `top` anywhere). Small tables
//! need care: with fewer items than `max_distinct`, every repeating scalar
//! qualifies; use `--no-values` or a lower `--max-distinct` there.
//!
//! # The file (`format: "ddbsnap-profile/1"`)
//!
//! Fields may be added in later versions of the format, never renamed.
//!
//! ```text
//! { "format": "ddbsnap-profile/1",
//!   "created_at": "2026-01-14T10:30:00Z",          RFC 3339
//!   "values_included": true,                       false with --no-values
//!   "options": {"top": 20, "max_distinct": 50},
//!   "sources": [{"table": "Contact", "exports": ["01700000000000-abcdef12", ...],  full export, then incrementals
//!                "export_time": "2026-01-14T10:30:00Z"}],                           the snapshot's point in time
//!   "tables": { "Contact": {
//!       "items": 2000,
//!       "item_bytes": {"min", "p50", "p90", "p99", "max", "mean"},             DynamoDB's size rules
//!       "attributes": { "age": {
//!           "present": 1990,                       items holding it, NULL included
//!           "types": {"N": 1980, "S": 10},         items per DynamoDB type (S N B BOOL NULL M L SS NS BS)
//!           "nulls": 0, "null_rate": 0.0,          NULL items, and / items
//!           "length": {"min", "p50", "p90", "p99", "max", "mean"},
//!                                                  S characters, N characters of the number's text,
//!                                                  B bytes, SS/NS/BS/L/M elements; absent when no value has one
//!           "distinct": 70,                        distinct non-NULL values (exact, by 64-bit hash)
//!           "max_per_value": 40, "max_share": 0.02,
//!                                                  items sharing the most common value, and / items:
//!                                                  S/N attributes whose values repeat, and key/index fields
//!           "role": "key" | "index",               with --amplify: primary key field, index partition key
//!           "top": [{"value": "42", "count": 40, "type": "N"}, ...]
//!       } } } } }
//! ```
//!
//! Distributions use the nearest-rank quantile (the smallest value with at
//! least p of the values at or below it); `mean` is rounded to 2 decimals,
//! rates to 6. Top values are written as text (S as is, N as the number's
//! canonical text, BOOL `true`/`false`), most common first, at most `top`.

mod attr;
mod column;
mod counts;
mod nested;
pub mod quantile;
mod table;
pub mod value;

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

pub use attr::{AttrShape, Role, TopValue, ValueLimits};
pub use table::{TableShape, profile_table};

use crate::checks::model::{Model, ModelIntrospection};
use crate::error::Result;
use crate::load::LoadedTable;

/// The value of the `format` field.
pub const FORMAT: &str = "ddbsnap-profile/1";

/// A profile file.
#[derive(Clone, Debug, Serialize)]
pub struct Profile {
    pub format: &'static str,
    pub created_at: String,
    pub values_included: bool,
    pub options: Options,
    pub sources: Vec<Source>,
    pub tables: BTreeMap<String, TableShape>,
}

/// The limits the profile was made with.
#[derive(Clone, Debug, Serialize)]
pub struct Options {
    pub top: usize,
    pub max_distinct: usize,
}

/// The exports a table was read from.
#[derive(Clone, Debug, Serialize)]
pub struct Source {
    pub table: String,
    /// Export ids: the full export, then the incremental exports applied.
    pub exports: Vec<String>,
    /// The point in time the table was read at.
    pub export_time: Option<String>,
}

/// Profiles loaded tables. With a data model, each table named after one of
/// its models gets its key and index roles; the names of tables without a
/// model are returned.
pub fn profile(
    tables: &[LoadedTable],
    model: Option<&ModelIntrospection>,
    limits: ValueLimits,
    pool: &crate::env::Pool,
    now: DateTime<Utc>,
) -> Result<(Profile, Vec<String>)> {
    let mut shapes = BTreeMap::new();
    let mut sources = Vec::new();
    let mut unmodelled = Vec::new();
    for t in tables {
        let roles = match model.map(|m| m.models.get(t.name())) {
            Some(Some(m)) => roles(m),
            Some(None) => {
                unmodelled.push(t.name().to_string());
                BTreeMap::new()
            }
            None => BTreeMap::new(),
        };
        let started = std::time::Instant::now();
        shapes.insert(t.name().to_string(), profile_table(t, limits, &roles, pool)?);
        tracing::debug!(table = %t.name(), seconds = started.elapsed().as_secs_f64(), "profiled");
        sources.push(source(t));
    }
    sources.sort_by(|a, b| a.table.cmp(&b.table));
    let profile = Profile {
        format: FORMAT,
        created_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        values_included: limits.values,
        options: Options { top: limits.top, max_distinct: limits.max_distinct },
        sources,
        tables: shapes,
    };
    Ok((profile, unmodelled))
}

/// Primary key fields as keys, index partition keys as indexes.
pub fn roles(model: &Model) -> BTreeMap<String, Role> {
    let mut roles: BTreeMap<String, Role> =
        model.indexes().into_iter().filter_map(|i| i.fields.into_iter().next()).map(|f| (f, Role::Index)).collect();
    roles.extend(model.key_fields().into_iter().map(|f| (f.to_string(), Role::Key)));
    roles
}

fn source(t: &LoadedTable) -> Source {
    let s = &t.snapshot;
    let exports = s.exports().map(|e| e.summary.export_id().to_string()).collect();
    Source { table: t.name().to_string(), exports, export_time: s.point_in_time().map(|p| p.to_rfc3339_opts(SecondsFormat::Millis, true)) }
}
