//! The fault-injecting proxy lives in the library (`rehearse` uses it too).

pub use ddbsnap::rehearse::proxy::*;
