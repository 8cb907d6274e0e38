//! Cards in the app, with the sandbox Stripe: listed with brand, last 4, expiry and the
//! default; another added through Checkout in setup mode (nothing charged); the default
//! changed (charges follow it); a card removed, never the default; and the switches closed to
//! other tenants' card ids, members and odd values.

use reqwest::Client;
use serde_json::Value;
use sqlx::PgPool;

use crate::domains::{another_customer, app, bought, customer, post};
use crate::helpers::{TestApp, json, pay};

async fn cards(app: &TestApp, client: &Client) -> Vec<Value> {
    let res = post(app, client, "/api/billing/cards", &[]).await;
    assert_eq!(res.status(), 200);
    json(res).await.as_array().unwrap().clone()
}

/// Adds a card as a plain HTML form does: "Add a card" → the setup Checkout → the card.
async fn add_card(app: &TestApp, client: &Client, number: &str) {
    let res = client
        .post(app.url("/api/billing/cards/add"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let url = res
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no redirect: {}", res.status()))
        .to_str()
        .unwrap()
        .to_string();
    assert!(url.contains("/sandbox/stripe/checkout/"), "{url}");
    assert_eq!(pay(app, &url, number).await.status(), 303);
}

fn card_id<'a>(list: &'a [Value], last4: &str) -> &'a str {
    list.iter()
        .find(|c| c["last4"] == last4)
        .and_then(|c| c["id"].as_str())
        .unwrap_or_else(|| panic!("no card {last4} in {list:?}"))
}

#[sqlx::test]
async fn cards_are_listed_added_in_setup_mode_made_default_and_removed(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "cards@acme.io").await;
    let owner = app.client.clone();
    assert!(cards(&app, &owner).await.is_empty(), "no customer yet");
    bought(&app, "cards-first.com").await; // pays with 4242: the card stays on file
    let list = cards(&app, &owner).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["last4"], "4242");
    assert_eq!(list[0]["brand"], "Visa");
    assert_eq!(list[0]["is_default"], true);
    assert!(
        list[0]["expires"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_digit() || c == '/')
    );

    let charges_before = app.count("sandbox_stripe_payments").await;
    add_card(&app, &owner, "4000 0000 0000 0341").await;
    assert_eq!(
        app.count("sandbox_stripe_payments").await,
        charges_before,
        "setup mode charges nothing"
    );
    let list = cards(&app, &owner).await;
    assert_eq!(list.len(), 2);
    assert_eq!(
        list.iter()
            .filter(|c| c["is_default"] == true)
            .map(|c| c["last4"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["4242"],
        "like Stripe, a card added in setup mode does not replace the default"
    );

    // The new card becomes the default: charges now go to it.
    let new = card_id(&list, "0341").to_string();
    let res = post(
        &app,
        &owner,
        "/api/billing/cards/default",
        &[("card", &new)],
    )
    .await;
    assert!(res.status().is_success(), "{}", res.status());
    let list = cards(&app, &owner).await;
    assert_eq!(
        list.iter().find(|c| c["id"] == new.as_str()).unwrap()["is_default"],
        true
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM sandbox_stripe_customers WHERE card = 'fails_charges' AND card_last4 = '0341'")
            .await,
        1
    );

    // The default card cannot be removed; the other one can.
    let res = post(&app, &owner, "/api/billing/cards/remove", &[("card", &new)]).await;
    assert_eq!(res.status(), 409);
    let old = card_id(&list, "4242").to_string();
    let res = post(&app, &owner, "/api/billing/cards/remove", &[("card", &old)]).await;
    assert!(res.status().is_success(), "{}", res.status());
    let list = cards(&app, &owner).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["last4"], "0341");
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_log WHERE action IN ('billing.default_card', 'billing.remove_card')")
            .await,
        2
    );
}

#[sqlx::test]
async fn another_tenants_card_ids_members_and_odd_values_change_nothing(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "victim@acme.io").await;
    bought(&app, "victim-cards.com").await;
    add_card(&app, &app.client, "4242424242424242").await;
    let victim = cards(&app, &app.client).await;
    let theirs = victim
        .iter()
        .find(|c| c["is_default"] == false)
        .and_then(|c| c["id"].as_str())
        .unwrap()
        .to_string();

    // Another workspace with a card of its own, aiming at the victim's card.
    let attacker = another_customer(&app, "attacker@evil.io").await;
    add_card(&app, &attacker, "4242424242424242").await;
    for path in ["/api/billing/cards/default", "/api/billing/cards/remove"] {
        let res = post(&app, &attacker, path, &[("card", &theirs)]).await;
        assert_eq!(res.status(), 404, "{path}");
    }
    assert_eq!(cards(&app, &app.client).await, victim, "untouched");

    for odd in [
        "",
        "x",
        "pm_../../v1/customers",
        "pm_a b",
        &format!("pm_{}", "a".repeat(300)),
    ] {
        let res = post(
            &app,
            &app.client,
            "/api/billing/cards/remove",
            &[("card", odd)],
        )
        .await;
        assert_eq!(res.status(), 422, "{odd:.30}");
    }

    let token = app.invite(&app.client, "member@acme.io", "member").await;
    let member = app.join(&token).await;
    assert_eq!(cards(&app, &member).await.len(), 2, "members may look");
    for path in [
        "/api/billing/cards/default",
        "/api/billing/cards/remove",
        "/api/billing/cards/add",
    ] {
        let res = post(&app, &member, path, &[("card", &theirs)]).await;
        assert_eq!(res.status(), 403, "{path}");
    }
    assert_eq!(cards(&app, &app.client).await, victim);
}
