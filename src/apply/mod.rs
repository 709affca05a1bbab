//! Applying approved plans to DynamoDB: conditional, throttled, resumable,
//! reversible.
//!
//! - [`expr`]: each operation as a write whose condition is that the item
//!   is still as the snapshot saw it (the attributes the plan reads and
//!   writes, plus `updatedAt`/`_version`/`_lastChangedAt` where present);
//! - [`send`]: the one place the AWS SDK writes;
//! - [`run`]: concurrency, the rate limit ([`rate`]), retries with backoff
//!   and jitter, conflicts recorded with the item's current value;
//! - [`journal`]: what finished, synced to disk, for `--resume` and rollback.

pub mod expr;
pub mod journal;
pub mod preflight;
pub mod rate;
pub mod run;
pub mod send;
pub mod value;
pub mod verify;
