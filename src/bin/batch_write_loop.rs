//! The benchmark's baseline and loader: a plain, sequential BatchWriteItem
//! loop (25 items a call, unprocessed items sent again), the script teams
//! write by hand. `scripts/bench/apply.sh` compares `ddbsnap apply` with it.
//!
//!     cargo build --release --features bench-tools --bin batch_write_loop
//!     batch_write_loop EXPORT ENDPOINT TABLE [--create | --create-only]
//!
//! Loads every item of the export into TABLE (created keyed by `id` with
//! --create; --create-only just creates it) and prints the items per second.

use std::time::Instant;

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PutRequest, ScalarAttributeType, WriteRequest};
use ddbsnap::apply::value::item_to_sdk;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (export, endpoint, table) = (&args[0], &args[1], &args[2]);
    let env = ddbsnap::load::LoadEnv { read: ddbsnap::snapshot::ReadOptions::default(), ..Default::default() };
    let tables = ddbsnap::load::locate(std::slice::from_ref(export), &env).await?;
    let loaded = ddbsnap::load::load_table(&tables[0], &env).await?;
    let items: Vec<_> = loaded.batches.iter().flat_map(|b| ddbsnap::convert::batch_to_items(b).expect("items")).collect();
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let client = aws_sdk_dynamodb::Client::from_conf(aws_sdk_dynamodb::config::Builder::from(&shared).endpoint_url(endpoint).build());
    if args.iter().any(|a| a == "--create" || a == "--create-only") {
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(AttributeDefinition::builder().attribute_name("id").attribute_type(ScalarAttributeType::S).build()?)
            .key_schema(KeySchemaElement::builder().attribute_name("id").key_type(KeyType::Hash).build()?)
            .send()
            .await?;
    }
    if args.iter().any(|a| a == "--create-only") {
        return Ok(());
    }
    let started = Instant::now();
    for chunk in items.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|it| {
                WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item_to_sdk(it))).build().expect("item")).build()
            })
            .collect();
        while !requests.is_empty() {
            let out = client.batch_write_item().request_items(table.as_str(), requests).send().await?;
            requests = out.unprocessed_items().and_then(|m| m.get(table.as_str())).cloned().unwrap_or_default();
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{} items in {secs:.2} s: {:.0} items/s", items.len(), items.len() as f64 / secs);
    Ok(())
}
