//! The auth cache (sessions and admissions kept in each process between changes) on two app
//! processes over one database: what one process (or anyone writing the database) changes,
//! the other stops serving within a notification's latency — a suspension, its lifting, a
//! sign-out — though each had the answer cached.

use std::time::Duration;

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::{Signup, TestApp, settings, spawn_app, spawn_on};

async fn two_replicas(pool: PgPool) -> (TestApp, TestApp) {
    let a = spawn_app(pool.clone()).await;
    let b = spawn_on(pool, settings(&[])).await;
    for app in [&a, &b] {
        for _ in 0..100 {
            if app.state.auth_cache.is_live() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            app.state.auth_cache.is_live(),
            "the cache's listener connects"
        );
    }
    (a, b)
}

/// GETs the page `/dashboard` (pages are what the cache serves) on `app` as `client`.
async fn page(app: &TestApp, client: &reqwest::Client) -> StatusCode {
    client
        .get(app.url("/dashboard"))
        .send()
        .await
        .unwrap()
        .status()
}

/// GETs `/dashboard` on `app` as `client` until it answers `want` (at most 5 s).
async fn until(app: &TestApp, client: &reqwest::Client, want: StatusCode) -> StatusCode {
    let mut got = StatusCode::IM_A_TEAPOT;
    for _ in 0..100 {
        got = page(app, client).await;
        if got == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    got
}

#[sqlx::test]
async fn a_suspension_written_anywhere_reaches_a_replica_that_had_the_member_cached(pool: PgPool) {
    let (a, b) = two_replicas(pool).await;
    let res = a.signup(&Signup::valid("ann@acme.test")).await;
    assert!(res.status().is_success(), "{}", res.status());
    // The same browser (its cookie) on both: each process now holds its session and admission.
    for app in [&a, &b, &b] {
        assert_eq!(page(app, &a.client).await, StatusCode::OK);
    }
    assert!(
        b.state.auth_cache.admissions_kept() > 0,
        "B kept the admission"
    );

    sqlx::query(
        "INSERT INTO suspensions (id, tenant_id, category, reason, actor)
         SELECT gen_random_uuid(), tenant_id, 'abuse', 'test', 'staff:test' FROM memberships",
    )
    .execute(&a.pool)
    .await
    .unwrap();
    assert_eq!(
        until(&b, &a.client, StatusCode::FORBIDDEN).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        a.call(&a.client, "/api/dashboard").await.status(),
        StatusCode::FORBIDDEN
    );

    sqlx::query("UPDATE suspensions SET lifted_at = now(), lifted_by = 'staff:test'")
        .execute(&a.pool)
        .await
        .unwrap();
    assert_eq!(until(&b, &a.client, StatusCode::OK).await, StatusCode::OK);
}

#[sqlx::test]
async fn signing_out_on_one_replica_ends_the_session_on_the_other(pool: PgPool) {
    let (a, b) = two_replicas(pool).await;
    let res = a.signup(&Signup::valid("ann@acme.test")).await;
    assert!(res.status().is_success(), "{}", res.status());
    let cookie = crate::helpers::session_pair(res.headers());
    assert_eq!(page(&b, &a.client).await, StatusCode::OK);
    assert_eq!(page(&b, &a.client).await, StatusCode::OK);

    let out = a.call(&a.client, "/api/auth/logout").await;
    assert!(
        out.status().is_success() || out.status().is_redirection(),
        "{}",
        out.status()
    );
    // Someone replaying the old cookie on the other process: it had both answers cached. A
    // page a visitor may not see sends them to the sign-in page.
    let replayed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut status = StatusCode::OK;
    for _ in 0..100 {
        status = replayed
            .get(b.url("/dashboard"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .status();
        if status == StatusCode::SEE_OTHER {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn a_request_that_may_write_never_takes_a_cached_admission(pool: PgPool) {
    let (a, b) = two_replicas(pool.clone()).await;
    let res = a.signup(&Signup::valid("ann@acme.test")).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(page(&b, &a.client).await, StatusCode::OK);
    assert!(b.state.auth_cache.admissions_kept() > 0);

    // A suspension the cache is never told of (the table's triggers off for this one
    // transaction, in this test's own database): the worst a notification's latency could do,
    // held still.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE suspensions DISABLE TRIGGER USER")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO suspensions (id, tenant_id, category, reason, actor)
         SELECT gen_random_uuid(), tenant_id, 'abuse', 'test', 'staff:test' FROM memberships",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("ALTER TABLE suspensions ENABLE TRIGGER USER")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // The page may still be served from the cache; every POST asks the database.
    assert_eq!(
        page(&b, &a.client).await,
        StatusCode::OK,
        "the page is cached"
    );
    let res = b.call(&a.client, "/api/dashboard").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("suspended"));
}
