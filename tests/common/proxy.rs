//! The fault-injecting proxy lives in the library (`rehearse` uses it too).

#[allow(unused_imports)]
pub use ddbsnap::rehearse::proxy::*;
