//! Every `/v1` endpoint once, with a key that may use it, and again with a key that lacks its
//! scope; a rotated webhook secret signs beside the old one.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::*;
use crate::inboxes::{app_with, customer_with_domains};
use crate::public_api::{ALL, make_key, v1};

async fn call(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = v1(app, key, method, path).header("idempotency-key", "endpoint-test");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[sqlx::test]
async fn every_endpoint_works_with_its_scope_and_refuses_a_key_without_it(pool: PgPool) {
    let (app, _dir) = app_with(pool, &[("INBOXGROVE_TRIAL__MAX_DOMAINS", "5")]).await;
    let owner = browser();
    let domains = customer_with_domains(&app, &owner, "owner@acme.io", &["acme-mail.com"]).await;
    let all = make_key(&app, &owner, ALL).await;
    let read = make_key(&app, &owner, "read").await;
    let d = domains[0];

    // Writes a read-only key may not make: each is 403 insufficient-scope, and changes nothing.
    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/v1/domains".into(),
            Some(json!({"name": "other-mail.com"})),
        ),
        (
            Method::POST,
            "/v1/domains/purchase".into(),
            Some(json!({"name": "buy-this.com"})),
        ),
        (Method::POST, format!("/v1/domains/{d}/recheck"), None),
        (Method::DELETE, format!("/v1/domains/{d}"), None),
        (
            Method::POST,
            "/v1/inboxes".into(),
            Some(json!({"domains": [d.to_string()], "per_domain": 1, "convention": "first"})),
        ),
        (Method::GET, "/v1/inboxes/export".into(), None),
    ];
    for (method, path, body) in &writes {
        let (status, p) = call(&app, &read, method.clone(), path, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {p}");
        assert!(
            p["type"].as_str().unwrap().ends_with("insufficient-scope"),
            "{p}"
        );
    }
    assert_eq!(app.count("inboxes").await, 0);
    assert_eq!(
        app.scalar("SELECT count(*) FROM domains WHERE status <> 'deleted'")
            .await,
        1
    );

    // Search and availability.
    let (status, found) = call(
        &app,
        &read,
        Method::GET,
        "/v1/domains/search?q=fresh-name",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert!(
        found["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "fresh-name.com")
    );
    // Connect a domain the customer owns: 201 with its records to set.
    let (status, connected) = call(
        &app,
        &all,
        Method::POST,
        "/v1/domains",
        Some(json!({"name": "own-mail.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{connected}");
    assert!(connected["records"].as_array().unwrap().len() >= 4);
    let (status, again) = call(
        &app,
        &all,
        Method::POST,
        "/v1/domains",
        Some(json!({"name": "own-mail.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let (status, bad) = call(
        &app,
        &all,
        Method::POST,
        "/v1/domains",
        Some(json!({"name": "not a domain"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (status, bad) = call(
        &app,
        &all,
        Method::POST,
        "/v1/domains",
        Some(json!({"nom": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    // Buy: a Checkout URL, nothing charged yet.
    let (status, bought) = call(
        &app,
        &all,
        Method::POST,
        "/v1/domains/purchase",
        Some(json!({"name": "buy-this.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{bought}");
    assert!(
        bought["checkout_url"]
            .as_str()
            .unwrap()
            .contains("checkout"),
        "{bought}"
    );
    // Recheck.
    let (status, checked) = call(
        &app,
        &all,
        Method::POST,
        &format!("/v1/domains/{d}/recheck"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(checked["health"], "ok");

    // Inboxes: provision, get, change, suspend, resume, delete.
    let (status, batch) = call(
        &app,
        &all,
        Method::POST,
        "/v1/inboxes",
        Some(json!({"domains": [d.to_string()], "per_domain": 2, "convention": "roles"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{batch}");
    let (_, page) = call(
        &app,
        &read,
        Method::GET,
        &format!("/v1/inboxes?batch={}", batch["batch_id"].as_str().unwrap()),
        None,
    )
    .await;
    let id = page["data"][0]["id"].as_str().unwrap().to_string();
    let (status, one) = call(&app, &read, Method::GET, &format!("/v1/inboxes/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(one["smtp_port"].as_u64().unwrap() > 0);
    let (status, p) = call(
        &app,
        &read,
        Method::PATCH,
        &format!("/v1/inboxes/{id}"),
        Some(json!({"daily_cap": 20})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{p}");
    let (status, changed) = call(
        &app,
        &all,
        Method::PATCH,
        &format!("/v1/inboxes/{id}"),
        Some(json!({"display_name": "Sales Team", "daily_cap": 20})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (
            changed["display_name"].as_str(),
            changed["daily_cap"].as_i64()
        ),
        (Some("Sales Team"), Some(20))
    );
    let (status, bad) = call(
        &app,
        &all,
        Method::PATCH,
        &format!("/v1/inboxes/{id}"),
        Some(json!({"daily_cap": 100000})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    for (action, want) in [("suspend", "suspended"), ("resume", "pending_relay")] {
        let (status, p) = call(
            &app,
            &read,
            Method::POST,
            &format!("/v1/inboxes/{id}/{action}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{p}");
        let (status, after) = call(
            &app,
            &all,
            Method::POST,
            &format!("/v1/inboxes/{id}/{action}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{action}: {after}");
        assert_eq!(after["status"], want);
    }
    let (status, _) = call(
        &app,
        &read,
        Method::DELETE,
        &format!("/v1/inboxes/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &app,
        &all,
        Method::DELETE,
        &format!("/v1/inboxes/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, &all, Method::GET, &format!("/v1/inboxes/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for format in ["generic", "instantly", "smartlead", "salesforge"] {
        let (status, csv) = call(
            &app,
            &all,
            Method::GET,
            &format!("/v1/inboxes/export?format={format}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{format}");
        assert_eq!(
            csv.as_str().unwrap().lines().count(),
            2,
            "{format}: header and the one inbox left"
        );
    }
    let (status, _) = call(
        &app,
        &all,
        Method::GET,
        "/v1/inboxes/export?format=excel",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Delete the connected domain.
    let own = connected["id"].as_str().unwrap();
    let (status, gone) = call(
        &app,
        &all,
        Method::DELETE,
        &format!("/v1/domains/{own}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    let (status, _) = call(&app, &all, Method::GET, &format!("/v1/domains/{own}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn a_rotated_secret_signs_beside_the_old_one(pool: PgPool) {
    let (app, _dir) = app_with(pool, &[("INBOXGROVE_API__ALLOW_PRIVATE_TARGETS", "true")]).await;
    app.signup(&Signup::valid("owner@acme.io")).await;
    let receiver = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let res = post(
        &app.client,
        &app,
        "/api/integrations/webhook/create",
        &[("url", &receiver.uri()), ("events", "webhook.test")],
    )
    .await;
    let old = json(res).await.as_str().unwrap().to_string();
    let id: String = sqlx::query_scalar("SELECT id::text FROM webhook_endpoints")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let res = post(
        &app.client,
        &app,
        "/api/integrations/webhook/change",
        &[("id", &id), ("action", "rotate")],
    )
    .await;
    let new = json(res).await.as_str().unwrap().to_string();
    assert_ne!(old, new);
    post(
        &app.client,
        &app,
        "/api/integrations/webhook/change",
        &[("id", &id), ("action", "test")],
    )
    .await;
    crate::inboxes::worker(&app).run_until_idle().await.unwrap();
    let got = receiver.received_requests().await.unwrap();
    assert_eq!(got.len(), 1);
    let headers = crate::webhooks::signature_headers(&got[0]);
    for secret in [&old, &new] {
        standardwebhooks::Webhook::new(secret)
            .unwrap()
            .verify(&got[0].body, &headers)
            .expect("signed under both during the overlap");
    }
    let stranger = format!("whsec_{}", "QUJD".repeat(8));
    assert!(
        standardwebhooks::Webhook::new(&stranger)
            .unwrap()
            .verify(&got[0].body, &headers)
            .is_err()
    );
}
