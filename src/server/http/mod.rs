pub mod health;
pub mod middleware;
pub mod outbox;
