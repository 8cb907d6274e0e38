//! Every object the sandbox Stripe emits deserializes into async-stripe rc.10's strict types
//! (API 2026-09-30.endive): the sandbox stays on the shape the real client expects.

use inboxgrove::server::providers::payments::{
    CheckoutMode, CheckoutRequest, NewCustomer, Payments, RefundReason, RefundRequest,
    SubscriptionChange,
};
use inboxgrove::server::state::AppState;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{settings, spawn_app};

fn check<T: miniserde::Deserialize>(kind: &str, object: &Value) {
    if let Err(e) = miniserde::json::from_str::<T>(&object.to_string()) {
        panic!("{kind}: async-stripe could not read the sandbox object ({e:?}): {object}");
    }
}

#[sqlx::test]
async fn every_sandbox_event_object_parses_as_the_async_stripe_type(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let state = AppState::new(settings(&[]), pool.clone()).unwrap();
    let sandbox = state.stripe_sandbox.clone().unwrap();
    let tenant = Uuid::new_v4();
    sqlx::query("INSERT INTO tenants (id, name, trial_ends_at) VALUES ($1, 'Shape Co', now())")
        .bind(tenant)
        .execute(&pool)
        .await
        .unwrap();
    let customer = sandbox
        .create_customer(
            &NewCustomer {
                tenant_id: tenant,
                email: "shape@acme.io".into(),
                name: "Shape".into(),
            },
            "k1",
        )
        .await
        .unwrap();
    let request = |mode, key: &str| CheckoutRequest {
        tenant_id: tenant,
        customer_id: customer.clone(),
        mode,
        success_url: "http://x/s?session_id={CHECKOUT_SESSION_ID}".into(),
        cancel_url: "http://x/c".into(),
        idempotency_key: key.into(),
    };
    // A trial subscription, a paid one-time purchase, a refund, a plan change and the clock.
    let sub = sandbox
        .create_checkout(&request(
            CheckoutMode::Subscription {
                price_id: "price_growth_monthly".into(),
                trial_period_days: Some(7),
                card_required: true,
                overage_price_id: None,
            },
            "k2",
        ))
        .await
        .unwrap();
    sandbox.pay(&sub.id, "4242424242424242").await.unwrap();
    let purchase = sandbox
        .create_checkout(&request(
            CheckoutMode::Payment {
                amount_cents: 1299,
                currency: "usd".into(),
                description: "example.com".into(),
                purchase_id: Uuid::new_v4(),
            },
            "k3",
        ))
        .await
        .unwrap();
    sandbox.pay(&purchase.id, "4242424242424242").await.unwrap();
    let pi: String = sqlx::query_scalar(
        "SELECT payment_intent_id FROM sandbox_stripe_checkout_sessions WHERE id = $1",
    )
    .bind(&purchase.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    sandbox
        .refund(&RefundRequest {
            payment_intent_id: pi,
            amount_cents: Some(500),
            reason: RefundReason::RequestedByCustomer,
            idempotency_key: "k4".into(),
        })
        .await
        .unwrap();
    let (sub_id, item): (String, String) =
        sqlx::query_as("SELECT id, item_id FROM sandbox_stripe_subscriptions")
            .fetch_one(&pool)
            .await
            .unwrap();
    sandbox
        .update_subscription(
            &sub_id,
            &SubscriptionChange::ChangePrice {
                item_id: item,
                price_id: "price_scale_monthly".into(),
            },
            "k5",
        )
        .await
        .unwrap();
    sandbox.advance(40).await.unwrap();
    sqlx::query("UPDATE sandbox_stripe_customers SET card = 'fails_charges'")
        .execute(&pool)
        .await
        .unwrap();
    sandbox.advance(31).await.unwrap();

    let events: Vec<(String, Value)> =
        sqlx::query_as("SELECT type, payload FROM sandbox_stripe_events ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    let mut kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "charge.refunded",
            "checkout.session.completed",
            "customer.subscription.created",
            "customer.subscription.trial_will_end",
            "customer.subscription.updated",
            "invoice.paid",
            "invoice.payment_failed",
            "invoice.payment_succeeded",
            "payment_intent.succeeded",
        ]
    );
    for (kind, payload) in &events {
        assert_eq!(payload["api_version"], "2026-09-30.endive");
        let object = &payload["data"]["object"];
        match kind.split('.').next().unwrap() {
            "customer" => check::<stripe_billing::Subscription>(kind, object),
            "invoice" => check::<stripe_billing::Invoice>(kind, object),
            "checkout" => check::<stripe_checkout::CheckoutSession>(kind, object),
            "payment_intent" => check::<stripe_core::PaymentIntent>(kind, object),
            "charge" => check::<stripe_core::Charge>(kind, object),
            other => panic!("unexpected {other}"),
        }
    }
    drop(app);
}

#[test]
fn the_strict_types_do_refuse_an_object_missing_required_fields() {
    assert!(
        miniserde::json::from_str::<stripe_billing::Subscription>(r#"{"id":"sub_1"}"#).is_err()
    );
}
