//! `make bench` part 4: the magic button end to end through the real HTTP path, sandbox
//! providers, against a running server on a fresh database. Each run is a new customer whose
//! domains were bought and made active first (not timed); the clock starts when "Provision"
//! is sent and stops when the Instantly CSV of the batch has been downloaded and checked.
//! Two sizes: 50 inboxes on one domain and 1,000 on ten domains (10 × 100). Prints p50 of the
//! runs, and the split between provisioning and export, and when the last inbox of the batch
//! became `active` (its login accepted by the mail store: the real Dovecot bench.sh starts).
//! Numbers, not assertions.
//!
//! Env: BENCH_URL (http://host:port), DATABASE_URL (the server's database), BENCH_RUNS (5).
//! The server needs room for 10 domains and 1,000 inboxes per customer (bench.sh raises the
//! trial caps for that; billing has its own tests and benchmark).

use std::time::{Duration, Instant};

mod common;
use common::{checkout, env, p50, pay, signup, wait_active};

/// A new customer with `domains` active domains; returns the client and the domain ids.
async fn customer(
    base: &str,
    pool: &sqlx::PgPool,
    tag: &str,
    domains: usize,
) -> anyhow::Result<(reqwest::Client, Vec<String>)> {
    let c = signup(
        base,
        &format!("Inbox Bench {tag}"),
        &format!("inboxes-{tag}@bench.test"),
    )
    .await?;
    let mut ids = Vec::new();
    for n in 0..domains {
        let name = format!("inb-{tag}-{n}.com");
        let url = checkout(base, &c, &name).await?;
        pay(base, &c, &url).await?;
        ids.push(wait_active(pool, &name).await?.to_string());
    }
    Ok((c, ids))
}

/// Provision → CSV → every inbox `active`; returns (provision ms, export ms, total ms to the
/// CSV, ms until the last inbox of the batch was active).
async fn magic_button(
    base: &str,
    pool: &sqlx::PgPool,
    c: &reqwest::Client,
    domains: &[String],
    per_domain: usize,
    key: &str,
) -> anyhow::Result<(f64, f64, f64, f64)> {
    let started = Instant::now();
    let res = c
        .post(format!("{base}/api/inboxes/provision"))
        .form(&[
            ("domains", domains.join(",")),
            ("per_domain", per_domain.to_string()),
            ("convention", "first.last".into()),
            ("personas", String::new()),
            ("display", "full".into()),
            ("company", String::new()),
            ("idempotency_key", key.to_string()),
        ])
        .send()
        .await?;
    let status = res.status();
    let body: serde_json::Value = res.json().await?;
    anyhow::ensure!(status.is_success(), "provision: {status} {body}");
    let provisioned = started.elapsed();
    let batch = body["batch_id"].as_str().unwrap_or_default();
    let csv = c
        .get(format!(
            "{base}/inboxes/export?format=instantly&batch={batch}"
        ))
        .send()
        .await?;
    anyhow::ensure!(csv.status().is_success(), "export: {}", csv.status());
    let text = csv.text().await?;
    let total = started.elapsed();
    let expected = domains.len() * per_domain;
    anyhow::ensure!(
        text.lines().count() == expected + 1,
        "the CSV has {} lines, not {}",
        text.lines().count(),
        expected + 1
    );
    // Active = the mail store accepted the login (a real Dovecot when the server runs one).
    let batch_id: uuid::Uuid = batch.parse()?;
    let active = loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM inboxes WHERE batch_id = $1 AND status <> 'active'",
        )
        .bind(batch_id)
        .fetch_one(pool)
        .await?;
        if waiting == 0 {
            break started.elapsed();
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "{waiting} inboxes not active after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok((
        ms(provisioned),
        ms(total - provisioned),
        ms(total),
        ms(active),
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let base = env("BENCH_URL", "http://127.0.0.1:3200");
    let runs: usize = env("BENCH_RUNS", "5").parse()?;
    // The bench reads and seeds across tenants: the explicit system path (row-level security).
    let pool = sqlx::PgPool::connect_with(inboxgrove::server::db::system_path(
        std::env::var("DATABASE_URL")?.parse()?,
    ))
    .await?;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    println!(
        "== magic button: Provision → Instantly CSV downloaded → all active (logins proven by the mail store), p50 of {runs}"
    );
    for (label, domains, per_domain, target) in [
        ("50 inboxes (1 domain x 50)", 1usize, 50usize, "< 1 s"),
        ("1,000 inboxes (10 domains x 100)", 10, 100, "< 5 s"),
    ] {
        let (mut prov, mut exp, mut tot, mut act) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            let who = format!("{tag}-{domains}-{run}");
            let (c, ids) = customer(&base, &pool, &who, domains).await?;
            let (p, e, t, a) =
                magic_button(&base, &pool, &c, &ids, per_domain, &format!("bench-{who}")).await?;
            println!(
                "run {}: {label}: provision {p:.1} ms + export {e:.1} ms = {t:.1} ms; all active at {a:.0} ms",
                run + 1
            );
            prov.push(p);
            exp.push(e);
            tot.push(t);
            act.push(a);
        }
        println!(
            "{label:<34} provision {:>8.1} ms  export {:>7.1} ms  total {:>8.1} ms  (target {target})  all active {:>7.0} ms",
            p50(&mut prov),
            p50(&mut exp),
            p50(&mut tot),
            p50(&mut act)
        );
    }
    Ok(())
}
