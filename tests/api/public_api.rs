//! The public `/v1` API: scoped keys made on `/settings/api`, what each scope and role may do,
//! other workspaces' ids, revocation at once, suspension, metering, the OpenAPI document.

use reqwest::{Client, StatusCode};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::*;
use crate::inboxes::{app_with, customer_with_domains, worker};

/// Makes a key as `client` (a signed-in owner or admin); returns its secret.
pub async fn make_key(app: &TestApp, client: &Client, scopes: &str) -> String {
    let res = post(
        client,
        app,
        "/api/integrations/key/create",
        &[("name", "script"), ("scopes", scopes), ("expires_days", "")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    json(res).await["secret"].as_str().unwrap().to_string()
}

pub const ALL: &str = "read,domains:write,inboxes:write,credentials:read";

pub fn v1(
    app: &TestApp,
    key: &str,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(method, app.url(path))
        .bearer_auth(key)
}

pub async fn get(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    v1(app, key, reqwest::Method::GET, path)
        .send()
        .await
        .unwrap()
}

/// A problem's `type` slug, after asserting the media type.
async fn problem(res: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status);
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "problems are RFC 9457"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    body
}

fn slug(p: &Value) -> &str {
    p["type"].as_str().unwrap().rsplit('/').next().unwrap()
}

async fn provision(
    app: &TestApp,
    key: &str,
    domain: Uuid,
    n: u32,
    idem: &str,
) -> reqwest::Response {
    v1(app, key, reqwest::Method::POST, "/v1/inboxes")
        .header("idempotency-key", idem)
        .json(&serde_json::json!({
            "domains": [domain.to_string()], "per_domain": n, "convention": "first.last"
        }))
        .send()
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_key_lists_domains_provisions_five_inboxes_once_pages_them_and_exports(pool: PgPool) {
    let (app, _dir) = app_with(pool, &[]).await;
    let owner = browser();
    let domains = customer_with_domains(&app, &owner, "owner@acme.io", &["acme-mail.com"]).await;
    let key = make_key(&app, &owner, ALL).await;
    assert!(key.starts_with("igk_"));
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret_hash FROM api_keys")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_ne!(stored, key.as_bytes(), "only a hash is stored");

    let listed: Value = get(&app, &key, "/v1/domains").await.json().await.unwrap();
    assert_eq!(listed["data"][0]["name"], "acme-mail.com");
    assert_eq!(listed["data"][0]["status"], "active");
    let one: Value = get(&app, &key, &format!("/v1/domains/{}", domains[0]))
        .await
        .json()
        .await
        .unwrap();
    assert!(one["records"].as_array().unwrap().len() >= 4, "{one}");

    let res = provision(&app, &key, domains[0], 5, "batch-1").await;
    let status = res.status();
    let batch: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{batch}");
    assert_eq!(batch["count"], 5);
    // The same key again: the same batch, nothing new.
    let again = provision(&app, &key, domains[0], 5, "batch-1").await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["batch_id"], batch["batch_id"]);
    assert_eq!(again["existing"], true);
    assert_eq!(app.count("inboxes").await, 5);
    // Without a key: refused, nothing made.
    let res = v1(&app, &key, reqwest::Method::POST, "/v1/inboxes")
        .json(&serde_json::json!({"domains": [domains[0].to_string()], "per_domain": 1, "convention": "first"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        slug(&problem(res, StatusCode::BAD_REQUEST).await),
        "bad-request"
    );
    // Bad fields: 422 naming each.
    let res = provision(&app, &key, domains[0], 0, "batch-2").await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(p["errors"][0]["field"], "per_domain");
    assert_eq!(app.count("inboxes").await, 5);

    // Pages of two, by cursor: every inbox once.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page: Value = get(&app, &key, &format!("/v1/inboxes?limit=2&cursor={cursor}"))
            .await
            .json()
            .await
            .unwrap();
        for i in page["data"].as_array().unwrap() {
            seen.push(i["address"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5);
    let res = get(&app, &key, "/v1/inboxes?limit=1000").await;
    assert_eq!(
        slug(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await),
        "invalid-request"
    );

    let csv = get(&app, &key, "/v1/inboxes/export?format=instantly").await;
    assert_eq!(csv.status(), StatusCode::OK);
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("Email,First Name,Last Name,IMAP Username,IMAP Password"));
    assert_eq!(text.lines().count(), 6);

    let usage: Value = get(&app, &key, "/v1/usage").await.json().await.unwrap();
    assert_eq!(usage["inboxes"]["used"], 5);
    assert!(
        usage["api_calls"]["used"].as_i64().unwrap() >= 10,
        "{usage}"
    );
    let audit: Value = get(&app, &key, "/v1/audit?action=inboxes.")
        .await
        .json()
        .await
        .unwrap();
    let actors: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert!(
        actors.iter().any(|a| a.contains("api key igk_")),
        "{actors:?}"
    );
    let d = get(&app, &key, "/v1/deliverability?days=7").await;
    assert_eq!(d.status(), StatusCode::OK);
    let _ = worker(&app);
}

#[sqlx::test]
async fn scopes_roles_revocation_expiry_suspension_and_other_workspaces_are_enforced(pool: PgPool) {
    let (app, _dir) = app_with(pool, &[]).await;
    let owner = browser();
    let domains = customer_with_domains(&app, &owner, "owner@acme.io", &["acme-mail.com"]).await;
    let rival = browser();
    let theirs = customer_with_domains(&app, &rival, "eve@rival.io", &["rival-mail.com"]).await;

    // No key, a malformed one, a forged one with a real prefix.
    let res = reqwest::get(app.url("/v1/domains")).await.unwrap();
    assert!(res.headers().contains_key("www-authenticate"));
    assert_eq!(
        slug(&problem(res, StatusCode::UNAUTHORIZED).await),
        "unauthorized"
    );
    let p = problem(
        get(&app, "not-a-key", "/v1/domains").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(slug(&p), "invalid-key");
    let read = make_key(&app, &owner, "read").await;
    let forged = format!("{}_{}", &read[..12], "A".repeat(43));
    let p = problem(
        get(&app, &forged, "/v1/domains").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(slug(&p), "invalid-key");

    // A read key reads, and cannot write or see passwords.
    assert_eq!(
        get(&app, &read, "/v1/inboxes").await.status(),
        StatusCode::OK
    );
    let p = problem(
        provision(&app, &read, domains[0], 1, "k").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(slug(&p), "insufficient-scope");
    let writer = make_key(&app, &owner, "read,inboxes:write").await;
    assert_eq!(
        provision(&app, &writer, domains[0], 2, "k").await.status(),
        StatusCode::CREATED
    );
    let p = problem(
        get(&app, &writer, "/v1/inboxes/export").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(slug(&p), "insufficient-scope");
    assert_eq!(app.count("inboxes").await, 2);

    // Another workspace's ids are not found, whatever the scope.
    let all = make_key(&app, &owner, ALL).await;
    for path in [
        format!("/v1/domains/{}", theirs[0]),
        format!("/v1/deliverability?scope=domain&id={}", theirs[0]),
    ] {
        let p = problem(get(&app, &all, &path).await, StatusCode::NOT_FOUND).await;
        assert_eq!(slug(&p), "not-found", "{path}");
    }
    let res = v1(
        &app,
        &all,
        reqwest::Method::DELETE,
        &format!("/v1/domains/{}", theirs[0]),
    )
    .send()
    .await
    .unwrap();
    problem(res, StatusCode::NOT_FOUND).await;
    let p = problem(
        provision(&app, &all, theirs[0], 1, "steal").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "domains", "{p}");
    let rivals: i64 = app
        .scalar("SELECT count(*) FROM domains WHERE name = 'rival-mail.com' AND status = 'active'")
        .await;
    assert_eq!(rivals, 1);
    let rival_key = make_key(&app, &rival, ALL).await;
    let their_list: Value = get(&app, &rival_key, "/v1/inboxes")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(their_list["data"].as_array().unwrap().len(), 0);

    // A member cannot make keys; an admin's key follows the admin's role as it changes.
    let token = app.invite(&owner, "ann@acme.io", "admin").await;
    let ann = app.join(&token).await;
    let admins = make_key(&app, &ann, "read,inboxes:write").await;
    assert_eq!(
        provision(&app, &admins, domains[0], 1, "ann-1")
            .await
            .status(),
        StatusCode::CREATED
    );
    let ann_id: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'ann@acme.io'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let res = post(
        &owner,
        &app,
        "/api/team/role",
        &[("user", &ann_id.to_string()), ("role", "member")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let p = problem(
        provision(&app, &admins, domains[0], 1, "ann-2").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(slug(&p), "forbidden");
    let res = post(
        &ann,
        &app,
        "/api/integrations/key/create",
        &[("name", "x"), ("scopes", "read")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = post(
        &owner,
        &app,
        "/api/team/remove",
        &[("user", &ann_id.to_string())],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let p = problem(
        get(&app, &admins, "/v1/domains").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        slug(&p),
        "invalid-key",
        "a removed member's keys stop working"
    );

    // Revoked: the next request fails. Expired: the same.
    let key_id: String = sqlx::query_scalar("SELECT id::text FROM api_keys WHERE prefix = $1")
        .bind(&read[..12])
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        post(
            &owner,
            &app,
            "/api/integrations/key/revoke",
            &[("id", &key_id)]
        )
        .await
        .status(),
        StatusCode::OK
    );
    problem(
        get(&app, &read, "/v1/domains").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // Another workspace's owner cannot revoke this workspace's key.
    let all_id: String = sqlx::query_scalar("SELECT id::text FROM api_keys WHERE prefix = $1")
        .bind(&all[..12])
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        post(
            &rival,
            &app,
            "/api/integrations/key/revoke",
            &[("id", &all_id)]
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, &all, "/v1/domains").await.status(),
        StatusCode::OK
    );
    sqlx::query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE prefix = $1")
        .bind(&writer[..12])
        .execute(&app.pool)
        .await
        .unwrap();
    problem(
        get(&app, &writer, "/v1/inboxes").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // Suspended: 403 with the reason, on every endpoint.
    let tenant: Uuid = sqlx::query_scalar("SELECT tenant_id FROM api_keys WHERE prefix = $1")
        .bind(&all[..12])
        .fetch_one(&app.pool)
        .await
        .unwrap();
    inboxgrove::server::services::suspensions::suspend(
        &app.state,
        inboxgrove::domain::TenantId(tenant),
        inboxgrove::domain::SuspensionCategory::Abuse,
        "spam complaints",
        &inboxgrove::server::db::audit::Actor::system("test"),
    )
    .await
    .unwrap();
    let p = problem(get(&app, &all, "/v1/domains").await, StatusCode::FORBIDDEN).await;
    assert_eq!(slug(&p), "workspace-suspended");
    assert!(!p["detail"].as_str().unwrap().is_empty());
    assert_eq!(
        get(&app, &rival_key, "/v1/domains").await.status(),
        StatusCode::OK
    );

    // Unknown endpoints answer as problems too.
    let p = problem(
        get(&app, &rival_key, "/v1/nothing-here").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(slug(&p), "not-found");
}

#[sqlx::test]
async fn calls_are_metered_without_a_write_each_refused_when_spent_and_kept_across_a_restart(
    pool: PgPool,
) {
    let extra = [
        ("INBOXGROVE_API__TRIAL_CALLS_PER_MONTH", "5"),
        ("INBOXGROVE_API__METER_FLUSH_SECS", "3600"),
    ];
    let app = spawn_app_with(pool.clone(), &extra).await;
    app.signup(&Signup::valid("owner@acme.io")).await;
    let key = make_key(&app, &app.client, "read").await;
    for left in (0..5).rev() {
        let res = get(&app, &key, "/v1/domains").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["ratelimit-limit"], "5");
        assert_eq!(
            res.headers()["ratelimit-remaining"],
            left.to_string().as_str()
        );
    }
    assert_eq!(
        app.count("api_usage").await,
        0,
        "no database write per call"
    );
    let res = get(&app, &key, "/v1/domains").await;
    assert!(res.headers().contains_key("ratelimit-reset"));
    let p = problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(slug(&p), "quota-exhausted");
    // The billing page shows it before any flush.
    let res = post(&app.client, &app, "/api/billing", &[]).await;
    assert_eq!(json(res).await["api_calls"]["used"], 5);

    assert_eq!(app.state.api_meter.flush(&app.pool).await.unwrap(), 5);
    assert_eq!(app.scalar("SELECT calls FROM api_usage").await, 5);
    // Another process (a restart, a replica) reads the month's total: still spent.
    let second = spawn_on(pool, settings(&extra)).await;
    let p = problem(
        get(&second, &key, "/v1/domains").await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    assert_eq!(slug(&p), "quota-exhausted");
}

#[sqlx::test]
async fn the_openapi_document_is_valid_and_has_every_v1_route(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = reqwest::get(app.url("/v1/openapi.json")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    // Valid: it parses as an OpenAPI 3.1 document, and every reference resolves.
    oas3::from_json(&text).expect("a valid OpenAPI 3.1 document");
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r.trim_start_matches('#');
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    // Every handler annotated in the source is in the document, and every operation in the
    // document is served (it answers for itself: 401 without a key, not the 404 of no route).
    let dir = format!("{}/src/server/http/v1", env!("CARGO_MANIFEST_DIR"));
    let mut annotated = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let src = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for part in src.split("#[utoipa::path(").skip(1) {
            let method = part.split(',').next().unwrap().trim().to_string();
            let path = part
                .split("path = \"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string();
            annotated.push((method, path));
        }
    }
    assert!(annotated.len() >= 17, "{annotated:?}");
    let client = reqwest::Client::new();
    for (method, path) in &annotated {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not documented"
        );
        let url = app.url(&path.replace("{id}", &Uuid::new_v4().to_string()));
        let res = client
            .request(method.to_uppercase().parse().unwrap(), url)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        annotated.len(),
        "the document has operations no handler declares"
    );
    // The reference page is rendered here, from the same document, with no outside script.
    let page = reqwest::get(app.url("/docs/api"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("/v1/inboxes/export"));
    assert!(page.contains("quota-exhausted"));
    assert!(!page.contains("<script"), "no CDN, no script");
}
