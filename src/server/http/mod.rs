pub mod health;
pub mod middleware;
