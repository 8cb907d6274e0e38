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

#[sqlx::test]
async fn odd_and_huge_values_are_refused_with_nothing_made(pool: PgPool) {
    let (app, _dir) = app_with(pool, &[("INBOXGROVE_API__ALLOW_PRIVATE_TARGETS", "true")]).await;
    let owner = browser();
    let domains = customer_with_domains(&app, &owner, "owner@acme.io", &["acme-mail.com"]).await;
    let all = make_key(&app, &owner, ALL).await;
    let keys_before = app.count("api_keys").await;

    // Keys: a huge or control-character name, an unknown scope, an absurd expiry.
    let long = "k".repeat(81);
    for (name, scopes, days) in [
        (long.as_str(), "read", ""),
        ("line\nbreak", "read", ""),
        ("ok", "read,admin", ""),
        ("ok", "", ""),
        ("ok", "read", "99999"),
        ("ok", "read", "-1"),
    ] {
        let res = post(
            &owner,
            &app,
            "/api/integrations/key/create",
            &[("name", name), ("scopes", scopes), ("expires_days", days)],
        )
        .await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?} {scopes} {days}"
        );
    }
    assert_eq!(app.count("api_keys").await, keys_before);

    // Idempotency keys that are not printable ASCII or too long; a body over the limit.
    let body = json!({"domains": [domains[0].to_string()], "per_domain": 1, "convention": "first"});
    for idem in ["clé-unique", &"x".repeat(201)] {
        let res = v1(&app, &all, Method::POST, "/v1/inboxes")
            .header("idempotency-key", idem)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{idem}");
    }
    let res = v1(&app, &all, Method::POST, "/v1/domains")
        .header("content-type", "application/json")
        .body(format!("{{\"name\":\"{}\"}}", "a".repeat(200_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.count("inboxes").await, 0);

    // Odd paging values.
    for q in [
        "limit=-1",
        "limit=0",
        "cursor=../../etc/passwd",
        "cursor=%00",
    ] {
        let (status, _) = call(&app, &all, Method::GET, &format!("/v1/inboxes?{q}"), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
    }
    let (status, _) = call(&app, &all, Method::GET, "/v1/inboxes?limit=abc", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(
        &app,
        &all,
        Method::GET,
        "/v1/audit?cursor=not-a-number",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A webhook URL over 2,000 characters; a tool key with spaces or over 500 characters.
    let url = format!("https://hooks.example.com/{}", "p".repeat(2000));
    let res = post(
        &owner,
        &app,
        "/api/integrations/webhook/create",
        &[("url", &url), ("events", "webhook.test")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let big = "k".repeat(501);
    for key in ["has space", "tab\tkey", big.as_str()] {
        let res = post(
            &owner,
            &app,
            "/api/integrations/tool",
            &[("tool", "instantly"), ("key", key)],
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{key:?}");
    }
    let res = post(
        &owner,
        &app,
        "/api/integrations/tool",
        &[("tool", "mailchimp"), ("key", "abcdefgh")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("webhook_endpoints").await, 0);
    assert_eq!(app.count("tool_connections").await, 0);

    // A display name set through the API cannot become a live formula in an export.
    let (_, made) = call(&app, &all, Method::POST, "/v1/inboxes", Some(body.clone())).await;
    let (_, page) = call(
        &app,
        &all,
        Method::GET,
        &format!("/v1/inboxes?batch={}", made["batch_id"].as_str().unwrap()),
        None,
    )
    .await;
    let id = page["data"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = call(
        &app,
        &all,
        Method::PATCH,
        &format!("/v1/inboxes/{id}"),
        Some(json!({"display_name": "=HYPERLINK(\"http://evil.test\")"})),
    )
    .await;
    if status == StatusCode::OK {
        let (_, csv) = call(
            &app,
            &all,
            Method::GET,
            "/v1/inboxes/export?format=generic",
            None,
        )
        .await;
        for cell in csv
            .as_str()
            .unwrap()
            .lines()
            .skip(1)
            .flat_map(|l| l.split(','))
        {
            assert!(
                !cell.trim_matches('"').starts_with('='),
                "a live formula: {cell}"
            );
        }
    } else {
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
