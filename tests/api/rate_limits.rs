//! Rate limits: per tenant (the 61st request in a minute is a 429 with `Retry-After` and
//! rate-limit headers; another tenant is unaffected; staff are exempt) and per IP on login.

use sqlx::PgPool;

use crate::helpers::{Signup, browser, spawn_app_with};
use inboxgrove::server::seed;

#[sqlx::test]
async fn the_61st_request_in_a_minute_is_refused_and_another_tenant_is_unaffected(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        &[
            ("INBOXGROVE_JOBS__WORKERS", "0"),
            ("INBOXGROVE_RATE_LIMITS__TENANT_PER_MINUTE", "60"),
            ("INBOXGROVE_RATE_LIMITS__IP_AUTH_PER_MINUTE", "5"),
        ],
    )
    .await;
    let ann = browser();
    assert!(
        app.signup_with(&ann, &Signup::valid("ann@acme.test"))
            .await
            .status()
            .is_success()
    );
    let bob = browser();
    assert!(
        app.signup_with(&bob, &Signup::valid("bob@other.test"))
            .await
            .status()
            .is_success()
    );

    for n in 1..=60 {
        let path = if n % 2 == 0 {
            "/api/dashboard"
        } else {
            "/api/inboxes/wizard"
        };
        let res = ann.post(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "request {n}");
        assert_eq!(res.headers()["ratelimit-limit"], "60");
        if n == 60 {
            assert_eq!(res.headers()["ratelimit-remaining"], "0");
        }
    }
    let res = ann.post(app.url("/api/dashboard")).send().await.unwrap();
    assert_eq!(res.status(), 429);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(res.headers()["ratelimit-remaining"], "0");
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body.get("RateLimited").is_some(), "{body}");
    // Pages count too.
    assert_eq!(
        ann.get(app.url("/dashboard"))
            .send()
            .await
            .unwrap()
            .status(),
        429
    );

    // Another tenant is not affected.
    let res = bob.post(app.url("/api/dashboard")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["ratelimit-remaining"], "59");

    // Staff are exempt.
    seed::seed_demo(&app.state).await.unwrap();
    let staff = browser();
    assert!(
        app.login_with(&staff, seed::STAFF_EMAIL, seed::STAFF_PASSWORD)
            .await
            .status()
            .is_success()
    );
    for _ in 0..70 {
        let res = staff
            .post(app.url("/api/admin/tenants"))
            .form(&[("q", ""), ("status", ""), ("page", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers().get("ratelimit-limit").is_none());
    }
}

#[sqlx::test]
async fn logins_and_signups_are_limited_per_ip(pool: PgPool) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_RATE_LIMITS__IP_AUTH_PER_MINUTE", "5")]).await;
    // Five good logins from one IP pass (no failures: the failed-login throttle is not what
    // stops the sixth); the sixth is refused.
    seed::seed_demo(&app.state).await.unwrap();
    for n in 1..=5 {
        let res = app
            .login_with(&browser(), seed::STAFF_EMAIL, seed::STAFF_PASSWORD)
            .await;
        assert!(res.status().is_success(), "login {n}: {}", res.status());
    }
    let res = app
        .login_with(&browser(), seed::STAFF_EMAIL, seed::STAFF_PASSWORD)
        .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(
        app.signup(&Signup::valid("late@acme.test")).await.status(),
        429
    );
}
