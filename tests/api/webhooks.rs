//! Outbound webhooks (signatures checked by the Standard Webhooks maintainers' own library,
//! retries, the delivery log, re-sending, disabling after days of failures, the refusal of
//! private targets) and the push of inboxes to Instantly and Smartlead (against fakes that
//! speak their APIs, and the sandbox).

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;
use crate::inboxes::{app_with, customer_with_domains, provision, worker};

const PRIVATE_OK: (&str, &str) = ("INBOXGROVE_API__ALLOW_PRIVATE_TARGETS", "true");
const NO_WAIT: (&str, &str) = ("INBOXGROVE_API__WEBHOOK_BACKOFF_SECS", "0");

async fn endpoint(
    app: &TestApp,
    client: &reqwest::Client,
    url: &str,
    events: &str,
) -> reqwest::Response {
    post(
        client,
        app,
        "/api/integrations/webhook/create",
        &[("url", url), ("events", events)],
    )
    .await
}

/// The three Standard Webhooks headers of a received request.
pub fn signature_headers(req: &wiremock::Request) -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(name, req.headers[name].to_str().unwrap().parse().unwrap());
    }
    headers
}

fn verify(secret: &str, req: &wiremock::Request) -> Value {
    let headers = signature_headers(req);
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(&req.body, &headers)
        .expect("a valid Standard Webhooks signature");
    serde_json::from_slice(&req.body).unwrap()
}

#[sqlx::test]
async fn events_are_signed_per_the_spec_retried_logged_and_resent(pool: PgPool) {
    let (app, _dir) = app_with(pool, &[PRIVATE_OK, NO_WAIT]).await;
    let owner = browser();
    let domains = customer_with_domains(&app, &owner, "owner@acme.io", &["acme-mail.com"]).await;
    let receiver = MockServer::start().await;
    // The first attempt fails, the second succeeds.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let res = endpoint(
        &app,
        &owner,
        &format!("{}/hooks", receiver.uri()),
        "inbox.batch.created,webhook.test",
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let secret = json(res).await.as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT secret_sealed FROM webhook_endpoints")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&sealed).contains(&secret[6..]),
        "sealed at rest"
    );

    assert_eq!(
        provision(&app, &owner, &domains, "3", "first", "webhook-k1")
            .await
            .status(),
        StatusCode::OK
    );
    worker(&app).run_until_idle().await.unwrap();
    let got = receiver.received_requests().await.unwrap();
    assert_eq!(got.len(), 2, "one failure, one retry");
    let first = verify(&secret, &got[0]);
    let second = verify(&secret, &got[1]);
    assert_eq!(first["type"], "inbox.batch.created");
    assert_eq!(second["data"]["count"], 3);
    assert_eq!(
        got[0].headers["webhook-id"], got[1].headers["webhook-id"],
        "one message id across retries"
    );
    // A tampered body fails the independent check.
    let mut forged = got[1].clone();
    forged.body = br#"{"type":"inbox.batch.created","data":{"count":300}}"#.to_vec();
    let headers = signature_headers(&forged);
    assert!(
        standardwebhooks::Webhook::new(&secret)
            .unwrap()
            .verify(&forged.body, &headers)
            .is_err()
    );

    let (status, attempts): (String, i32) =
        sqlx::query_as("SELECT status, attempts FROM webhook_deliveries")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("delivered", 2));
    let logged: Vec<(Option<i32>, i32)> =
        sqlx::query_as("SELECT status, ms FROM webhook_attempts ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        logged.iter().map(|l| l.0).collect::<Vec<_>>(),
        [Some(503), Some(204)]
    );

    // Re-sent from the page: another attempt of the same message.
    let view = json(post(&owner, &app, "/api/integrations", &[]).await).await;
    let delivery = view["endpoints"][0]["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(view["endpoints"][0]["deliveries"][0]["status"], "delivered");
    let res = post(
        &owner,
        &app,
        "/api/integrations/webhook/resend",
        &[("id", &delivery)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    worker(&app).run_until_idle().await.unwrap();
    assert_eq!(receiver.received_requests().await.unwrap().len(), 3);

    // Another workspace cannot re-send, test or remove it; an admin cannot change endpoints.
    let rival = browser();
    rival_signup(&app, &rival).await;
    assert_eq!(
        post(
            &rival,
            &app,
            "/api/integrations/webhook/resend",
            &[("id", &delivery)]
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    let hook_id = view["endpoints"][0]["id"].as_str().unwrap().to_string();
    let res = post(
        &rival,
        &app,
        "/api/integrations/webhook/change",
        &[("id", &hook_id), ("action", "delete")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let token = app.invite(&owner, "ann@acme.io", "admin").await;
    let ann = app.join(&token).await;
    let res = post(
        &ann,
        &app,
        "/api/integrations/webhook/change",
        &[("id", &hook_id), ("action", "delete")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("webhook_endpoints").await, 1);
}

async fn rival_signup(app: &TestApp, client: &reqwest::Client) {
    let mut s = Signup::valid("eve@rival.io");
    s.company = "Rival Co";
    assert!(app.signup_with(client, &s).await.status().is_success());
}

#[sqlx::test]
async fn an_endpoint_failing_for_three_days_is_disabled_and_its_owner_mailed(pool: PgPool) {
    let (app, _dir) = app_with(pool, &[PRIVATE_OK, NO_WAIT]).await;
    app.signup(&Signup::valid("owner@acme.io")).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&receiver)
        .await;
    let res = endpoint(&app, &app.client, &receiver.uri(), "webhook.test").await;
    assert_eq!(res.status(), StatusCode::OK);
    let id: String = app_scalar_text(&app, "SELECT id::text FROM webhook_endpoints").await;
    sqlx::query("UPDATE webhook_endpoints SET failing_since = now() - interval '73 hours'")
        .execute(&app.pool)
        .await
        .unwrap();
    let res = post(
        &app.client,
        &app,
        "/api/integrations/webhook/change",
        &[("id", &id), ("action", "test")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    worker(&app).run_until_idle().await.unwrap();
    let (enabled, reason): (bool, Option<String>) =
        sqlx::query_as("SELECT enabled, disabled_reason FROM webhook_endpoints")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!enabled);
    assert!(reason.unwrap().contains("72 hours"));
    assert_eq!(
        receiver.received_requests().await.unwrap().len(),
        1,
        "no retry once disabled"
    );
    let mailed: i64 = app
        .scalar(
            "SELECT count(*) FROM mail_outbox WHERE subject = 'A webhook endpoint was disabled'",
        )
        .await;
    assert_eq!(mailed, 1);
    // A disabled endpoint gets no new events until turned back on.
    let res = post(
        &app.client,
        &app,
        "/api/integrations/webhook/change",
        &[("id", &id), ("action", "test")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = post(
        &app.client,
        &app,
        "/api/integrations/webhook/change",
        &[("id", &id), ("action", "enable")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn app_scalar_text(app: &TestApp, sql: &str) -> String {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

#[sqlx::test]
async fn private_loopback_and_metadata_targets_are_refused_after_resolution(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("owner@acme.io")).await;
    for url in [
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://10.1.2.3/hook",
        "http://hooks.example.com/plain-http",
        "file:///etc/passwd",
    ] {
        let res = endpoint(&app, &app.client, url, "webhook.test").await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        let body = json(res).await;
        assert!(body.to_string().contains("url"), "{url}: {body}");
    }
    assert_eq!(app.count("webhook_endpoints").await, 0);
    let res = endpoint(&app, &app.client, "https://127.0.0.1/hook", "everything").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test]
async fn inboxes_are_pushed_to_instantly_and_smartlead_through_their_apis(pool: PgPool) {
    let instantly = MockServer::start().await;
    let smartlead = MockServer::start().await;
    let (app, _dir) = app_with(
        pool,
        &[
            ("INBOXGROVE_API__INSTANTLY_BASE_URL", &instantly.uri()),
            ("INBOXGROVE_API__SMARTLEAD_BASE_URL", &smartlead.uri()),
        ],
    )
    .await;
    let owner = browser();
    let domains = customer_with_domains(&app, &owner, "owner@acme.io", &["acme-mail.com"]).await;
    assert_eq!(
        provision(&app, &owner, &domains, "3", "first", "webhook-k1")
            .await
            .status(),
        StatusCode::OK
    );
    let inboxes: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, address FROM inboxes ORDER BY address")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let ids = inboxes
        .iter()
        .map(|i| i.0.to_string())
        .collect::<Vec<_>>()
        .join(",");

    // No key stored yet: a clear refusal, nothing sent.
    let res = post(
        &owner,
        &app,
        "/api/integrations/push",
        &[("tool", "instantly"), ("ids", &ids)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = post(
        &owner,
        &app,
        "/api/integrations/tool",
        &[("tool", "instantly"), ("key", "inst_key_123456")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    post(
        &owner,
        &app,
        "/api/integrations/tool",
        &[("tool", "smartlead"), ("key", "sl_key_abcdef")],
    )
    .await;
    let sealed: Vec<u8> =
        sqlx::query_scalar("SELECT key_sealed FROM tool_connections WHERE tool = 'instantly'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains("inst_key_123456"));

    let (first, second, third) = (&inboxes[0].1, &inboxes[1].1, &inboxes[2].1);
    let body_for = |address: &str| {
        wiremock::matchers::body_partial_json(serde_json::json!({ "email": address }))
    };
    Mock::given(method("POST"))
        .and(path("/api/v2/accounts"))
        .and(header("authorization", "Bearer inst_key_123456"))
        .and(body_for(first))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"email": first, "status": 1})),
        )
        .expect(1)
        .mount(&instantly)
        .await;
    Mock::given(method("POST")).and(path("/api/v2/accounts")).and(body_for(second))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({"statusCode": 400, "error": "Bad Request", "message": "Account already exists"})))
        .mount(&instantly).await;
    Mock::given(method("POST")).and(path("/api/v2/accounts")).and(body_for(third))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({"statusCode": 400, "error": "Bad Request", "message": "IMAP connection failed"})))
        .mount(&instantly).await;
    let res = post(
        &owner,
        &app,
        "/api/integrations/push",
        &[("tool", "instantly"), ("ids", &ids)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let items = json(res).await;
    let outcome = |a: &str| {
        items
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["address"] == a)
            .unwrap()
            .clone()
    };
    assert_eq!(outcome(first)["outcome"], "added");
    assert_eq!(outcome(second)["outcome"], "exists");
    assert_eq!(outcome(third)["outcome"], "refused");
    assert_eq!(outcome(third)["message"], "IMAP connection failed");
    // What Instantly got: the real login, SMTP and IMAP.
    let sent = instantly.received_requests().await.unwrap();
    let account: Value = serde_json::from_slice(&sent[0].body).unwrap();
    let inbox_id = inboxes
        .iter()
        .find(|i| i.1 == account["email"].as_str().unwrap())
        .unwrap()
        .0;
    let password = crate::inboxes::reveal(&app, &owner, inbox_id).await;
    assert_eq!(account["smtp_password"], password.as_str());
    assert_eq!(account["imap_password"], password.as_str());
    assert_eq!(account["provider_code"], 1);
    assert!(
        account["smtp_port"].as_u64().unwrap() > 0 && account["imap_port"].as_u64().unwrap() > 0
    );

    Mock::given(method("POST"))
        .and(path("/api/v1/email-accounts/save"))
        .and(query_param("api_key", "sl_key_abcdef"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"ok": true, "message": "Email account added successfully"}),
        ))
        .expect(1)
        .mount(&smartlead)
        .await;
    let res = post(
        &owner,
        &app,
        "/api/integrations/push",
        &[("tool", "smartlead"), ("ids", &inboxes[0].0.to_string())],
    )
    .await;
    assert_eq!(json(res).await[0]["outcome"], "added");
    let sent = smartlead.received_requests().await.unwrap();
    let account: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(account["from_email"], first.as_str());
    assert_eq!(account["type"], "SMTP");

    // Another workspace cannot push these inboxes.
    let rival = browser();
    rival_signup(&app, &rival).await;
    post(
        &rival,
        &app,
        "/api/integrations/tool",
        &[("tool", "smartlead"), ("key", "rival_key_1")],
    )
    .await;
    let res = post(
        &rival,
        &app,
        "/api/integrations/push",
        &[("tool", "smartlead"), ("ids", &ids)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(smartlead.received_requests().await.unwrap().len(), 1);
}

#[sqlx::test]
async fn the_sandbox_tools_keep_what_was_added(pool: PgPool) {
    let (app, _dir) = app_with(pool, &[]).await;
    let owner = browser();
    let domains = customer_with_domains(&app, &owner, "owner@acme.io", &["acme-mail.com"]).await;
    provision(&app, &owner, &domains, "2", "first", "webhook-k1").await;
    let ids: Vec<String> = sqlx::query_scalar("SELECT id::text FROM inboxes")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let ids = ids.join(",");
    post(
        &owner,
        &app,
        "/api/integrations/tool",
        &[("tool", "instantly"), ("key", "sandbox-key-1")],
    )
    .await;
    let first = json(
        post(
            &owner,
            &app,
            "/api/integrations/push",
            &[("tool", "instantly"), ("ids", &ids)],
        )
        .await,
    )
    .await;
    assert!(
        first
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["outcome"] == "added"),
        "{first}"
    );
    let again = json(
        post(
            &owner,
            &app,
            "/api/integrations/push",
            &[("tool", "instantly"), ("ids", &ids)],
        )
        .await,
    )
    .await;
    assert!(
        again
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["outcome"] == "exists"),
        "{again}"
    );
    let pushes: i64 = app
        .scalar("SELECT count(*) FROM audit_log WHERE action = 'tool.push'")
        .await;
    assert_eq!(pushes, 2);
}
