//! The account life cycle: verifying the address, resetting the password, and the user's
//! signed-in browsers. Every refusal too: forged, reused and expired links, another user's
//! session, throttles.

use reqwest::{Client, StatusCode};
use sqlx::PgPool;

use crate::helpers::*;

/// A new customer who signed up but has not opened the link: signed in with the password.
async fn unverified(app: &TestApp, email: &str) -> (Client, String) {
    let since = chrono::Utc::now();
    let res = app.signup_raw(&browser(), &Signup::valid(email)).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let token = app
        .mailed_token(email, "verify:", since)
        .await
        .expect("a verification mail");
    let client = browser();
    let res = app.login_with(&client, email, PASSWORD).await;
    assert!(
        res.status().is_success(),
        "an unverified account can sign in: {}",
        res.status()
    );
    (client, token)
}

async fn dashboard(app: &TestApp, client: &Client) -> serde_json::Value {
    let res = app.call(client, "/api/dashboard").await;
    assert_eq!(res.status(), StatusCode::OK);
    json(res).await
}

fn form_error(body: &serde_json::Value, field: &str) -> Option<String> {
    body["Invalid"]
        .as_array()?
        .iter()
        .find(|e| e["field"] == field)
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
}

#[sqlx::test]
async fn an_unverified_account_looks_around_but_cannot_buy_connect_or_provision(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (client, token) = unverified(&app, "jane@acme.io").await;
    assert_eq!(dashboard(&app, &client).await["email_verified"], false);
    assert_eq!(
        app.get("/dashboard").await.status(),
        StatusCode::SEE_OTHER,
        "(other client)"
    );

    for (path, form) in [
        ("/api/domains/connect", vec![("name", "acme-mail.com")]),
        ("/api/domains/buy", vec![("name", "acme-mail.com")]),
        (
            "/api/inboxes/provision",
            vec![
                ("domains", ""),
                ("per_domain", "3"),
                ("convention", "first"),
                ("personas", "Jane Doe"),
                ("display", ""),
                ("company", ""),
                ("idempotency_key", "k1"),
            ],
        ),
    ] {
        let res = post(&client, &app, path, &form).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        let body = json(res).await;
        assert!(
            body["Forbidden"]
                .as_str()
                .unwrap()
                .contains("Confirm your email"),
            "{path}: {body}"
        );
    }
    assert_eq!(app.count("domains").await, 0, "nothing created");

    // The link verifies and signs in; then connecting works.
    let res = app.verify_with(&client, &token).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/dashboard");
    assert_eq!(dashboard(&app, &client).await["email_verified"], true);
    let res = post(
        &client,
        &app,
        "/api/domains/connect",
        &[("name", "acme-mail.com")],
    )
    .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_log WHERE action = 'account.verify_email'")
            .await,
        1
    );
}

#[sqlx::test]
async fn a_verification_link_works_once_and_never_forged_or_expired(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (_, token) = unverified(&app, "jane@acme.io").await;

    let stranger = browser();
    for forged in [
        "",
        "x",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "' OR 1=1 --",
    ] {
        let res = app.verify_with(&stranger, forged).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{forged:?}");
        assert!(
            form_error(&json(res).await, "token")
                .unwrap()
                .contains("expired")
        );
    }
    // A reset link is not a verification link.
    sqlx::query("UPDATE account_tokens SET purpose = 'reset_password'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.verify_with(&stranger, &token).await.status(), 422);
    sqlx::query("UPDATE account_tokens SET purpose = 'verify_email'")
        .execute(&app.pool)
        .await
        .unwrap();

    let first = browser();
    assert!(app.verify_with(&first, &token).await.status().is_success());
    let again = browser();
    assert_eq!(
        app.verify_with(&again, &token).await.status(),
        422,
        "single use"
    );
    assert_eq!(
        app.call(&again, "/api/dashboard").await.status(),
        401,
        "not signed in"
    );

    // Expired: a day later the next link no longer works.
    let (_, late) = unverified(&app, "jim@acme.io").await;
    sqlx::query(
        "UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(app.verify_with(&browser(), &late).await.status(), 422);
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM users WHERE email = 'jim@acme.io' AND email_verified_at IS NULL"
        )
        .await,
        1
    );
    // Only hashes are stored.
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM account_tokens WHERE token_hash::text LIKE '%{late}%'"
        ))
        .await,
        0
    );
}

#[sqlx::test]
async fn send_again_is_throttled_and_retires_the_earlier_link(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (client, first) = unverified(&app, "jane@acme.io").await;
    let res = app.call(&client, "/api/account/resend_verification").await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a minute between links"
    );
    assert!(res.headers().contains_key("retry-after"));

    sqlx::query("UPDATE account_tokens SET created_at = created_at - interval '2 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    let since = chrono::Utc::now();
    let res = app.call(&client, "/api/account/resend_verification").await;
    assert_eq!(res.status(), StatusCode::OK);
    let second = app
        .mailed_token("jane@acme.io", "verify:", since)
        .await
        .unwrap();
    assert_ne!(first, second);
    assert_eq!(
        app.verify_with(&browser(), &first).await.status(),
        422,
        "retired"
    );
    assert!(
        app.verify_with(&browser(), &second)
            .await
            .status()
            .is_success()
    );
}

#[sqlx::test]
async fn the_sandbox_outbox_opens_the_signup_message_for_that_browser_only(pool: PgPool) {
    let app = spawn_app(pool).await;
    let visitor = browser();
    let res = app
        .signup_raw(&visitor, &Signup::valid("jane@acme.io"))
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());

    let mut page = String::new();
    for _ in 0..40 {
        page = visitor
            .get(app.url("/dev/outbox/signup"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if page.contains("verify-email?token=") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(page.contains("<a href=\"http"), "the link opens: {page}");
    let sent = json(app.call(&visitor, "/api/auth/signup_sent").await).await;
    assert_eq!(sent["email"], "jane@acme.io");
    assert_eq!(sent["sandbox_link"], "/dev/outbox/signup");

    // The HTML part, from the same layout as every mail, in a page that runs nothing.
    let html = visitor
        .get(app.url("/dev/outbox/signup/html"))
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 200);
    assert!(
        html.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let html = html.text().await.unwrap();
    assert!(
        html.contains(">Confirm my email</a>") && html.contains(">InboxGrove</td>"),
        "{html}"
    );
    let text: String =
        sqlx::query_scalar("SELECT body_text FROM mail_outbox WHERE to_addr = 'jane@acme.io'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        text.starts_with("InboxGrove\n") && text.contains("verify-email?token="),
        "{text}"
    );

    // Another browser, and the rest of the outbox, stay closed.
    let other = browser();
    assert_eq!(
        other
            .get(app.url("/dev/outbox/signup/html"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM mail_outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        visitor
            .get(app.url(&format!("/dev/outbox/{id}/html")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        other
            .get(app.url("/dev/outbox/signup"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        visitor
            .get(app.url("/dev/outbox"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.call(&other, "/api/auth/signup_sent").await.status(),
        404
    );
}

#[sqlx::test]
async fn forgot_password_answers_alike_and_the_link_resets_once_and_ends_every_session(
    pool: PgPool,
) {
    let app = spawn_app(pool).await;
    let res = app.signup(&Signup::valid("jane@acme.io")).await;
    let old_cookie = session_pair(res.headers());
    let laptop = browser();
    assert!(
        app.login_with(&laptop, "jane@acme.io", PASSWORD)
            .await
            .status()
            .is_success()
    );

    let since = chrono::Utc::now();
    let known = post(
        &browser(),
        &app,
        "/api/auth/forgot_password",
        &[("email", "Jane@Acme.io")],
    )
    .await;
    let unknown = post(
        &browser(),
        &app,
        "/api/auth/forgot_password",
        &[("email", "nobody@acme.io")],
    )
    .await;
    assert_eq!(known.status(), StatusCode::OK);
    assert_eq!(unknown.status(), StatusCode::OK);
    assert_eq!(json(known).await, "jane@acme.io");
    assert_eq!(json(unknown).await, "nobody@acme.io");
    let token = app
        .mailed_token("jane@acme.io", "reset:", since)
        .await
        .expect("a reset mail");
    assert_eq!(
        app.mailed_token("nobody@acme.io", "reset:", since).await,
        None
    );

    // A weak password is refused without using the link up.
    let res = post(
        &browser(),
        &app,
        "/api/auth/reset_password",
        &[("token", &token), ("password", "short")],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(form_error(&json(res).await, "password").is_some());

    let new_password = "a-brand-new-passphrase";
    let res = post(
        &browser(),
        &app,
        "/api/auth/reset_password",
        &[("token", &token), ("password", new_password)],
    )
    .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/login?reset=done");

    // Every earlier session is over: the replayed cookie and the other browser.
    let replayed = Client::new()
        .post(app.url("/api/dashboard"))
        .header("cookie", &old_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 401);
    assert_eq!(app.call(&laptop, "/api/dashboard").await.status(), 401);
    assert_eq!(app.scalar("SELECT count(*) FROM user_sessions").await, 0);
    // The old password no longer works; the new one does.
    assert_eq!(
        app.login_with(&browser(), "jane@acme.io", PASSWORD)
            .await
            .status(),
        401
    );
    assert!(
        app.login_with(&browser(), "jane@acme.io", new_password)
            .await
            .status()
            .is_success()
    );
    // Single use.
    let res = post(
        &browser(),
        &app,
        "/api/auth/reset_password",
        &[("token", &token), ("password", "another-passphrase-9")],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_log WHERE action = 'account.password_reset'")
            .await,
        1
    );
}

#[sqlx::test]
async fn a_reset_link_expires_after_an_hour_and_requests_are_throttled(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    let since = chrono::Utc::now();
    post(
        &browser(),
        &app,
        "/api/auth/forgot_password",
        &[("email", "jane@acme.io")],
    )
    .await;
    let token = app
        .mailed_token("jane@acme.io", "reset:", since)
        .await
        .unwrap();
    sqlx::query("UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE purpose = 'reset_password'")
        .execute(&app.pool)
        .await
        .unwrap();
    let res = post(
        &browser(),
        &app,
        "/api/auth/reset_password",
        &[("token", &token), ("password", "a-brand-new-passphrase")],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(
        app.login_with(&browser(), "jane@acme.io", PASSWORD)
            .await
            .status()
            .is_success(),
        "unchanged"
    );

    // Four more requests fill the bound (five in all); the sixth waits, known address or not.
    for _ in 0..4 {
        let res = post(
            &browser(),
            &app,
            "/api/auth/forgot_password",
            &[("email", "jane@acme.io")],
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = post(
        &browser(),
        &app,
        "/api/auth/forgot_password",
        &[("email", "jane@acme.io")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
}

#[sqlx::test]
async fn sessions_are_listed_ended_one_by_one_or_all_but_this_one_and_never_anothers(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    let phone = browser();
    let res = phone
        .post(app.url("/api/auth/login"))
        .header(
            "user-agent",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1",
        )
        .form(&[("email", "jane@acme.io"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let tablet = browser();
    assert!(
        app.login_with(&tablet, "jane@acme.io", PASSWORD)
            .await
            .status()
            .is_success()
    );

    let list = json(app.call(&app.client, "/api/account/sessions").await).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(
        list.iter().any(|s| s["browser"] == "Safari on iPhone"),
        "{list:?}"
    );
    let phone_id = list
        .iter()
        .find(|s| s["browser"] == "Safari on iPhone")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Another customer cannot end Jane's session, nor see it.
    let mallory = browser();
    app.signup_with(&mallory, &Signup::valid("mallory@evil.io"))
        .await;
    let res = post(
        &mallory,
        &app,
        "/api/account/end_session",
        &[("id", &phone_id)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let theirs = json(app.call(&mallory, "/api/account/sessions").await).await;
    assert_eq!(theirs.as_array().unwrap().len(), 1);
    for junk in ["", "not-a-uuid", "00000000-0000-0000-0000-000000000000"] {
        assert_eq!(
            post(
                &app.client,
                &app,
                "/api/account/end_session",
                &[("id", junk)]
            )
            .await
            .status(),
            404
        );
    }
    assert_eq!(app.call(&phone, "/api/dashboard").await.status(), 200);

    let res = post(
        &app.client,
        &app,
        "/api/account/end_session",
        &[("id", &phone_id)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.call(&phone, "/api/dashboard").await.status(),
        401,
        "ended at once"
    );
    assert_eq!(app.call(&tablet, "/api/dashboard").await.status(), 200);

    let res = app
        .call(&app.client, "/api/account/end_other_sessions")
        .await;
    assert_eq!(json(res).await, 1);
    assert_eq!(app.call(&tablet, "/api/dashboard").await.status(), 401);
    assert_eq!(
        app.call(&app.client, "/api/dashboard").await.status(),
        200,
        "this one stays"
    );
}

#[sqlx::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    let other = browser();
    assert!(
        app.login_with(&other, "jane@acme.io", PASSWORD)
            .await
            .status()
            .is_success()
    );

    let res = post(
        &app.client,
        &app,
        "/api/account/change_password",
        &[
            ("current", "wrong-guess"),
            ("password", "a-brand-new-passphrase"),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(form_error(&json(res).await, "current").is_some());
    assert_eq!(
        app.scalar("SELECT count(*) FROM auth_failures WHERE kind = 'login'")
            .await,
        1,
        "a wrong current password counts as a failed login"
    );
    let res = post(
        &app.client,
        &app,
        "/api/account/change_password",
        &[("current", PASSWORD), ("password", "short")],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        app.call(&other, "/api/dashboard").await.status(),
        200,
        "nothing changed yet"
    );

    let res = post(
        &app.client,
        &app,
        "/api/account/change_password",
        &[
            ("current", PASSWORD),
            ("password", "a-brand-new-passphrase"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.call(&other, "/api/dashboard").await.status(), 401);
    assert_eq!(app.call(&app.client, "/api/dashboard").await.status(), 200);
    assert!(
        app.login_with(&browser(), "jane@acme.io", "a-brand-new-passphrase")
            .await
            .status()
            .is_success()
    );
}

#[sqlx::test]
async fn a_staff_session_ended_elsewhere_no_longer_opens_the_admin(pool: PgPool) {
    let app = spawn_app(pool).await;
    inboxgrove::server::seed::seed_demo(&app.state)
        .await
        .unwrap();
    let staff = browser();
    let res = app
        .login_with(
            &staff,
            inboxgrove::server::seed::STAFF_EMAIL,
            inboxgrove::server::seed::STAFF_PASSWORD,
        )
        .await;
    assert!(res.status().is_success());
    assert_eq!(
        staff.get(app.url("/admin")).send().await.unwrap().status(),
        200
    );
    sqlx::query("DELETE FROM user_sessions")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        staff.get(app.url("/admin")).send().await.unwrap().status(),
        404
    );
}

#[sqlx::test]
async fn a_new_email_takes_effect_only_once_its_link_is_opened(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    app.signup_with(&browser(), &Signup::valid("taken@acme.io"))
        .await;
    let change = |email: &'static str, current: &'static str| {
        let app = &app;
        async move {
            post(
                &app.client,
                app,
                "/api/account/change_email",
                &[("email", email), ("current", current)],
            )
            .await
        }
    };
    let res = change("new@acme.io", "wrong-password").await;
    assert_eq!(res.status(), 422);
    assert!(form_error(&json(res).await, "current").is_some());
    assert_eq!(change("taken@acme.io", PASSWORD).await.status(), 409);
    assert_eq!(change("jane@acme.io", PASSWORD).await.status(), 422);

    let since = chrono::Utc::now();
    assert_eq!(
        change("New@Acme.io", PASSWORD).await.status(),
        StatusCode::OK
    );
    let token = app
        .mailed_token("new@acme.io", "email-change:", since)
        .await
        .unwrap();
    // Nothing changed yet.
    assert!(
        app.login_with(&browser(), "jane@acme.io", PASSWORD)
            .await
            .status()
            .is_success()
    );

    assert!(
        app.verify_with(&browser(), &token)
            .await
            .status()
            .is_success()
    );
    assert_eq!(
        app.login_with(&browser(), "jane@acme.io", PASSWORD)
            .await
            .status(),
        401
    );
    assert!(
        app.login_with(&browser(), "new@acme.io", PASSWORD)
            .await
            .status()
            .is_success()
    );
    assert_eq!(
        app.verify_with(&browser(), &token).await.status(),
        422,
        "single use"
    );
    let notice: i64 = app
        .scalar("SELECT count(*) FROM mail_outbox WHERE to_addr = 'jane@acme.io' AND subject = 'Your InboxGrove email was changed'")
        .await;
    let mut tries = 0;
    let mut seen = notice;
    while seen == 0 && tries < 40 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        seen = app
            .scalar("SELECT count(*) FROM mail_outbox WHERE to_addr = 'jane@acme.io' AND subject = 'Your InboxGrove email was changed'")
            .await;
        tries += 1;
    }
    assert_eq!(seen, 1, "the old address is told");
}
