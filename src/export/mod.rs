//! Taking exports: DynamoDB's export to S3 ([`pitr`]), or a consistent scan
//! written in the same layout ([`scan`]) for tables without point-in-time
//! recovery; [`tables`] chooses which.

pub mod pitr;
pub mod scan;
pub mod tables;
