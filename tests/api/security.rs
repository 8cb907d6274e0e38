use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::*;

#[sqlx::test]
async fn the_session_cookie_is_http_only_and_same_site_lax_and_not_secure_on_http(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app.signup(&Signup::valid("jane@acme.io")).await;
    let cookie = session_set_cookie(res.headers()).unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[sqlx::test]
async fn the_session_cookie_is_secure_when_served_over_https(pool: PgPool) {
    let app = spawn_app_with(pool, HTTPS_DEMO).await;
    let res = app.signup(&Signup::valid("jane@acme.io")).await;
    let cookie = session_set_cookie(res.headers()).unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

/// An https public URL on the sandboxes: allowed only as a declared public demo.
const HTTPS_DEMO: &[(&str, &str)] = &[
    (
        "INBOXGROVE_SERVER__PUBLIC_URL",
        "https://app.inboxgrove.test",
    ),
    ("INBOXGROVE_SERVER__PUBLIC_DEMO", "true"),
];

#[sqlx::test]
async fn hsts_is_sent_when_the_public_url_is_https_and_only_then(pool: PgPool) {
    let https = spawn_app_with(pool.clone(), HTTPS_DEMO).await;
    for path in ["/", "/login", "/health", "/no-such-page"] {
        let res = https.get(path).await;
        assert_eq!(
            res.headers()["strict-transport-security"],
            "max-age=31536000; includeSubDomains",
            "{path}"
        );
    }
    let http = spawn_app(pool).await;
    let res = http.get("/login").await;
    assert!(!res.headers().contains_key("strict-transport-security"));
}

/// Moves the stored sign-in time of the session behind `pair` (`ig_session=<id>`) back by
/// `days` (its idle timer stays fresh), as if the user had signed in that long ago.
async fn age_session(app: &TestApp, pair: &str, days: i64) {
    use tower_sessions::SessionStore;
    let id: tower_sessions::session::Id = pair.split_once('=').unwrap().1.parse().unwrap();
    let store = tower_sessions_sqlx_store::PostgresStore::new(app.pool.clone());
    let mut record = store.load(&id).await.unwrap().expect("session stored");
    let auth = record.data.get_mut("auth").expect("signed in");
    let now = chrono::Utc::now().timestamp();
    auth["signed_in_at"] = (now - days * 86_400).into();
    auth["refreshed_at"] = now.into();
    store.save(&record).await.unwrap();
}

#[sqlx::test]
async fn an_active_session_ends_after_the_absolute_lifetime(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app.signup(&Signup::valid("jane@acme.io")).await;
    let pair = session_pair(res.headers());

    // 29 days after sign-in, used every day: still signed in.
    age_session(&app, &pair, 29).await;
    assert_eq!(app.get("/dashboard").await.status(), StatusCode::OK);
    assert_eq!(app.call(&app.client, "/api/dashboard").await.status(), 200);

    // 31 days: refused however active, and the session is gone from the store.
    age_session(&app, &pair, 31).await;
    let res = app.call(&app.client, "/api/dashboard").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let page = app.get_with_cookie("/dashboard", &pair).await;
    assert!(page.status().is_redirection(), "{}", page.status());
    assert!(
        page.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    assert_eq!(app.count("tower_sessions.session").await, 0);
}

#[sqlx::test]
async fn the_absolute_session_lifetime_is_configurable(pool: PgPool) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_SERVER__SESSION_MAX_DAYS", "2")]).await;
    let res = app.signup(&Signup::valid("jane@acme.io")).await;
    let pair = session_pair(res.headers());
    age_session(&app, &pair, 3).await;
    let res = app.get_with_cookie("/dashboard", &pair).await;
    assert!(res.status().is_redirection(), "{}", res.status());
}

/// The built binary, with only the given environment (and the shipped settings file).
fn run_binary(vars: &[(&str, &str)]) -> std::process::Output {
    let key = inboxgrove::server::crypto::generate_key_base64();
    std::process::Command::new(env!("CARGO_BIN_EXE_inboxgrove"))
        .arg("serve")
        .env_clear()
        .env(
            "INBOXGROVE_CONFIG",
            format!("{}/Leptos.toml", env!("CARGO_MANIFEST_DIR")),
        )
        .env(
            "INBOXGROVE_SECRET_KEY",
            secrecy::ExposeSecret::expose_secret(&key),
        )
        .env("INBOXGROVE_LOG__FORMAT", "text")
        .envs(vars.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .expect("the binary runs")
}

#[test]
fn the_binary_refuses_https_on_sandbox_providers_naming_the_setting() {
    let out = run_binary(&[(
        "INBOXGROVE_SERVER__PUBLIC_URL",
        "https://app.inboxgrove.test",
    )]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("INBOXGROVE_SERVER__PUBLIC_DEMO"),
        "{stderr}"
    );

    let out = run_binary(&[
        ("NAMECHEAP_API_KEY", "nc-key"),
        (
            "INBOXGROVE_REGISTRAR__NAMECHEAP__API_BASE",
            "https://api.namecheap.com/xml.response",
        ),
        ("INBOXGROVE_REGISTRAR__NAMECHEAP__API_USER", "ig"),
        ("INBOXGROVE_REGISTRAR__NAMECHEAP__USER_NAME", "ig"),
        ("INBOXGROVE_REGISTRAR__NAMECHEAP__CLIENT_IP", "203.0.113.7"),
        ("INBOXGROVE_SERVER__PUBLIC_DEMO", "true"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("STRIPE_SECRET_KEY"), "{stderr}");
}

async fn send_one_mail(app: &TestApp) {
    use inboxgrove::server::providers::mail::OutgoingMail;
    inboxgrove::server::services::outbox::send(
        &app.state,
        &OutgoingMail {
            to: inboxgrove::domain::EmailAddress::parse("someone@tenant-a.io").unwrap(),
            subject: "Private to tenant A".into(),
            body: "secret".into(),
            tenant_id: None,
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
}

#[sqlx::test]
async fn the_dev_outbox_is_for_staff_only(pool: PgPool) {
    let app = spawn_app(pool).await;
    send_one_mail(&app).await;

    let visitor = browser().get(app.url("/dev/outbox")).send().await.unwrap();
    assert_eq!(visitor.status(), StatusCode::NOT_FOUND);
    assert!(!visitor.text().await.unwrap().contains("tenant-a"));

    let customer = browser();
    app.signup_with(&customer, &Signup::valid("jane@acme.io"))
        .await;
    let res = customer.get(app.url("/dev/outbox")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(!res.text().await.unwrap().contains("tenant-a"));

    let staff = crate::kill_switch::staff(&app).await;
    let res = staff.get(app.url("/dev/outbox")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("someone@tenant-a.io"));
}

#[sqlx::test]
async fn the_dev_outbox_does_not_exist_when_mail_goes_out_over_smtp(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        &[
            ("INBOXGROVE_MAIL__SMTP_HOST", "127.0.0.1"),
            ("INBOXGROVE_MAIL__SMTP_PORT", "9"),
        ],
    )
    .await;
    let staff = crate::kill_switch::staff(&app).await;
    let res = staff.get(app.url("/dev/outbox")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = browser().get(app.url("/dev/outbox")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn a_cross_origin_post_is_refused_and_changes_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let form = Signup::valid("jane@acme.io");
    let res = app
        .signup_request(&app.client, &form)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("tenants").await, 0);

    let same = app
        .signup_request(&app.client, &form)
        .header("origin", app.address.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::OK, "same origin passes");
}

#[sqlx::test]
async fn a_cross_site_logout_is_refused(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    let res = app
        .client
        .post(app.url("/api/auth/logout"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/dashboard").await.status(),
        StatusCode::OK,
        "still signed in"
    );
}

#[sqlx::test]
async fn a_body_over_the_limit_gets_413_and_creates_nothing(pool: PgPool) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_SERVER__BODY_LIMIT_BYTES", "1024")]).await;
    let huge = "a".repeat(4096);
    let res = app
        .client
        .post(app.url("/api/auth/signup"))
        .form(&[
            ("company", huge.as_str()),
            ("email", "jane@acme.io"),
            ("password", PASSWORD),
            ("website", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.count("tenants").await, 0);
}

#[sqlx::test]
async fn pages_carry_security_headers_and_a_nonce_csp_matching_their_scripts(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app.get("/signup").await;
    let h = res.headers().clone();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
    assert!(h.contains_key("x-request-id"));
    let csp = h["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("frame-ancestors 'none'"));
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("csp names a nonce")
        .to_string();
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script carries it"
    );

    let other = app.get("/signup").await;
    let csp2 = other.headers()["content-security-policy"].to_str().unwrap();
    assert!(!csp2.contains(&nonce), "a fresh nonce per response");

    let health = app.get("/health").await;
    assert!(
        health.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
}

#[sqlx::test]
async fn a_session_is_stored_server_side_for_the_configured_days(pool: PgPool) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_SERVER__SESSION_DAYS", "3")]).await;
    let res = app.signup(&Signup::valid("jane@acme.io")).await;
    let cookie = session_set_cookie(res.headers()).unwrap();
    assert!(cookie.contains("Max-Age=259200"), "{cookie}");
    let expires: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT expiry_date FROM tower_sessions.session")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let expected = chrono::Utc::now() + chrono::Duration::days(3);
    assert!((expires - expected).num_seconds().abs() < 60);
}

#[sqlx::test]
async fn a_missing_field_or_a_malformed_body_is_400_not_500(pool: PgPool) {
    let app = spawn_app(pool).await;
    let missing = app
        .client
        .post(app.url("/api/auth/login"))
        .form(&[("email", "jane@acme.io")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    let body = json(missing).await;
    assert!(
        body["Transport"].as_str().unwrap().contains("password"),
        "{body}"
    );

    let malformed = app
        .client
        .post(app.url("/api/auth/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=%%%")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
}

#[sqlx::test]
async fn a_chunked_body_over_the_limit_gets_413_and_creates_nothing(pool: PgPool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(pool, &[("INBOXGROVE_SERVER__BODY_LIMIT_BYTES", "1024")]).await;
    let addr = app.address.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let chunk = format!(
        "company={}&email=jane%40acme.io&password={PASSWORD}",
        "a".repeat(4096)
    );
    let request = format!(
        "POST /api/auth/signup HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    let _ = tcp.read_to_string(&mut response).await;
    assert!(
        response.starts_with("HTTP/1.1 413"),
        "{}",
        response.lines().next().unwrap_or("")
    );
    assert_eq!(app.count("tenants").await, 0);
}

/// A browser that hangs up mid-request does not cut the work short: the signup it sent still
/// completes, whole (user, tenant, membership), and no database connection is left inside a
/// transaction for the next request to stumble into.
#[sqlx::test]
async fn a_request_whose_client_hangs_up_still_completes_whole(pool: PgPool) {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app(pool).await;
    let s = Signup::valid("gone@early.io");
    // The whole request, then the connection closed at once: the server has every byte, and
    // sees the client gone while it is still working (hashing the password).
    let body = serde_urlencoded::to_string([
        ("company", s.company),
        ("email", s.email),
        ("password", s.password),
        ("website", s.website),
    ])
    .unwrap();
    let host = app.address.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&host).await.unwrap();
    let request = format!(
        "POST /api/auth/signup HTTP/1.1\r\nHost: {host}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    tcp.shutdown().await.unwrap();
    drop(tcp);
    let mut made = (0i64, 0i64);
    for _ in 0..100 {
        made = sqlx::query_as(
            "SELECT (SELECT count(*) FROM users WHERE email = 'gone@early.io'),
                    (SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id
                      WHERE u.email = 'gone@early.io')",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if made == (1, 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(made, (1, 1), "the signup was cut short");
    let stuck: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stuck, 0);
    // And the customer can sign in with what they sent.
    let login = app
        .login_with(&browser(), "gone@early.io", s.password)
        .await;
    assert!(login.status().is_success(), "{}", login.status());
}
