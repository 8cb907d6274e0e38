//! `make bench` part 2: 1,000 signed Stripe events (Stripe's own example objects, ~4 KB
//! each) posted to a running server's `/webhooks/stripe` at concurrency 20. Prints events/s
//! and the latency percentiles of verify + store + apply. Numbers, not assertions.
//!
//! Env: BENCH_URL (http://host:port), DATABASE_URL (the server's database),
//! STRIPE_WEBHOOK_SECRET (the server's), BENCH_EVENTS (1000), BENCH_CONCURRENCY (20).

use inboxgrove::server::providers::payments::signature;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod common;
use common::env;

fn merge(mut base: Value, patch: Value) -> Value {
    if let (Some(b), Value::Object(p)) = (base.as_object_mut(), patch) {
        b.extend(p);
    }
    base
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = format!(
        "{}/webhooks/stripe",
        env("BENCH_URL", "http://127.0.0.1:3200")
    );
    let secret = env("STRIPE_WEBHOOK_SECRET", "whsec_bench");
    let total: usize = env("BENCH_EVENTS", "1000").parse()?;
    let concurrency: usize = env("BENCH_CONCURRENCY", "20").parse()?;
    // The bench reads and seeds across tenants: the explicit system path (row-level security).
    let pool = sqlx::PgPool::connect_with(inboxgrove::server::db::system_path(
        std::env::var("DATABASE_URL")?.parse()?,
    ))
    .await?;
    let templates: Value = serde_json::from_str(include_str!(
        "../src/server/providers/payments/stripe_templates.json"
    ))?;

    // 50 tenants, each a Stripe customer.
    let tenants = 50;
    for n in 0..tenants {
        let id = uuid::Uuid::new_v4();
        sqlx::query("INSERT INTO tenants (id, name, trial_ends_at) VALUES ($1, $2, now())")
            .bind(id)
            .bind(format!("Bench tenant {n}"))
            .execute(&pool)
            .await?;
        sqlx::query("INSERT INTO billing_customers (tenant_id, customer_id) VALUES ($1, $2)")
            .bind(id)
            .bind(format!("cus_bench_{n}"))
            .execute(&pool)
            .await?;
    }

    // A realistic mix: subscription updates, paid and failed invoices, one-time payments.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let t0 = chrono::Utc::now().timestamp() - 86_400;
    let events: Vec<Vec<u8>> = (0..total)
        .map(|i| {
            let customer = format!("cus_bench_{}", i % tenants);
            let created = t0 + i as i64;
            let (kind, object) = match i % 4 {
                0 | 1 => {
                    let mut s = templates["subscription"].clone();
                    s["items"]["data"][0]["price"]["id"] = json!("price_growth_monthly");
                    s["items"]["data"][0]["current_period_end"] = json!(created + 30 * 86_400);
                    let s = merge(s, json!({"id": format!("sub_bench_{}", i % tenants), "customer": customer,
                        "status": if i % 8 == 1 { "past_due" } else { "active" }, "cancel_at_period_end": false,
                        "canceled_at": null, "ended_at": null}));
                    ("customer.subscription.updated", s)
                }
                2 => {
                    let inv = merge(templates["invoice"].clone(), json!({"id": format!("in_bench_{run}_{i}"),
                        "customer": customer, "status": "paid", "amount_paid": 14900, "amount_due": 14900,
                        "parent": {"type": "subscription_details", "subscription_details": {"subscription": format!("sub_bench_{}", i % tenants)}}}));
                    ("invoice.paid", inv)
                }
                _ => {
                    let pi = merge(templates["payment_intent"].clone(), json!({"id": format!("pi_bench_{run}_{i}"),
                        "customer": customer, "status": "succeeded", "amount": 1299, "amount_received": 1299,
                        "metadata": {"purchase_id": uuid::Uuid::new_v4().to_string()}}));
                    ("payment_intent.succeeded", pi)
                }
            };
            serde_json::to_vec(&json!({
                "id": format!("evt_bench_{run}_{i}"), "object": "event", "api_version": "2026-09-30.endive",
                "created": created, "data": {"object": object}, "livemode": false, "pending_webhooks": 1,
                "request": {"id": null, "idempotency_key": null}, "type": kind,
            }))
            .expect("json")
        })
        .collect();
    let bytes: usize = events.iter().map(Vec::len).sum();

    let client = reqwest::Client::new();
    let events = Arc::new(events);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, events, next, url, secret) = (
            client.clone(),
            events.clone(),
            next.clone(),
            url.clone(),
            secret.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = events.get(i) else { break };
                let header = signature::sign(&secret, chrono::Utc::now().timestamp(), body);
                let sent = Instant::now();
                let res = client
                    .post(&url)
                    .header("stripe-signature", header)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                latencies.push(sent.elapsed());
                if !matches!(res, Ok(r) if r.status().is_success()) {
                    failures += 1;
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await?;
        latencies.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1]
    };
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM stripe_events WHERE id LIKE $1")
        .bind(format!("evt_bench_{run}_%"))
        .fetch_one(&pool)
        .await?;
    println!(
        "== Stripe webhooks: {total} signed events ({} KiB), concurrency {concurrency}",
        bytes / 1024
    );
    println!("events/s: {:.0}", total as f64 / elapsed.as_secs_f64());
    println!(
        "apply latency: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.90).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        pct(1.0).as_secs_f64() * 1e3
    );
    println!("non-2xx: {failures}; events stored: {stored}");
    Ok(())
}
