pub mod health;
pub mod middleware;
pub mod sandbox_stripe;
pub mod webhooks;
