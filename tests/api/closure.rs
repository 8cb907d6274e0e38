//! Closing a workspace: the owner (or staff) confirms with its name; a resumable job cancels
//! the subscription, withdraws and deletes domains and inboxes, removes the people and
//! pseudonymises the trail; nothing of it can be signed into or read afterwards.

use sqlx::PgPool;

use crate::helpers::*;
use crate::inboxes::{app_with, customer_with_domains, provision, worker};

#[sqlx::test]
async fn closing_a_workspace_cancels_withdraws_deletes_and_forgets_its_people(pool: PgPool) {
    let (app, dir) = app_with(pool, &[]).await;
    let domains =
        customer_with_domains(&app, &app.client, "owner@acme.io", &["close-me.com"]).await;
    assert_eq!(
        provision(
            &app,
            &app.client,
            &domains,
            "3",
            "first.last",
            "key-close-0001"
        )
        .await
        .status(),
        200
    );
    let res = app
        .client
        .post(app.url("/api/billing/plan"))
        .header("accept", "text/html")
        .form(&[("plan", "starter")])
        .send()
        .await
        .unwrap();
    let checkout = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(pay(&app, &checkout, "4242424242424242").await.status(), 303);
    worker(&app).run_until_idle().await.unwrap();
    let tenant: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM tenants WHERE name = 'Acme Outreach'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(std::path::Path::new(&format!("{dir}/tenants/{tenant}")).exists());

    let res = post(
        &app.client,
        &app,
        "/api/domains/connect",
        &[("name", "own-close.io")],
    )
    .await;
    assert!(res.status().is_success());
    let solo = app
        .join(&app.invite(&app.client, "solo@acme.io", "admin").await)
        .await;
    let jim = browser();
    let mut own = Signup::valid("jim@else.io");
    own.company = "Jim Co";
    app.signup_with(&jim, &own).await;
    let since = chrono::Utc::now();
    post(
        &app.client,
        &app,
        "/api/team/invite",
        &[("email", "jim@else.io"), ("role", "member")],
    )
    .await;
    let token = app
        .mailed_token("jim@else.io", "invite:", since)
        .await
        .unwrap();
    assert!(
        post(
            &jim,
            &app,
            "/api/auth/accept_invitation",
            &[("token", &token)]
        )
        .await
        .status()
        .is_success()
    );

    // Only the owner, and only with the name typed exactly.
    assert_eq!(
        post(
            &solo,
            &app,
            "/api/team/close",
            &[("confirm", "Acme Outreach")]
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        post(
            &app.client,
            &app,
            "/api/team/close",
            &[("confirm", "acme outreach")]
        )
        .await
        .status(),
        422
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM workspace_closures").await,
        0
    );
    let res = post(
        &app.client,
        &app,
        "/api/team/close",
        &[("confirm", "Acme Outreach")],
    )
    .await;
    assert!(res.status().is_success(), "{}", res.status());

    // At once, before the job: nobody gets in.
    for client in [&app.client, &solo, &jim] {
        assert_eq!(app.call(client, "/api/dashboard").await.status(), 401);
    }

    worker(&app).run_until_idle().await.unwrap();
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM workspace_closure_steps WHERE tenant_id = '{tenant}'"
        ))
        .await,
        7
    );
    // Nothing is left to run: the closure finished in one go.
    assert_eq!(worker(&app).run_until_idle().await.unwrap(), 0);
    assert_eq!(
        app.scalar("SELECT count(*) FROM workspace_closures WHERE finished_at IS NOT NULL")
            .await,
        1
    );
    // The subscription is canceled at the payment provider.
    assert_eq!(
        app.scalar("SELECT count(*) FROM sandbox_stripe_subscriptions WHERE cancel_at_period_end")
            .await,
        1
    );
    // Withdrawn from the relay, domains and inboxes deleted with their secrets.
    assert!(
        !std::path::Path::new(&format!("{dir}/tenants/{tenant}")).exists(),
        "relay files gone"
    );
    assert_eq!(app.scalar(&format!("SELECT count(*) FROM domains WHERE tenant_id = '{tenant}' AND (status <> 'deleted' OR dkim_private_key IS NOT NULL)")).await, 0);
    assert_eq!(app.scalar(&format!("SELECT count(*) FROM inboxes WHERE tenant_id = '{tenant}' AND (status <> 'deleted' OR password_sealed IS NOT NULL)")).await, 0);
    // People: the owner and the solo admin are deleted; Jim keeps his own workspace.
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE email IN ('owner@acme.io', 'solo@acme.io')")
            .await,
        0
    );
    assert_eq!(
        app.login_with(&browser(), "owner@acme.io", PASSWORD)
            .await
            .status(),
        401
    );
    assert!(
        app.login_with(&browser(), "jim@else.io", PASSWORD)
            .await
            .status()
            .is_success()
    );
    let me = json(jim.get(app.url("/api/auth/me")).send().await.unwrap()).await;
    assert_eq!(me["workspaces"].as_array().map(Vec::len), Some(1), "{me}");
    assert_eq!(me["workspaces"][0]["name"], "Jim Co");
    // The trail keeps what happened, without who.
    assert!(
        app.scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE tenant_id = '{tenant}'"
        ))
        .await
            > 5
    );
    assert_eq!(
        app.scalar(&format!("SELECT count(*) FROM audit_log WHERE tenant_id = '{tenant}' AND (actor_label LIKE '%@%' OR coalesce(before::text, '') LIKE '%@%' OR coalesce(after::text, '') LIKE '%@%' OR ip IS NOT NULL)")).await,
        0
    );
    // The owner is told; a connected domain's name is free for someone else (a bought one
    // stays held until its registration, not renewed, runs out).
    assert_eq!(
        app.scalar("SELECT count(*) FROM mail_outbox WHERE to_addr = 'owner@acme.io' AND subject = 'Your InboxGrove workspace is closed' AND status = 'sent'").await,
        1
    );
    let jim = browser();
    assert!(
        app.login_with(&jim, "jim@else.io", PASSWORD)
            .await
            .status()
            .is_success()
    );
    let res = post(
        &jim,
        &app,
        "/api/domains/connect",
        &[("name", "own-close.io")],
    )
    .await;
    assert!(
        res.status().is_success(),
        "the name is free: {}",
        res.text().await.unwrap()
    );
}

#[sqlx::test]
async fn staff_close_a_tenant_by_typing_its_name(pool: PgPool) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_JOBS__WORKERS", "0")]).await;
    app.signup(&Signup::valid("owner@acme.io")).await;
    let tenant: uuid::Uuid = sqlx::query_scalar("SELECT id FROM tenants")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let staff = crate::kill_switch::staff(&app).await;
    let t = tenant.to_string();
    assert_eq!(
        post(
            &app.client,
            &app,
            "/api/admin/tenants/close",
            &[("tenant", &t), ("confirm", "Acme Outreach")]
        )
        .await
        .status(),
        404,
        "customers get nothing"
    );
    assert_eq!(
        post(
            &staff,
            &app,
            "/api/admin/tenants/close",
            &[("tenant", &t), ("confirm", "Acme")]
        )
        .await
        .status(),
        422
    );
    assert_eq!(
        post(
            &staff,
            &app,
            "/api/admin/tenants/close",
            &[("tenant", &t), ("confirm", "Acme Outreach")]
        )
        .await
        .status(),
        200
    );
    assert_eq!(app.call(&app.client, "/api/dashboard").await.status(), 401);
    worker(&app).run_until_idle().await.unwrap();
    // The admin panel still lists it, as closed.
    let form = [("q", ""), ("status", "closed"), ("page", "1")];
    let list = json(post(&staff, &app, "/api/admin/tenants", &form).await).await;
    assert_eq!(list["tenants"].as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE email = 'owner@acme.io'")
            .await,
        0
    );
    let steps: Vec<(String, serde_json::Value)> =
        sqlx::query_as("SELECT step, detail FROM workspace_closure_steps")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let mails: Vec<(String, String, String)> =
        sqlx::query_as("SELECT to_addr, subject, status FROM mail_outbox")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM mail_outbox WHERE subject = 'Your InboxGrove workspace is closed'"
        )
        .await,
        1,
        "{steps:?} {mails:?} {:?}",
        sqlx::query_as::<_, (String, Option<String>)>("SELECT status, last_error FROM jobs")
            .fetch_all(&app.pool)
            .await
            .unwrap()
    );
}
