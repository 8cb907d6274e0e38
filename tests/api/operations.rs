//! Operations: `/metrics` (its two doors, its series, bounded labels).

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::{Signup, TestApp, spawn_app, spawn_app_with};

async fn scrape(app: &TestApp) -> String {
    let base = app.metrics.as_ref().expect("tests serve metrics on a port");
    let res = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let kind = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    res.text().await.unwrap()
}

/// The value of the series line that starts with `series` exactly (labels included).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[sqlx::test]
async fn metrics_count_requests_by_route_pattern_and_never_carry_ids_or_emails(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app.signup(&Signup::valid("ops-ann@acme.test")).await;
    assert!(res.status().is_success(), "{}", res.status());
    let id = uuid::Uuid::new_v4();
    for _ in 0..3 {
        app.client
            .get(app.url(&format!("/domains/{id}")))
            .send()
            .await
            .unwrap();
    }
    app.client
        .get(app.url("/no/such/page/ops-ann@acme.test"))
        .send()
        .await
        .unwrap();
    let text = scrape(&app).await;
    let domain_page = text
        .lines()
        .filter(|l| l.starts_with("inboxgrove_http_requests_total{"))
        .filter(|l| l.contains(r#"route="/domains/{id}""#) && l.contains(r#"method="GET""#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>();
    assert_eq!(domain_page, 3.0, "three GETs of one route pattern\n{text}");
    assert!(
        text.contains(r#"route="fallback""#),
        "an unrouted path is counted as fallback\n{text}"
    );
    assert!(!text.contains(&id.to_string()), "no id in a label");
    assert!(!text.contains("ops-ann"), "no email or raw path in a label");
    assert!(
        text.contains("inboxgrove_http_request_duration_seconds_bucket{"),
        "latency histogram"
    );
    assert!(value(&text, "inboxgrove_db_pool_max_connections").unwrap() >= 1.0);
}

#[sqlx::test]
async fn metrics_show_the_queue_per_kind_suspensions_and_webhook_outcomes(pool: PgPool) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_JOBS__WORKERS", "0")]).await;
    let res = app.signup(&Signup::valid("ops-bea@acme.test")).await;
    assert!(res.status().is_success());
    // Work that waits (no workers run here): two due jobs of one kind, the oldest a minute old.
    sqlx::query(
        "INSERT INTO jobs (id, kind, max_attempts, run_at)
         VALUES (gen_random_uuid(), 'ops_probe', 3, now() - interval '60 seconds'),
                (gen_random_uuid(), 'ops_probe', 3, now())",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO suspensions (id, tenant_id, category, reason, actor)
         SELECT gen_random_uuid(), tenant_id, 'abuse', 'test', 'staff:test' FROM memberships",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    // A forged Stripe webhook: refused and counted.
    let res = reqwest::Client::new()
        .post(app.url("/webhooks/stripe"))
        .header("stripe-signature", "t=1,v1=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    let text = scrape(&app).await;
    assert_eq!(
        value(&text, r#"inboxgrove_jobs_due{kind="ops_probe"}"#),
        Some(2.0),
        "{text}"
    );
    let oldest = value(
        &text,
        r#"inboxgrove_jobs_oldest_due_seconds{kind="ops_probe"}"#,
    )
    .unwrap();
    assert!(
        (59.0..600.0).contains(&oldest),
        "oldest due job's age {oldest}"
    );
    assert_eq!(value(&text, "inboxgrove_suspensions_open"), Some(1.0));
    assert_eq!(
        value(
            &text,
            r#"inboxgrove_webhooks_received_total{source="stripe",outcome="bad_signature"}"#
        ),
        Some(1.0),
        "{text}"
    );
}

#[sqlx::test]
async fn the_main_address_serves_metrics_only_to_the_token(pool: PgPool) {
    // No token: /metrics on the main address is not there at all.
    let open = spawn_app(pool.clone()).await;
    let res = reqwest::get(open.url("/metrics")).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let token = "a-long-metrics-token-for-tests";
    let app = spawn_app_with(pool, &[("METRICS_TOKEN", token)]).await;
    let client = reqwest::Client::new();
    for wrong in [
        "",
        "Bearer nope",
        "Bearer a-long-metrics-token-for-test",
        token,
    ] {
        let res = client
            .get(app.url("/metrics"))
            .header("authorization", wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{wrong:?}");
    }
    let res = client
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("inboxgrove_http_requests_total")
    );
}

#[test]
fn a_short_metrics_token_or_a_bad_listen_address_is_refused_at_start() {
    let path = format!("{}/Leptos.toml", env!("CARGO_MANIFEST_DIR"));
    let load = |vars: &[(&str, &str)]| {
        inboxgrove::server::config::Settings::load_from(
            &path,
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>(),
        )
    };
    let short = load(&[("METRICS_TOKEN", "short")]).unwrap_err();
    assert!(format!("{short:#}").contains("METRICS_TOKEN"), "{short:#}");
    let bad = load(&[("INBOXGROVE_METRICS__LISTEN", "not-an-address")]).unwrap_err();
    assert!(
        format!("{bad:#}").contains("INBOXGROVE_METRICS__LISTEN"),
        "{bad:#}"
    );
    // Trace export: off unless asked, and only to an http(s) URL.
    assert_eq!(load(&[]).unwrap().log.otlp_endpoint, "");
    for url in ["collector:4318", "ftp://collector/v1/traces", "http://"] {
        let bad = load(&[("INBOXGROVE_LOG__OTLP_ENDPOINT", url)]).unwrap_err();
        assert!(
            format!("{bad:#}").contains("otlp_endpoint"),
            "{url}: {bad:#}"
        );
    }
}

/// With `log.otlp_endpoint` set, the real binary exports its spans over OTLP/HTTP (protobuf)
/// to the collector: a request's span arrives, named, under the configured service name.
#[sqlx::test]
async fn spans_are_exported_over_otlp_when_an_endpoint_is_set(pool: PgPool) {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let collector = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/traces"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&collector)
        .await;
    let endpoint = format!("{}/v1/traces", collector.uri());
    let r = crate::replicas::start(
        &pool,
        &crate::replicas::env_with(&[
            ("INBOXGROVE_LOG__OTLP_ENDPOINT", &endpoint),
            ("INBOXGROVE_LOG__OTLP_SERVICE", "inboxgrove-otlp-test"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ]),
    )
    .await;
    let res = reqwest::get(r.app.url("/login")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let has =
        |body: &[u8], needle: &str| body.windows(needle.len()).any(|w| w == needle.as_bytes());
    crate::replicas::wait_until("a trace export carrying the request span", async || {
        collector
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .any(|req| {
                req.headers
                    .get("content-type")
                    .is_some_and(|v| v == "application/x-protobuf")
                    && has(&req.body, "inboxgrove-otlp-test")
                    && has(&req.body, "request")
                    && has(&req.body, "/login")
            })
    })
    .await;
}

/// KumoMTA hangs: the publish gives up at `relay.request_timeout_ms`, the job waits to retry
/// (nothing is dropped, the inboxes stay pending), and /metrics shows the timeout, the retry
/// and the publication waiting.
#[sqlx::test]
async fn a_hanging_relay_times_out_the_publish_waits_and_metrics_show_it(pool: PgPool) {
    let kumo = crate::shutdown::slow_kumomta(std::time::Duration::from_secs(30)).await;
    let app = spawn_app_with(
        pool,
        &[
            ("INBOXGROVE_PROVIDERS__RELAY", "kumomta"),
            ("INBOXGROVE_RELAY__KUMOMTA_API_URL", &kumo.uri()),
            ("INBOXGROVE_RELAY__REQUEST_TIMEOUT_MS", "300"),
            ("INBOXGROVE_JOBS__WORKERS", "0"),
        ],
    )
    .await;
    let res = app.signup(&Signup::valid("ops-hang@acme.test")).await;
    assert!(res.status().is_success());
    let job: uuid::Uuid = sqlx::query_scalar(
        "WITH t AS (SELECT tenant_id FROM memberships LIMIT 1),
              p AS (INSERT INTO relay_publications (tenant_id) SELECT tenant_id FROM t)
         INSERT INTO jobs (id, kind, payload, tenant_id, max_attempts)
         SELECT gen_random_uuid(), 'relay_publish', jsonb_build_object('tenant_id', tenant_id), tenant_id, 5
           FROM t RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let worker = inboxgrove::server::jobs::Worker::new(
        app.state.clone(),
        inboxgrove::server::startup::app_registry(&app.state.settings),
    );
    assert!(worker.run_once().await.unwrap());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "gave up at the timeout, not after the 30 s hang: {:?}",
        started.elapsed()
    );
    let (status, attempts, error): (String, i32, Option<String>) =
        sqlx::query_as("SELECT status, attempts, last_error FROM jobs WHERE id = $1")
            .bind(job)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), attempts),
        ("pending", 1),
        "waits to retry"
    );
    let error = error.unwrap_or_default();
    assert!(error.to_lowercase().contains("time"), "{error}");

    let text = scrape(&app).await;
    let errors = value(
        &text,
        r#"inboxgrove_provider_errors_total{provider="relay:kumomta"}"#,
    );
    assert!(errors.unwrap_or(0.0) >= 1.0, "{text}");
    assert_eq!(
        value(
            &text,
            r#"inboxgrove_jobs_finished_total{kind="relay_publish",outcome="retried"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&text, "inboxgrove_relay_publications_pending"),
        Some(1.0)
    );
    assert_eq!(
        value(&text, r#"inboxgrove_jobs_scheduled{kind="relay_publish"}"#),
        Some(1.0)
    );
}
