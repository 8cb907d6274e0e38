//! The sandbox Stripe: stateful in Postgres, same code paths as the real one.
