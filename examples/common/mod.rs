//! What the benchmark clients share: settings from the environment, p50, and a customer that
//! signs up and buys domains through the sandbox Checkout like a browser would.

#![allow(dead_code)] // each bench uses its own part

use std::time::{Duration, Instant};

pub fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
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
    anyhow::ensure!(res.status().is_success(), "signup: {}", res.status());
    Ok(client)
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
