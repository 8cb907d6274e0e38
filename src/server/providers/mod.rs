//! One module per external system: a trait, the real client and a stateful sandbox.

pub mod dns;
pub mod mail;
pub mod mailstore;
pub mod payments;
pub mod registrar;
pub mod relay;
pub mod stats;
pub mod timed;
pub mod tools;
