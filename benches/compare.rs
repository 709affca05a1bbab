//! The rehearsal's comparison hot path (steps 5 and 6), in items per
//! second: each scanned item's key hashed and its 128-bit digest taken and
//! matched against what the table should hold. The whole rehearsal's time
//! and memory is `scripts/bench/rehearse.sh`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ddbsnap::generate::contact_item;
use ddbsnap::rehearse::digest::{Comparer, Digests, item_digest, key_of};

const ITEMS: u64 = 20_000;

fn bench(c: &mut Criterion) {
    let items: Vec<_> = (0..ITEMS).map(|i| contact_item(7, i, 0.001, 0)).collect();
    let key = vec!["id".to_string()];
    let expected: Digests = items.iter().map(|i| (key_of(i, &key), item_digest(i))).collect();
    let mut g = c.benchmark_group("rehearse_compare");
    g.throughput(Throughput::Elements(ITEMS));
    g.sample_size(10);
    g.bench_function("digest_items", |b| b.iter(|| items.iter().fold(0u128, |acc, i| acc ^ black_box(item_digest(i)))));
    g.bench_function("compare_scan", |b| {
        b.iter(|| {
            let mut cmp = Comparer::new("Contact", &key, expected.clone());
            items.iter().for_each(|i| cmp.see(i));
            black_box(cmp.finish(|_| Ok(Default::default())).expect("all match"))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
