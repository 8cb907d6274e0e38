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
    let app = spawn_app_with(
        pool,
        &[(
            "INBOXGROVE_SERVER__PUBLIC_URL",
            "https://app.inboxgrove.test",
        )],
    )
    .await;
    let res = app.signup(&Signup::valid("jane@acme.io")).await;
    let cookie = session_set_cookie(res.headers()).unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
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
