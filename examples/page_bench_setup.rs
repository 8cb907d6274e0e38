//! `make bench` part 1, set-up (not timed): the signed-in customer whose pages the page table
//! loads. Signs up, buys one domain through the sandbox Checkout, waits until it is active and
//! presses the magic button for 50 inboxes on it, so `/inboxes` lists 50 rows, `/domains` one
//! domain and the domain page its records. Prints `BENCH_COOKIE=…` and `BENCH_DOMAIN=…` for
//! bench.sh to read.
//!
//! Env: BENCH_URL (http://host:port), DATABASE_URL (the server's database).

use anyhow::Context;

mod common;
use common::{checkout, env, pay, wait_active};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let base = env("BENCH_URL", "http://127.0.0.1:3200");
    // Waiting for "active" reads across tenants: the explicit system path (row-level security).
    let pool = sqlx::PgPool::connect_with(inboxgrove::server::db::system_path(
        std::env::var("DATABASE_URL")?.parse()?,
    ))
    .await?;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();

    // Sign up without a cookie store: wrk needs the session cookie itself.
    let res = common::browser()?
        .post(format!("{base}/api/auth/signup"))
        .form(&[
            ("company", "Page Bench Co"),
            ("email", &format!("pages-{tag}@bench.test")),
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
    let cookie = common::session_cookie(&res).context("signup set no ig_session cookie")?;
    let with_cookie = |cookie: &str| -> anyhow::Result<reqwest::Client> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("cookie", format!("ig_session={cookie}").parse()?);
        Ok(reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()?)
    };
    // Buying a domain needs a verified address; verifying may start a new session.
    let email = format!("pages-{tag}@bench.test");
    let cookie = common::verify_email(&base, &with_cookie(&cookie)?, &email)
        .await?
        .unwrap_or(cookie);
    let client = with_cookie(&cookie)?;

    let name = format!("pages-{tag}.com");
    let url = checkout(&base, &client, &name).await?;
    pay(&base, &client, &url).await?;
    let domain = wait_active(&pool, &name).await?;

    let res = client
        .post(format!("{base}/api/inboxes/provision"))
        .form(&[
            ("domains", domain.to_string()),
            ("per_domain", "50".into()),
            ("convention", "first.last".into()),
            ("personas", String::new()),
            ("display", "full".into()),
            ("company", String::new()),
            ("idempotency_key", format!("page-bench-{tag}")),
        ])
        .send()
        .await?;
    let status = res.status();
    anyhow::ensure!(
        status.is_success(),
        "provision: {status} {}",
        res.text().await?
    );
    // A key for the API row of the table (read scope: the inbox listing).
    let res = client
        .post(format!("{base}/api/integrations/key/create"))
        .form(&[("name", "bench"), ("scopes", "read"), ("expires_days", "")])
        .send()
        .await?;
    anyhow::ensure!(res.status().is_success(), "key: {}", res.status());
    let key: serde_json::Value = res.json().await?;
    let key = key["secret"].as_str().context("no key secret")?;
    println!("BENCH_API_KEY={key}");
    println!("BENCH_COOKIE=ig_session={cookie}");
    println!("BENCH_DOMAIN={domain}");
    Ok(())
}
