//! The real Stripe client (async-stripe) against a local fake Stripe (wiremock).
//!
//! Response bodies are Stripe's own example objects (`fixtures/stripe_objects.json`, copied
//! from stripe/openapi `fixtures3.json`) with ids and urls overridden: async-stripe parses
//! responses strictly, so the fake must answer with complete objects. Request bodies are
//! parsed and compared as form pairs (async-stripe leaves `[]{}:/?` unescaped).

use inboxgrove::server::providers::payments::stripe::StripeClient;
use inboxgrove::server::providers::payments::{
    CheckoutMode, CheckoutRequest, CheckoutSession, NewCustomer, Payments, PaymentsError,
    PortalRequest, Refund, RefundReason, RefundRequest, SubscriptionChange,
};
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const FIXTURES: &str = include_str!("fixtures/stripe_objects.json");
const SUCCESS_URL: &str =
    "https://app.inboxgrove.test/billing/success?session_id={CHECKOUT_SESSION_ID}";
const CANCEL_URL: &str = "https://app.inboxgrove.test/billing";

/// Stripe's example object `name` with some top-level fields replaced.
fn fixture(name: &str, overrides: Value) -> Value {
    let all: Value = serde_json::from_str(FIXTURES).expect("fixtures are JSON");
    let mut object = all[name].clone();
    assert!(object.is_object(), "no fixture named {name}");
    for (key, value) in overrides.as_object().expect("overrides are an object") {
        object[key] = value.clone();
    }
    object
}

fn stripe_error(kind: &str, code: Option<&str>, message: &str) -> Value {
    let mut error = json!({
        "type": kind,
        "message": message,
        "request_log_url": "https://dashboard.stripe.com/test/logs/req_123",
    });
    if let Some(code) = code {
        error["code"] = json!(code);
        error["doc_url"] = json!(format!("https://stripe.com/docs/error-codes/{code}"));
    }
    json!({ "error": error })
}

async fn fake_stripe() -> (MockServer, StripeClient) {
    let server = MockServer::start().await;
    let client = StripeClient::new(&"sk_test_x".into(), &format!("{}/", server.uri()))
        .expect("client builds");
    (server, client)
}

/// Answers `verb path` exactly once (checked when the server drops).
async fn stub(server: &MockServer, verb: &str, route: &str, response: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 1, "exactly one request reaches Stripe");
    requests.remove(0)
}

fn form(request: &Request) -> Vec<(String, String)> {
    let content_type = request
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap());
    assert_eq!(content_type, Some("application/x-www-form-urlencoded"));
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&request.body).expect("the body is form-encoded");
    pairs.sort();
    pairs
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    pairs.sort();
    pairs
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).map(|v| v.to_str().unwrap())
}

fn subscription_checkout(
    tenant_id: Uuid,
    card_required: bool,
    trial: Option<u32>,
) -> CheckoutRequest {
    CheckoutRequest {
        tenant_id,
        customer_id: "cus_QXg1o8vcGmoR32".into(),
        mode: CheckoutMode::Subscription {
            price_id: "price_growth".into(),
            trial_period_days: trial,
            card_required,
            overage_price_id: None,
        },
        success_url: SUCCESS_URL.into(),
        cancel_url: CANCEL_URL.into(),
        idempotency_key: format!("ig:checkout:{tenant_id}"),
    }
}

fn refund_request(amount_cents: Option<i64>) -> RefundRequest {
    RefundRequest {
        payment_intent_id: "pi_domain_1".into(),
        amount_cents,
        reason: RefundReason::RequestedByCustomer,
        idempotency_key: "ig:refund:4f1c".into(),
    }
}

async fn checkout_error(status: u16, body: Value) -> PaymentsError {
    let (server, client) = fake_stripe().await;
    stub(
        &server,
        "POST",
        "/v1/checkout/sessions",
        ResponseTemplate::new(status).set_body_json(body),
    )
    .await;
    client
        .create_checkout(&subscription_checkout(Uuid::new_v4(), true, None))
        .await
        .expect_err("Stripe refused")
}

#[tokio::test]
async fn a_subscription_checkout_sends_plan_trial_card_policy_and_urls_with_our_idempotency_key() {
    let (server, client) = fake_stripe().await;
    stub(
        &server,
        "POST",
        "/v1/checkout/sessions",
        ResponseTemplate::new(200).set_body_json(fixture(
            "checkout.session",
            json!({
                "id": "cs_test_sub_1",
                "mode": "subscription",
                "url": "https://checkout.stripe.com/c/pay/cs_test_sub_1",
            }),
        )),
    )
    .await;
    let tenant = Uuid::new_v4();
    let t = tenant.to_string();

    let session = client
        .create_checkout(&subscription_checkout(tenant, false, Some(7)))
        .await
        .expect("checkout session created");

    assert_eq!(
        session,
        CheckoutSession {
            id: "cs_test_sub_1".into(),
            url: "https://checkout.stripe.com/c/pay/cs_test_sub_1".into(),
        }
    );
    let request = only_request(&server).await;
    assert_eq!(header(&request, "authorization"), Some("Bearer sk_test_x"));
    assert_eq!(
        header(&request, "stripe-version"),
        Some("2026-09-30.endive")
    );
    let key = format!("ig:checkout:{tenant}");
    assert_eq!(header(&request, "idempotency-key"), Some(key.as_str()));
    assert_eq!(
        form(&request),
        pairs(&[
            ("mode", "subscription"),
            ("line_items[0][price]", "price_growth"),
            ("line_items[0][quantity]", "1"),
            ("subscription_data[trial_period_days]", "7"),
            ("payment_method_collection", "if_required"),
            (
                "subscription_data[trial_settings][end_behavior][missing_payment_method]",
                "cancel",
            ),
            ("subscription_data[metadata][tenant_id]", &t),
            ("metadata[tenant_id]", &t),
            ("customer", "cus_QXg1o8vcGmoR32"),
            ("client_reference_id", &t),
            ("success_url", SUCCESS_URL),
            ("cancel_url", CANCEL_URL),
        ])
    );
}

#[tokio::test]
async fn a_subscription_checkout_that_requires_a_card_always_collects_one_and_sends_no_trial() {
    let (server, client) = fake_stripe().await;
    stub(
        &server,
        "POST",
        "/v1/checkout/sessions",
        ResponseTemplate::new(200).set_body_json(fixture(
            "checkout.session",
            json!({ "id": "cs_test_sub_2", "mode": "subscription" }),
        )),
    )
    .await;
    let tenant = Uuid::new_v4();
    let t = tenant.to_string();

    client
        .create_checkout(&subscription_checkout(tenant, true, None))
        .await
        .expect("checkout session created");

    assert_eq!(
        form(&only_request(&server).await),
        pairs(&[
            ("mode", "subscription"),
            ("line_items[0][price]", "price_growth"),
            ("line_items[0][quantity]", "1"),
            ("payment_method_collection", "always"),
            ("subscription_data[metadata][tenant_id]", &t),
            ("metadata[tenant_id]", &t),
            ("customer", "cus_QXg1o8vcGmoR32"),
            ("client_reference_id", &t),
            ("success_url", SUCCESS_URL),
            ("cancel_url", CANCEL_URL),
        ])
    );
}

#[tokio::test]
async fn a_payment_checkout_sends_an_inline_price_and_the_purchase_on_session_and_payment_intent() {
    let (server, client) = fake_stripe().await;
    stub(
        &server,
        "POST",
        "/v1/checkout/sessions",
        ResponseTemplate::new(200).set_body_json(fixture(
            "checkout.session",
            json!({
                "id": "cs_test_pay_1",
                "url": "https://checkout.stripe.com/c/pay/cs_test_pay_1",
            }),
        )),
    )
    .await;
    let tenant = Uuid::new_v4();
    let purchase = Uuid::new_v4();
    let (t, p) = (tenant.to_string(), purchase.to_string());

    let session = client
        .create_checkout(&CheckoutRequest {
            tenant_id: tenant,
            customer_id: "cus_QXg1o8vcGmoR32".into(),
            mode: CheckoutMode::Payment {
                amount_cents: 1299,
                currency: "USD".into(),
                description: "example.com (1 year)".into(),
                purchase_id: purchase,
            },
            success_url: SUCCESS_URL.into(),
            cancel_url: CANCEL_URL.into(),
            idempotency_key: format!("ig:purchase:{purchase}"),
        })
        .await
        .expect("checkout session created");

    assert_eq!(session.id, "cs_test_pay_1");
    assert_eq!(
        session.url,
        "https://checkout.stripe.com/c/pay/cs_test_pay_1"
    );
    let request = only_request(&server).await;
    let key = format!("ig:purchase:{purchase}");
    assert_eq!(header(&request, "idempotency-key"), Some(key.as_str()));
    assert_eq!(
        form(&request),
        pairs(&[
            ("mode", "payment"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][unit_amount]", "1299"),
            (
                "line_items[0][price_data][product_data][name]",
                "example.com (1 year)",
            ),
            ("line_items[0][quantity]", "1"),
            ("metadata[purchase_id]", &p),
            ("metadata[tenant_id]", &t),
            ("payment_intent_data[metadata][purchase_id]", &p),
            ("payment_intent_data[setup_future_usage]", "off_session"),
            ("payment_intent_data[metadata][tenant_id]", &t),
            ("customer", "cus_QXg1o8vcGmoR32"),
            ("client_reference_id", &t),
            ("success_url", SUCCESS_URL),
            ("cancel_url", CANCEL_URL),
        ])
    );
}

#[tokio::test]
async fn an_invalid_request_error_becomes_a_rejection_carrying_stripes_message() {
    let err = checkout_error(
        400,
        stripe_error(
            "invalid_request_error",
            Some("resource_missing"),
            "No such price: 'price_x'",
        ),
    )
    .await;

    let PaymentsError::Rejected { code, message } = &err else {
        panic!("expected a rejection, got {err:?}");
    };
    assert_eq!(code.as_deref(), Some("resource_missing"));
    assert_eq!(message, "No such price: 'price_x'");
    assert_eq!(
        err.to_string(),
        "No such price: 'price_x'",
        "user-facing text"
    );
}

#[tokio::test]
async fn a_declined_card_becomes_a_rejection_carrying_stripes_message() {
    let (server, client) = fake_stripe().await;
    let mut body = stripe_error(
        "card_error",
        Some("card_declined"),
        "Your card was declined.",
    );
    body["error"]["decline_code"] = json!("generic_decline");
    stub(
        &server,
        "POST",
        "/v1/subscriptions/sub_1",
        ResponseTemplate::new(402).set_body_json(body),
    )
    .await;

    let err = client
        .update_subscription(
            "sub_1",
            &SubscriptionChange::ChangePrice {
                item_id: "si_1".into(),
                price_id: "price_scale".into(),
            },
            "ig:plan:1",
        )
        .await
        .expect_err("the card was declined");

    let PaymentsError::Rejected { code, message } = err else {
        panic!("expected a rejection, got {err:?}");
    };
    assert_eq!(code.as_deref(), Some("card_declined"));
    assert_eq!(message, "Your card was declined.");
}

#[tokio::test]
async fn an_idempotency_error_becomes_a_rejection() {
    let err = checkout_error(
        400,
        stripe_error(
            "idempotency_error",
            None,
            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
        ),
    )
    .await;

    assert!(
        matches!(&err, PaymentsError::Rejected { code: None, message } if message.starts_with("Keys for idempotent requests")),
        "got {err:?}"
    );
}

#[tokio::test]
async fn a_stripe_api_error_500_means_unavailable_and_is_not_retried_by_the_client() {
    // `stub` expects exactly one request: the caller owns retries (with the same key).
    let err = checkout_error(
        500,
        stripe_error("api_error", None, "Sorry, something went wrong."),
    )
    .await;

    assert!(matches!(err, PaymentsError::Unavailable(_)), "got {err:?}");
}

#[tokio::test]
async fn a_429_means_stripe_is_rate_limiting_us() {
    let err = checkout_error(
        429,
        stripe_error(
            "invalid_request_error",
            None,
            "Too many requests hit the API too quickly.",
        ),
    )
    .await;

    assert!(matches!(err, PaymentsError::RateLimited), "got {err:?}");
}

#[tokio::test]
async fn a_400_with_the_rate_limit_code_also_means_rate_limited() {
    let err = checkout_error(
        400,
        stripe_error(
            "invalid_request_error",
            Some("rate_limit"),
            "Too many requests hit the API too quickly.",
        ),
    )
    .await;

    assert!(matches!(err, PaymentsError::RateLimited), "got {err:?}");
}

#[tokio::test]
async fn an_html_error_page_in_front_of_stripe_means_unavailable() {
    let (server, client) = fake_stripe().await;
    stub(
        &server,
        "POST",
        "/v1/checkout/sessions",
        ResponseTemplate::new(502)
            .set_body_raw("<html><body>502 Bad Gateway</body></html>", "text/html"),
    )
    .await;

    let err = client
        .create_checkout(&subscription_checkout(Uuid::new_v4(), true, None))
        .await
        .expect_err("the gateway failed");

    assert!(matches!(err, PaymentsError::Unavailable(_)), "got {err:?}");
}

#[tokio::test]
async fn an_unreachable_stripe_means_unavailable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let client = StripeClient::new(&"sk_test_x".into(), &base).unwrap();

    let err = client
        .create_portal(&PortalRequest {
            customer_id: "cus_1".into(),
            return_url: CANCEL_URL.into(),
        })
        .await
        .expect_err("nothing listens there");

    assert!(matches!(err, PaymentsError::Unavailable(_)), "got {err:?}");
}

#[tokio::test]
async fn a_rejected_secret_key_is_unexpected_and_never_shown_to_the_customer() {
    let err = checkout_error(
        401,
        stripe_error(
            "invalid_request_error",
            None,
            "Invalid API Key provided: sk_test_****_x",
        ),
    )
    .await;

    assert!(matches!(err, PaymentsError::Unexpected(_)), "got {err:?}");
}

#[tokio::test]
async fn a_success_body_stripe_would_never_send_is_unexpected() {
    let (server, client) = fake_stripe().await;
    stub(
        &server,
        "POST",
        "/v1/customers",
        ResponseTemplate::new(200).set_body_json(json!({ "id": "cus_1", "object": "customer" })),
    )
    .await;

    let err = client
        .create_customer(
            &NewCustomer {
                tenant_id: Uuid::new_v4(),
                email: "jane@acme.io".into(),
                name: "Acme Outreach".into(),
            },
            "ig:customer:1",
        )
        .await
        .expect_err("the response lacks required fields");

    assert!(matches!(err, PaymentsError::Unexpected(_)), "got {err:?}");
}

#[tokio::test]
async fn creating_a_customer_sends_email_name_and_tenant_and_returns_stripes_id() {
    let (server, client) = fake_stripe().await;
    stub(
        &server,
        "POST",
        "/v1/customers",
        ResponseTemplate::new(200).set_body_json(fixture(
            "customer",
            json!({ "id": "cus_New1", "email": "jane@acme.io", "name": "Acme Outreach" }),
        )),
    )
    .await;
    let tenant = Uuid::new_v4();
    let key = format!("ig:customer:{tenant}");

    let id = client
        .create_customer(
            &NewCustomer {
                tenant_id: tenant,
                email: "jane@acme.io".into(),
                name: "Acme Outreach".into(),
            },
            &key,
        )
        .await
        .expect("customer created");

    assert_eq!(id, "cus_New1");
    let request = only_request(&server).await;
    assert_eq!(header(&request, "idempotency-key"), Some(key.as_str()));
    assert_eq!(
        form(&request),
        pairs(&[
            ("email", "jane@acme.io"),
            ("name", "Acme Outreach"),
            ("metadata[tenant_id]", &tenant.to_string()),
        ])
    );
}

#[tokio::test]
async fn an_unusable_idempotency_key_is_refused_before_anything_reaches_stripe() {
    let (server, client) = fake_stripe().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let customer = NewCustomer {
        tenant_id: Uuid::new_v4(),
        email: "jane@acme.io".into(),
        name: "Acme Outreach".into(),
    };

    for key in [String::new(), "k".repeat(256)] {
        let err = client
            .create_customer(&customer, &key)
            .await
            .expect_err("Stripe accepts 1..=255 characters");
        assert!(matches!(err, PaymentsError::Unexpected(_)), "got {err:?}");
    }
}

#[tokio::test]
async fn the_portal_session_is_opened_for_the_customer_and_its_url_returned() {
    let (server, client) = fake_stripe().await;
    stub(
        &server,
        "POST",
        "/v1/billing_portal/sessions",
        ResponseTemplate::new(200).set_body_json(fixture(
            "billing_portal.session",
            json!({
                "id": "bps_1",
                "customer": "cus_QXg1o8vcGmoR32",
                "return_url": CANCEL_URL,
                "url": "https://billing.stripe.com/p/session/test_abc",
            }),
        )),
    )
    .await;

    let url = client
        .create_portal(&PortalRequest {
            customer_id: "cus_QXg1o8vcGmoR32".into(),
            return_url: CANCEL_URL.into(),
        })
        .await
        .expect("portal session created");

    assert_eq!(url, "https://billing.stripe.com/p/session/test_abc");
    let request = only_request(&server).await;
    assert_eq!(header(&request, "authorization"), Some("Bearer sk_test_x"));
    assert_eq!(
        header(&request, "idempotency-key"),
        None,
        "nothing to deduplicate"
    );
    assert_eq!(
        form(&request),
        pairs(&[
            ("customer", "cus_QXg1o8vcGmoR32"),
            ("return_url", CANCEL_URL),
        ])
    );
}

async fn sent_subscription_update(change: SubscriptionChange, key: &str) -> Request {
    let (server, client) = fake_stripe().await;
    stub(
        &server,
        "POST",
        "/v1/subscriptions/sub_1Pgc6rB7WZ01zgkWNy0Cn5nw",
        ResponseTemplate::new(200).set_body_json(fixture("subscription", json!({}))),
    )
    .await;

    client
        .update_subscription("sub_1Pgc6rB7WZ01zgkWNy0Cn5nw", &change, key)
        .await
        .expect("subscription updated");
    only_request(&server).await
}

#[tokio::test]
async fn changing_the_price_swaps_the_existing_item_with_prorations() {
    let request = sent_subscription_update(
        SubscriptionChange::ChangePrice {
            item_id: "si_QXhVnC2h0Jczwc".into(),
            price_id: "price_scale".into(),
        },
        "ig:plan:7",
    )
    .await;

    assert_eq!(header(&request, "idempotency-key"), Some("ig:plan:7"));
    assert_eq!(
        form(&request),
        pairs(&[
            ("items[0][id]", "si_QXhVnC2h0Jczwc"),
            ("items[0][price]", "price_scale"),
            ("proration_behavior", "create_prorations"),
        ])
    );
}

#[tokio::test]
async fn cancelling_at_period_end_sets_the_flag() {
    let request =
        sent_subscription_update(SubscriptionChange::CancelAtPeriodEnd, "ig:cancel:7").await;

    assert_eq!(header(&request, "idempotency-key"), Some("ig:cancel:7"));
    assert_eq!(form(&request), pairs(&[("cancel_at_period_end", "true")]));
}

#[tokio::test]
async fn reactivating_clears_the_cancel_at_period_end_flag() {
    let request = sent_subscription_update(SubscriptionChange::Reactivate, "ig:reactivate:7").await;

    assert_eq!(header(&request, "idempotency-key"), Some("ig:reactivate:7"));
    assert_eq!(form(&request), pairs(&[("cancel_at_period_end", "false")]));
}

#[tokio::test]
async fn a_partial_refund_sends_amount_and_reason_and_returns_stripes_refund() {
    let (server, client) = fake_stripe().await;
    stub(
        &server,
        "POST",
        "/v1/refunds",
        ResponseTemplate::new(200).set_body_json(fixture(
            "refund",
            json!({
                "id": "re_1",
                "amount": 500,
                "currency": "usd",
                "payment_intent": "pi_domain_1",
                "status": "pending",
            }),
        )),
    )
    .await;

    let refund = client
        .refund(&refund_request(Some(500)))
        .await
        .expect("refund created");

    assert_eq!(
        refund,
        Refund {
            id: "re_1".into(),
            payment_intent_id: "pi_domain_1".into(),
            amount_cents: 500,
            currency: "usd".into(),
            status: "pending".into(),
        }
    );
    let request = only_request(&server).await;
    assert_eq!(header(&request, "idempotency-key"), Some("ig:refund:4f1c"));
    assert_eq!(
        form(&request),
        pairs(&[
            ("payment_intent", "pi_domain_1"),
            ("amount", "500"),
            ("reason", "requested_by_customer"),
        ])
    );
}

#[tokio::test]
async fn a_full_refund_leaves_the_amount_to_stripe() {
    let (server, client) = fake_stripe().await;
    stub(
        &server,
        "POST",
        "/v1/refunds",
        ResponseTemplate::new(200).set_body_json(fixture(
            "refund",
            json!({ "id": "re_2", "amount": 1299, "payment_intent": "pi_domain_1" }),
        )),
    )
    .await;

    let refund = client
        .refund(&RefundRequest {
            reason: RefundReason::Duplicate,
            ..refund_request(None)
        })
        .await
        .expect("refund created");

    assert_eq!(
        (refund.amount_cents, refund.status.as_str()),
        (1299, "succeeded")
    );
    assert_eq!(
        form(&only_request(&server).await),
        pairs(&[("payment_intent", "pi_domain_1"), ("reason", "duplicate")])
    );
}

#[tokio::test]
async fn the_client_needs_a_base_url_ending_in_a_slash_and_never_prints_its_key() {
    assert!(StripeClient::new(&"sk_test_x".into(), "http://127.0.0.1:1").is_err());

    let client = StripeClient::new(&"sk_test_x".into(), "http://127.0.0.1:1/").unwrap();
    assert_eq!(client.name(), "stripe");
    assert!(!format!("{client:?}").contains("sk_test_x"));
}

fn list_of(data: Vec<Value>, url: &str) -> Value {
    json!({ "object": "list", "data": data, "has_more": false, "url": url })
}

#[tokio::test]
async fn a_renewal_charges_the_newest_saved_card_off_session_when_the_customer_has_no_default() {
    use inboxgrove::server::providers::payments::SavedCardCharge;
    let (server, client) = fake_stripe().await;
    let customer = fixture(
        "customer",
        json!({ "id": "cus_QXg1o8vcGmoR32", "invoice_settings": {
            "custom_fields": null, "default_payment_method": null, "footer": null,
            "rendering_options": null } }),
    );
    stub(
        &server,
        "GET",
        "/v1/customers/cus_QXg1o8vcGmoR32",
        ResponseTemplate::new(200).set_body_json(customer),
    )
    .await;
    let card = fixture(
        "payment_method",
        json!({ "id": "pm_saved_1", "customer": "cus_QXg1o8vcGmoR32" }),
    );
    stub(
        &server,
        "GET",
        "/v1/customers/cus_QXg1o8vcGmoR32/payment_methods",
        ResponseTemplate::new(200).set_body_json(list_of(
            vec![card],
            "/v1/customers/cus_QXg1o8vcGmoR32/payment_methods",
        )),
    )
    .await;
    let paid = fixture(
        "payment_intent",
        json!({ "id": "pi_renewal_1", "status": "succeeded", "amount": 1398 }),
    );
    stub(
        &server,
        "POST",
        "/v1/payment_intents",
        ResponseTemplate::new(200).set_body_json(paid),
    )
    .await;

    let tenant = Uuid::new_v4();
    let pi = client
        .charge_saved_card(&SavedCardCharge {
            tenant_id: tenant,
            customer_id: "cus_QXg1o8vcGmoR32".into(),
            amount_cents: 1398,
            currency: "usd".into(),
            description: "acme.com — renewal for 1 year".into(),
            metadata: vec![("renewal_id".into(), "r-1".into())],
            idempotency_key: "ig:renewal:r-1:0".into(),
        })
        .await
        .expect("charged");
    assert_eq!(pi, "pi_renewal_1");
    let requests = server.received_requests().await.unwrap();
    let charge = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .expect("a PaymentIntent was created");
    assert_eq!(header(charge, "idempotency-key"), Some("ig:renewal:r-1:0"));
    let sent = form(charge);
    for expected in [
        ("customer", "cus_QXg1o8vcGmoR32"),
        ("payment_method", "pm_saved_1"),
        ("off_session", "true"),
        ("confirm", "true"),
        ("amount", "1398"),
        ("currency", "usd"),
        ("metadata[renewal_id]", "r-1"),
        ("metadata[tenant_id]", &tenant.to_string()),
    ] {
        assert!(
            sent.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} not in {sent:?}"
        );
    }
}

#[tokio::test]
async fn removing_a_card_that_is_not_the_customers_never_reaches_detach() {
    let (server, client) = fake_stripe().await;
    stub(
        &server,
        "GET",
        "/v1/customers/cus_QXg1o8vcGmoR32/payment_methods/pm_someone_else",
        ResponseTemplate::new(404).set_body_json(stripe_error(
            "invalid_request_error",
            Some("resource_missing"),
            "No such PaymentMethod: 'pm_someone_else'",
        )),
    )
    .await;
    let err = client
        .remove_card("cus_QXg1o8vcGmoR32", "pm_someone_else")
        .await
        .expect_err("not this customer's card");
    assert!(
        matches!(&err, PaymentsError::Rejected { code: Some(c), .. } if c == "resource_missing"),
        "{err:?}"
    );
    assert_eq!(
        only_request(&server).await.method.as_str(),
        "GET",
        "no detach was sent"
    );
}
