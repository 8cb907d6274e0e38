//! Failed login/signup attempts, kept in Postgres so every app process sees the same counts.
//! Rows name the client address (an IPv4 address or an IPv6 /64) and a keyed hash of the
//! email, never the email itself; they are pruned once older than every window.

use super::Context;
use sqlx::PgPool;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Login,
    Signup,
    /// A password-reset request: every request counts (each one mails a link).
    Reset,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Login => "login",
            Kind::Signup => "signup",
            Kind::Reset => "reset",
        }
    }
}

/// One attempt's keys: the client address key and the email's keyed hash.
#[derive(Clone, Copy, Debug)]
pub struct Keys<'a> {
    pub kind: Kind,
    pub address: &'a str,
    pub email: &'a [u8],
}

/// A bound: this many failures inside this many seconds.
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    pub max_failures: i64,
    pub window_secs: i64,
}

/// What the recorded failures (other than the attempt itself) say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    /// Seconds until this (email, address) pair may try again, if its bound is reached.
    pub pair_wait: Option<u64>,
    /// Seconds until this address may try again (any email), if its bound is reached.
    pub address_wait: Option<u64>,
    /// Failures for this email from every address inside the email window.
    pub email_failures: i64,
}

/// Records an attempt as a failure before it is checked or run (see
/// `services::accounts`); `forget` removes it again.
pub async fn begin(pool: &PgPool, keys: Keys<'_>) -> super::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO auth_failures (kind, ip, email_key) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(keys.kind.as_str())
    .bind(keys.address)
    .bind(keys.email)
    .fetch_one(pool)
    .await
    .context("recording auth attempt")
}

pub async fn forget(pool: &PgPool, attempt: i64) -> super::Result<()> {
    sqlx::query("DELETE FROM auth_failures WHERE id = $1")
        .bind(attempt)
        .execute(pool)
        .await
        .context("forgetting auth attempt")?;
    Ok(())
}

/// The counts for `keys`, leaving out `attempt` itself. A wait ends when the oldest failure
/// that made its bound full leaves the window.
pub async fn counts(
    pool: &PgPool,
    keys: Keys<'_>,
    attempt: i64,
    pair: Bound,
    address: Bound,
    email_window_secs: i64,
) -> super::Result<Counts> {
    let (pair_wait, address_wait, email_failures): (Option<f64>, Option<f64>, i64) =
        sqlx::query_as(
            "SELECT
               (SELECT EXTRACT(EPOCH FROM (at + make_interval(secs => $5) - now()))::float8
                  FROM auth_failures
                 WHERE kind = $1 AND email_key = $3 AND ip = $2 AND id <> $4
                   AND at > now() - make_interval(secs => $5)
                 ORDER BY at DESC OFFSET $6 - 1 LIMIT 1),
               (SELECT EXTRACT(EPOCH FROM (at + make_interval(secs => $7) - now()))::float8
                  FROM auth_failures
                 WHERE kind = $1 AND ip = $2 AND id <> $4
                   AND at > now() - make_interval(secs => $7)
                 ORDER BY at DESC OFFSET $8 - 1 LIMIT 1),
               (SELECT count(*) FROM auth_failures
                 WHERE kind = $1 AND email_key = $3 AND id <> $4
                   AND at > now() - make_interval(secs => $9))",
        )
        .bind(keys.kind.as_str())
        .bind(keys.address)
        .bind(keys.email)
        .bind(attempt)
        .bind(pair.window_secs as f64)
        .bind(pair.max_failures)
        .bind(address.window_secs as f64)
        .bind(address.max_failures)
        .bind(email_window_secs as f64)
        .fetch_one(pool)
        .await
        .context("checking auth throttle")?;
    let secs = |w: Option<f64>| w.filter(|w| *w > 0.0).map(|w| w.ceil() as u64);
    Ok(Counts {
        pair_wait: secs(pair_wait),
        address_wait: secs(address_wait),
        email_failures,
    })
}

/// A successful login forgives the failures of the same email from the same address (the
/// owner's own typos), not those from elsewhere: a stranger's guesses keep counting.
pub async fn clear_pair(pool: &PgPool, keys: Keys<'_>) -> super::Result<()> {
    sqlx::query("DELETE FROM auth_failures WHERE kind = $1 AND ip = $2 AND email_key = $3")
        .bind(keys.kind.as_str())
        .bind(keys.address)
        .bind(keys.email)
        .execute(pool)
        .await
        .context("clearing auth failures")?;
    Ok(())
}

/// Deletes failures older than `max_age_secs` (the longest window); returns how many.
pub async fn prune(pool: &PgPool, max_age_secs: i64) -> super::Result<u64> {
    let done =
        sqlx::query("DELETE FROM auth_failures WHERE at < now() - make_interval(secs => $1)")
            .bind(max_age_secs as f64)
            .execute(pool)
            .await
            .context("pruning auth failures")?;
    Ok(done.rows_affected())
}
