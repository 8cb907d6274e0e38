//! `make bench` part 6, data at scale: fills the bench database with 20,000 workspaces,
//! 100,000 domains, 1,000,000 inboxes, 10,000,000 delivery-count rows and 1,000,000 audit
//! entries (once; a re-run finds them there), then measures, signed in as the large workspace
//! (the page bench's customer, grown to 200 domains and 10,000 inboxes) and as staff: the
//! dashboard, the domain list, the inbox list (first and a deep page), the export of its
//! 10,000 inboxes, the staff tenant search and the audit page. Prints p50/p95/p99 per page.
//!
//! The rows are copies of the page bench customer's own (every column, so they look like the
//! app's), with new ids, names and addresses; the large workspace's inbox passwords are
//! sealed again under their new ids, so its export decrypts them as for real ones.
//!
//! Env: BENCH_URL, DATABASE_URL, BENCH_COOKIE, BENCH_DOMAIN (from page_bench_setup);
//! SCALE_TENANTS / SCALE_DOMAINS / SCALE_INBOXES / SCALE_DELIVERY / SCALE_AUDIT shrink it for
//! a quick look; SCALE_SECS is each page's load time, SCALE_CONNS the concurrencies (default "1,2": one user, and one per core).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use inboxgrove::domain::{EmailAddress, Password};
use inboxgrove::server::config::Settings;
use inboxgrove::server::state::AppState;
use sqlx::PgPool;
use uuid::Uuid;

mod common;
use common::env;

const STAFF_EMAIL: &str = "scale-staff@bench.test";
const STAFF_PASSWORD: &str = "scale-staff-2026";
const LARGE_DOMAINS: i64 = 200;
const PER_DOMAIN: i64 = 50;

fn num(name: &str, default: i64) -> i64 {
    env(name, &default.to_string()).parse().unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let base = env("BENCH_URL", "http://127.0.0.1:3200");
    let cookie = std::env::var("BENCH_COOKIE").context("BENCH_COOKIE")?;
    let domain: Uuid = std::env::var("BENCH_DOMAIN")
        .context("BENCH_DOMAIN")?
        .parse()?;
    let pool = PgPool::connect_with(inboxgrove::server::db::system_path(
        std::env::var("DATABASE_URL")?.parse()?,
    ))
    .await?;
    // The server's own settings (the same key seals inbox passwords).
    let state = AppState::new(Settings::load()?, pool.clone())?;
    let (tenant,): (Uuid,) = sqlx::query_as("SELECT tenant_id FROM domains WHERE id = $1")
        .bind(domain)
        .fetch_one(&pool)
        .await?;

    let sizes = [
        num("SCALE_TENANTS", 20_000),
        num("SCALE_DOMAINS", 100_000),
        num("SCALE_INBOXES", 1_000_000),
        num("SCALE_DELIVERY", 10_000_000),
        num("SCALE_AUDIT", 1_000_000),
    ];
    let started = Instant::now();
    generate(&pool, tenant, domain, sizes).await?;
    reseal(&state, tenant).await?;
    let staff_cookie = staff(&state, &base).await?;
    let counts: (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM domains),
                (SELECT count(*) FROM inboxes), (SELECT count(*) FROM delivery_counts),
                (SELECT count(*) FROM audit_log)",
    )
    .fetch_one(&pool)
    .await?;
    println!(
        "== data at scale: {} workspaces, {} domains, {} inboxes, {} delivery rows, {} audit entries (ready in {:.0} s)",
        counts.0,
        counts.1,
        counts.2,
        counts.3,
        counts.4,
        started.elapsed().as_secs_f64()
    );

    let secs = num("SCALE_SECS", 5) as u64;
    for conns in env("SCALE_CONNS", "1,2")
        .split(',')
        .filter_map(|c| c.trim().parse::<usize>().ok())
    {
        measure(&base, &cookie, &staff_cookie, conns, secs).await?;
    }
    Ok(())
}

/// The page table at `conns` concurrent clients, and the export.
async fn measure(
    base: &str,
    cookie: &str,
    staff_cookie: &str,
    conns: usize,
    secs: u64,
) -> anyhow::Result<()> {
    let search = "Scale Co 1234";
    println!(
        "   {conns} connections, {secs} s per page; target p95 < 50 ms, export of 10,000 < 2 s"
    );
    println!(
        "{:<40} {:>7} {:>8} {:>8} {:>8} {:>7}",
        "page", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"
    );
    let customer = format!("ig_session={}", cookie.trim_start_matches("ig_session="));
    let pages: [(&str, String, &str); 6] = [
        (
            "/dashboard (large workspace)",
            "/dashboard".into(),
            &customer,
        ),
        ("/domains (200 domains)", "/domains".into(), &customer),
        ("/inboxes (first page)", "/inboxes".into(), &customer),
        (
            "/inboxes?page=150 (deep)",
            "/inboxes?page=150".into(),
            &customer,
        ),
        (
            "/admin?q= (staff tenant search)",
            format!("/admin?q={}", search.replace(' ', "+")),
            staff_cookie,
        ),
        ("/admin/audit (staff)", "/admin/audit".into(), staff_cookie),
    ];
    for (label, path, cookie) in pages {
        let r = load(
            &format!("{base}{path}"),
            cookie,
            conns,
            Duration::from_secs(secs),
        )
        .await?;
        println!(
            "{:<40} {:>7.0} {:>8.1} {:>8.1} {:>8.1} {:>7}",
            label, r.rps, r.p50, r.p95, r.p99, r.errors
        );
    }
    let mut times = Vec::new();
    let mut rows = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let res = reqwest::Client::new()
            .get(format!("{base}/inboxes/export?format=generic"))
            .header("cookie", &customer)
            .send()
            .await?;
        anyhow::ensure!(res.status().is_success(), "export: {}", res.status());
        let body = res.bytes().await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        rows = body
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            .saturating_sub(1);
    }
    let p50 = common::p50(&mut times);
    println!(
        "{:<40} {:>7} {:>8.0} {:>8} {:>8.0} {:>7}",
        format!("export ({rows} rows, p50/max of 5)"),
        "-",
        p50,
        "-",
        times.last().copied().unwrap_or_default(),
        0
    );
    Ok(())
}

/// Copies rows (every column) of `table` from `src` rows in `from` that pass `filter`, with
/// `overrides` (a jsonb object built per row), in one INSERT … SELECT. The record is built
/// once per row in a LATERAL (`(f(x)).*` would call `f` once per column).
fn copy_rows(table: &str, from: &str, filter: &str, overrides: &str) -> String {
    format!(
        "INSERT INTO {table} SELECT r.* FROM {from}
           CROSS JOIN LATERAL jsonb_populate_record(NULL::{table}, to_jsonb(src) || {overrides}) r
          WHERE {filter}"
    )
}

async fn generate(pool: &PgPool, large: Uuid, domain: Uuid, sizes: [i64; 5]) -> anyhow::Result<()> {
    let [tenants, domains, inboxes, delivery, audit] = sizes;
    let have: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
        .fetch_one(pool)
        .await?;
    if have >= tenants {
        return Ok(());
    }
    let step = |what: &str, t: Instant| {
        eprintln!("   generated {what} in {:.1} s", t.elapsed().as_secs_f64())
    };
    let (owner,): (Uuid,) =
        sqlx::query_as("SELECT user_id FROM memberships WHERE tenant_id = $1 LIMIT 1")
            .bind(large)
            .fetch_one(pool)
            .await?;
    let others = tenants - 1;
    let other_domains = domains - LARGE_DOMAINS;
    let other_inboxes = inboxes - LARGE_DOMAINS * PER_DOMAIN;
    // Spread evenly: the first `extra` domains get one more, so the total is exact.
    let per_other = other_inboxes / other_domains.max(1);
    let extra = other_inboxes - per_other * other_domains.max(1);
    let mut tx = pool.begin().await?;
    let t = Instant::now();
    sqlx::query(
        "CREATE TEMP TABLE gen_tenants ON COMMIT DROP AS
         SELECT g, gen_random_uuid() AS id, gen_random_uuid() AS user_id
           FROM generate_series(1, $1::bigint) g",
    )
    .bind(others)
    .execute(&mut *tx)
    .await?;
    sqlx::query("ANALYZE gen_tenants").execute(&mut *tx).await?;
    sqlx::query(&copy_rows(
        "tenants",
        "tenants src CROSS JOIN gen_tenants gt",
        "src.id = $1",
        "jsonb_build_object('id', gt.id, 'name', 'Scale Co ' || gt.g, 'created_at', now() - gt.g * interval '1 minute')",
    ))
    .bind(large)
    .execute(&mut *tx)
    .await?;
    sqlx::query(&copy_rows(
        "users",
        "users src CROSS JOIN gen_tenants gt",
        "src.id = $1",
        "jsonb_build_object('id', gt.user_id, 'email', 'owner' || gt.g || '@scale-' || gt.g || '.test')",
    ))
    .bind(owner)
    .execute(&mut *tx)
    .await?;
    sqlx::query(&copy_rows(
        "memberships",
        "memberships src CROSS JOIN gen_tenants gt",
        "src.tenant_id = $1 AND src.user_id = $2",
        "jsonb_build_object('tenant_id', gt.id, 'user_id', gt.user_id)",
    ))
    .bind(large)
    .bind(owner)
    .execute(&mut *tx)
    .await?;
    step("workspaces and owners", t);

    // Domains: the large workspace's 199 more, then the rest spread over the others.
    let t = Instant::now();
    sqlx::query(
        "CREATE TEMP TABLE gen_domains ON COMMIT DROP AS
         SELECT g, gen_random_uuid() AS id, $1::uuid AS tenant_id, 'scale-large-' || g || '.com' AS name
           FROM generate_series(1, $2::bigint - 1) g
         UNION ALL
         SELECT s.n, gen_random_uuid(), gt.id, 'scale-' || s.n || '.com'
           FROM generate_series(1, $3::bigint) AS s(n)
           JOIN gen_tenants gt ON gt.g = 1 + (s.n % $4::bigint)",
    )
    .bind(large)
    .bind(LARGE_DOMAINS)
    .bind(other_domains)
    .bind(others.max(1))
    .execute(&mut *tx)
    .await?;
    sqlx::query(&copy_rows(
        "domains",
        "domains src CROSS JOIN gen_domains gd",
        "src.id = $1",
        // No DKIM key: the source's is sealed to its own domain id, so a copy's would not open,
        // and every publish of its workspace would fail and retry beside the measurement.
        "jsonb_build_object('id', gd.id, 'tenant_id', gd.tenant_id, 'name', gd.name, 'purchase_id', NULL, 'registrar_id', NULL, 'dkim_private_key', NULL)",
    ))
    .bind(domain)
    .execute(&mut *tx)
    .await?;
    step("domains", t);

    // Inboxes: 50 per large-workspace domain, `per_other` per other domain, copied from the
    // bench customer's own inboxes.
    let t = Instant::now();
    sqlx::query(
        "CREATE TEMP TABLE gen_template ON COMMIT DROP AS
         SELECT row_number() OVER (ORDER BY created_at, id) AS n, i.*
           FROM inboxes i WHERE i.domain_id = $1",
    )
    .bind(domain)
    .execute(&mut *tx)
    .await?;
    let template: i64 = sqlx::query_scalar("SELECT count(*) FROM gen_template")
        .fetch_one(&mut *tx)
        .await?;
    anyhow::ensure!(template > 0, "the bench domain has no inboxes to copy");
    sqlx::query(&copy_rows(
        "inboxes",
        "(SELECT tp.*, gd.id AS gd_id, gd.tenant_id AS gd_tenant, gd.name AS gd_name, k
            FROM gen_domains gd
            CROSS JOIN generate_series(1, CASE WHEN gd.tenant_id = $1 THEN $2::bigint
                                               ELSE $3::bigint + (gd.g <= $5::bigint)::int END) k
            JOIN gen_template tp ON tp.n = 1 + ((k - 1) % $4::bigint)) src",
        "true",
        "jsonb_build_object('id', gen_random_uuid(), 'tenant_id', src.gd_tenant, 'domain_id', src.gd_id,
            'local_part', src.local_part || k, 'address', src.local_part || k || '@' || src.gd_name,
            'batch_id', NULL)",
    ))
    .bind(large)
    .bind(PER_DOMAIN)
    .bind(per_other)
    .bind(template)
    .bind(extra)
    .execute(&mut *tx)
    .await?;
    step("inboxes", t);

    // Delivery counts: hourly rows per inbox, kinds spread, up to `delivery` rows.
    let t = Instant::now();
    let total_inboxes: i64 = sqlx::query_scalar("SELECT count(*) FROM inboxes")
        .fetch_one(&mut *tx)
        .await?;
    let hours = (delivery / total_inboxes.max(1)).max(1);
    sqlx::query(
        "INSERT INTO delivery_counts (tenant_id, domain_id, inbox_id, hour, kind, count)
         SELECT i.tenant_id, i.domain_id, i.id, date_trunc('hour', now()) - h * interval '1 hour',
                (ARRAY['Delivery','Delivery','Delivery','Bounce','TransientFailure'])[1 + h % 5], 1 + h % 7
           FROM inboxes i CROSS JOIN generate_series(1, $1::bigint) h
         ON CONFLICT DO NOTHING",
    )
    .bind(hours)
    .execute(&mut *tx)
    .await?;
    step("delivery counts", t);

    let t = Instant::now();
    sqlx::query(
        "INSERT INTO audit_log (at, actor_kind, actor_id, actor_label, tenant_id, action, target)
         SELECT now() - s.n * interval '7 seconds', 'user', gt.user_id, 'owner' || gt.g || '@scale.test',
                gt.id, (ARRAY['inbox.created','domain.bought','login','api_key.created'])[1 + s.n % 4],
                'scale-' || s.n
           FROM generate_series(1, $1::bigint) AS s(n)
           JOIN gen_tenants gt ON gt.g = 1 + (s.n % $2::bigint)",
    )
    .bind(audit)
    .bind(others.max(1))
    .execute(&mut *tx)
    .await?;
    step("audit entries", t);
    tx.commit().await?;
    let t = Instant::now();
    sqlx::raw_sql("VACUUM ANALYZE").execute(pool).await?;
    step("vacuum analyze", t);
    Ok(())
}

/// Seals the large workspace's inbox passwords under their own ids (as provisioning does), so
/// its export opens each one.
async fn reseal(state: &AppState, tenant: Uuid) -> anyhow::Result<()> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM inboxes WHERE tenant_id = $1 AND password_sealed IS NOT NULL",
    )
    .bind(tenant)
    .fetch_all(&state.pool)
    .await?;
    let sealed: Vec<Vec<u8>> = ids
        .iter()
        .map(|id| {
            let password = inboxgrove::server::crypto::url_token();
            state.secrets.encrypt(password.as_bytes(), id.as_bytes())
        })
        .collect();
    sqlx::query(
        "UPDATE inboxes i SET password_sealed = s.sealed
           FROM unnest($1::uuid[], $2::bytea[]) AS s(id, sealed) WHERE i.id = s.id",
    )
    .bind(&ids)
    .bind(&sealed)
    .execute(&state.pool)
    .await?;
    Ok(())
}

/// A staff user (made once) signed in; its cookie.
async fn staff(state: &AppState, base: &str) -> anyhow::Result<String> {
    let email = EmailAddress::parse(STAFF_EMAIL).map_err(anyhow::Error::msg)?;
    let hash = state
        .passwords
        .hash(&Password::parse(STAFF_PASSWORD).map_err(anyhow::Error::msg)?)
        .await?;
    inboxgrove::server::db::accounts::create_staff_user(&state.pool, &email, &hash).await?;
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .post(format!("{base}/api/auth/login"))
        .form(&[("email", STAFF_EMAIL), ("password", STAFF_PASSWORD)])
        .send()
        .await?;
    let cookie = common::session_cookie(&res).context("staff login set no cookie")?;
    Ok(format!("ig_session={cookie}"))
}

struct Figures {
    rps: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    errors: usize,
}

/// `conns` clients GET `url` back to back for `secs`; latency percentiles in ms.
async fn load(url: &str, cookie: &str, conns: usize, secs: Duration) -> anyhow::Result<Figures> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    // Warm (connections, caches), not counted.
    for _ in 0..conns {
        client
            .get(url)
            .header("cookie", cookie)
            .send()
            .await?
            .bytes()
            .await?;
    }
    let end = Instant::now() + secs;
    let url: Arc<str> = url.into();
    let cookie: Arc<str> = cookie.into();
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let (client, url, cookie) = (client.clone(), url.clone(), cookie.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                let mut errors = 0;
                while Instant::now() < end {
                    let t = Instant::now();
                    match client.get(&*url).header("cookie", &*cookie).send().await {
                        Ok(res) if res.status().is_success() => {
                            if res.bytes().await.is_err() {
                                errors += 1;
                            }
                            times.push(t.elapsed().as_secs_f64() * 1000.0);
                        }
                        _ => errors += 1,
                    }
                }
                (times, errors)
            })
        })
        .collect();
    let mut times = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (t, e) = task.await?;
        times.extend(t);
        errors += e;
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| common::percentile(&times, q);
    Ok(Figures {
        rps: times.len() as f64 / secs.as_secs_f64(),
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        errors,
    })
}
