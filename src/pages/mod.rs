//! Route components, one module per area.

pub mod activity;
pub mod admin;
pub mod auth;
pub mod billing;
pub mod dashboard;
pub mod deliverability;
pub mod domains;
pub mod inboxes;
pub mod landing;
pub mod not_found;
pub mod settings;
pub mod settings_api;
pub mod staff;
