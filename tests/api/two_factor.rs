//! Two-factor sign-in: enrolling, signing in with a code or a recovery code, replays and
//! wrong codes refused, turning it off, a workspace that requires it, staff on https.

use reqwest::{Client, StatusCode};
use sqlx::PgPool;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::helpers::*;

fn totp_of(secret: &str) -> TOTP {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().unwrap();
    TOTP::new(Algorithm::SHA1, 6, 0, 30, bytes).unwrap()
}

fn code_at(totp: &TOTP, offset_steps: i64) -> String {
    let now = chrono::Utc::now().timestamp() + offset_steps * 30;
    totp.generate(now as u64)
}

/// Turns 2FA on for the client's user; returns the app's TOTP and the recovery codes.
async fn enrol(app: &TestApp, client: &Client) -> (TOTP, Vec<String>) {
    let setup = json(app.call(client, "/api/auth/two_factor/start").await).await;
    let secret = setup["secret"].as_str().unwrap();
    assert!(setup["qr_svg"].as_str().unwrap().starts_with("<svg"));
    assert!(
        setup["otpauth_url"]
            .as_str()
            .unwrap()
            .contains(&format!("secret={secret}"))
    );
    let totp = totp_of(secret);
    let res = post(
        client,
        app,
        "/api/auth/two_factor/confirm",
        &[("code", "000000")],
    )
    .await;
    assert_eq!(res.status(), 422, "a wrong first code does not turn it on");
    let res = post(
        client,
        app,
        "/api/auth/two_factor/confirm",
        &[("code", &code_at(&totp, -1))],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let codes: Vec<String> = res.json().await.unwrap();
    assert_eq!(codes.len(), 10);
    (totp, codes)
}

#[sqlx::test]
async fn signing_in_with_2fa_takes_the_password_then_a_fresh_code_or_a_recovery_code(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    let (totp, recovery) = enrol(&app, &app.client).await;
    assert_eq!(
        json(app.call(&app.client, "/api/auth/two_factor").await).await["enabled"],
        true
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM recovery_codes WHERE used_at IS NULL")
            .await,
        10,
        "stored (hashed)"
    );
    for c in &recovery {
        let raw = c.replace('-', "");
        assert_eq!(
            app.scalar(&format!(
                "SELECT count(*) FROM recovery_codes WHERE encode(code_hash, 'hex') LIKE '%{raw}%'"
            ))
            .await,
            0
        );
    }

    // The password alone signs nobody in.
    let phone = browser();
    let res = app.login_with(&phone, "jane@acme.io", PASSWORD).await;
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login/code")
    );
    assert_eq!(app.call(&phone, "/api/dashboard").await.status(), 401);
    // A code without the password step is refused.
    let res = post(
        &browser(),
        &app,
        "/api/auth/login_code",
        &[("code", &code_at(&totp, 0))],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Wrong, then the code of the step already used at enrolment (a replay), then a fresh one.
    assert_eq!(
        post(&phone, &app, "/api/auth/login_code", &[("code", "123456")])
            .await
            .status(),
        422
    );
    assert_eq!(
        post(
            &phone,
            &app,
            "/api/auth/login_code",
            &[("code", &code_at(&totp, -1))]
        )
        .await
        .status(),
        422
    );
    let fresh = code_at(&totp, 0);
    let res = post(&phone, &app, "/api/auth/login_code", &[("code", &fresh)]).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(app.call(&phone, "/api/dashboard").await.status(), 200);

    // The same code again, from another browser: refused (one use per step).
    let other = browser();
    app.login_with(&other, "jane@acme.io", PASSWORD).await;
    assert_eq!(
        post(&other, &app, "/api/auth/login_code", &[("code", &fresh)])
            .await
            .status(),
        422
    );
    // A recovery code works once.
    let res = post(
        &other,
        &app,
        "/api/auth/login_code",
        &[("code", &recovery[0].to_uppercase())],
    )
    .await;
    assert!(res.status().is_success());
    let third = browser();
    app.login_with(&third, "jane@acme.io", PASSWORD).await;
    assert_eq!(
        post(
            &third,
            &app,
            "/api/auth/login_code",
            &[("code", &recovery[0])]
        )
        .await
        .status(),
        422
    );
    assert_eq!(
        json(app.call(&app.client, "/api/auth/two_factor").await).await["recovery_left"],
        9
    );

    // Turning it off needs a code.
    assert_eq!(
        post(
            &app.client,
            &app,
            "/api/auth/two_factor/disable",
            &[("code", "")]
        )
        .await
        .status(),
        422
    );
    assert_eq!(
        json(app.call(&app.client, "/api/auth/two_factor").await).await["enabled"],
        true
    );
    let res = post(
        &app.client,
        &app,
        "/api/auth/two_factor/disable",
        &[("code", &recovery[1])],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.login_with(&browser(), "jane@acme.io", PASSWORD).await;
    assert_eq!(
        res.headers()["location"],
        "/dashboard",
        "password alone again"
    );
}

#[sqlx::test]
async fn wrong_codes_are_throttled_like_failed_logins(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    enrol(&app, &app.client).await;
    let thief = browser();
    app.login_with(&thief, "jane@acme.io", PASSWORD).await;
    let mut statuses = Vec::new();
    for guess in 0..6 {
        let res = post(
            &thief,
            &app,
            "/api/auth/login_code",
            &[("code", &format!("{guess:06}"))],
        )
        .await;
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

#[sqlx::test]
async fn a_workspace_that_requires_2fa_sends_members_without_it_to_set_it_up(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("owner@acme.io")).await;
    let res = post(
        &app.client,
        &app,
        "/api/team/require_2fa",
        &[("on", "true")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "the owner first");
    enrol(&app, &app.client).await;

    let token = app.invite(&app.client, "ann@acme.io", "admin").await;
    let ann = app.join(&token).await;
    // An admin cannot set the rule.
    assert_eq!(
        post(&ann, &app, "/api/team/require_2fa", &[("on", "true")])
            .await
            .status(),
        403
    );
    assert_eq!(
        post(
            &app.client,
            &app,
            "/api/team/require_2fa",
            &[("on", "true")]
        )
        .await
        .status(),
        200
    );

    let res = app.call(&ann, "/api/dashboard").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("requires two-factor"));
    let page = ann.get(app.url("/domains")).send().await.unwrap();
    assert_eq!(
        page.headers()["location"],
        "/settings/security?required=2fa"
    );
    assert_eq!(
        app.call(&ann, "/api/account/sessions").await.status(),
        200,
        "her own account stays open"
    );
    assert_eq!(
        json(app.call(&ann, "/api/auth/two_factor").await).await["required"],
        true
    );

    enrol(&app, &ann).await;
    assert_eq!(app.call(&ann, "/api/dashboard").await.status(), 200);
}

#[sqlx::test]
async fn staff_on_an_https_deployment_need_2fa_for_the_admin(pool: PgPool) {
    use inboxgrove::domain::{EmailAddress, UserId};
    use inboxgrove::server::db;
    let app = spawn_app(pool).await;
    inboxgrove::server::seed::seed_demo(&app.state)
        .await
        .unwrap();
    let email = EmailAddress::parse(inboxgrove::server::seed::STAFF_EMAIL).unwrap();
    let user: UserId = db::accounts::find_login(&app.pool, &email)
        .await
        .unwrap()
        .unwrap()
        .user_id;
    let sid = db::sessions::start(&app.pool, user, "test", "127.0.0.1")
        .await
        .unwrap();
    assert!(
        db::accounts::staff_email(&app.pool, user, sid, false)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        db::accounts::staff_email(&app.pool, user, sid, true)
            .await
            .unwrap()
            .is_none(),
        "https: no admin without a second factor"
    );
    sqlx::query(
        "INSERT INTO user_totp (user_id, secret_enc, confirmed_at) VALUES ($1, '\\x00', now())",
    )
    .bind(user.0)
    .execute(&app.pool)
    .await
    .unwrap();
    assert!(
        db::accounts::staff_email(&app.pool, user, sid, true)
            .await
            .unwrap()
            .is_some()
    );
}
