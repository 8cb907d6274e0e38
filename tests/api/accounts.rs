use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::*;

#[sqlx::test]
async fn signup_creates_tenant_owner_membership_and_a_seven_day_trial(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app.signup(&Signup::valid("  Jane@Acme.IO ")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["location"], "/dashboard");
    assert!(session_set_cookie(res.headers()).is_some(), "signed in");

    let (name, website, trial_ends_at): (String, Option<String>, DateTime<Utc>) =
        sqlx::query_as("SELECT name, website, trial_ends_at FROM tenants")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(name, "Acme Outreach");
    assert_eq!(website.as_deref(), Some("https://acme.io"));
    let expected = Utc::now() + Duration::days(7);
    assert!(
        (trial_ends_at - expected).num_seconds().abs() < 60,
        "trial ends in 7 days"
    );

    let (email, role, hash): (String, String, String) = sqlx::query_as(
        "SELECT u.email, m.role, u.password_hash FROM users u JOIN memberships m ON m.user_id = u.id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(email, "jane@acme.io", "trimmed and lower-cased");
    assert_eq!(role, "owner");
    assert!(
        hash.starts_with("$argon2id$"),
        "stored as argon2id, never plain"
    );

    let page = app.get("/dashboard").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Acme Outreach"));
    assert!(html.contains("Trial — 7 days left"));
    assert!(html.contains("0 / 2"), "domains used vs the trial cap");
    assert!(html.contains("0 / 50"), "inboxes used vs the trial cap");
}

#[sqlx::test]
async fn a_taken_address_gets_the_same_answer_as_a_new_one_creates_nothing_and_tells_its_owner(
    pool: PgPool,
) {
    let app = spawn_app(pool).await;
    let new = app
        .signup_raw(&browser(), &Signup::valid("jane@acme.io"))
        .await;
    let mut again = Signup::valid("JANE@acme.io");
    again.company = "Other Co";
    let taken = app.signup_raw(&browser(), &again).await;

    assert_eq!(taken.status(), new.status());
    assert_eq!(
        taken.headers().get("location"),
        new.headers().get("location")
    );
    assert_eq!(new.headers()["location"], "/check-email");
    let (new_body, taken_body) = (new.text().await.unwrap(), taken.text().await.unwrap());
    assert_eq!(taken_body, new_body, "the body tells nothing either");
    assert_eq!(app.count("tenants").await, 1, "no second tenant");
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("memberships").await, 1);

    let note = mails(
        &app,
        "jane@acme.io",
        "Someone tried to sign up with your email",
        1,
    )
    .await;
    assert!(note[0].contains("/forgot-password"), "{}", note[0]);
    assert!(note[0].contains("/login"), "{}", note[0]);
    assert_eq!(
        mails(&app, "jane@acme.io", "Confirm your email for InboxGrove", 1)
            .await
            .len(),
        1,
        "the taken address gets no second verification link"
    );
}

#[sqlx::test]
async fn invalid_signup_input_names_every_bad_field_and_creates_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app
        .signup(&Signup {
            company: "A",
            email: "not-an-email",
            password: "short",
            website: "not a site",
        })
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json(res).await;
    let fields: Vec<&str> = body["Invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["company", "email", "password", "website"]);
    assert_eq!(app.count("tenants").await, 0);
    assert_eq!(app.count("users").await, 0);
}

#[sqlx::test]
async fn wrong_password_and_unknown_email_get_the_same_generic_error(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    let fresh = browser();

    let wrong = app
        .login_with(&fresh, "jane@acme.io", "not-the-password")
        .await;
    let wrong_status = wrong.status();
    let wrong_body = wrong.text().await.unwrap();
    let unknown = app
        .login_with(&fresh, "nobody@acme.io", "not-the-password")
        .await;
    let unknown_status = unknown.status();
    let unknown_body = unknown.text().await.unwrap();

    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_status, wrong_status);
    assert_eq!(unknown_body, wrong_body);
    assert_eq!(wrong_body, "\"InvalidCredentials\"");
}

#[sqlx::test]
async fn login_with_the_right_password_signs_in_and_honours_a_local_next(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    let fresh = browser();
    let res = app
        .login_next(&fresh, " JANE@acme.io", PASSWORD, "/dashboard?tab=usage")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["location"], "/dashboard?tab=usage");
    let res = app
        .login_next(&fresh, "jane@acme.io", PASSWORD, "https://evil.example/")
        .await;
    assert_eq!(res.headers()["location"], "/dashboard", "no open redirect");
    let page = fresh.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
}

#[sqlx::test]
async fn five_failed_logins_for_one_email_throttle_the_sixth_with_retry_after(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    for _ in 0..5 {
        let res = app
            .login_with(&browser(), "jane@acme.io", "wrong-password")
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password waits: the throttle is checked first.
    let res = app.login_with(&browser(), "jane@acme.io", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (850..=900).contains(&retry),
        "retry-after {retry} ≈ 15 minutes"
    );
    let body = json(res).await;
    assert!(body["RateLimited"]["retry_after_secs"].as_u64().is_some());
}

#[sqlx::test]
async fn a_colleague_mistyping_five_times_does_not_lock_out_the_office(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    for _ in 0..5 {
        let res = app
            .login_with(&browser(), "tom@acme.io", "wrong-password")
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Tom waits; Jane, behind the same address, signs in.
    let res = app.login_with(&browser(), "tom@acme.io", "whatever").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let res = app.login_with(&browser(), "jane@acme.io", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[sqlx::test]
async fn failures_across_many_emails_from_one_address_throttle_it_at_the_loose_bound(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        &[("INBOXGROVE_RATE_LIMITS__AUTH_IP_MAX_FAILURES", "8")],
    )
    .await;
    for i in 0..8 {
        let res = app
            .login_with(&browser(), &format!("user{i}@acme.io"), "wrong-password")
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let res = app
        .login_with(&browser(), "someone-else@acme.io", "whatever-pass")
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (3500..=3600).contains(&retry),
        "retry-after {retry} ≈ 1 hour"
    );
}

#[sqlx::test]
async fn four_failures_do_not_throttle_and_a_success_forgives_the_email(pool: PgPool) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_RATE_LIMITS__AUTH_MAX_FAILURES", "5")]).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    for _ in 0..4 {
        app.login_with(&browser(), "jane@acme.io", "wrong-password")
            .await;
    }
    assert_eq!(
        app.login_with(&browser(), "jane@acme.io", PASSWORD)
            .await
            .status(),
        200
    );
    assert_eq!(app.count("auth_failures").await, 0);
}

#[sqlx::test]
async fn repeated_failed_signups_are_throttled_too(pool: PgPool) {
    let app = spawn_app(pool).await;
    let bad = Signup {
        company: "Acme",
        email: "jane@acme.io",
        password: "short",
        website: "",
    };
    for _ in 0..5 {
        assert_eq!(app.signup_with(&browser(), &bad).await.status(), 422);
    }
    let res = app
        .signup_with(&browser(), &Signup::valid("jane@acme.io"))
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.count("tenants").await, 0);
}

#[sqlx::test]
async fn logout_destroys_the_session_so_the_old_cookie_stops_working(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app.signup(&Signup::valid("jane@acme.io")).await;
    let old_cookie = session_pair(res.headers());

    let res = app.call(&app.client, "/api/auth/logout").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["location"], "/login");

    // Replay the old cookie by hand, as a thief would.
    let res = app.get_with_cookie("/dashboard", &old_cookie).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("tower_sessions.session").await, 0);
}

#[sqlx::test]
async fn the_session_id_rotates_at_login(pool: PgPool) {
    let app = spawn_app(pool).await;
    let first = session_pair(app.signup(&Signup::valid("jane@acme.io")).await.headers());
    let res = app.login("jane@acme.io", PASSWORD).await;
    let second = session_pair(res.headers());
    assert_ne!(first, second);

    let stale = app.get_with_cookie("/dashboard", &first).await;
    assert_eq!(
        stale.status(),
        StatusCode::SEE_OTHER,
        "the pre-login id is dead"
    );
}

#[sqlx::test]
async fn a_deleted_membership_ends_access_even_with_a_live_session(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    sqlx::query("DELETE FROM memberships")
        .execute(&app.pool)
        .await
        .unwrap();
    let res = app.call(&app.client, "/api/dashboard").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn the_dashboard_counts_only_the_signed_in_tenants_resources(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    let other = browser();
    let mut b = Signup::valid("bob@other.io");
    b.company = "Other Co";
    app.signup_with(&other, &b).await;

    // Give the other tenant a domain and three inboxes.
    sqlx::query(
        "WITH t AS (SELECT id FROM tenants WHERE name = 'Other Co'),
              d AS (INSERT INTO domains (id, tenant_id, name, status)
                    SELECT gen_random_uuid(), id, 'other.io', 'active' FROM t RETURNING id, tenant_id)
         INSERT INTO inboxes (id, tenant_id, domain_id, local_part, status)
         SELECT gen_random_uuid(), d.tenant_id, d.id, n::text, 'active' FROM d, generate_series(1, 3) n",
    )
    .execute(&app.pool)
    .await
    .unwrap();

    let mine = json(app.call(&app.client, "/api/dashboard").await).await;
    assert_eq!(mine["tenant_name"], "Acme Outreach");
    assert_eq!(mine["domains"]["used"], 0);
    assert_eq!(mine["inboxes"]["used"], 0);
    let theirs = json(app.call(&other, "/api/dashboard").await).await;
    assert_eq!(theirs["tenant_name"], "Other Co");
    assert_eq!(theirs["domains"]["used"], 1);
    assert_eq!(theirs["inboxes"]["used"], 3);
}

#[sqlx::test]
async fn the_dashboard_api_without_a_session_is_401(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app.call(&app.client, "/api/dashboard").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn parallel_failed_logins_cannot_outrun_the_throttle(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    let attempts = (0..12).map(|_| {
        let url = app.url("/api/auth/login");
        async move {
            browser()
                .post(url)
                .form(&[("email", "jane@acme.io"), ("password", "wrong-password")])
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        checked <= 5,
        "{checked} passwords checked, limit is 5: {statuses:?}"
    );
    assert_eq!(checked + throttled, 12);
}

#[sqlx::test]
async fn a_next_with_a_tab_cannot_redirect_off_site(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    let res = app
        .login_next(&browser(), "jane@acme.io", PASSWORD, "/\t/evil.example")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["location"], "/dashboard");
}

#[sqlx::test]
async fn a_plain_form_post_without_javascript_signs_up_or_returns_to_the_form_with_its_error(
    pool: PgPool,
) {
    let app = spawn_app(pool).await;
    let form = Signup::valid("jane@acme.io");
    let ok = app
        .signup_request(&app.client, &form)
        .header("accept", "text/html")
        .header("referer", app.url("/signup"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::FOUND);
    assert_eq!(ok.headers()["location"], "/check-email");

    let mut bad = Signup::valid("jim@acme.io");
    bad.password = "short";
    let again = app
        .signup_request(&browser(), &bad)
        .header("accept", "text/html")
        .header("referer", app.url("/signup"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        StatusCode::FOUND,
        "back to the form, not a JSON page"
    );
    // Leptos carries the error back to the form (`__err`), where the action shows it.
    let location = again.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&app.url("/signup?")), "{location}");
    assert!(location.contains("__err="), "{location}");
    assert_eq!(app.count("tenants").await, 1);
}

// ---------------------------------------------------------------------------------------------
// Guesses from many addresses: the owner still gets in (password + mailed code) and is told.

const FROM_MANY: &[(&str, &str)] = &[("INBOXGROVE_SERVER__TRUST_FORWARDED_FOR", "true")];

/// A login from `address` (as our proxy would report it), with an optional one-time code.
async fn login_from(
    app: &TestApp,
    client: &reqwest::Client,
    address: &str,
    email: &str,
    password: &str,
    code: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("email", email), ("password", password)];
    if let Some(code) = code {
        form.push(("code", code));
    }
    client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", address)
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The mails sent to `to` with this subject (sent in the background: waits a little).
async fn mails(app: &TestApp, to: &str, subject: &str, at_least: usize) -> Vec<String> {
    for _ in 0..100 {
        let bodies: Vec<String> = sqlx::query_scalar(
            "SELECT body_text FROM mail_outbox WHERE to_addr = $1 AND subject = $2 ORDER BY created_at",
        )
        .bind(to)
        .bind(subject)
        .fetch_all(&app.pool)
        .await
        .unwrap();
        if bodies.len() >= at_least {
            return bodies;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {at_least} mails {subject:?} to {to}");
}

fn code_in(body: &str) -> String {
    let at = body.find("code is ").expect("a code") + "code is ".len();
    body[at..at + 6].to_string()
}

const CODE_MAIL: &str = "Your InboxGrove sign-in code";
const NOTICE_MAIL: &str = "Failed sign-ins to your InboxGrove account";

fn code_field(body: &serde_json::Value) -> Option<&str> {
    body["Invalid"][0]["field"].as_str()
}

#[sqlx::test]
async fn a_strangers_guesses_from_many_addresses_do_not_lock_out_the_owner(pool: PgPool) {
    let app = spawn_app_with(pool, FROM_MANY).await;
    app.signup(&Signup::valid("jane@acme.io")).await;

    // 50 wrong guesses, each from its own address: none is throttled per pair or address.
    let mut statuses = Vec::new();
    for i in 0..50 {
        let address = format!("198.51.100.{i}");
        let res = login_from(
            &app,
            &browser(),
            &address,
            "jane@acme.io",
            "guess-123",
            None,
        )
        .await;
        statuses.push(res.status().as_u16());
    }
    // The first 20 are checked (401); then the password alone no longer signs in (422 asking
    // for the code), so the stranger's later guesses are not even checked.
    assert!(statuses[..20].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 422), "{statuses:?}");
    // The owner was told once.
    let notices = mails(&app, "jane@acme.io", NOTICE_MAIL, 1).await;
    assert_eq!(notices.len(), 1);
    assert!(notices[0].contains("20 failed sign-ins"), "{}", notices[0]);

    // A stranger holding the right password still cannot get in without the code.
    let thief = browser();
    let res = login_from(&app, &thief, "203.0.113.66", "jane@acme.io", PASSWORD, None).await;
    assert_eq!(res.status(), 422);
    assert_eq!(code_field(&json(res).await), Some("code"));
    let res = login_from(
        &app,
        &thief,
        "203.0.113.66",
        "jane@acme.io",
        PASSWORD,
        Some("000000"),
    )
    .await;
    assert_eq!(res.status(), 422);

    // The owner, from home: password alone asks for the code, which the mail holds.
    let jane = browser();
    let res = login_from(&app, &jane, "192.0.2.10", "jane@acme.io", PASSWORD, None).await;
    assert_eq!(res.status(), 422);
    let codes = mails(&app, "jane@acme.io", CODE_MAIL, 1).await;
    assert_eq!(codes.len(), 1, "one live code, one mail");
    let code = code_in(&codes[0]);
    let res = login_from(
        &app,
        &jane,
        "192.0.2.10",
        "jane@acme.io",
        PASSWORD,
        Some(&code),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["location"], "/dashboard");
    assert_eq!(
        jane.get(app.url("/dashboard"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // The code was single-use.
    let res = login_from(
        &app,
        &browser(),
        "192.0.2.10",
        "jane@acme.io",
        PASSWORD,
        Some(&code),
    )
    .await;
    assert_eq!(res.status(), 422);
}

#[sqlx::test]
async fn the_code_is_bound_to_the_password_and_void_after_wrong_tries(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        &[
            ("INBOXGROVE_SERVER__TRUST_FORWARDED_FOR", "true"),
            ("INBOXGROVE_RATE_LIMITS__AUTH_EMAIL_MAX_FAILURES", "3"),
        ],
    )
    .await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    for i in 0..3 {
        login_from(
            &app,
            &browser(),
            &format!("198.51.100.{i}"),
            "jane@acme.io",
            "guess-123",
            None,
        )
        .await;
    }
    let res = login_from(
        &app,
        &browser(),
        "192.0.2.10",
        "jane@acme.io",
        PASSWORD,
        None,
    )
    .await;
    assert_eq!(res.status(), 422);
    let code = code_in(&mails(&app, "jane@acme.io", CODE_MAIL, 1).await[0]);

    // The right code with a wrong password does not sign in, nor spend the code.
    let res = login_from(
        &app,
        &browser(),
        "192.0.2.11",
        "jane@acme.io",
        "guess-456",
        Some(&code),
    )
    .await;
    assert_eq!(res.status(), 422);
    // Five wrong codes with the right password void it ...
    for i in 0..5 {
        let address = format!("192.0.2.{}", 20 + i);
        let res = login_from(
            &app,
            &browser(),
            &address,
            "jane@acme.io",
            PASSWORD,
            Some("999999"),
        )
        .await;
        assert_eq!(res.status(), 422);
    }
    let res = login_from(
        &app,
        &browser(),
        "192.0.2.30",
        "jane@acme.io",
        PASSWORD,
        Some(&code),
    )
    .await;
    assert_eq!(res.status(), 422, "a voided code no longer works");
    // ... and a new one is mailed, which works.
    let codes = mails(&app, "jane@acme.io", CODE_MAIL, 2).await;
    let fresh = code_in(codes.last().unwrap());
    let res = login_from(
        &app,
        &browser(),
        "192.0.2.31",
        "jane@acme.io",
        PASSWORD,
        Some(&fresh),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Stored hashed: the table never holds the code itself.
    let stored: i64 = app
        .scalar(&format!(
            "SELECT count(*) FROM login_codes WHERE encode(code_mac, 'escape') LIKE '%{fresh}%'"
        ))
        .await;
    assert_eq!(stored, 0);
}

#[sqlx::test]
async fn an_unknown_email_over_its_bound_answers_like_a_real_one_and_mails_nobody(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        &[
            ("INBOXGROVE_SERVER__TRUST_FORWARDED_FOR", "true"),
            ("INBOXGROVE_RATE_LIMITS__AUTH_EMAIL_MAX_FAILURES", "2"),
        ],
    )
    .await;
    for i in 0..2 {
        login_from(
            &app,
            &browser(),
            &format!("198.51.100.{i}"),
            "ghost@acme.io",
            "guess",
            None,
        )
        .await;
    }
    let res = login_from(
        &app,
        &browser(),
        "192.0.2.10",
        "ghost@acme.io",
        "guess",
        None,
    )
    .await;
    assert_eq!(res.status(), 422);
    assert_eq!(code_field(&json(res).await), Some("code"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.count("mail_outbox").await, 0);
}

#[sqlx::test]
async fn ipv6_addresses_in_one_slash_64_share_a_bucket(pool: PgPool) {
    let app = spawn_app_with(pool, FROM_MANY).await;
    app.signup(&Signup::valid("jane@acme.io")).await;
    for i in 1..=5 {
        let address = format!("2001:db8:1:2::{i}");
        let res = login_from(
            &app,
            &browser(),
            &address,
            "jane@acme.io",
            "guess-123",
            None,
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Another address of the same /64: throttled with the rest.
    let res = login_from(
        &app,
        &browser(),
        "2001:db8:1:2:ffff::9",
        "jane@acme.io",
        PASSWORD,
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // The next /64 is someone else.
    let res = login_from(
        &app,
        &browser(),
        "2001:db8:1:3::1",
        "jane@acme.io",
        PASSWORD,
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[sqlx::test]
async fn the_failure_table_holds_no_raw_email_and_is_pruned(pool: PgPool) {
    let app = spawn_app(pool).await;
    for _ in 0..3 {
        app.login_with(&browser(), "Jane.Doe@Acme.io", "wrong-password")
            .await;
    }
    assert_eq!(app.count("auth_failures").await, 3);
    let leaked = app
        .scalar("SELECT count(*) FROM auth_failures t WHERE lower(t::text) LIKE '%jane%' OR lower(t::text) LIKE '%acme%'")
        .await;
    assert_eq!(leaked, 0);
    let columns = app
        .scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'auth_failures' AND column_name = 'email'")
        .await;
    assert_eq!(columns, 0);
    let distinct = app
        .scalar("SELECT count(DISTINCT email_key) FROM auth_failures")
        .await;
    assert_eq!(distinct, 1, "one email, one key");

    // Rows older than every window go; recent ones stay.
    sqlx::query("UPDATE auth_failures SET at = now() - interval '2 hours' WHERE id = (SELECT min(id) FROM auth_failures)")
        .execute(&app.pool)
        .await
        .unwrap();
    inboxgrove::server::services::accounts::prune_auth_records(&app.state)
        .await
        .unwrap();
    assert_eq!(app.count("auth_failures").await, 2);
}

#[sqlx::test]
async fn someone_elses_verification_link_confirms_their_address_but_never_switches_this_browser(
    pool: PgPool,
) {
    let app = spawn_app(pool).await;
    let victim = browser();
    assert!(
        app.signup_with(&victim, &Signup::valid("victim@acme.io"))
            .await
            .status()
            .is_success()
    );
    // Mallory signs up and sends the victim her own link.
    let mallory = browser();
    let since = Utc::now();
    let mut m = Signup::valid("mallory@evil.io");
    m.company = "Mallory Co";
    app.signup_raw(&mallory, &m).await;
    let token = app
        .mailed_token("mallory@evil.io", "verify:", since)
        .await
        .expect("a verification link");
    let res = app.verify_with(&victim, &token).await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    // The link did what it says for its own address ...
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM users WHERE email = 'mallory@evil.io' AND email_verified_at IS NOT NULL"
        )
        .await,
        1
    );
    // ... and the victim's browser is still the victim's, in the victim's workspace.
    let me = json(victim.get(app.url("/api/auth/me")).send().await.unwrap()).await;
    assert_eq!(me["email"], "victim@acme.io", "{me}");
    assert_ne!(me["workspace"]["name"], "Mallory Co", "{me}");
    // A browser signed in to no one is signed in by the link, as before.
    let fresh = browser();
    let since = Utc::now();
    let mut other = Signup::valid("late@acme.io");
    other.company = "Late Co";
    app.signup_raw(&browser(), &other).await;
    let token = app
        .mailed_token("late@acme.io", "verify:", since)
        .await
        .unwrap();
    app.verify_with(&fresh, &token).await;
    let me = json(fresh.get(app.url("/api/auth/me")).send().await.unwrap()).await;
    assert_eq!(me["email"], "late@acme.io", "{me}");
}
