//! Everything that runs only on the server. Nothing here is compiled into the browser bundle.

pub mod auth;
pub mod config;
pub mod crypto;
pub mod db;
pub mod dkim;
pub mod dns;
pub mod fn_context;
pub mod fn_errors;
pub mod http;
pub mod jobs;
pub mod limits;
pub mod meter;
pub mod metrics;
pub mod providers;
pub mod seed;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
