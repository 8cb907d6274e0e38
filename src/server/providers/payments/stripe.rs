//! The real Stripe client on async-stripe (=1.0.0-rc.10, API 2026-09-30.endive).
