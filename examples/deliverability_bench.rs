//! `make bench` part 5, deliverability at scale. A data generator, then the pages timed:
//!  1. one customer signs up and buys a domain through the sandbox (real path); the generator
//!     copies that domain 99 times and adds 10,000 active inboxes (100 a domain) in SQL;
//!  2. 1,000,000 KumoMTA log records (deliveries, hard and soft bounces, complaints about
//!     delivered messages) spread over 90 days go through the real log hook,
//!     `POST /webhooks/kumomta`, in batches of 2,000 (under the hook's 1 MiB body limit): records/s is printed;
//!  3. the scores are computed (the job the hook queued) and the pages are loaded: the
//!     workspace, a domain and an inbox at 90 days, and the dashboard; p50, p95 and max of
//!     sequential requests (each one request at a time, as a person opening the page).
//!
//! Env: BENCH_URL, DATABASE_URL (the server's database), KUMOMTA_WEBHOOK_SECRET (the
//! server's), DLV_RECORDS (1000000), DLV_INBOXES (10000), DLV_SAMPLES (50).

use std::time::Instant;

use anyhow::Context;
use chrono::{Duration, Utc};
use serde_json::json;
use uuid::Uuid;

mod common;
use common::{checkout, env, pay, wait_active};

fn pct(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let i = ((values.len() as f64 - 1.0) * p).round() as usize;
    values.get(i).copied().unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let base = env("BENCH_URL", "http://127.0.0.1:3200");
    let records: usize = env("DLV_RECORDS", "1000000").parse()?;
    let inbox_count: usize = env("DLV_INBOXES", "10000").parse()?;
    let samples: usize = env("DLV_SAMPLES", "50").parse()?;
    let secret = std::env::var("KUMOMTA_WEBHOOK_SECRET").context("KUMOMTA_WEBHOOK_SECRET")?;
    let pool = sqlx::PgPool::connect_with(inboxgrove::server::db::system_path(
        std::env::var("DATABASE_URL")?.parse()?,
    ))
    .await?;
    let tag = Uuid::new_v4().simple().to_string()[..8].to_string();

    // 1. The customer and the generated domains and inboxes.
    let client = common::signup(
        &base,
        "Deliverability Bench Co",
        &format!("dlv-{tag}@bench.test"),
    )
    .await?;
    let name = format!("dlv-{tag}.com");
    let url = checkout(&base, &client, &name).await?;
    pay(&base, &client, &url).await?;
    let first = wait_active(&pool, &name).await?;
    let started = Instant::now();
    let domains = (inbox_count / 100).max(1);
    sqlx::query(
        "INSERT INTO domains
         SELECT (jsonb_populate_record(d, jsonb_build_object(
                    'id', gen_random_uuid(), 'name', 'gen' || g || '-' || d.name,
                    'purchase_id', NULL, 'registrar_id', NULL, 'zone_id', NULL))).*
           FROM domains d, generate_series(1, $2::int - 1) g WHERE d.id = $1",
    )
    .bind(first)
    .bind(domains as i32)
    .execute(&pool)
    .await
    .context("copying the domain")?;
    sqlx::query(
        "INSERT INTO inboxes (id, tenant_id, domain_id, local_part, status, address, first_name,
             last_name, display_name, password_salt, password_sha256, daily_cap, warmup_started_at,
             published_at)
         SELECT gen_random_uuid(), d.tenant_id, d.id, 'sender' || g, 'active',
                'sender' || g || '@' || d.name, 'Sam', 'Sender', 'Sam Sender',
                md5(g::text), md5(d.name || g), 30, now() - interval '60 days', now()
           FROM domains d, generate_series(1, 100) g
          WHERE d.tenant_id = (SELECT tenant_id FROM domains WHERE id = $1)",
    )
    .bind(first)
    .execute(&pool)
    .await
    .context("adding the inboxes")?;
    let inboxes: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
        "SELECT i.id, i.domain_id, i.address FROM inboxes i
          WHERE i.tenant_id = (SELECT tenant_id FROM domains WHERE id = $1) ORDER BY i.address",
    )
    .bind(first)
    .fetch_all(&pool)
    .await?;
    println!(
        "== deliverability at scale: {} domains, {} inboxes in one workspace (generated in {:.1} s)",
        domains,
        inboxes.len(),
        started.elapsed().as_secs_f64()
    );

    // 2. A million log records through the hook.
    let hook = reqwest::Client::new();
    let now = Utc::now();
    let started = Instant::now();
    let batch = 2000;
    let mut sent = 0usize;
    let mut delivered_ids: Vec<(String, String)> = Vec::new();
    while sent < records {
        let mut body = Vec::with_capacity(batch);
        for k in sent..(sent + batch).min(records) {
            let (inbox, _, address) = &inboxes[k % inboxes.len()];
            // Spread each inbox's records over the 90 days and the kinds (a hash of k, so no
            // inbox gets one day or one kind only).
            let h = (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
            let at = now - Duration::seconds((h % (90 * 86_400)) as i64);
            let id = format!("bench-{tag}-{k}");
            let rcpt = format!("lead{k}@prospect.example");
            let kind = match (h >> 24) % 100 {
                0..=1 => "Bounce",
                2..=4 => "TransientFailure",
                _ => "Delivery",
            };
            if k % 1000 == 999 && !delivered_ids.is_empty() {
                let (m, r) = delivered_ids.pop().unwrap_or_default();
                body.push(json!({
                    "type": "Feedback", "id": format!("fbl-{tag}-{k}"), "sender": "fbl@isp.example",
                    "timestamp": at.timestamp(), "meta": {},
                    "feedback_report": { "original_mail_from": address,
                        "supplemental_trace": { "x_ig_msg": m, "recipient": r } },
                }));
                continue;
            }
            if kind == "Delivery" && k % 997 == 0 {
                delivered_ids.push((id.clone(), rcpt.clone()));
            }
            body.push(json!({
                "type": kind, "id": id, "sender": address, "recipient": rcpt,
                "timestamp": at.timestamp(), "num_attempts": i32::from(kind == "TransientFailure"),
                "meta": { "x_inbox_id": inbox.to_string() },
            }));
        }
        let res = hook
            .post(format!("{base}/webhooks/kumomta"))
            .bearer_auth(&secret)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(res.status().is_success(), "hook: {}", res.status());
        sent += batch;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "ingest: {records} records through POST /webhooks/kumomta in {secs:.1} s ({:.0} records/s)",
        records as f64 / secs
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM delivery_daily")
        .fetch_one(&pool)
        .await?;
    println!("daily rollup rows: {rows}");

    // 3. The scores, then the pages.
    let started = Instant::now();
    loop {
        let pending: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE kind = 'deliverability_score' AND status IN ('pending', 'running')",
        )
        .fetch_one(&pool)
        .await?;
        if pending == 0 {
            break;
        }
        anyhow::ensure!(
            started.elapsed().as_secs() < 300,
            "scores not done in 5 min"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let scored: i64 = sqlx::query_scalar("SELECT count(*) FROM health_scores")
        .fetch_one(&pool)
        .await?;
    println!(
        "scores: {scored} computed (the last job done {:.1} s after the ingest)",
        started.elapsed().as_secs_f64()
    );
    let (inbox, domain, _) = &inboxes[inboxes.len() / 2];
    let pages = [
        ("/deliverability?days=90".to_string(), "workspace, 90 days"),
        (
            format!("/deliverability/domains/{domain}?days=90"),
            "one domain, 90 days",
        ),
        (
            format!("/deliverability/inboxes/{inbox}?days=90"),
            "one inbox, 90 days",
        ),
        (
            "/dashboard".to_string(),
            "dashboard (sent this month, worst 3)",
        ),
    ];
    println!(
        "{:<40} {:>8} {:>8} {:>8}",
        "page (sequential GETs)", "p50 ms", "p95 ms", "max ms"
    );
    for (path, label) in pages {
        let mut times = Vec::with_capacity(samples);
        for i in 0..samples + 3 {
            let t = Instant::now();
            let res = client.get(format!("{base}{path}")).send().await?;
            anyhow::ensure!(res.status().is_success(), "{path}: {}", res.status());
            res.bytes().await?;
            if i >= 3 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        let max = times.iter().copied().fold(0.0, f64::max);
        println!(
            "{label:<40} {:>8.1} {:>8.1} {:>8.1}",
            pct(&mut times, 0.5),
            pct(&mut times, 0.95),
            max
        );
    }
    println!("target: every page under 100 ms");
    Ok(())
}
