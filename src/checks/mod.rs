//! Integrity checks over snapshots: the Amplify data model ([`model`]), the
//! checks generated from it as SQL ([`generate`]) and the runner ([`run`]).
//! Check files, reports and schema-change lint build on these.

pub mod baseline;
pub mod files;
pub mod gate;
pub mod generate;
pub mod lint;
pub mod model;
pub mod run;
pub mod scalars;
pub mod suite;
