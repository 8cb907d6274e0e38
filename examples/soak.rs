//! `make soak`: mixed load for SOAK_SECS (600) against a running server — signed-in pages and
//! the dashboard's server function, signed Stripe webhooks, provisioning (one inbox at a time,
//! each under a fresh idempotency key) and Instantly exports — then p50/p99 latency, request
//! count and errors per kind. scripts/soak.sh starts the server and reports its RSS.
//!
//! Env: BENCH_URL, BENCH_COOKIE, BENCH_DOMAIN (page_bench_setup), STRIPE_WEBHOOK_SECRET (the
//! server's), SOAK_SECS.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inboxgrove::server::providers::payments::signature;

mod common;
use common::env;

#[derive(Default)]
struct Kind {
    times: Vec<f64>,
    errors: usize,
    first_error: Option<String>,
}

type Stats = Arc<Mutex<std::collections::BTreeMap<&'static str, Kind>>>;

fn record(stats: &Stats, kind: &'static str, started: Instant, outcome: Result<(), String>) {
    let mut all = stats.lock().unwrap();
    let k = all.entry(kind).or_default();
    match outcome {
        Ok(()) => k.times.push(started.elapsed().as_secs_f64() * 1000.0),
        Err(e) => {
            k.errors += 1;
            k.first_error.get_or_insert(e);
        }
    }
}

async fn check(res: Result<reqwest::Response, reqwest::Error>) -> Result<(), String> {
    let res = res.map_err(|e| e.to_string())?;
    let status = res.status();
    let body = res.bytes().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!(
            "{status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let base = env("BENCH_URL", "http://127.0.0.1:3200");
    let cookie = std::env::var("BENCH_COOKIE")?;
    let domain = std::env::var("BENCH_DOMAIN")?;
    let secret = std::env::var("STRIPE_WEBHOOK_SECRET")?;
    let secs: u64 = env("SOAK_SECS", "600").parse()?;
    let end = Instant::now() + Duration::from_secs(secs);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let stats: Stats = Arc::default();
    let mut tasks = Vec::new();

    // Pages: 6 clients, each through the signed-in pages and the dashboard's server function.
    for i in 0..6 {
        let (client, base, cookie, domain, stats) = (
            client.clone(),
            base.clone(),
            cookie.clone(),
            domain.clone(),
            stats.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let pages = ["/dashboard", "/domains", "/inboxes", "/domains/"];
            let mut n = i;
            while Instant::now() < end {
                n += 1;
                let t = Instant::now();
                if n % 5 == 4 {
                    let res = client
                        .post(format!("{base}/api/dashboard"))
                        .header("cookie", &cookie)
                        .send()
                        .await;
                    record(&stats, "server fn /api/dashboard", t, check(res).await);
                    continue;
                }
                let mut path = pages[n % 4].to_string();
                if path.ends_with('/') {
                    path.push_str(&domain);
                }
                let res = client
                    .get(format!("{base}{path}"))
                    .header("cookie", &cookie)
                    .send()
                    .await;
                record(&stats, "pages", t, check(res).await);
            }
        }));
    }
    // Webhooks: signed Stripe events, each new, back to back.
    {
        let (client, base, stats) = (client.clone(), base.clone(), stats.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < end {
                n += 1;
                let body = serde_json::to_vec(&serde_json::json!({
                    "id": format!("evt_soak_{}_{n}", std::process::id()), "object": "event",
                    "api_version": "2026-09-30.endive", "created": chrono::Utc::now().timestamp(),
                    "data": {"object": {"id": "cus_soak", "object": "customer"}},
                    "livemode": false, "pending_webhooks": 1,
                    "request": {"id": null, "idempotency_key": null}, "type": "customer.updated",
                }))
                .unwrap();
                let t = Instant::now();
                let res = client
                    .post(format!("{base}/webhooks/stripe"))
                    .header(
                        "stripe-signature",
                        signature::sign(&secret, chrono::Utc::now().timestamp(), &body),
                    )
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                record(&stats, "webhooks (stripe)", t, check(res).await);
            }
        }));
    }
    // Provisioning: one inbox every 2 s under a fresh idempotency key.
    {
        let (client, base, cookie, domain, stats) = (
            client.clone(),
            base.clone(),
            cookie.clone(),
            domain.clone(),
            stats.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < end {
                n += 1;
                let t = Instant::now();
                let res = client
                    .post(format!("{base}/api/inboxes/provision"))
                    .header("cookie", &cookie)
                    .form(&[
                        ("domains", domain.clone()),
                        ("per_domain", "1".into()),
                        ("convention", "first.last".into()),
                        ("personas", String::new()),
                        ("display", "full".into()),
                        ("company", String::new()),
                        (
                            "idempotency_key",
                            format!("soak-{}-{n}", std::process::id()),
                        ),
                    ])
                    .send()
                    .await;
                record(&stats, "provisioning (1 inbox)", t, check(res).await);
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }));
    }
    // Exports: the whole list as Instantly's CSV, every second.
    {
        let (client, base, cookie, stats) =
            (client.clone(), base.clone(), cookie.clone(), stats.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                let t = Instant::now();
                let res = client
                    .get(format!("{base}/inboxes/export?format=instantly"))
                    .header("cookie", &cookie)
                    .send()
                    .await;
                record(&stats, "exports (instantly csv)", t, check(res).await);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }));
    }
    for t in tasks {
        t.await?;
    }

    println!(
        "{:<28} {:>8} {:>8} {:>8} {:>7}",
        "kind", "requests", "p50 ms", "p99 ms", "errors"
    );
    let all = stats.lock().unwrap();
    for (kind, k) in all.iter() {
        let mut times = k.times.clone();
        times.sort_by(f64::total_cmp);
        let at = |q: f64| common::percentile(&times, q);
        println!(
            "{:<28} {:>8} {:>8.1} {:>8.1} {:>7}",
            kind,
            times.len() + k.errors,
            at(0.5),
            at(0.99),
            k.errors
        );
        if let Some(e) = &k.first_error {
            println!("    first error: {e}");
        }
    }
    Ok(())
}
