pub mod health;
pub mod middleware;
pub mod outbox;
pub mod sandbox_stripe;
pub mod export;
pub mod kumomta;
pub mod webhooks;
