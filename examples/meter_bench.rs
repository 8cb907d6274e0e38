//! What metering an API call costs: `ApiMeter::count` (in memory once a workspace's month is
//! read) over 1,000 workspaces, 1,000,000 calls on each of 2 threads at once, then one flush of
//! every workspace's count to Postgres (one statement). Prints numbers; asserts nothing.
//!
//! Env: DATABASE_URL (any database with the migrations; the bench's own is used).

use std::sync::Arc;
use std::time::Instant;

use inboxgrove::domain::TenantId;
use inboxgrove::server::meter::ApiMeter;
use uuid::Uuid;

const TENANTS: usize = 1_000;
const CALLS: usize = 1_000_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let pool = sqlx::PgPool::connect_with(inboxgrove::server::db::system_path(
        std::env::var("DATABASE_URL")?.parse()?,
    ))
    .await?;
    let settings = Arc::new(inboxgrove::server::config::Settings::load_from(
        "Leptos.toml",
        [(
            "INBOXGROVE_API__TRIAL_CALLS_PER_MONTH".to_string(),
            i64::MAX.to_string(),
        )],
    )?);
    // Workspaces of its own (the flush keeps counts of existing ones only), removed at the end.
    let tenants: Vec<Uuid> = (0..TENANTS).map(|_| Uuid::new_v4()).collect();
    sqlx::query(
        "INSERT INTO tenants (id, name, trial_ends_at)
         SELECT id, 'Meter Bench ' || left(id::text, 8), now() + interval '7 days'
           FROM unnest($1::uuid[]) AS id",
    )
    .bind(&tenants)
    .execute(&pool)
    .await?;
    let tenants = Arc::new(tenants);
    let meter = Arc::new(ApiMeter::new());
    // Each workspace's month read once (the first call of a workspace, not counted below).
    let started = Instant::now();
    for t in tenants.iter() {
        meter.count(&pool, &settings, TenantId(*t)).await?;
    }
    let first = started.elapsed();
    let started = Instant::now();
    let mut handles = Vec::new();
    for thread in 0..2 {
        let (meter, tenants, pool, settings) = (
            meter.clone(),
            tenants.clone(),
            pool.clone(),
            settings.clone(),
        );
        handles.push(tokio::spawn(async move {
            let mut admitted = 0usize;
            for i in 0..CALLS {
                let t = tenants[(i * 7 + thread) % tenants.len()];
                if meter.count(&pool, &settings, TenantId(t)).await?.admitted {
                    admitted += 1;
                }
            }
            anyhow::Ok(admitted)
        }));
    }
    let mut admitted = 0;
    for h in handles {
        admitted += h.await??;
    }
    let elapsed = started.elapsed();
    let started = Instant::now();
    let written = meter.flush(&pool).await?;
    let flush = started.elapsed();
    sqlx::query("DELETE FROM tenants WHERE id = ANY($1)")
        .bind(tenants.as_slice())
        .execute(&pool)
        .await?;
    println!(
        "== API metering: ApiMeter::count, {} workspaces, 2 threads × {CALLS} calls",
        tenants.len()
    );
    println!(
        "first call of each workspace (reads its month): {:.2} ms each",
        first.as_secs_f64() * 1000.0 / tenants.len() as f64
    );
    println!(
        "{admitted} counted in {:.0} ms: {:.0} ns per call per thread, {:.1} M calls/s, 0 database writes",
        elapsed.as_secs_f64() * 1000.0,
        elapsed.as_nanos() as f64 / CALLS as f64,
        (2 * CALLS) as f64 / elapsed.as_secs_f64() / 1e6
    );
    println!(
        "one flush: {written} calls of {} workspaces in one statement, {:.1} ms",
        tenants.len(),
        flush.as_secs_f64() * 1000.0
    );
    Ok(())
}
