//! The shape of maps and lists, and the Arrow struct and list types it gives.
//!
//! Users of DuckDB or Athena write `profile.bio` and `unnest(tags)`, not a
//! function that parses JSON on every row. So an `M` attribute whose maps
//! share one shape (each field always of one DynamoDB type, NULL aside)
//! becomes an Arrow struct, and an `L` whose elements share one type a list,
//! at any depth. Anything else (a field of two types, a map and a list in
//! one column, more than [`MAX_FIELDS`] distinct fields, deeper than
//! [`MAX_DEPTH`]) stays the exact DynamoDB JSON text of [`super::Kind::Json`].
//!
//! A struct cannot tell a missing field from a NULL one by its values alone,
//! so every struct carries, as the table does, a `_ddb` child: one type tag
//! per field and row (`'S'`, `'NULL'`, ... or SQL NULL when the map lacks
//! the field). `ddb_type(profile.bio)` reads it like any other tag. Within a
//! list there is no "missing": a null element is a NULL.
//!
//! Every child field records its kind in the same metadata as a column
//! (`ddbsnap.kind`), so a struct read back from Parquet is decoded exactly.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields};

use super::fast_json::NumInfo;
use super::packed::Packed;
use super::schema::{Kind, TYPES_COLUMN, tag_type};
use super::schema::{field_kind, kind_field};
use super::stats::NumberShape;
use crate::item::{AttrValue, DdbType};

/// Distinct fields a map shape may have before it is kept as text: maps
/// used as dictionaries (one key per user, per day) are not records.
pub const MAX_FIELDS: usize = 128;
/// Nesting depth (the attribute is level 1) kept as structs and lists.
pub const MAX_DEPTH: usize = 16;

/// What the values at one place (an attribute, a map's field, a list's
/// elements) were, over every item.
#[derive(Clone, Debug, Default)]
pub struct Shape {
    /// Values by DynamoDB type (index `DdbType as usize`); not kept for an
    /// attribute, whose own counts are in its statistics.
    pub counts: [u64; 10],
    pub number: NumberShape,
    pub set_number: NumberShape,
    /// The fields of the maps seen here.
    pub fields: BTreeMap<String, Shape>,
    /// The elements of the lists seen here.
    pub elements: Option<Box<Shape>>,
    /// Too many fields or too deep: the values stay text.
    pub opaque: bool,
}

impl Shape {
    /// Records the fields and elements of an attribute's value.
    pub fn add_children(&mut self, v: &AttrValue) {
        self.children(v, 1);
    }

    fn add(&mut self, v: &AttrValue, depth: usize) {
        self.counts[v.ddb_type() as usize] += 1;
        match v {
            AttrValue::N(n) => self.number.add(n),
            AttrValue::Ns(ns) => ns.iter().for_each(|n| self.set_number.add(n)),
            _ => {}
        }
        self.children(v, depth);
    }

    fn children(&mut self, v: &AttrValue, depth: usize) {
        if self.opaque {
            return;
        }
        match v {
            AttrValue::M(_) | AttrValue::L(_) if depth > MAX_DEPTH => self.make_opaque(),
            AttrValue::M(m) => {
                for (k, x) in m {
                    if let Some(f) = self.fields.get_mut(k) {
                        f.add(x, depth + 1);
                    } else if self.fields.len() >= MAX_FIELDS {
                        return self.make_opaque();
                    } else {
                        self.fields.entry(k.clone()).or_default().add(x, depth + 1);
                    }
                }
            }
            AttrValue::L(l) => {
                let e = self.elements.get_or_insert_default();
                l.iter().for_each(|x| e.add(x, depth + 1));
            }
            _ => {}
        }
    }

    /// [`Shape::add_children`] for a packed value (the fast read path).
    pub fn add_packed_children(&mut self, v: Packed<'_>) -> Result<(), String> {
        self.packed_children(v, 1)
    }

    fn add_packed(&mut self, v: Packed<'_>, depth: usize) -> Result<(), String> {
        self.counts[v.ty as usize] += 1;
        let number = |x: Packed<'_>| NumInfo::of_canonical(x.str()?).ok_or_else(|| "a damaged packed number".to_string());
        match v.ty {
            DdbType::N => self.number.add_info(&number(v)?),
            DdbType::Ns => {
                for x in v.elements() {
                    self.set_number.add_info(&number(x?)?);
                }
            }
            _ => {}
        }
        self.packed_children(v, depth)
    }

    fn packed_children(&mut self, v: Packed<'_>, depth: usize) -> Result<(), String> {
        if self.opaque {
            return Ok(());
        }
        match v.ty {
            DdbType::M | DdbType::L if depth > MAX_DEPTH => self.make_opaque(),
            DdbType::M => {
                for e in v.entries() {
                    let (k, x) = e?;
                    if let Some(f) = self.fields.get_mut(k) {
                        f.add_packed(x, depth + 1)?;
                    } else if self.fields.len() >= MAX_FIELDS {
                        self.make_opaque();
                        return Ok(());
                    } else {
                        self.fields.entry(k.to_string()).or_default().add_packed(x, depth + 1)?;
                    }
                }
            }
            DdbType::L => {
                let e = self.elements.get_or_insert_default();
                for x in v.elements() {
                    e.add_packed(x?, depth + 1)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn make_opaque(&mut self) {
        self.opaque = true;
        self.fields.clear();
        self.elements = None;
    }

    pub fn merge(&mut self, o: &Shape) {
        for i in 0..10 {
            self.counts[i] += o.counts[i];
        }
        self.number.merge(&o.number);
        self.set_number.merge(&o.set_number);
        if self.opaque || o.opaque {
            return self.make_opaque();
        }
        for (k, f) in &o.fields {
            match self.fields.get_mut(k) {
                Some(mine) => mine.merge(f),
                None => {
                    self.fields.insert(k.clone(), f.clone());
                }
            }
        }
        if self.fields.len() > MAX_FIELDS {
            return self.make_opaque();
        }
        if let Some(e) = &o.elements {
            self.elements.get_or_insert_default().merge(e);
        }
    }

    /// The Arrow type of an attribute holding only maps, when they share
    /// one shape.
    pub fn struct_type(&self) -> Option<DataType> {
        if self.opaque || self.fields.is_empty() {
            // Parquet cannot hold a struct without fields.
            return None;
        }
        let mut values = Vec::with_capacity(self.fields.len() + 1);
        let mut tags = Vec::with_capacity(self.fields.len());
        for (name, f) in &self.fields {
            if name.is_empty() || name == TYPES_COLUMN {
                return None;
            }
            values.push(f.place_field(name)?);
            tags.push(Field::new(name, tag_type(), true));
        }
        values.push(Field::new(TYPES_COLUMN, DataType::Struct(Fields::from(tags)), true));
        Some(DataType::Struct(Fields::from(values)))
    }

    /// The Arrow type of an attribute holding only lists, when their
    /// elements share one type.
    pub fn list_type(&self) -> Option<DataType> {
        if self.opaque {
            return None;
        }
        let empty = Shape::default();
        let item = self.elements.as_deref().unwrap_or(&empty).place_field("item")?;
        Some(DataType::List(Arc::new(item)))
    }

    /// The field for the values at this place: one DynamoDB type besides
    /// NULL, or only NULLs.
    fn place_field(&self, name: &str) -> Option<Field> {
        let types: Vec<DdbType> = DdbType::ALL.into_iter().filter(|t| *t != DdbType::Null && self.counts[*t as usize] > 0).collect();
        let (kind, dt) = match types.as_slice() {
            [DdbType::M] => (Kind::Struct, self.struct_type()?),
            [DdbType::L] => (Kind::List, self.list_type()?),
            [_] | [] => {
                let k = Kind::for_types(&types, self.number.kind(), self.set_number.kind());
                (k, k.data_type())
            }
            _ => return None,
        };
        Some(kind_field(name, kind, dt))
    }
}

/// Whether `dt` is a struct or list ddbsnap wrote for `kind`: every value
/// field tagged with a kind that fits its type (recursively), and a struct's
/// `_ddb` child holding one tag column per value field. Only plain Arrow
/// layouts (Utf8, Binary, List): the readers downcast to them.
pub fn well_formed(kind: Kind, dt: &DataType) -> bool {
    well_formed_at(kind, dt, 1)
}

fn well_formed_at(kind: Kind, dt: &DataType, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let child_ok = |f: &Field| match field_kind(f) {
        Some(k @ (Kind::Struct | Kind::List)) => well_formed_at(k, f.data_type(), depth + 1),
        Some(Kind::Json | Kind::Mixed) | None => false,
        Some(k) => k.data_type() == *f.data_type(),
    };
    match (kind, dt) {
        (Kind::List, DataType::List(item)) => child_ok(item),
        (Kind::Struct, DataType::Struct(fields)) => {
            let Some((tags, values)) = fields.split_last() else { return false };
            let DataType::Struct(tag_fields) = tags.data_type() else { return false };
            tags.name() == TYPES_COLUMN
                && !values.is_empty()
                && tag_fields.len() == values.len()
                && values.iter().zip(tag_fields.iter()).all(|(v, t)| v.name() == t.name() && *t.data_type() == tag_type() && child_ok(v))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::Number;

    fn s(x: &str) -> AttrValue {
        AttrValue::S(x.into())
    }

    fn m(fields: &[(&str, AttrValue)]) -> AttrValue {
        AttrValue::M(fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    fn shape(values: &[AttrValue]) -> Shape {
        let mut sh = Shape::default();
        values.iter().for_each(|v| sh.add_children(v));
        sh
    }

    #[test]
    fn maps_of_one_shape_are_a_struct_with_tags() {
        let n = AttrValue::N(Number::from_i64(3));
        let sh = shape(&[m(&[("bio", s("x")), ("age", n)]), m(&[("bio", AttrValue::Null)]), m(&[("tags", AttrValue::L(vec![s("a")]))])]);
        let dt = sh.struct_type().expect("one shape");
        assert!(well_formed(Kind::Struct, &dt), "{dt}");
        let DataType::Struct(f) = &dt else { unreachable!() };
        let names: Vec<&str> = f.iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["age", "bio", "tags", "_ddb"]);
        assert_eq!(field_kind(&f[0]), Some(Kind::Num(crate::convert::stats::NumKind::Int64)));
        assert_eq!(field_kind(&f[2]), Some(Kind::List));
    }

    #[test]
    fn drift_keeps_text() {
        assert!(shape(&[m(&[("a", s("x"))]), m(&[("a", AttrValue::Bool(true))])]).struct_type().is_none());
        assert!(shape(&[AttrValue::L(vec![s("x"), AttrValue::Bool(true)])]).list_type().is_none());
        assert!(shape(&[m(&[])]).struct_type().is_none(), "no fields: Parquet holds no empty struct");
        assert!(shape(&[m(&[("_ddb", s("x"))])]).struct_type().is_none());
        assert!(shape(&[m(&[("", s("x"))])]).struct_type().is_none());
    }

    #[test]
    fn wide_and_deep_maps_stay_text() {
        let wide: Vec<AttrValue> = (0..=MAX_FIELDS).map(|i| m(&[(&format!("k{i}"), s("v"))])).collect();
        let sh = shape(&wide);
        assert!(sh.opaque && sh.fields.is_empty(), "memory stays bounded");
        let mut deep = s("leaf");
        for _ in 0..MAX_DEPTH {
            deep = m(&[("a", deep)]);
        }
        assert!(shape(std::slice::from_ref(&deep)).struct_type().is_some(), "{MAX_DEPTH} levels of maps are structs");
        assert!(well_formed(Kind::Struct, &shape(std::slice::from_ref(&deep)).struct_type().unwrap()));
        deep = m(&[("a", deep)]);
        assert!(shape(&[deep]).struct_type().is_none(), "deeper stays text");
        let mut a = shape(&[m(&[("a", s("x"))])]);
        a.merge(&sh);
        assert!(a.struct_type().is_none(), "opaque wins a merge");
    }

    #[test]
    fn lists_of_nulls_and_empty_lists_have_a_type() {
        assert!(shape(&[AttrValue::L(vec![])]).list_type().is_some());
        assert!(shape(&[AttrValue::L(vec![AttrValue::Null])]).list_type().is_some());
    }

    #[test]
    fn tampered_types_are_not_well_formed() {
        let dt = shape(&[m(&[("a", s("x"))])]).struct_type().unwrap();
        let DataType::Struct(f) = &dt else { unreachable!() };
        let no_tags = DataType::Struct(Fields::from(vec![f[0].as_ref().clone()]));
        assert!(!well_formed(Kind::Struct, &no_tags));
        let untagged = DataType::Struct(Fields::from(vec![Field::new("a", DataType::Utf8, true), f[1].as_ref().clone()]));
        assert!(!well_formed(Kind::Struct, &untagged));
        let wrong = DataType::Struct(Fields::from(vec![kind_field("a", Kind::Str, DataType::Int64), f[1].as_ref().clone()]));
        assert!(!well_formed(Kind::Struct, &wrong));
    }
}
