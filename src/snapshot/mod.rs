//! Snapshots: locating DynamoDB exports, verifying their manifests, decoding
//! their data files (DynamoDB JSON or Ion, gzip) and applying incremental
//! exports onto full ones, from a local folder or S3.

pub mod decode;
pub mod ion;
pub mod locate;
pub mod manifest;
pub mod read;
pub mod source;

pub use decode::{Change, Quarantine, Record};
pub use locate::{ExportRef, S3Settings, TableSnapshot, find_exports, plan_tables};
pub use read::{ItemSink, ReadOptions, ReadReport, read_table};
