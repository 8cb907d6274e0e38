//! "Take your data out": the owner's export, built by a job, downloaded through a mailed link
//! that only that workspace's owner can use while it lives.

use reqwest::{Client, StatusCode};
use sqlx::PgPool;
use std::io::Read;

use crate::helpers::*;

/// Requests an export as `client` and returns the mailed link's path and query.
async fn export(app: &TestApp, client: &Client, email: &str, credentials: bool) -> String {
    let since = chrono::Utc::now();
    let flag = if credentials { "true" } else { "false" };
    let res = post(
        client,
        app,
        "/api/team/export",
        &[("include_credentials", flag)],
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    for _ in 0..100 {
        let body: Option<String> = sqlx::query_scalar(
            "SELECT body_text FROM mail_outbox WHERE to_addr = $1 AND idempotency_key LIKE 'export:%'
               AND created_at >= $2 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(email)
        .bind(since)
        .fetch_optional(&app.pool)
        .await
        .unwrap();
        if let Some(body) = body {
            let start = body.find("/settings/export?").unwrap();
            return body[start..].split_whitespace().next().unwrap().to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no export mail");
}

fn files(zip_bytes: &[u8]) -> Vec<(String, String)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes.to_vec())).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut text = String::new();
            f.read_to_string(&mut text).unwrap();
            (f.name().unwrap().to_string(), text)
        })
        .collect()
}

#[sqlx::test]
async fn the_owner_exports_the_workspace_as_one_archive_of_its_own_rows(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("owner@acme.io")).await;
    post(
        &app.client,
        &app,
        "/api/domains/connect",
        &[("name", "acme-mail.com")],
    )
    .await;
    let rival = browser();
    let mut other = Signup::valid("eve@rival.io");
    other.company = "Rival Co";
    app.signup_with(&rival, &other).await;
    post(
        &rival,
        &app,
        "/api/domains/connect",
        &[("name", "rival-mail.com")],
    )
    .await;

    let path = export(&app, &app.client, "owner@acme.io", false).await;
    let res = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let files = files(&res.bytes().await.unwrap());
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "workspace.json",
        "members.json",
        "domains.json",
        "inboxes.json",
        "subscription.json",
        "invoices.json",
        "ledger.json",
        "audit.json",
    ] {
        assert!(names.contains(&expected), "{expected} missing: {names:?}");
    }
    assert!(!names.contains(&"credentials.csv"), "only when asked for");
    let all: String = files.iter().map(|(_, t)| t.as_str()).collect();
    assert!(all.contains("acme-mail.com") && all.contains("owner@acme.io"));
    assert!(
        !all.contains("rival-mail.com") && !all.contains("eve@rival.io"),
        "another tenant's rows"
    );
    assert!(!all.contains("dkim_private_key") && !all.contains("password_sealed"));
    let domains: serde_json::Value =
        serde_json::from_str(&files.iter().find(|(n, _)| n == "domains.json").unwrap().1).unwrap();
    assert!(
        domains[0]["records"].as_array().unwrap().len() >= 3,
        "{domains}"
    );

    // The other workspace's owner, a forged token, and a visitor get nothing.
    let res = rival.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let forged = path.split("token=").next().unwrap().to_string() + "token=AAAA";
    assert_eq!(
        app.client
            .get(app.url(&forged))
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
    let visitor = browser().get(app.url(&path)).send().await.unwrap();
    assert_eq!(visitor.status(), StatusCode::SEE_OTHER, "to log in first");
    assert!(
        visitor.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?next=")
    );

    // Expired.
    sqlx::query("UPDATE workspace_exports SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        app.client
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_log WHERE action = 'team.export'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_log WHERE action = 'team.export_download'")
            .await,
        1
    );
}

#[sqlx::test]
async fn credentials_come_only_when_asked_and_only_owners_export(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("owner@acme.io")).await;
    let token = app.invite(&app.client, "ann@acme.io", "admin").await;
    let ann = app.join(&token).await;
    assert_eq!(
        post(&ann, &app, "/api/team/export", &[]).await.status(),
        403
    );

    let path = export(&app, &app.client, "owner@acme.io", true).await;
    assert_eq!(
        ann.get(app.url(&path)).send().await.unwrap().status(),
        403,
        "admins cannot download"
    );
    let res = app.client.get(app.url(&path)).send().await.unwrap();
    let files = files(&res.bytes().await.unwrap());
    let creds = &files
        .iter()
        .find(|(n, _)| n == "credentials.csv")
        .expect("asked for")
        .1;
    assert!(
        creds
            .lines()
            .next()
            .unwrap()
            .to_lowercase()
            .contains("password"),
        "{creds}"
    );
}

#[sqlx::test]
async fn an_export_link_works_only_in_its_own_workspace_even_for_an_owner_of_both(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = browser();
    assert!(
        app.signup_with(&owner, &Signup::valid("two@workspaces.test"))
            .await
            .status()
            .is_success()
    );
    let first: String =
        sqlx::query_scalar("SELECT id::text FROM tenants ORDER BY created_at LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let link = export(&app, &owner, "two@workspaces.test", false).await;
    // The same person owns a second workspace and is working in it.
    let res = post(
        &owner,
        &app,
        "/api/account/create_workspace",
        &[("company", "Second Co")],
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let res = owner.get(app.url(&link)).send().await.unwrap();
    let status = res.status();
    let body = res.text().await.unwrap();
    assert!(
        status.is_client_error() && body.contains("not for this workspace"),
        "the first workspace's archive was served inside the second: {status} {body}"
    );
    println!("refused with {status}: {body}");
    // Back in the first workspace, the link works.
    let res = post(
        &owner,
        &app,
        "/api/account/switch_workspace",
        &[("id", &first)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = owner.get(app.url(&link)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        files(&res.bytes().await.unwrap())
            .iter()
            .any(|(name, _)| name.ends_with(".json")),
        "an archive of the first workspace"
    );
}
