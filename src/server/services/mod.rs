//! Use cases as plain async functions, testable without HTTP.

pub mod accounts;
pub mod admin;
pub mod billing;
pub mod closure;
pub mod dashboard;
pub mod deliverability;
pub mod delivery;
pub mod domains;
pub mod inboxes;
pub mod integrations;
pub mod outbox;
pub mod reports;
pub mod security;
pub mod suspensions;
pub mod team;
pub mod trial_reminder;
pub mod two_factor;
pub mod workspace_export;
