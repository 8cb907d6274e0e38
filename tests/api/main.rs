//! HTTP-level tests: the whole app on a random port, each test in its own fresh Postgres
//! database (`#[sqlx::test]` creates and drops it, with the migrations applied).

mod helpers;

mod account_life;
mod accounts;
mod admin;
mod admin_reports;
mod auth_cache;
mod billing;
mod cards;
mod closure;
mod cloudflare;
mod deliverability;
mod domain_renewals;
mod domains;
mod domains_sandbox;
mod export;
mod faults;
mod inboxes;
mod invoice_pdf;
mod jobs;
mod kill_switch;
mod mailstore;
mod namecheap;
mod operations;
mod pages;
mod public_api;
mod public_api_endpoints;
mod rate_limits;
mod replicas;
mod rls;
mod sandbox_billing;
mod sandbox_shape;
mod security;
mod shutdown;
mod stripe_client;
mod sweep;
mod team;
mod two_factor;
mod usage;
mod webhooks;
