//! Hot paths of reading an export, in bytes of DynamoDB JSON per second:
//! full-export lines straight into typed Arrow batches (the path a read
//! takes: one scan per line, maps packed as they are read), decoding lines
//! into items, and items into typed Arrow batches.
//! The whole-process comparison with DuckDB is `scripts/bench/compare.sh`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ddbsnap::convert::{RawBuilder, TableSchema, into_record_batch, to_record_batch};
use ddbsnap::generate::contact_item;
use ddbsnap::item::ddbjson;
use ddbsnap::snapshot::ItemSink;
use ddbsnap::snapshot::decode::{FileSpec, Record, decode_line};
use ddbsnap::snapshot::manifest::OutputFormat;

const ITEMS: u64 = 20_000;

fn lines() -> Vec<String> {
    (0..ITEMS)
        .map(|i| {
            let mut s = String::from("{\"Item\":");
            ddbjson::write_item(&mut s, &contact_item(7, i, 0.001, 0));
            s.push('}');
            s
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let lines = lines();
    let bytes: u64 = lines.iter().map(|l| l.len() as u64 + 1).sum();
    let spec = FileSpec { describe: "bench".into(), format: OutputFormat::DynamodbJson, incremental: false, md5: None, item_count: None };
    let mut g = c.benchmark_group("read");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    g.bench_function("lines_to_arrow", |b| {
        b.iter(|| {
            let mut builder = RawBuilder::new(true);
            for l in &lines {
                // As the reader does: the general decoder takes what the scan leaves.
                if !builder.push_json_line(l.as_bytes()).expect("push") {
                    let Record::Item(item) = decode_line(l.as_bytes(), &spec).expect("valid line") else { unreachable!() };
                    builder.push(item).expect("push");
                }
            }
            let (raw, stats) = builder.finish();
            let schema = TableSchema::infer(&stats, &[]).expect("schema");
            for r in raw {
                black_box(into_record_batch(r, &schema).expect("batch"));
            }
        })
    });
    g.bench_function("decode_lines", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(decode_line(l.as_bytes(), &spec).expect("valid line"));
            }
        })
    });
    let items: Vec<_> = lines
        .iter()
        .map(|l| match decode_line(l.as_bytes(), &spec).expect("valid line") {
            Record::Item(i) => i,
            Record::Change(_) => unreachable!(),
        })
        .collect();
    g.bench_function("items_to_arrow", |b| {
        b.iter(|| {
            let mut builder = RawBuilder::new(true);
            for it in &items {
                builder.push(it.clone()).expect("push");
            }
            let (raw, stats) = builder.finish();
            let schema = TableSchema::infer(&stats, &[]).expect("schema");
            for r in &raw {
                black_box(to_record_batch(r, &schema).expect("batch"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
