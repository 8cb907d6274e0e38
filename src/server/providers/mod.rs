//! One module per external system: a trait, the real client and a stateful sandbox.

pub mod mail;
pub mod payments;
