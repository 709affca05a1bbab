//! ddbsnap: audit, preview and rehearse data migrations on Amazon DynamoDB,
//! starting from DynamoDB's export-to-S3 snapshots.
//!
//! The pipeline, one module per stage, each depending only on those before:
//!
//! - [`item`]: the item model, exact DynamoDB values (numbers, sets, NULL, binary).
//! - [`snapshot`]: finding exports (local or S3), verifying manifests and
//!   checksums, decoding DynamoDB JSON and Ion, applying incremental exports.
//! - [`convert`]: items to Arrow record batches and back, losslessly, with the
//!   schema inferred over every item.
//! - [`load`]: snapshots read into memory as typed tables.
//! - [`catalog`]: the one place a DataFusion session is built: tables and the
//!   `ddb_*` SQL functions.
//! - [`checks`]: integrity checks; so far the Amplify data model
//!   (`amplify_outputs.json`) that they are generated from.
//! - [`output`]: Parquet folders written from snapshots.
//! - [`plan`]: transforms previewed into reviewed, immutable plan files.
//! - [`report`]: check reports as JUnit, Markdown and HTML.
//! - [`generate`]: deterministic synthetic exports in AWS's layout: a fixed Contact
//!   export, or one table per model of a data model, shaped by a profile, with
//!   planted defects and their ground truth.
//! - [`export`]: exports taken: DynamoDB's own (PITR, full and chained incrementals) or a consistent scan in the same layout.
//! - [`profile`]: the shape of production data (sizes, types, lengths, skew) without its values.
//! - [`apply`]: approved plans written to DynamoDB, journaled and reversible.
//! - [`rehearse`]: whole migrations rehearsed on local or staging servers, every step verified.
//! - [`seed`]: exports, subsets, Parquet and CSV rows written into sandbox and staging tables (`load`).
//! - [`subset`]: masked, referentially complete subsets of exports for sandboxes.
//! - [`aws`]: how AWS SDK failures read (one line for missing credentials).
//! - [`env`]: the run's execution context: the thread pool every CPU-bound
//!   stage shares (`--threads`), the DataFusion runtime, the clock.
//! - [`cache`]: exports too large for memory converted to a Parquet cache
//!   for `sql` and `check`, reused while their manifests are unchanged.
//! - [`cli`]: the command line; the only module that knows clap.

pub mod apply;
pub mod aws;
pub mod cache;
pub mod catalog;
pub mod checks;
pub mod cli;
pub mod convert;
pub mod env;
pub mod error;
pub mod export;
pub mod generate;
pub mod item;
pub mod load;
pub mod output;
pub mod plan;
pub mod profile;
pub mod rehearse;
pub mod report;
pub mod seed;
pub mod snapshot;
pub mod subset;

pub use error::{Error, Result};
