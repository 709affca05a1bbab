//! Raw columnar batches: items split into per-attribute columns of type tags
//! and bytes, before the final Arrow types are known.
//!
//! A read is a single pass, but the right Arrow type of a column depends on
//! every item (a late `S` in a column of `N`s changes it). So items are first
//! laid out in this compact, type-agnostic form (a tag byte and the value's
//! bytes per row) together with the statistics; once all items are seen, each
//! raw batch is turned into a typed `RecordBatch` without revisiting the
//! source. Scalars keep their natural bytes; nested values and sets their
//! packed form ([`super::packed`]), which is exact.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::fast_json::{ScannedValue, scan_item_line};
use super::stats::{AttrStats, TableStats};
use crate::error::{Error, Result};
use crate::item::{AttrValue, DdbType, Item};
use crate::snapshot::ItemSink;

/// Rows per batch: large enough for vectorised SQL, small enough to stream.
pub const BATCH_ROWS: usize = 8192;

/// Tag of a missing attribute; present values are `DdbType as u8 + 1`.
pub const MISSING: u8 = 0;

/// One attribute's values in a batch.
#[derive(Debug, Clone, Default)]
pub struct RawColumn {
    pub tags: Vec<u8>,
    pub offsets: Vec<u32>,
    pub data: Vec<u8>,
}

impl RawColumn {
    /// A column of `rows` missing values.
    pub fn with_missing(rows: usize) -> RawColumn {
        RawColumn::with_missing_and_capacity(rows, 0)
    }

    /// A column of `rows` missing values with room for `data_bytes` of
    /// values: growing a batch's buffers by doubling copied them again and
    /// again and faulted in fresh pages each time (a tenth of a read's CPU).
    pub fn with_missing_and_capacity(rows: usize, data_bytes: usize) -> RawColumn {
        let mut c = RawColumn {
            tags: Vec::with_capacity(BATCH_ROWS),
            offsets: Vec::with_capacity(BATCH_ROWS + 1),
            data: Vec::with_capacity(data_bytes),
        };
        c.offsets.push(0);
        for _ in 0..rows {
            c.push_missing();
        }
        c
    }

    pub fn push_missing(&mut self) {
        self.tags.push(MISSING);
        self.offsets.push(self.data.len() as u32);
    }

    fn push_scanned(&mut self, value: &ScannedValue<'_>, packed: &[u8]) {
        match value {
            ScannedValue::S(s) => self.push_bytes(DdbType::S, s.as_bytes()),
            ScannedValue::N(text, _) => self.push_bytes(DdbType::N, text.as_bytes()),
            ScannedValue::B(b) => self.push_bytes(DdbType::B, b),
            ScannedValue::Bool(b) => self.push_bytes(DdbType::Bool, &[*b as u8]),
            ScannedValue::Null => self.push_bytes(DdbType::Null, &[]),
            // Sets already sorted by the scanner.
            ScannedValue::Packed(t, range) => self.push_bytes(*t, &packed[range.clone()]),
        }
    }

    fn push_bytes(&mut self, t: DdbType, bytes: &[u8]) {
        self.tags.push(t as u8 + 1);
        self.data.extend_from_slice(bytes);
        self.offsets.push(self.data.len() as u32);
    }

    /// Appends a value.
    pub fn push(&mut self, value: &AttrValue) {
        self.tags.push(value.ddb_type() as u8 + 1);
        match value {
            AttrValue::S(s) => self.data.extend_from_slice(s.as_bytes()),
            AttrValue::N(n) => {
                use std::io::Write as _;
                let _ = write!(self.data, "{n}");
            }
            AttrValue::B(b) => self.data.extend_from_slice(b),
            AttrValue::Bool(b) => self.data.push(*b as u8),
            AttrValue::Null => {}
            _ => {
                // Canonical: keys in order (maps are sorted), sets sorted.
                if crate::item::sets_sorted(value) {
                    super::packed::encode(value, &mut self.data);
                } else {
                    let mut sorted = value.clone();
                    crate::item::sort_sets(&mut sorted);
                    super::packed::encode(&sorted, &mut self.data);
                }
            }
        }
        self.offsets.push(self.data.len() as u32);
    }

    pub fn len(&self) -> usize {
        self.tags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The bytes of row `i`.
    pub fn bytes(&self, i: usize) -> &[u8] {
        &self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

/// A batch of items in raw form.
#[derive(Debug, Clone, Default)]
pub struct RawBatch {
    pub rows: usize,
    pub columns: Vec<(String, RawColumn)>,
}

/// Builds raw batches and statistics from items.
///
/// Each attribute name is looked up once per item (with a fast hash) to find
/// both its statistics and its column in the current batch.
pub struct RawBuilder {
    keep_rows: bool,
    current: RawBatch,
    /// Attribute name to slot.
    index: HashMap<Box<str>, usize, BuildHasherDefault<FxHasher>>,
    /// Per slot: name, statistics, column in the current batch (`NO_COLUMN` if none yet).
    slots: Vec<(Box<str>, AttrStats, usize)>,
    /// Per slot: the data bytes its column held in the last full batch, the
    /// next batch's starting capacity.
    capacity: Vec<usize>,
    /// Per slot: the serial of the last item that had the attribute, to
    /// find a name used twice in one line without comparing names.
    seen: Vec<u64>,
    serial: u64,
    slot_buf: Vec<usize>,
    /// The current line's maps, lists and sets, packed by the scanner.
    packed_buf: Vec<u8>,
    pub batches: Vec<RawBatch>,
    stats: TableStats,
}

const NO_COLUMN: usize = usize::MAX;

impl RawBuilder {
    /// `keep_rows = false` gathers statistics only (a schema pass).
    pub fn new(keep_rows: bool) -> RawBuilder {
        RawBuilder {
            keep_rows,
            current: RawBatch::default(),
            index: HashMap::default(),
            slots: Vec::new(),
            capacity: Vec::new(),
            seen: Vec::new(),
            serial: 0,
            slot_buf: Vec::new(),
            packed_buf: Vec::new(),
            batches: Vec::new(),
            stats: TableStats::default(),
        }
    }

    fn slot(&mut self, name: &str) -> usize {
        match self.index.get(name) {
            Some(&i) => i,
            None => {
                self.slots.push((name.into(), AttrStats::default(), NO_COLUMN));
                self.index.insert(name.into(), self.slots.len() - 1);
                self.slots.len() - 1
            }
        }
    }

    /// The current batch's column for a slot, created (padded with missing
    /// values) on first sight.
    fn column(&mut self, slot: usize) -> &mut RawColumn {
        let mut idx = self.slots[slot].2;
        if idx == NO_COLUMN {
            let rows = self.current.rows;
            let bytes = self.capacity.get(slot).copied().unwrap_or(0);
            let column = RawColumn::with_missing_and_capacity(rows, bytes + bytes / 16);
            self.current.columns.push((self.slots[slot].0.to_string(), column));
            idx = self.current.columns.len() - 1;
            self.slots[slot].2 = idx;
        }
        &mut self.current.columns[idx].1
    }

    /// Pads the columns this row did not touch and closes the row.
    fn end_row(&mut self) {
        let rows = self.current.rows;
        for (_, col) in &mut self.current.columns {
            if col.len() == rows {
                col.push_missing();
            }
        }
        self.current.rows += 1;
        if self.current.rows == BATCH_ROWS {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.current.rows > 0 {
            self.capacity.resize(self.slots.len(), 0);
            for (s, cap) in self.slots.iter_mut().zip(&mut self.capacity) {
                if s.2 != NO_COLUMN && self.current.rows == BATCH_ROWS {
                    *cap = self.current.columns[s.2].1.data.len();
                }
                s.2 = NO_COLUMN;
            }
            self.batches.push(std::mem::take(&mut self.current));
        }
    }

    /// Finishes the last partial batch.
    pub fn finish(mut self) -> (Vec<RawBatch>, TableStats) {
        self.flush();
        // A slot can exist without values when the line that named it was
        // handed to the general decoder and rejected.
        for (name, st, _) in self.slots.into_iter().filter(|s| s.1.present() > 0) {
            self.stats.attrs.insert(name.into(), st);
        }
        (self.batches, self.stats)
    }

    /// Takes the batches completed so far (for streaming consumers).
    pub fn take_batches(&mut self) -> Vec<RawBatch> {
        std::mem::take(&mut self.batches)
    }
}

impl ItemSink for RawBuilder {
    fn push(&mut self, item: Item) -> Result<()> {
        let mut item_bytes = 0;
        for (name, value) in &item {
            let slot = self.slot(name);
            item_bytes += self.slots[slot].1.add_value(name.len(), value);
            if self.keep_rows {
                self.column(slot).push(value);
            }
        }
        self.stats.finish_item(item_bytes);
        if self.keep_rows {
            self.end_row();
        }
        Ok(())
    }

    fn push_json_line(&mut self, line: &[u8]) -> Result<bool> {
        let mut attrs = Vec::with_capacity(16);
        let mut packed = std::mem::take(&mut self.packed_buf);
        if !scan_item_line(line, &mut attrs, &mut packed) {
            self.packed_buf = packed;
            return Ok(false);
        }
        // Resolve every name first: a duplicate hands the line to the
        // general decoder (which reports it) before anything is changed.
        self.serial += 1;
        let mut slots = std::mem::take(&mut self.slot_buf);
        slots.clear();
        for a in &attrs {
            let slot = self.slot(a.name);
            if self.seen.len() <= slot {
                self.seen.resize(slot + 1, 0);
            }
            if self.seen[slot] == self.serial {
                self.slot_buf = slots;
                self.packed_buf = packed;
                return Ok(false);
            }
            self.seen[slot] = self.serial;
            slots.push(slot);
        }
        let mut item_bytes = 0;
        for (a, &slot) in attrs.iter().zip(&slots) {
            item_bytes += self.slots[slot].1.add_scanned(a.name.len(), &a.value, &packed).map_err(Error::Invalid)?;
            if self.keep_rows {
                self.column(slot).push_scanned(&a.value, &packed);
            }
        }
        self.slot_buf = slots;
        self.packed_buf = packed;
        self.stats.finish_item(item_bytes);
        if self.keep_rows {
            self.end_row();
        }
        Ok(true)
    }
}

/// FxHash (rustc's hasher): attribute names are short and not adversarial
/// here, and SipHash was a visible share of the read profile.
#[derive(Default)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::Number;

    /// The fast line scanner and the general decoder build identical raw
    /// columns and statistics.
    #[test]
    fn fast_and_general_paths_agree() {
        let mut fast = RawBuilder::new(true);
        let mut general = RawBuilder::new(true);
        for i in 0..500 {
            let item = crate::generate::contact_item(3, i, 0.05, i % 3);
            let mut line = String::from("{\"Item\":");
            crate::item::ddbjson::write_item(&mut line, &item);
            line.push('}');
            assert!(fast.push_json_line(line.as_bytes()).unwrap(), "{line}");
            general.push(item).unwrap();
        }
        let (fb, fs) = fast.finish();
        let (gb, gs) = general.finish();
        assert_eq!(serde_json::to_string(&fs).unwrap(), serde_json::to_string(&gs).unwrap());
        let shapes = |s: &TableStats| s.attrs.iter().map(|(k, a)| format!("{k}: {:?}", a.nested)).collect::<Vec<_>>();
        assert_eq!(shapes(&fs), shapes(&gs));
        assert!(fs.attrs.values().any(|a| a.nested.is_some()), "the items have maps");
        assert_eq!(fb.len(), gb.len());
        for (f, g) in fb.iter().zip(&gb) {
            assert_eq!(f.rows, g.rows);
            let mut fc: Vec<_> = f.columns.iter().map(|(n, c)| (n.clone(), c.tags.clone(), c.offsets.clone(), c.data.clone())).collect();
            let mut gc: Vec<_> = g.columns.iter().map(|(n, c)| (n.clone(), c.tags.clone(), c.offsets.clone(), c.data.clone())).collect();
            fc.sort();
            gc.sort();
            assert_eq!(fc, gc);
        }
    }

    #[test]
    fn duplicate_names_go_to_the_general_decoder() {
        let mut b = RawBuilder::new(true);
        assert!(b.push_json_line(br#"{"Item":{"a":{"S":"1"}}}"#).unwrap());
        assert!(!b.push_json_line(br#"{"Item":{"b":{"S":"1"},"a":{"S":"1"},"a":{"S":"2"}}}"#).unwrap());
        assert!(b.push_json_line(br#"{"Item":{"a":{"S":"3"}}}"#).unwrap());
        let (batches, stats) = b.finish();
        assert_eq!(stats.items, 2);
        assert_eq!(batches[0].rows, 2);
        assert_eq!(stats.attrs["a"].present(), 2);
        assert!(!stats.attrs.contains_key("b"), "no column for a rejected line's attribute");
    }

    #[test]
    fn columns_are_padded_with_missing() {
        let mut b = RawBuilder::new(true);
        let mut a = Item::new();
        a.insert("x".into(), AttrValue::S("1".into()));
        let mut c = Item::new();
        c.insert("y".into(), AttrValue::N(Number::parse("2").unwrap()));
        b.push(a.clone()).unwrap();
        b.push(c).unwrap();
        b.push(a).unwrap();
        let (batches, stats) = b.finish();
        assert_eq!(stats.items, 3);
        let batch = &batches[0];
        assert_eq!(batch.rows, 3);
        let (_, x) = &batch.columns[0];
        assert_eq!(x.tags, vec![1, MISSING, 1]);
        let (_, y) = &batch.columns[1];
        assert_eq!(y.tags, vec![MISSING, 2, MISSING]);
        assert_eq!(y.bytes(1), b"2");
    }
}
