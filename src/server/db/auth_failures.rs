//! Failed login/signup attempts, kept in Postgres so every app process sees the same counts.

use anyhow::Context;
use sqlx::PgPool;
use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Login,
    Signup,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Login => "login",
            Kind::Signup => "signup",
        }
    }
}

/// Records an attempt as a failure before it is checked or run (see
/// `services::accounts::throttled`); `forget` removes it again.
pub async fn begin(pool: &PgPool, kind: Kind, ip: IpAddr, email: &str) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO auth_failures (kind, ip, email) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(ip.to_string())
    .bind(email)
    .fetch_one(pool)
    .await
    .context("recording auth attempt")
}

pub async fn forget(pool: &PgPool, attempt: i64) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM auth_failures WHERE id = $1")
        .bind(attempt)
        .execute(pool)
        .await
        .context("forgetting auth attempt")?;
    Ok(())
}

/// Seconds until another attempt is allowed, or `None` when the failures other than
/// `attempt` are under the limit for both the IP and the email. The wait ends when the
/// oldest counted failure leaves the window.
pub async fn retry_after(
    pool: &PgPool,
    kind: Kind,
    ip: IpAddr,
    email: &str,
    max_failures: i64,
    window_secs: i64,
    attempt: i64,
) -> anyhow::Result<Option<u64>> {
    let wait: Option<f64> = sqlx::query_scalar(
        "WITH recent AS (
             SELECT at, (ip = $2) AS by_ip, coalesce(email = $3, false) AS by_email
               FROM auth_failures
              WHERE kind = $1 AND at > now() - make_interval(secs => $5) AND id <> $6
                AND (ip = $2 OR email = $3)
         ),
         ranked AS (
             SELECT at, row_number() OVER (PARTITION BY by_ip ORDER BY at DESC) AS n_ip,
                        row_number() OVER (PARTITION BY by_email ORDER BY at DESC) AS n_email,
                    by_ip, by_email
               FROM recent
         )
         SELECT max(EXTRACT(EPOCH FROM (at + make_interval(secs => $5) - now()))::float8)
           FROM ranked
          WHERE (by_ip AND n_ip = $4) OR (by_email AND n_email = $4)",
    )
    .bind(kind.as_str())
    .bind(ip.to_string())
    .bind(email)
    .bind(max_failures)
    .bind(window_secs as f64)
    .bind(attempt)
    .fetch_one(pool)
    .await
    .context("checking auth throttle")?;
    Ok(wait.filter(|w| *w > 0.0).map(|w| w.ceil() as u64))
}

/// A successful login forgives that email's earlier failures (not the IP's).
pub async fn clear_email(pool: &PgPool, kind: Kind, email: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM auth_failures WHERE kind = $1 AND email = $2")
        .bind(kind.as_str())
        .bind(email)
        .execute(pool)
        .await
        .context("clearing auth failures")?;
    Ok(())
}
