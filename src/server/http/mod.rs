pub mod export;
pub mod health;
pub mod kumomta;
pub mod middleware;
pub mod outbox;
pub mod rate_limit;
pub mod sandbox_stripe;
pub mod webhooks;
