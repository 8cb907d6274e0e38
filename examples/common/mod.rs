//! What the benchmark clients share: settings from the environment, p50, and a customer that
//! signs up and buys domains through the sandbox Checkout like a browser would.

#![allow(dead_code)] // each bench uses its own part

use std::time::{Duration, Instant};

pub fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// The value under which a share `q` of `sorted` falls (NaN when empty).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(f64::NAN)
}

pub fn p50(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Keeps cookies, does not follow redirects.
pub fn browser() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// A new signed-in customer.
pub async fn signup(base: &str, company: &str, email: &str) -> anyhow::Result<reqwest::Client> {
    let client = browser()?;
    let res = client
        .post(format!("{base}/api/auth/signup"))
        .form(&[
            ("company", company),
            ("email", email),
            ("password", "bench-password-2026"),
            ("website", ""),
        ])
        .send()
        .await?;
    anyhow::ensure!(
        res.status().is_success() || res.status().is_redirection(),
        "signup: {}",
        res.status()
    );
    verify_email(base, &client, email).await?;
    Ok(client)
}

/// Opens the verification link the signup mailed (the sandbox outbox, read from the server's
/// database): buying domains and provisioning need a verified address. Returns the session
/// cookie the verification set, if it set one.
pub async fn verify_email(
    base: &str,
    client: &reqwest::Client,
    email: &str,
) -> anyhow::Result<Option<String>> {
    let pool = sqlx::PgPool::connect_with(inboxgrove::server::db::system_path(
        std::env::var("DATABASE_URL")?.parse()?,
    ))
    .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let body: Option<String> = sqlx::query_scalar(
            "SELECT body_text FROM mail_outbox
              WHERE to_addr = $1 AND idempotency_key LIKE 'verify:%'
              ORDER BY created_at DESC LIMIT 1",
        )
        .bind(email.to_lowercase())
        .fetch_optional(&pool)
        .await?;
        if let Some(body) = body {
            break body;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no verification mail for {email}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    pool.close().await;
    let token = body
        .split_once("token=")
        .and_then(|(_, rest)| rest.split(char::is_whitespace).next())
        .ok_or_else(|| anyhow::anyhow!("no link in the verification mail"))?;
    let res = client
        .post(format!("{base}/api/auth/verify_email"))
        .form(&[("token", token)])
        .send()
        .await?;
    anyhow::ensure!(
        res.status().is_success() || res.status().is_redirection(),
        "verifying {email}: {}",
        res.status()
    );
    Ok(session_cookie(&res))
}

/// The `ig_session` value a response sets, if it sets one.
pub fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("ig_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// Buys `name`: the sandbox Checkout URL the buy form is redirected to.
pub async fn checkout(base: &str, client: &reqwest::Client, name: &str) -> anyhow::Result<String> {
    let buy = client
        .post(format!("{base}/api/domains/buy"))
        .header("accept", "text/html")
        .form(&[("name", name)])
        .send()
        .await?;
    let location = buy
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("buy {name}: {}", buy.status()))?;
    location
        .split_once("/sandbox/")
        .map(|(_, p)| format!("{base}/sandbox/{p}"))
        .ok_or_else(|| anyhow::anyhow!("not a sandbox Checkout: {location}"))
}

/// Pays on the sandbox Checkout with the card that pays.
pub async fn pay(base: &str, client: &reqwest::Client, checkout: &str) -> anyhow::Result<()> {
    let paid = client
        .post(checkout)
        .header("origin", base)
        .form(&[("card", "4242424242424242")])
        .send()
        .await?;
    anyhow::ensure!(paid.status().as_u16() == 303, "pay: {}", paid.status());
    Ok(())
}

/// Waits (polling the database) until the domain is active; its id.
pub async fn wait_active(pool: &sqlx::PgPool, name: &str) -> anyhow::Result<uuid::Uuid> {
    let started = Instant::now();
    loop {
        let (id, status): (uuid::Uuid, String) =
            sqlx::query_as("SELECT id, status FROM domains WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await?;
        match status.as_str() {
            "active" => return Ok(id),
            "failed" => anyhow::bail!("{name} failed"),
            _ if started.elapsed() > Duration::from_secs(60) => {
                anyhow::bail!("{name} still {status} after 60 s")
            }
            _ => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
}
