//! Teams and workspaces: invitations, the role table walked over every route for each role,
//! owners protected, removal ending access at once, several workspaces per user.

use reqwest::{Client, StatusCode};
use sqlx::PgPool;

use crate::helpers::*;

/// Owner (app.client), admin and member of one workspace.
async fn team_of_three(app: &TestApp) -> (Client, Client) {
    app.signup(&Signup::valid("owner@acme.io")).await;
    let t = app.invite(&app.client, "admin@acme.io", "admin").await;
    let admin = app.join(&t).await;
    let t = app.invite(&app.client, "member@acme.io", "member").await;
    let member = app.join(&t).await;
    (admin, member)
}

async fn role_of(app: &TestApp, email: &str) -> String {
    sqlx::query_scalar(
        "SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = $1",
    )
    .bind(email)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn user_id(app: &TestApp, email: &str) -> String {
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    id.to_string()
}

#[sqlx::test]
async fn the_role_table_is_walked_over_every_customer_route_for_each_role(pool: PgPool) {
    use inboxgrove::domain::Role;
    use inboxgrove::permissions::{ACTIONS, need_of};
    let app = spawn_app(pool).await;
    let (admin, member) = team_of_three(&app).await;

    // Every customer server function is in the table, and the table names nothing else.
    let open = inboxgrove::routes::OPEN_API;
    let functions: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, _)| p.to_string())
        .filter(|p| !open.iter().any(|o| p.starts_with(o)))
        .collect();
    for f in &functions {
        assert!(
            need_of(f).is_some(),
            "{f} is missing from permissions::ACTIONS"
        );
    }
    for (path, _) in ACTIONS {
        assert!(
            functions.iter().any(|f| f == path)
                || inboxgrove::routes::AREA_ENDPOINTS.contains(path),
            "{path} in the table is no route"
        );
    }

    for (client, role) in [
        (&app.client, Role::Owner),
        (&admin, Role::Admin),
        (&member, Role::Member),
    ] {
        for (path, need) in ACTIONS {
            // Leaving would end this walk for the role; it is open to all (tested below).
            if *path == "/api/team/leave" {
                continue;
            }
            let res = if path.starts_with("/api/") {
                post(
                    client,
                    &app,
                    path,
                    &[("id", "00000000-0000-0000-0000-000000000000")],
                )
                .await
            } else {
                client.get(app.url(path)).send().await.unwrap()
            };
            let status = res.status();
            let body = res.text().await.unwrap();
            let refused = status == StatusCode::FORBIDDEN && body.contains(need.refusal());
            assert_eq!(
                refused,
                !need.allows(role),
                "{role:?} {path}: {status} {body}"
            );
        }
    }
}

#[sqlx::test]
async fn an_invited_person_joins_with_the_role_given_and_a_member_is_read_only(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (_, member) = team_of_three(&app).await;
    assert_eq!(role_of(&app, "member@acme.io").await, "member");
    assert_eq!(role_of(&app, "admin@acme.io").await, "admin");
    let me = json(member.get(app.url("/api/auth/me")).send().await.unwrap()).await;
    assert_eq!(me["email"], "member@acme.io");
    assert_eq!(me["email_verified"], true, "the link reached the address");
    assert_eq!(me["workspace"]["name"], "Acme Outreach");
    assert_eq!(me["workspace"]["role"], "Member");

    // Read: yes. Change: no.
    assert_eq!(app.call(&member, "/api/dashboard").await.status(), 200);
    let res = post(
        &member,
        &app,
        "/api/domains/connect",
        &[("name", "acme-mail.com")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = post(
        &member,
        &app,
        "/api/team/invite",
        &[("email", "x@acme.io"), ("role", "admin")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let team = json(app.call(&member, "/api/team").await).await;
    assert_eq!(team["members"].as_array().unwrap().len(), 3);
}

#[sqlx::test]
async fn an_invitation_works_once_for_its_address_until_revoked_or_expired(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("owner@acme.io")).await;
    let token = app.invite(&app.client, "new@acme.io", "member").await;

    // Signed in as someone else: refused, and the invitation stays open.
    let other = browser();
    app.signup_with(&other, &Signup::valid("other@else.io"))
        .await;
    let res = post(
        &other,
        &app,
        "/api/auth/accept_invitation",
        &[("token", &token), ("password", "")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("new@acme.io"));
    // A verification or reset token is not an invitation, nor the other way round.
    assert_eq!(app.verify_with(&browser(), &token).await.status(), 422);

    let joined = app.join(&token).await;
    assert_eq!(app.call(&joined, "/api/dashboard").await.status(), 200);
    let res = post(
        &browser(),
        &app,
        "/api/auth/accept_invitation",
        &[("token", &token), ("password", "a-new-members-passphrase")],
    )
    .await;
    assert_eq!(res.status(), 422, "single use");
    assert_eq!(app.scalar("SELECT count(*) FROM memberships").await, 3);

    // Revoked.
    let revoked = app.invite(&app.client, "late@acme.io", "admin").await;
    let team = json(app.call(&app.client, "/api/team").await).await;
    let id = team["invitations"][0]["id"].as_str().unwrap().to_string();
    // Another workspace's admin cannot revoke it.
    assert_eq!(
        post(&other, &app, "/api/team/revoke", &[("id", &id)])
            .await
            .status(),
        404
    );
    assert_eq!(
        post(&app.client, &app, "/api/team/revoke", &[("id", &id)])
            .await
            .status(),
        200
    );
    let res = post(
        &browser(),
        &app,
        "/api/auth/accept_invitation",
        &[
            ("token", &revoked),
            ("password", "a-new-members-passphrase"),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);

    // Expired after 7 days.
    let expired = app.invite(&app.client, "slow@acme.io", "member").await;
    sqlx::query("UPDATE invitations SET expires_at = now() - interval '1 second' WHERE email = 'slow@acme.io'")
        .execute(&app.pool)
        .await
        .unwrap();
    let res = post(
        &browser(),
        &app,
        "/api/auth/accept_invitation",
        &[
            ("token", &expired),
            ("password", "a-new-members-passphrase"),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE email IN ('late@acme.io', 'slow@acme.io')")
            .await,
        0
    );
    // Only hashes are stored.
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM invitations WHERE encode(token_hash, 'escape') LIKE '%{expired}%'"
        ))
        .await,
        0
    );
}

#[sqlx::test]
async fn an_existing_user_logs_in_to_accept_and_then_switches_between_workspaces(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("owner@acme.io")).await;
    let jim = browser();
    let mut own = Signup::valid("jim@else.io");
    own.company = "Jim Co";
    app.signup_with(&jim, &own).await;
    let token = app.invite(&app.client, "jim@else.io", "admin").await;

    let stranger = browser();
    let info = json(
        post(
            &stranger,
            &app,
            "/api/auth/invitation",
            &[("token", &token)],
        )
        .await,
    )
    .await;
    assert_eq!(info["has_account"], true);
    assert_eq!(info["workspace"], "Acme Outreach");
    let res = post(
        &stranger,
        &app,
        "/api/auth/accept_invitation",
        &[("token", &token), ("password", "x")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "log in first");

    let info = json(post(&jim, &app, "/api/auth/invitation", &[("token", &token)]).await).await;
    assert_eq!(info["signed_in_as_invitee"], true);
    let res = post(
        &jim,
        &app,
        "/api/auth/accept_invitation",
        &[("token", &token)],
    )
    .await;
    assert!(res.status().is_success());
    let me = json(jim.get(app.url("/api/auth/me")).send().await.unwrap()).await;
    assert_eq!(me["workspaces"].as_array().unwrap().len(), 2);
    assert_eq!(
        me["workspace"]["name"], "Acme Outreach",
        "the accepted one is current"
    );
    let dash = json(app.call(&jim, "/api/dashboard").await).await;
    assert_eq!(dash["tenant_name"], "Acme Outreach");

    let jims_own = me["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "Jim Co")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = post(
        &jim,
        &app,
        "/api/account/switch_workspace",
        &[("id", &jims_own)],
    )
    .await;
    assert!(res.status().is_success());
    assert_eq!(
        json(app.call(&jim, "/api/dashboard").await).await["tenant_name"],
        "Jim Co"
    );

    // Someone else's workspace: not found, and nothing switches.
    let owners: String = {
        let id: uuid::Uuid =
            sqlx::query_scalar("SELECT id FROM tenants WHERE name = 'Acme Outreach'")
                .fetch_one(&app.pool)
                .await
                .unwrap();
        id.to_string()
    };
    let eve = browser();
    let mut evil = Signup::valid("eve@evil.io");
    evil.company = "Eve Co";
    app.signup_with(&eve, &evil).await;
    let res = post(
        &eve,
        &app,
        "/api/account/switch_workspace",
        &[("id", &owners)],
    )
    .await;
    assert_eq!(res.status(), 404);
    let dash = json(app.call(&eve, "/api/dashboard").await).await;
    assert_eq!(dash["tenant_name"], "Eve Co");
}

#[sqlx::test]
async fn removing_a_member_ends_their_access_at_once_and_owners_are_protected(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (admin, member) = team_of_three(&app).await;
    let owner_id = user_id(&app, "owner@acme.io").await;
    let member_id = user_id(&app, "member@acme.io").await;
    let admin_id = user_id(&app, "admin@acme.io").await;

    // An admin cannot touch an owner; the last owner cannot leave or be demoted.
    assert_eq!(
        post(&admin, &app, "/api/team/remove", &[("user", &owner_id)])
            .await
            .status(),
        403
    );
    assert_eq!(
        post(
            &admin,
            &app,
            "/api/team/role",
            &[("user", &owner_id), ("role", "member")]
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        post(
            &app.client,
            &app,
            "/api/team/role",
            &[("user", &owner_id), ("role", "admin")]
        )
        .await
        .status(),
        403
    );
    assert_eq!(app.call(&app.client, "/api/team/leave").await.status(), 403);
    assert_eq!(
        post(
            &admin,
            &app,
            "/api/team/role",
            &[("user", &member_id), ("role", "owner")]
        )
        .await
        .status(),
        422,
        "ownership moves by transfer only"
    );
    assert_eq!(role_of(&app, "owner@acme.io").await, "owner");

    // Removal: the member's next request is refused.
    assert_eq!(app.call(&member, "/api/dashboard").await.status(), 200);
    assert_eq!(
        post(&admin, &app, "/api/team/remove", &[("user", &member_id)])
            .await
            .status(),
        200
    );
    assert_eq!(app.call(&member, "/api/dashboard").await.status(), 401);

    // Transfer: the admin becomes owner, the old owner an admin; now the old owner may leave.
    assert_eq!(
        post(&admin, &app, "/api/team/transfer", &[("user", &admin_id)])
            .await
            .status(),
        403,
        "only owners"
    );
    assert_eq!(
        post(
            &app.client,
            &app,
            "/api/team/transfer",
            &[("user", &admin_id)]
        )
        .await
        .status(),
        200
    );
    assert_eq!(role_of(&app, "admin@acme.io").await, "owner");
    assert_eq!(role_of(&app, "owner@acme.io").await, "admin");
    assert!(
        app.call(&app.client, "/api/team/leave")
            .await
            .status()
            .is_success()
    );
    assert_eq!(
        app.call(&app.client, "/api/dashboard").await.status(),
        401,
        "no workspace left: signed out"
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'team.%'")
            .await,
        7
    );
}

#[sqlx::test]
async fn a_user_may_create_a_few_workspaces_not_unlimited_trials(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("owner@acme.io")).await;
    for i in 2..=5 {
        let res = post(
            &app.client,
            &app,
            "/api/account/create_workspace",
            &[("company", &format!("Acme {i}"))],
        )
        .await;
        assert!(res.status().is_success(), "{i}");
    }
    let res = post(
        &app.client,
        &app,
        "/api/account/create_workspace",
        &[("company", "Acme 6")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = post(
        &app.client,
        &app,
        "/api/account/create_workspace",
        &[("company", "")],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert_eq!(app.count("tenants").await, 5);
    assert_eq!(
        json(app.call(&app.client, "/api/dashboard").await).await["tenant_name"],
        "Acme 5"
    );
}

#[sqlx::test]
async fn huge_values_are_refused_with_a_reason_and_change_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = browser();
    let res = app
        .signup_with(&owner, &Signup::valid("huge@team.test"))
        .await;
    assert!(res.status().is_success());
    let huge = "a".repeat(200_000);
    let huge_email = format!("{}@example.com", "b".repeat(100_000));
    // An invitation to a 100 kB address.
    let res = post(
        &owner,
        &app,
        "/api/team/invite",
        &[("email", &huge_email), ("role", "member")],
    )
    .await;
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(app.count("invitations").await, 0);
    // Closing the workspace with a 200 kB "name" typed as confirmation.
    let res = post(&owner, &app, "/api/team/close", &[("confirm", &huge)]).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(
        app.scalar("SELECT count(*) FROM tenants WHERE status = 'active'")
            .await,
        1
    );
    // A 200 kB two-factor code, before and after starting enrolment.
    for start in [false, true] {
        if start {
            post(&owner, &app, "/api/auth/two_factor/start", &[]).await;
        }
        let res = post(
            &owner,
            &app,
            "/api/auth/two_factor/confirm",
            &[("code", &huge)],
        )
        .await;
        assert!(res.status().is_client_error(), "{}", res.status());
    }
    assert_eq!(
        app.scalar("SELECT count(*) FROM user_totp WHERE confirmed_at IS NOT NULL")
            .await,
        0
    );
    // The account still works.
    assert_eq!(app.call(&owner, "/api/team").await.status(), 200);
}
