//! Round trips of random DynamoDB items through every representation
//! ddbsnap has: Arrow record batches, Parquet, DynamoDB JSON text and Ion
//! text. Each must give back the very items it was given (sets compared as
//! unordered, as DynamoDB does).
//!
//! The generators stay inside what DynamoDB itself accepts: numbers of up
//! to 38 significant digits between 1E-130 and 9.99..E+125, non-empty sets
//! without duplicates, nesting up to 32 levels (a top-level value is level
//! 1), non-empty attribute names. Within that they aim at the edges: empty
//! strings and binaries, any Unicode (control characters, emoji, names with
//! spaces, dots, `#`, `:`), NULL beside missing attributes, and columns whose
//! type drifts between items.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use ddbsnap::convert::stats::NumKind;
use ddbsnap::convert::{Kind, TableSchema, batch_to_items, items_to_batches};
use ddbsnap::item::{AttrValue, Item, Number, ddbjson, same_item};
use ddbsnap::snapshot::decode::{FileSpec, Record, decode_line};
use ddbsnap::snapshot::ion;
use ddbsnap::snapshot::manifest::OutputFormat;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

// ---------------------------------------------------------------- round trips

/// Items -> Arrow batches -> items. Returns the schema for further checks.
fn via_arrow(items: &[Item], keys: &[String]) -> Result<(TableSchema, Vec<Item>), String> {
    let (schema, batches) = items_to_batches(items, keys).map_err(|e| format!("items_to_batches: {e}"))?;
    let mut back = Vec::new();
    for b in &batches {
        back.extend(batch_to_items(b).map_err(|e| format!("batch_to_items: {e}"))?);
    }
    Ok((schema, back))
}

/// Items -> Arrow batches -> Parquet bytes -> Arrow batches -> items.
fn via_parquet(items: &[Item], keys: &[String]) -> Result<Vec<Item>, String> {
    let (schema, batches) = items_to_batches(items, keys).map_err(|e| format!("items_to_batches: {e}"))?;
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, schema.arrow.clone(), None).map_err(|e| format!("ArrowWriter: {e}"))?;
    for b in &batches {
        w.write(b).map_err(|e| format!("ArrowWriter::write: {e}"))?;
    }
    w.close().map_err(|e| format!("ArrowWriter::close: {e}"))?;
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(Bytes::from(buf)).and_then(|b| b.build()).map_err(|e| format!("Parquet reader: {e}"))?;
    let mut back = Vec::new();
    for b in reader {
        let b = b.map_err(|e| format!("reading Parquet: {e}"))?;
        back.extend(batch_to_items(&b).map_err(|e| format!("batch_to_items after Parquet: {e}"))?);
    }
    Ok(back)
}

/// Item -> DynamoDB JSON -> item, both on its own and as an export line.
fn via_ddbjson(item: &Item) -> Result<Vec<Item>, String> {
    let text = ddbjson::item_to_string(item);
    let alone = ddbjson::item_from_str(&text).map_err(|e| format!("item_from_str: {e} in {text}"))?;
    let line = format!("{{\"Item\":{text}}}");
    let spec = FileSpec { describe: "t".into(), format: OutputFormat::DynamodbJson, incremental: false, md5: None, item_count: None };
    let from_line = match (decode_line(line.as_bytes(), &spec), item.is_empty()) {
        (Ok(Record::Item(i)), false) => i,
        // An export line with no attributes has no key: refused.
        (Err(e), true) if e.contains("no attributes") => return Ok(vec![alone]),
        (other, _) => return Err(format!("decode_line gave {other:?} for {line}")),
    };
    Ok(vec![alone, from_line])
}

/// Item -> Ion text (`$ion_1_0 {Item:{...}}`, as exports write it) -> item,
/// through the parser directly and as an export line.
fn via_ion(item: &Item) -> Result<Vec<Item>, String> {
    let mut line = String::from("$ion_1_0 {Item:");
    ion::write_struct(&mut line, item);
    line.push('}');
    let parsed = ion::parse_line(&line).map_err(|(col, msg)| format!("parse_line: column {col}: {msg} in {line}"))?;
    let ion::IonValue::Struct(mut sections) = parsed else { return Err(format!("not a struct: {line}")) };
    if sections.len() != 1 || sections[0].0 != "Item" {
        return Err(format!("expected one Item section in {line}"));
    }
    let ion::IonValue::Struct(fields) = sections.remove(0).1 else { return Err(format!("Item is not a struct: {line}")) };
    let direct = ion::fields_to_item(fields).map_err(|e| format!("fields_to_item: {e} in {line}"))?;
    let spec = FileSpec { describe: "t".into(), format: OutputFormat::Ion, incremental: false, md5: None, item_count: None };
    let from_line = match (decode_line(line.as_bytes(), &spec), item.is_empty()) {
        (Ok(Record::Item(i)), false) => i,
        (Err(e), true) if e.contains("no attributes") => return Ok(vec![direct]),
        (other, _) => return Err(format!("decode_line gave {other:?} for {line}")),
    };
    Ok(vec![direct, from_line])
}

/// The first item that differs, described, or None when all are the same.
fn diff(expected: &[Item], got: &[Item]) -> Option<String> {
    if expected.len() != got.len() {
        return Some(format!("{} items went in, {} came back", expected.len(), got.len()));
    }
    expected
        .iter()
        .zip(got)
        .enumerate()
        .find(|(_, (a, b))| !same_item(a, b))
        .map(|(i, (a, b))| format!("item {i} differs:\n  in:  {}\n  out: {}", ddbjson::item_to_string(a), ddbjson::item_to_string(b)))
}

fn check_all(items: &[Item], keys: &[String]) -> Result<(), String> {
    let (_, back) = via_arrow(items, keys)?;
    if let Some(d) = diff(items, &back) {
        return Err(format!("Arrow: {d}"));
    }
    let back = via_parquet(items, keys)?;
    if let Some(d) = diff(items, &back) {
        return Err(format!("Parquet: {d}"));
    }
    for item in items {
        for back in via_ddbjson(item)? {
            if let Some(d) = diff(std::slice::from_ref(item), &[back]) {
                return Err(format!("DynamoDB JSON: {d}"));
            }
        }
        for back in via_ion(item)? {
            if let Some(d) = diff(std::slice::from_ref(item), &[back]) {
                return Err(format!("Ion: {d}"));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- generators

/// Numbers: small integers, i64 edges, decimals that fit Decimal128, and the
/// full DynamoDB range written in varied notations.
#[derive(Clone, Copy, Debug)]
enum NumClass {
    Int,
    Decimal,
    Any,
}

fn num(text: &str) -> Number {
    Number::parse(text).unwrap_or_else(|e| panic!("{text:?} should be a DynamoDB number: {e}"))
}

fn int_number() -> BoxedStrategy<Number> {
    prop_oneof![
        4 => (-1000i64..1000).prop_map(Number::from_i64),
        2 => any::<i64>().prop_map(Number::from_i64),
        1 => prop::sample::select(vec![i64::MIN, i64::MIN + 1, i64::MAX - 1, i64::MAX, 0, -1, 1]).prop_map(Number::from_i64),
    ]
    .boxed()
}

fn decimal_number() -> BoxedStrategy<Number> {
    const MAX38: i128 = 99_999_999_999_999_999_999_999_999_999_999_999_999;
    prop_oneof![
        3 => (-100_000i128..100_000, 0i32..4),
        2 => (any::<i64>().prop_map(i128::from), 0i32..20),
        2 => (-MAX38..=MAX38, 0i32..=38),
        // Integers just outside i64: Decimal128 with scale 0.
        1 => prop::sample::select(vec![i64::MAX as i128 + 1, i64::MIN as i128 - 1, MAX38, -MAX38]).prop_map(|v| (v, 0)),
    ]
    .prop_map(|(v, scale)| Number::from_i128_scaled(v, scale).expect("within 38 digits"))
    .boxed()
}

/// Any DynamoDB number: 1 to 38 significant digits, leading digit's
/// magnitude from -130 to 125, written in one of several notations that
/// DynamoDB accepts, then parsed.
fn any_number() -> BoxedStrategy<Number> {
    let digits = (1u32..=9, vec(0u32..=9, 0..=37))
        .prop_map(|(first, rest)| std::iter::once(first).chain(rest).map(|d| char::from_digit(d, 10).unwrap()).collect::<String>());
    let wide = (any::<bool>(), digits, -130i32..=125, 0u8..4).prop_map(|(neg, digits, magnitude, style)| {
        let sign = if neg { "-" } else { "" };
        let (first, rest) = digits.split_at(1);
        let text = match style {
            // d.dddE±m
            0 => format!("{sign}{first}{}{rest}E{magnitude:+}", if rest.is_empty() { "" } else { "." }),
            // integer digits with an exponent, lower-case e, leading + and zeros
            1 => format!("{}00{digits}e{}", if neg { "-" } else { "+" }, magnitude as i64 - (digits.len() as i64 - 1)),
            // plain notation with trailing zeros
            _ => {
                let point = magnitude as i64 + 1; // digits left of the point
                if point <= 0 {
                    format!("{sign}0.{}{digits}000", "0".repeat((-point) as usize))
                } else if point as usize >= digits.len() {
                    format!("{sign}{digits}{}.000", "0".repeat(point as usize - digits.len()))
                } else {
                    format!("{sign}{}.{}0", &digits[..point as usize], &digits[point as usize..])
                }
            }
        };
        num(&text)
    });
    prop_oneof![
        6 => wide,
        1 => prop::sample::select(vec![
            "0",
            "-0",
            "1E-130",
            "-1E-130",
            "9.9999999999999999999999999999999999999E+125",
            "-9.9999999999999999999999999999999999999E+125",
            "12345678901234567890123456789012345678",
            "-0.12345678901234567890123456789012345678",
            "9223372036854775808",
            "-9223372036854775809",
        ])
        .prop_map(num),
        1 => int_number(),
        1 => decimal_number(),
    ]
    .boxed()
}

fn number(class: NumClass) -> BoxedStrategy<Number> {
    match class {
        NumClass::Int => int_number(),
        // Mostly values whose digits together stay within 38, so that the
        // column is Decimal128; now and then one that forces text.
        NumClass::Decimal => prop_oneof![
            4 => (-100_000i128..100_000, 0i32..4),
            3 => (any::<i64>().prop_map(i128::from), 0i32..8),
            1 => (-99_999_999_999i128..99_999_999_999, 0i32..=27),
        ]
        .prop_map(|(v, scale)| Number::from_i128_scaled(v, scale).expect("within 38 digits"))
        .boxed(),
        NumClass::Any => any_number(),
    }
}

fn num_class() -> impl Strategy<Value = NumClass> {
    prop_oneof![Just(NumClass::Int), Just(NumClass::Decimal), Just(NumClass::Any)]
}

/// Strings: empty, plain, characters that need escaping or quoting in JSON,
/// Ion or SQL, and any Unicode scalar at all (control characters included).
fn string() -> BoxedStrategy<String> {
    prop_oneof![
        1 => Just(String::new()),
        2 => "[a-z0-9]{1,8}",
        3 => "[ .#:$@'\"\\\\/{}\\[\\],=*\t\n\r\u{0}\u{7}\u{1f}\u{7f}é中😀\u{2028}\u{feff}a-c]{1,10}",
        2 => vec(any::<char>(), 1..10).prop_map(|c| c.into_iter().collect()),
        1 => any::<String>(),
    ]
    .boxed()
}

/// Attribute names: never empty; Ion-symbol-like, Ion keywords, SQL-ish,
/// and arbitrary Unicode. `_ddb` is reserved by ddbsnap (a documented
/// limit) and left out.
fn name() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[a-zA-Z_][a-zA-Z0-9_]{0,6}",
        1 => prop::sample::select(vec!["id", "null", "true", "false", "nan", "Item", "$ion_1_0", "a.b", "a b", "#x", ":v", "😀", "ID", "Id"])
            .prop_map(str::to_string),
        2 => "[ .#:$'\"\\\\a-cé😀\u{1}-]{1,6}",
        1 => vec(any::<char>(), 1..6).prop_map(|c| c.into_iter().collect()),
    ]
    .prop_filter("_ddb is reserved", |n| n != "_ddb")
    .boxed()
}

fn binary() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![1 => Just(Vec::new()), 4 => vec(any::<u8>(), 1..12)].boxed()
}

/// A non-empty set of distinct members, in random order.
fn set_of<T: Ord + Clone + std::fmt::Debug + 'static>(member: BoxedStrategy<T>) -> BoxedStrategy<Vec<T>> {
    vec(member, 1..5).prop_map(|v| v.into_iter().collect::<BTreeSet<T>>().into_iter().collect::<Vec<T>>()).prop_shuffle().boxed()
}

/// The DynamoDB types a column can lean to.
#[derive(Clone, Copy, Debug)]
enum ColType {
    S,
    N(NumClass),
    B,
    Bool,
    M,
    L,
    Ss,
    Ns(NumClass),
    Bs,
}

fn col_type() -> impl Strategy<Value = ColType> {
    prop_oneof![
        Just(ColType::S),
        num_class().prop_map(ColType::N),
        Just(ColType::B),
        Just(ColType::Bool),
        Just(ColType::M),
        Just(ColType::L),
        Just(ColType::Ss),
        num_class().prop_map(ColType::Ns),
        Just(ColType::Bs),
    ]
}

fn typed(t: ColType) -> BoxedStrategy<AttrValue> {
    match t {
        ColType::S => string().prop_map(AttrValue::S).boxed(),
        ColType::N(c) => number(c).prop_map(AttrValue::N).boxed(),
        ColType::B => binary().prop_map(AttrValue::B).boxed(),
        ColType::Bool => any::<bool>().prop_map(AttrValue::Bool).boxed(),
        ColType::M => btree_map(name(), nested(), 0..4).prop_map(AttrValue::M).boxed(),
        ColType::L => vec(nested(), 0..4).prop_map(AttrValue::L).boxed(),
        ColType::Ss => set_of(string()).prop_map(AttrValue::Ss).boxed(),
        ColType::Ns(c) => set_of(number(c)).prop_map(AttrValue::Ns).boxed(),
        ColType::Bs => set_of(binary()).prop_map(AttrValue::Bs).boxed(),
    }
}

fn scalar_or_set() -> BoxedStrategy<AttrValue> {
    prop_oneof![
        3 => string().prop_map(AttrValue::S),
        3 => any_number().prop_map(AttrValue::N),
        2 => binary().prop_map(AttrValue::B),
        1 => any::<bool>().prop_map(AttrValue::Bool),
        1 => Just(AttrValue::Null),
        1 => set_of(string()).prop_map(AttrValue::Ss),
        1 => set_of(any_number()).prop_map(AttrValue::Ns),
        1 => set_of(binary()).prop_map(AttrValue::Bs),
    ]
    .boxed()
}

/// Any value, maps and lists nested a few levels.
fn nested() -> BoxedStrategy<AttrValue> {
    scalar_or_set()
        .prop_recursive(5, 40, 4, |inner| {
            prop_oneof![vec(inner.clone(), 0..4).prop_map(AttrValue::L), btree_map(name(), inner, 0..4).prop_map(AttrValue::M),]
        })
        .boxed()
}

/// A chain of maps and lists `levels` deep in DynamoDB's counting (the
/// top-level value is level 1), with a sibling here and there.
fn chain(leaf: AttrValue, wrappers: Vec<(Option<String>, bool)>) -> AttrValue {
    let mut v = leaf;
    for (map_key, sibling) in wrappers {
        v = match map_key {
            Some(k) => {
                let mut m = BTreeMap::from([(k.clone(), v)]);
                if sibling {
                    m.insert(format!("{k}~"), AttrValue::Null);
                }
                AttrValue::M(m)
            }
            None if sibling => AttrValue::L(vec![AttrValue::Bool(true), v]),
            None => AttrValue::L(vec![v]),
        };
    }
    v
}

fn deep(levels: std::ops::RangeInclusive<usize>) -> BoxedStrategy<AttrValue> {
    let min = *levels.start() - 1;
    let max = *levels.end() - 1;
    (scalar_or_set(), vec((prop::option::of(name()), any::<bool>()), min..=max)).prop_map(|(leaf, w)| chain(leaf, w)).boxed()
}

/// A top-level value of any type, occasionally nested to the 32-level limit.
fn any_value() -> BoxedStrategy<AttrValue> {
    prop_oneof![8 => nested(), 1 => deep(25..=32)].boxed()
}

/// A batch of items sharing a pool of attribute names: the first one is a
/// key (always present, S, N or B, one type), each other one leans to a
/// type, and some drift to other types from item to item.
#[derive(Debug, Clone)]
struct Table {
    key: String,
    items: Vec<Item>,
}

fn table() -> impl Strategy<Value = Table> {
    let key_type = prop_oneof![Just(ColType::S), num_class().prop_map(ColType::N), Just(ColType::B)];
    (name(), key_type, btree_map(name(), (col_type(), prop::bool::weighted(0.3)), 0..7), 1usize..20).prop_flat_map(
        |(key, key_type, cols, rows)| {
            let mut cells: Vec<BoxedStrategy<Option<(String, AttrValue)>>> = vec![
                typed(key_type)
                    .prop_map({
                        let key = key.clone();
                        move |v| Some((key.clone(), v))
                    })
                    .boxed(),
            ];
            for (name, (t, drifts)) in cols.into_iter().filter(|(n, _)| *n != key) {
                let value = if drifts { prop_oneof![2 => typed(t), 1 => any_value()].boxed() } else { typed(t) };
                let cell = prop_oneof![
                    3 => Just(None),
                    1 => Just(Some(AttrValue::Null)),
                    8 => value.prop_map(Some),
                ]
                .prop_map(move |v| v.map(|v| (name.clone(), v)));
                cells.push(cell.boxed());
            }
            let item = cells.prop_map(|cells| cells.into_iter().flatten().collect::<Item>());
            (Just(key), vec(item, rows..=rows)).prop_map(|(key, items)| Table { key, items })
        },
    )
}

/// A map or list type every value of a column shares, so that the column
/// becomes an Arrow struct or list: the struct path is exercised as often
/// as the text one.
#[derive(Clone, Debug)]
enum Shaped {
    Leaf(ColType),
    Map(Vec<(String, Shaped)>),
    List(Box<Shaped>),
}

fn shaped() -> BoxedStrategy<Shaped> {
    let leaf = prop_oneof![
        Just(ColType::S),
        num_class().prop_map(ColType::N),
        Just(ColType::B),
        Just(ColType::Bool),
        Just(ColType::Ss),
        num_class().prop_map(ColType::Ns),
        Just(ColType::Bs),
    ]
    .prop_map(Shaped::Leaf);
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            btree_map(name(), inner.clone(), 1..4).prop_map(|m| Shaped::Map(m.into_iter().collect())),
            inner.prop_map(|e| Shaped::List(Box::new(e))),
        ]
    })
    .prop_filter("a column of maps or lists", |s| !matches!(s, Shaped::Leaf(_)))
    .boxed()
}

/// A value of shape `s`: map fields missing or NULL here and there, list
/// elements NULL now and then.
fn shaped_value(s: &Shaped) -> BoxedStrategy<AttrValue> {
    match s {
        Shaped::Leaf(t) => typed(*t),
        Shaped::Map(fields) => {
            let cells: Vec<BoxedStrategy<Option<(String, AttrValue)>>> = fields
                .iter()
                .map(|(n, f)| {
                    let n = n.clone();
                    prop_oneof![1 => Just(None), 1 => Just(Some(AttrValue::Null)), 4 => shaped_value(f).prop_map(Some)]
                        .prop_map(move |v| v.map(|v| (n.clone(), v)))
                        .boxed()
                })
                .collect();
            cells.prop_map(|c| AttrValue::M(c.into_iter().flatten().collect())).boxed()
        }
        Shaped::List(e) => vec(prop_oneof![1 => Just(AttrValue::Null), 4 => shaped_value(e)], 0..4).prop_map(AttrValue::L).boxed(),
    }
}

/// Items with a key and one or two shaped columns (missing, NULL or of
/// their shape in each item).
fn shaped_table() -> impl Strategy<Value = Table> {
    (vec(shaped(), 1..3), 1usize..16).prop_flat_map(|(shapes, rows)| {
        let cells: Vec<BoxedStrategy<Option<(String, AttrValue)>>> = shapes
            .iter()
            .enumerate()
            .map(|(i, sh)| {
                let col = format!("c{i}");
                prop_oneof![1 => Just(None), 1 => Just(Some(AttrValue::Null)), 6 => shaped_value(sh).prop_map(Some)]
                    .prop_map(move |v| v.map(|v| (col.clone(), v)))
                    .boxed()
            })
            .collect();
        let item = cells.prop_map(|cells| cells.into_iter().flatten().collect::<Item>());
        vec(item, rows..=rows).prop_map(|items| {
            let items = items.into_iter().enumerate().map(|(i, mut it)| {
                it.insert("k".into(), AttrValue::S(format!("k{i}")));
                it
            });
            Table { key: "k".into(), items: items.collect() }
        })
    })
}

/// A single item of any shape (for the text formats).
fn item() -> impl Strategy<Value = Item> {
    btree_map(name(), any_value(), 1..8)
}

/// DynamoDB JSON of `v` with every map's keys in reverse order (exports
/// write them in any order; sets are already shuffled by the generators).
fn write_reversed(out: &mut String, v: &AttrValue) {
    match v {
        AttrValue::M(m) => {
            out.push_str("{\"M\":{");
            for (i, (k, x)) in m.iter().rev().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push(':');
                write_reversed(out, x);
            }
            out.push_str("}}");
        }
        AttrValue::L(l) => {
            out.push_str("{\"L\":[");
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_reversed(out, x);
            }
            out.push_str("]}");
        }
        _ => ddbjson::write_value(out, v),
    }
}

/// The fast line path (scanner, maps packed as they are read) and the
/// general decoder give the same raw columns and statistics for `items`.
fn fast_path_agrees(items: &[Item]) -> Result<(), String> {
    use ddbsnap::convert::RawBuilder;
    use ddbsnap::snapshot::ItemSink;
    let (mut fast, mut general) = (RawBuilder::new(true), RawBuilder::new(true));
    for it in items {
        let mut line = String::from("{\"Item\":{");
        for (i, (k, v)) in it.iter().rev().enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(&serde_json::to_string(k).unwrap());
            line.push(':');
            write_reversed(&mut line, v);
        }
        line.push_str("}}");
        if !fast.push_json_line(line.as_bytes()).map_err(|e| e.to_string())? {
            // Stepped aside (escapes in a name): the reader then decodes it.
            let Record::Item(decoded) = decode_line(line.as_bytes(), &spec()).map_err(|e| format!("{e}: {line}"))? else {
                return Err("not an item".into());
            };
            fast.push(decoded).map_err(|e| e.to_string())?;
        }
        general.push(it.clone()).map_err(|e| e.to_string())?;
    }
    let ((fb, fs), (gb, gs)) = (fast.finish(), general.finish());
    let stats = |s: &ddbsnap::convert::TableStats| {
        let shapes: Vec<String> = s.attrs.iter().map(|(k, a)| format!("{k}: {:?}", a.nested)).collect();
        (serde_json::to_string(s).unwrap(), shapes)
    };
    if stats(&fs) != stats(&gs) {
        return Err(format!("statistics differ:\n{:?}\n{:?}", stats(&fs), stats(&gs)));
    }
    let columns = |b: &[ddbsnap::convert::RawBatch]| {
        let mut c: Vec<_> =
            b.iter().flat_map(|b| b.columns.iter().map(|(n, c)| (n.clone(), c.tags.clone(), c.offsets.clone(), c.data.clone()))).collect();
        c.sort();
        c
    };
    if columns(&fb) != columns(&gb) {
        return Err("raw columns differ".into());
    }
    Ok(())
}

fn spec() -> FileSpec {
    FileSpec { describe: "t".into(), format: OutputFormat::DynamodbJson, incremental: false, md5: None, item_count: None }
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    /// (a) items -> Arrow -> items.
    #[test]
    fn arrow_round_trip(t in table()) {
        let (_, back) = via_arrow(&t.items, std::slice::from_ref(&t.key)).map_err(TestCaseError::fail)?;
        if let Some(d) = diff(&t.items, &back) {
            return Err(TestCaseError::fail(d));
        }
    }

    /// (b) items -> Arrow -> Parquet -> Arrow -> items.
    #[test]
    fn parquet_round_trip(t in table()) {
        let back = via_parquet(&t.items, std::slice::from_ref(&t.key)).map_err(TestCaseError::fail)?;
        if let Some(d) = diff(&t.items, &back) {
            return Err(TestCaseError::fail(d));
        }
    }

    /// (a') and (b') for columns of maps and lists of one shape, which
    /// become Arrow structs and lists: NULL and missing fields, NULL
    /// elements, every scalar and set type inside, nested.
    #[test]
    fn struct_and_list_round_trip(t in shaped_table()) {
        check_all(&t.items, std::slice::from_ref(&t.key)).map_err(TestCaseError::fail)?;
    }

    /// The fast read path gives the same columns and statistics as the
    /// general decoder, for items of any value and for maps and lists of
    /// one shape (written with map keys in reverse order, sets shuffled).
    #[test]
    fn fast_read_path_agrees(items in vec(item(), 1..6), t in shaped_table()) {
        fast_path_agrees(&items).map_err(TestCaseError::fail)?;
        fast_path_agrees(&t.items).map_err(TestCaseError::fail)?;
    }

    /// (c) item -> DynamoDB JSON -> item.
    #[test]
    fn ddbjson_round_trip(it in item()) {
        for back in via_ddbjson(&it).map_err(TestCaseError::fail)? {
            if let Some(d) = diff(std::slice::from_ref(&it), &[back]) {
                return Err(TestCaseError::fail(d));
            }
        }
    }

    /// (d) item -> Ion text -> item.
    #[test]
    fn ion_round_trip(it in item()) {
        for back in via_ion(&it).map_err(TestCaseError::fail)? {
            if let Some(d) = diff(std::slice::from_ref(&it), &[back]) {
                return Err(TestCaseError::fail(d));
            }
        }
    }

    /// Every generated number survives its canonical text.
    #[test]
    fn number_text_round_trip(n in any_number()) {
        prop_assert!(n.digits().len() <= 38);
        prop_assert_eq!(num(&n.to_string()), n);
    }
}

// ---------------------------------------------------------------- regressions

fn one(name: &str, v: AttrValue) -> Item {
    Item::from([(name.to_string(), v)])
}

fn kind_of(schema: &TableSchema, column: &str) -> Kind {
    schema.columns.iter().find(|c| c.name == column).unwrap_or_else(|| panic!("no column {column}")).kind
}

const EDGE_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1E-130",
    "-1E-130",
    "9.99E+125",
    "9.9999999999999999999999999999999999999E+125",
    "-9.9999999999999999999999999999999999999E+125",
    "12345678901234567890123456789012345678",
    "-12345678901234567890123456789012345678",
    "0.12345678901234567890123456789012345678",
    "-0.00000000000000000000000000000000000001",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999999999999999999999",
    "1E+125",
    "1.5",
];

/// -0.000…1 at the bottom of the range, written out in plain notation.
fn smallest_negative_plain() -> String {
    format!("-0.{}1", "0".repeat(129))
}

#[test]
fn edge_numbers_parse_and_print_exactly() {
    for text in EDGE_NUMBERS {
        let n = num(text);
        assert_eq!(num(&n.to_string()), n, "{text} -> {n}");
    }
    let plain = smallest_negative_plain();
    assert_eq!(num(&plain), num("-1E-130"));
    assert_eq!(num(&plain).to_string(), "-1E-130");
    assert_eq!(num("9.99E+125").to_string(), "9.99E125");
    assert_eq!(num("-0").to_string(), "0");
    // One past each end of DynamoDB's range, and 39 digits, are refused.
    for bad in ["1E-131", "-1E-131", "1E+126", "10E+125", "123456789012345678901234567890123456789"] {
        assert!(Number::parse(bad).is_err(), "{bad} should be refused");
    }
}

#[test]
fn edge_numbers_round_trip_everywhere() {
    // Each number alone in its column (Int64, Decimal128 or text), all of
    // them in one column (text), and all of them in one number set.
    let mut items: Vec<Item> = EDGE_NUMBERS.iter().map(|t| one(&format!("n{t}"), AttrValue::N(num(t)))).collect();
    items.push(one("plain", AttrValue::N(num(&smallest_negative_plain()))));
    for t in EDGE_NUMBERS {
        items.push(one("all", AttrValue::N(num(t))));
    }
    let set: BTreeSet<Number> = EDGE_NUMBERS.iter().map(|t| num(t)).collect();
    items.push(one("set", AttrValue::Ns(set.into_iter().collect())));
    items.push(one("nested", AttrValue::L(EDGE_NUMBERS.iter().map(|t| AttrValue::N(num(t))).collect())));
    check_all(&items, &[]).unwrap();

    let (schema, _) = via_arrow(&items, &[]).unwrap();
    assert_eq!(kind_of(&schema, "n9223372036854775807"), Kind::Num(NumKind::Int64));
    assert_eq!(kind_of(&schema, "n-9223372036854775808"), Kind::Num(NumKind::Int64));
    assert_eq!(kind_of(&schema, "n9223372036854775808"), Kind::Num(NumKind::Decimal(0)));
    assert_eq!(kind_of(&schema, "n12345678901234567890123456789012345678"), Kind::Num(NumKind::Decimal(0)));
    assert_eq!(kind_of(&schema, "n0.12345678901234567890123456789012345678"), Kind::Num(NumKind::Decimal(38)));
    assert_eq!(kind_of(&schema, "n-0.00000000000000000000000000000000000001"), Kind::Num(NumKind::Decimal(38)));
    assert_eq!(kind_of(&schema, "n1E-130"), Kind::Num(NumKind::Text));
    assert_eq!(kind_of(&schema, "n9.99E+125"), Kind::Num(NumKind::Text));
    assert_eq!(kind_of(&schema, "all"), Kind::Num(NumKind::Text));
    assert_eq!(kind_of(&schema, "set"), Kind::NumSet(NumKind::Text));
    assert_eq!(kind_of(&schema, "nested"), Kind::List, "a list of numbers (as exact text here) is an Arrow list");
}

/// 8192 rows is one raw batch: a column whose first batch holds only
/// decimals (and integers) but whose later batch holds a number no
/// Decimal128 scale can hold must be text in every batch; a column first
/// seen in the second batch must be all-null in the first.
#[test]
fn decimal_column_forced_to_text_by_a_later_batch() {
    let rows = ddbsnap::convert::raw::BATCH_ROWS;
    let mut items: Vec<Item> = (0..rows)
        .map(|i| {
            let mut it = one("id", AttrValue::S(format!("i{i}")));
            it.insert("price".into(), AttrValue::N(Number::from_i128_scaled(i as i128 * 7 - 20_000, 2).unwrap()));
            it.insert("count".into(), AttrValue::N(Number::from_i64(i as i64)));
            it.insert("prices".into(), AttrValue::Ns(vec![Number::from_i128_scaled(i as i128, 3).unwrap()]));
            it
        })
        .collect();
    let mut last = one("id", AttrValue::S("last".into()));
    last.insert("price".into(), AttrValue::N(num("1E-130")));
    last.insert("count".into(), AttrValue::N(num("0.5")));
    last.insert("prices".into(), AttrValue::Ns(vec![num("9.99E+125"), num("1")]));
    last.insert("late".into(), AttrValue::Bool(true));
    items.push(last);

    let (schema, batches) = items_to_batches(&items, &[]).unwrap();
    assert_eq!(batches.len(), 2, "the items should span two batches");
    assert_eq!(kind_of(&schema, "price"), Kind::Num(NumKind::Text));
    assert_eq!(kind_of(&schema, "count"), Kind::Num(NumKind::Decimal(1)));
    assert_eq!(kind_of(&schema, "prices"), Kind::NumSet(NumKind::Text));
    assert_eq!(kind_of(&schema, "late"), Kind::Bool);
    check_all(&items, &[]).unwrap();

    // And the other way round: text first, a decimal column later.
    items.rotate_right(1);
    let (schema, _) = items_to_batches(&items, &[]).unwrap();
    assert_eq!(kind_of(&schema, "price"), Kind::Num(NumKind::Text));
    check_all(&items, &[]).unwrap();
}

/// A type that drifts only in a later batch turns the column mixed.
#[test]
fn type_drift_in_a_later_batch() {
    let rows = ddbsnap::convert::raw::BATCH_ROWS;
    let mut items: Vec<Item> = (0..rows + 3).map(|i| one("age", AttrValue::N(Number::from_i64(i as i64)))).collect();
    items[rows] = one("age", AttrValue::S("forty".into()));
    items[rows + 1] = one("age", AttrValue::Null);
    items[rows + 2] = Item::from([("other".to_string(), AttrValue::B(vec![]))]);
    let (schema, _) = items_to_batches(&items, &[]).unwrap();
    assert_eq!(kind_of(&schema, "age"), Kind::Mixed);
    check_all(&items, &[]).unwrap();
}

/// NULL, missing, and every type in one column, next to single-type columns.
#[test]
fn null_missing_and_every_type_in_one_column() {
    let values = vec![
        AttrValue::S(String::new()),
        AttrValue::S("true".into()),
        AttrValue::N(num("-1.5")),
        AttrValue::B(vec![]),
        AttrValue::B(vec![0, 255]),
        AttrValue::Bool(true),
        AttrValue::Bool(false),
        AttrValue::Null,
        AttrValue::M(BTreeMap::new()),
        AttrValue::L(vec![]),
        AttrValue::Ss(vec![String::new(), "a".into()]),
        AttrValue::Ns(vec![num("1E-130"), num("0")]),
        AttrValue::Bs(vec![vec![], vec![1]]),
    ];
    let mut items: Vec<Item> = values.into_iter().map(|v| one("x", v)).collect();
    items.push(one("y", AttrValue::Null));
    items.push(one("x", AttrValue::Null));
    let (schema, _) = via_arrow(&items, &[]).unwrap();
    assert_eq!(kind_of(&schema, "x"), Kind::Mixed);
    assert_eq!(kind_of(&schema, "y"), Kind::Empty);
    check_all(&items, &[]).unwrap();
}

/// Exactly 32 levels is DynamoDB's limit and goes through every format;
/// 33 levels is refused by both text decoders.
#[test]
fn nesting_limit() {
    let wrappers = |n: usize| (0..n).map(|i| (if i % 2 == 0 { Some(format!("k{i}")) } else { None }, i % 3 == 0)).collect::<Vec<_>>();
    let v32 = chain(AttrValue::S("bottom".into()), wrappers(31));
    assert_eq!(v32.depth(), 32);
    let item = one("deep", v32.clone());
    check_all(std::slice::from_ref(&item), &[]).unwrap();

    let v33 = AttrValue::L(vec![v32]);
    assert_eq!(v33.depth(), 33);
    let too_deep = one("deep", v33);
    let json = ddbjson::item_to_string(&too_deep);
    let err = ddbjson::item_from_str(&json).expect_err("33 levels must be refused");
    assert!(err.to_string().contains("32 levels"), "{err}");
    let mut line = String::from("$ion_1_0 {Item:");
    ion::write_struct(&mut line, &too_deep);
    line.push('}');
    let (_, msg) = ion::parse_line(&line).expect_err("33 levels must be refused in Ion too");
    assert!(msg.contains("32 levels"), "{msg}");
}

/// Names and strings that need quoting or escaping in some format.
#[test]
fn awkward_names_and_strings() {
    let names = ["a b", "a.b", "#x", ":v", "😀", "null", "true", "nan", "$ion_1_0", "'", "\"", "\\", "\u{0}", "\n", "ID", "id", "é"];
    let mut it = Item::new();
    for (i, n) in names.iter().enumerate() {
        it.insert(n.to_string(), AttrValue::S(format!("{n}{}", "\u{1}\u{7f}\u{2028}\u{feff}'''\"//*".repeat(i % 2))));
    }
    it.insert("m".into(), AttrValue::M(names.iter().map(|n| (n.to_string(), AttrValue::Ss(vec![n.to_string()]))).collect()));
    check_all(&[it.clone(), it], &[]).unwrap();
}

/// Regression: `batch_to_items` read `_ddb` dictionary keys as type
/// indexes, but a Parquet reader rebuilds each tag dictionary from the names
/// its column chunk uses (here `["NULL"]` alone, then `["M", "S"]`), so NULLs
/// came back as S and maps as S.
#[test]
fn regression_parquet_rebuilds_tag_dictionary() {
    let items = vec![
        Item::from([("k".to_string(), AttrValue::S("a".into())), ("only_null".to_string(), AttrValue::Null)]),
        Item::from([("k".to_string(), AttrValue::M(BTreeMap::new())), ("only_null".to_string(), AttrValue::Null)]),
        Item::from([("k".to_string(), AttrValue::S("b".into()))]),
    ];
    assert_eq!(diff(&items, &via_parquet(&items, &[]).unwrap()), None);
}

/// Regression: the Ion parser counted the members of a `$dynamodb_SS::[..]`
/// set as one more level, so a set at level 32 (valid in DynamoDB, and
/// accepted from DynamoDB JSON) was refused. A set at level 33 still is.
#[test]
fn regression_ion_set_at_level_32() {
    for set in [AttrValue::Ss(vec!["x".into()]), AttrValue::Ns(vec![num("1"), num("1E-130")]), AttrValue::Bs(vec![vec![], vec![7]])] {
        let v32 = chain(set.clone(), (0..31).map(|i| (if i % 2 == 0 { None } else { Some(format!("m{i}")) }, false)).collect());
        assert_eq!(v32.depth(), 32);
        let item = one("s", v32.clone());
        check_all(std::slice::from_ref(&item), &[]).unwrap();

        let v33 = one("s", AttrValue::L(vec![v32]));
        assert!(ddbjson::item_from_str(&ddbjson::item_to_string(&v33)).is_err(), "JSON must refuse 33 levels");
        assert!(via_ion(&v33).is_err(), "Ion must refuse 33 levels");
    }
    // Sets nested in sets are not DynamoDB values (and do not recurse
    // without bound in the parser).
    let nested_sets = format!("$ion_1_0 {{Item:{{s:{}\"x\"{}}}}}", "$dynamodb_SS::[".repeat(200), "]".repeat(200));
    assert!(ion::parse_line(&nested_sets).is_err());
}

/// Maps of one shape become a struct and lists of one element type a list;
/// a field missing in some maps is told from a NULL one by the struct's own
/// `_ddb` tags, and both come back exactly, through Parquet too.
#[test]
fn struct_and_list_columns() {
    let m = |pairs: &[(&str, AttrValue)]| AttrValue::M(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect());
    let s = |x: &str| AttrValue::S(x.into());
    let items = vec![
        Item::from([
            (
                "profile".to_string(),
                m(&[("bio", s("hi")), ("age", AttrValue::N(num("41"))), ("tags", AttrValue::L(vec![s("a"), AttrValue::Null]))]),
            ),
            ("tags".to_string(), AttrValue::L(vec![s("x"), s("y")])),
        ]),
        Item::from([("profile".to_string(), m(&[("bio", AttrValue::Null)])), ("tags".to_string(), AttrValue::L(vec![]))]),
        Item::from([("profile".to_string(), m(&[])), ("tags".to_string(), AttrValue::Null)]),
        Item::from([("profile".to_string(), AttrValue::Null)]),
        Item::new(),
    ];
    let (schema, _) = via_arrow(&items, &[]).unwrap();
    assert_eq!(kind_of(&schema, "profile"), Kind::Struct);
    assert_eq!(kind_of(&schema, "tags"), Kind::List);
    check_all(&items, &[]).unwrap();

    // A field of two types keeps the whole column exact text.
    let mut drifted = items.clone();
    drifted.push(Item::from([("profile".to_string(), m(&[("bio", AttrValue::N(num("1")))]))]));
    let (schema, _) = via_arrow(&drifted, &[]).unwrap();
    assert_eq!(kind_of(&schema, "profile"), Kind::Json);
    check_all(&drifted, &[]).unwrap();
}
