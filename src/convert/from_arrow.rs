//! Typed Arrow record batches back to exact items.
//!
//! The inverse of [`super::to_arrow`]: each value column's kind (field
//! metadata) and each row's type tag (`_ddb`) say how to read the value, so a
//! batch read back from Parquet gives the very items that were exported.

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Decimal128Array, DictionaryArray, Int64Array, ListArray, StringArray, StructArray,
};
use arrow::datatypes::Int8Type;
use arrow::record_batch::RecordBatch;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::schema::{Kind, TYPES_COLUMN, TableSchema};
use super::stats::NumKind;
use crate::error::{Error, Result};
use crate::item::{AttrValue, DdbType, Item, Number, ddbjson};

/// Reads every row of a batch written by ddbsnap as an item.
/// DataFusion's Parquet reader hands strings and binaries back as view
/// arrays (Utf8View, BinaryView): they are cast to the plain arrays ddbsnap
/// wrote first.
pub fn batch_to_items(batch: &RecordBatch) -> Result<Vec<Item>> {
    let plain = without_views(batch)?;
    let decoder = BatchDecoder::new(&plain)?;
    (0..plain.num_rows()).map(|row| decoder.item(row)).collect()
}

/// `batch` with every view type (at any depth) cast to its plain type.
pub fn without_views(batch: &RecordBatch) -> Result<RecordBatch> {
    use arrow::datatypes::{DataType, Field, Schema};
    fn plain(t: &DataType) -> DataType {
        match t {
            DataType::Utf8View => DataType::Utf8,
            DataType::BinaryView => DataType::Binary,
            DataType::List(f) => DataType::List(std::sync::Arc::new(
                Field::new(f.name(), plain(f.data_type()), f.is_nullable()).with_metadata(f.metadata().clone()),
            )),
            DataType::Struct(fs) => DataType::Struct(
                fs.iter()
                    .map(|f| Field::new(f.name(), plain(f.data_type()), f.is_nullable()).with_metadata(f.metadata().clone()))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    let schema = batch.schema();
    if schema.fields().iter().all(|f| plain(f.data_type()) == *f.data_type()) {
        return Ok(batch.clone());
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| Field::new(f.name(), plain(f.data_type()), f.is_nullable()).with_metadata(f.metadata().clone()))
        .collect();
    let columns = batch
        .columns()
        .iter()
        .zip(&fields)
        .map(|(c, f)| if c.data_type() == f.data_type() { Ok(c.clone()) } else { arrow::compute::cast(c, f.data_type()) })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(std::sync::Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())), columns)?)
}

/// Reads single rows of one batch as items: the column kinds and type tags
/// are looked up once per batch, not once per row.
pub struct BatchDecoder<'a> {
    columns: Vec<DecodedColumn<'a>>,
    /// Column indexes in attribute-name order (an [`Item`]'s order).
    by_name: Vec<usize>,
}

/// One attribute's value as [`BatchDecoder::visit`] reads it: a string
/// borrowed from its array, or any other value decoded.
pub enum ValueRef<'a> {
    S(&'a str),
    Other(AttrValue),
}

struct DecodedColumn<'a> {
    name: &'a str,
    reader: ColumnReader<'a>,
    tags: &'a DictionaryArray<Int8Type>,
    /// The type named by each dictionary entry of `tags`.
    tag_types: Vec<Option<DdbType>>,
}

impl<'a> BatchDecoder<'a> {
    pub fn new(batch: &'a RecordBatch) -> Result<BatchDecoder<'a>> {
        let schema = TableSchema::from_arrow(&batch.schema())?;
        let tags = batch
            .column_by_name(TYPES_COLUMN)
            .and_then(|c| c.as_any().downcast_ref::<StructArray>())
            .ok_or_else(|| Error::Invalid(format!("{TYPES_COLUMN} is not a struct column")))?;
        let mut columns = Vec::with_capacity(schema.columns.len());
        for spec in &schema.columns {
            let idx = batch.schema_ref().index_of(&spec.name).expect("from_arrow listed this column");
            let name: &'a str = batch.schema_ref().field(idx).name();
            let tag_col = tags
                .column_by_name(&spec.name)
                .and_then(|c| c.as_any().downcast_ref::<DictionaryArray<Int8Type>>())
                .ok_or_else(|| Error::Invalid(format!("no type tags for column {:?}", spec.name)))?;
            let tag_types = tag_names(tag_col).map_err(|e| Error::Invalid(format!("column {:?}: {e}", spec.name)))?;
            columns.push(DecodedColumn {
                name,
                reader: ColumnReader { kind: spec.kind, values: batch.column(idx) },
                tags: tag_col,
                tag_types,
            });
        }
        let mut by_name: Vec<usize> = (0..columns.len()).collect();
        by_name.sort_by_key(|&i| columns[i].name);
        Ok(BatchDecoder { columns, by_name })
    }

    /// Calls `f` with each attribute of the item in `row`, in name order,
    /// without building the item: string columns lend their text.
    pub fn visit(&self, row: usize, mut f: impl FnMut(&str, ValueRef<'_>)) -> Result<()> {
        for &i in &self.by_name {
            let c = &self.columns[i];
            if c.tags.is_null(row) {
                continue;
            }
            if c.reader.kind == Kind::Str && !c.reader.values.is_null(row) {
                f(c.name, ValueRef::S(c.reader.str(row).map_err(|e| Error::Invalid(format!("column {:?}: {e}", c.name)))?));
            } else if let Some(v) = self.value(i, row)? {
                f(c.name, ValueRef::Other(v));
            }
        }
        Ok(())
    }

    /// The item in `row`.
    pub fn item(&self, row: usize) -> Result<Item> {
        self.collect(row, |_| true)
    }

    /// Only the named attributes of the item in `row` (those it has).
    pub fn attrs(&self, row: usize, names: &[String]) -> Result<Item> {
        self.collect(row, |n| names.iter().any(|x| x == n))
    }

    /// The index of the named attribute's column, for [`Self::value`].
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The value of column `col` in `row`; None when the item lacks it.
    pub fn value(&self, col: usize, row: usize) -> Result<Option<AttrValue>> {
        let c = &self.columns[col];
        if c.tags.is_null(row) {
            return Ok(None);
        }
        let t = c
            .tag_types
            .get(c.tags.keys().value(row) as usize)
            .copied()
            .flatten()
            .ok_or_else(|| Error::Invalid(format!("bad type tag in column {:?}", c.name)))?;
        let v = c.reader.value(row, t).map_err(|e| Error::Invalid(format!("column {:?}, row {row}: {e}", c.name)))?;
        Ok(Some(v))
    }

    fn collect(&self, row: usize, wanted: impl Fn(&str) -> bool) -> Result<Item> {
        let mut item = Item::new();
        for (i, c) in self.columns.iter().enumerate() {
            if !wanted(c.name) {
                continue;
            }
            if let Some(v) = self.value(i, row)? {
                item.insert(c.name.to_string(), v);
            }
        }
        Ok(item)
    }
}

/// The types named by a tag column's dictionary. Tags are read through their
/// dictionary: Parquet readers rebuild it from the names each column chunk
/// uses, so keys are not DdbType indexes.
pub fn tag_names(tags: &DictionaryArray<Int8Type>) -> std::result::Result<Vec<Option<DdbType>>, String> {
    Ok(tags
        .values()
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or("type tags are not text")?
        .iter()
        .map(|name| name.and_then(DdbType::from_name))
        .collect())
}

/// Reads the values of one column, given its kind and each row's type tag.
pub struct ColumnReader<'a> {
    pub kind: Kind,
    pub values: &'a ArrayRef,
}

pub type R<T> = std::result::Result<T, String>;

impl ColumnReader<'_> {
    pub fn value(&self, row: usize, t: DdbType) -> R<AttrValue> {
        if t == DdbType::Null {
            return Ok(AttrValue::Null);
        }
        if self.values.is_null(row) {
            return Err(format!("tag says {} but the value is missing", t.name()));
        }
        match self.kind {
            Kind::Str => Ok(AttrValue::S(self.str(row)?.to_string())),
            Kind::Num(k) => Ok(AttrValue::N(number_at(self.values, row, k)?)),
            Kind::Binary => Ok(AttrValue::B(downcast::<BinaryArray>(self.values)?.value(row).to_vec())),
            Kind::Bool => Ok(AttrValue::Bool(downcast::<BooleanArray>(self.values)?.value(row))),
            Kind::Json => typed_json(self.str(row)?, t),
            Kind::Struct | Kind::List => {
                let want = self.kind.value_type().expect("maps and lists have one type");
                if t != want {
                    return Err(format!("tag says {} but the column holds {}", t.name(), want.name()));
                }
                super::nested::read(self.values, self.kind, row)
            }
            Kind::StrSet | Kind::NumSet(_) | Kind::BinSet => self.set(row),
            Kind::Mixed => {
                let s = self.str(row)?;
                Ok(match t {
                    DdbType::S => AttrValue::S(s.to_string()),
                    DdbType::N => AttrValue::N(Number::parse(s).map_err(|e| e.to_string())?),
                    DdbType::B => AttrValue::B(B64.decode(s).map_err(|e| e.to_string())?),
                    DdbType::Bool => AttrValue::Bool(s == "true"),
                    _ => typed_json(s, t)?,
                })
            }
            Kind::Empty => Err(format!("tag says {} in a column with no values", t.name())),
        }
    }

    fn str(&self, row: usize) -> R<&str> {
        Ok(downcast::<StringArray>(self.values)?.value(row))
    }

    fn set(&self, row: usize) -> R<AttrValue> {
        let list = downcast::<ListArray>(self.values)?;
        let members = list.value(row);
        Ok(match self.kind {
            Kind::StrSet => AttrValue::Ss(members.as_string::<i32>().iter().map(|s| s.unwrap_or_default().to_string()).collect()),
            Kind::BinSet => AttrValue::Bs(members.as_binary::<i32>().iter().map(|b| b.unwrap_or_default().to_vec()).collect()),
            Kind::NumSet(k) => AttrValue::Ns((0..members.len()).map(|i| number_at(&members, i, k)).collect::<R<_>>()?),
            _ => unreachable!("set() is called for sets"),
        })
    }
}

fn downcast<T: 'static>(a: &ArrayRef) -> R<&T> {
    a.as_any().downcast_ref::<T>().ok_or_else(|| format!("unexpected Arrow type {}", a.data_type()))
}

fn number_at(a: &ArrayRef, row: usize, k: NumKind) -> R<Number> {
    match k {
        NumKind::Int64 => Ok(Number::from_i64(downcast::<Int64Array>(a)?.value(row))),
        NumKind::Decimal(s) => Number::from_i128_scaled(downcast::<Decimal128Array>(a)?.value(row), s as i32).map_err(|e| e.to_string()),
        NumKind::Text => Number::parse(downcast::<StringArray>(a)?.value(row)).map_err(|e| e.to_string()),
    }
}

fn typed_json(s: &str, t: DdbType) -> R<AttrValue> {
    let v = ddbjson::value_from_str(s).map_err(|e| format!("bad DynamoDB JSON: {e}"))?;
    if v.ddb_type() != t {
        return Err(format!("tag says {} but the value is {}", t.name(), v.ddb_type().name()));
    }
    Ok(v)
}
