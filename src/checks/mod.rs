//! Integrity checks over snapshots. So far: the Amplify data model they are
//! generated from ([`model`]); check suites, generated checks, the runner and
//! schema-change lint build on it.

pub mod model;
