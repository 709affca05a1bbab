//! The transform contract: how a result row of a transform's SQL says what
//! to do with one item.
//!
//! | column | meaning |
//! |---|---|
//! | `_table` | target table (model) name; may be left out when one table is loaded |
//! | `_op` | `UPDATE` (the default; `SET` and `REMOVE` are accepted for it), `PUT` or `DELETE` |
//! | `_remove` | attributes to remove (UPDATE): text, comma-separated, or a list of text |
//! | `_skip` | when not NULL, the row is not planned and is reported with this reason |
//! | the table's key attributes | which item (always required) |
//! | any other column | an attribute value: UPDATE sets it, PUT writes it; SQL NULL leaves it alone (UPDATE) or out (PUT) |
//! | `set:NAME` | attribute NAME, overriding a column of that name (`SELECT *, 'x' AS "set:name"`) |
//!
//! For PUT, `_remove` names attributes to leave out of the item (with
//! `SELECT *`, the ones the new shape drops).
//!
//! Values follow [`crate::convert::natural`]. When the result has a `_ddb`
//! column (`SELECT *`), columns selected straight from the table are read
//! with their per-item type tags, exactly; `_ddb` itself is never written.

use arrow::array::{Array, ArrayRef, AsArray, DictionaryArray, StructArray};
use arrow::datatypes::{DataType, Int8Type, Schema};
use arrow::record_batch::RecordBatch;

use crate::catalog::guard::Origin;
use crate::convert::TYPES_COLUMN;
use crate::convert::natural::{ValueColumn, natural_value};
use crate::error::{Error, Result, brief};
use crate::item::{AttrValue, Item};

/// Column names with a meaning of their own; every other column is an attribute.
pub const RESERVED: [&str; 4] = ["_table", "_op", "_remove", "_skip"];
/// Prefix of columns that override an attribute of the same name.
pub const OVERRIDE: &str = "set:";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OpKind {
    Update,
    Put,
    Delete,
}

impl OpKind {
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Update => "UPDATE",
            OpKind::Put => "PUT",
            OpKind::Delete => "DELETE",
        }
    }

    pub fn parse(s: &str) -> Option<OpKind> {
        match s.trim().to_ascii_uppercase().as_str() {
            "UPDATE" | "SET" | "REMOVE" => Some(OpKind::Update),
            "PUT" => Some(OpKind::Put),
            "DELETE" => Some(OpKind::Delete),
            _ => None,
        }
    }
}

/// One result row, read.
#[derive(Debug, Clone)]
pub struct RowOp {
    /// 1-based position in the transform's result.
    pub row: u64,
    pub table: String,
    pub kind: OpKind,
    /// Non-NULL attribute columns, key attributes included.
    pub values: Item,
    pub remove: Vec<String>,
    pub skip: Option<String>,
}

/// Where the contract's columns are in a result schema.
pub struct RowReader {
    table: Option<usize>,
    op: Option<usize>,
    remove: Option<usize>,
    skip: Option<usize>,
    tags: Option<usize>,
    attrs: Vec<(usize, String)>,
    default_table: Option<String>,
}

impl RowReader {
    /// `origins` says where each column comes from: a control column that
    /// is a table's column of the same name passed through (an item's
    /// attribute, expanded by `SELECT *`) is refused, since data must never
    /// choose the operation.
    pub fn new(schema: &Schema, origins: &[Origin], default_table: Option<String>) -> Result<RowReader> {
        for (f, origin) in schema.fields().iter().zip(origins) {
            let name = f.name();
            let control = RESERVED.contains(&name.as_str()) || name.starts_with(OVERRIDE);
            // Renamed (`status AS _op`, `"_op" AS "set:_op"`) is the query's choice.
            if let (true, Origin::Column { table, column }) = (control, origin)
                && column == name
            {
                return Err(data_control_error(name, table, column));
            }
        }
        let find = |n: &str| schema.index_of(n).ok();
        let attrs: Vec<(usize, String)> = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| !RESERVED.contains(&f.name().as_str()) && f.name() != TYPES_COLUMN)
            .map(|(i, f)| (i, f.name().clone()))
            .collect();
        let table = find("_table");
        if table.is_none() && default_table.is_none() {
            return Err(Error::Invalid(
                "the transform's result has no _table column, and more than one table is loaded: say which table each row is for".into(),
            ));
        }
        Ok(RowReader {
            table,
            op: find("_op"),
            remove: find("_remove"),
            skip: find("_skip"),
            tags: find(TYPES_COLUMN),
            attrs,
            default_table,
        })
    }

    /// Prepares one batch of the result for reading.
    pub fn batch<'a>(&'a self, batch: &'a RecordBatch) -> std::result::Result<BatchRows<'a>, String> {
        let tags = self.tags.and_then(|i| batch.column(i).as_any().downcast_ref::<StructArray>());
        let mut attrs = Vec::with_capacity(self.attrs.len());
        for (i, name) in &self.attrs {
            let column = ValueColumn::new(batch.column(*i), batch.schema_ref().field(*i), tags.and_then(|t| tag_of(t, name)))?;
            attrs.push(AttrColumn { name, column });
        }
        Ok(BatchRows { reader: self, batch, attrs })
    }
}

/// One batch of a transform's result, ready to read row by row.
pub struct BatchRows<'a> {
    reader: &'a RowReader,
    batch: &'a RecordBatch,
    attrs: Vec<AttrColumn<'a>>,
}

struct AttrColumn<'a> {
    name: &'a str,
    column: ValueColumn<'a>,
}

impl BatchRows<'_> {
    /// Reads row `row`; `number` is its 1-based position in the whole result.
    pub fn read(&self, row: usize, number: u64) -> std::result::Result<RowOp, String> {
        let (r, batch) = (self.reader, self.batch);
        let text = |i: Option<usize>| -> std::result::Result<Option<String>, String> {
            let Some(i) = i else { return Ok(None) };
            match natural_value(batch.column(i), batch.schema_ref().field(i), row)? {
                None => Ok(None),
                Some(AttrValue::S(s)) => Ok(Some(s)),
                Some(other) => Ok(Some(crate::item::ddbjson::value_to_string(&other))),
            }
        };
        let table = match text(r.table)? {
            Some(t) => t,
            None => r.default_table.clone().ok_or("_table is NULL")?,
        };
        let kind = match text(r.op)? {
            None => OpKind::Update,
            Some(op) => OpKind::parse(&op).ok_or_else(|| format!("_op is {op:?}; it must be UPDATE, PUT or DELETE"))?,
        };
        let remove = match r.remove {
            Some(i) => removed_names(batch.column(i), row)?,
            None => Vec::new(),
        };
        let skip = text(r.skip)?;
        let mut values = Item::new();
        // Plain columns first, then the `set:` overrides.
        for pass in [false, true] {
            for a in self.attrs.iter().filter(|a| a.name.starts_with(OVERRIDE) == pass) {
                let name = a.name.strip_prefix(OVERRIDE).unwrap_or(a.name);
                match a.column.value(row).map_err(|e| format!("column {:?}: {e}", a.name))? {
                    Some(v) => {
                        values.insert(name.to_string(), v);
                    }
                    None if pass => {
                        values.remove(name);
                    }
                    None => {}
                }
            }
        }
        Ok(RowOp { row: number, table, kind, values, remove, skip })
    }
}

fn data_control_error(name: &str, table: &str, column: &str) -> Error {
    let (name, table, column) = (brief(name, 80), brief(table, 80), brief(column, 80));
    let hint = if name.starts_with(OVERRIDE) {
        format!("leave it out (SELECT * EXCLUDE (\"{column}\")) and write it, if it must be written, as \"{column}\" AS \"set:{column}\"")
    } else {
        format!(
            "leave it out (SELECT * EXCLUDE (\"{column}\"), then give {name} as an expression of your own); \
             the attribute itself is kept or written as \"{column}\" AS \"set:{column}\""
        )
    };
    Error::Invalid(format!(
        "the transform's result column {name:?} is the column {column:?} of table {table} passed through unchanged \
         (SELECT * expands to it): an item's data cannot choose what happens to it, because {name} is a control column; {hint}"
    ))
}

fn tag_of<'a>(tags: &'a StructArray, name: &str) -> Option<&'a DictionaryArray<Int8Type>> {
    tags.column_by_name(name).and_then(|c| c.as_any().downcast_ref::<DictionaryArray<Int8Type>>())
}

fn removed_names(a: &ArrayRef, row: usize) -> std::result::Result<Vec<String>, String> {
    if a.is_null(row) {
        return Ok(Vec::new());
    }
    let names: Vec<String> = match a.data_type() {
        DataType::List(_) => {
            let l = a.as_list::<i32>().value(row);
            let l = arrow::compute::cast(&l, &DataType::Utf8).map_err(|e| e.to_string())?;
            l.as_string::<i32>().iter().flatten().map(str::to_string).collect()
        }
        _ => {
            let t = arrow::compute::cast(&a.slice(row, 1), &DataType::Utf8).map_err(|e| format!("_remove: {e}"))?;
            t.as_string::<i32>().value(0).split(',').map(|s| s.trim().to_string()).collect()
        }
    };
    Ok(names.into_iter().filter(|n| !n.is_empty()).collect())
}
