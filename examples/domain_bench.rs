//! `make bench` part 3: payment → domain `active` with the sandbox providers, against a
//! running server. Five customers each buy a domain (one-time Checkout, paid with the test card
//! that pays); the clock starts when the card is submitted (the sandbox then delivers the
//! signed payment webhook, which enqueues the saga) and stops when the domain is `active`.
//! Prints each saga step's time and the total, p50 of the runs. Numbers, not assertions.
//!
//! Env: BENCH_URL (http://host:port), DATABASE_URL (the server's database), BENCH_RUNS (5).

use std::collections::BTreeMap;
use std::time::Instant;

mod common;
use common::{checkout, env, p50, pay, signup, wait_active};

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
    let steps = inboxgrove::domain::domains::SAGA_STEPS;
    let mut per_step: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut totals = Vec::new();
    let mut webhook = Vec::new();

    for run in 0..runs {
        // A new customer per run: the trial allows two domains each.
        let client = signup(
            &base,
            &format!("Domain Bench {run}"),
            &format!("domains-{tag}-{run}@bench.test"),
        )
        .await?;
        let name = format!("bench-{tag}-{run}.com");
        let path = checkout(&base, &client, &name).await?;

        let started = Instant::now();
        pay(&base, &client, &path).await?;
        let paid_at = started.elapsed();
        wait_active(&pool, &name).await?;
        let total = started.elapsed();
        // The saga marks the domain active after recording its last step.
        let rows: Vec<(String, f64)> = sqlx::query_as(
            "SELECT s.step, EXTRACT(EPOCH FROM s.finished_at - s.started_at)::float8 * 1000
               FROM domain_saga_steps s JOIN domains d ON d.id = s.domain_id WHERE d.name = $1",
        )
        .bind(&name)
        .fetch_all(&pool)
        .await?;
        for (step, ms) in rows {
            if let Some((s, _)) = steps.iter().find(|(s, _)| *s == step) {
                per_step.entry(s).or_default().push(ms);
            }
        }
        webhook.push(paid_at.as_secs_f64() * 1000.0);
        totals.push(total.as_secs_f64() * 1000.0);
        println!(
            "run {}: {name} active in {:.0} ms",
            run + 1,
            total.as_secs_f64() * 1000.0
        );
    }

    println!("== payment webhook → domain active, sandbox providers, p50 of {runs}");
    println!(
        "{:<34} {:>9}",
        "card submitted → webhook applied",
        format!("{:.1} ms", p50(&mut webhook))
    );
    for (step, label) in steps {
        if let Some(values) = per_step.get_mut(step) {
            println!("{:<34} {:>9}", label, format!("{:.1} ms", p50(values)));
        }
    }
    let mut sorted = totals.clone();
    println!(
        "{:<34} {:>9}   (min {:.0} ms, max {:.0} ms; target < 10 s)",
        "total: card submitted → active",
        format!("{:.1} ms", p50(&mut totals)),
        sorted.iter().cloned().fold(f64::INFINITY, f64::min),
        {
            sorted.sort_by(f64::total_cmp);
            sorted.last().copied().unwrap_or_default()
        }
    );
    Ok(())
}
