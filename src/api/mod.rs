//! Server functions: thin. State and session → guard → parse → service → error mapping.

pub mod account;
pub mod admin;
pub mod auth;
pub mod billing;
pub mod dashboard;
pub mod deliverability;
pub mod domains;
pub mod inboxes;
pub mod integrations;
pub mod public;
pub mod team;
pub mod two_factor;
